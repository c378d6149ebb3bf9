"""Signal body parsers: JSON object in, typed body out.

Each parser takes the body object and returns its typed body, or raises
`smartcar_async._coerce.WrongType` when a field has the wrong JSON type; the signal
parser then keeps the body as `GenericBody`. Exceptions cost nothing on the path that
does not raise, which is the common one.

Parsing is hand-written rather than run through the cattrs converter: fleet jobs parse
thousands of 95-signal responses, and one dict lookup per field is several times
cheaper than the converter's generic path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .._coerce import (
    WrongType,
    require_bool,
    require_int,
    require_list,
    require_number,
    require_object,
    require_scalar,
    require_str,
)
from . import _bodies as bodies

__all__ = ["BodyParser", "infer_body", "parser_for"]

_Json = Mapping[str, Any]

#: A function from a body's JSON object to its typed body (may raise `WrongType`).
BodyParser = Callable[[_Json], bodies.SignalBody]

_JSON_SCALARS: Final = frozenset({str, bool, int, float})


def _require_any_key(body: _Json, *keys: str) -> None:
    for key in keys:
        if key in body:
            return
    raise WrongType


def _unnested(body: _Json) -> _Json:
    # Several client fixtures show list bodies nested one level deeper,
    # ``{"values": {"activeLimit": 80, "values": [...]}}``; read the inner object then.
    inner = body.get("values")
    return inner if isinstance(inner, Mapping) else body


def _parse_unit_value(body: _Json) -> bodies.UnitValue:
    _require_any_key(body, "value")
    return bodies.UnitValue(
        unit=require_str(body.get("unit")), value=require_number(body["value"]), raw=body
    )


def _parse_value(body: _Json) -> bodies.Value:
    _require_any_key(body, "value")
    return bodies.Value(value=require_scalar(body["value"]), raw=body)


def _parse_range(body: _Json) -> bodies.RangeBody:
    _require_any_key(body, "value")
    estimates = tuple(
        bodies.RangeEstimate(
            type=require_str(item.get("type")), value=require_number(item.get("value")), raw=item
        )
        for item in map(require_object, require_list(body.get("additionalValues")))
    )
    return bodies.RangeBody(
        unit=require_str(body.get("unit")),
        value=require_number(body["value"]),
        additional_values=estimates,
        raw=body,
    )


def _parse_values(body: _Json) -> bodies.ValuesBody:
    _require_any_key(body, "values")
    values = body["values"]
    if not isinstance(values, (list, tuple)):
        raise WrongType
    return bodies.ValuesBody(
        values=tuple(values),
        row_count=require_int(body.get("rowCount")),
        column_count=require_int(body.get("columnCount")),
        raw=body,
    )


# --------------------------------------------------------------------------- grids
#
# Doors, windows and tires share one layout; what differs is the body class, the
# older key their list may come under, the fields of a cell (attribute, JSON key,
# reader) and whether the grid has a unit (only tires do).

_CellField = tuple[str, str, Callable[[Any], Any]]


def _grid_parser(
    body_type: type[bodies.DoorsBody | bodies.WindowsBody | bodies.TiresBody],
    cell_type: type[bodies.GridCell],
    alias: str,
    cell_fields: tuple[_CellField, ...],
    *,
    with_unit: bool = False,
) -> BodyParser:
    def parse(body: _Json) -> bodies.SignalBody:
        source = _unnested(body)
        items = source.get("values")
        if items is None:
            items = source.get(alias)
            if items is None:
                raise WrongType
        # Any: the cell class matches the body class by construction of the table below.
        cells: tuple[Any, ...] = tuple(
            cell_type(
                row=require_int(item.get("row")),
                column=require_int(item.get("column")),
                raw=item,
                **{field: read(item.get(key)) for field, key, read in cell_fields},
            )
            for item in map(require_object, require_list(items))
        )
        extra = {"unit": require_str(source.get("unit"))} if with_unit else {}
        return body_type(
            values=cells,
            row_count=require_int(source.get("rowCount")),
            column_count=require_int(source.get("columnCount")),
            raw=body,
            **extra,
        )

    return parse


_parse_doors = _grid_parser(
    bodies.DoorsBody,
    bodies.Door,
    "doors",
    (("is_open", "isOpen", require_bool), ("is_locked", "isLocked", require_bool)),
)
_parse_windows = _grid_parser(
    bodies.WindowsBody, bodies.Window, "windows", (("is_open", "isOpen", require_bool),)
)
_parse_tires = _grid_parser(
    bodies.TiresBody,
    bodies.Tire,
    "tires",
    (("tire_pressure", "tirePressure", require_number),),
    with_unit=True,
)


# ------------------------------------------------------------------------- the rest


def _parse_location(body: _Json) -> bodies.LocationBody:
    latitude = require_number(body.get("latitude"))
    longitude = require_number(body.get("longitude"))
    if latitude is None or longitude is None:
        raise WrongType  # a location without coordinates is not a location
    return bodies.LocationBody(
        latitude=latitude,
        longitude=longitude,
        heading=require_number(body.get("heading")),
        direction=require_str(body.get("direction")),
        location_type=require_str(body.get("locationType")),
        raw=body,
    )


def _parse_condition(value: Any) -> bodies.ChargeLimitCondition | None:
    if value is None:
        return None
    item = require_object(value)
    return bodies.ChargeLimitCondition(
        name=require_str(item.get("name")),
        address=require_str(item.get("address")),
        latitude=require_number(item.get("latitude")),
        longitude=require_number(item.get("longitude")),
        connector_type=require_str(item.get("connectorType")),
        raw=item,
    )


def _parse_charge_limits(body: _Json) -> bodies.ChargeLimitsBody:
    source = _unnested(body)
    _require_any_key(source, "values", "activeLimit")
    limits = tuple(
        bodies.ChargeLimit(
            type=require_str(item.get("type")),
            limit=require_number(item.get("limit")),
            condition=_parse_condition(item.get("condition")),
            raw=item,
        )
        for item in map(require_object, require_list(source.get("values")))
    )
    unit = source.get("unit")
    return bodies.ChargeLimitsBody(
        values=limits,
        active_limit=require_number(source.get("activeLimit")),
        unit=require_str(unit if unit is not None else body.get("unit")),
        raw=body,
    )


def _flat_parser(
    body_type: type[bodies.StatusBody | bodies.OpenLockBody | bodies.DriveModeBody],
    any_of: tuple[str, ...],
    fields: tuple[_CellField, ...],
) -> BodyParser:
    """A parser of a flat body: one of ``any_of`` must be there, each field is read
    by its reader. For the rarer bodies; the common ones are written out for speed."""

    def parse(body: _Json) -> bodies.SignalBody:
        _require_any_key(body, *any_of)
        return body_type(raw=body, **{field: read(body.get(key)) for field, key, read in fields})

    return parse


_parse_status = _flat_parser(
    bodies.StatusBody,
    ("status",),
    (("status", "status", require_str), ("description", "description", require_str)),
)
_parse_open_lock = _flat_parser(
    bodies.OpenLockBody,
    ("isOpen", "isLocked"),
    (("is_open", "isOpen", require_bool), ("is_locked", "isLocked", require_bool)),
)
_parse_drive_mode = _flat_parser(
    bodies.DriveModeBody,
    ("canonical", "oemDisplayName"),
    (("canonical", "canonical", require_str), ("oem_display_name", "oemDisplayName", require_str)),
)


def _parse_nominal_capacity(body: _Json) -> bodies.NominalCapacityBody:
    _require_any_key(body, "capacity", "availableCapacities")
    options = tuple(
        bodies.AvailableCapacity(
            capacity=require_number(item.get("capacity")),
            description=require_str(item.get("description")),
            raw=item,
        )
        for item in map(require_object, require_list(body.get("availableCapacities")))
    )
    return bodies.NominalCapacityBody(
        source=require_str(body.get("source")),
        capacity=require_number(body.get("capacity")),
        available_capacities=options,
        unit=require_str(body.get("unit")),
        raw=body,
    )


def _parse_generic(body: _Json) -> bodies.GenericBody:
    return bodies.GenericBody(data=body, raw=body)


def infer_body(body: _Json) -> bodies.SignalBody:
    """The body of a code the catalogue does not know, judged by its keys alone.

    Examples:
        >>> infer_body({"value": 3, "unit": "bar"})
        UnitValue(unit='bar', value=3)
    """
    size = len(body)
    if "value" in body:
        value = body["value"]
        if size == 1 or (size == 2 and "unit" in body):
            kind = type(value)
            unit = body.get("unit")
            if (kind is int or kind is float) and (unit is None or type(unit) is str):
                return bodies.UnitValue(unit=unit, value=value, raw=body)
            if size == 1 and (value is None or kind in _JSON_SCALARS):
                return bodies.Value(value=value, raw=body)
    elif "values" in body and isinstance(body["values"], (list, tuple)):
        return _parse_values(body)
    return bodies.GenericBody(data=body, raw=body)


_PARSERS: Final[dict[type[Any], BodyParser]] = {
    bodies.UnitValue: _parse_unit_value,
    bodies.Value: _parse_value,
    bodies.RangeBody: _parse_range,
    bodies.ValuesBody: _parse_values,
    bodies.DoorsBody: _parse_doors,
    bodies.WindowsBody: _parse_windows,
    bodies.TiresBody: _parse_tires,
    bodies.LocationBody: _parse_location,
    bodies.ChargeLimitsBody: _parse_charge_limits,
    bodies.StatusBody: _parse_status,
    bodies.OpenLockBody: _parse_open_lock,
    bodies.DriveModeBody: _parse_drive_mode,
    bodies.NominalCapacityBody: _parse_nominal_capacity,
    bodies.GenericBody: _parse_generic,
}


def parser_for(body_type: type[bodies.SignalBody]) -> BodyParser:
    """The parser of one body class.

    Examples:
        >>> parser_for(bodies.UnitValue)({"unit": "percent", "value": 80})
        UnitValue(unit='percent', value=80)
    """
    return _PARSERS[body_type]

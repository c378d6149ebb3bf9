"""Vehicle signals: the v3 catalogue, typed signal bodies, and the parsers behind them.

Every reading the Vehicle API returns is a *signal*: a machine ``code``
(``tractionbattery-stateofcharge``), a human ``Group.Name``
(``TractionBattery.StateOfCharge``), a status, and a ``body`` whose shape depends on
the signal. This module knows the ~95 documented signals (`CATALOGUE`), turns each
body into a small typed object (`UnitValue`, `LocationBody`, `ChargeLimitsBody`...)
and parses both the ``/signals`` responses and the flat signals inside webhook events.

Parsing is tolerant where the API is loose and strict where it must be: an unknown
code, an unknown status or a body of an unexpected shape still parses (the body falls
back to `GenericBody`), while something that is not a signal at all raises
`smartcar_async.APIResponseError`.

Examples:
    >>> from smartcar_async import signals as sig
    >>> signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
    >>> signals.value(sig.STATE_OF_CHARGE)
    80
    >>> sig.CATALOGUE[sig.STATE_OF_CHARGE].full_name
    'TractionBattery.StateOfCharge'
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeAlias, TypeGuard

import attrs

from ._errors import APIResponseError
from ._models import _SECONDS_LIMIT, RAW, ToDict, parse_timestamp, to_jsonable

__all__ = [
    "CATALOGUE",
    "CHARGE_LIMITS",
    "CHARGING_STATUS",
    "DOORS",
    "FUEL_LEVEL",
    "GROUPS",
    "IS_ASLEEP",
    "IS_CHARGING",
    "IS_CHARGING_CABLE_CONNECTED",
    "IS_LOCKED",
    "IS_ONLINE",
    "LOCATION",
    "ODOMETER",
    "RANGE",
    "STATE_OF_CHARGE",
    "TIRES",
    "VIN",
    "AvailableCapacity",
    "ChargeLimit",
    "ChargeLimitCondition",
    "ChargeLimitsBody",
    "Door",
    "DoorsBody",
    "DriveModeBody",
    "GenericBody",
    "LocationBody",
    "NominalCapacityBody",
    "OpenLockBody",
    "RangeBody",
    "RangeEstimate",
    "Signal",
    "SignalBody",
    "SignalError",
    "SignalSpec",
    "Signals",
    "SignalsVehicle",
    "StatusBody",
    "Tire",
    "TiresBody",
    "UnitValue",
    "Value",
    "ValuesBody",
    "Window",
    "WindowsBody",
    "code_for",
    "full_name_for",
    "parse_signal",
    "parse_signals",
]

# The classes below say ``attrs.frozen(kw_only=True)`` (what ``_models.model`` is) in
# full: mypy's attrs plugin does not see through the alias and would not know the fields.
# Parsing is hand-written rather than run through the cattrs converter: fleet jobs parse
# thousands of 95-signal responses, and one dict lookup per field is several times
# cheaper than the converter's generic path.


# --------------------------------------------------------------------------- bodies


@attrs.frozen(kw_only=True)
class UnitValue(ToDict):
    """A number and its unit: ``{"unit": "percent", "value": 80}``.

    Attributes:
        unit: free text as sent (``"percent"``, ``"km"``, ``"kilometers"``, ``"psi"``...);
            the API does not keep to one spelling, so compare with care.
        value: the number, or None when the vehicle sent none.

    Examples:
        >>> signals[STATE_OF_CHARGE].body
        UnitValue(unit='percent', value=80)
    """

    unit: str | None = None
    value: float | int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Value(ToDict):
    """A single value without a unit: a bool, a string or a number.

    Attributes:
        value: as sent (``True``, ``"PARK"``, ``"2026.14.3"``...), or None.

    Examples:
        >>> signals[IS_LOCKED].body
        Value(value=True)
    """

    value: Any = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class RangeEstimate(ToDict):
    """One of the extra estimates of `RangeBody` (``IDEAL_CONDITIONS``, ``RATED``...).

    Examples:
        >>> RangeEstimate(type="RATED", value=412.0)
    """

    type: str | None = None
    value: float | int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class RangeBody(ToDict):
    """Range left on the battery, with the vehicle's alternative estimates.

    Attributes:
        unit: as sent (``"kilometers"``, ``"miles"``...).
        value: the main estimate.
        additional_values: other estimates, by ``type``.

    Examples:
        >>> body = signals[RANGE].body
        >>> body.value, body.estimate("RATED")
        (320.5, 336.5)
    """

    unit: str | None = None
    value: float | int | None = None
    additional_values: tuple[RangeEstimate, ...] = ()
    raw: Mapping[str, Any] = RAW

    def estimate(self, kind: str) -> float | int | None:
        """The value of the estimate of this ``type`` (case-insensitive), else None.

        Examples:
            >>> body.estimate("ideal_conditions")
            358.9
        """
        wanted = kind.upper()
        for item in self.additional_values:
            if item.type is not None and item.type.upper() == wanted:
                return item.value
        return None


@attrs.frozen(kw_only=True)
class ValuesBody(ToDict):
    """A generic array body: ``{"values": [...], "rowCount"?, "columnCount"?}``.

    Used for lists the SDK does not type further (charge records, charge timers,
    trouble codes, service records, permissions, packages). The items are the JSON
    objects or strings as sent.

    Examples:
        >>> [dtc["code"] for dtc in signals["diagnostics-dtclist"].body.values]
        ['P0456']
    """

    values: tuple[Any, ...] = ()
    row_count: int | None = None
    column_count: int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Door(ToDict):
    """One door of `DoorsBody`; row 0 is the front, column 0 the left.

    Examples:
        >>> Door(row=0, column=0, is_open=False, is_locked=True)
    """

    row: int | None = None
    column: int | None = None
    is_open: bool | None = None
    is_locked: bool | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Window(ToDict):
    """One window of `WindowsBody`; row 0 is the front, column 0 the left.

    Examples:
        >>> Window(row=1, column=0, is_open=True)
    """

    row: int | None = None
    column: int | None = None
    is_open: bool | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Tire(ToDict):
    """One tire of `TiresBody`; row 0 is the front axle, column 0 the left.

    Examples:
        >>> Tire(row=0, column=1, tire_pressure=248.2)
    """

    row: int | None = None
    column: int | None = None
    tire_pressure: float | int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class DoorsBody(ToDict):
    """``closure-doors``: every door, laid out in rows and columns.

    Examples:
        >>> doors = signals[DOORS].body
        >>> any(door.is_open for door in doors.values)
        False
        >>> doors.at(0, 0).is_locked
        True
    """

    values: tuple[Door, ...] = ()
    row_count: int | None = None
    column_count: int | None = None
    raw: Mapping[str, Any] = RAW

    def at(self, row: int, column: int) -> Door | None:
        """The door at this position, or None. Example: ``doors.at(0, 0)``."""
        for item in self.values:
            if item.row == row and item.column == column:
                return item
        return None


@attrs.frozen(kw_only=True)
class WindowsBody(ToDict):
    """``closure-windows``: every window, laid out in rows and columns.

    Examples:
        >>> any(w.is_open for w in signals["closure-windows"].body.values)
        False
    """

    values: tuple[Window, ...] = ()
    row_count: int | None = None
    column_count: int | None = None
    raw: Mapping[str, Any] = RAW

    def at(self, row: int, column: int) -> Window | None:
        """The window at this position, or None. Example: ``windows.at(1, 0)``."""
        for item in self.values:
            if item.row == row and item.column == column:
                return item
        return None


@attrs.frozen(kw_only=True)
class TiresBody(ToDict):
    """``wheel-tires``: the pressure of every tire, laid out in rows and columns.

    Attributes:
        unit: the pressure unit when the API sends one (it often does not).

    Examples:
        >>> signals[TIRES].body.at(0, 0).tire_pressure
        248.2
    """

    values: tuple[Tire, ...] = ()
    row_count: int | None = None
    column_count: int | None = None
    unit: str | None = None
    raw: Mapping[str, Any] = RAW

    def at(self, row: int, column: int) -> Tire | None:
        """The tire at this position, or None. Example: ``tires.at(1, 1)``."""
        for item in self.values:
            if item.row == row and item.column == column:
                return item
        return None


@attrs.frozen(kw_only=True)
class LocationBody(ToDict):
    """``location-preciselocation``: where the vehicle is, or was last parked.

    Attributes:
        latitude / longitude: WGS-84 degrees.
        heading: degrees from north, if sent.
        direction: compass point ``N``...``NW``, if sent.
        location_type: ``CURRENT`` or ``LAST_PARKED`` (kept as sent).

    Examples:
        >>> where = signals[LOCATION].body
        >>> where.latitude, where.longitude
        (37.7749, -122.4194)
    """

    latitude: float
    longitude: float
    heading: float | None = None
    direction: str | None = None
    location_type: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class ChargeLimitCondition(ToDict):
    """Where or with which connector a `ChargeLimit` applies (None for ``GLOBAL``).

    Examples:
        >>> ChargeLimitCondition(name="Home", latitude=37.77, longitude=-122.42)
    """

    name: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    connector_type: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class ChargeLimit(ToDict):
    """One configured charge limit: ``GLOBAL``, per ``LOCATION`` or per ``CONNECTOR``.

    Examples:
        >>> ChargeLimit(type="GLOBAL", limit=80)
    """

    type: str | None = None
    limit: float | int | None = None
    condition: ChargeLimitCondition | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class ChargeLimitsBody(ToDict):
    """``charge-chargelimits``: every configured limit and the one in force.

    Attributes:
        values: the configured limits.
        active_limit: the limit applied now (None when not plugged in).
        unit: usually ``"percent"``.

    Examples:
        >>> limits = signals[CHARGE_LIMITS].body
        >>> limits.value, limits.global_limit
        (80, 80)
    """

    values: tuple[ChargeLimit, ...] = ()
    active_limit: float | int | None = None
    unit: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> float | int | None:
        """`active_limit`, so `Signals.value` gives the limit in force."""
        return self.active_limit

    @property
    def global_limit(self) -> float | int | None:
        """The ``GLOBAL`` limit, if configured."""
        for item in self.values:
            if item.type is not None and item.type.upper() == "GLOBAL":
                return item.limit
        return None


@attrs.frozen(kw_only=True)
class StatusBody(ToDict):
    """A ``diagnostics-*`` system status: ``{"status": "OK"|"ALERT", "description"}``.

    Examples:
        >>> abs_ = signals["diagnostics-abs"].body
        >>> abs_.is_alert, abs_.description
        (False, 'ABS system functioning normally')
    """

    status: str | None = None
    description: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> str | None:
        """`status`, so `Signals.value` works for diagnostics too."""
        return self.status

    @property
    def is_alert(self) -> bool:
        """True when the system reports ``ALERT``."""
        return self.status is not None and self.status.upper() == "ALERT"


@attrs.frozen(kw_only=True)
class OpenLockBody(ToDict):
    """A trunk, tailgate, engine cover or sunroof: ``{"isOpen", "isLocked"?}``.

    Examples:
        >>> trunk = signals["closure-reartrunk"].body
        >>> trunk.is_open, trunk.is_locked
        (False, True)
    """

    is_open: bool | None = None
    is_locked: bool | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class DriveModeBody(ToDict):
    """``transmission-drivemode``: Smartcar's canonical mode and the maker's own label.

    Examples:
        >>> signals["transmission-drivemode"].body.oem_display_name
        'Chill'
    """

    canonical: str | None = None
    oem_display_name: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> str | None:
        """`canonical`, so `Signals.value` gives the mode."""
        return self.canonical


@attrs.frozen(kw_only=True)
class AvailableCapacity(ToDict):
    """A battery capacity the vehicle may have, for `NominalCapacityBody`.

    Examples:
        >>> AvailableCapacity(capacity=75, description="Long Range")
    """

    capacity: float | int | None = None
    description: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class NominalCapacityBody(ToDict):
    """``tractionbattery-nominalcapacity``: the battery's rated capacity.

    Attributes:
        source: ``SMARTCAR`` (looked up) or ``USER_SELECTED``.
        capacity: the capacity in `unit` (usually kilowatt-hours).
        available_capacities: the options for this model, when known.

    Examples:
        >>> signals["tractionbattery-nominalcapacity"].body.capacity
        75
    """

    source: str | None = None
    capacity: float | int | None = None
    available_capacities: tuple[AvailableCapacity, ...] = ()
    unit: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> float | int | None:
        """`capacity`, so `Signals.value` gives the number."""
        return self.capacity


@attrs.frozen(kw_only=True)
class GenericBody(ToDict):
    """Any other body: one the catalogue does not type, or one not of its usual shape.

    Attributes:
        data: the body's JSON object, as sent.

    Examples:
        >>> body = signals["charge-somethingnew"].body
        >>> if isinstance(body, GenericBody):
        ...     print(body.data)
    """

    data: Mapping[str, Any] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = RAW


#: Every class `Signal.body` can be; narrow with ``isinstance`` before reading fields
#: that only some of them have.
SignalBody: TypeAlias = (
    UnitValue
    | Value
    | RangeBody
    | ValuesBody
    | DoorsBody
    | WindowsBody
    | TiresBody
    | LocationBody
    | ChargeLimitsBody
    | StatusBody
    | OpenLockBody
    | DriveModeBody
    | NominalCapacityBody
    | GenericBody
)


# --------------------------------------------------------------------- body parsers
#
# Each parser takes the body object and returns its typed body, or raises _Mismatch
# when a field has the wrong JSON type; the caller then keeps the body as GenericBody.
# Exceptions cost nothing on the path that does not raise, which is the common one.


class _Mismatch(Exception):
    """A body that does not have the shape its signal documents."""


_Json = Mapping[str, Any]


def _num(value: Any) -> Any:
    """``value`` if it is a JSON number or null; bools are not numbers here."""
    kind = type(value)
    if kind is int or kind is float or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise _Mismatch


def _int(value: Any) -> int | None:
    kind = type(value)
    if kind is int or value is None:
        return value  # type: ignore[no-any-return]
    if kind is float and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _Mismatch


def _str(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise _Mismatch


def _bool(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise _Mismatch


def _obj(value: Any) -> _Json:
    if isinstance(value, Mapping):
        return value
    raise _Mismatch


def _list(value: Any) -> list[Any] | tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return value
    raise _Mismatch


def _require(body: _Json, *keys: str) -> None:
    for key in keys:
        if key in body:
            return
    raise _Mismatch


def _unnested(body: _Json) -> _Json:
    # Several client fixtures show list bodies nested one level deeper,
    # ``{"values": {"activeLimit": 80, "values": [...]}}``; read the inner object then.
    inner = body.get("values")
    return inner if isinstance(inner, Mapping) else body


def _parse_unit_value(body: _Json) -> UnitValue:
    _require(body, "value")
    return UnitValue(unit=_str(body.get("unit")), value=_num(body["value"]), raw=body)


_SCALARS = frozenset({str, bool, int, float})


def _scalar(value: Any) -> Any:
    """``value`` if it is a JSON string, number, bool or null (not an array or object)."""
    if value is None or type(value) in _SCALARS or isinstance(value, (str, int, float)):
        return value
    raise _Mismatch


def _parse_value(body: _Json) -> Value:
    _require(body, "value")
    return Value(value=_scalar(body["value"]), raw=body)


def _parse_range(body: _Json) -> RangeBody:
    _require(body, "value")
    estimates = tuple(
        RangeEstimate(type=_str(item.get("type")), value=_num(item.get("value")), raw=item)
        for item in map(_obj, _list(body.get("additionalValues")))
    )
    return RangeBody(
        unit=_str(body.get("unit")),
        value=_num(body["value"]),
        additional_values=estimates,
        raw=body,
    )


def _parse_values(body: _Json) -> ValuesBody:
    _require(body, "values")
    values = body["values"]
    if not isinstance(values, (list, tuple)):
        raise _Mismatch
    return ValuesBody(
        values=tuple(values),
        row_count=_int(body.get("rowCount")),
        column_count=_int(body.get("columnCount")),
        raw=body,
    )


def _grid_items(body: _Json, alias: str) -> tuple[_Json, list[Any] | tuple[Any, ...]]:
    source = _unnested(body)
    items = source.get("values")
    if items is None:
        items = source.get(alias)
        if items is None:
            raise _Mismatch
    return source, _list(items)


def _parse_doors(body: _Json) -> DoorsBody:
    source, items = _grid_items(body, "doors")
    doors = tuple(
        Door(
            row=_int(item.get("row")),
            column=_int(item.get("column")),
            is_open=_bool(item.get("isOpen")),
            is_locked=_bool(item.get("isLocked")),
            raw=item,
        )
        for item in map(_obj, items)
    )
    return DoorsBody(
        values=doors,
        row_count=_int(source.get("rowCount")),
        column_count=_int(source.get("columnCount")),
        raw=body,
    )


def _parse_windows(body: _Json) -> WindowsBody:
    source, items = _grid_items(body, "windows")
    windows = tuple(
        Window(
            row=_int(item.get("row")),
            column=_int(item.get("column")),
            is_open=_bool(item.get("isOpen")),
            raw=item,
        )
        for item in map(_obj, items)
    )
    return WindowsBody(
        values=windows,
        row_count=_int(source.get("rowCount")),
        column_count=_int(source.get("columnCount")),
        raw=body,
    )


def _parse_tires(body: _Json) -> TiresBody:
    source, items = _grid_items(body, "tires")
    tires = tuple(
        Tire(
            row=_int(item.get("row")),
            column=_int(item.get("column")),
            tire_pressure=_num(item.get("tirePressure")),
            raw=item,
        )
        for item in map(_obj, items)
    )
    return TiresBody(
        values=tires,
        row_count=_int(source.get("rowCount")),
        column_count=_int(source.get("columnCount")),
        unit=_str(source.get("unit")),
        raw=body,
    )


def _parse_location(body: _Json) -> LocationBody:
    latitude = _num(body.get("latitude"))
    longitude = _num(body.get("longitude"))
    if latitude is None or longitude is None:
        raise _Mismatch  # a location without coordinates is not a location
    return LocationBody(
        latitude=latitude,
        longitude=longitude,
        heading=_num(body.get("heading")),
        direction=_str(body.get("direction")),
        location_type=_str(body.get("locationType")),
        raw=body,
    )


def _parse_condition(value: Any) -> ChargeLimitCondition | None:
    if value is None:
        return None
    item = _obj(value)
    return ChargeLimitCondition(
        name=_str(item.get("name")),
        address=_str(item.get("address")),
        latitude=_num(item.get("latitude")),
        longitude=_num(item.get("longitude")),
        connector_type=_str(item.get("connectorType")),
        raw=item,
    )


def _parse_charge_limits(body: _Json) -> ChargeLimitsBody:
    source = _unnested(body)
    _require(source, "values", "activeLimit")
    limits = tuple(
        ChargeLimit(
            type=_str(item.get("type")),
            limit=_num(item.get("limit")),
            condition=_parse_condition(item.get("condition")),
            raw=item,
        )
        for item in map(_obj, _list(source.get("values")))
    )
    unit = source.get("unit")
    return ChargeLimitsBody(
        values=limits,
        active_limit=_num(source.get("activeLimit")),
        unit=_str(unit if unit is not None else body.get("unit")),
        raw=body,
    )


def _parse_status(body: _Json) -> StatusBody:
    _require(body, "status")
    return StatusBody(
        status=_str(body["status"]), description=_str(body.get("description")), raw=body
    )


def _parse_open_lock(body: _Json) -> OpenLockBody:
    _require(body, "isOpen", "isLocked")
    return OpenLockBody(
        is_open=_bool(body.get("isOpen")), is_locked=_bool(body.get("isLocked")), raw=body
    )


def _parse_drive_mode(body: _Json) -> DriveModeBody:
    _require(body, "canonical", "oemDisplayName")
    return DriveModeBody(
        canonical=_str(body.get("canonical")),
        oem_display_name=_str(body.get("oemDisplayName")),
        raw=body,
    )


def _parse_nominal_capacity(body: _Json) -> NominalCapacityBody:
    _require(body, "capacity", "availableCapacities")
    options = tuple(
        AvailableCapacity(
            capacity=_num(item.get("capacity")),
            description=_str(item.get("description")),
            raw=item,
        )
        for item in map(_obj, _list(body.get("availableCapacities")))
    )
    return NominalCapacityBody(
        source=_str(body.get("source")),
        capacity=_num(body.get("capacity")),
        available_capacities=options,
        unit=_str(body.get("unit")),
        raw=body,
    )


def _parse_generic(body: _Json) -> GenericBody:
    return GenericBody(data=body, raw=body)


def _infer_body(body: _Json) -> SignalBody:
    """The body of a code the catalogue does not know, judged by its keys alone."""
    size = len(body)
    if "value" in body:
        value = body["value"]
        if size == 1 or (size == 2 and "unit" in body):
            kind = type(value)
            unit = body.get("unit")
            if (kind is int or kind is float) and (unit is None or type(unit) is str):
                return UnitValue(unit=unit, value=value, raw=body)
            if size == 1 and (value is None or kind in _SCALARS):
                return Value(value=value, raw=body)
    elif "values" in body and isinstance(body["values"], (list, tuple)):
        return _parse_values(body)
    return GenericBody(data=body, raw=body)


_BodyParser = Callable[[_Json], SignalBody]

_PARSERS: dict[type[Any], _BodyParser] = {
    UnitValue: _parse_unit_value,
    Value: _parse_value,
    RangeBody: _parse_range,
    ValuesBody: _parse_values,
    DoorsBody: _parse_doors,
    WindowsBody: _parse_windows,
    TiresBody: _parse_tires,
    LocationBody: _parse_location,
    ChargeLimitsBody: _parse_charge_limits,
    StatusBody: _parse_status,
    OpenLockBody: _parse_open_lock,
    DriveModeBody: _parse_drive_mode,
    NominalCapacityBody: _parse_nominal_capacity,
    GenericBody: _parse_generic,
}


# ----------------------------------------------------------------------- catalogue


@attrs.frozen(kw_only=True)
class SignalSpec:
    """What the SDK knows about one signal code, from Smartcar's signal schema.

    Attributes:
        code: the machine code used in paths and payloads.
        group: the PascalCase group (``"TractionBattery"``).
        name: the PascalCase name inside the group (``"StateOfCharge"``).
        body_type: the `SignalBody` class a body of this signal parses into.
        unit: the usual unit, or None; the API's own spelling may differ.
        description: a short explanation.

    Examples:
        >>> spec = CATALOGUE["tractionbattery-stateofcharge"]
        >>> spec.full_name, spec.body_type.__name__, spec.unit
        ('TractionBattery.StateOfCharge', 'UnitValue', 'percent')
    """

    code: str
    group: str
    name: str
    body_type: type[SignalBody]
    unit: str | None = None
    description: str = ""

    @property
    def full_name(self) -> str:
        """``"Group.Name"``, e.g. ``"Closure.IsLocked"``."""
        return f"{self.group}.{self.name}"


def code_for(full_name: str) -> str:
    """The signal code of a ``"Group.Name"``: both parts lower-cased, joined by ``-``.

    Works for names the catalogue does not know, by Smartcar's naming rule. A code
    given instead of a name comes back lower-cased.

    Raises:
        ValueError: ``full_name`` is neither ``"Group.Name"`` nor a code.

    Examples:
        >>> code_for("TractionBattery.StateOfCharge")
        'tractionbattery-stateofcharge'
    """
    group, dot, name = full_name.strip().partition(".")
    if dot:
        if group and name and "." not in name:
            return f"{group.lower()}-{name.lower()}"
    elif "-" in group and not group.startswith("-") and not group.endswith("-"):
        return group.lower()
    raise ValueError(f"not a signal name of the form 'Group.Name': {full_name!r}")


def full_name_for(code: str) -> str | None:
    """The ``"Group.Name"`` of a catalogue code, or None for a code it does not know.

    PascalCase cannot be recovered from a lower-case code, so this is a lookup.

    Examples:
        >>> full_name_for("hvac-iscabinhvacactive")
        'HVAC.IsCabinHVACActive'
    """
    spec = CATALOGUE.get(code)
    return spec.full_name if spec is not None else None


def _spec(
    group: str, name: str, body_type: type[SignalBody], unit: str | None, description: str
) -> SignalSpec:
    return SignalSpec(
        code=code_for(f"{group}.{name}"),
        group=group,
        name=name,
        body_type=body_type,
        unit=unit,
        description=description,
    )


#: The 19 signal groups of Smartcar's v3 schema.
GROUPS: Final[tuple[str, ...]] = (
    "Charge",
    "Climate",
    "Closure",
    "ConnectivitySoftware",
    "ConnectivityStatus",
    "Diagnostics",
    "HVAC",
    "InternalCombustionEngine",
    "Location",
    "LowVoltageBattery",
    "Motion",
    "Odometer",
    "Service",
    "Surveillance",
    "TractionBattery",
    "Transmission",
    "VehicleIdentification",
    "VehicleUserAccount",
    "Wheel",
)

# Units follow the spellings the API's examples use most; the API itself is not
# consistent ("km" and "kilometers" both occur), so these are a guide, not a promise.
_SPECS: tuple[SignalSpec, ...] = (
    # Charge
    _spec("Charge", "ActiveLimit", UnitValue, "percent", "Charge limit in force (older form)."),
    _spec("Charge", "Amperage", UnitValue, "amps", "Current flowing while charging."),
    _spec("Charge", "AmperageMax", UnitValue, "amps", "Highest current the charger offers."),
    _spec("Charge", "AmperageRequested", UnitValue, "amps", "Current the vehicle asks for."),
    _spec(
        "Charge",
        "ChargeLimits",
        ChargeLimitsBody,
        "percent",
        "Configured charge limits and the one in force.",
    ),
    _spec("Charge", "ChargePortStatusColor", Value, None, "Colour of the charge-port light."),
    _spec("Charge", "ChargeRate", UnitValue, "km/h", "Range added per hour of charging."),
    _spec("Charge", "ChargeRecords", ValuesBody, None, "Past charging sessions."),
    _spec("Charge", "ChargeTimers", ValuesBody, None, "Scheduled charging and departures."),
    _spec("Charge", "ChargerPhases", UnitValue, "count", "Phases the charger supplies."),
    _spec("Charge", "ChargingConnectorType", Value, None, "The vehicle's charging inlet."),
    _spec(
        "Charge",
        "DetailedChargingStatus",
        Value,
        None,
        "CHARGING, NOT_CHARGING or FULLY_CHARGED.",
    ),
    _spec("Charge", "EnergyAdded", UnitValue, "kilowatt-hours", "Energy added this session."),
    _spec("Charge", "FastChargerType", Value, None, "DC fast-charging standard in use."),
    _spec("Charge", "IsCharging", Value, None, "Whether the battery is charging."),
    _spec("Charge", "IsChargingCableConnected", Value, None, "Whether a cable is plugged in."),
    _spec("Charge", "IsChargingCableLatched", Value, None, "Whether the cable is locked in."),
    _spec("Charge", "IsChargingPortFlapOpen", Value, None, "Whether the port door is open."),
    _spec("Charge", "IsFastChargerPresent", Value, None, "Whether a DC charger is connected."),
    _spec("Charge", "TimeToComplete", UnitValue, "minutes", "Time left to the active limit."),
    _spec("Charge", "Voltage", UnitValue, "volts", "Voltage supplied while charging."),
    _spec("Charge", "Wattage", UnitValue, "watts", "Power delivered while charging."),
    # Climate
    _spec("Climate", "ExternalTemperature", UnitValue, "celsius", "Temperature outside the car."),
    _spec("Climate", "InternalTemperature", UnitValue, "celsius", "Temperature in the cabin."),
    # Closure
    _spec("Closure", "Doors", DoorsBody, None, "Open and locked state of each door."),
    _spec("Closure", "EngineCover", OpenLockBody, None, "Whether the hood is open."),
    _spec("Closure", "FrontTrunk", OpenLockBody, None, "Front trunk open and locked state."),
    _spec("Closure", "IsLocked", Value, None, "Whether the vehicle is locked."),
    _spec("Closure", "RearTrunk", OpenLockBody, None, "Rear trunk open and locked state."),
    _spec("Closure", "Sunroof", OpenLockBody, None, "Whether the sunroof is open."),
    _spec("Closure", "Tailgate", OpenLockBody, None, "Tailgate open and locked state."),
    _spec("Closure", "Windows", WindowsBody, None, "Open state of each window."),
    # Connectivity
    _spec(
        "ConnectivitySoftware",
        "CurrentFirmwareVersion",
        Value,
        None,
        "Installed software version.",
    ),
    _spec("ConnectivityStatus", "IsAsleep", Value, None, "Whether the vehicle is asleep."),
    _spec(
        "ConnectivityStatus",
        "IsDigitalKeyPaired",
        Value,
        None,
        "Whether a phone key is paired.",
    ),
    _spec("ConnectivityStatus", "IsOnline", Value, None, "Whether the vehicle is reachable."),
    # Diagnostics
    _spec("Diagnostics", "ABS", StatusBody, None, "Anti-lock braking system."),
    _spec("Diagnostics", "ActiveSafety", StatusBody, None, "Active safety systems."),
    _spec("Diagnostics", "Airbag", StatusBody, None, "Airbag readiness."),
    _spec("Diagnostics", "BrakeFluid", StatusBody, None, "Brake fluid condition."),
    _spec("Diagnostics", "DriverAssistance", StatusBody, None, "Driver assistance systems."),
    _spec("Diagnostics", "DTCCount", UnitValue, "count", "Number of active trouble codes."),
    _spec("Diagnostics", "DTCList", ValuesBody, None, "Active trouble codes and when seen."),
    _spec("Diagnostics", "Emissions", StatusBody, None, "Emission control system."),
    _spec(
        "Diagnostics",
        "EVBatteryConditioning",
        StatusBody,
        None,
        "Battery thermal management.",
    ),
    _spec("Diagnostics", "EVCharging", StatusBody, None, "EV charging system."),
    _spec("Diagnostics", "EVDriveUnit", StatusBody, None, "Electric drive unit."),
    _spec("Diagnostics", "EVHVBattery", StatusBody, None, "High-voltage battery health."),
    _spec("Diagnostics", "Lighting", StatusBody, None, "Exterior and interior lights."),
    _spec("Diagnostics", "MIL", StatusBody, None, "Malfunction indicator (check engine)."),
    _spec("Diagnostics", "OilLife", StatusBody, None, "Engine oil life warning."),
    _spec("Diagnostics", "OilPressure", StatusBody, None, "Engine oil pressure warning."),
    _spec("Diagnostics", "OilTemperature", StatusBody, None, "Engine oil temperature warning."),
    _spec("Diagnostics", "Telematics", StatusBody, None, "The vehicle's connectivity unit."),
    _spec("Diagnostics", "TirePressure", StatusBody, None, "Tire pressure warning."),
    _spec(
        "Diagnostics",
        "TirePressureMonitoring",
        StatusBody,
        None,
        "The tire pressure monitoring system itself.",
    ),
    _spec("Diagnostics", "Transmission", StatusBody, None, "Transmission system."),
    _spec("Diagnostics", "WasherFluid", StatusBody, None, "Washer fluid level."),
    _spec("Diagnostics", "WaterInFuel", StatusBody, None, "Water detected in the fuel."),
    # HVAC
    _spec("HVAC", "CabinTargetTemperature", UnitValue, "celsius", "Cabin temperature set point."),
    _spec("HVAC", "IsCabinHVACActive", Value, None, "Whether cabin climate is running."),
    _spec("HVAC", "IsFrontDefrosterActive", Value, None, "Whether the front defroster is on."),
    _spec("HVAC", "IsRearDefrosterActive", Value, None, "Whether the rear defroster is on."),
    _spec("HVAC", "IsSteeringHeaterActive", Value, None, "Whether the steering heater is on."),
    # Internal combustion engine
    _spec("InternalCombustionEngine", "AmountRemaining", UnitValue, "liters", "Fuel in the tank."),
    _spec("InternalCombustionEngine", "FuelLevel", UnitValue, "percent", "Fuel level of the tank."),
    _spec("InternalCombustionEngine", "OilLife", UnitValue, "percent", "Engine oil life left."),
    _spec("InternalCombustionEngine", "Range", UnitValue, "kilometers", "Range on fuel."),
    # Location
    _spec("Location", "IsAtHome", Value, None, "Whether the vehicle is at its home location."),
    _spec("Location", "PreciseLocation", LocationBody, None, "Coordinates and heading."),
    # Low-voltage battery
    _spec("LowVoltageBattery", "StateOfCharge", UnitValue, "percent", "12 V battery charge."),
    _spec("LowVoltageBattery", "Status", Value, None, "12 V battery health: GOOD, WARN, BAD."),
    # Motion, odometer
    _spec("Motion", "CurrentSpeed", UnitValue, "kph", "Current speed."),
    _spec("Odometer", "TraveledDistance", UnitValue, "kilometers", "Odometer reading."),
    # Service
    _spec("Service", "IsInService", Value, None, "Whether the vehicle is at a workshop."),
    _spec("Service", "Records", ValuesBody, None, "Past service visits."),
    # Surveillance
    _spec("Surveillance", "Brand", Value, None, "The maker's name for its guard mode."),
    _spec("Surveillance", "IsEnabled", Value, None, "Whether guard mode is on."),
    # Traction battery
    _spec("TractionBattery", "IsHeaterActive", Value, None, "Whether the battery is heated."),
    _spec(
        "TractionBattery",
        "MaxRangeChargeCounter",
        UnitValue,
        "count",
        "Charges to maximum range so far.",
    ),
    _spec(
        "TractionBattery",
        "NominalCapacity",
        NominalCapacityBody,
        "kilowatt-hours",
        "Rated battery capacity.",
    ),
    _spec("TractionBattery", "Range", RangeBody, "kilometers", "Range on the battery."),
    _spec("TractionBattery", "StateOfCharge", UnitValue, "percent", "Battery charge level."),
    # Transmission
    _spec("Transmission", "DriveMode", DriveModeBody, None, "Selected drive mode."),
    _spec("Transmission", "GearState", Value, None, "PARK, DRIVE, REVERSE or NEUTRAL."),
    # Vehicle identification
    _spec("VehicleIdentification", "ExteriorColor", Value, None, "Paint colour."),
    _spec("VehicleIdentification", "Nickname", Value, None, "Name the owner gave the car."),
    _spec("VehicleIdentification", "Packages", ValuesBody, None, "Option packages fitted."),
    _spec("VehicleIdentification", "Trim", Value, None, "Trim level."),
    _spec("VehicleIdentification", "VIN", Value, None, "Vehicle identification number."),
    # Vehicle user account
    _spec("VehicleUserAccount", "Permissions", ValuesBody, None, "What the account may do."),
    _spec("VehicleUserAccount", "Role", Value, None, "The account's role, e.g. OWNER."),
    # Wheel
    _spec("Wheel", "Style", Value, None, "Wheel design."),
    _spec("Wheel", "Tires", TiresBody, None, "Pressure of each tire."),
)

#: Every documented signal, by code, in group order.
CATALOGUE: Final[Mapping[str, SignalSpec]] = MappingProxyType({s.code: s for s in _SPECS})

# code -> (spec, body parser): one lookup per signal while parsing.
_BY_CODE: Final[dict[str, tuple[SignalSpec, _BodyParser]]] = {
    spec.code: (spec, _PARSERS[spec.body_type]) for spec in _SPECS
}

#: ``tractionbattery-stateofcharge``: battery charge, `UnitValue` in percent.
STATE_OF_CHARGE: Final = "tractionbattery-stateofcharge"
#: ``tractionbattery-range``: range on the battery, `RangeBody`.
RANGE: Final = "tractionbattery-range"
#: ``closure-islocked``: `Value` with a bool.
IS_LOCKED: Final = "closure-islocked"
#: ``closure-doors``: `DoorsBody`.
DOORS: Final = "closure-doors"
#: ``odometer-traveleddistance``: `UnitValue`.
ODOMETER: Final = "odometer-traveleddistance"
#: ``location-preciselocation``: `LocationBody`.
LOCATION: Final = "location-preciselocation"
#: ``charge-chargelimits``: `ChargeLimitsBody`.
CHARGE_LIMITS: Final = "charge-chargelimits"
#: ``charge-ischarging``: `Value` with a bool.
IS_CHARGING: Final = "charge-ischarging"
#: ``charge-ischargingcableconnected``: `Value` with a bool.
IS_CHARGING_CABLE_CONNECTED: Final = "charge-ischargingcableconnected"
#: ``charge-detailedchargingstatus``: `Value`, ``CHARGING``/``NOT_CHARGING``/``FULLY_CHARGED``.
CHARGING_STATUS: Final = "charge-detailedchargingstatus"
#: ``internalcombustionengine-fuellevel``: `UnitValue` in percent.
FUEL_LEVEL: Final = "internalcombustionengine-fuellevel"
#: ``wheel-tires``: `TiresBody`.
TIRES: Final = "wheel-tires"
#: ``vehicleidentification-vin``: `Value` with the VIN.
VIN: Final = "vehicleidentification-vin"
#: ``connectivitystatus-isonline``: `Value` with a bool.
IS_ONLINE: Final = "connectivitystatus-isonline"
#: ``connectivitystatus-isasleep``: `Value` with a bool.
IS_ASLEEP: Final = "connectivitystatus-isasleep"


# ------------------------------------------------------------------------- signals


@attrs.frozen(kw_only=True)
class SignalError(ToDict):
    """Why a signal could not be read (``status.error`` of a signal).

    Attributes:
        type: e.g. ``COMPATIBILITY``, ``PERMISSION``, ``VEHICLE_STATE``.
        code: e.g. ``VEHICLE_NOT_CAPABLE``, ``ASLEEP``; may be None.
        description: the API's explanation, if any.
        resolution: what to do (``RETRY_LATER``, ``REAUTHENTICATE``...), if any.

    Examples:
        >>> signal.error
        SignalError(type='COMPATIBILITY', code='VEHICLE_NOT_CAPABLE', ...)
    """

    type: str | None = None
    code: str | None = None
    description: str | None = None
    resolution: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Signal(ToDict):
    """One signal of a vehicle: what it is, whether it was read, and its body.

    Attributes:
        code: the machine code (``"closure-islocked"``).
        name: PascalCase name in its group (``"IsLocked"``); from the catalogue when the
            payload leaves it out.
        group: PascalCase group (``"Closure"``), likewise.
        status: ``"SUCCESS"``, ``"ERROR"`` or ``"UNAVAILABLE"``; a value the SDK does
            not know is kept as sent. ``"SUCCESS"`` when the payload has no status,
            as webhook signals often do not.
        error: why it failed, when the status is not ``SUCCESS`` and the API said.
        body: the typed reading (see `SignalBody`), or None when there is none (error
            signals) or it is not a JSON object (the original stays in ``raw``).
        retrieved_at: when Smartcar read it (``meta.retrievedAt``, or ``fetchedAt``).
        oem_updated_at: when the vehicle maker last updated it.
        ingested_at: when Smartcar stored it, if sent.

    Examples:
        >>> soc = signals.get(STATE_OF_CHARGE)
        >>> if soc is not None and soc.ok and isinstance(soc.body, UnitValue):
        ...     print(soc.body.value, soc.body.unit, soc.oem_updated_at)
    """

    code: str
    name: str | None = None
    group: str | None = None
    status: str = "SUCCESS"
    error: SignalError | None = None
    body: SignalBody | None = None
    retrieved_at: _dt.datetime | None = None
    oem_updated_at: _dt.datetime | None = None
    ingested_at: _dt.datetime | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def full_name(self) -> str | None:
        """``"Group.Name"`` (``"Closure.IsLocked"``), or None if either part is unknown."""
        if self.group and self.name:
            return f"{self.group}.{self.name}"
        return None

    @property
    def ok(self) -> bool:
        """True when the signal was read (``status == "SUCCESS"``)."""
        return self.status == "SUCCESS"


# Up to the year 5000 in milliseconds: the direct conversion below stays in range.
_MAX_EPOCH_MS: Final = 95_000_000_000_000

_STATUSES: Final = {"SUCCESS": "SUCCESS", "ERROR": "ERROR", "UNAVAILABLE": "UNAVAILABLE"}

# Epoch numbers are cached per response: all signals of one read share retrievedAt,
# and converting it once instead of ~95 times is most of the timestamp cost.
_TimestampCache: TypeAlias = "dict[Any, _dt.datetime | None]"


def _text(value: object) -> str | None:
    return value if type(value) is str else None


def _is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def _when(value: object, cache: _TimestampCache | None) -> _dt.datetime | None:
    if value is None:
        return None
    # Only exact ints and strs are cached: True == 1 and 1.0 == 1 would share an entry.
    if cache is not None and (type(value) is int or type(value) is str):
        if value in cache:
            return cache[value]
        parsed = cache[value] = _timestamp(value)
        return parsed
    return _timestamp(value)


_UTC = _dt.timezone.utc


def _timestamp(value: object) -> _dt.datetime | None:
    # Epoch milliseconds are what the API sends; converting them directly skips
    # parse_timestamp's chain of type checks. Same seconds/ms rule as parse_timestamp.
    if type(value) is int and 0 <= value < _MAX_EPOCH_MS:
        return _dt.datetime.fromtimestamp(
            value / 1000 if value >= _SECONDS_LIMIT else value, tz=_UTC
        )
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, TypeError):
        # parse_timestamp lets a few garbage inputs through ("²", ints beyond float).
        return None


def _signal_error(error: Mapping[str, Any]) -> SignalError:
    resolution = error.get("resolution")
    description = error.get("description")
    if type(description) is not str:
        description = error.get("detail")
    return SignalError(
        type=_text(error.get("type")),
        code=_text(error.get("code")),
        description=_text(description),
        resolution=_text(resolution.get("type"))
        if isinstance(resolution, Mapping)
        else _text(resolution),
        raw=error,
    )


def _not_a_signal(message: str) -> APIResponseError:
    return APIResponseError(f"not a signal: {message}")


def _parse(obj: object, cache: _TimestampCache | None) -> Signal:
    # ``type(x) is dict`` before ``isinstance(x, Mapping)``: decoded JSON is always a
    # dict, and the ABC check it saves is the largest single cost of parsing.
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise _not_a_signal(f"expected a JSON object, got {type(obj).__name__}")
    attributes = obj.get("attributes")
    if attributes is None and "code" not in obj:
        data = obj.get("data")
        if _is_object(data):  # a single-signal response wrapped in "data"
            obj = data
            attributes = obj.get("attributes")
    kind = obj.get("type")
    if type(kind) is str and kind != "signal" and kind.lower() not in ("signal", "signals"):
        raise _not_a_signal(f"the resource is of type {kind[:40]!r}")
    # The JSON:API resource keeps its fields under "attributes"; the webhook form is flat.
    source: Mapping[str, Any] = (
        attributes if type(attributes) is dict or _is_object(attributes) else obj
    )

    code = source.get("code")
    if type(code) is not str or not code:
        code = obj.get("id")
        if type(code) is not str or not code:
            raise _not_a_signal("it has neither a code nor an id")

    entry = _BY_CODE.get(code)
    name = source.get("name")
    group = source.get("group")
    if type(name) is not str:
        name = entry[0].name if entry is not None else None
    if type(group) is not str:
        group = entry[0].group if entry is not None else None

    status_obj = source.get("status")
    status = "SUCCESS"
    error: SignalError | None = None
    if status_obj is not None:
        status_map = status_obj if type(status_obj) is dict or _is_object(status_obj) else None
        value = status_map.get("value") if status_map is not None else status_obj
        if type(value) is str:
            known = _STATUSES.get(value)
            status = known if known is not None else _STATUSES.get(value.upper(), value)
        elif status_map is not None and _is_object(status_map.get("error")):
            status = "ERROR"
        if status != "SUCCESS":
            details = status_map.get("error") if status_map is not None else None
            if not _is_object(details):
                details = source.get("error")
            if _is_object(details):
                error = _signal_error(details)

    raw_body = source.get("body")
    body: SignalBody | None = None
    if type(raw_body) is dict or (raw_body is not None and _is_object(raw_body)):
        parser = entry[1] if entry is not None else _infer_body
        try:
            body = parser(raw_body)
        except (_Mismatch, TypeError, ValueError, OverflowError):
            # A body never makes a signal unreadable: keep it untyped instead. The
            # parsers only raise _Mismatch today; the other types guard against a
            # user-supplied Mapping whose methods misbehave.
            body = GenericBody(data=raw_body, raw=raw_body)

    meta = obj.get("meta")
    if type(meta) is not dict and not _is_object(meta):
        meta = source.get("meta")
    retrieved_at = oem_updated_at = ingested_at = None
    if meta and (type(meta) is dict or _is_object(meta)):
        retrieved = meta.get("retrievedAt")
        if retrieved is None:
            retrieved = meta.get("fetchedAt")
        retrieved_at = _when(retrieved, cache)
        oem_updated_at = _when(meta.get("oemUpdatedAt"), cache)
        ingested_at = _when(meta.get("ingestedAt"), cache)

    return Signal(
        code=code,
        name=name,
        group=group,
        status=status,
        error=error,
        body=body,
        retrieved_at=retrieved_at,
        oem_updated_at=oem_updated_at,
        ingested_at=ingested_at,
        raw=obj,
    )


def parse_signal(obj: Mapping[str, Any]) -> Signal:
    """Parse one signal: a JSON:API signal resource or the flat form of webhook events.

    Accepts ``GET /vehicles/{id}/signals/{code}`` with or without the ``{"data": ...}``
    wrapper, a resource from the ``/signals`` list, and webhook signals
    (``{"code", "name", "group", "body", "meta"}`` or with an error ``status``).

    Raises:
        APIResponseError: ``obj`` is not a signal at all (not an object, no code or id,
            or a JSON:API resource of another type). A body of an unexpected shape does
            not raise: it becomes a `GenericBody`.

    Examples:
        >>> signal = parse_signal(response.json())
        >>> signal.code, signal.body
        ('odometer-traveleddistance', UnitValue(unit='kilometers', value=115071.5))
    """
    return _parse(obj, None)


@attrs.frozen(kw_only=True)
class SignalsVehicle(ToDict):
    """The vehicle a ``/signals`` response is about (its ``included.vehicle``).

    Examples:
        >>> signals.vehicle
        SignalsVehicle(id='e5b1...', make='TESLA', model='Model 3', year=2023, ...)
    """

    id: str | None = None
    make: str | None = None
    model: str | None = None
    year: int | None = None
    mode: str | None = None
    powertrain_type: str | None = None
    raw: Mapping[str, Any] = RAW


def _year(value: object) -> int | None:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and value.strip().isdecimal() and len(value) < 8:
        return int(value)
    return None


def _parse_vehicle(included: object) -> SignalsVehicle | None:
    resource: object = None
    if isinstance(included, Mapping):
        resource = included.get("vehicle")
    elif isinstance(included, (list, tuple)):
        # JSON:API proper: a list of resources; take the vehicle.
        for item in included:
            if isinstance(item, Mapping) and item.get("type") == "vehicle":
                resource = item
                break
    if not isinstance(resource, Mapping):
        return None
    attributes = resource.get("attributes")
    fields = attributes if isinstance(attributes, Mapping) else resource
    return SignalsVehicle(
        id=_text(resource.get("id")),
        make=_text(fields.get("make")),
        model=_text(fields.get("model")),
        year=_year(fields.get("year")),
        mode=_text(fields.get("mode")),
        powertrain_type=_text(fields.get("powertrainType")),
        raw=resource,
    )


class Signals(Mapping[str, Signal]):
    """A vehicle's signals by code: a read-only mapping ``code -> Signal``.

    Only the signals the vehicle and the application can see are present, so prefer
    ``get`` (or `value`) to indexing.

    Attributes:
        vehicle: make, model and year from the response, when it had them.
        raw: the whole response JSON.

    Examples:
        >>> signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
        >>> signals.value(STATE_OF_CHARGE)
        80
        >>> [s.code for s in signals.by_group("Closure")]
        ['closure-islocked', 'closure-doors']
    """

    __slots__ = ("_by_code", "_raw", "_vehicle")

    def __init__(
        self,
        signals: Iterable[Signal] = (),
        *,
        vehicle: SignalsVehicle | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        self._by_code: dict[str, Signal] = {signal.code: signal for signal in signals}
        self._vehicle = vehicle
        self._raw: Mapping[str, Any] = raw if raw is not None else {}

    @property
    def vehicle(self) -> SignalsVehicle | None:
        """The vehicle from ``included``, or None when the response did not include it."""
        return self._vehicle

    @property
    def raw(self) -> Mapping[str, Any]:
        """The response JSON the signals came from (``{}`` when built by hand)."""
        return self._raw

    def __getitem__(self, code: str) -> Signal:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __repr__(self) -> str:
        return f"Signals({list(self._by_code)!r}, vehicle={self._vehicle!r})"

    def value(self, code: str) -> Any:
        """``body.value`` of a signal, or None when absent, failed or without a value.

        Examples:
            >>> signals.value(IS_LOCKED)
            True
        """
        signal = self._by_code.get(code)
        if signal is None or signal.body is None:
            return None
        return getattr(signal.body, "value", None)

    def to_dict(self) -> dict[str, Any]:
        """The signals as JSON-ready data, ``code -> signal dict``, for a web handler.

        Each signal is `Signal.to_dict`: code, name, group, status, error, body (its
        fields, e.g. ``{"value": 80, "unit": "percent"}``) and ISO-8601 timestamps.

        Examples:
            >>> signals.to_dict()["tractionbattery-stateofcharge"]["body"]
            {'value': 80, 'unit': 'percent'}
        """
        return {code: to_jsonable(signal) for code, signal in self.items()}

    def by_group(self, group: str) -> tuple[Signal, ...]:
        """The signals of one group (``"TractionBattery"``, any case), in response order.

        Examples:
            >>> [s.name for s in signals.by_group("tractionbattery")]
            ['StateOfCharge', 'Range']
        """
        # Codes start with the lower-cased group, so this works without group fields.
        prefix = group.lower() + "-"
        return tuple(s for code, s in self._by_code.items() if code.startswith(prefix))


def parse_signals(payload: object) -> Signals:
    """Parse a ``GET /vehicles/{id}/signals`` response into `Signals`.

    ``included.vehicle`` may be an object or a JSON:API list of resources, or absent.
    A bare list of signals (as webhook events carry) is accepted too.

    Raises:
        APIResponseError: the payload has no ``data`` list, or an entry of it is not
            a signal (see `parse_signal`). Bodies of unexpected shapes do not raise.

    Examples:
        >>> signals = parse_signals(response.json())
        >>> signals.vehicle.make, len(signals)
        ('TESLA', 95)
    """
    included: object = None
    raw: Mapping[str, Any]
    if isinstance(payload, Mapping):
        data = payload.get("data")
        if not isinstance(data, (list, tuple)):
            raise APIResponseError("a signals response needs a 'data' list")
        included = payload.get("included")
        raw = payload
    elif isinstance(payload, (list, tuple)):
        data = payload
        raw = {"data": payload}
    else:
        raise APIResponseError(f"expected a JSON object, got {type(payload).__name__}")
    cache: _TimestampCache = {}
    parsed = []
    for index, item in enumerate(data):
        try:
            parsed.append(_parse(item, cache))
        except APIResponseError as exc:
            raise APIResponseError(f"data[{index}]: {exc}") from None
    return Signals(parsed, vehicle=_parse_vehicle(included), raw=raw)

"""The one cattrs converter, and the helpers that turn JSON:API into attrs models.

Models are ``attrs.frozen`` classes with snake_case fields. The converter maps each
field to its camelCase JSON key, ignores keys it does not know, keeps the JSON a model
came from on ``raw`` (out of repr and equality), and turns epoch or ISO timestamps into
aware datetimes. A model that needs more than a rename (a JSON:API resource whose fields
live under ``attributes`` and ``relationships``) defines a ``_flatten`` classmethod that
returns the flat mapping the converter then reads.

Examples:
    >>> @attrs.frozen(kw_only=True)
    ... class Thing:
    ...     id: str
    ...     created_at: datetime | None = None
    ...     raw: Mapping[str, Any] = RAW
    >>> structure({"id": "a", "createdAt": 1752104218549}, Thing).created_at.year
    2025
"""

from __future__ import annotations

import datetime as _dt
import enum
import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from ._coerce import text, text_or_number, whole_number
from ._error_types import APIResponseError

__all__ = [
    "RAW",
    "ErrorObject",
    "ToDict",
    "VehicleDescription",
    "converter",
    "error_object_fields",
    "own_fields_first",
    "parse_timestamp",
    "related_id",
    "structure",
    "to_jsonable",
    "unwrap",
]

T = TypeVar("T")

#: Field definition for the ``raw`` JSON a model keeps: excluded from repr, eq and hash.
RAW: Any = attrs.field(factory=dict, repr=False, eq=False, hash=False)


_CAMEL_BOUNDARY = re.compile(r"_([a-z0-9])")

# Epoch values below this are seconds, above it milliseconds: 1e11 ms is March 1973 and
# 1e11 s is the year 5138, so no real timestamp is ambiguous. The reference records both
# units for the same fields.
_SECONDS_LIMIT = 100_000_000_000


def snake_to_camel(name: str) -> str:
    """``oem_updated_at`` -> ``oemUpdatedAt``."""
    return _CAMEL_BOUNDARY.sub(lambda m: m.group(1).upper(), name)


def parse_timestamp(value: object) -> _dt.datetime | None:
    """An aware UTC datetime from epoch seconds, epoch milliseconds or ISO-8601 text.

    Anything else (None, garbage, out of range) gives None rather than an error, so a
    malformed timestamp never makes a whole response unreadable.

    Examples:
        >>> parse_timestamp(1752104218549).isoformat()
        '2025-07-09T23:36:58.549000+00:00'
    """
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            # inside the try: dividing a huge int raises OverflowError too
            seconds = value / 1000 if abs(value) >= _SECONDS_LIMIT else value
            return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.lstrip("-").replace(".", "", 1).isdigit():
            try:
                number = float(text)
            except ValueError:  # isdigit() accepts "²", float() does not
                return None
            return parse_timestamp(number)
        if text.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from Python 3.11
            text = text[:-1] + "+00:00"
        try:
            parsed = _dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.timezone.utc)
    return None


def to_jsonable(
    value: object, *, timestamp: Callable[[_dt.datetime], str] = _dt.datetime.isoformat
) -> Any:
    """``value`` as data `json.dumps` takes: dicts, lists, text, plain numbers, None.

    attrs models become dicts of their fields (snake_case, without ``raw``), mappings
    (`Signals`) dicts, datetimes ISO-8601 text (``timestamp`` writes them: the CLI
    writes UTC as ``Z``), enums their value; a float that is not finite becomes None
    (JSON has no NaN).

    Examples:
        >>> to_jsonable({"at": parse_timestamp(0), "n": (1, 2.5)})
        {'at': '1970-01-01T00:00:00+00:00', 'n': [1, 2.5]}
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, _dt.datetime):
        return timestamp(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, timestamp=timestamp)
    cls = type(value)
    if attrs.has(cls):
        return {
            field.name: to_jsonable(getattr(value, field.name), timestamp=timestamp)
            for field in attrs.fields(cls)
            if field.name != "raw"
        }
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item, timestamp=timestamp) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item, timestamp=timestamp) for item in value]
    return str(value)


class ToDict:
    """Gives an attrs model `to_dict`: JSON-ready data for a web handler or a log."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data: snake_case keys, ISO timestamps, plain numbers.

        The ``raw`` JSON is left out (it is on ``raw``).

        Examples:
            >>> vehicle = await client.vehicles.get(vehicle_id)
            >>> vehicle.to_dict()
            {'id': '...', 'make': 'TESLA', 'model': 'Model 3', 'year': 2023, ...}
        """
        data: dict[str, Any] = to_jsonable(self)
        return data


def unwrap(payload: object) -> Mapping[str, Any]:
    """The resource object of a single-resource response, with or without ``data``.

    The newer spec wraps single resources in ``{"data": {...}}``; older docs send the
    resource bare. Both are accepted.
    """
    if not isinstance(payload, Mapping):
        raise APIResponseError(f"expected a JSON object, got {type(payload).__name__}")
    data = payload.get("data")
    if isinstance(data, Mapping):
        return data
    return payload


def own_fields_first(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """An attrs ``field_transformer``: a model's own fields before those it inherits.

    A model that adds its ``id`` to a shared base (`VehicleDescription`) then still
    shows it first, in its repr and in `ToDict.to_dict`, as every other model does.
    """
    own = inspect.get_annotations(cls)
    return sorted(fields, key=lambda field: field.name not in own)


@attrs.frozen(kw_only=True)
class VehicleDescription(ToDict):
    """What a vehicle is, in the fields the API gives every vehicle it describes.

    The one declaration of those fields: `Vehicle`, `VehicleInfo`,
    `smartcar_async.signals.SignalsVehicle` and the webhook `EventVehicle` build on it
    (each adds its ``id`` by its own rule). Every field is None when the API left it out.

    Attributes:
        make: e.g. ``"TESLA"``.
        model: e.g. ``"Model 3"``.
        year: model year.
        mode: ``"live"`` or ``"simulated"`` (kept as given).
        powertrain_type: ``"BEV"``, ``"ICE"``, ``"PHEV"``... (kept as given).
    """

    make: str | None = None
    model: str | None = None
    year: int | None = None
    mode: str | None = None
    powertrain_type: str | None = None
    raw: Mapping[str, Any] = RAW


def vehicle_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The `VehicleDescription` fields of a vehicle's attributes, read leniently.

    Shared by the vehicle a ``/signals`` response includes and the one a webhook event
    names (each reads its ``id`` by its own rule).

    Examples:
        >>> vehicle_fields({"make": "TESLA", "year": "2024", "powertrainType": "BEV"})
        {'make': 'TESLA', 'model': None, 'year': 2024, 'mode': None, 'powertrain_type': 'BEV'}
    """
    return {
        "make": text(fields.get("make")),
        "model": text(fields.get("model")),
        "year": whole_number(fields.get("year")),
        "mode": text(fields.get("mode")),
        "powertrain_type": text(fields.get("powertrainType")),
    }


@attrs.frozen(kw_only=True)
class ErrorObject(ToDict):
    """Smartcar's error object where data carries one: a signal's ``status.error`` and
    each entry of a VEHICLE_ERROR event. The base of
    `smartcar_async.signals.SignalError` and the webhook `VehicleError`.

    Attributes:
        type: e.g. ``COMPATIBILITY``, ``PERMISSION``, ``VEHICLE_STATE``.
        code: e.g. ``VEHICLE_NOT_CAPABLE``, ``ASLEEP``; may be None.
        description: the API's explanation (``description``, else ``detail``), if any.
        resolution: what to do (``RETRY_LATER``, ``REAUTHENTICATE``...), if any.
    """

    type: str | None = None
    code: str | None = None
    description: str | None = None
    resolution: str | None = None
    raw: Mapping[str, Any] = RAW


def error_object_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The `ErrorObject` fields of an error object, read leniently.

    Shared by a signal's ``status.error`` and a VEHICLE_ERROR event's entries.

    Codes may come as numbers (kept as their text); ``resolution`` may be a bare
    string or an object whose ``type`` names it.

    Examples:
        >>> error_object_fields({"type": "PERMISSION", "resolution": {"type": "REAUTHENTICATE"}})
        {'type': 'PERMISSION', 'code': None, 'description': None, 'resolution': 'REAUTHENTICATE'}
    """
    resolution = entry.get("resolution")
    if isinstance(resolution, Mapping):
        resolution = resolution.get("type")
    return {
        "type": text_or_number(entry.get("type")),
        "code": text_or_number(entry.get("code")),
        "description": text_or_number(entry.get("description"))
        or text_or_number(entry.get("detail")),
        "resolution": text_or_number(resolution),
    }


def related_id(resource: Mapping[str, Any], name: str) -> str | None:
    """``relationships.<name>.data.id`` of a JSON:API resource, if present."""
    relationships = resource.get("relationships")
    if not isinstance(relationships, Mapping):
        return None
    related = relationships.get(name)
    if not isinstance(related, Mapping):
        return None
    data = related.get("data")
    if isinstance(data, Mapping):
        value = data.get("id")
        return value if isinstance(value, str) else None
    return None


def flatten_resource(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON:API resource as one flat mapping: its attributes, then id, type and meta.

    ``meta`` keys (``createdAt``...) are lifted next to the attributes; an attribute of
    the same name wins.
    """
    flat: dict[str, Any] = {}
    meta = resource.get("meta")
    if isinstance(meta, Mapping):
        flat.update(meta)
    attributes = resource.get("attributes")
    if isinstance(attributes, Mapping):
        flat.update(attributes)
    for key in ("id", "type", "links"):
        if key in resource:
            flat[key] = resource[key]
    return flat


def _structure_datetime(value: Any, _: type) -> _dt.datetime | None:
    return parse_timestamp(value)


def _structure_str(value: Any, _: type) -> str:
    # cattrs would call str() on anything; a dict turned into its repr is worse than an
    # error, so only text and numbers become text.
    result = text_or_number(value)
    if result is None:
        raise TypeError(f"expected text, got {type(value).__name__}")
    return result


def _structure_bool(value: Any, _: type) -> bool:
    # cattrs would call bool() on anything, turning the text "false" into True.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"expected a boolean, got {type(value).__name__}")


def _structure_any_mapping(value: Any, _: type) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise TypeError(f"expected an object, got {type(value).__name__}")


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=False)
    conv.register_structure_hook(_dt.datetime, _structure_datetime)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook_func(lambda t: t == Mapping[str, Any], _structure_any_mapping)

    def is_model(cls: Any) -> bool:
        return attrs.has(cls)

    def model_hook(cls: type[T]) -> Callable[[Any, type[T]], T]:
        fields = attrs.fields(cls)  # type: ignore[arg-type]
        overrides = {
            f.name: override(omit=True)
            if f.name == "raw"
            else override(rename=snake_to_camel(f.name))
            for f in fields
        }
        generated = make_dict_structure_fn(cls, conv, **overrides)  # type: ignore[arg-type]
        keeps_raw = any(f.name == "raw" for f in fields)
        flatten = getattr(cls, "_flatten", None)

        def structure_model(value: Any, target: type[T]) -> T:
            if not isinstance(value, Mapping):
                raise TypeError(f"expected an object for {target.__name__}")
            source = flatten(value) if flatten is not None else value
            obj = generated(source, target)
            if keeps_raw:
                # The model is frozen; setting raw once, right after it is built, is the
                # same as passing it to __init__ without making every caller do so.
                object.__setattr__(obj, "raw", value)
            return obj

        return structure_model

    conv.register_structure_hook_factory(is_model, model_hook)
    return conv


#: The SDK's one converter. Private API: use `structure`.
converter = _make_converter()


def structure(data: object, cls: type[T]) -> T:
    """Build ``cls`` from decoded JSON; any mismatch becomes an `APIResponseError`.

    Examples:
        >>> vehicle = structure(unwrap(response.json()), Vehicle)
    """
    try:
        return converter.structure(data, cls)
    except APIResponseError:
        raise
    except (
        cattrs.BaseValidationError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        OverflowError,  # int() of a float past its range: {"year": 1e400} decodes to inf
    ) as exc:
        raise APIResponseError(
            f"response did not match the documented shape of {cls.__name__}: {exc!s:.200}"
        ) from None

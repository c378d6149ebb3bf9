"""Parsing signals: the ``/signals`` responses and the flat signals of webhook events.

One signal is read in four steps, each its own function: the envelope (where the
fields are, and the code), the status (and the error, when there is one), the body
(typed by the catalogue's parser, or inferred), and the timestamps of ``meta``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, Final, TypeAlias, TypeGuard

from .._coerce import WrongType, text
from .._error_types import APIResponseError
from .._models import _SECONDS_LIMIT, error_object_fields, parse_timestamp, vehicle_fields
from ._bodies import GenericBody, SignalBody
from ._body_parsers import BodyParser, infer_body, parser_for
from ._catalogue import CATALOGUE, SignalSpec
from ._signal import Signal, SignalError, Signals, SignalsVehicle

__all__ = ["parse_signal", "parse_signals"]

_Json = Mapping[str, Any]

# code -> (spec, body parser): one lookup per signal while parsing.
_BY_CODE: Final[dict[str, tuple[SignalSpec, BodyParser]]] = {
    code: (spec, parser_for(spec.body_type)) for code, spec in CATALOGUE.items()
}

# Up to the year 5000 in milliseconds: the direct conversion below stays in range.
_MAX_EPOCH_MS: Final = 95_000_000_000_000

_STATUSES: Final = {"SUCCESS": "SUCCESS", "ERROR": "ERROR", "UNAVAILABLE": "UNAVAILABLE"}

_UTC = _dt.timezone.utc

# Epoch numbers are cached per response: all signals of one read share retrievedAt,
# and converting it once instead of ~95 times is most of the timestamp cost.
_TimestampCache: TypeAlias = "dict[Any, _dt.datetime | None]"


def _is_object(value: object) -> TypeGuard[_Json]:
    # ``type(x) is dict`` first: decoded JSON is always a dict, and the ABC check it
    # saves is the largest single cost of parsing.
    return type(value) is dict or isinstance(value, Mapping)


def _not_a_signal(message: str) -> APIResponseError:
    return APIResponseError(f"not a signal: {message}")


# ------------------------------------------------------------------------ envelope


def _usual_envelope(obj: object) -> tuple[_Json, _Json, str] | None:
    """`_envelope` of the shape the API sends, or None for any other shape.

    A JSON:API resource of type "signal" whose attributes carry the code: checked
    first and without the general checks, since every read checks every entry.
    """
    if type(obj) is not dict:
        return None
    attributes = obj.get("attributes")
    if type(attributes) is not dict:
        return None
    code = attributes.get("code")
    if type(code) is str and code and obj.get("type", "signal") == "signal":
        return obj, attributes, code
    return None


def _envelope(obj: object) -> tuple[_Json, _Json, str]:
    """The signal object, the mapping that holds its fields, and its code."""
    usual = _usual_envelope(obj)
    if usual is not None:
        return usual
    if not _is_object(obj):
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
    source = attributes if _is_object(attributes) else obj
    code = source.get("code")
    if type(code) is not str or not code:
        code = obj.get("id")
        if type(code) is not str or not code:
            raise _not_a_signal("it has neither a code nor an id")
    return obj, source, code


# -------------------------------------------------------------------------- status


def _signal_error(error: _Json) -> SignalError:
    return SignalError(**error_object_fields(error), raw=error)


def _status(source: _Json) -> tuple[str, SignalError | None]:
    """``status.value`` (or a bare status string) and the error it carries, if any."""
    status_obj = source.get("status")
    if status_obj is None:
        return "SUCCESS", None
    status_map = status_obj if _is_object(status_obj) else None
    value = status_map.get("value") if status_map is not None else status_obj
    status = "SUCCESS"
    if type(value) is str:
        known = _STATUSES.get(value)
        status = known if known is not None else _STATUSES.get(value.upper(), value)
    elif status_map is not None and _is_object(status_map.get("error")):
        status = "ERROR"
    if status == "SUCCESS":
        return status, None
    details = status_map.get("error") if status_map is not None else None
    if not _is_object(details):
        details = source.get("error")
    return status, _signal_error(details) if _is_object(details) else None


# ---------------------------------------------------------------------------- body


def _body(source: _Json, parser: BodyParser) -> SignalBody | None:
    raw_body = source.get("body")
    if not _is_object(raw_body):
        return None
    try:
        return parser(raw_body)
    except (WrongType, TypeError, ValueError, OverflowError):
        # A body never makes a signal unreadable: keep it untyped instead. The parsers
        # only raise WrongType today; the other types guard against a user-supplied
        # Mapping whose methods misbehave.
        return GenericBody(data=raw_body, raw=raw_body)


# -------------------------------------------------------------------------- times


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


_NO_TIMES: Final = (None, None, None)


def _times(
    obj: _Json, source: _Json, cache: _TimestampCache | None
) -> tuple[_dt.datetime | None, _dt.datetime | None, _dt.datetime | None]:
    """``retrievedAt`` (or ``fetchedAt``), ``oemUpdatedAt`` and ``ingestedAt`` of meta."""
    meta = obj.get("meta")
    if not _is_object(meta):
        meta = source.get("meta")
    if not meta or not _is_object(meta):
        return _NO_TIMES
    retrieved = meta.get("retrievedAt")
    if retrieved is None:
        retrieved = meta.get("fetchedAt")
    return (
        _when(retrieved, cache),
        _when(meta.get("oemUpdatedAt"), cache),
        _when(meta.get("ingestedAt"), cache),
    )


# ------------------------------------------------------------------------- signal


def parse_one(obj: object, cache: _TimestampCache | None = None) -> Signal:
    """One signal from its JSON; ``cache`` shares timestamp conversions across a response.

    Raises:
        APIResponseError: ``obj`` is not a signal at all.

    Examples:
        >>> parse_one({"code": "closure-islocked", "body": {"value": True}}).body
        Value(value=True)
    """
    obj, source, code = _envelope(obj)
    entry = _BY_CODE.get(code)
    name = source.get("name")
    group = source.get("group")
    if type(name) is not str:
        name = entry[0].name if entry is not None else None
    if type(group) is not str:
        group = entry[0].group if entry is not None else None
    status, error = _status(source)
    retrieved_at, oem_updated_at, ingested_at = _times(obj, source, cache)
    return Signal(
        code=code,
        name=name,
        group=group,
        status=status,
        error=error,
        body=_body(source, entry[1] if entry is not None else infer_body),
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
    return parse_one(obj)


# ------------------------------------------------------------------------ response


def _included_vehicle(included: object) -> SignalsVehicle | None:
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
        id=text(resource.get("id")),
        **vehicle_fields(fields),
        raw=resource,
    )


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
    # Each entry is only checked to be a signal here (its code, or the same error the
    # full parse would raise); its model is built when it is first asked for.
    entries: dict[str, object] = {}
    for index, item in enumerate(data):
        try:
            entries[_envelope(item)[2]] = item
        except APIResponseError as exc:
            raise APIResponseError(f"data[{index}]: {exc}") from None
    cache: _TimestampCache = {}
    return Signals._lazy(
        entries,
        lambda item: parse_one(item, cache),
        vehicle=_included_vehicle(included),
        raw=raw,
    )

"""Webhook event models and the tolerant parser behind `smartcar_async.webhooks.parse_event`.

Private: import the names from `smartcar_async.webhooks`. The parser is hand-written
rather than run through the cattrs converter because the reference records several
shapes for the same event (documented vs. observed in production, v4 vs. legacy v2) and
each variant needs a decision, not a rename. Every wrongly typed part of a known event is
treated as absent, so an API change degrades a field to None instead of failing the whole
delivery; only a body that is not a Smartcar event at all raises `WebhookPayloadError`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypedDict

import attrs

from ._coerce import text_or_number, whole_number
from ._error_types import SmartcarError, WebhookPayloadError
from ._models import (
    RAW,
    ErrorObject,
    ToDict,
    VehicleDescription,
    error_object_fields,
    own_fields_first,
    parse_timestamp,
    vehicle_fields,
)
from .signals import GROUPS, Signal, Signals, parse_signal

_log = logging.getLogger("smartcar_async.webhooks")

# Upper-case words (FIRST_DELIVERY, SIGNAL_UPDATED) are trigger types; signal codes are
# lower-case ``group-name``. The documented shape puts both in ``code``.
_TRIGGER_TYPE = re.compile(r"[A-Z][A-Z0-9_]*")

# Used only to undo the swapped name/group seen in one production VEHICLE_ERROR payload.
_GROUPS = frozenset(GROUPS)


# --------------------------------------------------------------------------- models

# Each class uses `_models.model` spelled out (`attrs.frozen(kw_only=True)`): these are
# built by hand, not by the converter, and mypy's attrs plugin sees the fields, and checks
# the calls, only through attrs' own decorator written at the class.


class _EventFlags(ToDict):
    """Conveniences shared by every event class (a slot-less mixin)."""

    __slots__ = ()
    meta: EventMeta

    @property
    def is_test(self) -> bool:
        """True for a test delivery sent from the Dashboard (``meta.mode == "TEST"``)."""
        return self.meta.is_test


@attrs.frozen(kw_only=True)
class EventMeta(ToDict):
    """The ``meta`` block of a delivery.

    Attributes:
        version: payload version (``"4.0"``; ``"2.0"`` for the legacy VERIFY).
        delivery_id: id of this delivery attempt (new on every retry).
        delivered_at: when Smartcar sent it (aware UTC; epoch-ms or ISO in the payload).
        webhook_id: the webhook that delivered it.
        webhook_name: its name in the Dashboard.
        signal_count: how many signals a VEHICLE_STATE carries, as Smartcar counted them.
        mode: ``"LIVE"`` or ``"TEST"`` (kept as sent; None when absent).

    Examples:
        >>> event.meta.delivered_at.isoformat()
        '2025-09-12T08:01:02.345000+00:00'
    """

    version: str | None = None
    delivery_id: str | None = None
    delivered_at: _dt.datetime | None = None
    webhook_id: str | None = None
    webhook_name: str | None = None
    signal_count: int | None = None
    mode: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def is_test(self) -> bool:
        """True when ``mode`` is ``TEST`` (any case)."""
        return self.mode is not None and self.mode.upper() == "TEST"


@attrs.frozen(kw_only=True, field_transformer=own_fields_first)
class EventVehicle(VehicleDescription):
    """The vehicle an event is about (``data.vehicle``).

    Attributes:
        id: the vehicle id, when the event names it there.
        make / model / year: what it is; ``mode`` and ``powertrain_type`` when sent
            (None otherwise).

    Examples:
        >>> event.vehicle.make, event.vehicle.year
        ('VOLKSWAGEN', 2022)
    """

    id: str | None = None


@attrs.frozen(kw_only=True)
class Trigger(ToDict):
    """Why a VEHICLE_STATE was sent.

    Attributes:
        type: ``"SIGNAL_UPDATED"`` or ``"FIRST_DELIVERY"`` (new values kept as sent).
        code: the signal code (``tractionbattery-stateofcharge``) for a signal trigger.
        name: the signal name (``StateOfCharge``), when known.
        group: the signal group (``TractionBattery``), when known.

    Every trigger shape the reference records becomes this one: ``{code, name, group}``,
    ``{"code": "FIRST_DELIVERY"}``, ``{"type", "signal": "Group.Name"}`` and
    ``{"type", "signal": {name, group, code}}``.

    Examples:
        >>> [t.code for t in event.triggers if t.type == "SIGNAL_UPDATED"]
        ['odometer-traveleddistance']
    """

    type: str
    code: str | None = None
    name: str | None = None
    group: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class VehicleError(ErrorObject):
    """One entry of a VEHICLE_ERROR's ``errors``.

    Attributes:
        type: ``CONNECTED_SERVICES_ACCOUNT``, ``VEHICLE_STATE``, ``COMPATIBILITY``,
            ``PERMISSION``...
        code: ``AUTHENTICATION_FAILED``, ``ASLEEP``... (None for ``PERMISSION``).
        state: ``"ERROR"`` while the condition holds, ``"RESOLVED"`` once it clears.
        description: Smartcar's explanation.
        suggested_user_message: text fit to show the vehicle owner.
        doc_url: Smartcar's page about the error.
        resolution: ``RETRY_LATER``, ``REAUTHENTICATE``, ``USER_ACTION_REQUIRED``...
        signals: the affected signals, each a ``"Group.Name"`` or a signal code as sent.

    Examples:
        >>> error = event.errors[0]
        >>> error.state, error.signal_codes
        ('ERROR', ('tractionbattery-stateofcharge',))
    """

    state: str | None = None
    suggested_user_message: str | None = None
    doc_url: str | None = None
    signals: tuple[str, ...] = ()

    @property
    def is_resolved(self) -> bool:
        """True for the follow-up that says the condition has cleared."""
        return self.state is not None and self.state.upper() == "RESOLVED"

    @property
    def signal_codes(self) -> tuple[str, ...]:
        """`signals` as signal codes (``"TractionBattery.StateOfCharge"`` ->
        ``"tractionbattery-stateofcharge"``), ready for a `Signals` lookup."""
        return tuple(_code_from_ref(ref) for ref in self.signals)


@attrs.frozen(kw_only=True)
class VerifyEvent(_EventFlags):
    """The one-time VERIFY challenge sent when a webhook is created or its URL changes.

    Answer it with `challenge_response` (a `WebhookReceiver` does so by itself).

    Examples:
        >>> event = parse_event(body)
        >>> if isinstance(event, VerifyEvent):
        ...     return challenge_response(event.challenge, management_token)
    """

    event_id: str | None = None
    event_type: str = "VERIFY"
    challenge: str
    meta: EventMeta = attrs.field(factory=EventMeta)
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class _VehicleEvent(_EventFlags):
    """What every event about a vehicle carries (VEHICLE_STATE, VEHICLE_ERROR, and the
    event types this SDK does not know yet).

    Attributes:
        event_id: stable across retries of this event: the key to de-duplicate on.
        event_type: ``eventType`` as sent.
        vehicle_id: top-level ``vehicleId``, else ``data.vehicle.id``.
        user_id: ``data.user.id``.
        vehicle: make, model and year, when sent (`EventVehicle`).
        meta: delivery details (`EventMeta`).
    """

    event_id: str | None = None
    event_type: str
    vehicle_id: str | None = None
    user_id: str | None = None
    vehicle: EventVehicle | None = None
    meta: EventMeta = attrs.field(factory=EventMeta)
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class VehicleStateEvent(_VehicleEvent):
    """A VEHICLE_STATE delivery: every subscribed signal, and what triggered it.

    Attributes:
        event_id / vehicle_id / user_id / vehicle / meta: as on every vehicle event:
            ``event_id`` is the key to de-duplicate on; ``vehicle_id`` is the top-level
            ``vehicleId``, else ``data.vehicle.id``; ``user_id`` is ``data.user.id``.
        triggers: why it was sent (`Trigger`).
        signals: every signal in the payload, by code (`smartcar_async.signals.Signals`).

    Examples:
        >>> soc = event.signals.get("tractionbattery-stateofcharge")
    """

    event_type: str = "VEHICLE_STATE"
    triggers: tuple[Trigger, ...] = ()
    signals: Signals

    @property
    def is_first_delivery(self) -> bool:
        """True for the full snapshot sent on (re)subscription or re-enabling."""
        return any(t.type == "FIRST_DELIVERY" for t in self.triggers)


@attrs.frozen(kw_only=True)
class VehicleErrorEvent(_VehicleEvent):
    """A VEHICLE_ERROR delivery: problems reading the vehicle, or their resolution.

    Attributes:
        errors: each problem, or its resolution (`VehicleError`); the other fields are
            those of `VehicleStateEvent`.

    Examples:
        >>> for error in event.errors:
        ...     print(error.type, error.code, error.state, error.resolution)
    """

    event_type: str = "VEHICLE_ERROR"
    errors: tuple[VehicleError, ...] = ()


@attrs.frozen(kw_only=True)
class UnknownEvent(_VehicleEvent):
    """An event whose ``eventType`` this SDK version does not know (kept, never an error).

    It has the fields of every vehicle event (``event_type``, ``vehicle_id``,
    ``user_id``, ``vehicle``, ``meta``, ``raw``), as far as the payload gives them.

    Examples:
        >>> if isinstance(event, UnknownEvent):
        ...     log.info("new smartcar event %s", event.event_type)
    """


#: Every event `parse_event` returns.
WebhookEvent: TypeAlias = VerifyEvent | VehicleStateEvent | VehicleErrorEvent | UnknownEvent
#: The events a `WebhookReceiver` hands to its callback (VERIFY is answered for you).
DataEvent: TypeAlias = VehicleStateEvent | VehicleErrorEvent | UnknownEvent


# --------------------------------------------------------------------------- helpers


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> Sequence[Any]:
    # A str is a Sequence too; only real JSON arrays count.
    return value if isinstance(value, (list, tuple)) else ()


def _split_ref(ref: str) -> tuple[str | None, str | None]:
    """``"Group.Name"`` -> (group, name); anything else -> (None, None)."""
    group, dot, name = ref.partition(".")
    if dot and group and name:
        return group, name
    return None, None


def _code_from(group: str, name: str) -> str:
    # Reference §7: the code is the lower-cased group and name joined by "-".
    if name in _GROUPS and group not in _GROUPS:
        group, name = name, group
    return f"{group.lower()}-{name.lower()}"


def _code_from_ref(ref: str) -> str:
    group, name = _split_ref(ref)
    if group is not None and name is not None:
        return _code_from(group, name)
    return ref


# --------------------------------------------------------------------------- parts


def _parse_meta(obj: Mapping[str, Any], *, legacy: bool = False) -> EventMeta:
    if legacy:
        # The v2 VERIFY keeps version and webhookId at the top level and has no meta.
        return EventMeta(
            version=text_or_number(obj.get("version")),
            webhook_id=text_or_number(obj.get("webhookId")),
            raw={},
        )
    meta = _mapping(obj.get("meta"))
    delivered = meta.get("deliveredAt")
    if delivered is None:
        delivered = meta.get("deliveryTime")  # seen beside deliveredAt in production
    return EventMeta(
        version=text_or_number(meta.get("version")) or text_or_number(obj.get("version")),
        delivery_id=text_or_number(meta.get("deliveryId")),
        delivered_at=parse_timestamp(delivered),
        webhook_id=text_or_number(meta.get("webhookId")),
        webhook_name=text_or_number(meta.get("webhookName")),
        signal_count=whole_number(meta.get("signalCount")),
        mode=text_or_number(meta.get("mode")),
        raw=meta,
    )


def _event_vehicle(data: Mapping[str, Any]) -> EventVehicle | None:
    vehicle = data.get("vehicle")
    if not isinstance(vehicle, Mapping):
        return None
    return EventVehicle(
        id=text_or_number(vehicle.get("id")), **vehicle_fields(vehicle), raw=vehicle
    )


def _trigger_from_text(item: str) -> Trigger:
    # Not seen in the wild; a bare word is a trigger type, anything else a signal.
    if _TRIGGER_TYPE.fullmatch(item):
        return Trigger(type=item, raw={})
    group, name = _split_ref(item)
    code = _code_from(group, name) if group and name else item
    return Trigger(type="SIGNAL_UPDATED", code=code, name=name, group=group, raw={})


def _trigger_fields(item: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """``code``, ``name`` and ``group``, from the trigger or its ``signal`` reference."""
    code = text_or_number(item.get("code"))
    name = text_or_number(item.get("name"))
    group = text_or_number(item.get("group"))
    signal = item.get("signal")
    if isinstance(signal, str):
        ref_group, ref_name = _split_ref(signal)
        if ref_group is None:
            code = code or signal
        group, name = group or ref_group, name or ref_name
    elif isinstance(signal, Mapping):
        code = code or text_or_number(signal.get("code"))
        name = name or text_or_number(signal.get("name"))
        group = group or text_or_number(signal.get("group"))
    if name is not None and group is None:
        ref_group, ref_name = _split_ref(name)
        if ref_group is not None:
            group, name = ref_group, ref_name
    return code, name, group


def _parse_trigger(item: object) -> Trigger | None:
    if isinstance(item, str):
        return _trigger_from_text(item) if item else None
    if not isinstance(item, Mapping):
        return None
    kind = text_or_number(item.get("type"))
    code, name, group = _trigger_fields(item)
    if kind is None:
        if code is not None and name is None and group is None and _TRIGGER_TYPE.fullmatch(code):
            # Documented {"code": "FIRST_DELIVERY"}: the code is the trigger's type.
            kind, code = code, None
        elif code is not None or name is not None or group is not None:
            kind = "SIGNAL_UPDATED"
        else:
            return None
    if code is None and name is not None and group is not None:
        code = _code_from(group, name)
    return Trigger(type=kind, code=code, name=name, group=group, raw=item)


def _parse_triggers(obj: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[Trigger, ...]:
    # Documented under data; production fixtures have them at the top level.
    items = data.get("triggers")
    if not isinstance(items, (list, tuple)):
        items = obj.get("triggers")
    triggers = (_parse_trigger(item) for item in _items(items))
    return tuple(t for t in triggers if t is not None)


def _parse_signals(obj: Mapping[str, Any], data: Mapping[str, Any]) -> Signals:
    items = data.get("signals")
    if not isinstance(items, (list, tuple)):
        items = obj.get("signals")
    parsed: list[Signal] = []
    for item in _items(items):
        if not isinstance(item, Mapping):
            continue
        try:
            # parse_signal reads meta.retrievedAt (observed) and fetchedAt (documented).
            parsed.append(parse_signal(item))
        except SmartcarError:
            # One unreadable signal must not cost the other signals of the delivery; it
            # stays in the event's raw JSON.
            _log.debug("skipped an unreadable signal in a webhook event")
    return Signals(parsed)


def _error_signal(item: object) -> str | None:
    if isinstance(item, str):
        return item or None
    if not isinstance(item, Mapping):
        return None
    code = text_or_number(item.get("code"))
    if code:
        return code
    name = text_or_number(item.get("name"))
    group = text_or_number(item.get("group"))
    if name and group:
        if name in _GROUPS and group not in _GROUPS:  # swapped in one production payload
            group, name = name, group
        return f"{group}.{name}"
    return name or None


def _parse_error(item: object) -> VehicleError | None:
    if not isinstance(item, Mapping):
        return None
    signals = (_error_signal(s) for s in _items(item.get("signals")))
    return VehicleError(
        **error_object_fields(item),
        state=text_or_number(item.get("state")),
        suggested_user_message=text_or_number(item.get("suggestedUserMessage")),
        doc_url=text_or_number(item.get("docURL")) or text_or_number(item.get("docUrl")),
        signals=tuple(s for s in signals if s is not None),
        raw=item,
    )


# --------------------------------------------------------------------------- entry points


def decode_body(body: bytes | bytearray | memoryview | str) -> Mapping[str, Any]:
    """The JSON object of a raw body; `WebhookPayloadError` for anything else.

    Bytes must be UTF-8 (RFC 8259); no other encoding is guessed, so the bytes that were
    signed and the text that is read are always the same.
    """
    try:
        text = body if isinstance(body, str) else bytes(body).decode("utf-8")
        decoded = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise WebhookPayloadError(f"webhook body is not JSON: {type(exc).__name__}") from None
    if not isinstance(decoded, Mapping):
        raise WebhookPayloadError(
            f"webhook body is not a JSON object (got {type(decoded).__name__})"
        )
    return decoded


def event_type_of(obj: Mapping[str, Any]) -> tuple[str, bool]:
    """(upper-cased event type, is-legacy-v2) of a decoded body, or `WebhookPayloadError`."""
    kind = obj.get("eventType")
    legacy = False
    if kind is None and "eventName" in obj:
        kind, legacy = obj.get("eventName"), True
    if not isinstance(kind, str) or not kind.strip():
        raise WebhookPayloadError("webhook body has no eventType: not a Smartcar event")
    return kind.strip(), legacy


def event_from_json(obj: Mapping[str, Any]) -> WebhookEvent:
    """Build the event for a decoded JSON object (see `parse_event`)."""
    kind, legacy = event_type_of(obj)
    data = _mapping(obj.get("data"))
    upper = kind.upper()
    if upper == "VERIFY":
        source = _mapping(obj.get("payload")) if legacy else data
        challenge = source.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise WebhookPayloadError("VERIFY event without a challenge")
        return VerifyEvent(
            event_id=text_or_number(obj.get("eventId")),
            challenge=challenge,
            meta=_parse_meta(obj, legacy=legacy),
            raw=obj,
        )
    common = _vehicle_event_fields(obj, data)
    if upper == "VEHICLE_STATE" and not legacy:
        return VehicleStateEvent(
            **common, triggers=_parse_triggers(obj, data), signals=_parse_signals(obj, data)
        )
    if upper == "VEHICLE_ERROR" and not legacy:
        errors = (_parse_error(item) for item in _items(data.get("errors")))
        return VehicleErrorEvent(**common, errors=tuple(e for e in errors if e is not None))
    return UnknownEvent(**common, event_type=kind)


class _VehicleEventFields(TypedDict):
    """The keywords of the `_VehicleEvent` fields, read once for every event type."""

    event_id: str | None
    vehicle_id: str | None
    user_id: str | None
    vehicle: EventVehicle | None
    meta: EventMeta
    raw: Mapping[str, Any]


def _vehicle_event_fields(obj: Mapping[str, Any], data: Mapping[str, Any]) -> _VehicleEventFields:
    vehicle = _event_vehicle(data)
    user = text_or_number(_mapping(data.get("user")).get("id"))
    return {
        "event_id": text_or_number(obj.get("eventId")),
        "vehicle_id": text_or_number(obj.get("vehicleId")) or (vehicle.id if vehicle else None),
        "user_id": user or text_or_number(obj.get("userId")),
        "vehicle": vehicle,
        "meta": _parse_meta(obj),
        "raw": obj,
    }


def parse_event(body: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> WebhookEvent:
    """Parse a webhook body into `VerifyEvent`, `VehicleStateEvent`, `VehicleErrorEvent`
    or `UnknownEvent`.

    Accepts the raw body (bytes or text) or JSON already decoded. Tolerates every
    payload variant recorded for v3 (triggers under ``data`` or at the top level, string
    or object trigger signals, ``fetchedAt``/``retrievedAt``, epoch-ms or ISO
    ``deliveredAt``, missing ``vehicleId``, string or object error signals, the legacy v2
    VERIFY). Does not check the signature: call `verify_signature` first.

    Raises:
        WebhookPayloadError: the body is not JSON, not an object, or has no ``eventType``
            (or is a VERIFY without a challenge). An unknown ``eventType`` is not an
            error: it gives an `UnknownEvent`.

    Examples:
        >>> verify_signature(body, headers.get("sc-signature"), management_token)
        >>> event = parse_event(body)
        >>> if isinstance(event, VehicleStateEvent):
        ...     print(event.vehicle_id, [t.code for t in event.triggers])
    """
    obj = body if isinstance(body, Mapping) else decode_body(body)
    return event_from_json(obj)

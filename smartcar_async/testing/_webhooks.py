"""Webhook events the emulator sends: build, sign, deliver with the documented retries.

Shapes follow reference §6: the documented v4 payloads by default, or the shape seen in
production fixtures (``shape="observed"``: ``triggers`` at the top level as
``SIGNAL_UPDATED`` entries, ``retrievedAt`` instead of ``fetchedAt``, no top-level
``vehicleId``, error signals as ``"Group.Name"`` strings).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import attrs
import httpx

from ._app import ASGIApp
from ._signal_values import describe
from ._state import Vehicle, Webhook, iso

if TYPE_CHECKING:
    from ._core import EmulatorCore

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "Delivery",
    "DeliveryAttempt",
    "Target",
    "EmulatedEvent",
    "EventSubject",
    "WebhookShape",
    "challenge_response",
    "deliver",
    "sign",
    "vehicle_error_event",
    "vehicle_state_event",
    "verify_event",
]

WebhookShape = Literal["documented", "observed"]

#: Waits before the 2nd, 3rd and 4th attempt (reference §6.1).
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (25.0, 50.0, 100.0)
_TIMEOUT = 15.0  # a receiver must answer within 15 s (reference §6.1)


def sign(body: bytes, management_token: str) -> str:
    """``SC-Signature``: lowercase hex HMAC-SHA256 of the raw body, keyed by the AMT."""
    return hmac.new(management_token.encode(), body, hashlib.sha256).hexdigest()


def challenge_response(challenge: str, management_token: str) -> str:
    """What a receiver must answer to a VERIFY challenge: hex HMAC-SHA256 of it."""
    return sign(challenge.encode(), management_token)


@attrs.frozen
class EmulatedEvent:
    """One event the emulator made, ready to deliver (what a receiver parses it into is a
    `smartcar_async.webhooks.WebhookEvent`). Each delivery attempt renders it with a new
    ``meta.deliveryId`` and ``deliveredAt``; ``event_id`` stays the same.

    Attributes:
        event_id: the stable ``eventId`` receivers dedupe on.
        event_type: ``VERIFY``, ``VEHICLE_STATE`` or ``VEHICLE_ERROR``.
        webhook_id: the webhook it belongs to.
        vehicle_id: the vehicle it is about (None for VERIFY).
        shape: ``"documented"`` or ``"observed"``.
        challenge: the VERIFY challenge, if this is one.
        payload: the JSON without the per-attempt delivery fields.
    """

    event_id: str
    event_type: str
    webhook_id: str
    vehicle_id: str | None
    shape: WebhookShape
    payload: Mapping[str, Any] = attrs.field(repr=False)
    challenge: str | None = None

    def render(self, delivery_id: str, delivered_at: float) -> bytes:
        """The body of one delivery attempt (``delivered_at`` in Unix seconds)."""
        payload = copy.deepcopy(dict(self.payload))
        meta = payload.setdefault("meta", {})
        meta["deliveryId"] = delivery_id
        # The VERIFY example writes deliveredAt as ISO text, data events as epoch ms.
        if self.event_type == "VERIFY":
            meta["deliveredAt"] = iso(delivered_at)
        else:
            meta["deliveredAt"] = int(delivered_at * 1000)
            if self.shape == "observed":
                meta["deliveryTime"] = int(delivered_at * 1000)
        return json.dumps(payload, separators=(",", ":")).encode()


@attrs.frozen
class DeliveryAttempt:
    """One POST to the receiver.

    Attributes:
        delivery_id: ``meta.deliveryId`` of this attempt.
        body: the exact bytes sent (what ``signature`` signs).
        signature: the ``SC-Signature`` sent (every delivery is signed).
        status_code: the receiver's status, or None when the request failed.
        error: why the request failed, if it did.
        response_body: what the receiver answered.
    """

    delivery_id: str
    body: bytes = attrs.field(repr=False)
    signature: str | None
    status_code: int | None
    error: str | None = None
    response_body: bytes = attrs.field(default=b"", repr=False)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@attrs.frozen
class Delivery:
    """The outcome of delivering one event: every attempt, in order.

    Attributes:
        event: what was delivered.
        attempts: each attempt (up to four: the first plus three retries).
        delivered: whether an attempt got a 2xx.
        verified: for VERIFY, whether the answer held the right challenge hash.
    """

    event: EmulatedEvent
    attempts: tuple[DeliveryAttempt, ...]
    delivered: bool
    verified: bool | None = None


class Target:
    """Where deliveries go: a URL (sent with httpx) or an ASGI app (called in-process)."""

    def __init__(
        self, target: str | ASGIApp, client: httpx.AsyncClient | None, callback_uri: str | None
    ) -> None:
        if isinstance(target, str):
            self.url = target
            self._client = client
            self._app: ASGIApp | None = None
        else:
            # An app is called in-process (a client would send to a host that is not it),
            # at the webhook's own callback path: apps route it like any other path.
            self.url = callback_uri or "http://webhook.emulator.invalid/"
            self._client = None
            self._app = target

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        if self._client is not None:
            return await self._client.post(self.url, content=body, headers=headers)
        transport = httpx.ASGITransport(app=cast(Any, self._app)) if self._app is not None else None
        async with httpx.AsyncClient(transport=transport, timeout=_TIMEOUT) as client:
            response = await client.post(self.url, content=body, headers=headers)
            await response.aread()
            return response


# -- building events --------------------------------------------------------------------


def _descriptor(code: str) -> dict[str, str]:
    group, name = describe(code)
    return {"code": code, "name": name, "group": group}


def _dotted(code: str) -> str:
    group, name = describe(code)
    return f"{group}.{name}"


@attrs.frozen
class EventSubject:
    """What a vehicle event is about, and how it is written: the webhook, the vehicle,
    the user it is delivered for, the payload shape and the mode."""

    webhook: Webhook
    vehicle: Vehicle
    user_id: str
    shape: WebhookShape
    mode: str

    def payload(self, core: EmulatorCore, event_type: str) -> dict[str, Any]:
        """The payload's common part: ids, user and vehicle."""
        vehicle = self.vehicle
        payload: dict[str, Any] = {"eventId": core.ids.uuid(), "eventType": event_type}
        if self.shape == "documented":
            payload["vehicleId"] = vehicle.id
        payload["data"] = {
            "user": {"id": self.user_id},
            "vehicle": {
                "id": vehicle.id,
                "make": vehicle.make,
                "model": vehicle.model,
                "year": vehicle.year,
            },
        }
        return payload

    def event(self, payload: dict[str, Any], **meta: Any) -> EmulatedEvent:
        """The finished event: ``payload`` gets its ``meta`` block, ``meta`` adding fields."""
        webhook = self.webhook
        payload["meta"] = {
            "version": "4.0",
            "webhookId": webhook.id,
            "webhookName": webhook.name,
            **meta,
            "mode": self.mode,
        }
        return EmulatedEvent(
            payload["eventId"],
            payload["eventType"],
            webhook.id,
            self.vehicle.id,
            self.shape,
            payload,
        )


def vehicle_state_event(
    core: EmulatorCore, subject: EventSubject, triggers: Sequence[str]
) -> EmulatedEvent:
    """A VEHICLE_STATE event carrying every signal the webhook subscribes to."""
    shape = subject.shape
    payload = subject.payload(core, "VEHICLE_STATE")
    signals = core.state.signals(subject.vehicle)
    codes = subject.webhook.data or tuple(signals)
    entries = []
    for code in codes:
        entry: dict[str, Any] = _descriptor(code)
        signal = signals.get(code)
        if signal is None or signal.status != "SUCCESS":
            error = (
                signal.error
                if signal is not None and signal.error is not None
                else {"type": "COMPATIBILITY", "code": "VEHICLE_NOT_CAPABLE"}
            )
            entry["status"] = {"value": "ERROR", "error": error}
        else:
            entry["body"] = signal.body
            if shape == "observed":
                entry["status"] = {"value": "SUCCESS"}
                entry["meta"] = {
                    "oemUpdatedAt": signal.oem_updated_at,
                    "retrievedAt": signal.retrieved_at,
                }
            else:
                entry["meta"] = {
                    "oemUpdatedAt": signal.oem_updated_at,
                    "fetchedAt": signal.retrieved_at,
                }
        entries.append(entry)
    if shape == "observed":
        payload["triggers"] = [
            {"type": "FIRST_DELIVERY"}
            if code == "FIRST_DELIVERY"
            else {"type": "SIGNAL_UPDATED", "signal": _dotted(code)}
            for code in triggers
        ]
    else:
        payload["data"]["triggers"] = [
            {"code": code} if code == "FIRST_DELIVERY" else _descriptor(code) for code in triggers
        ]
    payload["data"]["signals"] = entries
    return subject.event(payload, signalCount=len(entries))


def vehicle_error_event(
    core: EmulatorCore,
    subject: EventSubject,
    *,
    error_type: str,
    error_code: str | None,
    state: str,
    signals: Sequence[str],
) -> EmulatedEvent:
    """A VEHICLE_ERROR event (``state`` ``ERROR``, or ``RESOLVED`` when it clears)."""
    payload = subject.payload(core, "VEHICLE_ERROR")
    title = (error_code or error_type).replace("_", " ").lower()
    payload["data"]["errors"] = [
        {
            "type": error_type,
            "code": error_code,
            "state": state,
            "description": f"The vehicle reported: {title}.",
            "suggestedUserMessage": "Please check your vehicle and try again.",
            "docURL": "https://smartcar.com/docs/errors/api-errors/v3/"
            + error_type.lower().replace("_", "-")
            + "-errors",
            "resolution": {"type": "RETRY_LATER" if error_type == "VEHICLE_STATE" else None},
            "signals": [
                _dotted(code) if subject.shape == "observed" else _descriptor(code)
                for code in signals
            ],
        }
    ]
    return subject.event(payload)


def verify_event(core: EmulatorCore, webhook: Webhook, challenge: str) -> EmulatedEvent:
    """The one-time VERIFY challenge (always the v4 documented shape)."""
    event_id = core.ids.uuid()
    payload = {
        "eventId": event_id,
        "eventType": "VERIFY",
        "data": {"challenge": challenge},
        "meta": {"version": "4.0", "webhookId": webhook.id, "webhookName": webhook.name},
    }
    return EmulatedEvent(
        event_id, "VERIFY", webhook.id, None, "documented", payload, challenge=challenge
    )


# -- delivering ---------------------------------------------------------------------------


async def deliver(
    core: EmulatorCore,
    management_token: str,
    event: EmulatedEvent,
    target: Target,
    *,
    retry_delays: Sequence[float],
    retry_scale: float,
) -> Delivery:
    """POST the event until a 2xx or the retries run out, waiting on the emulator's clock.

    Every delivery is signed, VERIFY included: Smartcar's delivery docs list
    ``SC-Signature`` as sent with every delivery. VERIFY is sent once.
    """
    verify = event.event_type == "VERIFY"
    delays = () if verify else tuple(retry_delays)
    attempts: list[DeliveryAttempt] = []
    for attempt_number in range(len(delays) + 1):
        if attempt_number:
            await core.clock.sleep(delays[attempt_number - 1] * retry_scale)
        delivery_id = core.ids.uuid()
        body = event.render(delivery_id, core.wall())
        headers = {"content-type": "application/json", "user-agent": "Smartcar/4.0 (emulator)"}
        signature = sign(body, management_token)
        headers["sc-signature"] = signature
        core.stats.webhook_attempts[event.event_type] += 1
        try:
            response = await target.post(body, headers)
        except httpx.HTTPError as error:
            attempts.append(
                DeliveryAttempt(
                    delivery_id, body, signature, None, f"{type(error).__name__}: {error}"
                )
            )
            continue
        attempt = DeliveryAttempt(
            delivery_id, body, signature, response.status_code, None, response.content
        )
        attempts.append(attempt)
        if attempt.ok:
            break
    delivered = bool(attempts) and attempts[-1].ok
    verified = None
    if verify:
        verified = delivered and _answers_challenge(attempts[-1], event, management_token)
    return Delivery(event, tuple(attempts), delivered, verified)


def _answers_challenge(attempt: DeliveryAttempt, event: EmulatedEvent, token: str) -> bool:
    assert event.challenge is not None
    try:
        answer = json.loads(attempt.response_body)
    except ValueError:
        return False
    expected = challenge_response(event.challenge, token)
    return isinstance(answer, dict) and hmac.compare_digest(
        str(answer.get("challenge", "")), expected
    )

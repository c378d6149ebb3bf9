"""The webhook side of `SmartcarEmulator`: webhooks, subscriptions, events, deliveries.

`WebhookControls` is a base class of `SmartcarEmulator`, kept in its own module so the
emulator's face stays readable; users only ever see `SmartcarEmulator`. What it uses
of the emulator is declared below.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import httpx

from . import _app, _webhooks
from ._state import Webhook
from ._webhooks import DEFAULT_RETRY_DELAYS, Delivery, EmulatedEvent, Target, WebhookShape

if TYPE_CHECKING:
    from ._core import EmulatorCore
    from ._state import Vehicle

__all__ = ["WebhookControls"]


class WebhookControls:
    """Webhook methods of `SmartcarEmulator` (its base class)."""

    # Provided by SmartcarEmulator.
    _core: EmulatorCore
    _management_token: str
    webhook_shape: WebhookShape

    if TYPE_CHECKING:

        def _vehicle(self, vehicle_id: str) -> Vehicle: ...

    def add_webhook(
        self,
        name: str = "Emulator webhook",
        callback_uri: str = "https://example.invalid/webhooks/smartcar",
        *,
        triggers: Sequence[str] = ("tractionbattery-stateofcharge",),
        data: Sequence[str] = (),
        error_callback_uri: str | None = None,
        auto_subscribe: bool = False,
        is_enabled: bool = True,
        webhook_id: str | None = None,
    ) -> str:
        """Add a webhook; ``auto_subscribe`` subscribes every connected vehicle. Returns its id.

        ``data`` lists the signal codes each VEHICLE_STATE event carries (empty: all).
        """
        core = self._core
        webhook = Webhook(
            webhook_id or core.ids.uuid(),
            name,
            callback_uri,
            tuple(triggers),
            tuple(data),
            core.wall(),
            is_enabled=is_enabled,
            error_callback_uri=error_callback_uri,
            auto_subscribe=auto_subscribe,
        )
        core.state.add_webhook(webhook)
        if auto_subscribe:
            for connection in list(core.state.connections.values()):
                if (webhook.id, connection.vehicle_id) not in core.state.subscription_index:
                    core.subscribe(webhook.id, connection.vehicle_id, connection.user_id)
        return webhook.id

    def remove_webhook(self, webhook_id: str) -> None:
        """Remove a webhook and every subscription to it."""
        state = self._core.state
        self._webhook(webhook_id)
        for subscription in list(state.subscriptions.values()):
            if subscription.webhook_id == webhook_id:
                state.remove_subscription(subscription.id)
        del state.webhooks[webhook_id]

    def subscribe(self, webhook_id: str, vehicle_id: str, user_id: str | None = None) -> str:
        """Subscribe a connected vehicle to a webhook; returns the subscription id."""
        core = self._core
        self._webhook(webhook_id)
        user_id = user_id or core.state.connected_user(vehicle_id)
        if user_id is None or (vehicle_id, user_id) not in core.state.pair_index:
            raise KeyError(f"vehicle {vehicle_id!r} is not connected to that user")
        return core.subscribe(webhook_id, vehicle_id, user_id).id

    def _webhook(self, webhook_id: str | None, vehicle_id: str | None = None) -> Webhook:
        state = self._core.state
        if webhook_id is None and vehicle_id is not None:
            for subscription in state.subscriptions_of(vehicle_id):
                webhook_id = subscription.webhook_id
                break
        if webhook_id is None:
            raise KeyError(f"vehicle {vehicle_id!r} is subscribed to no webhook; pass webhook_id")
        webhook = state.webhooks.get(webhook_id)
        if webhook is None:
            raise KeyError(f"no webhook {webhook_id!r}")
        return webhook

    def _subject(
        self, vehicle_id: str, webhook_id: str | None, shape: WebhookShape | None, mode: str
    ) -> _webhooks.EventSubject:
        """What an event about ``vehicle_id`` is about (webhook: the first subscribed)."""
        webhook = self._webhook(webhook_id, vehicle_id)
        return _webhooks.EventSubject(
            webhook,
            self._vehicle(vehicle_id),
            self._event_user(webhook, vehicle_id),
            shape or self.webhook_shape,
            mode,
        )

    def _event_user(self, webhook: Webhook, vehicle_id: str) -> str:
        state = self._core.state
        subscription_id = state.subscription_index.get((webhook.id, vehicle_id))
        if subscription_id is not None:
            return state.subscriptions[subscription_id].user_id
        user_id = state.connected_user(vehicle_id)
        if user_id is None:
            raise KeyError(f"vehicle {vehicle_id!r} has no connected user")
        return user_id

    def vehicle_state_event(
        self,
        vehicle_id: str,
        *,
        webhook_id: str | None = None,
        triggers: Sequence[str] = ("FIRST_DELIVERY",),
        shape: WebhookShape | None = None,
        mode: Literal["LIVE", "TEST"] = "LIVE",
    ) -> EmulatedEvent:
        """Build a VEHICLE_STATE event from the vehicle's current signals.

        Args:
            vehicle_id: the vehicle it reports.
            webhook_id: the webhook (default: the first one the vehicle is subscribed to).
            triggers: signal codes that changed, or ``"FIRST_DELIVERY"``.
            shape: ``"documented"`` or ``"observed"`` (default: the emulator's).
            mode: ``LIVE``, or ``TEST`` like a dashboard test delivery.
        """
        subject = self._subject(vehicle_id, webhook_id, shape, mode)
        return _webhooks.vehicle_state_event(self._core, subject, triggers)

    def vehicle_error_event(
        self,
        vehicle_id: str,
        *,
        webhook_id: str | None = None,
        error_type: str = "VEHICLE_STATE",
        error_code: str | None = "UNREACHABLE",
        state: Literal["ERROR", "RESOLVED"] = "ERROR",
        signals: Sequence[str] = (),
        shape: WebhookShape | None = None,
        mode: Literal["LIVE", "TEST"] = "LIVE",
    ) -> EmulatedEvent:
        """Build a VEHICLE_ERROR event (``state="RESOLVED"`` when the condition clears)."""
        return _webhooks.vehicle_error_event(
            self._core,
            self._subject(vehicle_id, webhook_id, shape, mode),
            error_type=error_type,
            error_code=error_code,
            state=state,
            signals=signals,
        )

    def verify_event(self, webhook_id: str, challenge: str | None = None) -> EmulatedEvent:
        """Build the VERIFY challenge event for a webhook."""
        return _webhooks.verify_event(
            self._core, self._webhook(webhook_id), challenge or secrets.token_hex(16)
        )

    def sign(self, body: bytes) -> str:
        """The ``SC-Signature`` of a body: hex HMAC-SHA256 keyed by the management token."""
        return _webhooks.sign(body, self._management_token)

    async def deliver(
        self,
        event: EmulatedEvent,
        target: str | _app.ASGIApp | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        retry_scale: float = 1.0,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> Delivery:
        """Deliver an event with the documented retries, sleeping on the emulator's clock.

        Args:
            event: from `vehicle_state_event`, `vehicle_error_event` or `verify_event`.
            target: a URL, or an ASGI app (called in-process at the path and query of
                the webhook's callback URI); default: the webhook's ``callbackUri``
                (``errorCallbackUri`` for VEHICLE_ERROR, when set).
            client: the httpx client to send to a URL with (default: a new one per
                attempt); not used for an ASGI app.
            retry_scale: multiplies the 25/50/100 s waits (e.g. 0.01 against a real clock).
            retry_delays: the waits themselves.

        Examples:
            >>> delivery = await emulator.deliver(emulator.vehicle_state_event(vid), my_app)
            >>> delivery.delivered, len(delivery.attempts)
            (True, 1)
        """
        callback_uri = None
        webhook = self._core.state.webhooks.get(event.webhook_id)
        if webhook is not None:
            callback_uri = webhook.callback_uri
            if event.event_type == "VEHICLE_ERROR" and webhook.error_callback_uri:
                callback_uri = webhook.error_callback_uri
        if target is None:
            if callback_uri is None:
                raise KeyError(f"no webhook {event.webhook_id!r}")
            target = callback_uri
        return await _webhooks.deliver(
            self._core,
            self._management_token,
            event,
            Target(target, client, callback_uri),
            retry_delays=retry_delays,
            retry_scale=retry_scale,
        )

"""Receive Smartcar webhooks: a Starlette route, or a bare ASGI app.

Run it (the Application Management Token is in the Smartcar Dashboard):

    export SMARTCAR_MANAGEMENT_TOKEN=...
    uvicorn --factory webhook_app:create_starlette_app    # POST /webhooks/smartcar
    uvicorn --factory webhook_app:create_asgi_app         # POST to any path

The tests import this file and drive both apps through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from smartcar_async.webhooks import (
    ASGIApp,
    DataEvent,
    VehicleError,
    VehicleErrorEvent,
    VehicleStateEvent,
    WebhookReceiver,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger("webhook_app")


class EventStore:
    """What the app keeps from the events (a database or a queue in a real app)."""

    def __init__(self) -> None:
        self.deliveries = 0
        self.state_of_charge: dict[str, float] = {}
        self.open_errors: dict[str, list[VehicleError]] = {}

    async def on_event(self, event: DataEvent) -> None:
        """Called once per event: retries of a handled event never get here."""
        if event.is_test:  # "Send test event" in the Dashboard: acknowledge, ignore
            return
        self.deliveries += 1
        vehicle_id = event.vehicle_id or "unknown"
        if isinstance(event, VehicleStateEvent):
            # Every VEHICLE_STATE carries all subscribed signals, not just the trigger.
            soc = event.signals.value("tractionbattery-stateofcharge")
            if isinstance(soc, (int, float)):
                self.state_of_charge[vehicle_id] = soc
        elif isinstance(event, VehicleErrorEvent):
            errors = self.open_errors.setdefault(vehicle_id, [])
            for error in event.errors:
                errors[:] = [e for e in errors if (e.type, e.code) != (error.type, error.code)]
                if not error.is_resolved:
                    errors.append(error)
        else:  # an event type newer than this SDK: keep it for later
            log.info("unhandled Smartcar event %s", event.event_type)


def _token(management_token: str | None) -> str:
    return management_token or os.environ["SMARTCAR_MANAGEMENT_TOKEN"]


def create_asgi_app(
    management_token: str | None = None, *, store: EventStore | None = None
) -> ASGIApp:
    """A plain ASGI app: serve it alone, or mount it in any ASGI framework."""
    store = store or EventStore()
    return WebhookReceiver(_token(management_token), store.on_event).asgi_app()


def create_starlette_app(
    management_token: str | None = None, *, store: EventStore | None = None
) -> Starlette:
    """A Starlette app with the webhook as an ordinary route (FastAPI is the same)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    store = store or EventStore()
    receiver = WebhookReceiver(_token(management_token), store.on_event)

    async def smartcar_webhook(request: Request) -> Response:
        # The raw bytes, not request.json(): the signature covers the exact body.
        result = await receiver.handle(await request.body(), request.headers)
        return Response(
            result.json_bytes(), status_code=result.status, media_type=result.content_type
        )

    app = Starlette(routes=[Route("/webhooks/smartcar", smartcar_webhook, methods=["POST"])])
    app.state.store = store
    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_starlette_app(), host="127.0.0.1", port=8000)

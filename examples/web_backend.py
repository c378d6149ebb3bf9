"""A web backend on Smartcar: one client per process, signals as JSON, webhooks, errors.

A Starlette app (FastAPI is the same with its own decorators) that

- opens one `SmartcarClient` in the app's lifespan and shares it with every request;
- answers ``GET /vehicles/{vehicle_id}/signals?user_id=...`` with ``signals.to_dict()``;
- answers ``POST /vehicles/{vehicle_id}/lock?user_id=...`` with the command's result;
- receives Smartcar webhooks at ``POST /webhooks/smartcar`` and keeps the latest state
  of charge per vehicle;
- maps the SDK's errors to HTTP answers: 503 when Smartcar cannot be reached (the API or
  its token endpoint), 409 for a vehicle that cannot act now, 429 with ``Retry-After``,
  404 for an unknown vehicle or user, 502 for any other answer of the API.

Run it against your application (credentials from the Smartcar Dashboard):

    export SMARTCAR_CLIENT_ID=client_... SMARTCAR_CLIENT_SECRET=...
    export SMARTCAR_MANAGEMENT_TOKEN=...
    uvicorn --factory web_backend:create_app

or against the emulator: ``smartcar-async emulator serve`` prints the variables to export.
The tests in ``test_web_backend_app.py`` drive it in-process with the pytest fixtures.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import smartcar_async as sc
from smartcar_async.webhooks import DataEvent, VehicleStateEvent, WebhookReceiver


class BatteryLog:
    """What the app keeps from webhooks (a database in a real app)."""

    def __init__(self) -> None:
        self.state_of_charge: dict[str, float] = {}

    async def on_event(self, event: DataEvent) -> None:
        """Called once per event id: Smartcar's retries of a handled event never get here."""
        if isinstance(event, VehicleStateEvent) and event.vehicle_id and not event.is_test:
            soc = event.signals.value("tractionbattery-stateofcharge")
            if isinstance(soc, (int, float)):
                self.state_of_charge[event.vehicle_id] = float(soc)


def _client(request: Request) -> sc.SmartcarClient:
    client: sc.SmartcarClient = request.app.state.smartcar
    return client


def _user_id(request: Request) -> str:
    return request.query_params.get("user_id", "")


async def vehicle_signals(request: Request) -> Response:
    """Every signal of the vehicle, as the SDK parsed it, as JSON."""
    signals = await _client(request).vehicles.signals(
        request.path_params["vehicle_id"], user_id=_user_id(request)
    )
    return JSONResponse(signals.to_dict())


async def lock_vehicle(request: Request) -> Response:
    """Lock the doors; the answer is the command's execution record."""
    execution = await _client(request).commands.lock(
        request.path_params["vehicle_id"], user_id=_user_id(request)
    )
    return JSONResponse(execution.to_dict())


async def battery_log(request: Request) -> Response:
    """The state of charge the webhooks reported, per vehicle."""
    log: BatteryLog = request.app.state.battery_log
    return JSONResponse(log.state_of_charge)


def _error(status: int, exc: sc.SmartcarError, **headers: str) -> Response:
    body = {"error": type(exc).__name__, "detail": str(exc)}
    return JSONResponse(body, status_code=status, headers=headers)


async def smartcar_error(request: Request, exc: Exception) -> Response:
    """One place that turns the SDK's error tree into HTTP answers."""
    if isinstance(exc, sc.APIConnectionError):  # the API or the token endpoint is down
        return _error(503, exc)
    if isinstance(exc, sc.VehicleStateError):  # asleep, unreachable, a door open...
        return _error(409, exc)
    if isinstance(exc, sc.RateLimitError):
        retry_after = f"{exc.retry_after:.0f}" if exc.retry_after is not None else "60"
        return _error(429, exc, **{"Retry-After": retry_after})
    if isinstance(exc, sc.NotFoundError):
        return _error(404, exc)
    if isinstance(exc, sc.APIStatusError):
        return _error(502, exc)
    if isinstance(exc, ValueError):  # a malformed id or user id, caught before sending
        return JSONResponse({"error": "bad request", "detail": str(exc)}, status_code=400)
    raise exc  # TokenError (credentials refused) and the rest: a bug of ours, a 500


def create_app(
    client_factory: Callable[[], sc.SmartcarClient] = sc.SmartcarClient,
    *,
    management_token: str | None = None,
) -> Starlette:
    """The app; ``client_factory`` makes the one client (tests pass the fixture's)."""
    battery = BatteryLog()
    token = management_token or os.environ["SMARTCAR_MANAGEMENT_TOKEN"]
    receiver = WebhookReceiver(token, battery.on_event)

    async def smartcar_webhook(request: Request) -> Response:
        # The raw bytes, not request.json(): the signature covers the exact body.
        result = await receiver.handle(await request.body(), request.headers)
        return Response(
            result.json_bytes(), status_code=result.status, media_type=result.content_type
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with client_factory() as client:  # one client, one token, one pool
            app.state.smartcar = client
            yield

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/vehicles/{vehicle_id}/signals", vehicle_signals),
            Route("/vehicles/{vehicle_id}/lock", lock_vehicle, methods=["POST"]),
            Route("/battery", battery_log),
            Route("/webhooks/smartcar", smartcar_webhook, methods=["POST"]),
        ],
        exception_handlers={sc.SmartcarError: smartcar_error, ValueError: smartcar_error},
    )
    app.state.battery_log = battery
    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)

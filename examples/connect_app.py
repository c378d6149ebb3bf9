"""Onboard vehicle owners with Smartcar Connect: a Starlette backend.

``GET /connect`` sends the owner to Connect with a fresh ``state`` kept in a signed
session cookie; ``GET /callback`` checks that state, stores the new ``user_id`` and
reads the signals of the vehicles the owner just connected.

Run it against Smartcar (the ids are in the Smartcar Dashboard):

    export SMARTCAR_CLIENT_ID=client_... SMARTCAR_CLIENT_SECRET=...  # API credentials
    export SMARTCAR_APPLICATION_ID=...           # the application id (a UUID)
    export SMARTCAR_REDIRECT_URI=http://localhost:8000/callback   # registered
    export SESSION_SECRET=$(python -c 'import secrets; print(secrets.token_hex(32))')
    uvicorn --factory connect_app:create_app     # then open http://localhost:8000/connect

or against the emulator: ``smartcar-async emulator serve`` prints every variable but
``SESSION_SECRET``. The tests import this file and drive it through
``httpx.ASGITransport`` with the emulator playing Connect.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

import smartcar_async as sc

SCOPE = ["read_vehicle_info", "read_battery", "read_odometer", "required:read_location"]
_STATE_KEY = "smartcar_connect_state"

# What to tell the owner for each Connect error (the code is for logs, not for people).
OWNER_MESSAGES = {
    "access_denied": "You chose not to share your vehicle. You can connect it any time.",
    "vehicle_incompatible": "This vehicle cannot be connected yet.",
    "no_vehicles": "Your car-maker account has no vehicles. Add yours in the maker's app.",
    "invalid_subscription": "Your car-maker's connected services subscription is inactive. "
    "Renew it in the maker's app, then connect again.",
    "user_manually_returned_to_application": "Connecting was not finished. Try again?",
}
_FALLBACK_MESSAGE = "Something went wrong while connecting your vehicle. Please try again."


class OwnerStore:
    """Where the app keeps Smartcar user ids (a database table in a real app)."""

    def __init__(self) -> None:
        self.vehicles_by_user: dict[str, list[str]] = {}

    def save(self, user_id: str, vehicle_ids: list[str]) -> None:
        known = self.vehicles_by_user.setdefault(user_id, [])
        known.extend(v for v in vehicle_ids if v not in known)


def _settings(overrides: Mapping[str, str] | None) -> sc.connect.ConnectSettings:
    """Connect settings: arguments first, then the environment."""
    given = dict(overrides or {})
    settings: sc.connect.ConnectSettings = {
        "client_id": given.get("client_id") or os.environ.get("SMARTCAR_APPLICATION_ID", ""),
        "redirect_uri": given.get("redirect_uri") or os.environ.get("SMARTCAR_REDIRECT_URI", ""),
        "connect_url": given.get("connect_url")
        or os.environ.get("SMARTCAR_CONNECT_URL", sc.connect.CONNECT_URL),
    }
    missing = [name for name, value in settings.items() if not value]
    if missing:
        raise sc.ConfigurationError(
            "set SMARTCAR_APPLICATION_ID and SMARTCAR_REDIRECT_URI (missing: "
            + ", ".join(missing)
            + ")"
        )
    return settings


def create_app(
    *,
    connect: Mapping[str, str] | None = None,
    client_kwargs: Mapping[str, Any] | None = None,
    session_secret: str | None = None,
    https_only: bool = False,
) -> Starlette:
    """The app. Arguments override the environment (the tests pass the emulator's).

    Args:
        connect: ``client_id`` (the application id), ``redirect_uri``, ``connect_url``.
        client_kwargs: keyword arguments for `smartcar_async.SmartcarClient`.
        session_secret: the key that signs the session cookie.
        https_only: mark the session cookie Secure (do, behind HTTPS).
    """
    settings = _settings(connect)
    secret = session_secret or os.environ.get("SESSION_SECRET")
    if not secret:
        raise sc.ConfigurationError("set SESSION_SECRET: it signs the session cookie")
    owners = OwnerStore()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # One client for the whole process, opened and closed with the app.
        async with sc.SmartcarClient(**dict(client_kwargs or {})) as client:
            app.state.smartcar = client
            yield

    async def start(request: Request) -> Response:
        state = sc.connect.new_state()
        request.session[_STATE_KEY] = state
        url = sc.connect.authorization_url(**settings, scope=SCOPE, state=state)
        return RedirectResponse(url, status_code=302)

    async def callback(request: Request) -> Response:
        # One use per state: a replayed redirect finds no state (None) and fails, as does
        # one whose session expired.
        expected = request.session.pop(_STATE_KEY, None)
        try:
            result = sc.connect.parse_redirect(str(request.url), expected_state=expected)
        except sc.ConnectStateError:
            return JSONResponse({"error": "this link did not come from here"}, status_code=400)
        except sc.ConnectError as error:
            message = OWNER_MESSAGES.get(error.code or "", _FALLBACK_MESSAGE)
            return JSONResponse({"error": error.code, "message": message}, status_code=400)
        if result.user_id is None:  # a re-authentication answer: nothing new to store
            return JSONResponse({"vehicle_id": result.vehicle_id})
        vehicles = await _read_vehicles(request.app.state.smartcar, result.user_id)
        owners.save(result.user_id, [v["vehicle_id"] for v in vehicles])
        return JSONResponse({"user_id": result.user_id, "vehicles": vehicles})

    app = Starlette(
        routes=[Route("/connect", start), Route("/callback", callback)],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                same_site="lax",  # sent on the top-level redirect back from Connect
                https_only=https_only,
                max_age=15 * 60,  # a Connect flow takes minutes, not days
            )
        ],
        lifespan=lifespan,
    )
    app.state.owners = owners
    return app


async def _read_vehicles(client: sc.SmartcarClient, user_id: str) -> list[dict[str, Any]]:
    """Each of the user's vehicles with a few signals, read concurrently."""
    connections = [c async for c in client.connections.list(user_id=user_id, mode=None)]

    async def read(connection: sc.Connection) -> dict[str, Any]:
        signals = await client.vehicles.signals(connection.vehicle_id, user_id=user_id)
        return {
            "vehicle_id": connection.vehicle_id,
            "make": connection.vehicle.make,
            "model": connection.vehicle.model,
            "state_of_charge": signals.value("tractionbattery-stateofcharge"),
            "odometer": signals.value("odometer-traveleddistance"),
        }

    vehicles = []
    async with client.fan_out(connections, read, concurrency=10) as outcomes:
        async for outcome in outcomes:
            if outcome.value is not None:
                vehicles.append(outcome.value)
            else:  # one vehicle that cannot be read must not fail the onboarding
                vehicles.append({"vehicle_id": outcome.target.vehicle_id, "error": True})
    return sorted(vehicles, key=lambda v: str(v["vehicle_id"]))

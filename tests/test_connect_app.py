"""examples/connect_app.py: onboarding end to end, the emulator playing Connect.

The browser is an httpx client that follows redirects: the app on ``http://testserver``
through `httpx.ASGITransport`, Connect on the emulator's in-process transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from _helpers import load_example

import smartcar_async as sc
from smartcar_async.testing import CONNECT_URL, SmartcarEmulator

pytestmark = pytest.mark.anyio

APP = "http://testserver"


connect_app = load_example("connect_app.py")


@pytest.fixture
def emulator() -> SmartcarEmulator:
    return SmartcarEmulator(vehicles=5, seed=3, redirect_uris=[f"{APP}/callback"])


@asynccontextmanager
async def browser(emulator: SmartcarEmulator) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The app (with its lifespan running) and a browser that reaches it and Connect."""
    app = connect_app.create_app(
        connect=emulator.connect_kwargs(),
        client_kwargs=emulator.client_kwargs(),
        session_secret="test-session-secret",
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            mounts={CONNECT_URL: emulator.transport()},
            base_url=APP,
            follow_redirects=True,
        ) as client,
    ):
        yield client, app


async def test_onboarding_stores_the_user_and_reads_the_new_vehicles(
    emulator: SmartcarEmulator,
) -> None:
    emulator.queue_consent(vehicles=2, make="Tesla")
    with anyio.fail_after(20):
        async with browser(emulator) as (client, app):
            response = await client.get("/connect")
    assert response.status_code == 200, response.text
    # /connect -> Connect (the emulator) -> /callback
    hops = [str(r.url).split("?")[0] for r in response.history]
    assert hops == [f"{APP}/connect", f"{CONNECT_URL}/oauth/authorize"]
    body = response.json()
    (record,) = emulator.consents
    assert body["user_id"] == record.user_id
    assert [v["vehicle_id"] for v in body["vehicles"]] == sorted(record.vehicle_ids)
    for vehicle in body["vehicles"]:
        assert vehicle["make"] == "Tesla"
        assert 0 <= vehicle["state_of_charge"] <= 100
    assert app.state.owners.vehicles_by_user == {record.user_id: sorted(record.vehicle_ids)}
    # The Connect URL carried a fresh state and the example's scope.
    connect_url = str(response.history[1].url)
    query = dict(httpx.URL(connect_url).params)
    assert query["client_id"] == emulator.application_id
    assert query["scope"] == " ".join(connect_app.SCOPE)
    assert len(query["state"]) == 43
    assert record.state == query["state"]


async def test_a_denied_consent_tells_the_owner(emulator: SmartcarEmulator) -> None:
    emulator.queue_consent("access_denied")
    with anyio.fail_after(20):
        async with browser(emulator) as (client, app):
            response = await client.get("/connect")
    assert response.status_code == 400
    assert response.json() == {
        "error": "access_denied",
        "message": connect_app.OWNER_MESSAGES["access_denied"],
    }
    assert app.state.owners.vehicles_by_user == {}


async def test_forged_and_replayed_callbacks_are_refused(emulator: SmartcarEmulator) -> None:
    with anyio.fail_after(20):
        async with browser(emulator) as (client, app):
            # No flow started in this session (or it expired): parse_redirect refuses it.
            forged = await client.get("/callback", params={"user_id": "u", "state": "x"})
            assert (forged.status_code, forged.json()["error"]) == (
                400,
                "this link did not come from here",
            )
            # A flow started, but the state is not this session's.
            start = await client.get("/connect", follow_redirects=False)
            assert start.status_code == 302
            wrong = await client.get("/callback", params={"user_id": "u", "state": "x"})
            assert (wrong.status_code, wrong.json()["error"]) == (
                400,
                "this link did not come from here",
            )
            # A real flow, then the same redirect again: the state was used up.
            done = await client.get("/connect")
            assert done.status_code == 200
            replay = await client.get(str(done.url))
            assert replay.status_code == 400
    assert len(app.state.owners.vehicles_by_user) == 1


def test_missing_settings_are_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMARTCAR_APPLICATION_ID", "SMARTCAR_REDIRECT_URI", "SESSION_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(sc.ConfigurationError, match="SMARTCAR_APPLICATION_ID"):
        connect_app.create_app(session_secret="s")
    with pytest.raises(sc.ConfigurationError, match="SESSION_SECRET"):
        connect_app.create_app(
            connect={"client_id": "a", "redirect_uri": "http://localhost/cb"},
        )


async def test_configured_only_by_the_environment_emulator_serve_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As a user runs it: every setting from the variables `emulator serve` exports.
    from smartcar_async.cli._serve import emulator_environment

    emulator = SmartcarEmulator(vehicles=2, seed=5)
    with anyio.fail_after(30):
        async with emulator.serve() as base_url:
            for name, value in emulator_environment(emulator, base_url).items():
                monkeypatch.setenv(name, value)
            monkeypatch.setenv("SESSION_SECRET", "from-the-environment")
            app = connect_app.create_app()
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    # The app answers at its registered redirect URI's origin; Connect
                    # is the served emulator, reached over loopback.
                    transport=httpx.ASGITransport(app=app),
                    mounts={base_url: httpx.AsyncHTTPTransport()},
                    base_url="http://localhost:8000",
                    follow_redirects=True,
                ) as client,
            ):
                response = await client.get("/connect")
    assert response.status_code == 200, response.text
    (record,) = emulator.consents
    assert response.json()["user_id"] == record.user_id
    assert str(response.history[1].url).startswith(f"{base_url}/oauth/authorize?")

"""Tests of ``web_backend.py`` under pytest-asyncio, with the SDK's pytest fixtures.

``smartcar_client`` talks to ``smartcar_emulator`` in-process: no sockets, no account.
Run them with ``pytest examples``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from web_backend import create_app

import smartcar_async as sc
from smartcar_async.testing import Fault, FleetEntry, SmartcarEmulator


@pytest.fixture
def app(smartcar_client: sc.SmartcarClient, smartcar_emulator: SmartcarEmulator) -> Starlette:
    """The app on the fixture's client (its lifespan closes it)."""
    return create_app(lambda: smartcar_client, management_token=smartcar_emulator.management_token)


@pytest_asyncio.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app, its lifespan running, behind an httpx client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client


@pytest.fixture
def car(smartcar_emulator: SmartcarEmulator) -> FleetEntry:
    return smartcar_emulator.add_vehicle("Tesla", "Model 3", 2024, "BEV")


@pytest.mark.asyncio
async def test_signals_come_back_as_json(
    http: httpx.AsyncClient, smartcar_emulator: SmartcarEmulator, car: FleetEntry
) -> None:
    smartcar_emulator.set_signal(
        car.vehicle_id, "tractionbattery-stateofcharge", {"unit": "percent", "value": 64}
    )
    response = await http.get(f"/vehicles/{car.vehicle_id}/signals?user_id={car.user_id}")
    assert response.status_code == 200
    soc = response.json()["tractionbattery-stateofcharge"]
    assert soc["body"] == {"unit": "percent", "value": 64}
    assert soc["retrieved_at"].endswith("+00:00")  # ISO-8601 text


@pytest.mark.asyncio
async def test_lock_answers_the_execution(
    http: httpx.AsyncClient, smartcar_emulator: SmartcarEmulator, car: FleetEntry
) -> None:
    response = await http.post(f"/vehicles/{car.vehicle_id}/lock?user_id={car.user_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "SUCCESS"
    assert smartcar_emulator.signal(car.vehicle_id, "closure-islocked") == {"value": True}


@pytest.mark.asyncio
async def test_errors_map_to_http_answers(
    http: httpx.AsyncClient, smartcar_emulator: SmartcarEmulator, car: FleetEntry
) -> None:
    smartcar_emulator.set_asleep(car.vehicle_id)
    asleep = await http.post(f"/vehicles/{car.vehicle_id}/lock?user_id={car.user_id}")
    assert (asleep.status_code, asleep.json()["error"]) == (409, "VehicleStateError")

    unknown = await http.get(f"/vehicles/{car.vehicle_id}/signals?user_id=someone-else")
    assert unknown.status_code == 404

    no_user = await http.get(f"/vehicles/{car.vehicle_id}/signals")
    assert no_user.status_code == 400


@pytest.mark.asyncio
async def test_an_unreachable_token_endpoint_is_a_503(
    http: httpx.AsyncClient, smartcar_emulator: SmartcarEmulator, car: FleetEntry
) -> None:
    smartcar_emulator.faults.add(Fault.drop(), route="POST /oauth2/token")
    response = await http.get(f"/vehicles/{car.vehicle_id}/signals?user_id={car.user_id}")
    assert (response.status_code, response.json()["error"]) == (503, "TokenConnectionError")


@pytest.mark.asyncio
async def test_webhooks_reach_the_app(
    app: Starlette, http: httpx.AsyncClient, smartcar_emulator: SmartcarEmulator, car: FleetEntry
) -> None:
    webhook_id = smartcar_emulator.add_webhook(
        callback_uri="https://app.example/webhooks/smartcar",
        data=["tractionbattery-stateofcharge"],
    )
    smartcar_emulator.subscribe(webhook_id, car.vehicle_id)
    smartcar_emulator.set_signal(
        car.vehicle_id, "tractionbattery-stateofcharge", {"unit": "percent", "value": 42}
    )
    verify = await smartcar_emulator.deliver(smartcar_emulator.verify_event(webhook_id), app)
    state = await smartcar_emulator.deliver(
        smartcar_emulator.vehicle_state_event(car.vehicle_id), app
    )
    assert verify.verified
    assert state.delivered
    assert (await http.get("/battery")).json() == {car.vehicle_id: 42}

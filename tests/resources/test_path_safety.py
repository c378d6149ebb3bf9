"""Every id that goes into a path is checked before any request is made."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import anyio
import pytest
import respx
from resource_support import BAD_IDS, USER_ID, VEHICLE_ID

from smartcar_async import SmartcarClient

pytestmark = pytest.mark.anyio

CODE = "odometer-traveleddistance"
DAILY = {
    "kind": "daily",
    "latitude": 1.0,
    "longitude": 2.0,
    "start_time": "01:00",
    "stop_time": "02:00",
}

Call = Callable[[SmartcarClient, str], Any]

CALLS: dict[str, Call] = {
    "connections.get": lambda c, bad: c.connections.get(bad),
    "connections.delete": lambda c, bad: c.connections.delete(bad),
    "users.delete": lambda c, bad: c.users.delete(bad),
    "vehicles.get": lambda c, bad: c.vehicles.get(bad),
    "vehicles.get raw": lambda c, bad: c.vehicles.with_raw_response.get(bad),
    "vehicles.signals": lambda c, bad: c.vehicles.signals(bad, user_id=USER_ID),
    "vehicles.signal vehicle": lambda c, bad: c.vehicles.signal(bad, CODE, user_id=USER_ID),
    "vehicles.signal code": lambda c, bad: c.vehicles.signal(VEHICLE_ID, bad, user_id=USER_ID),
    "client.vehicle": lambda c, bad: c.vehicle(bad, user_id=USER_ID),
    "handle.signal code": lambda c, bad: c.vehicle(VEHICLE_ID, user_id=USER_ID).signal(bad),
    "commands.lock": lambda c, bad: c.commands.lock(bad, user_id=USER_ID),
    "commands.unlock": lambda c, bad: c.commands.unlock(bad, user_id=USER_ID),
    "commands.start_charge": lambda c, bad: c.commands.start_charge(bad, user_id=USER_ID),
    "commands.stop_charge": lambda c, bad: c.commands.stop_charge(bad, user_id=USER_ID),
    "commands.open_charge_port": lambda c, bad: c.commands.open_charge_port(bad, user_id=USER_ID),
    "commands.close_charge_port": lambda c, bad: c.commands.close_charge_port(bad, user_id=USER_ID),
    "commands.set_charge_limit": lambda c, bad: c.commands.set_charge_limit(
        bad, 80, user_id=USER_ID
    ),
    "commands.set_destination": lambda c, bad: c.commands.set_destination(
        bad, latitude=1, longitude=2, user_id=USER_ID
    ),
    "commands.set_charge_schedule": lambda c, bad: c.commands.set_charge_schedule(
        bad, user_id=USER_ID, **DAILY
    ),
    "commands.delete_charge_schedule vehicle": lambda c, bad: c.commands.delete_charge_schedule(
        bad, "sched_1", user_id=USER_ID
    ),
    "commands.delete_charge_schedule schedule": lambda c, bad: c.commands.delete_charge_schedule(
        VEHICLE_ID, bad, user_id=USER_ID
    ),
    "handle.delete_charge_schedule": lambda c, bad: c.vehicle(
        VEHICLE_ID, user_id=USER_ID
    ).delete_charge_schedule(bad),
    "webhook_endpoints.get": lambda c, bad: c.webhook_endpoints.get(bad),
    "subscriptions.get": lambda c, bad: c.subscriptions.get(bad),
    "subscriptions.delete": lambda c, bad: c.subscriptions.delete(bad),
}


async def _invoke(call: Call, client: SmartcarClient, bad: str) -> None:
    result = call(client, bad)  # client.vehicle() raises at once, the rest when awaited
    if inspect.isawaitable(result):
        await result


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
async def test_a_bad_id_raises_before_any_request(
    client: SmartcarClient, router: respx.MockRouter, call: Call, bad: str
) -> None:
    with anyio.fail_after(5), pytest.raises(ValueError, match="must"):
        await _invoke(call, client, bad)
    assert not router.calls  # not even the token request


@pytest.mark.parametrize("bad", [None, 42, b"abc"], ids=repr)
async def test_a_non_string_id_raises_value_error(
    client: SmartcarClient, router: respx.MockRouter, bad: Any
) -> None:
    with anyio.fail_after(5), pytest.raises(ValueError):
        await client.vehicles.get(bad)
    assert not router.calls

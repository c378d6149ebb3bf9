"""Tests of ``fleet_job.py`` under anyio's pytest plugin, on asyncio and on trio.

The SDK's ``smartcar_client`` and ``smartcar_emulator`` fixtures need no set-up;
override ``smartcar_emulator_options`` to shape the fleet. Run them with ``pytest examples``.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from fleet_job import run

import smartcar_async as sc
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture
def smartcar_emulator_options() -> dict[str, Any]:
    return {"vehicles": 40, "seed": 3}


async def test_the_job_locks_every_unlocked_vehicle(
    smartcar_client: sc.SmartcarClient, smartcar_emulator: SmartcarEmulator
) -> None:
    fleet = smartcar_emulator.fleet()
    unlocked = [
        car.vehicle_id
        for car in fleet
        if smartcar_emulator.signal(car.vehicle_id, "closure-islocked") == {"value": False}
    ]
    with anyio.fail_after(30):
        report = await run(smartcar_client, concurrency=8)
    assert (report.read, report.read_failures) == (len(fleet), {})
    assert report.locked == len(unlocked)
    assert all(
        smartcar_emulator.signal(car.vehicle_id, "closure-islocked") == {"value": True}
        for car in fleet
    )


async def test_an_asleep_vehicle_is_read_but_not_locked(
    smartcar_client: sc.SmartcarClient, smartcar_emulator: SmartcarEmulator
) -> None:
    car = smartcar_emulator.add_vehicle("Ford", "Mustang Mach-E", 2023, "BEV")
    smartcar_emulator.set_signal(car.vehicle_id, "closure-islocked", {"value": False})
    smartcar_emulator.set_signal(
        car.vehicle_id, "tractionbattery-stateofcharge", {"unit": "percent", "value": 9}
    )
    smartcar_emulator.set_asleep(car.vehicle_id)
    with anyio.fail_after(30):
        report = await run(smartcar_client, concurrency=8)
    assert report.read_failures == {}
    assert car.vehicle_id in report.low_battery
    assert report.lock_failures == {"VehicleStateError": 1}

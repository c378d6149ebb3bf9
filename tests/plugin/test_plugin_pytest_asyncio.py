"""A user's test module under pytest-asyncio, using the plugin's fixtures as they ship."""

from __future__ import annotations

import pytest

import smartcar_async as sc
from smartcar_async.testing import SmartcarEmulator


@pytest.mark.asyncio
async def test_reads_a_vehicle(
    smartcar_client: sc.SmartcarClient, smartcar_emulator: SmartcarEmulator
) -> None:
    car = smartcar_emulator.fleet()[0]
    signals = await smartcar_client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    assert signals.value("closure-islocked") is not None


@pytest.mark.asyncio(loop_scope="module")
async def test_works_with_a_module_scoped_loop(
    smartcar_client: sc.SmartcarClient, smartcar_emulator: SmartcarEmulator
) -> None:
    car = smartcar_emulator.fleet()[1]
    result = await smartcar_client.commands.lock(car.vehicle_id, user_id=car.user_id)
    assert result.status == "SUCCESS"
    assert smartcar_emulator.signal(car.vehicle_id, "closure-islocked") == {"value": True}


@pytest.mark.asyncio
async def test_each_test_gets_a_fresh_emulator(smartcar_emulator: SmartcarEmulator) -> None:
    assert smartcar_emulator.stats.token_requests == 0
    assert len(smartcar_emulator.fleet()) == 10

"""A user's test module under anyio's pytest plugin, using the plugin's fixtures."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import smartcar_async as sc
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio


@pytest.fixture
def smartcar_emulator_options() -> dict[str, Any]:
    # How a user changes the fleet: override the options fixture.
    return {"vehicles": 3, "seed": 7}


async def test_reads_every_connection(
    smartcar_client: sc.SmartcarClient, smartcar_emulator: SmartcarEmulator
) -> None:
    with anyio.fail_after(10):
        connections = await smartcar_client.connections.list().to_list()
    assert {c.vehicle_id for c in connections} == {
        car.vehicle_id for car in smartcar_emulator.fleet()
    }
    assert smartcar_emulator.stats.token_requests == 1

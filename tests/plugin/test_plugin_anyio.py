"""A user's test module under anyio's pytest plugin, using the plugin's fixtures."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import smartcar_async as sc
from smartcar_async.testing import Fault, SmartcarEmulator

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


class TestAVirtualClockInTheOptions:
    """A `VirtualClock` in the options rules the fixture client too: Retry-After waits
    are virtual, so a test of them moves time instead of waiting."""

    @pytest.fixture
    def smartcar_emulator_options(self) -> dict[str, Any]:
        return {"vehicles": 2, "seed": 1, "clock": sc.VirtualClock()}

    async def test_retry_after_waits_on_the_emulator_clock(
        self, smartcar_client: sc.SmartcarClient, smartcar_emulator: SmartcarEmulator
    ) -> None:
        clock = smartcar_emulator.clock
        assert isinstance(clock, sc.VirtualClock)
        assert smartcar_client.clock is clock
        car = smartcar_emulator.fleet()[0]
        smartcar_emulator.faults.add(
            Fault.rate_limit(retry_after=30, scope="vehicle"), route="*/signals", times=1
        )
        results: list[sc.Signals] = []

        async def read() -> None:
            results.append(
                await smartcar_client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
            )

        start = clock.now()
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                await clock.wait_for_sleepers(1)
                clock.advance(30)
        assert len(results) == 1
        assert clock.now() - start == 30

"""Fixtures for the emulator's own tests: a virtual clock, a seeded emulator, a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from smartcar_async.testing import VEHICLE_API_URL, FleetEntry, SmartcarEmulator, VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def emulator(clock: VirtualClock) -> SmartcarEmulator:
    return SmartcarEmulator(vehicles=30, simulated_vehicles=3, seed=7, clock=clock)


@pytest.fixture
async def http(emulator: SmartcarEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the in-process transport, already holding a token."""
    headers = {"authorization": f"Bearer {emulator.issue_token()}"}
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url=VEHICLE_API_URL, headers=headers
    ) as client:
        yield client


@pytest.fixture
def bev(emulator: SmartcarEmulator) -> FleetEntry:
    """A Tesla Model 3 (BEV) connected to its own user, plugged in."""
    car = emulator.add_vehicle("Tesla", "Model 3", 2024, "BEV")
    emulator.set_signal(car.vehicle_id, "charge-ischargingcableconnected", {"value": True})
    return car


@pytest.fixture
def ice(emulator: SmartcarEmulator) -> FleetEntry:
    return emulator.add_vehicle("Ford", "F-150", 2022, "ICE")

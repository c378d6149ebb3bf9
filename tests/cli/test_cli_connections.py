"""``smartcar-async connections``: every connection, paged, as a table or JSON."""

from __future__ import annotations

import pytest
from cli_support import Run, SyncRun

from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio


async def test_table_lists_every_connection(cli: Run, use_emulator: SmartcarEmulator) -> None:
    fleet = use_emulator.fleet()

    # A page size of 4 makes the six connections two pages.
    result = await cli("connections", "--page-size", "4")

    assert result.code == 0
    assert result.out.startswith("6 connections")
    for car in fleet:
        line = next(line for line in result.out.splitlines() if car.connection_id in line)
        assert car.vehicle_id in line
        assert car.user_id in line
        assert f"{car.make} {car.model} {car.year} ({car.powertrain_type})" in line
    assert use_emulator.stats.requests["GET /connections"] == 2


async def test_json(cli: Run, use_emulator: SmartcarEmulator) -> None:
    fleet = use_emulator.fleet()

    result = await cli("connections", "--json", "--page-size", "5")

    assert result.code == 0
    data = result.json()
    assert [c["id"] for c in data] == [car.connection_id for car in fleet]
    first, car = data[0], fleet[0]
    assert first["vehicle_id"] == car.vehicle_id
    assert first["user_id"] == car.user_id
    assert first["vehicle"]["make"] == car.make
    assert first["vehicle"]["powertrain_type"] == car.powertrain_type
    assert "read_vehicle_info" in first["permissions"]
    assert first["created_at"].endswith("Z")
    assert "raw" not in first


async def test_filters_limit_and_mode(cli: Run, use_emulator: SmartcarEmulator) -> None:
    car = use_emulator.fleet()[2]

    by_user = (await cli("connections", "--json", "--user-id", car.user_id)).json()
    by_vehicle = (await cli("connections", "--json", "--vehicle-id", car.vehicle_id)).json()
    limited = (await cli("connections", "--json", "--limit", "3", "--page-size", "2")).json()

    assert car.connection_id in [c["id"] for c in by_user]
    assert {c["user_id"] for c in by_user} == {car.user_id}
    assert [c["id"] for c in by_vehicle] == [car.connection_id]
    assert len(limited) == 3

    simulated = use_emulator.add_vehicle("Kia", "EV9", 2025, "BEV", mode="simulated")

    live = (await cli("connections", "--json")).json()
    only_simulated = (await cli("connections", "--json", "--mode", "simulated")).json()

    assert simulated.connection_id not in [c["id"] for c in live]
    assert len(live) == 6
    assert [c["id"] for c in only_simulated] == [simulated.connection_id]
    assert only_simulated[0]["vehicle"]["mode"] == "simulated"


async def test_bad_credentials_are_a_token_error(cli: Run, use_emulator: SmartcarEmulator) -> None:
    result = await cli("connections", "--client-id", "client_nobody")

    assert result.code == 4
    assert result.out == ""
    assert "invalid_client" in result.err
    assert use_emulator.stats.requests["GET /connections"] == 0


def test_usage_errors(cli_sync: SyncRun) -> None:
    for argv in (
        ["connections", "--page-size", "0"],
        ["connections", "--mode", "parked"],
        ["connections", "--limit", "many"],
    ):
        result = cli_sync(*argv)
        assert result.code == 2, argv
        assert "usage:" in result.err
        assert result.out == ""

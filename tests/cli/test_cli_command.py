"""``smartcar-async command NAME VEHICLE_ID --user-id U``."""

from __future__ import annotations

import pytest
from cli_support import Run, SyncRun

from smartcar_async.cli._commands import COMMANDS
from smartcar_async.testing import FleetEntry, SmartcarEmulator

pytestmark = pytest.mark.anyio


@pytest.fixture
def car(use_emulator: SmartcarEmulator) -> FleetEntry:
    car = use_emulator.add_vehicle("Tesla", "Model 3", 2024, "BEV")
    use_emulator.set_signal(car.vehicle_id, "closure-islocked", {"value": False})
    use_emulator.set_signal(car.vehicle_id, "charge-ischargingcableconnected", {"value": True})
    return car


async def test_table(cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator) -> None:
    result = await cli("command", "lock", car.vehicle_id, "--user-id", car.user_id)

    assert result.code == 0
    assert "security-lock" in result.out
    assert "SUCCESS" in result.out
    assert car.vehicle_id in result.out
    assert use_emulator.signal(car.vehicle_id, "closure-islocked") == {"value": True}
    assert use_emulator.stats.commands[(car.vehicle_id, "security-lock")] == 1


async def test_json_with_arguments(
    cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator
) -> None:
    limit = await cli(
        "command", "set-charge-limit", car.vehicle_id, "--user-id", car.user_id,
        "--percent", "80", "--json",
    )  # fmt: skip
    destination = await cli(
        "command", "set-destination", car.vehicle_id, "--user-id", car.user_id,
        "--latitude", "37.77", "--longitude", "-122.42", "--json",
    )  # fmt: skip

    assert limit.code == destination.code == 0
    execution = limit.json()
    assert execution["command_type"] == "charge-set-limit"
    assert execution["status"] == "SUCCESS"
    assert execution["parameters"] == {"percent": 80}
    assert execution["id"] == use_emulator.command_log[0].execution_id
    assert destination.json()["parameters"] == {"latitude": 37.77, "longitude": -122.42}


@pytest.mark.filterwarnings("ignore::smartcar_async.ExperimentalWarning")  # charge port
async def test_every_command_name_reaches_its_endpoint(
    cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator
) -> None:
    extra = {
        "set-charge-limit": ["--percent", "90"],
        "set-destination": ["--latitude", "1", "--longitude", "2"],
    }
    for name in COMMANDS:
        argv = ["command", name, car.vehicle_id, "--user-id", car.user_id, "--json"]
        result = await cli(*argv, *extra.get(name, []))
        assert result.code == 0, (name, result.err)
    assert len(use_emulator.command_log) == len(COMMANDS) == 8


async def test_asleep_vehicle_is_an_api_error(
    cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator
) -> None:
    use_emulator.set_asleep(car.vehicle_id)

    result = await cli("command", "unlock", car.vehicle_id, "--user-id", car.user_id)

    assert result.code == 1
    assert result.out == ""
    assert "VehicleStateError" in result.err
    assert "VEHICLE_STATE:ASLEEP" in result.err
    assert not use_emulator.command_log


async def test_unknown_vehicle_and_bad_credentials(
    cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator
) -> None:
    unknown = await cli("command", "lock", "2222", "--user-id", car.user_id)
    refused = await cli(
        "command", "lock", car.vehicle_id, "--user-id", car.user_id, "--client-id", "client_z"
    )

    assert unknown.code == 1
    assert "NotFoundError" in unknown.err
    assert refused.code == 4
    assert not use_emulator.command_log


def test_usage_errors(cli_sync: SyncRun) -> None:
    base = ["--client-id", "client_x", "--client-secret", "s", "command"]
    cases = [
        [*base, "honk", "v", "--user-id", "u"],
        [*base, "set-charge-limit", "v", "--user-id", "u", "--percent", "20"],
        [*base, "set-charge-limit", "v", "--user-id", "u"],
        [*base, "set-destination", "v", "--user-id", "u", "--latitude", "91", "--longitude", "0"],
        [*base, "lock", "v"],
        [*base],
    ]
    for argv in cases:
        result = cli_sync(*argv)
        assert result.code == 2, argv
        assert "usage:" in result.err

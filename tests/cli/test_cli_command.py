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


@pytest.mark.filterwarnings("default::smartcar_async.ExperimentalWarning")  # shown, not raised
async def test_an_experimental_command_warns_in_one_line(cli: Run, car: FleetEntry) -> None:
    result = await cli("command", "open-charge-port", car.vehicle_id, "--user-id", car.user_id)

    assert result.code == 0
    assert "warning: POST .../commands/charge-port/open is experimental" in result.err
    assert ".py:" not in result.err  # not Python's file:line form


@pytest.mark.filterwarnings("ignore::smartcar_async.ExperimentalWarning")  # charge port
async def test_every_command_name_reaches_its_endpoint(
    cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator
) -> None:
    place = ["--latitude", "1", "--longitude", "2"]
    extra = {
        "set-charge-limit": ["--percent", "90"],
        "set-destination": place,
        "set-charge-schedule": [
            "--kind",
            "daily",
            *place,
            "--start-time",
            "01:00",
            "--stop-time",
            "05:00",
        ],
    }
    schedule_id = ""
    for name in COMMANDS:
        argv = ["command", name, car.vehicle_id, "--user-id", car.user_id, "--json"]
        if name == "delete-charge-schedule":
            argv.insert(3, schedule_id)
        result = await cli(*argv, *extra.get(name, []))
        assert result.code == 0, (name, result.err)
        if name == "set-charge-schedule":
            schedule_id = result.json()["schedule_id"]
    assert len(use_emulator.command_log) == len(COMMANDS) == 10


async def test_weekly_and_workweek_schedules_from_the_cli(
    cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator
) -> None:
    base = ["command", "set-charge-schedule", car.vehicle_id, "--user-id", car.user_id, "--json"]
    place = ["--latitude", "37.77", "--longitude", "-122.42"]
    weekly = await cli(
        *base,
        "--kind",
        "weekly",
        *place,
        "--day",
        "monday=01:00-05:00",
        "--day",
        "friday=02:00-04:00",
    )
    workweek = await cli(
        *base,
        "--kind",
        "workweek",
        *place,
        "--weekdays",
        "01:00-05:00",
        "--weekends",
        "09:00-12:00",
    )

    assert weekly.code == 0, weekly.err
    assert workweek.code == 0, workweek.err
    sent = [record.parameters for record in use_emulator.command_log]
    assert sent[0]["days"] == {
        "monday": {"startTime": "01:00", "stopTime": "05:00"},
        "friday": {"startTime": "02:00", "stopTime": "04:00"},
    }
    assert sent[1]["weekends"] == {"startTime": "09:00", "stopTime": "12:00"}


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
    schedule = [*base, "set-charge-schedule", "v", "--user-id", "u"]
    place = ["--latitude", "1", "--longitude", "2"]
    cases = [
        [*base, "honk", "v", "--user-id", "u"],
        [*base, "set-charge-limit", "v", "--user-id", "u", "--percent", "20"],
        [*base, "set-charge-limit", "v", "--user-id", "u"],
        [*base, "set-destination", "v", "--user-id", "u", "--latitude", "91", "--longitude", "0"],
        [*schedule, "--kind", "hourly", *place],
        [*schedule, "--kind", "daily", *place, "--start-time", "25:00", "--stop-time", "05:00"],
        [*schedule, "--kind", "weekly", *place, "--day", "someday=01:00-02:00"],
        [*base, "delete-charge-schedule", "v", "--user-id", "u"],
        [*base, "lock", "v"],
        [*base],
    ]
    for argv in cases:
        result = cli_sync(*argv)
        assert result.code == 2, argv
        assert "usage:" in result.err


def test_a_day_given_twice_is_refused_rather_than_a_window_dropped(cli_sync: SyncRun) -> None:
    base = ["--client-id", "client_x", "--client-secret", "s", "command", "set-charge-schedule"]
    place = ["--latitude", "1", "--longitude", "2"]
    days = ["--day", "monday=01:00-02:00", "--day", "Monday=03:00-04:00"]

    result = cli_sync(*base, "v", "--user-id", "u", "--kind", "weekly", *place, *days)

    assert result.code == 2
    assert "--day gives monday more than once" in result.err


def test_schedule_arguments_the_kind_needs_are_checked_before_sending(cli_sync: SyncRun) -> None:
    base = ["--client-id", "client_x", "--client-secret", "s", "command", "set-charge-schedule"]
    place = ["--latitude", "1", "--longitude", "2"]

    result = cli_sync(*base, "v", "--user-id", "u", "--kind", "daily", *place)

    assert result.code == 2
    assert "kind='daily' needs start_time and stop_time" in result.err

"""``smartcar-async signals VEHICLE_ID --user-id U [--code C]``."""

from __future__ import annotations

import pytest
from cli_support import Run, SyncRun

from smartcar_async.testing import FleetEntry, SmartcarEmulator

pytestmark = pytest.mark.anyio

SOC = "tractionbattery-stateofcharge"


@pytest.fixture
def car(use_emulator: SmartcarEmulator) -> FleetEntry:
    car = use_emulator.add_vehicle("Tesla", "Model Y", 2024, "BEV")
    use_emulator.set_signal(car.vehicle_id, SOC, {"unit": "percent", "value": 64.5})
    use_emulator.set_signal_status(car.vehicle_id, "location-preciselocation")
    return car


async def test_table(cli: Run, car: FleetEntry) -> None:
    result = await cli("signals", car.vehicle_id, "--user-id", car.user_id)

    assert result.code == 0
    assert car.vehicle_id in result.out.splitlines()[0]
    assert "Tesla Model Y 2024" in result.out.splitlines()[0]
    soc_line = next(
        line for line in result.out.splitlines() if "TractionBattery.StateOfCharge" in line
    )
    assert "64.5 percent" in soc_line
    assert " ok " in soc_line
    failed = next(line for line in result.out.splitlines() if "Location.PreciseLocation" in line)
    assert "ERROR (VEHICLE_STATE:UNREACHABLE)" in failed


async def test_json(cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator) -> None:
    result = await cli("signals", car.vehicle_id, "--user-id", car.user_id, "--json")

    assert result.code == 0
    data = result.json()
    assert data["vehicle"]["id"] == car.vehicle_id
    assert data["vehicle"]["make"] == "Tesla"
    by_code = {s["code"]: s for s in data["signals"]}
    assert set(by_code) == {code for code, body in use_emulator.signals(car.vehicle_id).items()}
    assert by_code[SOC] == {
        "code": SOC,
        "name": "TractionBattery.StateOfCharge",
        "status": "SUCCESS",
        "body": {"unit": "percent", "value": 64.5},
        "error": None,
        "retrieved_at": by_code[SOC]["retrieved_at"],
        "oem_updated_at": by_code[SOC]["oem_updated_at"],
    }
    location = by_code["location-preciselocation"]
    assert location["status"] == "ERROR"
    assert location["body"] is None
    assert location["error"]["type"] == "VEHICLE_STATE"


async def test_one_signal(cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator) -> None:
    as_json = await cli(
        "signals", car.vehicle_id, "--user-id", car.user_id, "--code", SOC, "--json"
    )
    as_table = await cli("signals", car.vehicle_id, "--user-id", car.user_id, "--code", SOC)

    assert as_json.code == as_table.code == 0
    assert as_json.json()["body"] == {"unit": "percent", "value": 64.5}
    assert "64.5 percent" in as_table.out
    assert use_emulator.stats.requests["GET /vehicles/{id}/signals/{code}"] == 2
    assert use_emulator.stats.requests["GET /vehicles/{id}/signals"] == 0


async def test_api_errors(cli: Run, car: FleetEntry, use_emulator: SmartcarEmulator) -> None:
    stranger = use_emulator.add_user()

    unknown = await cli("signals", "11111111-1111-1111-1111-111111111111", "--user-id", car.user_id)
    wrong_user = await cli("signals", car.vehicle_id, "--user-id", stranger, "--json")
    no_such_signal = await cli("signals", car.vehicle_id, "--user-id", car.user_id, "--code", "x-y")

    for result in (unknown, wrong_user, no_such_signal):
        assert result.code == 1
        assert result.out == ""
        assert "NotFoundError" in result.err
        assert "Traceback" not in result.err
    assert "--user-id must be the user who connected it" in wrong_user.err
    assert "SIGNAL_NOT_FOUND" in no_such_signal.err

    refused = await cli("signals", car.vehicle_id, "--user-id", car.user_id, "--client-secret", "x")
    assert refused.code == 4


def test_user_id_is_required(cli_sync: SyncRun) -> None:
    result = cli_sync("signals", "some-vehicle")

    assert result.code == 2
    assert "--user-id" in result.err

"""``smartcar-async vehicle VEHICLE_ID``: one vehicle's description."""

from __future__ import annotations

import io
from functools import partial

import anyio
import pytest
from cli_support import TIMEOUT, Run, SyncRun

from smartcar_async.cli._app import run
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio


async def test_table(cli: Run, use_emulator: SmartcarEmulator) -> None:
    car = use_emulator.fleet()[0]

    result = await cli("vehicle", car.vehicle_id)

    assert result.code == 0
    rows = dict(line.split(None, 1) for line in result.out.splitlines()[1:] if line.strip())
    assert rows["id"].strip() == car.vehicle_id
    assert rows["make"].strip() == car.make
    assert rows["model"].strip() == car.model
    assert rows["year"].strip() == str(car.year)  # no thousands separator in a year
    assert rows["powertrain"].strip() == car.powertrain_type


async def test_json(cli: Run, use_emulator: SmartcarEmulator) -> None:
    car = use_emulator.fleet()[1]

    result = await cli("vehicle", car.vehicle_id, "--json")

    assert result.code == 0
    assert result.json() == {
        "id": car.vehicle_id,
        "make": car.make,
        "model": car.model,
        "year": car.year,
        "mode": "live",
        "powertrain_type": car.powertrain_type,
    }
    # Global options work before the subcommand as well as after it.
    before = await cli("--json", "vehicle", car.vehicle_id)
    assert before.code == 0
    assert before.json() == result.json()


async def test_unknown_vehicle_is_an_api_error(cli: Run, use_emulator: SmartcarEmulator) -> None:
    result = await cli("vehicle", "00000000-0000-0000-0000-000000000000")

    assert result.code == 1
    assert result.out == ""
    assert "NotFoundError" in result.err
    assert "VEHICLE_NOT_FOUND" in result.err
    assert "request id" in result.err
    assert "Traceback" not in result.err


async def test_bad_credentials_are_a_token_error(cli: Run, use_emulator: SmartcarEmulator) -> None:
    car = use_emulator.fleet()[0]

    result = await cli("vehicle", car.vehicle_id, "--client-secret", "nope")

    assert result.code == 4


def test_usage_errors(cli_sync: SyncRun) -> None:
    missing = cli_sync("vehicle")
    # Refused before any request: an id must be one path segment.
    traversal = cli_sync("--client-id", "client_x", "--client-secret", "s", "vehicle", "../x")

    assert missing.code == 2
    assert "VEHICLE_ID" in missing.err
    assert traversal.code == 2
    assert "path segment" in traversal.err


class _ClosedPipe(io.StringIO):
    """stdout whose reader went away (``smartcar-async ... | head``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


async def test_a_closed_stdout_ends_quietly(use_emulator: SmartcarEmulator) -> None:
    car = use_emulator.fleet()[0]
    stderr = io.StringIO()

    with anyio.fail_after(TIMEOUT):
        code = await anyio.to_thread.run_sync(
            partial(
                run, ["vehicle", car.vehicle_id, "--json"], stdout=_ClosedPipe(), stderr=stderr
            ),
            abandon_on_cancel=True,
        )

    assert code == 141
    assert stderr.getvalue() == ""

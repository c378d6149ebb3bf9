"""The programs in ``examples/`` run against the emulator, and each has tests.

Their own test suites (``examples/test_*.py``, and ``tests/test_connect_app.py`` and
``tests/test_webhooks.py`` for the Connect and webhook apps) run with the rest of the
suite; ``mypy --strict examples`` runs in CI. Here the fleet job runs as a user would
run it: a separate process, configured only by ``SMARTCAR_*`` variables, against an
emulator served on loopback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from smartcar_async.cli._serve import emulator_environment
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def programs() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("test_"))


@pytest.mark.parametrize("program", programs(), ids=lambda p: p.name)
def test_every_example_program_has_tests(program: Path) -> None:
    module = program.stem
    testers = [*EXAMPLES.glob("test_*.py"), *(ROOT / "tests").rglob("test_*.py")]
    assert any(
        f"from {module} import" in text or f'"{program.name}"' in text
        for text in (path.read_text(encoding="utf-8") for path in testers)
    ), f"nothing tests examples/{program.name}"


async def test_the_fleet_job_runs_as_a_program_against_a_served_emulator() -> None:
    emulator = SmartcarEmulator(vehicles=12, seed=4)
    unlocked = sum(
        emulator.signal(car.vehicle_id, "closure-islocked") == {"value": False}
        for car in emulator.fleet()
    )
    async with emulator.serve() as base_url:
        # What `smartcar-async emulator serve` tells a user to export.
        env = {**os.environ, **emulator_environment(emulator, base_url)}
        with anyio.fail_after(120):
            done = await anyio.run_process(
                [sys.executable, str(EXAMPLES / "fleet_job.py"), "--concurrency", "4"],
                env=env,
                check=False,
            )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert out.startswith("read 12 vehicles")
    assert f"locked {unlocked}; failures: none" in out
    assert emulator.stats.token_requests == 1

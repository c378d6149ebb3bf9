"""Fixtures for the CLI tests: an emulator served on loopback, and a way to run `main`.

`main()` runs its own event loop (``anyio.run``), so a test runs it in a worker thread
(`anyio.to_thread.run_sync`) while the test's own loop serves the emulator: `serve()`
hands every request back to the loop that entered it, which is free while the test
awaits the thread. That works whichever backend the test runs on, and it exercises the
real entry point (parsing, ``anyio.run``, error mapping, exit codes) over real sockets.
Output is read with ``capsys``, which replaces ``sys.stdout``/``sys.stderr`` for every
thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from cli_support import TIMEOUT, Result, Run, SyncRun

from smartcar_async.cli import main
from smartcar_async.testing import SmartcarEmulator, VirtualClock

_ENV = (
    "SMARTCAR_CLIENT_ID",
    "SMARTCAR_CLIENT_SECRET",
    "SMARTCAR_TOKEN_URL",
    "SMARTCAR_VEHICLE_API_URL",
    "SMARTCAR_MANAGEMENT_API_URL",
    "SMARTCAR_VEHICLE_API_V3_ORIGIN",
    "SMARTCAR_LOG",
    "SMARTCAR_APPLICATION_ID",
    "SMARTCAR_REDIRECT_URI",
    "SMARTCAR_CONNECT_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SMARTCAR_* variable of the machine running the tests leaks in."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    # Wide enough that no table cuts an id; rich reads COLUMNS.
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def emulator() -> SmartcarEmulator:
    # A virtual clock that nobody advances: tokens never expire and every timestamp
    # is the same on every run.
    return SmartcarEmulator(vehicles=6, seed=11, clock=VirtualClock())


@pytest.fixture
async def base_url(emulator: SmartcarEmulator) -> AsyncIterator[str]:
    async with emulator.serve() as url:
        yield url


@pytest.fixture
def use_emulator(
    emulator: SmartcarEmulator, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> SmartcarEmulator:
    """Point the CLI at the served emulator through the environment, as a user would."""
    kwargs = emulator.client_kwargs(base_url=base_url)
    monkeypatch.setenv("SMARTCAR_CLIENT_ID", kwargs["client_id"])
    monkeypatch.setenv("SMARTCAR_CLIENT_SECRET", kwargs["client_secret"])
    monkeypatch.setenv("SMARTCAR_TOKEN_URL", kwargs["token_url"])
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_URL", kwargs["vehicle_api_url"])
    monkeypatch.setenv("SMARTCAR_MANAGEMENT_API_URL", kwargs["management_api_url"])
    return emulator


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``await cli("connections", "--json")``: run `main` in a thread, return a `Result`."""

    async def run(*argv: str) -> Result:
        capsys.readouterr()  # drop anything printed before
        with anyio.fail_after(TIMEOUT):
            code = await anyio.to_thread.run_sync(main, list(argv), abandon_on_cancel=True)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli_sync(capsys: pytest.CaptureFixture[str]) -> SyncRun:
    """`cli` for tests that need no emulator (usage and configuration errors)."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run

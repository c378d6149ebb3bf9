"""The entry points: ``python -m smartcar_async.cli``, ``--help``, ``--version``."""

from __future__ import annotations

import subprocess
import sys

from cli_support import SyncRun

from smartcar_async import __version__

SUBCOMMANDS = ("token", "connections", "vehicle", "signals", "command", "emulator", "demo")


def test_python_dash_m_runs_main() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "smartcar_async.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0
    assert done.stdout.strip() == f"smartcar-async {__version__}"


def test_help_lists_every_subcommand_and_the_exit_codes(cli_sync: SyncRun) -> None:
    result = cli_sync("--help")

    assert result.code == 0
    for name in SUBCOMMANDS:
        assert f"    {name} " in result.out
    for code in ("0", "1", "2", "3", "4", "5", "130"):
        assert f"\n  {code} " in result.out
    assert "SMARTCAR_CLIENT_ID" in result.out


def test_no_subcommand_is_a_usage_error(cli_sync: SyncRun) -> None:
    result = cli_sync()

    assert result.code == 2
    assert "required: COMMAND" in result.err
    assert result.out == ""

"""The entry points: ``python -m smartcar_async.cli``, ``--help``, ``--version``."""

from __future__ import annotations

import subprocess
import sys

import pytest
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


def test_a_subcommands_help_is_its_own(cli_sync: SyncRun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps at COLUMNS
    for argv in (("signals", "--help"), ("command", "lock", "--help"), ("demo", "--help")):
        result = cli_sync(*argv)
        assert result.code == 0
        lines = result.out.splitlines()
        # No copy of the global options, the exit codes or the environment.
        assert len(lines) < 25, result.out
        assert "--client-secret" not in result.out
        assert "130  interrupted" not in result.out  # the exit-code table
        assert "smartcar-async --help lists them" in result.out
        assert max(len(line) for line in lines) <= 80


def test_the_demo_takes_no_credentials(cli_sync: SyncRun) -> None:
    help_text = cli_sync("demo", "--help").out
    assert "--client-id" not in help_text
    assert "--token-url" not in help_text
    rejected = cli_sync("demo", "--client-id", "client_x")
    assert rejected.code == 2
    assert "--client-id" in rejected.err

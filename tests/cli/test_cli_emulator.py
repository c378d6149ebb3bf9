"""``smartcar-async emulator serve``: the emulator on loopback, and the variables for it.

The server runs until it is cancelled, so the tests run the subcommand's coroutine in
the test's own task group (``task_group.start`` returns once it is listening, with its
URL) and point `main`, in a worker thread, at it through the variables it printed.
"""

from __future__ import annotations

import io
import json
import shlex
import socket

import anyio
import pytest
from cli_support import TIMEOUT, Run, SyncRun

from smartcar_async.cli._app import build_parser
from smartcar_async.cli._output import Output
from smartcar_async.cli._serve import serve_emulator

pytestmark = pytest.mark.anyio

VARIABLES = {
    "SMARTCAR_CLIENT_ID",
    "SMARTCAR_CLIENT_SECRET",
    "SMARTCAR_TOKEN_URL",
    "SMARTCAR_VEHICLE_API_URL",
    "SMARTCAR_MANAGEMENT_API_URL",
    "SMARTCAR_APPLICATION_ID",
    "SMARTCAR_REDIRECT_URI",
    "SMARTCAR_CONNECT_URL",
    "SMARTCAR_MANAGEMENT_TOKEN",  # the key of webhook signatures, for a receiver under test
}


def _exports(text: str) -> dict[str, str]:
    variables = {}
    for line in text.splitlines():
        assert line.startswith("export "), line
        name, _, value = line.removeprefix("export ").partition("=")
        variables[name] = shlex.split(value)[0]
    return variables


async def test_serve_prints_exports_the_cli_can_use(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = build_parser().parse_args(["emulator", "serve", "--port", "0", "--vehicles", "7"])
    stdout, stderr = io.StringIO(), io.StringIO()
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            base_url = await tg.start(serve_emulator, args, Output(stdout=stdout, stderr=stderr))
            variables = _exports(stdout.getvalue())
            for name, value in variables.items():
                monkeypatch.setenv(name, value)

            listed = await cli("connections", "--json")
            tg.cancel_scope.cancel()

    assert set(variables) == VARIABLES
    assert variables["SMARTCAR_TOKEN_URL"] == f"{base_url}/oauth2/token"
    assert variables["SMARTCAR_VEHICLE_API_URL"] == f"{base_url}/v3"
    assert variables["SMARTCAR_MANAGEMENT_API_URL"] == f"{base_url}/management/v3"
    assert base_url.startswith("http://127.0.0.1:")
    assert "Ctrl-C stops it" in stderr.getvalue()
    assert "SMARTCAR_MANAGEMENT_TOKEN signs" in stderr.getvalue()
    assert listed.code == 0
    assert len(listed.json()) == 7


async def test_serve_json(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(
        ["emulator", "serve", "--port", "0", "--vehicles", "3", "--seed", "5", "--json"]
    )
    stdout, stderr = io.StringIO(), io.StringIO()
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            base_url = await tg.start(
                serve_emulator, args, Output(json_mode=True, stdout=stdout, stderr=stderr)
            )
            data = json.loads(stdout.getvalue())
            for name, value in data["environment"].items():
                monkeypatch.setenv(name, value)
            example = data["example"]
            signals = await cli(
                "signals", example["vehicle_id"], "--user-id", example["user_id"], "--json"
            )
            tg.cancel_scope.cancel()

    assert data["base_url"] == base_url
    assert set(data["environment"]) == VARIABLES
    assert data["vehicles"] == 3
    assert data["seed"] == 5
    assert stderr.getvalue() == ""
    assert signals.code == 0
    assert signals.json()["vehicle"]["id"] == example["vehicle_id"]


def test_a_port_in_use_is_a_configuration_error(cli_sync: SyncRun) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli_sync("emulator", "serve", "--port", str(port))

    assert result.code == 3
    assert f"127.0.0.1:{port}" in result.err
    assert "--port 0" in result.err
    assert result.out == ""


def test_usage_errors(cli_sync: SyncRun) -> None:
    for argv in (
        ["emulator"],
        ["emulator", "serve", "--port", "70000"],
        ["emulator", "serve", "--vehicles", "-1"],
        ["emulator", "serve", "--token-lifetime", "0"],
    ):
        result = cli_sync(*argv)
        assert result.code == 2, argv
        assert "usage:" in result.err

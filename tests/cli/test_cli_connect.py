"""``smartcar-async connect-url``: the URL, its checks, and the flow against ``emulator serve``."""

from __future__ import annotations

import io
import shlex
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from cli_support import TIMEOUT, Run, SyncRun

import smartcar_async as sc
from smartcar_async.cli._app import build_parser
from smartcar_async.cli._output import Output
from smartcar_async.cli._serve import serve_emulator

APP_ID = "8229df9f-91a0-4ff0-a1ae-a1f38ee24d07"
REDIRECT = "https://app.example.com/callback"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_prints_the_url_alone_on_stdout(cli_sync: SyncRun) -> None:
    result = cli_sync(
        "connect-url",
        "--application-id",
        APP_ID,
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "read_vehicle_info",
        "--scope",
        "required:read_battery",
        "--mode",
        "simulated",
        "--flag",
        "beta=true",
        "--country",
        "de",
    )
    assert result.code == 0, result.err
    (url,) = result.out.splitlines()
    assert url.startswith("https://connect.smartcar.com/oauth/authorize?")
    query = _query(url)
    assert query["client_id"] == APP_ID
    assert query["scope"] == "read_vehicle_info required:read_battery"
    assert (query["mode"], query["flags"], query["country"]) == ("simulated", "beta:true", "DE")
    # A generated state is shown on stderr, so it can be checked on the way back.
    assert len(query["state"]) == 43
    assert query["state"] in result.err


def test_json_and_environment(cli_sync: SyncRun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCAR_APPLICATION_ID", APP_ID)
    monkeypatch.setenv("SMARTCAR_REDIRECT_URI", REDIRECT)
    monkeypatch.setenv("SMARTCAR_CONNECT_URL", "http://127.0.0.1:9")
    result = cli_sync("connect-url", "--state", "s-1", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["state"] == "s-1"
    assert data["client_id"] == APP_ID
    assert data["url"].startswith("http://127.0.0.1:9/oauth/authorize?")
    assert result.err == ""


def test_reauthentication(cli_sync: SyncRun) -> None:
    result = cli_sync(
        "connect-url", "--application-id", APP_ID, "--redirect-uri", REDIRECT,
        "--reauthenticate", "vehicle-1", "--state", "s",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert urlsplit(result.out.strip()).path == "/oauth/reauthenticate"
    assert _query(result.out.strip())["vehicle_id"] == "vehicle-1"


def test_the_api_credential_id_is_explained(cli_sync: SyncRun) -> None:
    result = cli_sync("connect-url", "--client-id", "client_0123456789", "--redirect-uri", REDIRECT)
    assert result.code == 3
    assert "application id" in result.err
    assert result.out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--redirect-uri", REDIRECT], "SMARTCAR_APPLICATION_ID"),
        (["--application-id", APP_ID], "SMARTCAR_REDIRECT_URI"),
        (["--application-id", APP_ID, "--redirect-uri", REDIRECT, "--flag", "x"], "NAME=VALUE"),
        (["--application-id", APP_ID, "--redirect-uri", REDIRECT, "--country", "USA"], "ISO"),
    ],
)
def test_missing_or_bad_settings(cli_sync: SyncRun, argv: list[str], message: str) -> None:
    result = cli_sync("connect-url", *argv)
    assert result.code in (2, 3)
    assert message in result.err


@asynccontextmanager
async def served(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """``emulator serve`` on a free port, its printed exports set in the environment."""
    args = build_parser().parse_args(["emulator", "serve", "--port", "0", "--vehicles", "2"])
    stdout = io.StringIO()
    async with anyio.create_task_group() as tg:
        base_url = await tg.start(serve_emulator, args, Output(stdout=stdout, stderr=io.StringIO()))
        for line in stdout.getvalue().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            monkeypatch.setenv(name, shlex.split(value)[0])
        yield base_url
        tg.cancel_scope.cancel()


def _check_redirect(location: str, state: str) -> str:
    assert location.startswith("http://localhost:8000/callback?")
    result = sc.connect.parse_redirect(location, expected_state=state)
    assert result.user_id is not None
    return result.user_id


@pytest.mark.anyio
async def test_the_printed_url_completes_the_flow_on_the_served_emulator(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with served(monkeypatch) as base_url:
            printed = await cli("connect-url", "--scope", "read_vehicle_info", "--state", "demo")
            assert printed.code == 0, printed.err
            url = printed.out.strip()
            assert url.startswith(f"{base_url}/oauth/authorize?")
            async with httpx.AsyncClient() as browser:
                response = await browser.get(url)
            assert response.status_code == 302
            user_id = _check_redirect(response.headers["location"], "demo")
            # The new owner is visible to the other subcommands right away.
            listed = await cli("connections", "--user-id", user_id, "--json")
    assert listed.code == 0, listed.err
    assert [c["user_id"] for c in listed.json()] == [user_id]


@pytest.mark.anyio
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl program")
async def test_curl_completes_the_flow(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    with anyio.fail_after(TIMEOUT):
        async with served(monkeypatch):
            url = (await cli("connect-url", "--state", "demo")).out.strip()
            # The loop serving the emulator stays free while curl runs.
            done = await anyio.run_process(["curl", "-sS", "-i", "--max-time", "10", url])
    headers = done.stdout.decode().split("\r\n\r\n")[0].splitlines()
    assert headers[0].split()[1] == "302"
    (location,) = [h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("location:")]
    _check_redirect(location, "demo")

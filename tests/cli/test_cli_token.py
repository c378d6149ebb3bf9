"""``smartcar-async token``: fetch a token, show its expiry, never the token by default."""

from __future__ import annotations

import socket

import pytest
from cli_support import Run, SyncRun

import smartcar_async as sc
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio


async def test_table_shows_the_expiry_and_hides_the_token(
    cli: Run, use_emulator: SmartcarEmulator
) -> None:
    shown = await cli("token", "--json", "--show-token")
    token = shown.json()["access_token"]

    result = await cli("token")

    assert result.code == 0
    assert "expires at" in result.out
    assert "hidden (--show-token prints it)" in result.out
    assert use_emulator.client_id in result.out
    assert "secret" not in result.out.lower().replace("--show-token", "")
    assert token not in result.out + result.err
    assert use_emulator.client_secret not in result.out + result.err
    assert use_emulator.stats.token_requests == 2


async def test_json(cli: Run, use_emulator: SmartcarEmulator, base_url: str) -> None:
    result = await cli("token", "--json")

    assert result.code == 0
    data = result.json()
    assert "access_token" not in data
    assert data["client_id"] == use_emulator.client_id
    assert data["token_url"] == f"{base_url}/oauth2/token"
    assert data["token_type"] == "Bearer"
    assert data["lifetime"] == 3600
    assert 0 < data["expires_in"] <= 3600
    assert data["expires_at"].endswith("Z")

    shown = await cli("token", "--json", "--show-token")
    assert shown.json()["access_token"]
    table = await cli("token", "--show-token")
    assert "hidden" not in table.out
    assert shown.json()["access_token"] not in table.out  # a new token each run


async def test_bad_credentials_are_a_token_error(cli: Run, use_emulator: SmartcarEmulator) -> None:
    result = await cli("--client-secret", "wrong", "token", "--json")

    assert result.code == 4
    assert result.out == ""
    assert "invalid_client" in result.err
    assert "Traceback" not in result.err
    assert "wrong" not in result.err

    debug = await cli("--client-secret", "wrong", "token", "--debug")
    assert debug.code == 4
    assert "Traceback" in debug.err
    assert "TokenError" in debug.err


def test_missing_credentials_are_a_configuration_error(cli_sync: SyncRun) -> None:
    result = cli_sync("token")

    assert result.code == 3
    assert "SMARTCAR_CLIENT_ID" in result.err
    assert result.out == ""


def test_an_unreachable_token_endpoint_is_a_connection_error(cli_sync: SyncRun) -> None:
    # A port nobody listens on: bound, never listening, so connecting is refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        result = cli_sync(
            "--client-id", "client_x", "--client-secret", "s",
            "--token-url", f"http://127.0.0.1:{port}/oauth2/token",
            "token",
        )  # fmt: skip

    assert result.code == 5
    assert "token endpoint" in result.err


def test_an_http_url_to_a_remote_host_is_refused(cli_sync: SyncRun) -> None:
    result = cli_sync(
        "--client-id", "client_x", "--client-secret", "s",
        "--token-url", "http://iam.example.com/oauth2/token",
        "token",
    )  # fmt: skip

    assert result.code == 3
    assert "non-loopback" in result.err


def test_usage_error(cli_sync: SyncRun) -> None:
    result = cli_sync("token", "--no-such-option")

    assert result.code == 2
    assert "usage:" in result.err


def test_exit_codes_follow_the_public_error_classes() -> None:
    # The CLI reads the class alone: no look at private causes or status codes.
    from smartcar_async.cli._exit import ExitCode, describe, exit_code_for

    outage = sc.TokenConnectionError("could not reach the token endpoint", url="https://x/t")
    refusal = sc.TokenError("token endpoint answered 401: invalid_client", status_code=401)
    assert exit_code_for(outage) == ExitCode.CONNECTION
    assert "reachable" in (describe(outage)[1] or "")
    assert exit_code_for(refusal) == ExitCode.TOKEN
    assert "client id and secret" in (describe(refusal)[1] or "")

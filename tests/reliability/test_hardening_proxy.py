"""Hardening, proxies (issue 15, item 15): ``proxy=`` and ``trust_env=`` on
`SmartcarClient`, against a recording proxy on loopback.

The API and token URLs point at a loopback port where nothing listens: a call succeeds
only if it went through the proxy, which records each request line and answers like
the API (a plain-http proxy gets absolute-form requests, ``GET http://host/path``).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest
from reliability_support import TIMEOUT, answer, client_at, loopback, read_request

from smartcar_async import (
    APIConnectionError,
    ConfigurationError,
    SmartcarClient,
    SmartcarError,
    TokenError,
)
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class RecordingProxy:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.url = ""

    async def serve(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            lines, _ = await read_request(stream)
            self.lines.append(lines[0])
            if "/oauth2/token" in lines[0]:
                body = {"access_token": "tok", "expires_in": 3600}
            else:
                body = {"id": "v"}
            await answer(stream, json.dumps(body).encode())


@asynccontextmanager
async def recording_proxy() -> AsyncIterator[RecordingProxy]:
    proxy = RecordingProxy()
    async with loopback(proxy.serve) as url:
        proxy.url = url
        yield proxy


def dead_base() -> str:
    """A loopback URL whose port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_proxy_sends_every_request_through_the_proxy() -> None:
    base = dead_base()
    async with recording_proxy() as proxy, client_at(base, proxy=proxy.url) as client:
        with anyio.fail_after(TIMEOUT):
            response, _ = await client.request("GET", "vehicle", "/vehicles/v")
    assert response.json() == {"id": "v"}
    assert proxy.lines == [
        f"POST {base}/oauth2/token HTTP/1.1",
        f"GET {base}/v3/vehicles/v HTTP/1.1",
    ]


async def test_trust_env_takes_the_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = dead_base()
    async with recording_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with client_at(base, trust_env=True) as client:
            with anyio.fail_after(TIMEOUT):
                await client.request("GET", "vehicle", "/vehicles/v")
    assert len(proxy.lines) == 2


async def test_the_environment_is_ignored_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    base = dead_base()
    async with recording_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        async with client_at(base) as client:
            with anyio.fail_after(TIMEOUT), pytest.raises(TokenError):
                await client.request("GET", "vehicle", "/vehicles/v")
    assert proxy.lines == []


async def test_no_proxy_exempts_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = SmartcarEmulator(vehicles=1, seed=15)
    async with recording_proxy() as proxy, emulator.serve() as served:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        # The token endpoint is exempt (and really there); the API is behind the proxy.
        monkeypatch.setenv("NO_PROXY", "localhost")
        token_base = served.replace("127.0.0.1", "localhost")
        client = SmartcarClient(
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            token_url=f"{token_base}/oauth2/token",
            vehicle_api_url=f"{dead_base()}/v3",
            management_api_url=f"{dead_base()}/management/v3",
            trust_env=True,
        )
        async with client:
            with anyio.fail_after(TIMEOUT):
                await client.request("GET", "vehicle", "/vehicles/v")
    assert emulator.stats.token_requests == 1
    assert [line.split()[0] for line in proxy.lines] == ["GET"]


async def test_a_dead_proxy_is_a_connection_error() -> None:
    async with client_at(dead_base(), proxy=dead_base()) as client:
        with anyio.fail_after(TIMEOUT), pytest.raises(SmartcarError) as caught:
            await client.request("GET", "vehicle", "/vehicles/v")
    assert isinstance(caught.value, (TokenError, APIConnectionError))


def test_proxy_with_your_own_client_or_transport_is_a_configuration_error() -> None:
    import httpx

    emulator = SmartcarEmulator(vehicles=0, seed=15)
    with pytest.raises(ConfigurationError, match="proxy"):
        SmartcarClient(**emulator.client_kwargs(), proxy="http://127.0.0.1:3128")
    with pytest.raises(ConfigurationError, match="proxy"):
        SmartcarClient(
            client_id="client_x", client_secret="s", http_client=httpx.AsyncClient(), trust_env=True
        )

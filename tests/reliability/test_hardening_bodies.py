"""Hardening, response bodies (issue 15, item 9): the decoded body is capped on every
transport: the default sharded one and the aiohttp one over loopback sockets, and a
user's own ``http_client``.

Each body is valid JSON (an object padded with whitespace), so without the cap the call
would succeed after reading it all. The peak-memory figures for an 800 MB gzip bomb were
measured by hand (see docs/reliability.md).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable

import anyio
import anyio.abc
import httpx
import pytest
from reliability_support import TIMEOUT, answer, client_at, loopback, read_request

from smartcar_async import APIResponseError, NotFoundError, SmartcarClient
from smartcar_async._aiohttp_transport import AiohttpTransport
from smartcar_async._transport import ShardedTransport

pytestmark = pytest.mark.anyio

CAP = 1024 * 1024
PADDED = b'{"id": "v"' + b" " * (2 * CAP) + b"}"  # 2 MiB of valid JSON
BOMB = gzip.compress(PADDED, compresslevel=9)  # about 2 KiB on the wire
SMALL = json.dumps({"id": "v"}).encode()
TOKEN = json.dumps({"access_token": "tok", "expires_in": 3600}).encode()


def _answer(path: str) -> tuple[str, dict[str, str], bytes]:
    if path.endswith("/oauth2/token"):
        return "200 OK", {}, TOKEN
    if path.endswith("/plain"):
        return "200 OK", {}, PADDED
    if path.endswith("/gzip"):
        return "200 OK", {"Content-Encoding": "gzip"}, BOMB
    if path.endswith("/error"):
        return "404 Not Found", {"Content-Encoding": "gzip"}, BOMB
    return "200 OK", {}, SMALL


async def _serve_one(stream: anyio.abc.SocketStream) -> None:
    async with stream:
        lines, _ = await read_request(stream)
        status, headers, body = _answer(lines[0].split(" ")[1])
        await answer(stream, body, status=status, headers=headers)


def _client(base: str, **options: object) -> SmartcarClient:
    return client_at(base, max_response_size=CAP, **options)


Factory = Callable[[], dict[str, object]]
TRANSPORTS: dict[str, Factory] = {
    "sharded": lambda: {"transport": ShardedTransport()},
    "aiohttp": lambda: {"transport": AiohttpTransport()},
    "user http_client": lambda: {"http_client": httpx.AsyncClient()},
}
CASES = [
    pytest.param(kind, backend, id=f"{kind}-{backend}")
    for kind in TRANSPORTS
    for backend in ("asyncio", "trio")
    if not (kind == "aiohttp" and backend == "trio")  # aiohttp runs on asyncio only
]


@pytest.mark.parametrize(("kind", "anyio_backend"), CASES)
@pytest.mark.parametrize("path", ["/vehicles/plain", "/vehicles/gzip"])
async def test_a_body_past_the_cap_is_an_api_response_error(kind: str, path: str) -> None:
    async with loopback(_serve_one) as base:
        options = TRANSPORTS[kind]()
        async with _client(base, **options) as client:
            with anyio.fail_after(TIMEOUT):
                response, _ = await client.request("GET", "vehicle", "/vehicles/small")
                assert response.json() == {"id": "v"}  # under the cap: untouched
                with pytest.raises(APIResponseError, match="max_response_size") as caught:
                    await client.request("GET", "vehicle", path)
            assert caught.value.status_code == 200
        http = options.get("http_client")
        if isinstance(http, httpx.AsyncClient):
            await http.aclose()


@pytest.mark.parametrize(("kind", "anyio_backend"), CASES)
async def test_an_error_body_past_the_cap_is_capped_too(kind: str) -> None:
    async with loopback(_serve_one) as base:
        options = TRANSPORTS[kind]()
        async with _client(base, **options) as client:
            with anyio.fail_after(TIMEOUT), pytest.raises(APIResponseError) as caught:
                await client.request("GET", "vehicle", "/vehicles/error")
        assert not isinstance(caught.value, NotFoundError)
        assert caught.value.status_code == 404
        http = options.get("http_client")
        if isinstance(http, httpx.AsyncClient):
            await http.aclose()

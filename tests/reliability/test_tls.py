"""TLS: certificates are verified by default, and a user's own CA is honoured when given.

A tiny HTTPS server on loopback (anyio's TLS listener, so it runs on asyncio and trio)
serves the emulator with a certificate from a throwaway CA (trustme). Then:

- the SDK as configured by default refuses it: the token request fails with
  `TokenError`, an API call (with a token already at hand) with `APIConnectionError`,
  both caused by the certificate check, and not one HTTP request reaches the server;
- it is accepted only when the user passes the CA: ``SmartcarClient(verify=ctx)``,
  ``http_client=httpx.AsyncClient(verify=ctx)``, or a transport built with it;
- the host name is checked too: a certificate for another name is refused even from
  the trusted CA.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import trustme
from anyio.abc import ByteStream, SocketAttribute
from anyio.streams.tls import TLSListener
from reliability_support import TIMEOUT, autojump, error_chain

from smartcar_async import (
    AccessToken,
    APIConnectionError,
    APITimeoutError,
    InMemoryTokenStore,
    SmartcarClient,
    TokenError,
    VirtualClock,
)
from smartcar_async._transport import ShardedTransport
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, host: str = "127.0.0.1") -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(ctx)
    return ctx


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


async def _read_request(stream: ByteStream) -> tuple[str, str, list[tuple[str, str]], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = [tuple(line.split(":", 1)) for line in lines[1:]]
    pairs = [(name.strip(), value.strip()) for name, value in headers]
    length = int(next((v for k, v in pairs if k.lower() == "content-length"), "0"))
    while len(body) < length:
        body += await stream.receive()
    return method, target, pairs, body


@contextlib.asynccontextmanager
async def https_emulator(emulator: SmartcarEmulator, ctx: ssl.SSLContext) -> AsyncIterator[str]:
    """Serve ``emulator`` over HTTPS on 127.0.0.1 (one request per connection)."""
    transport = emulator.transport()
    listener = TLSListener(
        await anyio.create_tcp_listener(local_host="127.0.0.1"), ctx, standard_compatible=False
    )
    port = listener.listener.extra(SocketAttribute.local_port)
    base = f"https://127.0.0.1:{port}"

    async def serve_one(stream: ByteStream) -> None:
        async with stream:
            try:
                method, target, headers, body = await _read_request(stream)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return
            request = httpx.Request(method, base + target, headers=headers, content=body)
            response = await transport.handle_async_request(request)
            content = await response.aread()
            lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
            lines += [
                f"{name}: {value}"
                for name, value in response.headers.items()
                if name.lower() not in ("content-length", "transfer-encoding", "connection")
            ]
            lines += [f"content-length: {len(content)}", "connection: close", "", ""]
            await stream.send("\r\n".join(lines).encode("latin-1") + content)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve_one)
        try:
            yield base
        finally:
            tg.cancel_scope.cancel()


def urls(base: str) -> dict[str, str]:
    return {
        "token_url": f"{base}/oauth2/token",
        "vehicle_api_url": f"{base}/v3",
        "management_api_url": f"{base}/management/v3",
    }


def caused_by_certificate(error: BaseException) -> bool:
    return any(isinstance(e, ssl.SSLCertVerificationError) for e in error_chain(error))


class HeldToken(InMemoryTokenStore):
    """A store that already holds a valid token, so no token request is needed."""

    def __init__(self, value: str, now: float) -> None:
        super().__init__()
        self._token = AccessToken(value=value, expires_at=now + 3600, lifetime=3600)


@pytest.fixture
def emulator() -> SmartcarEmulator:
    return SmartcarEmulator(vehicles=1, seed=5)


async def test_the_default_client_refuses_an_untrusted_certificate(
    emulator: SmartcarEmulator, ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    car = emulator.fleet()[0]
    clock = VirtualClock()  # connect errors are retried: let the backoff take no time
    credentials = {"client_id": emulator.client_id, "client_secret": emulator.client_secret}
    with anyio.fail_after(TIMEOUT):
        async with https_emulator(emulator, server_context(ca)) as base:
            client = SmartcarClient(**credentials, **urls(base), clock=clock)
            async with client, autojump(clock):
                with pytest.raises(TokenError) as token_error:
                    await client.vehicles.get(car.vehicle_id)
            held = HeldToken(emulator.issue_token(), clock.now())
            client = SmartcarClient(**credentials, **urls(base), clock=clock, token_store=held)
            async with client, autojump(clock):
                with pytest.raises(APIConnectionError) as api_error:
                    await client.vehicles.get(car.vehicle_id)
    assert caused_by_certificate(token_error.value)
    assert caused_by_certificate(api_error.value)
    assert not isinstance(api_error.value, APITimeoutError)
    assert emulator.stats.total_requests == 0  # nothing got past the handshake


async def test_a_users_own_ca_is_honoured(emulator: SmartcarEmulator, ca: trustme.CA) -> None:
    car = emulator.fleet()[0]
    credentials = {"client_id": emulator.client_id, "client_secret": emulator.client_secret}
    with anyio.fail_after(TIMEOUT):
        async with https_emulator(emulator, server_context(ca)) as base:
            async with (
                httpx.AsyncClient(verify=trusting(ca)) as http,
                SmartcarClient(**credentials, **urls(base), http_client=http) as client,
            ):
                vehicle = await client.vehicles.get(car.vehicle_id)
            transport = ShardedTransport(verify=trusting(ca))
            async with SmartcarClient(**credentials, **urls(base), transport=transport) as client:
                signals = await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
            async with SmartcarClient(**credentials, **urls(base), verify=trusting(ca)) as client:
                again = await client.vehicles.get(car.vehicle_id)
    assert vehicle.id == again.id == car.vehicle_id
    assert len(signals) > 0
    assert emulator.stats.requests["GET /vehicles/{id}"] == 2


async def test_the_host_name_is_checked_even_with_a_trusted_ca(
    emulator: SmartcarEmulator, ca: trustme.CA
) -> None:
    car = emulator.fleet()[0]
    clock = VirtualClock()
    credentials = {"client_id": emulator.client_id, "client_secret": emulator.client_secret}
    with anyio.fail_after(TIMEOUT):
        async with https_emulator(emulator, server_context(ca, host="api.example.com")) as base:
            held = HeldToken(emulator.issue_token(), clock.now())
            async with (
                httpx.AsyncClient(verify=trusting(ca)) as http,
                SmartcarClient(
                    **credentials, **urls(base), http_client=http, clock=clock, token_store=held
                ) as client,
                autojump(clock),
            ):
                with pytest.raises(APIConnectionError) as info:
                    await client.vehicles.get(car.vehicle_id)
    assert caused_by_certificate(info.value)
    assert "mismatch" in str(next(e for e in error_chain(info.value)
                                  if isinstance(e, ssl.SSLCertVerificationError)))  # fmt: skip
    assert emulator.stats.total_requests == 0

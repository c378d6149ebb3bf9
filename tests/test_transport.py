"""The default `ShardedTransport` and the opt-in `AiohttpTransport`.

Every test talks to `_Server`, a tiny HTTP/1.1 server started in-process on loopback,
whose behaviour is chosen by the request path. Nothing here sleeps to wait: the server
signals what it has seen (a barrier, arrival counters), and every test is bounded by
`anyio.fail_after`. The few real waits are the short timeouts under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import json
import socket
import ssl
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import httpcore
import httpx
import pytest
import respx
import trustme
from anyio.abc import SocketAttribute
from anyio.streams.tls import TLSListener

from smartcar_async._aiohttp_transport import AiohttpTransport
from smartcar_async._network import AsyncioStream, NetworkBackend, _Protocol
from smartcar_async._transport import DEFAULT_SHARD_SIZE, ShardedTransport, default_transport

pytestmark = pytest.mark.anyio

# (transport kind, backend): aiohttp runs on asyncio only; "httpx" is httpx's own
# AsyncHTTPTransport, the reference the other two must match.
BOTH = pytest.mark.parametrize(
    ("kind", "anyio_backend"),
    [("sharded", "asyncio"), ("sharded", "trio"), ("aiohttp", "asyncio")],
)
WITH_REFERENCE = pytest.mark.parametrize(
    ("kind", "anyio_backend"),
    [
        ("httpx", "asyncio"),
        ("httpx", "trio"),
        ("sharded", "asyncio"),
        ("sharded", "trio"),
        ("aiohttp", "asyncio"),
    ],
)
ASYNCIO_ONLY = pytest.mark.parametrize("anyio_backend", ["asyncio"])


# ------------------------------------------------------------------------ test server


class _Server:
    """A loopback HTTP/1.1 server whose answer depends on the path.

    | path | answer |
    | --- | --- |
    | ``/ok`` | 200 ``{}`` |
    | ``/bytes/N`` | N bytes, written in 64 KiB pieces |
    | ``/echo`` | the request body (Content-Length or chunked) |
    | ``/headers`` | the request headers as a JSON list of pairs |
    | ``/gzip`` | a gzip-encoded body |
    | ``/cookie`` | sets a cookie |
    | ``/barrier`` | answers once ``barrier`` requests are waiting |
    | ``/hang`` | never answers (counts arrivals in ``hung``) |
    | ``/close`` | closes without answering |
    | ``/partial`` | promises 1000 bytes, sends 10, closes |
    | ``/stall-body`` | promises 1000 bytes, sends 10, then nothing |
    | ``/partial-reset`` | promises 1000 bytes, sends 10, resets |
    | ``/garbage`` | a status line that is not HTTP |
    | ``/reset`` | resets the connection (RST) |
    | ``/no-read`` | stops reading: the request body never drains |
    | ``/reset-upload`` | resets the connection as soon as the head is read |
    """

    def __init__(self) -> None:
        self.port = 0
        self.scheme = "http"
        self.open = 0
        self.peak = 0
        self.requests = 0
        self.barrier = 0
        self._arrived = 0
        self._released = anyio.Event()
        self.hung = 0
        self.hang_target = 0
        self.all_hung = anyio.Event()
        self.seen: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self._streams: set[anyio.abc.ByteStream] = set()

    async def close_all(self) -> None:
        """Close the server's end of every open connection."""
        for stream in list(self._streams):
            await stream.aclose()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def set_barrier(self, n: int) -> None:
        self.barrier, self._arrived, self._released = n, 0, anyio.Event()

    def expect_hung(self, n: int) -> None:
        self.hung, self.hang_target, self.all_hung = 0, n, anyio.Event()

    async def handle(self, stream: anyio.abc.ByteStream) -> None:
        self.open += 1
        self.peak = max(self.peak, self.open)
        self._streams.add(stream)
        buf = bytearray()
        try:
            while True:
                head = await _read_until(stream, buf, b"\r\n\r\n")
                if head is None:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = [
                    (k.strip().lower(), v.strip())
                    for k, v in (ln.split(":", 1) for ln in lines[1:])
                ]
                if target == "/no-read":
                    await anyio.sleep_forever()
                if target == "/reset-upload":
                    _reset(stream)
                    return
                body = await _read_body(stream, buf, dict(headers))
                self.requests += 1
                self.seen.append((method, target, headers, body))
                if not await self._answer(stream, target, headers, body):
                    return
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return
        except OSError:
            return
        finally:
            self.open -= 1
            self._streams.discard(stream)
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def _answer(
        self,
        stream: anyio.abc.ByteStream,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bool:
        if target == "/ok":
            await stream.send(_response(b"{}"))
        elif target.startswith("/bytes/"):
            size = int(target.rsplit("/", 1)[1])
            await stream.send(_head(size))
            for start in range(0, size, 65536):
                await stream.send(b"x" * min(65536, size - start))
        elif target == "/echo":
            await stream.send(_response(body, b"application/octet-stream"))
        elif target == "/headers":
            await stream.send(_response(json.dumps(headers).encode()))
        elif target == "/gzip":
            await stream.send(
                _response(gzip.compress(b"hello gzip"), extra=b"content-encoding: gzip\r\n")
            )
        elif target == "/cookie":
            await stream.send(_response(b"{}", extra=b"set-cookie: a=1; Path=/\r\n"))
        elif target == "/barrier":
            self._arrived += 1
            if self._arrived >= self.barrier:
                self._released.set()
            await self._released.wait()
            await stream.send(_response(b"{}"))
        elif target == "/hang":
            self.hung += 1
            if self.hung >= self.hang_target:
                self.all_hung.set()
            await anyio.sleep_forever()
        elif target == "/close":
            return False
        elif target == "/partial":
            await stream.send(_head(1000) + b"x" * 10)
            return False
        elif target == "/stall-body":
            await stream.send(_head(1000) + b"x" * 10)
            await anyio.sleep_forever()
        elif target == "/partial-reset":
            await stream.send(_head(1000) + b"x" * 10)
            _reset(stream)
            return False
        elif target == "/garbage":
            await stream.send(b"SPAM SPAM SPAM\r\n\r\n")
            return False
        elif target == "/reset":
            _reset(stream)
            return False
        else:
            await stream.send(_response(b"not found", status=b"404 Not Found"))
        return True


def _reset(stream: anyio.abc.ByteStream) -> None:
    """Make the coming close() send RST instead of FIN (linger 0)."""
    raw: socket.socket = stream.extra(SocketAttribute.raw_socket)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _head(length: int, content_type: bytes = b"application/json", extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
        + str(length).encode() + b"\r\n" + extra + b"\r\n"
    )  # fmt: skip


def _response(
    body: bytes,
    content_type: bytes = b"application/json",
    *,
    extra: bytes = b"",
    status: bytes = b"200 OK",
) -> bytes:
    head = _head(len(body), content_type, extra)
    return head.replace(b"200 OK", status, 1) + body


async def _read_until(stream: anyio.abc.ByteStream, buf: bytearray, sep: bytes) -> bytes | None:
    while True:
        at = buf.find(sep)
        if at >= 0:
            out = bytes(buf[:at])
            del buf[: at + len(sep)]
            return out
        try:
            buf += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return None


async def _read_exactly(stream: anyio.abc.ByteStream, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        buf += await stream.receive()
    out = bytes(buf[:n])
    del buf[:n]
    return out


async def _read_body(
    stream: anyio.abc.ByteStream, buf: bytearray, headers: dict[str, str]
) -> bytes:
    if "chunked" in headers.get("transfer-encoding", ""):
        body = bytearray()
        while True:
            line = await _read_until(stream, buf, b"\r\n")
            if line is None:
                raise anyio.EndOfStream
            size = int(line.split(b";")[0], 16)
            if size == 0:
                await _read_until(stream, buf, b"\r\n")
                return bytes(body)
            body += await _read_exactly(stream, buf, size)
            await _read_exactly(stream, buf, 2)
    return await _read_exactly(stream, buf, int(headers.get("content-length", "0")))


@contextlib.asynccontextmanager
async def _serving(tls: ssl.SSLContext | None = None) -> AsyncIterator[_Server]:
    server = _Server()
    listener: anyio.abc.Listener[Any] = await anyio.create_tcp_listener(
        local_host="127.0.0.1", backlog=2048
    )
    server.port = listener.extra(SocketAttribute.local_port)
    if tls is not None:
        server.scheme = "https"
        listener = TLSListener(listener, tls, standard_compatible=False)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, server.handle)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()


# -------------------------------------------------------------------------- transports

LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30)


def _transport(kind: str, limits: httpx.Limits = LIMITS, **kwargs: Any) -> httpx.AsyncBaseTransport:
    shard_size = kwargs.pop("shard_size", 4)
    if kind == "sharded":
        return ShardedTransport(limits=limits, shard_size=shard_size, **kwargs)
    if kind == "aiohttp":
        return AiohttpTransport(limits=limits, **kwargs)
    return httpx.AsyncHTTPTransport(limits=limits, **kwargs)


def _in_flight(transport: httpx.AsyncBaseTransport) -> int:
    assert isinstance(transport, (ShardedTransport, AiohttpTransport))
    return transport.in_flight


# A shard that counts what httpcore's pool does per request: every call of the
# connection-state checks the pool runs in its bookkeeping (is_closed, has_expired,
# is_idle, is_available, can_handle_request), through the pool's public
# create_connection() hook.


class _Counts:
    def __init__(self) -> None:
        self.inspections = 0
        self.requests = 0
        self.connections_created = 0


class _CountingConnection(httpcore.AsyncHTTPConnection):
    def __init__(self, counts: _Counts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._counts = counts

    def is_closed(self) -> bool:
        self._counts.inspections += 1
        return super().is_closed()

    def has_expired(self) -> bool:
        self._counts.inspections += 1
        return super().has_expired()

    def is_idle(self) -> bool:
        self._counts.inspections += 1
        return super().is_idle()

    def is_available(self) -> bool:
        self._counts.inspections += 1
        return super().is_available()

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        self._counts.inspections += 1
        return super().can_handle_request(origin)


class _CountingPool(httpcore.AsyncConnectionPool):
    def __init__(self, counts: _Counts, limits: httpx.Limits) -> None:
        super().__init__(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )
        self._counts = counts
        self._expiry = limits.keepalive_expiry

    def create_connection(self, origin: httpcore.Origin) -> httpcore.AsyncConnectionInterface:
        self._counts.connections_created += 1
        return _CountingConnection(self._counts, origin=origin, keepalive_expiry=self._expiry)


class _CountingShard(httpx.AsyncBaseTransport):
    def __init__(self, counts: _Counts, limits: httpx.Limits) -> None:
        self.limits = limits
        self.pool = _CountingPool(counts, limits)
        self.counts = counts
        self.requests = 0
        self.active = 0
        self.peak_active = 0
        self.peak_connections = 0
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        self.counts.requests += 1
        self.requests += 1
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with _httpcore_to_httpx():
                response = await self.pool.handle_async_request(core)
        except BaseException:
            self.active -= 1
            raise
        self.peak_connections = max(self.peak_connections, len(self.pool.connections))
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=_CountingStream(response.stream, self),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        self.closed = True
        await self.pool.aclose()

    def checked_out(self) -> int:
        """Requests still open here plus connections neither idle nor closed."""
        busy = [c for c in self.pool.connections if not (c.is_idle() or c.is_closed())]
        return self.active + len(busy)


@contextlib.contextmanager
def _httpcore_to_httpx() -> Any:
    # Enough for these tests: httpx names its exceptions after httpcore's.
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise getattr(httpx, type(exc).__name__)(str(exc)) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise getattr(httpx, type(exc).__name__)(str(exc)) from exc


class _CountingStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any, shard: _CountingShard) -> None:
        self._stream = stream
        self._shard: _CountingShard | None = shard

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpcore_to_httpx():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        shard, self._shard = self._shard, None
        if shard is not None:
            try:
                await self._stream.aclose()
            finally:
                shard.active -= 1


def _counting_factory(
    counts: _Counts, shards: list[_CountingShard]
) -> Callable[[httpx.Limits], httpx.AsyncBaseTransport]:
    def factory(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        shard = _CountingShard(counts, limits)
        shards.append(shard)
        return shard

    return factory


# ------------------------------------------------------------- 1. cost per request


def _bound(pool_size: int) -> int:
    """Most connection checks httpcore can make for one request in a pool this big.

    One bookkeeping pass checks each of the n connections 3 times, plus an is_idle()
    over the whole pool for each idle one (n * (3 + n)), then up to 3 checks per
    connection for the queued request (3n); the connection checks the origin once
    more when it is used. A request takes one pass when it arrives, one more each time
    the connection it was given turns out to be taken by a request that arrived in the
    same tick (at most n - 1 times), and one when its response closes.
    """
    n = pool_size
    return (n + 1) * (n * (3 + n) + 3 * n + 1)


async def _drive_waves(
    transport: httpx.AsyncBaseTransport, server: _Server, concurrency: int
) -> None:
    """Two waves of ``concurrency`` requests, all in flight at once (server barrier).

    The first wave opens the connections, the second reuses them while they sit idle
    in the pools, which is when httpcore's bookkeeping is most expensive.
    """
    async with httpx.AsyncClient(transport=transport, timeout=30) as client:
        for _ in range(2):
            server.set_barrier(concurrency)
            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(client.get, f"{server.url}/barrier")


async def test_work_per_request_does_not_grow_with_the_number_of_connections() -> None:
    with anyio.fail_after(120):
        async with _serving() as server:
            per_request: dict[int, float] = {}
            for total in (64, 1000):
                counts, shards = _Counts(), []
                transport = ShardedTransport(
                    # A long keep-alive: on a loaded machine the two waves may be more
                    # than httpx's default 5 s apart, and an expired connection reopened
                    # would be counted twice.
                    limits=httpx.Limits(
                        max_connections=total, max_keepalive_connections=total, keepalive_expiry=600
                    ),
                    shard_factory=_counting_factory(counts, shards),
                )
                server.peak = 0
                await _drive_waves(transport, server, total)
                await transport.aclose()
                # Really this many connections, all open at once ...
                assert server.peak == total
                assert counts.connections_created == total
                # ... but no request ever went through a pool bigger than a shard.
                assert max(s.peak_connections for s in shards) <= DEFAULT_SHARD_SIZE
                assert max(s.peak_active for s in shards) <= DEFAULT_SHARD_SIZE
                per_request[total] = counts.inspections / counts.requests
                assert per_request[total] <= _bound(DEFAULT_SHARD_SIZE)

            # 15.6x the connections, not more work per request (a little slack for
            # how the waves happen to spread over the shards).
            assert per_request[1000] <= per_request[64] * 1.5

            # Control: the same counting on one httpcore pool of 64 connections (what
            # httpx does) shows the growth the shards avoid.
            counts, shards = _Counts(), []
            single = ShardedTransport(
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
                shard_size=64,
                shard_factory=_counting_factory(counts, shards),
            )
            await _drive_waves(single, server, 64)
            await single.aclose()
            assert len(shards) == 1
            assert counts.inspections / counts.requests > 10 * per_request[1000]


async def test_the_least_busy_shard_gets_the_request_and_warm_shards_are_reused() -> None:
    with anyio.fail_after(30):
        async with _serving() as server:
            counts, shards = _Counts(), []
            transport = ShardedTransport(
                limits=httpx.Limits(max_connections=32),
                shard_size=4,
                shard_factory=_counting_factory(counts, shards),
            )
            async with httpx.AsyncClient(transport=transport) as client:
                for _ in range(5):  # one after another: one shard, one warm connection
                    assert (await client.get(f"{server.url}/ok")).status_code == 200
                assert len(shards) == 1
                assert counts.connections_created == 1

                server.set_barrier(6)  # six at once: spread over six shards
                async with anyio.create_task_group() as tg:
                    for _ in range(6):
                        tg.start_soon(client.get, f"{server.url}/barrier")
                assert len(shards) == 6
                assert [s.peak_active for s in shards] == [1] * 6

                # One after another again: all on the shard released last (warm),
                # not round-robin over the six.
                before = [s.requests for s in shards]
                for _ in range(5):
                    assert (await client.get(f"{server.url}/ok")).status_code == 200
                added = sorted(s.requests - b for s, b in zip(shards, before, strict=True))
                assert added == [0, 0, 0, 0, 0, 5]
            assert transport.in_flight == 0


# ------------------------------------------------------------------------- 2. respx


async def test_respx_default_mocking_intercepts_the_default_transport() -> None:
    with anyio.fail_after(10):
        url = "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals"
        transport = ShardedTransport()
        with respx.mock(assert_all_called=True) as router:
            route = router.get(url).respond(200, json={"data": [{"id": "closure-islocked"}]})
            async with httpx.AsyncClient(transport=transport) as client:
                response = await client.get(url)
        assert route.call_count == 1
        assert response.json() == {"data": [{"id": "closure-islocked"}]}
        assert transport.in_flight == 0


async def test_default_transport_factory_builds_a_sharded_transport() -> None:
    with anyio.fail_after(10):
        transport = default_transport(httpx.Limits(max_connections=20))
        assert isinstance(transport, ShardedTransport)
        with respx.mock() as router:
            router.post("https://iam.smartcar.com/oauth2/token").respond(200, json={"ok": 1})
            async with httpx.AsyncClient(transport=transport) as client:
                response = await client.post("https://iam.smartcar.com/oauth2/token")
        assert response.json() == {"ok": 1}


@ASYNCIO_ONLY
async def test_respx_mocks_the_aiohttp_transport_at_the_client_level() -> None:
    with anyio.fail_after(10):
        url = "https://vehicle.api.smartcar.com/v3/vehicles/v1"
        transport = AiohttpTransport()
        with respx.mock(using="httpx") as router:
            route = router.get(url).respond(200, json={"data": {"id": "v1"}})
            async with httpx.AsyncClient(transport=transport) as client:
                response = await client.get(url)
        assert route.called
        assert response.json() == {"data": {"id": "v1"}}


# ----------------------------------------------- 3. nothing stays checked out after chaos


async def _chaos(client: httpx.AsyncClient, server: _Server, slots: int) -> None:
    """Errors, abandoned bodies, timeouts and cancellations, all at once."""
    url = server.url

    async def expect_error(path: str) -> None:
        with pytest.raises(httpx.TransportError):
            await client.get(f"{url}{path}")

    async def abandon_body() -> None:
        # Leave 1 MB unread: the connection must be closed, not put back in the pool.
        # (Not read at all: breaking out of aiter_raw() would leave async generators
        # to the garbage collector, which trio reports as a ResourceWarning.)
        async with client.stream("GET", f"{url}/bytes/1000000") as response:
            assert response.status_code == 200

    async def read_timeout() -> None:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}/stall-body", timeout=httpx.Timeout(5, read=0.05))

    async with anyio.create_task_group() as tg:
        for i in range(6 * slots):
            job = i % 6
            if job == 0:
                tg.start_soon(client.get, f"{url}/ok")
            elif job == 1:
                tg.start_soon(expect_error, "/close")
            elif job == 2:
                tg.start_soon(expect_error, "/partial")
            elif job == 3:
                tg.start_soon(expect_error, "/garbage")
            elif job == 4:
                tg.start_soon(abandon_body)
            else:
                tg.start_soon(read_timeout)

    # Every slot taken by a request that never gets an answer, more queued behind
    # them; cancel all of them once the server holds every slot.
    server.expect_hung(slots)
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            for _ in range(slots):
                tg.start_soon(client.get, f"{url}/hang")
            for _ in range(slots):
                tg.start_soon(client.get, f"{url}/ok")
            await server.all_hung.wait()
            scope.cancel()


async def _all_slots_usable(client: httpx.AsyncClient, server: _Server, slots: int) -> None:
    """``slots`` requests must be in flight at once; a leaked slot makes this time out."""
    server.set_barrier(slots)
    async with anyio.create_task_group() as tg:
        for _ in range(slots):
            tg.start_soon(client.get, f"{server.url}/barrier")


@BOTH
async def test_no_connection_stays_checked_out_after_errors_and_cancellations(kind: str) -> None:
    slots = 8
    limits = httpx.Limits(max_connections=slots, max_keepalive_connections=slots)
    with anyio.fail_after(60):
        async with _serving() as server:
            transport = _transport(kind, limits)
            timeout = httpx.Timeout(10, pool=5)
            async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
                await _chaos(client, server, slots)
                assert _in_flight(transport) == 0
                await _all_slots_usable(client, server, slots)
                assert _in_flight(transport) == 0


async def test_no_pool_keeps_a_connection_checked_out_after_chaos() -> None:
    slots = 8
    limits = httpx.Limits(max_connections=slots, max_keepalive_connections=slots)
    with anyio.fail_after(60):
        async with _serving() as server:
            counts, shards = _Counts(), []
            transport = ShardedTransport(
                limits=limits, shard_size=4, shard_factory=_counting_factory(counts, shards)
            )
            timeout = httpx.Timeout(10, pool=5)
            async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
                await _chaos(client, server, slots)
                assert transport.in_flight == 0
                assert [s.checked_out() for s in shards] == [0, 0]
                await _all_slots_usable(client, server, slots)
                assert [s.checked_out() for s in shards] == [0, 0]


# ----------------------------------------------------- 4. errors map to httpx exceptions


@contextlib.contextmanager
def _refused_port() -> Any:
    """A bound port nobody listens on: connecting is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def _full_backlog_port() -> Any:
    """A listener that never accepts, its backlog full: a connect hangs (SYN dropped)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = sock.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        yield port
    finally:
        filler.close()
        sock.close()


class _EndlessBody(httpx.AsyncByteStream):
    """An upload that never ends. An iterator, not an async generator: the transport
    abandons it mid-way, and trio warns about abandoned async generators."""

    def __aiter__(self) -> _EndlessBody:  # type: ignore[override]
        return self

    async def __anext__(self) -> bytes:
        await anyio.lowlevel.checkpoint()
        return b"x" * 65536


_SHORT = 0.1


async def _provoke(case: str, client: httpx.AsyncClient, server: _Server) -> None:
    """Make the failure named ``case`` happen."""
    url = server.url
    if case == "connect refused":
        with _refused_port() as port:
            await client.get(f"http://127.0.0.1:{port}/")
    elif case == "connect timeout":
        with _full_backlog_port() as port:
            await client.get(f"http://127.0.0.1:{port}/", timeout=httpx.Timeout(10, connect=_SHORT))
    elif case == "read timeout waiting for the response":
        await client.get(f"{url}/hang", timeout=httpx.Timeout(10, read=_SHORT))
    elif case == "read timeout in the body":
        await client.get(f"{url}/stall-body", timeout=httpx.Timeout(10, read=_SHORT))
    elif case == "write timeout":
        request = httpx.Request(
            "POST",
            f"{url}/no-read",
            headers={"host": f"127.0.0.1:{server.port}", "transfer-encoding": "chunked"},
            stream=_EndlessBody(),
            extensions={"timeout": httpx.Timeout(10, write=_SHORT).as_dict()},
        )
        await client.send(request)
    elif case == "pool timeout":  # the only connection is held by an open response
        async with client.stream("GET", f"{url}/ok"):
            await client.get(f"{url}/ok", timeout=httpx.Timeout(10, pool=_SHORT))
    elif case == "closed without a response":
        await client.get(f"{url}/close")
    elif case == "closed in the middle of the body":
        await client.get(f"{url}/partial")
    elif case == "not HTTP":
        await client.get(f"{url}/garbage")
    elif case == "connection reset":
        await client.get(f"{url}/reset")
    elif case == "connection reset in the middle of the body":
        await client.get(f"{url}/partial-reset")
    elif case == "connection reset while uploading":
        request = httpx.Request(
            "POST",
            f"{url}/reset-upload",
            headers={"host": f"127.0.0.1:{server.port}", "transfer-encoding": "chunked"},
            stream=_EndlessBody(),
        )
        await client.send(request)
    elif case == "unsupported scheme":
        await client.get(f"ftp://127.0.0.1:{server.port}/")
    else:  # pragma: no cover
        raise AssertionError(case)


ERROR_CASES = {
    "connect refused": httpx.ConnectError,
    "connect timeout": httpx.ConnectTimeout,
    "read timeout waiting for the response": httpx.ReadTimeout,
    "read timeout in the body": httpx.ReadTimeout,
    "write timeout": httpx.WriteTimeout,
    "pool timeout": httpx.PoolTimeout,
    "closed without a response": httpx.RemoteProtocolError,
    "closed in the middle of the body": httpx.RemoteProtocolError,
    "not HTTP": httpx.RemoteProtocolError,
    "connection reset": httpx.ReadError,
    "connection reset in the middle of the body": httpx.ReadError,
    # httpcore ignores the failed write and reports the read it tries next, which
    # fails with ECONNRESET on asyncio and sees EOF on trio.
    "connection reset while uploading": (httpx.ReadError, httpx.RemoteProtocolError),
    "unsupported scheme": httpx.UnsupportedProtocol,
}


@WITH_REFERENCE
@pytest.mark.parametrize("case", list(ERROR_CASES))
async def test_timeouts_and_errors_map_to_httpx_exceptions(kind: str, case: str) -> None:
    expected = ERROR_CASES[case]
    with anyio.fail_after(30):
        async with _serving() as server:
            limits = httpx.Limits(max_connections=1 if case == "pool timeout" else 8)
            transport = _transport(kind, limits)
            async with httpx.AsyncClient(transport=transport, timeout=10) as client:
                with pytest.raises(expected) as info:
                    await _provoke(case, client, server)
                # Exactly the class httpx's own transport raises, not a subclass of it.
                assert type(info.value) in (
                    expected if isinstance(expected, tuple) else (expected,)
                )
                if kind != "httpx":
                    assert _in_flight(transport) == 0


# ------------------------------------------------------------------ limits and bodies


@BOTH
async def test_max_connections_is_never_exceeded(kind: str) -> None:
    with anyio.fail_after(30):
        async with _serving() as server:
            transport = _transport(kind, httpx.Limits(max_connections=5), shard_size=2)
            async with (
                httpx.AsyncClient(transport=transport) as client,
                anyio.create_task_group() as tg,
            ):
                for _ in range(60):
                    tg.start_soon(client.get, f"{server.url}/ok")
            assert server.requests == 60
            assert server.peak == 5


@BOTH
async def test_bodies_stream_both_ways(kind: str) -> None:
    sent = [bytes([i]) * 10_000 for i in range(20)]

    async def upload() -> AsyncIterator[bytes]:
        for chunk in sent:
            yield chunk

    with anyio.fail_after(30):
        async with _serving() as server, httpx.AsyncClient(transport=_transport(kind)) as client:
            echoed = await client.post(f"{server.url}/echo", content=upload())
            assert echoed.content == b"".join(sent)
            _, _, headers, _ = server.seen[-1]
            assert ("transfer-encoding", "chunked") in headers

            small = await client.post(f"{server.url}/echo", content=b"abc")
            assert small.content == b"abc"
            assert ("content-length", "3") in server.seen[-1][2]

            chunks = 0
            total = 0
            async with client.stream("GET", f"{server.url}/bytes/3000000") as response:
                async for chunk in response.aiter_raw():
                    chunks += 1
                    total += len(chunk)
            assert total == 3_000_000
            assert chunks > 1  # it streamed, it was not read in one piece


@BOTH
async def test_a_slot_handed_to_a_cancelled_waiter_is_given_back(kind: str) -> None:
    with anyio.fail_after(30):
        async with _serving() as server:
            transport = _transport(kind, httpx.Limits(max_connections=1))
            timeout = httpx.Timeout(10, pool=5)
            async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
                with anyio.CancelScope() as scope:
                    async with anyio.create_task_group() as tg:
                        async with client.stream("GET", f"{server.url}/ok"):  # the only slot
                            tg.start_soon(client.get, f"{server.url}/ok")
                            await anyio.wait_all_tasks_blocked()  # it is queued now
                        # Closing the response handed the slot to the queued request;
                        # cancel it before it runs: the slot must come back.
                        scope.cancel()
                assert _in_flight(transport) == 0
                assert (await client.get(f"{server.url}/ok")).status_code == 200


@pytest.mark.parametrize(
    ("kind", "anyio_backend"), [("sharded", "asyncio"), ("aiohttp", "asyncio")]
)
async def test_a_slot_handed_to_a_task_cancelled_by_asyncio_is_given_back(kind: str) -> None:
    # anyio never cancels a task whose wait already completed, but asyncio's own
    # Task.cancel() (asyncio.timeout, wait_for, TaskGroup) does: the waiter wakes up
    # holding a slot *and* a CancelledError.
    with anyio.fail_after(30):
        async with _serving() as server:
            transport = _transport(kind, httpx.Limits(max_connections=1))
            timeout = httpx.Timeout(10, pool=5)
            async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
                async with client.stream("GET", f"{server.url}/ok"):  # the only slot
                    task = asyncio.create_task(client.get(f"{server.url}/ok"))
                    await anyio.wait_all_tasks_blocked()  # it is queued now
                task.cancel()  # after the hand-over, before the task ran
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert _in_flight(transport) == 0
                assert (await client.get(f"{server.url}/ok")).status_code == 200


@BOTH
async def test_the_url_is_sent_byte_for_byte(kind: str) -> None:
    target = "/vehicles/a%2Fb%7Ec/signals?cursor=x%20y%2B&z=%C3%A9"
    with anyio.fail_after(30):
        async with _serving() as server, httpx.AsyncClient(transport=_transport(kind)) as client:
            response = await client.get(f"{server.url}{target}")
            assert response.status_code == 404
            assert server.seen[-1][1] == target


async def test_waiting_requests_fail_when_the_transport_closes() -> None:
    with anyio.fail_after(30):
        async with _serving() as server:
            counts, shards = _Counts(), []
            transport = ShardedTransport(
                limits=httpx.Limits(max_connections=1),
                shard_factory=_counting_factory(counts, shards),
            )
            client = httpx.AsyncClient(transport=transport)
            errors: list[BaseException] = []

            async def queued() -> None:
                try:
                    await client.get(f"{server.url}/ok")
                except RuntimeError as exc:
                    errors.append(exc)

            async with client.stream("GET", f"{server.url}/ok"), anyio.create_task_group() as tg:
                tg.start_soon(queued)
                await anyio.wait_all_tasks_blocked()
                assert "waiting=1" in repr(transport)
                await transport.aclose()
            await client.aclose()
            assert [str(e) for e in errors] == ["the ShardedTransport was closed"]
            assert shards[0].closed
            with pytest.raises(RuntimeError, match="closed"):
                await transport.handle_async_request(httpx.Request("GET", f"{server.url}/ok"))


# ------------------------------------------------------------------- shard planning


def _planned(limits: httpx.Limits, shard_size: int, requests: int) -> list[httpx.Limits]:
    """Take ``requests`` slots at once and return the limits of every shard created."""
    seen: list[httpx.Limits] = []

    def factory(shard_limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        seen.append(shard_limits)
        return httpx.MockTransport(lambda request: httpx.Response(204))

    transport = ShardedTransport(limits=limits, shard_size=shard_size, shard_factory=factory)
    for _ in range(requests):
        assert transport._take_nowait() is not None
    assert transport._take_nowait() is None or limits.max_connections is None
    return seen


def test_limits_are_split_exactly_into_small_shards() -> None:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=40, keepalive_expiry=7)
    shards = _planned(limits, shard_size=8, requests=100)
    sizes = [s.max_connections for s in shards]
    assert sum(s for s in sizes if s is not None) == 100
    assert max(s for s in sizes if s is not None) <= 8
    assert len(shards) == 13
    assert {s.max_keepalive_connections for s in shards} == {4}  # ceil(40 / 13)
    assert {s.keepalive_expiry for s in shards} == {7}


def test_unlimited_connections_add_shards_as_needed() -> None:
    shards = _planned(httpx.Limits(max_connections=None), shard_size=8, requests=20)
    assert [s.max_connections for s in shards] == [8, 8, 8]


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="shard_size"):
        ShardedTransport(shard_size=0)
    with pytest.raises(ValueError, match="max_connections"):
        ShardedTransport(limits=httpx.Limits(max_connections=0))
    with pytest.raises(ValueError, match="max_connections"):
        AiohttpTransport(limits=httpx.Limits(max_connections=0))


# ----------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA, *, require_client_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    return ctx


@BOTH
async def test_verify_is_honoured(kind: str, ca: trustme.CA, tmp_path: Any) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with anyio.fail_after(30):
        async with _serving(_server_tls(ca, require_client_cert=False)) as server:
            for verify in (str(ca_file), False):
                async with httpx.AsyncClient(transport=_transport(kind, verify=verify)) as client:
                    assert (await client.get(f"{server.url}/ok")).status_code == 200
            async with httpx.AsyncClient(transport=_transport(kind, verify=True)) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"{server.url}/ok")  # certifi does not know this CA


@BOTH
async def test_client_certificates_are_sent(kind: str, ca: trustme.CA, tmp_path: Any) -> None:
    ca_file, cert_file = tmp_path / "ca.pem", tmp_path / "client.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ca.issue_cert("client@example.com").private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    verify = ssl.create_default_context(cafile=str(ca_file))
    with anyio.fail_after(30):
        async with _serving(_server_tls(ca, require_client_cert=True)) as server:
            with_cert = _transport(kind, verify=verify, cert=str(cert_file))
            async with httpx.AsyncClient(transport=with_cert) as client:
                assert (await client.get(f"{server.url}/ok")).status_code == 200
            no_cert = ssl.create_default_context(cafile=str(ca_file))
            async with httpx.AsyncClient(transport=_transport(kind, verify=no_cert)) as client:
                with pytest.raises(httpx.TransportError):
                    await client.get(f"{server.url}/ok")


# ---------------------------------------------------------------- aiohttp specifics


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_aiohttp_transport_under_trio_says_to_use_the_default_transport() -> None:
    transport = AiohttpTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(RuntimeError, match="asyncio") as info:
            await client.get("http://127.0.0.1:1/")
    assert "default transport" in str(info.value)


@ASYNCIO_ONLY
async def test_aiohttp_leaves_headers_cookies_and_decoding_to_httpx() -> None:
    with anyio.fail_after(30):
        async with _serving() as server:
            transport = AiohttpTransport()
            async with httpx.AsyncClient(transport=transport) as client:
                await client.post(f"{server.url}/headers", content=b"raw")
                _, _, sent, _ = server.seen[-1]
                names = [k for k, _ in sent]
                # Only what httpx put on the request: no Content-Type or User-Agent of aiohttp's.
                assert "content-type" not in names
                assert dict(sent)["user-agent"].startswith("python-httpx/")

                # A header the caller removed stays removed.
                request = client.build_request("GET", f"{server.url}/headers")
                del request.headers["user-agent"]
                await client.send(request)
                assert "user-agent" not in [k for k, _ in server.seen[-1][2]]

                # gzip decoded once, by httpx.
                response = await client.get(f"{server.url}/gzip")
                assert response.text == "hello gzip"
                assert response.http_version == "HTTP/1.1"
                assert response.reason_phrase == "OK"

                # Cookies live in httpx's jar only: once it is cleared, none is sent.
                # (A host name: aiohttp's own jar would ignore cookies from an IP.)
                named = f"http://localhost:{server.port}"
                await client.get(f"{named}/cookie")
                await client.get(f"{named}/headers")
                assert ("cookie", "a=1") in server.seen[-1][2]
                client.cookies.clear()
                await client.get(f"{named}/headers")
                assert "cookie" not in [k for k, _ in server.seen[-1][2]]


def test_aiohttp_transport_belongs_to_one_event_loop() -> None:
    transport = AiohttpTransport()

    async def use() -> None:
        request = httpx.Request("GET", "http://127.0.0.1:1/")
        with contextlib.suppress(httpx.ConnectError):
            await transport.handle_async_request(request)

    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        first.run_until_complete(use())
        with pytest.raises(RuntimeError, match="another event loop"):
            second.run_until_complete(use())
        first.run_until_complete(transport.aclose())
    finally:
        first.close()
        second.close()


# ------------------------------------------------------- the asyncio network layer


def _connections(transport: ShardedTransport) -> list[httpcore.AsyncConnectionInterface]:
    return [c for shard in transport._shards for c in shard.transport._pool.connections]  # type: ignore[attr-defined]


def test_shards_without_a_proxy_use_the_sdks_network_layer() -> None:
    # httpx keeps its httpcore pool in ``_pool``; the default shard replaces it. If a
    # new httpx moves it, this fails instead of the SDK silently losing the layer.
    shard = ShardedTransport()._factory(httpx.Limits(max_connections=2))
    pool = shard._pool  # type: ignore[attr-defined]
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert isinstance(pool._network_backend, NetworkBackend)
    proxied = ShardedTransport(proxy="http://127.0.0.1:3128")._factory(httpx.Limits())
    # Proxies keep httpcore's own layer (a TLS proxy means TLS inside TLS).
    assert not isinstance(proxied._pool._network_backend, NetworkBackend)  # type: ignore[attr-defined]


async def test_the_network_layer_is_asyncio_protocols_on_asyncio_only(anyio_backend: str) -> None:
    with anyio.fail_after(10):
        async with _serving() as server:
            transport = ShardedTransport(shard_size=1)
            async with httpx.AsyncClient(transport=transport) as client:
                assert (await client.get(f"{server.url}/ok")).json() == {}
                (connection,) = _connections(transport)
                stream = connection._connection._network_stream  # type: ignore[attr-defined]
                assert isinstance(stream, AsyncioStream) is (anyio_backend == "asyncio")


async def test_an_idle_connection_its_server_closed_is_not_reused(anyio_backend: str) -> None:
    # The pool asks an idle connection whether it is readable before reusing it; the
    # asyncio layer answers from what its protocol saw (the server's FIN), no polling.
    with anyio.fail_after(10):
        async with _serving() as server:
            transport = ShardedTransport(shard_size=1)
            async with httpx.AsyncClient(transport=transport) as client:
                assert (await client.get(f"{server.url}/ok")).status_code == 200
                (first,) = _connections(transport)
                # The server closes its end of the idle connection.
                await server.close_all()
                stream = first._connection._network_stream  # type: ignore[attr-defined]
                # No event tells when the FIN has arrived: give the loop turns until it has.
                while not stream.get_extra_info("is_readable"):
                    await anyio.lowlevel.checkpoint()
                assert (await client.get(f"{server.url}/ok")).status_code == 200
                (second,) = _connections(transport)
                assert second is not first


class _FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.paused = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


def test_reading_pauses_while_too_much_is_buffered_and_resumes_when_read() -> None:
    loop = asyncio.new_event_loop()
    try:
        protocol = _Protocol(loop)
        fake = _FakeTransport()
        protocol.connection_made(fake)
        piece = b"x" * 65536
        for _ in range(4):
            protocol.data_received(piece)
        assert not fake.paused  # 256 KiB: at the mark, not above it
        protocol.data_received(b"y")
        assert fake.paused
        taken = b"".join(protocol.take(65536) for _ in range(3))
        assert len(taken) == 3 * 65536
        assert fake.paused  # 64 KiB + 1 byte still buffered
        assert protocol.take(10) == b"x" * 10  # a piece larger than asked is split
        assert not fake.paused
        assert protocol.take(65536) == b"x" * 65526
        assert protocol.take(65536) == b"y"
    finally:
        loop.close()


async def test_connecting_and_reading_leave_nothing_for_the_garbage_collector(
    anyio_backend: str,
) -> None:
    # Fleet jobs are told they may run the cyclic collector rarely (docs/performance.md):
    # that holds only while opening connections and reading create no reference cycles.
    # httpx's spent response stream points back at its response (a cycle the SDK breaks
    # in ``_send_once`` by keeping the bytes instead): done the same way here.
    async def get(client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(f"{server.url}{path}")
        response.stream = httpx.ByteStream(await response.aread())

    with anyio.fail_after(10):
        async with _serving() as server:
            transport = ShardedTransport(shard_size=2)
            async with httpx.AsyncClient(transport=transport) as client:
                gc.collect()
                gc.disable()
                try:
                    async with anyio.create_task_group() as tg:
                        for _ in range(8):  # eight connections opened at once
                            tg.start_soon(get, client, "/ok")
                    for _ in range(8):
                        await get(client, "/bytes/100000")
                    assert gc.collect() == 0
                finally:
                    gc.enable()


def test_the_network_layer_needs_no_sniffio() -> None:
    # sniffio is not a dependency of the SDK (nor of recent anyio): a wheel installed
    # alone must import the default transport without it.
    code = "import sys; sys.modules['sniffio'] = None; import smartcar_async._transport"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# An upload cut off leaves httpx's body generator unfinished; trio reports that.
@pytest.mark.filterwarnings("ignore:Async generator 'httpx._content:ResourceWarning")
async def test_closing_the_client_ends_a_write_its_server_never_reads(anyio_backend: str) -> None:
    # The server stops reading: the upload fills every buffer and the write waits to
    # drain, with no write timeout. Closing the client must end it (the connection is
    # aborted, not closed politely after the peer has read everything).
    body = b"x" * (32 * 1024 * 1024)
    with anyio.fail_after(20):
        async with _serving() as server:
            client = httpx.AsyncClient(transport=ShardedTransport(), timeout=None)
            errors: list[BaseException] = []

            async def upload() -> None:
                try:
                    await client.post(f"{server.url}/no-read", content=body)
                except httpx.TransportError as exc:
                    errors.append(exc)

            async with anyio.create_task_group() as tg:
                tg.start_soon(upload)
                await anyio.wait_all_tasks_blocked()
                await client.aclose()
            assert len(errors) == 1


@ASYNCIO_ONLY
async def test_a_host_name_idna_cannot_encode_is_a_connect_error() -> None:
    # Refused before any lookup (asyncio only: trio's layer would ask the resolver).
    async with httpx.AsyncClient(transport=ShardedTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://{'a' * 64}.invalid/")

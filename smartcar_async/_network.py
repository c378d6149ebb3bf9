"""The network layer under the default transport: asyncio's own protocols, not anyio's streams.

httpcore (under httpx) reaches the network through anyio on asyncio. Each read and write
then costs a cancel scope, an exception map and anyio's stream guards, and each time the
pool looks at an idle connection ("did the server close it?") it polls the socket
through anyio's typed attributes, which build a dictionary per look. With hundreds of
requests in flight that is a large share of a request's CPU time.

`NetworkBackend` reads with an ``asyncio.Protocol`` instead, as asyncio's own streams
do: bytes land in a buffer as they arrive, a read takes them without a system call or a
trip through the event loop, and an idle connection knows whether its server went away
without polling. It is an ordinary httpcore backend, so httpcore still speaks HTTP/1.1
and HTTP/2, and httpx still maps its errors. On any other event loop (trio) it hands
every call to httpcore's own backend.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

import anyio
import httpcore

__all__ = ["NetworkBackend"]

#: Reading pauses while this much has arrived and not been read, and resumes below
#: the low mark: a response read slowly never buffers more than this in memory.
_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class _Protocol(asyncio.Protocol):
    """Buffers what the connection receives and wakes the one reader waiting for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self._readable: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    # -- called by asyncio ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports are not asyncio's classes.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        _wake(self._readable)

    def eof_received(self) -> None:
        # Returning None lets asyncio close the transport: HTTP never half-closes.
        self.eof = True
        _wake(self._readable)

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        _wake(self._readable)
        _wake(self._drained)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _wake(self._drained)

    # -- called by the stream ------------------------------------------------------------

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of what has arrived (at least one byte: call when buffered)."""
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.buffered -= len(chunk)
        if self.reading_paused and self.buffered <= _LOW_WATER and self.transport:
            self.reading_paused = False
            self.transport.resume_reading()
        return chunk

    async def wait_readable(self, timeout: float | None) -> None:
        self._readable = self.loop.create_future()
        await _wait(self.loop, self._readable, timeout, httpcore.ReadTimeout)
        self._readable = None

    async def wait_drained(self, timeout: float | None) -> None:
        self._drained = self.loop.create_future()
        await _wait(self.loop, self._drained, timeout, httpcore.WriteTimeout)
        self._drained = None


def _wake(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _time_out(future: asyncio.Future[None], error: type[Exception]) -> None:
    if not future.done():
        future.set_exception(error("timed out"))


async def _wait(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[None],
    timeout: float | None,
    error: type[Exception],
) -> None:
    # A timer on the future rather than a cancel scope around the await: the timeout is
    # httpcore's, raised as httpcore's error, and costs one timer handle.
    if timeout is None:
        await future
        return
    timer = loop.call_later(timeout, _time_out, future, error)
    try:
        await future
    finally:
        timer.cancel()


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: an asyncio transport and the `_Protocol` buffering what it reads."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof:
            await protocol.wait_readable(timeout)
        if protocol.chunks:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error)) from protocol.error
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if self._transport.is_closing():
            raise self._write_error()
        self._transport.write(buffer)
        if protocol.writing_paused:
            await protocol.wait_drained(timeout)
            if protocol.error is not None or self._transport.is_closing():
                raise self._write_error()

    def _write_error(self) -> httpcore.WriteError:
        """The error of a write to a connection that is closed or closing."""
        error = self._protocol.error
        return httpcore.WriteError(str(error) if error else "the connection is closed")

    async def aclose(self) -> None:
        # Abort, as httpcore's own layers end up doing: close() would keep the socket
        # until the peer has read every unsent byte (forever, from a peer that stopped
        # reading; a writer waiting to drain would wait as long) and, with TLS, wait
        # up to 30 s for the peer's close_notify. A connection httpcore closes is done.
        self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = self._protocol.loop
        try:
            with anyio.fail_after(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(str(exc) or "TLS handshake timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # typeshed allows it; asyncio never returns it
            raise httpcore.ConnectError("the TLS handshake gave no transport")
        self._protocol.transport = transport
        return AsyncioStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle connection with bytes waiting, or closed by its server: unusable.
            return bool(self._protocol.chunks) or self._protocol.eof
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


def _running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    # Asked of asyncio itself: sniffio, which httpcore asks, is not a dependency.
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class NetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend: asyncio protocols on asyncio, httpcore's own elsewhere.

    Examples:
        >>> import httpcore
        >>> pool = httpcore.AsyncConnectionPool(network_backend=NetworkBackend())
    """

    @staticmethod
    def _fallback() -> httpcore.AsyncNetworkBackend:
        # httpcore's own layer: anyio's on asyncio, trio's on trio (the SDK runs on both).
        on_asyncio = _running_asyncio_loop() is not None
        return httpcore.AnyIOBackend() if on_asyncio else httpcore.TrioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = _running_asyncio_loop()
        if loop is None:
            return await self._fallback().connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        local = None if local_address is None else (local_address, 0)
        try:
            with anyio.fail_after(timeout):
                transport, protocol = await loop.create_connection(
                    lambda: _Protocol(loop),
                    host,
                    port,
                    local_addr=local,
                    # As anyio does: try the next address if one is slow to answer. An
                    # address given as such has no other to try, and the race would
                    # only leave its tasks and errors for the garbage collector.
                    happy_eyeballs_delay=None if _is_ip_address(host) else 0.25,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "connection timed out") from exc
        except (OSError, UnicodeError) as exc:
            # UnicodeError: a host name that IDNA cannot encode (a label over 63
            # characters), refused before any lookup; anyio's layer reports it as a
            # failed lookup, a ConnectError too.
            raise httpcore.ConnectError(str(exc)) from exc
        for option in socket_options or ():
            transport.get_extra_info("socket").setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._fallback().connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

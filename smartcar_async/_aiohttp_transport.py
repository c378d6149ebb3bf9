"""An opt-in httpx transport that sends requests with aiohttp (asyncio only).

``pip install 'smartcar-async[aiohttp]'``, then::

    from smartcar_async._aiohttp_transport import AiohttpTransport
    SmartcarClient(transport=AiohttpTransport())

aiohttp's HTTP/1.1 client does less work per request than httpcore, so under heavy
fan-out this transport gets closer to raw aiohttp than the default `ShardedTransport`.
Everything above the transport stays httpx: requests and responses are httpx objects and
errors are httpx exceptions, mapped so that code written for httpx's own transport
behaves the same:

| what happened | httpx exception |
| --- | --- |
| no free connection within the ``pool`` timeout | `httpx.PoolTimeout` |
| connecting took longer than the ``connect`` timeout | `httpx.ConnectTimeout` |
| sending the body stalled for the ``write`` timeout | `httpx.WriteTimeout` |
| no bytes from the server for the ``read`` timeout | `httpx.ReadTimeout` |
| refused, unreachable, DNS or TLS failure while connecting | `httpx.ConnectError` |
| the server closed early (no or half a response), or sent garbage | `httpx.RemoteProtocolError` |
| the connection was reset (also while sending: httpcore then reads) | `httpx.ReadError` |

Limits: ``max_connections`` is enforced here (with the ``pool`` timeout) and by aiohttp's
connector; ``keepalive_expiry`` becomes aiohttp's keep-alive timeout; aiohttp has no
limit on the number of idle connections, so ``max_keepalive_connections`` is ignored.
aiohttp speaks HTTP/1.1 only.

It runs on asyncio only: under trio it raises `RuntimeError` and tells you to use the
default transport. Testing with respx: respx's default mocker patches httpcore, which this
transport does not use, so mock at the client level instead:
``respx.mock(using="httpx")``.
"""

from __future__ import annotations

import asyncio
import builtins
import math
import re
import ssl
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import httpx

from ._config import DEFAULT_LIMITS
from ._transport import CertTypes, _ssl_context, _WaitQueue

try:
    import aiohttp
    from multidict import CIMultiDict
    from yarl import URL
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "AiohttpTransport needs aiohttp: pip install 'smartcar-async[aiohttp]'"
    ) from exc
if not hasattr(aiohttp, "ConnectionTimeoutError"):  # pragma: no cover
    # 3.10 split connect and read timeouts into their own exception classes.
    raise ImportError("AiohttpTransport needs aiohttp>=3.10: pip install -U aiohttp")

__all__ = ["AiohttpTransport"]

_NOT_ASYNCIO = (
    "AiohttpTransport runs only on asyncio, and no asyncio event loop is running here "
    "(trio?). Use the SDK's default transport instead: leave transport= unset, or pass "
    "ShardedTransport()."
)

# Headers aiohttp adds when a request lacks them. httpx normally sets the first three;
# aiohttp must never add its own (a caller who removed User-Agent meant it, and a POST
# whose caller chose no content type must not get application/octet-stream). They are
# skipped per request and only when missing: a skip list costs aiohttp work per request.
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_HTTP_11 = b"HTTP/1.1"
_HTTP_10 = b"HTTP/1.0"


# aiohttp reports a connection lost mid-body as ClientPayloadError("Response payload is
# not completed: <parser error>. ConnectionResetError(104, ...)"): the OS error that
# tells a reset from a clean close is only in the message.
_TRAILING_ERROR = re.compile(r"\. ([A-Za-z]+Error)\([^()]*\)$")


def _names_os_error(message: str) -> bool:
    match = _TRAILING_ERROR.search(message)
    if match is None:
        return False
    named = getattr(builtins, match.group(1), None)
    return isinstance(named, type) and issubclass(named, OSError)


# aiohttp's failures and the httpx exception httpx's own transport raises for each, most
# specific class first: the first row whose classes match the failure wins.
_Failures = type[BaseException] | tuple[type[BaseException], ...]
_ERROR_MAP: tuple[tuple[_Failures, type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    # httpcore: "Server disconnected without sending a response."
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    # An incomplete body; a reset instead is a read error (_map_error looks at the cause).
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # bad status line or headers
    ((aiohttp.NonHttpUrlClientError, aiohttp.InvalidURL), httpx.UnsupportedProtocol),
    # Also while sending the body: httpcore then still tries to read a response (servers
    # may answer early and close) and reports the failed read.
    (aiohttp.ClientConnectionError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
    (asyncio.TimeoutError, httpx.ReadTimeout),
)


def _map_error(exc: BaseException) -> httpx.TransportError | None:
    """Return the httpx exception httpx's own transport raises for the same failure."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientPayloadError) and (
        isinstance(exc.__cause__, OSError) or _names_os_error(message)
    ):
        return httpx.ReadError(message)  # a reset mid-body: a read error in httpcore
    for failures, mapped in _ERROR_MAP:
        if isinstance(exc, failures):
            return mapped(message)
    return None


class _AiohttpStream(httpx.AsyncByteStream):
    """An aiohttp response body as an httpx stream; closing it frees the slot."""

    __slots__ = ("_owner", "_response")

    def __init__(self, response: aiohttp.ClientResponse, owner: AiohttpTransport) -> None:
        self._response = response
        self._owner: AiohttpTransport | None = owner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            mapped = _map_error(exc)
            if mapped is None:  # pragma: no cover - _map_error covers both bases
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        owner, self._owner = self._owner, None
        if owner is None:
            return
        try:
            response = self._response
            if response.content.at_eof():
                response.release()  # back to the pool for keep-alive
            else:
                # Unread bytes: the connection can't be reused; close it now so the
                # connector's slot is free before ours is.
                response.close()
        finally:
            owner._release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport backed by one ``aiohttp.ClientSession`` (asyncio only).

    The session is created on first use, in the running event loop, and belongs to it:
    use one transport per event loop. Cookies, redirects, decompression and proxies
    stay httpx's job (the session has a dummy cookie jar, ``auto_decompress=False``,
    ``allow_redirects=False`` and ignores the environment).

    Args:
        limits: ``max_connections`` (with the request's ``pool`` timeout) and
            ``keepalive_expiry``; ``max_keepalive_connections`` is not supported by
            aiohttp and ignored.
        verify: As in httpx: ``True``, ``False``, a CA bundle path or an ``ssl.SSLContext``.
        cert: A client certificate: a file, ``(certfile, keyfile)`` or
            ``(certfile, keyfile, password)``.

    Examples:
        >>> import httpx
        >>> from smartcar_async._aiohttp_transport import AiohttpTransport
        >>> async def main() -> None:
        ...     async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        ...         await client.get("https://vehicle.api.smartcar.com/v3/vehicles/x")
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: ssl.SSLContext | str | bool = True,
        cert: CertTypes | None = None,
    ) -> None:
        max_connections = limits.max_connections
        if max_connections is not None and max_connections < 1:
            raise ValueError(f"limits.max_connections must be at least 1, not {max_connections}")
        self._limits = limits
        self._max = math.inf if max_connections is None else max_connections
        self._ssl = _ssl_context(verify, cert)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        self._waiters: _WaitQueue[None] = _WaitQueue()
        self._timeouts: dict[tuple[Any, Any], aiohttp.ClientTimeout] = {}
        self._closed = False

    @property
    def in_flight(self) -> int:
        """Requests holding a connection slot: sent, and their response not yet closed."""
        return self._in_flight

    @property
    def max_connections(self) -> int | None:
        """The connection limit (None: unlimited)."""
        return self._limits.max_connections

    def _session_here(self) -> aiohttp.ClientSession:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(_NOT_ASYNCIO) from None
        session = self._session
        if session is not None and loop is self._loop:
            return session
        if self._closed:
            raise RuntimeError("this AiohttpTransport is closed")
        if session is not None:
            raise RuntimeError(
                "this AiohttpTransport belongs to another event loop; create one per loop"
            )
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry,
            ssl=self._ssl,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        self._session, self._loop = session, loop
        return session

    def _client_timeout(self, timeouts: dict[str, Any]) -> aiohttp.ClientTimeout:
        key = (timeouts.get("connect"), timeouts.get("read"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            # connect=None: aiohttp's connect timeout includes the wait for a pooled
            # connection, which is the pool timeout here, enforced before aiohttp.
            timeout = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=key[0], sock_read=key[1]
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    async def _acquire(self, pool_timeout: float | None) -> None:
        if self._in_flight < self._max:
            self._in_flight += 1
            return
        await self._waiters.wait(pool_timeout, self._give_back, self._pool_timeout)

    def _give_back(self, _: None) -> None:
        self._release()

    def _release(self) -> None:
        if not self._waiters.handoff(None):
            self._in_flight -= 1

    def _pool_timeout(self) -> httpx.PoolTimeout:
        return httpx.PoolTimeout(
            f"timed out waiting for a connection: all {self._limits.max_connections} are busy"
        )

    async def _timed_body(
        self, chunks: AsyncIterable[bytes], scope: anyio.CancelScope, write_timeout: float
    ) -> AsyncIterator[bytes]:
        # aiohttp writes the body from a task of its own and has no write timeout. A
        # chunk is being written from the moment it is yielded until aiohttp asks for
        # the next one; only then is the requesting task's deadline armed, so waiting
        # for the response is governed by the read timeout alone.
        async for chunk in chunks:
            if not chunk:
                continue
            scope.deadline = anyio.current_time() + write_timeout
            yield chunk
            scope.deadline = math.inf

    def _request_options(
        self, request: httpx.Request, timeouts: dict[str, Any]
    ) -> tuple[dict[str, Any], anyio.CancelScope | None]:
        """aiohttp's keyword arguments for ``request``, and the write timeout's scope."""
        headers = CIMultiDict(request.headers.multi_items())
        data: Any = None
        scope: anyio.CancelScope | None = None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            # A streamed body: aiohttp chunks it itself when there is no length.
            headers.popall("Transfer-Encoding", None)
            data = request.stream
        write_timeout = timeouts.get("write")
        if data is not None and write_timeout is not None:
            # request.stream yields a bytes body too, in one piece.
            assert isinstance(request.stream, httpx.AsyncByteStream)
            scope = anyio.CancelScope()
            data = self._timed_body(request.stream, scope, write_timeout)
        kwargs: dict[str, Any] = {
            "headers": headers,
            "data": data,
            "allow_redirects": False,
            "timeout": self._client_timeout(timeouts),
        }
        skip = [name for name in _AUTO_HEADERS if name not in headers]
        if "Content-Type" not in headers and (data is not None or request.method in _BODY_METHODS):
            skip.append("Content-Type")
        if skip:
            kwargs["skip_auto_headers"] = skip
        sni = request.extensions.get("sni_hostname")
        if sni is not None:
            kwargs["server_hostname"] = sni
        return kwargs, scope

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with aiohttp (the httpx transport API)."""
        session = self._session_here()
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        await self._acquire(timeouts.get("pool"))
        try:
            kwargs, scope = self._request_options(request, timeouts)
            # encoded=True: httpx already percent-encoded the URL; aiohttp must send
            # it byte for byte, not re-quote it.
            url = URL(str(request.url), encoded=True)
            if scope is None:
                response = await session.request(request.method, url, **kwargs)
            else:
                with scope:
                    response = await session.request(request.method, url, **kwargs)
                if scope.cancelled_caught:
                    raise httpx.WriteTimeout("timed out writing the request body")
        except BaseException as exc:
            self._release()
            if isinstance(exc, Exception):
                mapped = _map_error(exc)
                if mapped is not None:
                    raise mapped from exc
            raise
        version = response.version
        extensions = {
            "http_version": _HTTP_11 if version is None or version.minor == 1 else _HTTP_10,
            "reason_phrase": (response.reason or "").encode("ascii", "replace"),
        }
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_AiohttpStream(response, self),
            extensions=extensions,
        )

    async def aclose(self) -> None:
        """Close the aiohttp session and its connections."""
        self._closed = True
        self._waiters.close(RuntimeError("the AiohttpTransport was closed"))
        session, self._session = self._session, None
        if session is not None:
            with anyio.CancelScope(shield=True):
                await session.close()

    def __repr__(self) -> str:
        return (
            f"<AiohttpTransport in_flight={self._in_flight} waiting={len(self._waiters)}"
            f" max_connections={self._limits.max_connections}>"
        )

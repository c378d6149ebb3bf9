"""In-process ways in: an httpx transport and a respx side effect. No sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from ._http import BodyStream, EmuRequest, EmuResponse

__all__ = ["EmulatorTransport", "Handler", "call_with_httpx"]

Handler = Callable[[EmuRequest], Awaitable[EmuResponse]]


class _DelayedStream(httpx.AsyncByteStream):
    """A long-running command's body: produced only when the emulator's clock says so."""

    def __init__(self, factory: BodyStream) -> None:
        self._iterator: AsyncIterator[bytes] = factory()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._iterator:
            yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def call_with_httpx(handle: Handler, request: httpx.Request) -> httpx.Response:
    """Answer an `httpx.Request` through the emulator, as an `httpx.Response`."""
    body = await request.aread()
    url = request.url
    raw_path, _, _ = url.raw_path.partition(b"?")
    response = await handle(
        EmuRequest(
            request.method,
            raw_path.decode("ascii"),
            url.query.decode("ascii"),
            # One pass into a plain dict: cheaper than several case-insensitive
            # lookups on httpx.Headers, which rescan every header each time.
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw},
            body,
            url.host,
        )
    )
    if response.drop:
        # What httpcore raises when a server closes the connection instead of answering.
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if response.stream is not None:
        return httpx.Response(
            response.status,
            headers=response.headers,
            stream=_DelayedStream(response.stream),
            request=request,
        )
    # A stream, not ``content=``: httpx reads ``content`` at construction, so the client's
    # own read never closes the response and ``response.elapsed`` is never set.
    headers = [*response.headers, ("content-length", str(len(response.body)))]
    return httpx.Response(
        response.status, headers=headers, stream=httpx.ByteStream(response.body), request=request
    )


class EmulatorTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` that answers from a `SmartcarEmulator`, in-process.

    Works on asyncio and trio: it awaits nothing but the emulator's clock.

    Examples:
        >>> async with httpx.AsyncClient(transport=emulator.transport()) as http:
        ...     await http.post("https://iam.emulator.invalid/oauth2/token", data={...})
    """

    def __init__(self, handle: Handler) -> None:
        self._handle = handle

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await call_with_httpx(self._handle, request)

    def __repr__(self) -> str:
        return "EmulatorTransport()"


EmulatorTransport.__module__ = "smartcar_async.testing"

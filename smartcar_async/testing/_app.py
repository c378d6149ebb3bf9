"""Socket ways in: the ASGI app, and `serve` (uvicorn on loopback, in its own thread).

uvicorn runs only on asyncio, and tests run on asyncio *and* trio, so `serve` starts
uvicorn in a thread with its own event loop. Requests do not run the state machine in
that thread: each one is handed back to the caller's event loop through an anyio
`BlockingPortal`, so the emulator keeps one thread, one loop and one clock (a
`VirtualClock` keeps working) whichever way a request came in.
"""

from __future__ import annotations

import asyncio
import contextvars
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from .._asgi import ASGIApp, Receive, Scope, Send, serve_lifespan
from ._http import EmuRequest, EmuResponse
from ._transport import Handler

__all__ = ["ASGIApp", "EmulatorASGIApp", "serve"]


# Set by `serve`'s uvicorn protocol for each request: how to break its connection.
_ABORT: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "smartcar_emulator_abort", default=None
)


class DroppedConnection(ConnectionAbortedError):
    """A drop fault outside `serve`: the server answers it as it answers any app error."""


class EmulatorASGIApp:
    """The emulator as an ASGI 3 application (HTTP and lifespan scopes).

    A drop fault aborts the TCP connection when served by `SmartcarEmulator.serve`;
    under another server it raises `DroppedConnection` (which most servers turn into a
    500, as they cannot be asked to drop a connection).
    """

    def __init__(
        self, handle: Handler, collect: Callable[[EmuResponse], Awaitable[list[bytes] | None]]
    ) -> None:
        self._handle = handle
        self._collect = collect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        response = await self._handle(
            EmuRequest(
                scope["method"],
                raw_path.decode("latin-1"),
                scope.get("query_string", b"").decode("latin-1"),
                headers,
                b"".join(chunks),
                headers.get("host", ""),
            )
        )
        if response.drop:
            await _drop()
            return
        out_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if response.stream is None:
            if response.status not in (204, 304):
                out_headers.append((b"content-length", str(len(response.body)).encode()))
            await send(
                {"type": "http.response.start", "status": response.status, "headers": out_headers}
            )
            await send({"type": "http.response.body", "body": response.body})
            return
        # No content-length: the server answers chunked, and the final body follows
        # the status line once the emulator's clock allows it.
        await send(
            {"type": "http.response.start", "status": response.status, "headers": out_headers}
        )
        final = await self._collect(response)
        if final is None:
            await _drop()
            return
        for chunk in final:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def _drop() -> None:
    abort = _ABORT.get()
    if abort is None:
        raise DroppedConnection("emulator fault: connection dropped")
    abort()
    # Let the loop run connection_lost, so the server knows not to answer with a 500.
    await anyio.lowlevel.checkpoint()


async def collect_here(response: EmuResponse) -> list[bytes]:
    """Read a streamed body where the app runs (its own loop owns the clock)."""
    assert response.stream is not None
    return [chunk async for chunk in response.stream()]


def make_app(handle: Handler) -> EmulatorASGIApp:
    return EmulatorASGIApp(handle, collect_here)


# -- serve ----------------------------------------------------------------------------


T = TypeVar("T")
A = TypeVar("A")


async def _in_owner(
    portal: anyio.from_thread.BlockingPortal, func: Callable[[A], Awaitable[T]], arg: A
) -> T | None:
    """Run ``func(arg)`` on the emulator's own loop; None once `serve` is shutting down."""
    try:
        future = portal.start_task_soon(func, arg)
    except RuntimeError:  # the portal has stopped: the server is on its way out
        return None
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        cancelling = getattr(task, "cancelling", None)
        if future.cancelled() and not (cancelling is not None and cancelling()):
            # The portal cancelled the work at shutdown: drop this connection quietly.
            return None
        raise


def _protocol_class() -> type[Any]:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DroppingH11Protocol(H11Protocol):
        """uvicorn's h11 protocol, telling each request how to abort its connection."""

        def handle_events(self) -> None:
            # uvicorn creates the request's task inside handle_events, and a task copies
            # the context it was created in: the app sees this connection's abort.
            token = _ABORT.set(self.transport.abort)
            try:
                super().handle_events()
            finally:
                _ABORT.reset(token)

    return DroppingH11Protocol


def _listening_socket(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio turns Nagle off only on sockets that say they
    # are TCP, and with Nagle on every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(
        socket.AF_INET6 if ":" in host else socket.AF_INET,
        socket.SOCK_STREAM,
        socket.IPPROTO_TCP,
    )
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()  # a port in use must not leak the socket as well
        raise
    return sock


@asynccontextmanager
async def serve(handle: Handler, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``handle`` over HTTP/1.1 on ``host:port`` (0 = a free port); yield the base URL."""
    try:
        import uvicorn
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "serving the emulator needs uvicorn: pip install 'smartcar-async[emulator]'"
        ) from error

    # Bound before the portal's task group starts, so that a port in use raises a plain
    # OSError rather than one wrapped in an exception group.
    sock = _listening_socket(host, port)
    async with anyio.from_thread.BlockingPortal() as portal:

        async def handle_in_owner(request: EmuRequest) -> EmuResponse:
            answer = await _in_owner(portal, handle, request)
            return EmuResponse(0, drop=True) if answer is None else answer

        async def collect_in_owner(response: EmuResponse) -> list[bytes] | None:
            return await _in_owner(portal, collect_here, response)

        app = EmulatorASGIApp(handle_in_owner, collect_in_owner)
        bound_port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http=_protocol_class(),
            lifespan="off",
            log_level="warning",
            access_log=False,
            loop="asyncio",
            # The same headers as in-process, so the three ways in compare equal.
            server_header=False,
            date_header=False,
        )
        ready = threading.Event()

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                try:
                    await super().startup(sockets=sockets)
                finally:
                    ready.set()

        server = Server(config)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as error:  # surfaced below, in the caller's task
                failure.append(error)
            finally:
                ready.set()

        thread = threading.Thread(target=run, name=f"smartcar-emulator:{bound_port}", daemon=True)
        thread.start()
        # Connections would queue in the backlog anyway; waiting turns a server that
        # failed to start into an error here instead of requests that never return.
        await anyio.to_thread.run_sync(ready.wait)
        if failure or not server.started:
            await anyio.to_thread.run_sync(thread.join)
            sock.close()
            raise RuntimeError("the emulator's server did not start") from (
                failure[0] if failure else None
            )
        url_host = f"[{host}]" if ":" in host else host
        try:
            yield f"http://{url_host}:{bound_port}"
        finally:
            server.should_exit = True
            # In-flight requests (a long-running command waiting on a virtual clock)
            # end now instead of holding the server's graceful shutdown open.
            await portal.stop(cancel_remaining=True)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(thread.join)
            sock.close()
        if failure:
            raise RuntimeError("the emulator's server failed") from failure[0]

"""Hardening, closing (issue 15, item 11): `aclose` with calls in flight, and a client
reused by a second ``asyncio.run``/``trio.run``, both end in `ClientStateError` with
nothing left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import threading
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest
import trio
from reliability_support import EXACT_RETRY, SIGNALS, TIMEOUT, RecordingClock, autojump, bev

from smartcar_async import ClientStateError, RetryPolicy, SmartcarClient, SmartcarError
from smartcar_async.testing import Fault, SmartcarEmulator


class Held(httpx.AsyncBaseTransport):
    """The emulator, holding every API answer until ``release`` is set."""

    def __init__(self, emulator: SmartcarEmulator) -> None:
        self._inner = emulator.transport()
        self.release = anyio.Event()
        self.waiting = 0
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/oauth2/token"):
            self.waiting += 1
            await self.release.wait()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
async def test_aclose_with_reads_in_flight_ends_each_in_a_client_state_error() -> None:
    emulator = SmartcarEmulator(vehicles=0, seed=15)
    car = bev(emulator)
    # Every read answers 503 once: each would retry after aclose() unless stopped.
    emulator.add_fault(Fault.status(503), route=SIGNALS, times=50)
    clock = RecordingClock()
    held = Held(emulator)
    kwargs = emulator.client_kwargs()
    kwargs["transport"] = held
    client = SmartcarClient(**kwargs, clock=clock, retry=EXACT_RETRY)
    outcomes: list[BaseException | None] = []

    async def read() -> None:
        try:
            await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
        except Exception as exc:  # recorded: the test says which kinds may occur
            outcomes.append(exc)
        else:
            outcomes.append(None)

    with anyio.fail_after(TIMEOUT):
        await client.tokens.get()
        async with autojump(clock), anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(read)
            await anyio.wait_all_tasks_blocked()
            assert held.waiting == 50
            await client.aclose()
            held.release.set()
    assert len(outcomes) == 50
    assert all(isinstance(o, ClientStateError) for o in outcomes), {type(o) for o in outcomes}
    assert held.closed
    assert emulator.stats.requests[SIGNALS] == 50  # no retry was sent after the close
    with pytest.raises(ClientStateError, match="closed"):
        await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)


class DropsOnClose(httpx.AsyncBaseTransport):
    """Answers token requests (unless ``hold_token``) and holds the rest until
    ``aclose()``, which fails them as a pool closing under them does."""

    def __init__(self, *, hold_token: bool) -> None:
        self.hold_token = hold_token
        self.waiting = 0
        self._closed = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token") and not self.hold_token:
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
        self.waiting += 1
        await self._closed.wait()
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    async def aclose(self) -> None:
        self._closed.set()


async def closed_mid_call(
    client: SmartcarClient,
    call: Callable[[], Awaitable[object]],
    *,
    then: Callable[[], Awaitable[None]] | None = None,
) -> BaseException:
    """The error ``call()`` ends in when ``client`` is closed while the call waits."""
    errors: list[BaseException] = []

    async def run() -> None:
        try:
            await call()
        except Exception as exc:  # recorded: the test says which kind it must be
            errors.append(exc)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await anyio.wait_all_tasks_blocked()
            await client.aclose()
            if then is not None:
                await then()
    (error,) = errors
    return error


@pytest.mark.anyio
@pytest.mark.parametrize("held", ["token", "read", "command", "command's token"])
async def test_aclose_ends_a_call_whose_request_is_on_the_wire_in_a_client_state_error(
    held: str,
) -> None:
    # Closing the pool fails the requests on it; the caller learns that the client was
    # closed, not that the server hung up (and a command, that it may have been sent,
    # unless only its token request was).
    transport = DropsOnClose(hold_token=held in ("token", "command's token"))
    client = SmartcarClient(
        client_id="client_x",
        client_secret="s",
        transport=transport,
        retry=RetryPolicy(max_retries=0),
    )

    async def call() -> object:
        if held.startswith("command"):
            return await client.commands.lock("v1", user_id="u1")
        return await client.vehicles.get("v1")

    error = await closed_mid_call(client, call)
    assert transport.waiting == 1
    assert isinstance(error, ClientStateError), repr(error)
    assert "closed" in str(error)
    assert isinstance(error.__cause__, SmartcarError | httpx.RequestError)
    assert ("may have reached the vehicle" in str(error)) is (held == "command")


@pytest.mark.anyio
async def test_a_pool_passed_in_keeps_its_errors_after_aclose() -> None:
    # aclose() does not close an http_client the caller passed in: a failure on it is
    # the server's, not the closing's.
    transport = DropsOnClose(hold_token=False)
    own_pool = httpx.AsyncClient(transport=transport)
    client = SmartcarClient(
        client_id="client_x",
        client_secret="s",
        http_client=own_pool,
        retry=RetryPolicy(max_retries=0),
    )
    # The server hangs up on its own time, after the close.
    error = await closed_mid_call(
        client, lambda: client.commands.lock("v1", user_id="u1"), then=transport.aclose
    )
    await own_pool.aclose()
    assert type(error).__name__ == "APIConnectionError", repr(error)


# ---------------------------------------------------------------- a second event loop


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer({"access_token": "tok", "expires_in": 3600})

    def do_GET(self) -> None:
        self._answer({"id": "v"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def threaded_server() -> Iterator[str]:
    """A server on its own thread: it outlives both event loops of a test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def _client_sockets(server: str) -> int:
    """This process's open sockets connected to ``server``: the client's side only.

    The server runs in this process too, and its handler threads close their side of a
    connection on their own time, after the client has closed its own: counting every
    socket would race with them.
    """
    port = int(server.rsplit(":", 1)[1])
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as rows:
            next(rows)  # the header
            for row in rows:
                fields = row.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port:  # the remote address
                    inodes.add(f"socket:[{fields[9]}]")
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        # The listing's own descriptor is gone by the time it is read.
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}") in inodes
    return count


Runner = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]
RUNNERS: dict[str, Runner] = {"asyncio": lambda main: asyncio.run(main()), "trio": trio.run}


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc")
@pytest.mark.parametrize("backend", sorted(RUNNERS))
def test_a_second_event_loop_gets_a_client_state_error_and_no_socket_stays_open(
    backend: str, threaded_server: str
) -> None:
    run = RUNNERS[backend]
    base = threaded_server
    client = SmartcarClient(
        client_id="client_hardening",
        client_secret="s",
        token_url=f"{base}/oauth2/token",
        vehicle_api_url=f"{base}/v3",
        management_api_url=f"{base}/management/v3",
    )
    seen: list[BaseException] = []

    async def first() -> None:
        response, _ = await client.request("GET", "vehicle", "/vehicles/v")
        assert response.json() == {"id": "v"}
        assert _client_sockets(base) == 1  # the count sees the client's connection
        # The careless part: the loop ends without aclose().

    async def second() -> None:
        try:
            async with client:
                await client.request("GET", "vehicle", "/vehicles/v")
        except BaseException as exc:
            seen.append(exc)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(first)
        run(second)
        gc.collect()
    assert len(seen) == 1
    assert isinstance(seen[0], ClientStateError)
    assert isinstance(seen[0], SmartcarError)
    assert "another event loop" in str(seen[0])
    assert client.is_closed
    assert _client_sockets(base) == 0
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []

"""What the reliability tests share: emulator clients, a clock that jumps, the report.

Nothing here sleeps on the wall clock. The focused tests run on a `VirtualClock` that
`autojump` moves to the next sleeper's deadline; only the socket tests (latency beyond
a read timeout, the chaos soak) let real time pass, because httpx's timeouts are real.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest

from smartcar_async import RetryPolicy, SmartcarClient, VirtualClock
from smartcar_async.testing import FleetEntry, SmartcarEmulator

#: Bound, in seconds of wall time, on each focused async test.
TIMEOUT = 15

SIGNALS = "GET /vehicles/{id}/signals"
VEHICLE = "GET /vehicles/{id}"
LOCK = "POST /vehicles/{id}/commands/security/lock"
TOKEN = "POST /oauth2/token"

#: The documented defaults without jitter, so the delays slept are exact.
EXACT_RETRY = RetryPolicy(jitter=0)


class RecordingClock(VirtualClock):
    """A `VirtualClock` that remembers every delay anybody slept on it."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await super().sleep(seconds)


def bev(emulator: SmartcarEmulator) -> FleetEntry:
    """A Tesla with every permission, plugged in, so every command can succeed."""
    car = emulator.add_vehicle("Tesla", "Model 3", 2024, "BEV")
    emulator.set_signal(car.vehicle_id, "charge-ischargingcableconnected", {"value": True})
    return car


def emulator_client(
    emulator: SmartcarEmulator,
    *,
    clock: VirtualClock | None = None,
    retry: RetryPolicy | None = None,
    base_url: str | None = None,
    **options: Any,
) -> SmartcarClient:
    """A client on the emulator: in-process, or over ``base_url`` from ``serve()``."""
    kwargs = emulator.client_kwargs(base_url)
    if clock is not None:
        kwargs["clock"] = clock
    return SmartcarClient(**kwargs, retry=retry or EXACT_RETRY, **options)


async def _jump_forever(clock: VirtualClock) -> None:
    while True:
        await clock.wait_for_sleepers(1)
        # Let every task that can run do so first: a sleeper that is about to be woken
        # by something else should not make time jump.
        await anyio.wait_all_tasks_blocked()
        clock.advance_to_next()


@contextlib.asynccontextmanager
async def autojump(clock: VirtualClock) -> AsyncIterator[None]:
    """Inside the block, whenever every task is blocked and someone sleeps on ``clock``,
    time jumps to the earliest sleeper's deadline."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(_jump_forever, clock)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()


def report(capsys: pytest.CaptureFixture[str], title: str, lines: Iterable[str]) -> None:
    """Print figures into the test run's output even though pytest captures it."""
    with capsys.disabled():
        print(f"\n== {title}")
        for line in lines:
            print(f"   {line}")


def error_chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it was raised from or during."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def pool_state(http: httpx.AsyncClient) -> tuple[int, list[str]]:
    """(connections inspected, problems) for the pool of the SDK's own client.

    Nothing is checked out when the default transport has no request holding a slot
    (``in_flight``), and under it every shard's httpcore pool has no request queued or
    assigned and every connection is idle or closed.
    """
    transport = http._transport  # the SDK's own client: its transport is the default one
    in_flight = getattr(transport, "in_flight", None)
    if in_flight is None:
        return 0, [f"not the default transport: {transport!r}"]
    problems: list[str] = []
    if in_flight:
        problems.append(f"{in_flight} request(s) still hold a slot")
    inspected = 0
    for shard in transport._shards:
        pool = shard.transport._pool  # httpx.AsyncHTTPTransport -> httpcore pool
        if pool._requests:
            problems.append(f"{len(pool._requests)} request(s) still in a shard's pool")
        for connection in pool.connections:
            inspected += 1
            if not (connection.is_idle() or connection.is_closed()):
                problems.append(f"connection not idle: {connection!r}")
    return inspected, problems


# ------------------------------------------------------------- a raw loopback server

Handler = Callable[[anyio.abc.SocketStream], Awaitable[None]]


@contextlib.asynccontextmanager
async def loopback(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` (one call per connection) on a free loopback port; yields
    ``http://127.0.0.1:<port>``."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handler)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            tg.cancel_scope.cancel()


async def read_request(stream: anyio.abc.SocketStream) -> tuple[list[str], bytes]:
    """One HTTP/1.1 request off ``stream``: its head lines and its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length")), 0
    )
    while len(body) < length:
        body += await stream.receive()
    return lines, body


async def answer(
    stream: anyio.abc.SocketStream,
    body: bytes,
    *,
    status: str = "200 OK",
    headers: dict[str, str] | None = None,
) -> None:
    """Send one JSON response and mark the connection closed; a client that hung up
    early (what a body cap does) is not an error."""
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
        await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


def client_at(base: str, **options: Any) -> SmartcarClient:
    """A client whose token endpoint and both APIs are under ``base``."""
    return SmartcarClient(
        client_id=options.pop("client_id", "client_hardening"),
        client_secret=options.pop("client_secret", "hardening-secret"),
        token_url=f"{base}/oauth2/token",
        vehicle_api_url=f"{base}/v3",
        management_api_url=f"{base}/management/v3",
        **options,
    )

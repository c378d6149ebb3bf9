"""The cancellation storm: thousands of callers, half of them cancelled at random points.

A web backend cancels SDK calls all the time (client disconnects, request timeouts,
``anyio.fail_after``). Four storms, each of ``CALLERS`` calls (reads and commands) on
one client, on asyncio and trio; in each, a seeded random half is cancelled:

1. inside the token refresh: the token endpoint stalls, every caller queues on the
   token lock, and the refresher itself is among the cancelled;
2. inside the retry sleep: every first attempt fails (503 for reads, a per-vehicle 429
   for commands), and the callers are cancelled while they sleep on the `VirtualClock`;
3. mid-body: the response heads arrive, then every body stalls;
4. anywhere: faults and token revocations at random, each victim cancelled after a
   random number of scheduler steps.

After each storm the survivors all completed, no cancelled call sent anything more, and
nothing is checked out: no slot held in the default transport, no response body open,
the token lock free. The client is still usable at the end.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.lowlevel
import httpx
import pytest
from reliability_support import SIGNALS, TOKEN, autojump, bev

from smartcar_async import RetryPolicy, SmartcarClient, SmartcarError, VirtualClock
from smartcar_async._transport import ShardedTransport
from smartcar_async.testing import Fault, FleetEntry, SmartcarEmulator

pytestmark = pytest.mark.anyio

CALLERS = 1000
SEED = 4242
TIMEOUT = 60


class GatedStream(httpx.AsyncByteStream):
    """A body that sends half, waits for its gate (if any), then sends the rest."""

    def __init__(self, body: bytes, gate: anyio.Event | None) -> None:
        self._body = body
        self._gate = gate
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        half = len(self._body) // 2
        yield self._body[:half]
        if self._gate is not None:
            await self._gate.wait()
        yield self._body[half:]

    async def aclose(self) -> None:
        self.closed = True


class StallingTransport(httpx.AsyncBaseTransport):
    """The emulator in-process, with a gate on the token endpoint and one on bodies."""

    def __init__(self, emulator: SmartcarEmulator) -> None:
        self._inner = emulator.transport()
        self.token_gate: anyio.Event | None = None
        self.body_gate: anyio.Event | None = None
        self.token_arrivals = 0
        self.token_senders: list[int] = []  # ids of the tasks that sent token requests
        self.streams: list[GatedStream] = []

    @property
    def open_streams(self) -> int:
        return sum(1 for stream in self.streams if not stream.closed)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            self.token_arrivals += 1
            self.token_senders.append(anyio.get_current_task().id)
            if self.token_gate is not None:
                await self.token_gate.wait()
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        stream = GatedStream(body, self.body_gate)
        self.streams.append(stream)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream)


Call = Callable[[SmartcarClient], Awaitable[object]]


def make_calls(rng: random.Random, fleet: list[FleetEntry], count: int) -> list[tuple[str, Call]]:
    calls: list[tuple[str, Call]] = []
    for _ in range(count):
        car = rng.choice(fleet)
        vid, uid = car.vehicle_id, car.user_id
        if rng.random() < 0.75:
            calls.append(("read", lambda c, v=vid, u=uid: c.vehicles.signals(v, user_id=u)))
        else:
            calls.append(("command", lambda c, v=vid, u=uid: c.commands.lock(v, user_id=u)))
    return calls


class Storm:
    """Runs callers, each inside its own cancel scope, and records how each ended."""

    def __init__(self, client: SmartcarClient, calls: list[tuple[str, Call]]) -> None:
        self.client = client
        self.calls = calls
        self.scopes = [anyio.CancelScope() for _ in calls]
        self.results: list[str] = ["pending"] * len(calls)
        self.tasks: dict[int, int] = {}  # task id -> caller index

    async def _run(self, index: int) -> None:
        self.tasks[anyio.get_current_task().id] = index
        with self.scopes[index]:
            try:
                await self.calls[index][1](self.client)
            except SmartcarError as exc:
                self.results[index] = type(exc).__name__
            except Exception as exc:  # must never happen
                self.results[index] = f"escaped {type(exc).__name__}: {exc}"
            else:
                self.results[index] = "ok"
        if self.scopes[index].cancelled_caught:
            self.results[index] = "cancelled"

    def start(self, tg: anyio.abc.TaskGroup) -> None:
        for index in range(len(self.calls)):
            tg.start_soon(self._run, index)

    def cancel(self, victims: list[int]) -> None:
        for index in victims:
            self.scopes[index].cancel()

    def tally(self) -> Counter[str]:
        return Counter(self.results)


def victims(rng: random.Random, count: int) -> list[int]:
    return sorted(rng.sample(range(count), count // 2))


def assert_nothing_checked_out(
    client: SmartcarClient, sharded: ShardedTransport, stalling: StallingTransport
) -> None:
    assert sharded.in_flight == 0, sharded
    assert stalling.open_streams == 0
    assert not client.tokens._lock.locked()


@pytest.fixture
def setup() -> tuple[SmartcarEmulator, VirtualClock, list[FleetEntry]]:
    clock = VirtualClock()
    emulator = SmartcarEmulator(vehicles=0, seed=SEED, clock=clock)
    fleet = [bev(emulator) for _ in range(20)]
    return emulator, clock, fleet


async def test_cancellation_storm(
    setup: tuple[SmartcarEmulator, VirtualClock, list[FleetEntry]], anyio_backend: str
) -> None:
    emulator, clock, fleet = setup
    rng = random.Random(SEED)
    stalling = StallingTransport(emulator)
    sharded = ShardedTransport(
        limits=httpx.Limits(max_connections=2 * CALLERS), shard_factory=lambda _: stalling
    )
    kwargs = emulator.client_kwargs()
    kwargs["transport"] = sharded
    client = SmartcarClient(**kwargs, clock=clock, retry=RetryPolicy(jitter=0))
    with anyio.fail_after(TIMEOUT):
        async with client:
            await token_refresh_storm(client, emulator, stalling, rng, fleet)
            assert_nothing_checked_out(client, sharded, stalling)
            await retry_sleep_storm(client, emulator, clock, rng, fleet)
            assert_nothing_checked_out(client, sharded, stalling)
            await mid_body_storm(client, emulator, stalling, rng, fleet)
            assert_nothing_checked_out(client, sharded, stalling)
            await anywhere_storm(client, emulator, clock, rng, fleet)
            assert_nothing_checked_out(client, sharded, stalling)

            # Still usable: a read and a command go through.
            emulator.faults.clear()
            car = fleet[0]
            await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
            await client.commands.unlock(car.vehicle_id, user_id=car.user_id)
            assert_nothing_checked_out(client, sharded, stalling)


async def token_refresh_storm(
    client: SmartcarClient,
    emulator: SmartcarEmulator,
    stalling: StallingTransport,
    rng: random.Random,
    fleet: list[FleetEntry],
) -> None:
    storm = Storm(client, make_calls(rng, fleet, CALLERS))
    stalling.token_gate = anyio.Event()
    doomed = victims(rng, CALLERS)
    async with anyio.create_task_group() as tg:
        storm.start(tg)
        await anyio.wait_all_tasks_blocked()
        assert stalling.token_arrivals == 1  # one refresher, everyone else queued
        # The refresher (whichever caller the scheduler ran first) is always cancelled.
        refresher = storm.tasks[stalling.token_senders[0]]
        if refresher not in doomed:
            doomed[0] = refresher
        storm.cancel(doomed)
        await anyio.wait_all_tasks_blocked()
        # The refresher was cancelled: the next caller in the queue refreshes instead.
        assert stalling.token_arrivals == 2
        stalling.token_gate.set()
    stalling.token_gate = None
    tally = storm.tally()
    assert tally == {"cancelled": len(doomed), "ok": CALLERS - len(doomed)}, tally
    assert emulator.stats.requests[TOKEN] == 1  # the cancelled token request never arrived


async def retry_sleep_storm(
    client: SmartcarClient,
    emulator: SmartcarEmulator,
    clock: VirtualClock,
    rng: random.Random,
    fleet: list[FleetEntry],
) -> None:
    calls = make_calls(rng, fleet, CALLERS)
    reads = sum(1 for kind, _ in calls if kind == "read")
    commands = CALLERS - reads
    emulator.add_fault(Fault.status(503), route="GET *", times=reads)
    emulator.add_fault(Fault.rate_limit(retry_after=5, scope="vehicle"), route="POST *",
                       times=commands)  # fmt: skip
    emulator.reset_stats()
    storm = Storm(client, calls)
    doomed = victims(rng, CALLERS)
    async with anyio.create_task_group() as tg:
        storm.start(tg)
        await clock.wait_for_sleepers(CALLERS)  # every caller sleeps before its retry
        assert emulator.stats.total_requests == CALLERS
        storm.cancel(doomed)
        await anyio.wait_all_tasks_blocked()
        assert clock.sleepers == CALLERS - len(doomed)
        clock.advance(5)
    emulator.faults.clear()
    tally = storm.tally()
    assert tally == {"cancelled": len(doomed), "ok": CALLERS - len(doomed)}, tally
    survivors = [i for i in range(CALLERS) if storm.results[i] == "ok"]
    assert emulator.stats.total_requests == CALLERS + len(survivors)  # no cancelled retry
    surviving_commands = sum(1 for i in survivors if calls[i][0] == "command")
    assert sum(emulator.stats.command_executions.values()) == surviving_commands


async def mid_body_storm(
    client: SmartcarClient,
    emulator: SmartcarEmulator,
    stalling: StallingTransport,
    rng: random.Random,
    fleet: list[FleetEntry],
) -> None:
    calls = make_calls(rng, fleet, CALLERS)
    emulator.reset_stats()
    stalling.streams.clear()
    stalling.body_gate = gate = anyio.Event()
    storm = Storm(client, calls)
    doomed = victims(rng, CALLERS)
    async with anyio.create_task_group() as tg:
        storm.start(tg)
        await anyio.wait_all_tasks_blocked()
        assert len(stalling.streams) == CALLERS
        assert stalling.open_streams == CALLERS  # every caller is inside a body
        storm.cancel(doomed)
        await anyio.wait_all_tasks_blocked()
        assert stalling.open_streams == CALLERS - len(doomed)  # the cancelled ones closed
        gate.set()
    stalling.body_gate = None
    tally = storm.tally()
    assert tally == {"cancelled": len(doomed), "ok": CALLERS - len(doomed)}, tally
    assert emulator.stats.total_requests == CALLERS  # nothing was sent again
    commands = sum(1 for kind, _ in calls if kind == "command")
    assert sum(emulator.stats.command_executions.values()) == commands


async def anywhere_storm(
    client: SmartcarClient,
    emulator: SmartcarEmulator,
    clock: VirtualClock,
    rng: random.Random,
    fleet: list[FleetEntry],
) -> None:
    calls = make_calls(rng, fleet, CALLERS)
    emulator.add_fault(Fault.status(503), route=SIGNALS, probability=0.2)
    emulator.add_fault(Fault.latency(1.0), probability=0.2)
    emulator.add_fault(Fault.revoke_tokens(), probability=0.01)
    emulator.add_fault(Fault.latency(0.5), route=TOKEN, probability=0.5)
    storm = Storm(client, calls)
    doomed = victims(rng, CALLERS)
    steps = {index: rng.randrange(200) for index in doomed}

    async def cancel_later(index: int) -> None:
        for _ in range(steps[index]):
            await anyio.lowlevel.checkpoint()
        storm.scopes[index].cancel()

    async with autojump(clock), anyio.create_task_group() as tg:
        storm.start(tg)
        for index in doomed:
            tg.start_soon(cancel_later, index)
    emulator.faults.clear()
    tally = storm.tally()
    assert not [r for r in tally if r.startswith(("escaped", "pending"))], tally
    survivors = CALLERS - tally["cancelled"]
    # Everyone not cancelled got an answer: mostly values, else a typed error.
    assert tally["ok"] > survivors * 0.5, tally
    assert tally["cancelled"] > 0

"""`FanOut`: lazy intake, streaming outcomes, cleanup, per-vehicle and app-wide 429s.

Every test runs on asyncio and trio (``conftest.anyio_backend``), in both iteration forms
where both apply: ``stream`` (``async with ... as outcomes``) and ``waves`` (plain
``async for``). Time is a `VirtualClock`; nothing sleeps on the wall clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import TypeVar

import anyio
import anyio.lowlevel
import httpx
import pytest

from smartcar_async import ErrorDetail, RateLimitError
from smartcar_async._call_context import raise_vehicle_rate_limits
from smartcar_async._client import SmartcarClient
from smartcar_async._clock import VirtualClock
from smartcar_async._fanout import FanOut, FanOutProgress, Outcome

pytestmark = pytest.mark.anyio

T = TypeVar("T")
R = TypeVar("R")

TIMEOUT = 10
TOKEN_URL = "https://iam.smartcar.com/oauth2/token"
FORMS = ["stream", "waves"]


# -- helpers ---------------------------------------------------------------------------


class Tracker:
    """Counts the calls of ``fn`` that are running (entered, not yet exited)."""

    def __init__(self) -> None:
        self.entered = 0
        self.exited = 0
        self.max_live = 0

    @property
    def live(self) -> int:
        return self.entered - self.exited

    def wrap(self, fn: Callable[[T], Awaitable[R]]) -> Callable[[T], Awaitable[R]]:
        async def tracked(target: T) -> R:
            self.entered += 1
            self.max_live = max(self.max_live, self.live)
            try:
                return await fn(target)
            finally:
                self.exited += 1

        return tracked


class CountingSource:
    """An iterable that counts how far it has been consumed, and the most pulled ahead."""

    def __init__(self, n: int, tracker: Tracker) -> None:
        self.n = n
        self.tracker = tracker
        self.pulled = 0
        self.max_ahead = 0  # pulled but fn not yet returned

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            self.pulled += 1
            self.max_ahead = max(self.max_ahead, self.pulled - self.tracker.exited)
            yield i


class Batches:
    """Calls return in batches of ``size`` (fewer once the source is used up), so a
    fan-out runs at full concurrency and pulls as far ahead as it ever lets itself."""

    def __init__(self, size: int, source: CountingSource) -> None:
        self.size = size
        self.source = source
        self.event = anyio.Event()
        self.arrived = 0

    async def wait(self) -> None:
        event = self.event
        self.arrived += 1
        if self.arrived == self.size or self.source.pulled == self.source.n:
            event.set()
            self.event, self.arrived = anyio.Event(), 0
        await event.wait()


class AsyncSource:
    """An async iterable (like an `AsyncPaginator`) that records whether it was closed."""

    def __init__(self, n: int, *, fail_after: int | None = None) -> None:
        self.n = n
        self.fail_after = fail_after
        self.pulled = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[int]:
        try:
            for i in range(self.n):
                if self.fail_after is not None and i == self.fail_after:
                    raise RuntimeError("page 3 failed")
                await anyio.lowlevel.checkpoint()
                self.pulled += 1
                yield i
        finally:
            self.closed = True


async def collect(fan: FanOut[T, R], form: str) -> list[Outcome[T, R]]:
    outcomes: list[Outcome[T, R]] = []
    if form == "stream":
        async with fan as stream:
            async for outcome in stream:
                outcomes.append(outcome)
    else:
        async for outcome in fan:
            outcomes.append(outcome)
    return outcomes


def vehicle_rate_limit(retry_after: float | None) -> RateLimitError:
    return RateLimitError(
        "RATE_LIMIT:VEHICLE (HTTP 429)",
        status_code=429,
        errors=[ErrorDetail(type="RATE_LIMIT", code="VEHICLE")],
        retry_after=retry_after,
    )


async def drive(clock: VirtualClock) -> None:
    """Jump to the next deadline whenever every task waits and one sleeps (in a task)."""
    while True:
        await clock.wait_for_sleepers(1)
        await anyio.wait_all_tasks_blocked()
        clock.advance_to_next()


def rate_limit_response(code: str, retry_after: float) -> httpx.Response:
    return httpx.Response(
        429,
        headers={"Retry-After": str(retry_after)},
        json={"errors": [{"status": "429", "type": "RATE_LIMIT", "code": code}]},
    )


def make_client(
    handler: Callable[[httpx.Request], Coroutine[None, None, httpx.Response]],
    clock: VirtualClock,
) -> SmartcarClient:
    return SmartcarClient(
        client_id="client_test",
        client_secret="s",
        transport=httpx.MockTransport(handler),
        clock=clock,
    )


def token_or_none(request: httpx.Request) -> httpx.Response | None:
    if str(request.url) == TOKEN_URL:
        assert request.method == "POST"
        return httpx.Response(
            200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600}
        )
    return None


def vehicle_id(request: httpx.Request) -> str:
    # .../v3/vehicles/{vid}/signals
    return request.url.path.split("/")[-2]


def signals_fn(client: SmartcarClient) -> Callable[[str], Awaitable[int]]:
    async def read(vid: str) -> int:
        response, _ = await client.request(
            "GET", "vehicle", f"/vehicles/{vid}/signals", user_id="u"
        )
        return response.status_code

    return read


# -- 1. memory: targets are pulled lazily ----------------------------------------------


@pytest.mark.parametrize("form", FORMS)
async def test_pulls_no_more_than_concurrency_ahead(form: str) -> None:
    tracker = Tracker()
    source = CountingSource(10_000, tracker)
    batches = Batches(200, source)

    async def fn(i: int) -> int:
        await batches.wait()
        return i

    with anyio.fail_after(TIMEOUT):
        outcomes = await collect(FanOut(source, tracker.wrap(fn), concurrency=200), form)

    assert sorted(o.target for o in outcomes) == list(range(10_000))
    assert all(o.ok and o.value == o.target for o in outcomes)
    assert tracker.max_live == 200  # it did run 200 at once...
    assert source.max_ahead <= 200 + 1  # ...and pulled no further ahead than that


async def test_slow_consumer_slows_the_intake() -> None:
    tracker = Tracker()
    source = CountingSource(10_000, tracker)

    async def fn(i: int) -> int:
        return i

    with anyio.fail_after(TIMEOUT):
        async with FanOut(source, tracker.wrap(fn), concurrency=50) as outcomes:
            received = 0
            async for _ in outcomes:
                received += 1
                if received == 10:
                    await anyio.wait_all_tasks_blocked()
                    # In flight or holding an outcome (50) plus the stream's buffer (50).
                    assert source.pulled - received <= 2 * 50 + 1
                    break
    assert source.pulled < 200
    assert tracker.live == 0


async def test_async_source_is_pulled_lazily() -> None:
    source = AsyncSource(1_000)
    seen_ahead = 0
    finished = 0

    async def fn(i: int) -> int:
        nonlocal seen_ahead, finished
        seen_ahead = max(seen_ahead, source.pulled - finished)
        await anyio.lowlevel.checkpoint()
        finished += 1
        return i

    with anyio.fail_after(TIMEOUT):
        outcomes = await collect(FanOut(source, fn, concurrency=20), "stream")
    assert sorted(o.target for o in outcomes) == list(range(1_000))
    assert seen_ahead <= 20
    assert source.closed


# -- 2. leaving early leaks nothing ----------------------------------------------------


async def test_break_after_ten_cancels_every_worker() -> None:
    tracker = Tracker()
    source = AsyncSource(10_000)

    async def fn(i: int) -> int:
        if i >= 10:
            await anyio.sleep_forever()
        return i

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(source, tracker.wrap(fn), concurrency=100)
        async with fan as outcomes:
            got = []
            async for outcome in outcomes:
                got.append(outcome.target)
                if len(got) == 10:
                    await anyio.wait_all_tasks_blocked()
                    assert tracker.live == 100  # every slot busy with a call that hangs
                    break
        assert tracker.live == 0
        assert tracker.entered == 110
        assert sorted(got) == list(range(10))
        assert source.closed  # the fan-out made this iterator, so it closed it
        assert source.pulled <= 111
        assert fan.summary().in_flight == 0


async def test_plain_async_for_runs_nothing_between_outcomes() -> None:
    tracker = Tracker()
    source = AsyncSource(10_000)

    async def fn(i: int) -> int:
        await anyio.lowlevel.checkpoint()
        return i

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(source, tracker.wrap(fn), concurrency=50)
        seen = 0
        async with contextlib.aclosing(fan):
            async for _ in fan:
                assert tracker.live == 0  # the wave form: workers run only in __anext__
                seen += 1
                if seen == 10:
                    break
        assert source.closed
        assert source.pulled <= 2 * 50  # one wave at most


async def test_break_through_client_leaves_no_response_open() -> None:
    clock = VirtualClock()
    state = {"active": 0, "open_streams": 0}
    never = anyio.Event()

    class TrackedStream(httpx.AsyncByteStream):
        def __init__(self) -> None:
            state["open_streams"] += 1

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in (b'{"data": ', b"[]}"):
                await anyio.lowlevel.checkpoint()
                yield chunk

        async def aclose(self) -> None:
            state["open_streams"] -= 1

    async def handler(request: httpx.Request) -> httpx.Response:
        token = token_or_none(request)
        if token is not None:
            return token
        state["active"] += 1
        try:
            if int(vehicle_id(request)[1:]) >= 10:
                await never.wait()  # stuck in the transport when the consumer leaves
            return httpx.Response(200, stream=TrackedStream())
        finally:
            state["active"] -= 1

    with anyio.fail_after(TIMEOUT):
        async with make_client(handler, clock) as client:
            vids = [f"v{i}" for i in range(1_000)]
            seen = 0
            async with client.fan_out(vids, signals_fn(client), concurrency=40) as outcomes:
                async for outcome in outcomes:
                    assert outcome.value == 200
                    seen += 1
                    if seen == 10:
                        await anyio.wait_all_tasks_blocked()
                        assert state["active"] == 40  # a request stuck in every slot
                        break
            assert state["active"] == 0
            assert state["open_streams"] == 0


@pytest.mark.parametrize("form", FORMS)
async def test_cancelling_the_consumer_cancels_the_work(form: str) -> None:
    tracker = Tracker()

    async def fn(i: int) -> int:
        if i >= 5:
            await anyio.sleep_forever()
        await anyio.lowlevel.checkpoint()
        return i

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(range(1_000), tracker.wrap(fn), concurrency=20)
        with anyio.CancelScope() as scope:
            if form == "stream":
                async with fan as outcomes:
                    await anext(outcomes)
                    await anyio.wait_all_tasks_blocked()
                    assert tracker.live == 20
                    scope.cancel()
                    await anext(outcomes)
            else:
                # A wave never ends here (15 calls never return): cancel from outside.
                async with anyio.create_task_group() as tg:

                    async def cancel_when_blocked() -> None:
                        await anyio.wait_all_tasks_blocked()
                        assert tracker.live == 20
                        scope.cancel()

                    tg.start_soon(cancel_when_blocked)
                    await anext(fan)
        assert scope.cancelled_caught
        assert tracker.live == 0
        assert tracker.entered == 25


async def test_aclose_inside_the_block_stops_the_run() -> None:
    tracker = Tracker()

    async def fn(i: int) -> int:
        if i >= 3:
            await anyio.sleep_forever()
        return i

    with anyio.fail_after(TIMEOUT):
        async with FanOut(range(100), tracker.wrap(fn), concurrency=10) as outcomes:
            await anext(outcomes)
            await outcomes.aclose()
            with pytest.raises(StopAsyncIteration):
                await anext(outcomes)
            await anyio.wait_all_tasks_blocked()
            assert tracker.live == 0  # cancelled before the block even ends


async def test_an_error_in_the_body_passes_unwrapped() -> None:
    tracker = Tracker()

    async def fn(i: int) -> int:
        if i:
            await anyio.sleep_forever()
        return i

    async def run() -> None:
        async with FanOut(range(100), tracker.wrap(fn), concurrency=10) as outcomes:
            async for _ in outcomes:
                raise KeyError("mine")

    with anyio.fail_after(TIMEOUT), pytest.raises(KeyError, match="mine"):
        await run()
    assert tracker.live == 0


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
async def test_one_error_is_one_outcome(form: str) -> None:
    async def fn(i: int) -> int:
        await anyio.lowlevel.checkpoint()
        if i % 3 == 0:
            raise ValueError(f"bad {i}")
        return i * 10

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(range(30), fn, concurrency=4)
        outcomes = await collect(fan, form)

    assert len(outcomes) == 30
    failed = [o for o in outcomes if not o.ok]
    assert sorted(o.target for o in failed) == list(range(0, 30, 3))
    for outcome in failed:
        assert isinstance(outcome.error, ValueError)
        assert outcome.value is None
        with pytest.raises(ValueError, match="bad"):
            outcome.unwrap()
    assert all(o.unwrap() == o.target * 10 for o in outcomes if o.ok)
    summary = fan.summary()
    assert (summary.started, summary.finished, summary.succeeded, summary.failed) == (
        30,
        30,
        20,
        10,
    )
    assert summary.in_flight == 0


@pytest.mark.parametrize("form", FORMS)
async def test_fail_fast_cancels_the_rest_and_raises_the_error(form: str) -> None:
    tracker = Tracker()

    async def fn(i: int) -> int:
        if i == 3:
            raise ValueError("three")
        await anyio.sleep_forever()
        return i

    with anyio.fail_after(TIMEOUT), pytest.raises(ValueError, match="three"):
        await collect(FanOut(range(100), tracker.wrap(fn), concurrency=10, fail_fast=True), form)
    assert tracker.entered >= 4
    assert tracker.live == 0


async def test_fail_fast_raises_on_exit_when_the_body_was_busy() -> None:
    async def fn(i: int) -> int:
        raise ValueError("early")

    with anyio.fail_after(TIMEOUT), pytest.raises(ValueError, match="early"):
        async with FanOut(range(10), fn, concurrency=2, fail_fast=True):
            await anyio.wait_all_tasks_blocked()


@pytest.mark.parametrize("form", FORMS)
async def test_a_failing_source_ends_the_run_after_the_started_targets(form: str) -> None:
    source = AsyncSource(100, fail_after=5)
    outcomes: list[Outcome[int, int]] = []

    async def fn(i: int) -> int:
        await anyio.lowlevel.checkpoint()
        return i

    async def run() -> None:
        fan = FanOut(source, fn, concurrency=3)
        if form == "stream":
            async with fan as stream:
                async for outcome in stream:
                    outcomes.append(outcome)
        else:
            async for outcome in fan:
                outcomes.append(outcome)

    with anyio.fail_after(TIMEOUT), pytest.raises(RuntimeError, match="page 3"):
        await run()
    assert sorted(o.target for o in outcomes) == [0, 1, 2, 3, 4]


class Boom(BaseException):
    """Not an `Exception`: like a cancellation, it is no target's outcome."""


async def test_base_exceptions_are_not_outcomes() -> None:
    async def fn(i: int) -> int:
        raise Boom

    with anyio.fail_after(TIMEOUT), pytest.raises(BaseException) as info:
        await collect(FanOut(range(3), fn, concurrency=1), "stream")
    assert info.group_contains(Boom)  # the task group's ExceptionGroup, with Boom in it


# -- 3. per-vehicle 429: waited out without the slot -----------------------------------


async def test_vehicle_rate_limit_waits_without_its_slot() -> None:
    clock = VirtualClock()
    requests: list[tuple[float, str]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        token = token_or_none(request)
        if token is not None:
            return token
        vid = vehicle_id(request)
        requests.append((clock.now(), vid))
        if vid == "v0" and len([r for r in requests if r[1] == "v0"]) == 1:
            return rate_limit_response("VEHICLE", 2)
        return httpx.Response(200, json={"data": []})

    with anyio.fail_after(TIMEOUT):
        async with make_client(handler, clock) as client:
            vids = [f"v{i}" for i in range(5)]
            fan = client.fan_out(vids, signals_fn(client), concurrency=1)
            async with fan as outcomes:
                # v0 is asleep on its Retry-After, yet with one slot the others finish.
                others = [await anext(outcomes) for _ in range(4)]
                assert [o.target for o in others] == ["v1", "v2", "v3", "v4"]
                assert clock.now() == 0
                assert fan.summary().waiting_on_rate_limit == 1
                assert fan.summary().in_flight == 0
                clock.advance(2)
                limited = await anext(outcomes)
                with pytest.raises(StopAsyncIteration):
                    await anext(outcomes)

    assert limited.target == "v0"
    assert limited.ok
    assert limited.value == 200
    assert limited.attempts == 2
    assert (limited.started_at, limited.finished_at) == (0, 2)
    assert [t for t, vid in requests if vid == "v0"] == [0, 2]
    assert fan.summary().rate_limit_retries == 1
    assert fan.summary().waiting_on_rate_limit == 0


async def test_outside_a_fan_out_the_pipeline_waits_in_place() -> None:
    clock = VirtualClock()
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        token = token_or_none(request)
        if token is not None:
            return token
        calls += 1
        return rate_limit_response("VEHICLE", 2) if calls == 1 else httpx.Response(200)

    with anyio.fail_after(TIMEOUT):
        async with make_client(handler, clock) as client, anyio.create_task_group() as tg:
            tg.start_soon(drive, clock)
            response, state = await client.request(
                "GET", "vehicle", "/vehicles/v0/signals", user_id="u"
            )
            tg.cancel_scope.cancel()
    assert response.status_code == 200
    assert state.retries == 1
    assert clock.now() == 2
    assert raise_vehicle_rate_limits.get() is False


async def test_rate_limit_retries_are_bounded() -> None:
    clock = VirtualClock()

    async def fn(i: int) -> int:
        raise vehicle_rate_limit(1.0)

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(range(2), fn, concurrency=2, clock=clock, max_rate_limit_retries=3)
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive, clock)
            outcomes = await collect(fan, "stream")
            tg.cancel_scope.cancel()

    assert [o.attempts for o in outcomes] == [4, 4]
    assert all(isinstance(o.error, RateLimitError) for o in outcomes)
    assert fan.summary().rate_limit_retries == 6
    assert clock.now() == 3


async def test_a_retry_after_beyond_the_cap_is_the_outcome() -> None:
    clock = VirtualClock()

    async def fn(i: int) -> int:
        raise vehicle_rate_limit(120.0)

    with anyio.fail_after(TIMEOUT):
        fan = FanOut([1], fn, clock=clock, max_rate_limit_wait=60)
        (outcome,) = await collect(fan, "stream")
    assert outcome.attempts == 1
    assert isinstance(outcome.error, RateLimitError)
    assert outcome.error.retry_after == 120.0


async def test_mass_rate_limits_do_not_pull_the_whole_fleet() -> None:
    clock = VirtualClock()
    tracker = Tracker()
    source = CountingSource(20, tracker)
    attempts: dict[int, int] = {}

    async def fn(i: int) -> int:
        attempts[i] = attempts.get(i, 0) + 1
        if attempts[i] == 1:
            raise vehicle_rate_limit(5.0)
        return i

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(source, tracker.wrap(fn), concurrency=2, clock=clock)
        async with fan as outcomes:
            await clock.wait_for_sleepers(4)
            await anyio.wait_all_tasks_blocked()
            # Two wait without a slot (the cap is `concurrency`); two more wait in
            # their slots; so the intake stopped at four.
            assert source.pulled == 4
            assert fan.summary().waiting_on_rate_limit == 2
            async with anyio.create_task_group() as tg:
                tg.start_soon(drive, clock)
                got = [o async for o in outcomes]
                tg.cancel_scope.cancel()
    assert sorted(o.target for o in got) == list(range(20))
    assert all(o.ok and o.attempts == 2 for o in got)


async def test_wave_form_carries_a_rate_limited_target_to_later_waves() -> None:
    clock = VirtualClock()
    tracker = Tracker()
    tried: set[int] = set()

    async def fn(i: int) -> int:
        if i == 0 and i not in tried:
            tried.add(i)
            raise vehicle_rate_limit(2.0)
        return i

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(range(5), tracker.wrap(fn), concurrency=1, clock=clock)
        firsts = []
        for _ in range(4):
            firsts.append((await anext(fan)).target)
            # Between outcomes nothing runs and nothing sleeps, even with 0 waiting.
            assert (tracker.live, clock.sleepers) == (0, 0)
            assert fan.summary().waiting_on_rate_limit == 1
        assert firsts == [1, 2, 3, 4]
        assert clock.now() == 0
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive, clock)
            last = await anext(fan)
            tg.cancel_scope.cancel()
        with pytest.raises(StopAsyncIteration):
            await anext(fan)
    assert (last.target, last.attempts, last.finished_at) == (0, 2, 2)


# -- 4. app-wide 429: the client's throttle pauses the run -----------------------------


async def test_app_wide_rate_limit_pauses_the_run_then_it_completes() -> None:
    clock = VirtualClock()
    requests: list[tuple[float, str]] = []
    limited = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        token = token_or_none(request)
        if token is not None:
            return token
        vid = vehicle_id(request)
        requests.append((clock.now(), vid))
        if vid == "v7" and not limited.is_set():
            limited.set()
            return rate_limit_response("SMARTCAR_API", 30)
        return httpx.Response(200, json={"data": []})

    concurrency = 4
    vids = [f"v{i}" for i in range(40)]
    with anyio.fail_after(TIMEOUT):
        async with make_client(handler, clock) as client:
            fan = client.fan_out(vids, signals_fn(client), concurrency=concurrency)
            async with fan as outcomes, anyio.create_task_group() as tg:

                async def release_the_pause() -> None:
                    await limited.wait()
                    # Every worker asleep: v7 on its Retry-After, the rest in the throttle.
                    await clock.wait_for_sleepers(concurrency)
                    await anyio.wait_all_tasks_blocked()
                    assert clock.now() == 0
                    after = requests.index((0, "v7")) + 1
                    # Only requests already past the throttle went out after the 429.
                    assert len(requests) - after < concurrency
                    clock.advance(30)

                tg.start_soon(release_the_pause)
                got = [o async for o in outcomes]

    assert sorted(o.target for o in got) == sorted(vids)  # each exactly once
    assert all(o.ok and o.value == 200 and o.attempts == 1 for o in got)
    paused_at = requests.index((0, "v7"))
    late = requests[paused_at + 1 :]
    assert [vid for _, vid in requests].count("v7") == 2
    assert len([t for t, _ in late if t == 0]) < concurrency
    assert all(t == 30 for t, _ in late if t != 0)
    assert len(requests) == 41


# -- pacing, progress, contract --------------------------------------------------------


async def test_max_rate_spaces_the_starts() -> None:
    clock = VirtualClock()
    starts: list[float] = []

    async def fn(i: int) -> int:
        starts.append(clock.now())
        return i

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive, clock)
            await collect(FanOut(range(5), fn, concurrency=5, max_rate=10, clock=clock), "stream")
            tg.cancel_scope.cancel()
    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("form", FORMS)
async def test_on_progress_is_called_per_outcome(form: str) -> None:
    snapshots: list[FanOutProgress] = []

    async def fn(i: int) -> int:
        await anyio.lowlevel.checkpoint()
        if i == 4:
            raise ValueError
        return i

    with anyio.fail_after(TIMEOUT):
        fan = FanOut(range(10), fn, concurrency=3, on_progress=snapshots.append)
        await collect(fan, form)
    assert [s.finished for s in snapshots] == list(range(1, 11))
    assert all(s.in_flight <= 3 for s in snapshots)
    assert snapshots[-1].failed == 1
    assert snapshots[-1].succeeded == 9
    assert fan.summary().finished == 10


async def test_a_failing_progress_callback_ends_the_run() -> None:
    def broken(progress: FanOutProgress) -> None:
        raise ZeroDivisionError

    async def fn(i: int) -> int:
        return i

    with anyio.fail_after(TIMEOUT), pytest.raises(ZeroDivisionError):
        await collect(FanOut(range(10), fn, on_progress=broken), "stream")


async def test_fan_out_runs_once_and_checks_its_arguments() -> None:
    async def fn(i: int) -> int:
        return i

    fan = FanOut([1], fn)
    assert [o.value for o in await collect(fan, "stream")] == [1]
    with pytest.raises(RuntimeError, match="runs once"):
        await fan.__aenter__()
    with pytest.raises(StopAsyncIteration):
        await anext(fan)
    for bad in ({"concurrency": 0}, {"max_rate": 0}, {"max_rate_limit_retries": -1}):
        with pytest.raises(ValueError):
            FanOut([1], fn, **bad)  # type: ignore[arg-type]
    # The options arrive as **FanOutOptions: a misspelt one is still refused at once.
    with pytest.raises(TypeError, match="concurency"):
        FanOut([1], fn, concurency=2)  # type: ignore[call-arg]


async def test_worker_context_does_not_leak_to_the_consumer() -> None:
    seen: list[bool] = []

    async def fn(i: int) -> int:
        seen.append(raise_vehicle_rate_limits.get())
        return i

    with anyio.fail_after(TIMEOUT):
        await collect(FanOut(range(3), fn), "stream")
    assert seen == [True, True, True]
    assert raise_vehicle_rate_limits.get() is False


def test_a_summary_reads_well() -> None:
    done = FanOutProgress(
        started=40, finished=40, succeeded=38, failed=2, rate_limit_retries=1, elapsed=0.018317396
    )
    assert str(done) == "40 finished in 0.02 s: 38 ok, 2 failed; 0 in flight; 1 rate-limit retry"
    assert "elapsed=0.018)" in repr(done)
    running = FanOutProgress(
        started=12, finished=5, succeeded=5, in_flight=4, waiting_on_rate_limit=3, elapsed=2.0
    )
    assert str(running) == (
        "5 finished in 2.00 s: 5 ok, 0 failed; 4 in flight, 3 waiting on Retry-After"
    )

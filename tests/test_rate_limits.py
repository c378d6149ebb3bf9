"""The rate-limit model: Smartcar's app-wide bucket, per-call wait budgets, upstream limits.

An app-wide 429 without ``Retry-After`` pauses the whole client for at least one refill
of the bucket (30 s), longer while 429s keep coming, and back to 30 s after a success;
one wave of 429s counts once; and no call waits longer than its `RetryPolicy` allows
(the ten-reader convoy of the operating-envelope issue ends within its bound, in
process and over loopback). ``UPSTREAM:RATE_LIMIT`` is never retried at the fast pace.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import anyio
import httpx
import pytest
from _helpers import TIMEOUT, FakeSmartcar, RecordingClock, Reply, make_client, read

from smartcar_async import RateLimitError, RetryPolicy, SmartcarClient, UpstreamError
from smartcar_async.testing import RateLimits, SmartcarEmulator, VirtualClock

pytestmark = pytest.mark.anyio

OK = Reply(200, json={"ok": True})


def app_wide_429(**headers: str) -> Reply:
    body = {"errors": [{"status": "429", "type": "RATE_LIMIT", "code": "SMARTCAR_API"}]}
    return Reply(429, json=body, headers=headers)


def upstream_rate_limit() -> Reply:
    body = {"errors": [{"status": "502", "type": "UPSTREAM", "code": "RATE_LIMIT"}]}
    return Reply(502, json=body)


async def drive(clock: VirtualClock, done: anyio.Event) -> None:
    """Move virtual time to the next sleeper whenever every task is blocked."""
    while not done.is_set():
        await anyio.wait_all_tasks_blocked()
        if not done.is_set():
            clock.advance_to_next()


async def run_single(fake: FakeSmartcar, clock: RecordingClock, policy: RetryPolicy) -> Any:
    done = anyio.Event()
    outcome: Any = None
    async with (
        make_client(fake, clock=clock, retry=policy) as client,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(drive, clock, done)
        try:
            outcome = await read(client)
        except Exception as exc:
            outcome = exc
        done.set()
    return outcome


def pause_starts(fake: FakeSmartcar) -> list[float]:
    """The gaps between deliveries: each one is a pause of the client."""
    times = [d.at for d in fake.api]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_first_pause_is_one_refill_and_pauses_grow_then_reset() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [app_wide_429(), app_wide_429(), app_wide_429(), OK, app_wide_429(), OK]
    policy = RetryPolicy(max_retries=5, max_wait=1_000, random=lambda: 1.0)
    with anyio.fail_after(TIMEOUT):
        first = await run_single(fake, clock, policy)
        assert first[0].status_code == 200
        gaps = pause_starts(fake)
        assert gaps[0] >= 25
        assert gaps[0] < gaps[1] < gaps[2]
        assert gaps == [37.5, 75.0, 150.0]  # 30, 60, 120 s, each with its full 25 % jitter
        # A success resets the backoff: the next app-wide 429 pauses for one refill again.
        second = await run_single(fake, clock, policy)
        assert second[0].status_code == 200
        assert pause_starts(fake)[-1] == 37.5


async def test_pauses_are_capped() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [app_wide_429()] * 6 + [OK]
    policy = RetryPolicy(max_retries=6, max_wait=10_000, jitter=0, rate_limit_pause_max=100)
    with anyio.fail_after(TIMEOUT):
        outcome = await run_single(fake, clock, policy)
    assert outcome[0].status_code == 200
    assert pause_starts(fake) == [30.0, 60.0, 100.0, 100.0, 100.0, 100.0]


async def test_a_pause_longer_than_the_wait_budget_raises_with_retry_after() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [app_wide_429(), app_wide_429(), OK]
    policy = RetryPolicy(max_retries=5, max_wait=50, jitter=0)
    with anyio.fail_after(TIMEOUT):
        outcome = await run_single(fake, clock, policy)
    assert isinstance(outcome, RateLimitError)
    assert outcome.code == "SMARTCAR_API"
    assert outcome.retry_after == pytest.approx(60.0)  # the second pause, not waited for
    assert len(fake.api) == 2
    assert clock.now() == pytest.approx(30.0)  # only the first pause was waited out
    assert sum(clock.slept) <= policy.wait_budget


async def test_the_last_429_raises_with_the_client_pause_as_retry_after() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [app_wide_429()]
    policy = RetryPolicy(max_retries=0, jitter=0)
    with anyio.fail_after(TIMEOUT):
        outcome = await run_single(fake, clock, policy)
    assert isinstance(outcome, RateLimitError)
    assert outcome.retry_after == 30.0


async def test_one_wave_of_429s_is_one_strike() -> None:
    """Ten requests in flight when the bucket empties come back 429 together: that is
    one pause of 30 s, not ten doublings."""
    clock = VirtualClock()
    fake = FakeSmartcar(clock)
    gate = anyio.Event()
    arrived = 0

    async def handler(request: httpx.Request, delivery: Any) -> Reply:
        nonlocal arrived
        arrived += 1
        if clock.now() == 0:
            if arrived == 10:
                gate.set()
            await gate.wait()  # all ten are in flight before any answer
            return app_wide_429()
        return OK

    fake.api_handler = handler
    policy = RetryPolicy(jitter=0)
    with anyio.fail_after(TIMEOUT):
        async with (
            make_client(fake, clock=clock, retry=policy) as client,
            anyio.create_task_group() as tg,
        ):
            for _ in range(10):
                tg.start_soon(read, client)
            await clock.wait_for_sleepers(10)
            assert client._shared.throttle.paused_until == 30.0
            clock.advance(30)
    assert [d.at for d in fake.api].count(30.0) == 10


# -- the ten-reader convoy ---------------------------------------------------------------

CONVOY_POLICY = RetryPolicy(max_retries=2, retry_after_cap=1)


def convoy_emulator(clock: Any) -> SmartcarEmulator:
    """One request per second gets through, and each 429 says ``Retry-After: 1``."""
    limits = RateLimits(app_capacity=1, app_refill_per_second=1.0, app_retry_after=True)
    return SmartcarEmulator(vehicles=1, seed=3, clock=clock, rate_limits=limits)


async def ten_readers(client: SmartcarClient, emulator: SmartcarEmulator, now: Any) -> list[Any]:
    entry = emulator.fleet()[0]
    results: list[Any] = []

    async def reader() -> None:
        started = now()
        try:
            await client.vehicles.signal(
                entry.vehicle_id, "odometer-traveleddistance", user_id=entry.user_id
            )
            error = None
        except RateLimitError as exc:
            error = exc
        results.append((now() - started, error))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(reader)
    return results


def check_convoy(results: list[Any], slack: float) -> None:
    assert len(results) == 10
    budget = CONVOY_POLICY.wait_budget
    assert budget == 3.0
    for elapsed, error in results:
        assert elapsed <= budget + slack, sorted(r[0] for r in results)
        if error is not None:
            assert error.code == "SMARTCAR_API"
            assert error.retry_after is not None
    assert any(error is None for _, error in results)


async def test_ten_readers_end_within_their_bound_in_process() -> None:
    clock = VirtualClock()
    emulator = convoy_emulator(clock)
    done = anyio.Event()
    with anyio.fail_after(TIMEOUT):
        async with SmartcarClient(
            **emulator.client_kwargs(), clock=clock, retry=CONVOY_POLICY
        ) as client:
            await client.tokens.get()  # the token request is not what this test is about
            async with anyio.create_task_group() as tg:
                tg.start_soon(drive, clock, done)
                results = await ten_readers(client, emulator, clock.now)
                done.set()
    check_convoy(results, slack=0.0)


async def test_ten_readers_end_within_their_bound_over_loopback() -> None:
    emulator = convoy_emulator(None)  # the real clock on both sides of the socket
    with anyio.fail_after(TIMEOUT):
        async with emulator.serve() as base_url:
            kwargs = emulator.client_kwargs(base_url=base_url)
            async with SmartcarClient(**kwargs, retry=CONVOY_POLICY) as client:
                await client.tokens.get()
                results = await ten_readers(client, emulator, time.monotonic)
    check_convoy(results, slack=0.5)


# -- UPSTREAM:RATE_LIMIT ---------------------------------------------------------------


async def test_upstream_rate_limit_is_not_retried_and_hints_half_an_hour() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [upstream_rate_limit(), OK]
    with anyio.fail_after(TIMEOUT):
        outcome = await run_single(fake, clock, RetryPolicy())
    assert isinstance(outcome, UpstreamError)
    assert outcome.code == "RATE_LIMIT"
    assert outcome.retry_after == 1800.0
    assert len(fake.api) == 1
    assert clock.slept == []


async def test_other_upstream_errors_are_still_retried() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    body = {"errors": [{"status": "502", "type": "UPSTREAM", "code": "NO_RESPONSE"}]}
    fake.api_script = [Reply(502, json=body), OK]
    with anyio.fail_after(TIMEOUT):
        outcome = await run_single(fake, clock, RetryPolicy(jitter=0))
    assert outcome[0].status_code == 200
    assert len(fake.api) == 2

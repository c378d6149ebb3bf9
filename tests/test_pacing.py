"""`rate_limit=`: client-side pacing for the application's request bucket.

Requests wait for a slot in the order they asked, each sleeping once (no polling);
the wait is bounded by the pool timeout; every attempt takes a slot; and a client
paced like the emulator's bucket never meets its 429.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
from _helpers import TIMEOUT, Delivery, FakeSmartcar, Reply, make_client, read

from smartcar_async import (
    APITimeoutError,
    LocalRateLimiter,
    RateLimitError,
    RetryPolicy,
    SmartcarClient,
    VirtualClock,
)
from smartcar_async._pacing import gcra_reserve
from smartcar_async.testing import Fault, RateLimits, SmartcarEmulator

pytestmark = pytest.mark.anyio


def test_gcra_lets_a_burst_through_then_one_per_interval() -> None:
    tat, waits = float("-inf"), []
    for _ in range(5):
        tat, wait = gcra_reserve(tat, 0.0, interval=2.0, burst=3, max_wait=100)
        waits.append(wait)
    assert waits == [0.0, 0.0, 0.0, 2.0, 4.0]
    assert gcra_reserve(tat, 0.0, interval=2.0, burst=3, max_wait=5.0) == (tat, None)
    # Idle time refills the burst, and no more than the burst.
    _, wait = gcra_reserve(tat, 1_000.0, interval=2.0, burst=3, max_wait=0)
    assert wait == 0.0


@pytest.mark.parametrize(
    "options",
    [
        {"capacity": 0, "refill_per_minute": 1},
        {"capacity": 2, "refill_per_minute": 0},
        {"capacity": 2, "refill_per_minute": float("inf")},
        {"capacity": 2, "refill_per_minute": 1, "headroom": 2},
        {"capacity": True, "refill_per_minute": 1},
    ],
)
def test_a_bucket_that_cannot_pace_is_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LocalRateLimiter(**options)  # type: ignore[arg-type]


async def test_requests_wait_in_order_each_sleeping_once() -> None:
    clock = VirtualClock()
    fake = FakeSmartcar(clock)
    limiter = LocalRateLimiter(capacity=3, refill_per_minute=60)  # 2 at once, then 1 per s
    order: list[int] = []

    async def call(index: int, client: SmartcarClient) -> None:
        await read(client)
        order.append(index)

    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock, rate_limit=limiter) as client:
            await client.tokens.get()
            async with anyio.create_task_group() as tg:
                for index in range(6):
                    tg.start_soon(call, index, client)
                    await anyio.wait_all_tasks_blocked()
                # Two went out; four sleep, once each, on their own deadline: no polling.
                await clock.wait_for_sleepers(4)
                assert len(fake.api) == 2
                deadlines = sorted(deadline for deadline, _ in clock._waiters)
                assert deadlines == [1.0, 2.0, 3.0, 4.0]
                for expected in (3, 4, 5, 6):
                    clock.advance_to_next()
                    await anyio.wait_all_tasks_blocked()
                    assert len(fake.api) == expected
    assert order == [0, 1, 2, 3, 4, 5]
    assert [d.at for d in fake.api] == [0.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    assert (limiter.paced, limiter.waited, limiter.longest_wait) == (4, 10.0, 4.0)
    assert client.rate_limit_waited_seconds == 10.0


async def test_the_wait_is_bounded_by_the_pool_timeout() -> None:
    clock = VirtualClock()
    fake = FakeSmartcar(clock)
    limiter = LocalRateLimiter(capacity=1, refill_per_minute=6, headroom=0)  # 1 per 10 s
    timeout = httpx.Timeout(5.0, pool=15.0)
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock, rate_limit=limiter, timeout=timeout) as client:
            await read(client)
            async with anyio.create_task_group() as tg:
                tg.start_soon(read, client)  # due in 10 s: within the pool timeout
                await clock.wait_for_sleepers(1)
                with pytest.raises(APITimeoutError, match="pool timeout"):
                    await read(client)  # due in 20 s: refused at once, nothing sent
                clock.advance(10)
    assert [d.at for d in fake.api] == [0.0, 10.0]


async def test_every_attempt_takes_a_slot() -> None:
    clock = VirtualClock()
    fake = FakeSmartcar(clock)
    body = {"errors": [{"status": "500", "type": "SERVER", "code": "INTERNAL"}]}
    fake.api_script = [Reply(500, json=body)]
    limiter = LocalRateLimiter(capacity=1, refill_per_minute=60, headroom=0)
    with anyio.fail_after(TIMEOUT):
        async with (
            make_client(
                fake, clock=clock, rate_limit=limiter, retry=RetryPolicy(jitter=0)
            ) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(read, client)
            await clock.wait_for_sleepers(1)  # the retry's 0.5 s backoff
            clock.advance(0.5)
            await clock.wait_for_sleepers(1)  # then the slot, due at 1 s
            assert clock.next_deadline() == 1.0
            clock.advance(0.5)
    assert [d.at for d in fake.api] == [0.0, 1.0]


async def drive(clock: VirtualClock, done: anyio.Event) -> None:
    """Move the clock on while anything sleeps on it, until ``done``.

    Half a second at a time: one advance per slot would cost asyncio's
    wait_all_tasks_blocked a tenth of a real second each.
    """
    while not done.is_set():
        await anyio.wait_all_tasks_blocked()
        if clock.sleepers:
            clock.advance(0.5)


async def test_paced_like_the_bucket_a_fleet_never_meets_the_429() -> None:
    clock = VirtualClock()
    limits = RateLimits(app_capacity=20, app_refill_per_second=10)
    emulator = SmartcarEmulator(vehicles=30, seed=5, clock=clock, rate_limits=limits)
    limiter = LocalRateLimiter(capacity=20, refill_per_minute=600)
    done = anyio.Event()

    with anyio.fail_after(TIMEOUT):
        async with (
            SmartcarClient(**emulator.client_kwargs(), clock=clock, rate_limit=limiter) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(drive, clock, done)
            async with client.fan_out(
                emulator.fleet() * 4,
                lambda car: client.vehicles.get(car.vehicle_id),
                concurrency=50,
            ) as outcomes:
                results = [outcome async for outcome in outcomes]
            done.set()
    assert all(outcome.ok for outcome in results)
    bucket = emulator.rate_limiter
    assert bucket is not None
    assert (bucket.admitted, bucket.refused) == (120, 0)
    assert client.rate_limit_paused_seconds == 0.0
    # 19 at once (20 less one slot of headroom), then ten a second: about 10.1 s.
    assert (120 - 19) / 10 <= clock.now() <= (120 - 19) / 10 + 0.5


async def paced_reads(
    emulator: SmartcarEmulator,
    clock: VirtualClock,
    calls: int,
    *,
    first: Callable[[SmartcarClient], Awaitable[None]] | None = None,
) -> list[Exception]:
    """The errors of ``calls`` concurrent vehicle reads, paced to a bucket of 20 at 10 a
    second (the emulator's, in these tests) and never retried; ``first`` runs before."""
    limiter = LocalRateLimiter(capacity=20, refill_per_minute=600)
    car = emulator.fleet()[0]
    done = anyio.Event()
    errors: list[Exception] = []

    async def get() -> None:
        try:
            await client.vehicles.get(car.vehicle_id)
        except Exception as exc:  # recorded: the tests say none may occur
            errors.append(exc)

    with anyio.fail_after(TIMEOUT):
        async with (
            SmartcarClient(
                **emulator.client_kwargs(),
                clock=clock,
                rate_limit=limiter,
                retry=RetryPolicy(max_retries=0),
            ) as client,
            anyio.create_task_group() as tg,
        ):
            if first is not None:
                await first(client)
            tg.start_soon(drive, clock, done)
            async with anyio.create_task_group() as reads:
                for _ in range(calls):
                    reads.start_soon(get)
            done.set()
    return errors


async def test_a_slow_token_does_not_bunch_the_paced_requests() -> None:
    # Each request takes its slot after its token: slots that came due while every
    # request waited for a slow token must not all be spent at once when it arrives.
    clock = VirtualClock()
    limits = RateLimits(app_capacity=20, app_refill_per_second=10)
    emulator = SmartcarEmulator(vehicles=1, seed=5, clock=clock, rate_limits=limits)
    emulator.add_fault(Fault.latency(1.0), route="POST /oauth2/token")
    assert await paced_reads(emulator, clock, 40) == []
    bucket = emulator.rate_limiter
    assert bucket is not None
    assert (bucket.admitted, bucket.refused) == (40, 0)


async def test_a_request_that_waited_long_for_a_slot_goes_with_a_fresh_token() -> None:
    # Tokens last 120 s (refreshed in their last 60 s); one slot a minute. The fourth
    # read's slot comes at 180 s: the token it would have taken at 0 s is long dead.
    clock = VirtualClock()
    fake = FakeSmartcar(clock, expires_in=120)
    limiter = LocalRateLimiter(capacity=1, refill_per_minute=1, headroom=0)
    unbounded = httpx.Timeout(5.0, pool=None)
    done = anyio.Event()
    with anyio.fail_after(TIMEOUT):
        async with (
            make_client(fake, clock=clock, rate_limit=limiter, timeout=unbounded) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(drive, clock, done)
            async with anyio.create_task_group() as reads:
                for _ in range(4):
                    reads.start_soon(read, client)
            done.set()
    assert [d.at for d in fake.api] == [0.0, 60.0, 120.0, 180.0]
    issued_at = {value: d.at for value, d in zip(fake.issued, fake.token_requests, strict=True)}
    for delivery in fake.api:
        assert delivery.authorization is not None
        token = delivery.authorization.removeprefix("Bearer ")
        assert issued_at[token] + 120 - delivery.at >= 60, (token, delivery.at)


async def test_a_token_refresh_after_the_slot_wait_does_not_bunch_the_requests() -> None:
    # 60 s tokens (refreshed in their last 30 s), a refresh that takes 5 s, a 20-slot
    # bucket at 10 a second. 150 requests start when the token has 35 s left: those
    # whose slots come in its last 30 s wait for the refresh, and must not then all go
    # together when the new token arrives.
    clock = VirtualClock()
    limits = RateLimits(app_capacity=20, app_refill_per_second=10)
    emulator = SmartcarEmulator(
        vehicles=1, seed=5, clock=clock, rate_limits=limits, token_lifetime=60
    )

    async def age_the_token(client: SmartcarClient) -> None:
        await client.tokens.get()
        clock.advance(25)
        emulator.add_fault(Fault.latency(5.0), route="POST /oauth2/token")

    assert await paced_reads(emulator, clock, 150, first=age_the_token) == []
    bucket = emulator.rate_limiter
    assert bucket is not None
    assert (bucket.admitted, bucket.refused) == (150, 0)


async def test_a_request_waiting_for_its_slot_waits_out_a_pause_that_began_meanwhile() -> None:
    # One slot every 10 s. The first request's answer, at 1 s, is an app-wide 429: the
    # client pauses until 31 s. The second, whose slot comes at 10 s, is not sent
    # during the pause, and takes a fresh slot after it.
    clock = VirtualClock()
    fake = FakeSmartcar(clock)
    limit = {"errors": [{"status": "429", "type": "RATE_LIMIT", "code": "SMARTCAR_API"}]}

    async def answer(request: httpx.Request, delivery: Delivery) -> Reply:
        if len(fake.api) == 1:
            await clock.sleep(1)
            return Reply(429, json=limit)
        return Reply(200, json={"ok": True})

    fake.api_handler = answer
    limiter = LocalRateLimiter(capacity=1, refill_per_minute=6, headroom=0)
    outcomes: list[Exception | None] = []

    async def call() -> None:
        try:
            await read(client)
        except Exception as exc:  # recorded: the test says which
            outcomes.append(exc)
        else:
            outcomes.append(None)

    with anyio.fail_after(TIMEOUT):
        async with make_client(
            fake, clock=clock, rate_limit=limiter, retry=RetryPolicy(max_retries=0, jitter=0)
        ) as client:
            await client.tokens.get()
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await clock.wait_for_sleepers(1)  # the first answer, due at 1 s
                tg.start_soon(call)
                await clock.wait_for_sleepers(2)  # and the second's slot, at 10 s
                while len(outcomes) < 2:
                    await anyio.wait_all_tasks_blocked()
                    clock.advance_to_next()
    assert [d.at for d in fake.api] == [0.0, 31.0]
    assert isinstance(outcomes[0], RateLimitError)
    assert outcomes[1] is None

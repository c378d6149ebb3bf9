"""`RedisRateLimiter` against a real redis-server: one request bucket for many processes.

The acceptance test runs eight worker processes (``pacing_worker.py``) against the
emulator served on loopback, which holds the same bucket (capacity 20, 600 per minute):
none of their requests is refused, and together they send at the configured rate.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis.asyncio as aioredis
import trio
from redis_support import RedisServer, Worker

from smartcar_async import ConfigurationError, SystemClock, VirtualClock
from smartcar_async.contrib.redis import RedisRateLimiter
from smartcar_async.testing import RateLimits, SmartcarEmulator

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

PACING_WORKER = Path(__file__).with_name("pacing_worker.py")
CAPACITY = 20
PER_MINUTE = 600.0
PROCESSES = 8
CALLS = 12


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # redis.asyncio runs only on asyncio


async def test_eight_processes_share_one_bucket_and_none_is_refused(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    limits = RateLimits(app_capacity=CAPACITY, app_refill_per_second=PER_MINUTE / 60)
    emulator = SmartcarEmulator(vehicles=1, seed=11, rate_limits=limits)
    car = emulator.fleet()[0]
    workers: list[Worker] = []
    try:
        async with emulator.serve() as base_url:
            with anyio.fail_after(120):
                args = [
                    "--redis-port", str(redis_server.port), "--base-url", base_url,
                    "--vehicle-id", car.vehicle_id, "--calls", str(CALLS),
                    "--capacity", str(CAPACITY), "--per-minute", str(PER_MINUTE),
                ]  # fmt: skip
                for index in range(PROCESSES):
                    workers.append(
                        await Worker.start(
                            args,
                            secret=emulator.client_secret,
                            client_id=emulator.client_id,
                            stderr=tmp_path / f"pacer{index}.err",
                            script=PACING_WORKER,
                        )
                    )
                for worker in workers:
                    await worker.expect("ready")
                for worker in workers:
                    await worker.send("go")
                reports = [await worker.result() for worker in workers]
    finally:
        for worker in workers:
            await worker.close()
    limiter = emulator.rate_limiter
    assert limiter is not None
    total = PROCESSES * CALLS
    assert [report["errors"] for report in reports] == [[]] * PROCESSES
    assert sum(report["ok"] for report in reports) == total
    assert limiter.refused == 0
    assert limiter.admitted == total
    # The burst (capacity less the one slot of headroom) goes at once; after it the
    # requests arrive one per refill interval.
    assert limiter.first_admitted_at is not None
    assert limiter.last_admitted_at is not None
    window = limiter.last_admitted_at - limiter.first_admitted_at
    burst = CAPACITY - 1
    rate = (total - burst) / window
    configured = PER_MINUTE / 60
    print(
        f"\n[redis rate limiter] {PROCESSES} processes x {CALLS} calls, bucket {CAPACITY} "
        f"+ {PER_MINUTE:g}/min: refused={limiter.refused}, steady rate={rate:.2f}/s "
        f"(configured {configured:g}/s) over {window:.2f} s"
    )
    assert abs(rate - configured) <= 0.05 * configured


async def test_the_script_lets_a_burst_through_then_spaces_requests(
    cache: aioredis.Redis,
) -> None:
    limiter = RedisRateLimiter(cache, capacity=5, refill_per_minute=60, name="burst")
    clock = VirtualClock()  # not used by Redis: its own TIME rules
    waits = [await limiter.reserve(clock, 100.0) for _ in range(6)]
    assert waits[:4] == [0.0] * 4  # capacity 5, one slot of headroom
    assert 0.9 < (waits[4] or 0) <= 1.0
    assert 1.9 < (waits[5] or 0) <= 2.0
    # Too long a wait is refused and reserves nothing.
    assert await limiter.reserve(clock, 0.5) is None
    again = await limiter.reserve(clock, 100.0)
    assert 2.9 < (again or 0) <= 3.0
    assert limiter.paced == 3
    ttl = await cache.pttl(limiter.key)
    assert 0 < ttl <= 8_000


async def test_buckets_are_kept_apart_by_name(cache: aioredis.Redis) -> None:
    one = RedisRateLimiter(cache, capacity=2, refill_per_minute=1, name="client_one")
    two = RedisRateLimiter(cache, capacity=2, refill_per_minute=1, name="client_two")
    assert one.key != two.key
    assert "client_one" not in one.key
    assert await one.reserve(SystemClock(), 0) == 0.0
    assert await one.reserve(SystemClock(), 0) is None
    assert await two.reserve(SystemClock(), 0) == 0.0


async def test_redis_down_paces_the_process_alone(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = redis_server.client(socket_timeout=0.5, socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(
        cache, capacity=3, refill_per_minute=60, timeout=1.0, retry_interval=0
    )
    clock = VirtualClock()
    try:
        redis_server.stop()
        with caplog.at_level(logging.INFO, logger="smartcar_async"):
            waits = [await limiter.reserve(clock, 100.0) for _ in range(3)]
            assert waits == [0.0, 0.0, 1.0]  # the local bucket: 2 at once, then 1 per s
            # Local waits are counted once, in the same counters as shared ones.
            assert (limiter.paced, limiter.waited, limiter.longest_wait) == (1, 1.0, 1.0)
            redis_server.start()
            shared = await limiter.reserve(clock, 100.0)
        assert shared == 0.0  # Redis's bucket is fresh
        messages = [r.getMessage() for r in caplog.records if r.name == "smartcar_async"]
        assert sum("unavailable" in m for m in messages) == 1
        assert any("reachable again" in m for m in messages)
    finally:
        await cache.aclose()


async def test_more_callers_than_connections_still_share_the_bucket(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # redis-py refuses a call when its pool is used up (MaxConnectionsError); that is
    # not Redis being down, and must not hand this process a second, local burst.
    cache = redis_server.client(max_connections=4)
    limiter = RedisRateLimiter(cache, capacity=200, refill_per_minute=60, name="pool")
    waits: list[float | None] = []

    async def reserve() -> None:
        waits.append(await limiter.reserve(SystemClock(), 100.0))

    try:
        with caplog.at_level(logging.INFO, logger="smartcar_async"), anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(reserve)
        assert waits == [0.0] * 50
        assert not [r for r in caplog.records if r.name == "smartcar_async"]
        # All 50 are in Redis's schedule: 199 - 50 slots of the burst are left.
        assert await limiter.reserve(SystemClock(), 0) == 0.0
        more = [await limiter.reserve(SystemClock(), 0) for _ in range(148)]
        assert more == [0.0] * 148
        assert await limiter.reserve(SystemClock(), 0) is None
    finally:
        await cache.aclose()


class CommandCounter:
    """Counts the commands ``cache`` sends (each a round trip, or a try while down)."""

    def __init__(self, cache: aioredis.Redis) -> None:
        self.count = 0
        execute = cache.execute_command

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await execute(*args, **kwargs)

        cache.execute_command = counted  # type: ignore[method-assign]


async def test_while_redis_is_down_it_is_tried_once_per_retry_interval(
    redis_server: RedisServer,
) -> None:
    cache = redis_server.client(socket_timeout=0.5, socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(
        cache, capacity=5, refill_per_minute=60, timeout=0.5, retry_interval=3600
    )
    tries = CommandCounter(cache)
    try:
        redis_server.stop()
        waits = [await limiter.reserve(VirtualClock(), 100.0) for _ in range(3)]
        assert waits == [0.0, 0.0, 0.0]  # the local bucket
        assert tries.count == 1  # not once per request, each costing the timeout
    finally:
        await cache.aclose()


async def test_callers_queued_behind_a_stalled_redis_do_not_each_wait_for_it(
    redis_server: RedisServer,
) -> None:
    # The first calls to meet the stall find Redis down; the ones queued behind them
    # (at most 16 are in flight) pace locally instead of each waiting out the timeout.
    cache = redis_server.client(socket_timeout=5)
    limiter = RedisRateLimiter(cache, capacity=200, refill_per_minute=60, timeout=0.3)
    tries = CommandCounter(cache)
    try:
        assert await limiter.reserve(VirtualClock(), 0) == 0.0
        tries.count = 0
        redis_server.pause()
        try:
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    for _ in range(64):
                        tg.start_soon(limiter.reserve, VirtualClock(), 100.0)
        finally:
            redis_server.resume()
        assert tries.count <= 16
    finally:
        await cache.aclose()


async def test_a_reservation_the_caller_gave_up_on_is_not_kept(
    redis_server: RedisServer,
) -> None:
    # A call that times out is still on Redis's socket: when Redis answers again it must
    # not take a slot from the shared schedule, since this request went out on a local
    # slot meanwhile.
    cache = redis_server.client(socket_timeout=5)
    limiter = RedisRateLimiter(
        cache, capacity=3, refill_per_minute=1, headroom=0, timeout=0.2, retry_interval=0
    )
    clock = VirtualClock()
    try:
        assert await limiter.reserve(clock, 0) == 0.0  # 1 of the 3 slots
        redis_server.pause()
        try:
            assert await limiter.reserve(clock, 0) == 0.0  # timed out: a local slot
        finally:
            redis_server.resume()
        # The abandoned call runs now, before these: it must not have taken a slot.
        assert await limiter.reserve(clock, 0) == 0.0
        assert await limiter.reserve(clock, 0) == 0.0
        assert await limiter.reserve(clock, 0) is None
    finally:
        await cache.aclose()


def test_it_refuses_trio_naming_itself() -> None:
    async def make() -> None:
        RedisRateLimiter(aioredis.Redis(), capacity=5, refill_per_minute=60)

    with pytest.raises(ConfigurationError, match=r"RedisRateLimiter .*LocalRateLimiter"):
        trio.run(make)


def test_a_client_without_one_connection_pool_is_accepted() -> None:
    # redis.asyncio.RedisCluster keeps a pool per node, and no connection_pool.
    class ClusterLike:
        def register_script(self, script: str) -> object:
            return object()

    limiter = RedisRateLimiter(ClusterLike(), capacity=5, refill_per_minute=60)  # type: ignore[arg-type]
    assert limiter.key.endswith(":bucket")

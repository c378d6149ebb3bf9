"""`RedisRateLimiter`: every process of an application paced to its one request bucket."""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from typing import Final

import anyio

from .._clock import Clock
from .._pacing import LocalRateLimiter
from ._redis_support import (
    REDIS_ERRORS,
    Outage,
    RedisClock,
    aioredis,
    check_seconds,
    refuse_trio,
    require_asyncio,
)

__all__ = ["RedisRateLimiter"]

# One GCRA step in Redis, atomically (see smartcar_async._pacing.gcra_reserve). The time
# is Redis's own (TIME), so every host paces on one clock whatever its own says. Values
# are milliseconds, returned as strings because Lua numbers reach clients as integers.
# A call that reaches the script after its deadline (the caller gave up waiting for
# Redis and went out on a local slot) reserves nothing. Every answer carries Redis's
# time, from which the caller sets the next deadline.
# KEYS: bucket. ARGV: interval, burst, max wait, deadline (Redis ms).
_RESERVE_SCRIPT: Final = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + tonumber(now_parts[2]) / 1000
if now > tonumber(ARGV[4]) then return {0, '-1', tostring(now)} end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - (burst - 1) * interval - now
if wait < 0 then wait = 0 end
if wait > max_wait then return {0, tostring(wait), tostring(now)} end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
return {1, tostring(wait), tostring(now)}
"""

# Script calls in flight at once per process, at most (and at most half the Redis
# client's pool): a fleet's hundreds of concurrent requests queue here for a sub-
# millisecond call instead of exhausting the pool, which redis-py reports as an error.
_MAX_CALLS: Final = 16


class RedisRateLimiter(LocalRateLimiter):
    """Paces every process and host of an application to its one request bucket.

    Give the same instance settings to every process (``SmartcarClient(rate_limit=...)``);
    they share one schedule in Redis, kept by one atomic script (GCRA), so together they
    send no faster than the bucket refills and never find it empty. Requests wait in the
    order they asked, each sleeping once, with no polling.

    If Redis cannot be reached the process paces itself alone with the same settings
    (as the `LocalRateLimiter` it extends), logs one warning, tries Redis again once per
    ``retry_interval``, and shares again once Redis answers. A reservation whose caller
    gave up waiting for Redis takes no slot when Redis runs it later. At most 16 calls
    per process (and half the Redis client's pool) are in flight; the rest queue for
    them. `waited`, `longest_wait` and `paced` count this process's waits.

    Args:
        redis: a ``redis.asyncio.Redis`` client (the same one as the token store, if
            you like).
        capacity: the bucket's size (Smartcar's default plan: 120).
        refill_per_minute: requests it gets back per minute (default plan: 2).
        headroom: slots left unused to absorb network jitter (see `LocalRateLimiter`).
        key_prefix: prefix of the Redis key; the key also holds a digest of ``name``.
        name: what identifies the bucket: by default one bucket per prefix. Use your
            client id (hashed, never stored) to keep several applications apart.
        timeout: bound on one Redis round trip, in seconds.
        retry_interval: after a failure, seconds during which Redis is not tried again
            (so an outage does not cost ``timeout`` on every request).

    Raises:
        ConfigurationError: made under trio (``redis.asyncio`` is asyncio only).
        ValueError: a bad bucket, ``timeout`` or ``retry_interval``.

    Examples:
        >>> cache = redis.asyncio.Redis.from_url("redis://cache:6379/0")
        >>> limiter = RedisRateLimiter(cache, capacity=120, refill_per_minute=2)
        >>> client = SmartcarClient(rate_limit=limiter, token_store=RedisTokenStore(cache))
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        capacity: int,
        refill_per_minute: float,
        headroom: int = 1,
        key_prefix: str = "smartcar-async",
        name: str = "default",
        timeout: float = 1.0,
        retry_interval: float = 1.0,
    ) -> None:
        refuse_trio("RedisRateLimiter")
        super().__init__(capacity=capacity, refill_per_minute=refill_per_minute, headroom=headroom)
        check_seconds(timeout=timeout)
        self._redis = redis
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        self.key = f"{key_prefix}:{{{digest}}}:bucket"
        self._timeout = timeout
        self._script = redis.register_script(_RESERVE_SCRIPT)
        self._outage = Outage(
            "Redis rate limiter",
            meanwhile="pacing this process alone",
            back="pacing is shared",
            retry_interval=retry_interval,
        )
        # A Redis Cluster client has a pool per node and no connection_pool.
        pool_size = getattr(getattr(redis, "connection_pool", None), "max_connections", None)
        self._max_calls = _MAX_CALLS
        if isinstance(pool_size, int) and pool_size > 0:
            self._max_calls = max(1, min(_MAX_CALLS, pool_size // 2))
        # One gate per event loop: an asyncio.Semaphore belongs to the loop it first
        # waited in, and a limiter may outlive a loop (one client per asyncio.run).
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._gates = weakref.WeakKeyDictionary()
        self._redis_clock = RedisClock(redis)

    async def reserve(self, clock: Clock, max_wait: float) -> float | None:
        require_asyncio("RedisRateLimiter")
        if self._outage.resting():
            return await super().reserve(clock, max_wait)
        max_wait_ms = repr(min(max_wait, 1e15) * 1000.0)  # Lua cannot be trusted with inf
        async with self._gate():
            # Asked here, after the queue: it may have gone down meanwhile, and while it
            # is down one caller per retry_interval tries it.
            if not self._outage.worth_trying():
                return await super().reserve(clock, max_wait)
            try:
                with anyio.fail_after(self._timeout):
                    give_up_at = time.monotonic() + self._timeout
                    deadline = await self._redis_clock.deadline(give_up_at)
                    granted, wait_ms, redis_now_ms = await self._script(
                        keys=[self.key],
                        args=[repr(self.interval * 1000.0), self.burst, max_wait_ms, deadline],
                    )
            except REDIS_ERRORS as exc:
                self._outage.failed(exc, self._timeout)
                return await super().reserve(clock, max_wait)
        self._redis_clock.saw(redis_now_ms)
        self._outage.answered()
        wait = float(wait_ms)
        if wait < 0:  # past its deadline by Redis's clock (the clocks stepped): go local
            return await super().reserve(clock, max_wait)
        if not int(granted):
            return None
        wait = wait / 1000.0
        self.record(wait)
        return wait

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self._max_calls)
        return gate

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter(capacity={self.capacity}, "
            f"refill_per_minute={self.refill_per_minute}, key={self.key!r})"
        )

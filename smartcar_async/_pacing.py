"""Client-side pacing for the application's request bucket (``rate_limit=``).

Smartcar limits each *application* with a bucket of requests (by default 120, refilling
2 per minute); a request over it gets ``429 RATE_LIMIT:SMARTCAR_API`` and the client
pauses (`ThrottleMiddleware`). A fleet job does better never to meet that 429: given a
`RateLimiter`, the client takes a slot from it before every attempt it sends, so
requests leave no faster than the bucket lets them in.

`LocalRateLimiter` paces one process. The bucket belongs to the application, not the
process: for many processes or hosts use `smartcar_async.contrib.redis.RedisRateLimiter`,
which keeps the same schedule in Redis.

Both follow GCRA (the generic cell rate algorithm): one number, the *theoretical arrival
time* of the next free slot, is all the state. Taking a slot reserves it at once and
returns how long to wait for it, so waiters are served in the order they asked (FIFO),
each sleeps exactly once, and nothing polls.
"""

from __future__ import annotations

import math
from typing import Protocol

import httpx

from ._clock import Clock
from ._error_types import APITimeoutError
from ._logging import logger

__all__ = ["LocalRateLimiter", "Pacer", "RateLimiter", "gcra_reserve"]


class RateLimiter(Protocol):
    """What ``SmartcarClient(rate_limit=...)`` accepts: something that hands out slots.

    `LocalRateLimiter` and `smartcar_async.contrib.redis.RedisRateLimiter` are the two
    the SDK ships.
    """

    async def reserve(self, clock: Clock, max_wait: float) -> float | None:
        """Reserve the next slot: seconds until it is due, or None if that is longer
        than ``max_wait`` (then nothing is reserved). The caller sleeps the wait.

        A reserved slot whose wait is cancelled stays spent: the bucket then sees one
        request fewer than it allows, which errs on the safe side.
        """
        ...


def gcra_reserve(
    tat: float, now: float, *, interval: float, burst: int, max_wait: float
) -> tuple[float, float | None]:
    """One GCRA step: ``(new_tat, wait)``; ``wait`` None means refused (tat unchanged).

    ``burst`` slots are free at once, then one every ``interval`` seconds.

    Examples:
        >>> gcra_reserve(0.0, 0.0, interval=0.1, burst=2, max_wait=1.0)
        (0.1, 0.0)
    """
    start = max(tat, now)
    wait = max(0.0, start - (burst - 1) * interval - now)
    if wait > max_wait:
        return tat, None
    return start + interval, wait


class LocalRateLimiter:
    """Paces the requests of one process to an application bucket.

    Args:
        capacity: the bucket's size (Smartcar's default plan: 120).
        refill_per_minute: requests the bucket gets back per minute (default plan: 2).
        headroom: slots of the bucket left unused, so that requests that reach the API
            a little later or earlier than they left (network jitter) never find it
            empty. The steady rate is not affected, only the first burst.

    Attributes:
        waited: seconds requests have spent waiting for a slot, in total.
        longest_wait: the longest single wait.
        paced: requests that had to wait at all.

    Examples:
        >>> client = SmartcarClient(rate_limit=LocalRateLimiter(capacity=120, refill_per_minute=2))
    """

    def __init__(self, *, capacity: int, refill_per_minute: float, headroom: int = 1) -> None:
        check_bucket(capacity, refill_per_minute, headroom)
        self.capacity = capacity
        self.refill_per_minute = refill_per_minute
        self.headroom = headroom
        self.interval = 60.0 / refill_per_minute
        self._tat = -math.inf
        self.waited = 0.0
        self.longest_wait = 0.0
        self.paced = 0

    @property
    def burst(self) -> int:
        """Requests let out at once from a full bucket (``capacity - headroom``)."""
        return self.capacity - self.headroom

    async def reserve(self, clock: Clock, max_wait: float) -> float | None:
        self._tat, wait = gcra_reserve(
            self._tat, clock.now(), interval=self.interval, burst=self.burst, max_wait=max_wait
        )
        if wait is not None:
            self.record(wait)
        return wait

    def record(self, wait: float) -> None:
        """Count a wait in `waited`, `longest_wait` and `paced`."""
        if wait > 0:
            self.waited += wait
            self.longest_wait = max(self.longest_wait, wait)
            self.paced += 1

    def __repr__(self) -> str:
        return (
            f"LocalRateLimiter(capacity={self.capacity}, "
            f"refill_per_minute={self.refill_per_minute}, headroom={self.headroom})"
        )


def check_bucket(capacity: int, refill_per_minute: float, headroom: int) -> None:
    """Raise `ValueError` for a bucket that cannot pace anything."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
    if not refill_per_minute > 0 or math.isinf(refill_per_minute):
        raise ValueError(f"refill_per_minute must be > 0, got {refill_per_minute!r}")
    if isinstance(headroom, bool) or not isinstance(headroom, int) or not 0 <= headroom < capacity:
        raise ValueError(f"headroom must be an integer from 0 to capacity - 1, got {headroom!r}")


class Pacer:
    """Takes a slot from the `RateLimiter` for each attempt, just before it is sent.

    `AuthMiddleware` calls it once the attempt has its token and no app-wide pause is
    on, so that no other wait holds a slot; if one began meanwhile, the slot is given
    up (see `AuthMiddleware`). Every attempt takes one, retries and a 401's replay
    included, since each costs the bucket a request. The wait is bounded by the
    request's pool timeout (waiting for a slot is waiting for capacity, like waiting
    for a pooled connection); past it the call raises `APITimeoutError` without sending.
    """

    def __init__(self, limiter: RateLimiter, clock: Clock) -> None:
        self.limiter = limiter
        self._clock = clock

    async def take_slot(self, request: httpx.Request) -> None:
        """Wait for this attempt's slot.

        Raises:
            APITimeoutError: no slot within the request's pool timeout (nothing sent).
        """
        timeouts = request.extensions.get("timeout")
        pool = timeouts.get("pool") if isinstance(timeouts, dict) else None
        max_wait = math.inf if pool is None else float(pool)
        wait = await self.limiter.reserve(self._clock, max_wait)
        if wait is None:
            raise APITimeoutError(
                f"{request.method} {request.url.path}: no slot in the application's rate "
                f"limit within the pool timeout ({max_wait:g} s); nothing was sent",
                method=request.method,
                url=str(request.url.copy_with(query=None)),
            )
        if wait > 0:
            await self._clock.sleep(wait)
            if wait >= 1.0:
                logger.debug("paced %s %s by %.2f s", request.method, request.url.path, wait)

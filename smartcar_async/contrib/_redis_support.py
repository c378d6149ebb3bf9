"""What the Redis token store and rate limiter share: the redis package, what counts as
Redis being unavailable, the outage tracker, Redis's clock, and the asyncio-only rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from typing import Final

from .._coerce import text_or_bytes
from .._error_types import ConfigurationError
from .._logging import logger

try:
    import redis as redis_sync
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "smartcar_async.contrib.redis needs the redis package: pip install 'smartcar-async[redis]'"
    ) from _error

__all__ = [
    "REDIS_ERRORS",
    "Outage",
    "RedisClock",
    "aioredis",
    "check_seconds",
    "redis_sync",
    "refuse_trio",
    "require_asyncio",
]

# What "Redis is unavailable" looks like: the client's own errors (connection, timeout,
# script errors), raw socket errors, and our per-operation bound.
REDIS_ERRORS: Final = (RedisError, OSError, TimeoutError, asyncio.TimeoutError)

# What each class tells a trio user to use instead.
_UNDER_TRIO: Final = {
    "RedisTokenStore": "the default in-memory token store",
    "RedisRateLimiter": "smartcar_async.LocalRateLimiter",
}


class RedisClock:
    """Redis's clock as this process sees it, for deadlines that Redis itself checks.

    A call bounded by ``timeout`` here may reach Redis after its caller gave up (it was
    already on the socket when Redis stalled); a script given a deadline on Redis's
    clock then does nothing. The offset comes from TIME once, then from each answer:
    read on arrival, it lags by half a round trip, so deadlines err early, not late.
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._offset: float | None = None  # Redis's time less time.monotonic(), seconds

    async def deadline(self, give_up_at: float) -> str:
        """``give_up_at`` (on ``time.monotonic()``) on Redis's clock, in milliseconds.

        Taken before the first call's TIME, so the round trip for it counts too.
        """
        if self._offset is None:
            seconds, micros = await self._redis.time()
            self._offset = seconds + micros / 1e6 - time.monotonic()
        return repr((give_up_at + self._offset) * 1000.0)

    def saw(self, redis_ms: object) -> None:
        """Note the Redis time (milliseconds) a script answered with."""
        text = text_or_bytes(redis_ms)
        if text is not None:
            with contextlib.suppress(ValueError):
                self._offset = float(text) / 1000.0 - time.monotonic()


def check_seconds(**durations: float) -> None:
    """`ValueError` unless each duration is a positive, finite number of seconds."""
    for name, seconds in durations.items():
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{name} must be a positive number of seconds")


def in_trio() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False  # trio never imported: certainly not running
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def trio_error(what: str) -> ConfigurationError:
    return ConfigurationError(
        f"{what} runs only under asyncio: redis.asyncio does not support trio. "
        f"Under trio, use {_UNDER_TRIO[what]}."
    )


def refuse_trio(what: str) -> None:
    if in_trio():
        raise trio_error(what)


def require_asyncio(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if in_trio():
            raise trio_error(what) from None
        raise ConfigurationError(
            f"{what} must be used inside a running asyncio event loop"
        ) from None


class Outage:
    """Whether Redis counts as down, with one warning per outage and a note when it is
    back. While down, Redis is tried again once per ``retry_interval``, so an outage
    does not cost the caller ``timeout`` on every step."""

    def __init__(self, what: str, *, meanwhile: str, back: str, retry_interval: float) -> None:
        if not (math.isfinite(retry_interval) and retry_interval >= 0):
            raise ValueError("retry_interval must be >= 0 seconds")
        self._what = what
        self._meanwhile = meanwhile
        self._back = back
        self._retry_interval = retry_interval
        self.down = False
        self._retry_at = 0.0

    def resting(self) -> bool:
        """Down, and not yet time to try it again (nothing is claimed by asking)."""
        return self.down and time.monotonic() < self._retry_at

    def worth_trying(self) -> bool:
        """Whether to call Redis now: yes while it is up; while it is down, yes for one
        caller per ``retry_interval`` (the others go on without it meanwhile)."""
        if not self.down:
            return True
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + self._retry_interval
        return True

    def failed(self, exc: BaseException, timeout: float) -> None:
        self._retry_at = time.monotonic() + self._retry_interval
        if self.down:
            return
        self.down = True
        reason = str(exc)[:200] or f"no answer within {timeout:g} s"
        logger.warning(
            "%s unavailable (%s: %s); %s until Redis is back",
            self._what,
            type(exc).__name__,
            reason,
            self._meanwhile,
        )

    def answered(self) -> None:
        if self.down:
            self.down = False
            logger.info("%s reachable again: %s", self._what, self._back)

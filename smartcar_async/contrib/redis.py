"""`RedisTokenStore` and `RedisRateLimiter`: one token and one request bucket per app.

`RedisRateLimiter` (at the end of this module) paces every process of an application to
its one request bucket; what follows describes the token store.

A web backend runs many workers on many hosts; with the default in-memory store each
would fetch its own token. Given to ``SmartcarClient(token_store=...)``, this store keeps
the token in Redis so that one process fetches it and every other process adopts it.

Each process still serves its calls from memory; Redis is read only when the local token
is near expiry, missing, or was refused (a 401). Redis being down never fails a call:
the process fetches its own token, logs one warning, and shares again once Redis is back.

Needs the ``redis`` extra (``pip install 'smartcar-async[redis]'``) and asyncio:
``redis.asyncio`` does not run under trio, so the store refuses trio with a clear error.

Layout in Redis, for key prefix ``P`` and ``D`` = sha256(client id, token URL)[:32]
(the client secret is never part of a key or a value):

- ``P:{D}:token``: a hash ``v`` (the token), ``exp`` (its expiry as a Unix epoch),
  ``lifetime`` (seconds granted), expiring with the token;
- ``P:{D}:lock``: the refresh lock, a random owner id set with ``NX PX lease``.

The braces make both keys hash to one Redis Cluster slot, as the Lua scripts need.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import random
import secrets
import sys
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import anyio

from .._auth import AccessToken, Fetch
from .._clock import Clock, SystemClock
from .._coerce import text_or_bytes
from .._error_types import ConfigurationError
from .._logging import logger
from .._pacing import LocalRateLimiter

try:
    import redis as _redis
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "RedisTokenStore needs the redis package: pip install 'smartcar-async[redis]'"
    ) from _error

__all__ = ["RedisRateLimiter", "RedisTokenStore"]

# What "Redis is unavailable" looks like: the client's own errors (connection, timeout,
# script errors), raw socket errors, and our per-operation bound.
_REDIS_ERRORS: Final = (RedisError, OSError, TimeoutError, asyncio.TimeoutError)

# A shared token is adopted by a refresh only with more than this left (clamped to half
# its lifetime), mirroring TokenManager's default mandatory window: adopting a token the
# manager would refuse at once would only send every process round again.
_MIN_REMAINING: Final = 60.0

# Waiters poll the shared entry: the first poll comes quickly (a token request takes tens
# of milliseconds), later ones back off so a stalled holder costs Redis little.
_FIRST_POLL: Final = 0.005
_MAX_POLL: Final = 0.1

# Values of tokens this process saw refused; never adopted again from Redis.
_REJECTED_MEMORY: Final = 16

# What each class tells a trio user to use instead.
_UNDER_TRIO: Final = {
    "RedisTokenStore": "the default in-memory token store",
    "RedisRateLimiter": "smartcar_async.LocalRateLimiter",
}

# Adopt the shared token if it is fresh and not refused, else try to take the lock, in
# one atomic step: a holder stores the token and frees the lock together, so a process
# that gets the lock here knows no fresher token was published meanwhile. Past its
# deadline (on Redis's clock: see _RedisClock) it does nothing. Every answer ends with
# Redis's time.
# KEYS: token, lock. ARGV: owner, lease (ms), now (epoch s), min remaining (s),
# deadline (Redis ms), refused...
_CLAIM: Final = """
local t = redis.call('TIME')
local now_ms = tostring(tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000)
if tonumber(now_ms) > tonumber(ARGV[5]) then return {'late', now_ms} end
local entry = redis.call('HMGET', KEYS[1], 'v', 'exp', 'lifetime')
local exp, life = tonumber(entry[2]), tonumber(entry[3])
if entry[1] and exp and life then
  local fresh = exp - tonumber(ARGV[3]) > math.min(tonumber(ARGV[4]), life / 2)
  for i = 6, #ARGV do
    if ARGV[i] == entry[1] then fresh = false end
  end
  if fresh then return {'token', entry[1], entry[2], entry[3], now_ms} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'claimed', now_ms}
end
return {'busy', now_ms}
"""

# Store a new token (unless one expiring later is there already: a holder whose lease
# ran out must not replace its successor's newer token) and free the lock if still ours.
# KEYS: token, lock. ARGV: owner, value, exp (epoch s), lifetime (s), ttl (ms).
_PUBLISH: Final = """
local current = tonumber(redis.call('HGET', KEYS[1], 'exp'))
local stored = 0
if not current or current <= tonumber(ARGV[3]) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'exp', ARGV[3], 'lifetime', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  stored = 1
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return stored
"""

# Free the lock only if we still own it: after our lease ran out it may be another's.
# KEYS: lock. ARGV: owner.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Forget the shared token only if it is still the refused one: a late 401 for an old
# token must not throw away the fresh one another process just stored.
# KEYS: token. ARGV: the refused token's value.
_INVALIDATE: Final = """
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class _Unavailable(Exception):
    """Redis failed or did not answer in time (already logged)."""


class _RedisClock:
    """Redis's clock as this process sees it, for deadlines that Redis itself checks.

    A call bounded by ``timeout`` here may reach Redis after its caller gave up (it was
    already on the socket when Redis stalled); a script given a deadline on Redis's
    clock then does nothing. The offset comes from TIME once, then from each answer:
    read on arrival, it lags by half a round trip, so deadlines err early, not late.
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._offset: float | None = None  # Redis's time less time.monotonic(), seconds

    async def deadline(self, seconds_from_now: float) -> str:
        """That many seconds from now on Redis's clock, in milliseconds (for ARGV)."""
        if self._offset is None:
            seconds, micros = await self._redis.time()
            self._offset = seconds + micros / 1e6 - time.monotonic()
        return repr((time.monotonic() + self._offset + seconds_from_now) * 1000.0)

    def saw(self, redis_ms: object) -> None:
        """Note the Redis time (milliseconds) a script answered with."""
        text = text_or_bytes(redis_ms)
        if text is not None:
            with contextlib.suppress(ValueError):
                self._offset = float(text) / 1000.0 - time.monotonic()


class RedisTokenStore:
    """A `TokenStore` that shares one application token through Redis.

    One process refreshes under a Redis lock with a lease; the others poll the shared
    entry until the new token appears (at most ``wait_timeout``). A holder that dies
    loses its lock when the lease ends and the next process takes over. A 401 removes
    the shared token only if it is still the refused one. When Redis fails or answers
    slower than ``timeout``, the process fetches its own token (one warning per outage)
    and shares again, logging once, when Redis answers. A claim of the lock that Redis
    runs after its caller gave up waiting takes no lock.

    Use one store per client (per process); the Redis client is yours to close. asyncio
    only: under trio the store raises `ConfigurationError`.

    Args:
        redis: a ``redis.asyncio.Redis`` client. Give it short socket timeouts; this
            store bounds each operation by ``timeout`` anyway.
        key_prefix: the first part of every key this store writes.
        lock_lease: seconds a refresher holds the lock at most; after that another
            process may refresh. Make it longer than a token request usually takes.
        wait_timeout: seconds a process waits for another's refresh before fetching a
            token itself. Must exceed ``lock_lease``.
        timeout: seconds one Redis operation may take before Redis counts as down.
        retry_interval: after a failure, seconds during which Redis is not tried again
            (so one outage does not cost ``timeout`` on every step of a refresh).
        wall_clock: Unix time source for the absolute expiry kept in Redis.

    Raises:
        ConfigurationError: called under trio.
        TypeError: ``redis`` is the synchronous client.
        ValueError: a bad duration or an empty prefix.

    Examples:
        >>> import redis.asyncio as redis
        >>> from smartcar_async.contrib.redis import RedisTokenStore
        >>> cache = redis.Redis.from_url("redis://cache:6379/0", socket_timeout=1)
        >>> async with SmartcarClient(token_store=RedisTokenStore(cache)) as client:
        ...     await client.vehicles.get(vehicle_id)
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        key_prefix: str = "smartcar-async",
        lock_lease: float = 10.0,
        wait_timeout: float = 15.0,
        timeout: float = 1.0,
        retry_interval: float = 1.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        _refuse_trio("RedisTokenStore")
        if isinstance(redis, _redis.Redis):
            raise TypeError(
                "RedisTokenStore needs an asyncio client (redis.asyncio.Redis), "
                "not the synchronous redis.Redis"
            )
        if not key_prefix:
            raise ValueError("key_prefix must not be empty")
        for name, seconds in (
            ("lock_lease", lock_lease),
            ("wait_timeout", wait_timeout),
            ("timeout", timeout),
        ):
            if not (math.isfinite(seconds) and seconds > 0):
                raise ValueError(f"{name} must be a positive number of seconds")
        if not (math.isfinite(retry_interval) and retry_interval >= 0):
            raise ValueError("retry_interval must be >= 0 seconds")
        if wait_timeout <= lock_lease:
            # Otherwise a waiter gives up before a dead holder's lease ends.
            raise ValueError("wait_timeout must exceed lock_lease")
        self._redis = redis
        self._prefix = key_prefix
        self._lease_ms = max(1, math.ceil(lock_lease * 1000))
        self._wait_timeout = wait_timeout
        self._timeout = timeout
        self._wall = wall_clock
        self._claim_script = redis.register_script(_CLAIM)
        self._redis_clock = _RedisClock(redis)
        self._publish_script = redis.register_script(_PUBLISH)
        self._release = redis.register_script(_RELEASE)
        self._invalidate = redis.register_script(_INVALIDATE)
        self._identity: tuple[str, str] | None = None
        self._clock: Clock | None = None
        self._token_key = ""
        self._lock_key = ""
        # The last token handed to the manager: a Redis entry with the same value comes
        # back as this very object, since the manager tells tokens apart by equality and
        # a fresh wall-to-monotonic conversion would differ by a few microseconds.
        self._latest: AccessToken | None = None
        self._rejected: deque[str] = deque(maxlen=_REJECTED_MEMORY)
        self._outage = _Outage(
            "Redis token store", "this process fetches its own token", retry_interval
        )

    # -- binding ---------------------------------------------------------------------------

    def bind(self, *, client_id: str, token_url: str, clock: Clock) -> None:
        """Attach the store to one application; `TokenManager` calls this when built.

        Binding again with the same application is allowed (two clients of one app).

        Raises:
            ConfigurationError: already bound to another application or clock, or called
                under trio.

        Examples:
            >>> store.bind(client_id="client_abc", token_url=url, clock=SystemClock())
        """
        _refuse_trio("RedisTokenStore")
        identity = (client_id, token_url)
        if self._identity is not None:
            if identity != self._identity:
                raise ConfigurationError(
                    "this RedisTokenStore already serves another client id or token URL; "
                    "give each application its own store"
                )
            if not _same_clock(clock, self._clock):
                raise ConfigurationError("this RedisTokenStore is already bound to another clock")
            return
        digest = hashlib.sha256(f"{client_id}\n{token_url}".encode()).hexdigest()[:32]
        base = f"{self._prefix}:{{{digest}}}"
        self._token_key = f"{base}:token"
        self._lock_key = f"{base}:lock"
        self._identity = identity
        self._clock = clock

    @property
    def token_key(self) -> str:
        """The Redis key of the shared token (empty until bound)."""
        return self._token_key

    @property
    def lock_key(self) -> str:
        """The Redis key of the refresh lock (empty until bound)."""
        return self._lock_key

    def __repr__(self) -> str:
        return f"RedisTokenStore(token_key={self._token_key!r})"

    # -- TokenStore --------------------------------------------------------------------------

    async def load(self) -> AccessToken | None:
        """The shared token, or None (none stored, refused here, or Redis down).

        Examples:
            >>> token = await store.load()
        """
        clock = self._bound()
        if not self._outage.worth_trying():
            return None
        try:
            fields = await self._call(self._redis.hmget, self._token_key, ["v", "exp", "lifetime"])
        except _Unavailable:
            return None
        return self._token_from(fields, clock)

    async def refresh(self, fetch: Fetch, *, stale: AccessToken | None) -> AccessToken:
        """A token newer than ``stale``: a peer's, or one fetched under the shared lock.

        Raises:
            TokenError: this process's own token request failed.

        Examples:
            >>> token = await store.refresh(fetch_token, stale=None)
        """
        self._bound()
        if self._outage.worth_trying():
            with contextlib.suppress(_Unavailable):
                return await self._refresh_shared(fetch, stale)
        return self._remember(await fetch())

    async def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` here, and in Redis if it is still the shared one.

        Examples:
            >>> await store.invalidate(refused_token)
        """
        self._bound()
        if token.value in self._rejected:
            return  # a burst of 401s for one token: Redis needs hearing it once
        self._rejected.append(token.value)
        if self._latest is not None and self._latest.value == token.value:
            self._latest = None
        if self._outage.worth_trying():
            with contextlib.suppress(_Unavailable):
                await self._call(self._invalidate, keys=[self._token_key], args=[token.value])

    # -- the shared refresh ------------------------------------------------------------------

    async def _refresh_shared(self, fetch: Fetch, stale: AccessToken | None) -> AccessToken:
        clock = self._bound()
        owner = secrets.token_hex(16)
        refused = list(self._rejected)
        if stale is not None:
            refused.append(stale.value)
        deadline = time.monotonic() + self._wait_timeout
        delay = _FIRST_POLL
        while True:
            reply = await self._call(self._claim, owner, refused)
            self._redis_clock.saw(reply[-1])
            status = text_or_bytes(reply[0])
            if status == "claimed":
                return await self._fetch_and_publish(fetch, owner)
            if status == "token":
                token = self._token_from(reply[1:], clock)
                if token is not None:
                    return token
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await anyio.sleep(min(left, delay * (0.5 + random.random() / 2)))
            delay = min(delay * 2, _MAX_POLL)
        logger.warning(
            "no shared token after waiting %.1f s for another process; fetching one here",
            self._wait_timeout,
        )
        token = self._remember(await fetch())
        await self._publish(token, owner)
        return token

    async def _claim(self, owner: str, refused: list[str]) -> Any:
        deadline = await self._redis_clock.deadline(self._timeout)
        wall = f"{self._wall():.3f}"
        return await self._claim_script(
            keys=[self._token_key, self._lock_key],
            args=[owner, self._lease_ms, wall, _MIN_REMAINING, deadline, *refused],
        )

    async def _fetch_and_publish(self, fetch: Fetch, owner: str) -> AccessToken:
        published = False
        try:
            token = self._remember(await fetch())
            # Shielded: a refresh cancelled now must still hand its token to the waiting
            # processes and free the lock, not leave them to wait out the lease.
            with anyio.CancelScope(shield=True):
                await self._publish(token, owner)
            published = True
            return token
        finally:
            if not published:
                # Whatever failed (the token request, its cancellation, an error while
                # publishing), free the lock now rather than at the end of the lease.
                with anyio.CancelScope(shield=True), contextlib.suppress(_Unavailable):
                    await self._call(self._release, keys=[self._lock_key], args=[owner])

    async def _publish(self, token: AccessToken, owner: str) -> None:
        """Share ``token`` and free the lock if ours; a Redis failure is only logged."""
        remaining = token.remaining(self._bound().now())
        with contextlib.suppress(_Unavailable):
            if remaining <= 0:
                await self._call(self._release, keys=[self._lock_key], args=[owner])
                return
            await self._call(
                self._publish_script,
                keys=[self._token_key, self._lock_key],
                args=[
                    owner,
                    token.value,
                    f"{self._wall() + remaining:.3f}",
                    repr(token.lifetime),
                    math.ceil(remaining * 1000),
                ],
            )

    # -- helpers ---------------------------------------------------------------------------

    def _bound(self) -> Clock:
        _require_asyncio("RedisTokenStore")
        if self._clock is None:
            raise ConfigurationError(
                "RedisTokenStore is not bound to an application: pass it as "
                "SmartcarClient(token_store=...)"
            )
        return self._clock

    def _token_from(self, fields: Sequence[object], clock: Clock) -> AccessToken | None:
        """Turn ``v``/``exp``/``lifetime`` from Redis into a token on the manager's clock."""
        value, exp, lifetime = (text_or_bytes(field) for field in fields[:3])
        if not value or exp is None or lifetime is None or value in self._rejected:
            return None
        latest = self._latest
        if latest is not None and latest.value == value:
            return latest
        try:
            expires_wall, granted = float(exp), float(lifetime)
        except ValueError:
            return None
        now = clock.now()
        expires_at = now + (expires_wall - self._wall())
        if not (math.isfinite(expires_at) and granted > 0) or expires_at <= now:
            return None
        return self._remember(AccessToken(value=value, expires_at=expires_at, lifetime=granted))

    def _remember(self, token: AccessToken) -> AccessToken:
        self._latest = token
        return token

    async def _call(self, op: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Run one Redis operation within ``timeout``; on failure note the outage."""
        try:
            with anyio.fail_after(self._timeout):
                result = await op(*args, **kwargs)
        except _REDIS_ERRORS as exc:
            self._outage.failed(exc, self._timeout)
            raise _Unavailable from exc
        self._outage.answered("the token is shared again")
        return result


def _same_clock(one: Clock, other: Clock | None) -> bool:
    # Every SystemClock reads the same time.monotonic, so any two are interchangeable.
    return one is other or (isinstance(one, SystemClock) and isinstance(other, SystemClock))


def _in_trio() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False  # trio never imported: certainly not running
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def _trio_error(what: str) -> ConfigurationError:
    return ConfigurationError(
        f"{what} runs only under asyncio: redis.asyncio does not support trio. "
        f"Under trio, use {_UNDER_TRIO[what]}."
    )


def _refuse_trio(what: str) -> None:
    if _in_trio():
        raise _trio_error(what)


def _require_asyncio(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if _in_trio():
            raise _trio_error(what) from None
        raise ConfigurationError(
            f"{what} must be used inside a running asyncio event loop"
        ) from None


class _Outage:
    """Whether Redis counts as down, with one warning per outage and a note when it is
    back. While down, Redis is tried again once per ``retry_interval``, so an outage
    does not cost the caller ``timeout`` on every step."""

    def __init__(self, what: str, meanwhile: str, retry_interval: float) -> None:
        self._what = what
        self._meanwhile = meanwhile
        self._retry_interval = retry_interval
        self.down = False
        self._retry_at = 0.0

    def worth_trying(self) -> bool:
        return not self.down or time.monotonic() >= self._retry_at

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

    def answered(self, shared_again: str) -> None:
        if self.down:
            self.down = False
            logger.info("%s reachable again: %s", self._what, shared_again)


# -- the application's request bucket, shared -------------------------------------------

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
        _refuse_trio("RedisRateLimiter")
        super().__init__(capacity=capacity, refill_per_minute=refill_per_minute, headroom=headroom)
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError("timeout must be a positive number of seconds")
        if not (math.isfinite(retry_interval) and retry_interval >= 0):
            raise ValueError("retry_interval must be >= 0 seconds")
        self._redis = redis
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        self.key = f"{key_prefix}:{{{digest}}}:bucket"
        self._timeout = timeout
        self._script = redis.register_script(_RESERVE_SCRIPT)
        self._outage = _Outage("Redis rate limiter", "pacing this process alone", retry_interval)
        pool_size = getattr(redis.connection_pool, "max_connections", None)
        self._max_calls = _MAX_CALLS
        if isinstance(pool_size, int) and pool_size > 0:
            self._max_calls = max(1, min(_MAX_CALLS, pool_size // 2))
        # One gate per event loop: an asyncio.Semaphore belongs to the loop it first
        # waited in, and a limiter may outlive a loop (one client per asyncio.run).
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._gates = weakref.WeakKeyDictionary()
        self._redis_clock = _RedisClock(redis)

    async def reserve(self, clock: Clock, max_wait: float) -> float | None:
        _require_asyncio("RedisRateLimiter")
        if not self._outage.worth_trying():
            return await super().reserve(clock, max_wait)
        max_wait_ms = repr(min(max_wait, 1e15) * 1000.0)  # Lua cannot be trusted with inf
        async with self._gate():
            try:
                with anyio.fail_after(self._timeout):
                    deadline = await self._redis_clock.deadline(self._timeout)
                    granted, wait_ms, redis_now_ms = await self._script(
                        keys=[self.key],
                        args=[repr(self.interval * 1000.0), self.burst, max_wait_ms, deadline],
                    )
            except _REDIS_ERRORS as exc:
                self._outage.failed(exc, self._timeout)
                return await super().reserve(clock, max_wait)
        self._redis_clock.saw(redis_now_ms)
        self._outage.answered("pacing is shared")
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

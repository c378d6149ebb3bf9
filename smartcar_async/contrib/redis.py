"""`RedisTokenStore` and `RedisRateLimiter`: one token and one request bucket per app.

`RedisRateLimiter` (its own module, ``_redis_limiter``, imported here) paces every
process of an application to its one request bucket; what follows describes the token
store.

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

import contextlib
import hashlib
import math
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import anyio

from .._auth import AccessToken, Fetch
from .._clock import Clock, SystemClock
from .._coerce import text_or_bytes
from .._error_types import ConfigurationError
from .._logging import logger
from ._redis_limiter import RedisRateLimiter
from ._redis_support import (
    REDIS_ERRORS,
    Outage,
    RedisClock,
    aioredis,
    check_seconds,
    redis_sync,
    refuse_trio,
    require_asyncio,
)

__all__ = ["RedisRateLimiter", "RedisTokenStore"]

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

# Adopt the shared token if it is fresh and not refused, else try to take the lock, in
# one atomic step: a holder stores the token and frees the lock together, so a process
# that gets the lock here knows no fresher token was published meanwhile. Past its
# deadline (on Redis's clock: see RedisClock) it does nothing. Every answer ends with
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
        refuse_trio("RedisTokenStore")
        if isinstance(redis, redis_sync.Redis):
            raise TypeError(
                "RedisTokenStore needs an asyncio client (redis.asyncio.Redis), "
                "not the synchronous redis.Redis"
            )
        if not key_prefix:
            raise ValueError("key_prefix must not be empty")
        check_seconds(lock_lease=lock_lease, wait_timeout=wait_timeout, timeout=timeout)
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
        self._redis_clock = RedisClock(redis)
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
        # Asked with resting(), which claims no probe: a store is called rarely, and a
        # burst of 401s must not leave the refresh behind the probe an invalidate took.
        self._outage = Outage(
            "Redis token store",
            meanwhile="this process fetches its own token",
            back="the token is shared again",
            retry_interval=retry_interval,
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
        refuse_trio("RedisTokenStore")
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
        if self._outage.resting():
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
        if not self._outage.resting():
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
        if not self._outage.resting():
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
        deadline = await self._redis_clock.deadline(time.monotonic() + self._timeout)
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
        require_asyncio("RedisTokenStore")
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
        except REDIS_ERRORS as exc:
            self._outage.failed(exc, self._timeout)
            raise _Unavailable from exc
        self._outage.answered()
        return result


def _same_clock(one: Clock, other: Clock | None) -> bool:
    # Every SystemClock reads the same time.monotonic, so any two are interchangeable.
    return one is other or (isinstance(one, SystemClock) and isinstance(other, SystemClock))

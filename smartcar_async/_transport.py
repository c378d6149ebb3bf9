"""The SDK's default HTTP transport: the httpx API outside, a constant cost per request inside.

httpx 0.28 sends every request through one ``httpcore.AsyncConnectionPool``. On every
request and every response close, that pool walks *all* its connections (closed?
expired? idle? - ``has_expired`` polls each socket) and all its queued requests, and the
idle check is quadratic in the number of connections. With hundreds of requests in flight
a plain ``httpx.AsyncClient`` spends its time in that bookkeeping and falls to a few dozen
requests per second.

`ShardedTransport` keeps httpx's pools but makes each one small: it owns many
``httpx.AsyncHTTPTransport`` *shards* of at most ``shard_size`` connections each and sends
every request to the shard with the most free slots. A request holds its slot until its
response stream is closed, so no shard ever has more requests than connections: its pool
never queues, and the pool's per-request walk covers at most ``shard_size`` connections,
however large the total limit. Picking a shard is O(1) (shards sit in buckets by free
slot count). When every slot is taken, requests wait in one FIFO here, bounded by the
request's ``pool`` timeout, which raises `httpx.PoolTimeout` like httpx does.

On asyncio, a shard without a proxy reads the network through `NetworkBackend`
(``_network.py``: asyncio protocols instead of anyio streams under httpcore).

Because the shards are plain ``httpx.AsyncHTTPTransport`` objects, httpcore exceptions
become httpx exceptions exactly as in httpx, ``verify``/``cert``/``http2`` mean what they
mean in httpx, and respx's default mocking (which patches httpcore's pool) intercepts
requests sent through this transport. It runs on asyncio and trio.
"""

from __future__ import annotations

import math
import os
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

import anyio
import httpcore
import httpx

from ._config import DEFAULT_LIMITS
from ._network import NetworkBackend

__all__ = ["DEFAULT_SHARD_SIZE", "ShardFactory", "ShardedTransport", "default_transport"]

#: Connections per shard. Small enough that httpcore's per-request walk over a pool
#: stays a handful of checks, large enough that a shard can keep connections to a few
#: origins (token endpoint, vehicle API, management API) without evicting each other.
DEFAULT_SHARD_SIZE = 4

#: Builds one shard from its share of the limits. The default builds an
#: ``httpx.AsyncHTTPTransport``; pass your own to add e.g. ``local_address`` or ``uds``.
ShardFactory = Callable[[httpx.Limits], httpx.AsyncBaseTransport]

CertTypes = str | tuple[str, str] | tuple[str, str, str]

_T = TypeVar("_T")


class _Waiter(Generic[_T]):
    __slots__ = ("abandoned", "error", "event", "has_value", "value")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.value: _T | None = None
        self.has_value = False
        self.error: BaseException | None = None
        self.abandoned = False


class _WaitQueue(Generic[_T]):
    """A FIFO of tasks waiting for a slot; a freed slot goes straight to the oldest one.

    Handing the slot over (instead of waking everybody to race for it) keeps the order
    fair and the wake-up cost O(1). A waiter that gives up is only marked, and skipped
    when its turn comes, so timing out thousands of waiters stays linear.
    """

    __slots__ = ("_error", "_waiters")

    def __init__(self) -> None:
        self._waiters: deque[_Waiter[_T]] = deque()
        self._error: BaseException | None = None

    def handoff(self, value: _T) -> bool:
        """Give ``value`` to the oldest live waiter; return False if there is none."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if waiter.abandoned:
                continue
            waiter.value = value
            waiter.has_value = True
            waiter.event.set()
            return True
        return False

    def close(self, error: BaseException) -> None:
        """Fail every current and future waiter with ``error``."""
        self._error = error
        while self._waiters:
            waiter = self._waiters.popleft()
            waiter.error = error
            waiter.event.set()

    async def wait(
        self,
        pool_timeout: float | None,
        give_back: Callable[[_T], None],
        on_timeout: Callable[[], BaseException],
    ) -> _T:
        """Wait up to ``pool_timeout`` seconds (None: forever) for a handed-over value.

        If the caller is cancelled after a value was handed over, ``give_back`` returns
        it, so a cancelled waiter never keeps a slot.
        """
        if self._error is not None:
            raise self._error
        waiter: _Waiter[_T] = _Waiter()
        self._waiters.append(waiter)
        try:
            with anyio.move_on_after(math.inf if pool_timeout is None else pool_timeout):
                await waiter.event.wait()
        except BaseException:
            waiter.abandoned = True
            if waiter.has_value:
                give_back(waiter.value)  # type: ignore[arg-type]
            raise
        if waiter.has_value:
            # Even if the timeout fired, the slot arrived first: use it.
            return waiter.value  # type: ignore[return-value]
        if waiter.error is not None:
            raise waiter.error
        waiter.abandoned = True
        raise on_timeout()

    def __len__(self) -> int:
        return sum(1 for w in self._waiters if not w.abandoned)


def _ssl_context(verify: ssl.SSLContext | str | bool, cert: CertTypes | None) -> ssl.SSLContext:
    """Build the one SSL context every shard shares (loading CA bundles is slow)."""
    if isinstance(verify, str):
        # httpx deprecates a path here; accept it without the warning.
        if os.path.isdir(verify):
            ctx = ssl.create_default_context(capath=verify)
        else:
            ctx = ssl.create_default_context(cafile=verify)
    else:
        # trust_env=False: the SDK's configuration never comes from SSL_CERT_* variables.
        ctx = httpx.create_ssl_context(verify=verify, trust_env=False)
    if cert is not None:
        if isinstance(cert, str):
            ctx.load_cert_chain(cert)
        else:
            ctx.load_cert_chain(*cert)
    return ctx


def _balanced(total: int, size: int) -> list[int]:
    """``total`` connections as shard capacities of at most ``size``, differing by <= 1."""
    shards = -(-total // size)
    base, extra = divmod(total, shards)
    return [base + 1] * extra + [base] * (shards - extra)


class _DirectShard(httpx.AsyncHTTPTransport):
    """A shard without a proxy: httpx's transport over the SDK's asyncio network layer.

    httpx builds its httpcore pool with httpcore's default network backend and takes no
    other; the pool is rebuilt here with the same settings and `NetworkBackend`
    (``tests/test_transport.py`` fails if httpx stops keeping its pool in ``_pool``).
    """

    def __init__(self, ctx: ssl.SSLContext, http2: bool, limits: httpx.Limits) -> None:
        super().__init__(verify=ctx, http2=http2, limits=limits, trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ctx,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http2=http2,
            retries=0,
            network_backend=NetworkBackend(),
        )


class _Shard:
    __slots__ = ("capacity", "free", "transport")

    def __init__(self, transport: httpx.AsyncBaseTransport, capacity: int) -> None:
        self.transport = transport
        self.capacity = capacity
        self.free = capacity


class _ReleasingStream(httpx.AsyncByteStream):
    """A shard's response stream that gives the slot back when it is closed."""

    __slots__ = ("_owner", "_shard", "_stream")

    def __init__(
        self, stream: httpx.AsyncByteStream, owner: ShardedTransport, shard: _Shard
    ) -> None:
        self._stream = stream
        self._owner: ShardedTransport | None = owner
        self._shard = shard

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The shard's own iterator, not a generator around it: one layer less per
        # chunk, and one generator less for trio to find unfinished after a break.
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        owner, self._owner = self._owner, None
        if owner is None:
            return
        try:
            # The shard's pool marks the connection idle (or closes it) here, so the slot
            # is only freed once the connection really is free.
            await self._stream.aclose()
        finally:
            owner._release(self._shard)


class ShardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose cost per request does not grow with its connection count.

    Requests go to many small connection pools (shards) instead of one big one. See the
    module docstring for why; the short version: ``httpx.AsyncClient`` with this
    transport keeps its throughput with hundreds of requests in flight.

    Args:
        limits: Totals across all shards. ``max_connections`` is split into shards of at
            most ``shard_size`` connections (``None``: unlimited, shards are added as
            needed); ``max_keepalive_connections`` is split the same way;
            ``keepalive_expiry`` applies to every connection.
        shard_size: Connections per shard.
        verify: As in httpx: ``True`` (certifi's CA bundle), ``False``, a CA bundle
            path, or an ``ssl.SSLContext``. Environment variables are never read.
        cert: A client certificate: a file, ``(certfile, keyfile)`` or
            ``(certfile, keyfile, password)``.
        http2: Allow HTTP/2 (needs the ``h2`` package: ``pip install httpx[http2]``).
        proxy: Send every request through this HTTP(S) proxy URL (``CONNECT`` for
            https, forwarding for http), as httpx's ``proxy=`` does.
        shard_factory: Builds one shard from its limits; defaults to
            ``httpx.AsyncHTTPTransport`` with the settings above and ``retries=0``.

    Examples:
        >>> import httpx
        >>> from smartcar_async._transport import ShardedTransport
        >>> async def main() -> None:
        ...     transport = ShardedTransport(limits=httpx.Limits(max_connections=512))
        ...     async with httpx.AsyncClient(transport=transport) as client:
        ...         await client.get("https://vehicle.api.smartcar.com/v3/vehicles/x")
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        shard_size: int = DEFAULT_SHARD_SIZE,
        verify: ssl.SSLContext | str | bool = True,
        cert: CertTypes | None = None,
        http2: bool = False,
        proxy: str | None = None,
        shard_factory: ShardFactory | None = None,
    ) -> None:
        if shard_size < 1:
            raise ValueError(f"shard_size must be at least 1, not {shard_size}")
        max_connections = limits.max_connections
        if max_connections is not None and max_connections < 1:
            raise ValueError(f"limits.max_connections must be at least 1, not {max_connections}")
        if http2:
            try:
                import h2  # noqa: F401
            except ImportError:
                raise ImportError(
                    "http2=True needs the 'h2' package: pip install 'smartcar-async[http2]'"
                ) from None

        if shard_factory is None:
            ctx = _ssl_context(verify, cert)

            def shard_factory(shard_limits: httpx.Limits) -> httpx.AsyncBaseTransport:
                if proxy is None:
                    return _DirectShard(ctx, http2, shard_limits)
                # Through a proxy, httpcore's own network layer: an https proxy carries
                # TLS inside TLS, which asyncio's transports do not do on every Python.
                return httpx.AsyncHTTPTransport(
                    verify=ctx,
                    http2=http2,
                    limits=shard_limits,
                    trust_env=False,
                    retries=0,
                    proxy=proxy,
                )

        self._factory = shard_factory
        self._limits = limits
        self._size = shard_size if max_connections is None else min(shard_size, max_connections)
        # The capacities of the shards still to create, in order (None: no total limit,
        # shards of ``shard_size`` are added as needed). A plan's capacities differ by at
        # most one, so the total is exact.
        self._plan: deque[int] | None = None
        if max_connections is not None:
            self._plan = deque(_balanced(max_connections, self._size))
        self._planned_shards = 0 if self._plan is None else len(self._plan)
        self._shards: list[_Shard] = []
        # _buckets[f] holds the shards with exactly f free slots, in the order they got
        # there; _max_free is the highest non-empty bucket. Both make picking O(1).
        self._buckets: list[dict[_Shard, None]] = [{} for _ in range(self._size + 2)]
        self._max_free = 0
        self._in_flight = 0
        self._waiters: _WaitQueue[_Shard] = _WaitQueue()
        self._closed = False

    @property
    def in_flight(self) -> int:
        """Requests holding a slot: sent, and their response not yet closed."""
        return self._in_flight

    @property
    def shard_count(self) -> int:
        """Shards created so far (they are created on first need)."""
        return len(self._shards)

    @property
    def max_connections(self) -> int | None:
        """The total connection limit across shards (None: unlimited)."""
        return self._limits.max_connections

    def grow(self, max_connections: int) -> None:
        """Raise the total connection limit to ``max_connections`` (it never shrinks).

        New shards of at most ``shard_size`` connections are planned for the difference
        and created when needed; existing shards and their connections stay as they are.
        `SmartcarClient.fan_out` calls this when a fan-out asks for more concurrency
        than the SDK's own pool has.

        Examples:
            >>> transport = ShardedTransport(limits=httpx.Limits(max_connections=512))
            >>> transport.grow(2000)
            >>> transport.max_connections
            2000
        """
        current = self._limits.max_connections
        if current is None or max_connections <= current or self._plan is None:
            return
        self._plan.extend(_balanced(max_connections - current, self._size))
        self._planned_shards = len(self._shards) + len(self._plan)
        keepalive = self._limits.max_keepalive_connections
        if keepalive is not None and keepalive >= current:
            keepalive = max_connections  # every connection was kept alive: still so
        self._limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=keepalive,
            keepalive_expiry=self._limits.keepalive_expiry,
        )
        # Requests already queued for a slot get the new room first, oldest first.
        while len(self._waiters):
            shard = self._take_nowait()
            if shard is None:
                break
            if not self._waiters.handoff(shard):
                self._release(shard)
                break

    def _next_capacity(self) -> int:
        """Capacity of the next shard to create, or 0 if the plan is complete."""
        if self._plan is None:
            return self._size
        return self._plan[0] if self._plan else 0

    def _take_nowait(self) -> _Shard | None:
        free = self._max_free
        capacity = self._next_capacity()
        # With a total limit, an uncreated shard is emptier than any existing one, so
        # it is created as soon as that helps; without one, only when all are full
        # (else there would be as many shards as requests ever in flight at once).
        if capacity > free and (self._plan is not None or free == 0):
            if self._plan:
                self._plan.popleft()
            shard = _Shard(self._factory(self._shard_limits(capacity)), capacity)
            self._shards.append(shard)
            self._buckets[capacity][shard] = None
            self._max_free = free = capacity
        if free == 0:
            return None
        bucket = self._buckets[free]
        # The shard that got here last: its connections are the most recently used,
        # so a light load keeps reusing a few warm connections instead of all of them.
        shard = next(reversed(bucket))
        del bucket[shard]
        shard.free = free - 1
        self._buckets[free - 1][shard] = None
        if not bucket:
            self._max_free = free - 1
        self._in_flight += 1
        return shard

    def _release(self, shard: _Shard) -> None:
        if self._waiters.handoff(shard):
            return  # the slot stays taken, by the oldest waiter
        self._in_flight -= 1
        free = shard.free
        del self._buckets[free][shard]
        free += 1
        shard.free = free
        self._buckets[free][shard] = None
        if free > self._max_free:
            self._max_free = free

    def _shard_limits(self, capacity: int) -> httpx.Limits:
        keepalive = self._limits.max_keepalive_connections
        if keepalive is not None:
            shards = self._planned_shards or 1
            keepalive = min(capacity, -(-keepalive // shards))
        return httpx.Limits(
            max_connections=capacity,
            max_keepalive_connections=keepalive,
            keepalive_expiry=self._limits.keepalive_expiry,
        )

    def _pool_timeout(self) -> httpx.PoolTimeout:
        return httpx.PoolTimeout(
            f"timed out waiting for a connection: all {self._limits.max_connections} are busy"
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the least busy shard (the httpx transport API)."""
        if self._closed:
            raise RuntimeError("this ShardedTransport is closed")
        shard = self._take_nowait()
        if shard is None:
            timeout = request.extensions.get("timeout", {}).get("pool")
            shard = await self._waiters.wait(timeout, self._release, self._pool_timeout)
        try:
            response = await shard.transport.handle_async_request(request)
        except BaseException:
            self._release(shard)
            raise
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(stream, self, shard),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every shard's connections; waiting requests fail with `RuntimeError`."""
        self._closed = True
        self._waiters.close(RuntimeError("the ShardedTransport was closed"))
        # Shielded: a cancelled shutdown must still close every shard's sockets.
        with anyio.CancelScope(shield=True):
            for shard in self._shards:
                await shard.transport.aclose()

    def __repr__(self) -> str:
        return (
            f"<ShardedTransport shards={len(self._shards)} in_flight={self._in_flight}"
            f" waiting={len(self._waiters)} max_connections={self._limits.max_connections}>"
        )


def default_transport(
    limits: httpx.Limits,
    *,
    verify: ssl.SSLContext | str | bool = True,
    http2: bool = False,
    proxy: str | None = None,
) -> httpx.AsyncBaseTransport:
    """Return the transport `SmartcarClient` uses when it builds its own httpx client.

    Examples:
        >>> import httpx
        >>> from smartcar_async._transport import default_transport
        >>> client = httpx.AsyncClient(transport=default_transport(httpx.Limits()))
    """
    return ShardedTransport(limits=limits, verify=verify, http2=http2, proxy=proxy)

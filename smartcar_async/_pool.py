"""Pool sizing that follows the work: a fan-out never runs below its concurrency unsaid.

A fan-out of ``concurrency=2000`` over a pool of 512 connections runs 512 calls at once;
the other 1,488 wait for a connection, and nothing says so. `PoolSizer` closes that gap
when a fan-out starts:

- the pool the SDK built for itself (no ``transport=``, ``http_client=`` or ``limits=``
  given, and one transport for every base URL: no per-host proxy mounts) grows to the
  fan-out's concurrency, up to what the process's open-file limit allows (one
  connection is one file descriptor);
- a pool the user sized (``limits=``, ``transport=``), or growth the file limit stops,
  gets one warning per client naming the setting to change.

A client passed as ``http_client=`` is the user's to size: its pool is not inspected.
"""

from __future__ import annotations

import warnings

import attrs
import httpx

from ._transport import ShardedTransport

__all__ = ["PoolSizer"]

# File descriptors left for everything but the pool's connections (log files, the
# token endpoint, the event loop's own, a web server's sockets...).
_SPARE_FDS = 256


def _fd_budget() -> int | None:
    """Connections the open-file limit leaves room for (None: no limit known)."""
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(0, soft - _SPARE_FDS)


def _pool_size(transport: httpx.AsyncBaseTransport | None) -> int | None:
    """The connection limit of a transport the SDK knows (None: unknown or unlimited)."""
    # ShardedTransport and AiohttpTransport both say; other transports are not guessed.
    size = getattr(transport, "max_connections", None)
    return size if isinstance(size, int) else None


@attrs.define
class PoolSizer:
    """Matches a client's pool to the fan-outs run on it.

    Attributes:
        transport: the transport of the SDK's own httpx client (None with
            ``http_client=``).
        growable: whether the SDK chose the pool's size itself, so may change it.
        warned: whether this client already warned.
    """

    transport: httpx.AsyncBaseTransport | None
    growable: bool
    warned: bool = False

    def fit(self, concurrency: int) -> None:
        """Make room for ``concurrency`` calls at once, or warn once that there is none.

        Examples:
            >>> sizer.fit(2000)  # the SDK's own pool now has 2,000 connections
        """
        size = _pool_size(self.transport)
        if size is None or concurrency <= size:
            return
        if self.growable and isinstance(self.transport, ShardedTransport):
            budget = _fd_budget()
            target = concurrency if budget is None else min(concurrency, budget)
            if target > size:
                self.transport.grow(target)
                size = target
            if size >= concurrency:
                return
            advice = (
                f"the open-file limit allows about {size}: raise it (ulimit -n "
                f"{concurrency + _SPARE_FDS}) or lower the concurrency"
            )
        else:
            advice = (
                f"build the client with limits=httpx.Limits(max_connections={concurrency}, "
                f"max_keepalive_connections={concurrency}) (or the transport you pass with "
                "those limits)"
            )
        if self.warned:
            return
        self.warned = True
        warnings.warn(
            f"fan_out(concurrency={concurrency}) on a pool of {size} connections: at most "
            f"{size} calls run at once, the rest wait for a connection; {advice}",
            RuntimeWarning,
            stacklevel=3,
        )

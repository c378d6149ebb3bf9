"""HTTP transports for `SmartcarClient`, both keeping the httpx API.

- `ShardedTransport`: the default. Small httpx connection pools behind one transport,
  so the cost of a request does not grow with the number of open connections (httpx's
  own pool inspects every connection on every request).
- `AiohttpTransport`: opt-in, asyncio only, extra ``aiohttp``. Faster still when the
  client, not the server, is the bottleneck. Imported on first use, so aiohttp stays
  optional.

Examples:
    >>> from smartcar_async.transports import AiohttpTransport
    >>> client = SmartcarClient(transport=AiohttpTransport())
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._transport import ShardedTransport

if TYPE_CHECKING:
    from ._aiohttp_transport import AiohttpTransport

__all__ = ["AiohttpTransport", "ShardedTransport"]

ShardedTransport.__module__ = __name__


def __getattr__(name: str) -> object:
    # aiohttp is an optional extra: import its transport only when someone asks.
    if name == "AiohttpTransport":
        from ._aiohttp_transport import AiohttpTransport

        AiohttpTransport.__module__ = __name__
        return AiohttpTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

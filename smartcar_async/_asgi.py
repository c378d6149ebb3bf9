"""The few ASGI pieces the webhook receiver and the emulator's app share.

Plain type aliases for ASGI 3 (no dependency on an ASGI framework) and the answer to
the ``lifespan`` protocol, which both apps accept and have nothing to do for.

Examples:
    >>> async def app(scope: Scope, receive: Receive, send: Send) -> None:
    ...     if scope["type"] == "lifespan":
    ...         await serve_lifespan(receive, send)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send", "serve_lifespan"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: A plain ASGI 3 application.
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def serve_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown; return when the server shuts the app down."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

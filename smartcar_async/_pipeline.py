"""The request pipeline: a chain of middleware around ``httpx.AsyncClient.send``.

Outermost first: the user's middleware, then `RetryMiddleware`, `ThrottleMiddleware`,
`AuthMiddleware`, and the send itself::

    user middleware -> Retry -> Throttle -> Auth -> send

The throttle sits *inside* the retry loop (the design drew it outside) so that it sees
every attempt: an app-wide 429 must pause the other tasks as soon as it arrives, not
after this request has used up its retries.

Middleware is the SDK's own rather than ``httpx.Auth``, which holds a pooled connection
while it awaits and cannot share backoff, budgets or error mapping.

Examples:
    >>> async def timing(request: httpx.Request, call_next: Next) -> httpx.Response:
    ...     started = time.perf_counter()
    ...     response = await call_next(request)
    ...     metrics.observe(time.perf_counter() - started)
    ...     return response
    >>> client = SmartcarClient(middleware=[timing])
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Protocol

import attrs
import httpx

from ._auth import TokenManager
from ._clock import Clock
from ._errors import parse_retry_after
from ._logging import logger
from ._retry import RetryPolicy

__all__ = [
    "CALL_STATE_KEY",
    "AuthMiddleware",
    "CallState",
    "Middleware",
    "Next",
    "RetryMiddleware",
    "ThrottleMiddleware",
    "build_chain",
    "call_state",
]

Next = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Middleware(Protocol):
    """One link of the pipeline: do something around ``call_next(request)``."""

    async def __call__(self, request: httpx.Request, call_next: Next) -> httpx.Response: ...


# The request extension that carries a call's `CallState`: httpx hands extensions it
# does not know to the transport untouched, so the state travels with the request.
CALL_STATE_KEY = "smartcar_async.call"


@attrs.define
class CallState:
    """What the pipeline knows and learns about one call (kept in ``request.extensions``).

    Attributes:
        retry: the policy for this call.
        idempotent: False for commands, which are never re-sent once they may have
            reached the server.
        retries: retries taken so far.
        replayed: whether the 401 replay was used.
    """

    retry: RetryPolicy
    idempotent: bool
    retries: int = 0
    replayed: bool = False


def call_state(request: httpx.Request) -> CallState | None:
    """The `CallState` of a request sent by the SDK, if any."""
    state = request.extensions.get(CALL_STATE_KEY)
    return state if isinstance(state, CallState) else None


def _path(request: httpx.Request) -> str:
    return request.url.path


class RetryMiddleware:
    """Retries what `RetryPolicy` says may be retried, closing failed responses first."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, request: httpx.Request, call_next: Next) -> httpx.Response:
        state = call_state(request)
        if state is None:
            return await call_next(request)
        policy = state.retry
        retry_number = 0
        while True:
            try:
                response = await call_next(request)
            except httpx.TransportError as exc:
                delay = policy.delay_after_error(exc, retry_number, idempotent=state.idempotent)
                if delay is None:
                    raise
                reason = type(exc).__name__
            else:
                delay = policy.delay_after_response(
                    response, retry_number, idempotent=state.idempotent
                )
                if delay is None:
                    return response
                reason = str(response.status_code)
                # Give the connection back to the pool before sleeping.
                await response.aclose()
            retry_number += 1
            state.retries = retry_number
            if logger.isEnabledFor(logging.INFO):
                logger.info(
                    "retry %d of %s %s after %s in %.2f s",
                    retry_number,
                    request.method,
                    _path(request),
                    reason,
                    delay,
                )
            await self._clock.sleep(delay)


# A rate-limit error body is a few hundred bytes; anything far larger is not one.
_MAX_RATE_LIMIT_BODY = 64 * 1024


def _is_app_wide_rate_limit(response: httpx.Response) -> bool:
    if len(response.content) > _MAX_RATE_LIMIT_BODY:
        return False
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return False
    entries: object = body.get("errors") if isinstance(body, dict) else None
    if isinstance(entries, list) and entries:
        entry = entries[0]
    elif isinstance(body, dict):
        entry = body.get("error") if isinstance(body.get("error"), dict) else body
    else:
        return False
    if not isinstance(entry, dict):
        return False
    error_type, code = entry.get("type"), entry.get("code")
    return (
        isinstance(error_type, str)
        and isinstance(code, str)
        and error_type.upper() == "RATE_LIMIT"
        and code.upper() == "SMARTCAR_API"
    )


class ThrottleMiddleware:
    """An app-wide 429 (``RATE_LIMIT:SMARTCAR_API``) pauses every request of the client.

    The pause lasts the response's ``Retry-After`` (capped), or the retry policy's first
    backoff when the API gave none. Requests that start during the pause wait it out
    before they are sent.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.paused_until = float("-inf")

    async def __call__(self, request: httpx.Request, call_next: Next) -> httpx.Response:
        while (wait := self.paused_until - self._clock.now()) > 0:
            await self._clock.sleep(wait)
        response = await call_next(request)
        if response.status_code == 429 and _is_app_wide_rate_limit(response):
            state = call_state(request)
            policy = state.retry if state is not None else RetryPolicy()
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            pause = policy.backoff_initial if retry_after is None else retry_after
            pause = min(pause, policy.retry_after_cap)
            now = self._clock.now()
            if now >= self.paused_until:
                # Once per pause, not once per 429: a fleet hits the same wall many times.
                logger.warning("app-wide rate limit: pausing all requests for %.1f s", pause)
            self.paused_until = max(self.paused_until, now + pause)
        return response


class AuthMiddleware:
    """Sets the bearer token; on a 401, forgets that token and replays the call once."""

    def __init__(self, tokens: TokenManager) -> None:
        self._tokens = tokens

    async def __call__(self, request: httpx.Request, call_next: Next) -> httpx.Response:
        token = await self._tokens.get()
        request.headers["Authorization"] = "Bearer " + token.value
        response = await call_next(request)
        if response.status_code != 401:
            return response
        state = call_state(request)
        if state is not None and state.replayed:
            # One replay per call: a 401 on a retry after the replay (401, replay, 503,
            # retry, 401) means a fresh token is refused too; another refresh won't help.
            return response
        await response.aclose()
        await self._tokens.invalidate(token)
        token = await self._tokens.get()
        request.headers["Authorization"] = "Bearer " + token.value
        if state is not None:
            state.replayed = True
        logger.info("401 on %s %s: replaying once with a new token", request.method, _path(request))
        return await call_next(request)


def build_chain(middleware: Sequence[Middleware], send: Next) -> Next:
    """Compose ``middleware`` (outermost first) around ``send`` into one callable."""
    call: Next = send
    for layer in reversed(middleware):
        call = partial(layer, call_next=call)
    return call

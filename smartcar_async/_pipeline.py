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

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Protocol

import attrs
import httpx

from ._auth import AccessToken, TokenManager
from ._clock import Clock
from ._error_types import ErrorDetail, RateLimitError
from ._errors import ResponseKind, classify_response, describe_error, note_client_pause, read_error
from ._logging import logger
from ._pacing import Pacer
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
        waited: seconds this call has waited so far (backoff, ``Retry-After``, pauses),
            held against ``retry.wait_budget``.
    """

    retry: RetryPolicy
    idempotent: bool
    retries: int = 0
    replayed: bool = False
    waited: float = 0.0


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
                if delay is None or state.waited + delay > policy.wait_budget:
                    raise
                reason = type(exc).__name__
            else:
                delay = policy.delay_after_response(
                    response, retry_number, idempotent=state.idempotent
                )
                if delay is None or state.waited + delay > policy.wait_budget:
                    return response
                reason = str(response.status_code)
                # Give the connection back to the pool before sleeping.
                await response.aclose()
            state.waited += delay
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


class ThrottleMiddleware:
    """An app-wide 429 (``RATE_LIMIT:SMARTCAR_API``) pauses every request of the client.

    Smartcar's app-wide limit is a bucket (by default 120 requests, refilling 2 per
    minute) that usually answers without ``Retry-After``. The pause then starts at
    ``RetryPolicy.rate_limit_pause`` (30 s, one refill), doubles with jitter while
    429s keep coming, is capped at ``rate_limit_pause_max``, and starts over after a
    success. A ``Retry-After`` is honoured instead (up to ``retry_after_cap``).

    One wave of 429s -- every request that was already in flight when the first one
    came back -- counts once: only a request sent after the latest pause began can
    make the next pause longer. Requests that start during a pause wait it out before
    they are sent, unless the wait would cross their call's wait budget: then they
    raise `RateLimitError` with ``retry_after`` set to the pause left, at once.

    Attributes:
        paused_until: the end of the current pause, on the client's clock.
        paused_seconds: seconds this client has spent paused in total.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.paused_until = float("-inf")
        self.paused_seconds = 0.0
        self._strikes = 0  # app-wide 429s in a row without a success between them
        self._generation = 0  # bumped by each new or longer pause

    def paused(self) -> bool:
        """Whether a pause is on now."""
        return self.paused_until > self._clock.now()

    async def wait_out_pause(self, request: httpx.Request) -> None:
        """Sleep until the pause, if any, is over (`AuthMiddleware` calls this before
        each attempt is sent).

        Raises:
            RateLimitError: the pause would cross the call's wait budget (at once).
        """
        state = call_state(request)
        while (wait := self.paused_until - self._clock.now()) > 0:
            if state is not None:
                if state.waited + wait > state.retry.wait_budget:
                    raise _paused_error(wait, state.retry.wait_budget)
                state.waited += wait
            await self._clock.sleep(wait)

    async def __call__(self, request: httpx.Request, call_next: Next) -> httpx.Response:
        # Right before the send, after every wait: which pause this attempt went out in.
        state = call_state(request)
        sent_in = self._generation
        response = await call_next(request)
        if classify_response(response) is ResponseKind.APP_RATE_LIMIT:
            self._pause(response, state.retry if state is not None else RetryPolicy(), sent_in)
        elif 200 <= response.status_code < 300 and sent_in == self._generation:
            self._strikes = 0
        return response

    def _pause(self, response: httpx.Response, policy: RetryPolicy, sent_in: int) -> None:
        now = self._clock.now()
        retry_after = read_error(response).retry_after
        if retry_after is not None:
            pause = min(retry_after, policy.retry_after_cap)
        elif sent_in != self._generation:
            # Sent before the latest pause began: the same wave, already paid for.
            note_client_pause(response, max(0.0, self.paused_until - now))
            return
        else:
            pause = policy.rate_limit_backoff(self._strikes)
            self._strikes += 1
        note_client_pause(response, pause)
        until = now + pause
        if until <= self.paused_until:
            return
        if now >= self.paused_until:
            # Once per pause, not once per 429: a fleet hits the same wall many times.
            logger.warning("app-wide rate limit: pausing all requests for %.1f s", pause)
            self.paused_seconds += pause
        else:
            self.paused_seconds += until - self.paused_until
        self.paused_until = until
        self._generation += 1


def _paused_error(wait: float, budget: float) -> RateLimitError:
    detail = ErrorDetail(
        type="RATE_LIMIT",
        code="SMARTCAR_API",
        detail=(
            f"the client is paused for {wait:.1f} s after an app-wide rate limit, longer "
            f"than this call may still wait (its wait budget is {budget:.1f} s)"
        ),
    )
    return RateLimitError(
        describe_error(429, [detail], None),
        status_code=429,
        errors=[detail],
        retry_after=wait,
    )


class AuthMiddleware:
    """Admits each attempt, then sends it with its bearer token; on a 401, forgets that
    token and replays the call once.

    Admission is every wait before a send, ordered so that none holds a slot of the
    application's bucket (``rate_limit=``, a `Pacer`) while it waits for something
    else: first the token (a refresh may take a while), then the app-wide pause
    (`ThrottleMiddleware`), then the slot. If a pause began while the attempt waited for
    its slot, or the token aged into its refresh and the refresh made it wait, the slot
    is given up and admission goes round again: attempts whose slots came meanwhile
    must not all go together when the pause or the refresh ends. After a few rounds the
    attempt goes anyway.
    """

    def __init__(
        self, tokens: TokenManager, throttle: ThrottleMiddleware, pacer: Pacer | None = None
    ) -> None:
        self._tokens = tokens
        self._throttle = throttle
        self._pacer = pacer

    async def _admit(self, request: httpx.Request) -> AccessToken:
        clock = self._tokens.clock
        token = await self._tokens.get()
        for given_up in range(_SLOTS_GIVEN_UP + 1):
            kept = given_up == _SLOTS_GIVEN_UP  # this round's slot is kept, come what may
            await self._throttle.wait_out_pause(request)
            if self._pacer is not None:
                await self._pacer.take_slot(request)
                if self._throttle.paused() and not kept:
                    continue
            current = self._tokens.current()
            if current is not None:
                token = current
                break
            began = clock.now()
            token = await self._tokens.get()
            if self._pacer is None or clock.now() <= began or kept:
                break  # no slot, or the refresh made it wait no time: the slot is good
        request.headers["Authorization"] = "Bearer " + token.value
        return token

    async def __call__(self, request: httpx.Request, call_next: Next) -> httpx.Response:
        token = await self._admit(request)
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
        await self._admit(request)
        if state is not None:
            state.replayed = True
        logger.info("401 on %s %s: replaying once with a new token", request.method, _path(request))
        return await call_next(request)


# Slots an attempt gives up at most before it keeps one whatever happens while it waits:
# each costs the bucket a slot, and a pause or refresh that keeps coming back is not
# worth more.
_SLOTS_GIVEN_UP = 3


def build_chain(middleware: Sequence[Middleware], send: Next) -> Next:
    """Compose ``middleware`` (outermost first) around ``send`` into one callable."""
    call: Next = send
    for layer in reversed(middleware):
        call = partial(layer, call_next=call)
    return call

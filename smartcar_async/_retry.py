"""`RetryPolicy`: which failures are tried again, and after how long.

| failure | reads (GET, DELETE) | commands (POST) |
| --- | --- | --- |
| connect error, pool timeout (nothing sent) | retry | retry |
| 429 with Retry-After (within the cap) | wait Retry-After, retry | same |
| 429 ``RATE_LIMIT:SMARTCAR_API`` | retry once the client's pause is over | same |
| other 429 without Retry-After | retry with backoff | raise |
| 502 ``UPSTREAM:RATE_LIMIT`` | **raise** (``retry_after`` hint) | **raise** |
| 408, 5xx (not 501), read timeout, broken connection | retry with backoff | **raise** |

Commands raise there because the vehicle may have acted on the first attempt; a 429
means the request was refused before anything happened, so a command is retried after
it like a read. ``UPSTREAM:RATE_LIMIT`` is never retried at the backoff's pace: the
maker blocks that vehicle "for a longer period" (Smartcar's rate-limit docs), so a
retry within seconds can only extend the block; the error carries a ``retry_after``
hint of 30 minutes, the polling interval the docs recommend across makes.

Every call has a wait budget (`RetryPolicy.wait_budget`): backoff, ``Retry-After`` and
the time spent paused behind an app-wide 429 all count, and a wait that would cross it
is not started: the error is raised instead, so no call queues behind others for longer
than its policy allows.

A 401 is not a retry: the auth layer replays it once with a fresh token. Inside a
fan-out a per-vehicle 429 is not waited for here but raised: the fan-out waits for it
without holding a concurrency slot (`raise_vehicle_rate_limits`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
import httpx

from ._call_context import raise_vehicle_rate_limits
from ._errors import ResponseKind, classify_response, read_error

__all__ = ["RetryPolicy"]

# Errors raised before a single byte of the request can have reached the server.
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors after which the request may or may not have been processed.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


@attrs.frozen
class RetryPolicy:
    """How the SDK retries a failed request. Immutable; set per client or per call.

    Attributes:
        max_retries: attempts after the first one (0 turns retries off).
        backoff_initial: the first backoff delay, in seconds.
        backoff_max: the longest backoff delay.
        jitter: the fraction of each delay drawn at random (0 = none, 1 = full jitter),
            so that a fleet of clients does not retry in lock step.
        retry_after_cap: the longest ``Retry-After`` honoured; a longer one is not waited
            for: the `RateLimitError` is raised with ``retry_after`` set.
        retry_statuses: statuses retried for reads (commands retry only 429).
        rate_limit_pause: the client's first pause after an app-wide 429
            (``RATE_LIMIT:SMARTCAR_API``) that has no ``Retry-After``: 30 s, the time the
            documented bucket (120 requests, 2 more per minute) takes to refill one.
        rate_limit_pause_max: the longest such pause. Pauses double (plus up to half
            of ``jitter`` at random: 25 % by default) while 429s keep coming, up to this
            cap, and start again from ``rate_limit_pause`` after a success.
        max_wait: the most seconds one call may spend waiting in total (backoff,
            ``Retry-After``, app-wide pauses); None for ``(max_retries + 1) *
            retry_after_cap``. See `wait_budget`.

    Examples:
        >>> client = SmartcarClient(retry=RetryPolicy(max_retries=5, retry_after_cap=10))
        >>> patient = client.with_options(retry=RetryPolicy(max_retries=8))
    """

    max_retries: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    backoff_initial: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_max: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: float = attrs.field(
        default=0.5, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    retry_after_cap: float = attrs.field(default=60.0, validator=_non_negative)
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    rate_limit_pause: float = attrs.field(default=30.0, validator=_non_negative)
    rate_limit_pause_max: float = attrs.field(default=300.0, validator=_non_negative)
    max_wait: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_non_negative)
    )
    random: Callable[[], float] = attrs.field(default=random.random, repr=False, eq=False)

    @property
    def wait_budget(self) -> float:
        """The most seconds one call may spend waiting: `max_wait`, or by default
        ``(max_retries + 1) * retry_after_cap`` (180 s with the defaults)."""
        if self.max_wait is not None:
            return self.max_wait
        return (self.max_retries + 1) * self.retry_after_cap

    def rate_limit_backoff(self, strikes: int) -> float:
        """The client's pause after the ``strikes``-th app-wide 429 in a row (0-based).

        Never below `rate_limit_pause` (the bucket needs that long to give one request
        back), doubling per strike, with up to ``jitter / 2`` added (25 % by default)
        so that many clients of one application do not come back in lock step; capped
        at `rate_limit_pause_max`. Jitter is only ever added: a shorter pause would
        come back before the bucket has anything to give.
        """
        base = min(self.rate_limit_pause_max, self.rate_limit_pause * 2.0 ** min(strikes, 32))
        if self.jitter:
            base *= 1.0 + self.jitter / 2 * self.random()
        return min(self.rate_limit_pause_max, base)

    def backoff(self, retry_number: int) -> float:
        """The backoff before retry ``retry_number`` (0-based), with jitter applied."""
        base = min(self.backoff_max, self.backoff_initial * 2.0**retry_number)
        if not self.jitter:
            return base
        return base * (1 - self.jitter) + base * self.jitter * self.random()

    def delay_after_error(
        self, error: Exception, retry_number: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying after a transport error, or None to raise."""
        if retry_number >= self.max_retries:
            return None
        if isinstance(error, _NOTHING_SENT) or (idempotent and isinstance(error, _MAYBE_SENT)):
            return self.backoff(retry_number)
        return None

    def delay_after_response(
        self, response: httpx.Response, retry_number: int, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying after ``response``, or None to return it.

        After an app-wide 429 the answer is 0: the wait is the client's pause, which
        the throttle applies to this call and every other one.
        """
        status = response.status_code
        if retry_number >= self.max_retries or status not in self.retry_statuses:
            return None
        kind = classify_response(response)
        if kind is ResponseKind.UPSTREAM_RATE_LIMIT:
            return None
        if status == 429:
            retry_after = read_error(response).retry_after
            if retry_after is not None and retry_after > self.retry_after_cap:
                return None
            if kind is ResponseKind.APP_RATE_LIMIT:
                return 0.0
            if retry_after is not None:
                if raise_vehicle_rate_limits.get() and kind is ResponseKind.VEHICLE_RATE_LIMIT:
                    return None  # inside a fan-out: it waits, without the slot
                return retry_after
        return self.backoff(retry_number) if idempotent else None

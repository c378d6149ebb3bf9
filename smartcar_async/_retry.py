"""`RetryPolicy`: which failures are tried again, and after how long.

| failure | reads (GET, DELETE) | commands (POST) |
| --- | --- | --- |
| connect error, pool timeout (nothing sent) | retry | retry |
| 429 with Retry-After (within the cap) | wait Retry-After, retry | same |
| 429 without Retry-After | retry with backoff | raise |
| 408, 5xx (not 501), read timeout, broken connection | retry with backoff | **raise** |

Commands raise there because the vehicle may have acted on the first attempt.

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
from ._errors import parse_error_body, parse_retry_after

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
    random: Callable[[], float] = attrs.field(default=random.random, repr=False, eq=False)

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
        """Seconds to wait before retrying after ``response``, or None to return it."""
        status = response.status_code
        if retry_number >= self.max_retries or status not in self.retry_statuses:
            return None
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:
                if retry_after > self.retry_after_cap:
                    return None
                if raise_vehicle_rate_limits.get() and _is_vehicle_rate_limit(response):
                    return None  # inside a fan-out: it waits, without the slot
                return retry_after
            return self.backoff(retry_number) if idempotent else None
        return self.backoff(retry_number) if idempotent else None


def _is_vehicle_rate_limit(response: httpx.Response) -> bool:
    """Whether a 429 is the per-vehicle ``RATE_LIMIT:VEHICLE`` (read only in a fan-out)."""
    details = parse_error_body(response.content)
    if not details:
        return False
    first = details[0]
    return (first.type or "").upper() == "RATE_LIMIT" and (first.code or "").upper() == "VEHICLE"

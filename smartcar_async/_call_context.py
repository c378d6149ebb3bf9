"""Per-call state: what a call carries through the layers without an argument for it.

Each variable has one writer and one reader, named here so neither side has to import
the other (the resources never import the client module this way):

- `want_raw_response`: set by the ``with_raw_response`` views
  (``resources/_base.py``), read by ``SmartcarClient._call``: the call returns a
  `RawResponse` instead of the model.
- `raise_vehicle_rate_limits`: set by the fan-out in each worker task (``_fanout.py``),
  read by `RetryPolicy` (``_retry.py``): a per-vehicle 429 raises instead of being
  waited out.

The state of one request through the middleware (its retry policy, the retries so far)
is not here: it is the `smartcar_async.CallState` that rides in the request's
extensions, made fresh by ``SmartcarClient.request`` for every call.

Context variables rather than arguments because both reach through code the SDK does
not own: ``with_raw_response`` wraps any resource method, and the fan-out runs the
user's own ``fn`` against the user's own client. Each asyncio or trio task works on its
own copy of the context, and the tasks it starts inherit that copy.

Examples:
    >>> with raw_responses():
    ...     raw = await client.vehicles.get(vehicle_id)  # a RawResponse
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

__all__ = ["raise_vehicle_rate_limits", "raw_responses", "want_raw_response"]

#: True inside ``with_raw_response``: ``SmartcarClient._call`` hands back the
#: `RawResponse` of its request instead of the parsed model.
want_raw_response: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "smartcar_async_want_raw_response", default=False
)

#: True in the fan-out's worker tasks, and nowhere else. There a per-vehicle 429
#: (``RATE_LIMIT:VEHICLE`` with ``Retry-After``) is not waited out in the retry loop,
#: which would hold the fan-out's concurrency slot for the whole wait: it raises
#: `RateLimitError`, and the fan-out waits without the slot while other vehicles use
#: it. Not a `RetryPolicy` field, because the fan-out cannot hand the user's ``fn`` a
#: different policy.
raise_vehicle_rate_limits: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "smartcar_async_raise_vehicle_rate_limits", default=False
)


@contextlib.contextmanager
def raw_responses() -> Iterator[None]:
    """Within the block, calls through the client return `RawResponse` objects.

    Examples:
        >>> with raw_responses():
        ...     raw = await client.vehicles.get(vehicle_id)
    """
    token = want_raw_response.set(True)
    try:
        yield
    finally:
        want_raw_response.reset(token)

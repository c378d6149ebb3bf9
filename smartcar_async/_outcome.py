"""What a fan-out yields: one `Outcome` per target, and `FanOutProgress` counters.

Plain data, apart from the machinery in `smartcar_async._fanout` that makes them.
"""

from __future__ import annotations

from typing import Generic, TypeVar, cast

import attrs

__all__ = ["FanOutProgress", "Outcome"]

TargetT = TypeVar("TargetT")
ResultT = TypeVar("ResultT")


@attrs.frozen
class Outcome(Generic[TargetT, ResultT]):
    """What became of one target of a fan-out.

    Attributes:
        target: the target, as the source gave it.
        value: what ``fn`` returned; None when it raised.
        error: the exception ``fn`` raised; None when it succeeded.
        started_at: when the first attempt started, on the fan-out's clock (monotonic
            seconds, as `Clock.now` gives them).
        finished_at: when the last attempt ended.
        attempts: how many times ``fn`` ran for this target (more than one after
            per-vehicle rate limits).

    Examples:
        >>> async for outcome in outcomes:
        ...     if outcome.ok:
        ...         print(outcome.target, outcome.value)
        ...     else:
        ...         log.warning("%s failed: %s", outcome.target, outcome.error)
    """

    target: TargetT
    value: ResultT | None = None
    error: Exception | None = None
    started_at: float = attrs.field(default=0.0, kw_only=True)
    finished_at: float = attrs.field(default=0.0, kw_only=True)
    attempts: int = attrs.field(default=1, kw_only=True)

    @property
    def ok(self) -> bool:
        """Whether ``fn`` succeeded for this target."""
        return self.error is None

    @property
    def duration(self) -> float:
        """Seconds from the first attempt's start to the last one's end."""
        return self.finished_at - self.started_at

    def unwrap(self) -> ResultT:
        """The value, or raise the error.

        Examples:
            >>> signals = outcome.unwrap()   # raises e.g. VehicleStateError
        """
        if self.error is not None:
            raise self.error
        return cast(ResultT, self.value)


@attrs.frozen
class FanOutProgress:
    """A snapshot of a fan-out's counters (for a progress bar, logs or a summary).

    Attributes:
        started: targets whose first attempt has started.
        finished: targets with an outcome.
        succeeded: outcomes without an error.
        failed: outcomes with an error.
        in_flight: calls of ``fn`` running right now.
        waiting_on_rate_limit: targets waiting out a per-vehicle ``Retry-After``.
        rate_limit_retries: calls of ``fn`` repeated after a per-vehicle 429.
        elapsed: seconds on the fan-out's clock since the run started (frozen when it ends).

    Examples:
        >>> def show(progress: FanOutProgress) -> None:
        ...     bar.update(completed=progress.finished, failed=progress.failed)
        >>> async with client.fan_out(ids, read, on_progress=show) as outcomes: ...
    """

    started: int = 0
    finished: int = 0
    succeeded: int = 0
    failed: int = 0
    in_flight: int = 0
    waiting_on_rate_limit: int = 0
    rate_limit_retries: int = 0
    elapsed: float = 0.0

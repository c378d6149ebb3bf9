"""What a fan-out yields: an `OutcomeSuccess` or an `OutcomeFailure` per target (the
`Outcome` alias names both), and `FanOutProgress` counters.

Plain data, apart from the machinery in `smartcar_async._fanout` that makes them.
"""

from __future__ import annotations

from typing import Generic, Literal, NoReturn, TypeAlias, TypeVar

import attrs

__all__ = ["FanOutProgress", "Outcome", "OutcomeFailure", "OutcomeSuccess"]

TargetT = TypeVar("TargetT")
ResultT = TypeVar("ResultT")


@attrs.frozen
class _Timing:
    """When a target's calls ran (shared by both kinds of `Outcome`)."""

    started_at: float = attrs.field(default=0.0, kw_only=True)
    finished_at: float = attrs.field(default=0.0, kw_only=True)
    attempts: int = attrs.field(default=1, kw_only=True)

    @property
    def duration(self) -> float:
        """Seconds from the first attempt's start to the last one's end."""
        return self.finished_at - self.started_at


@attrs.frozen
class OutcomeSuccess(_Timing, Generic[TargetT, ResultT]):
    """A target for which ``fn`` succeeded: ``ok`` is True and ``value`` is its result.

    Attributes:
        target: the target, as the source gave it.
        value: what ``fn`` returned.
        error: always None.
        started_at: when the first attempt started, on the fan-out's clock (monotonic
            seconds, as `Clock.now` gives them).
        finished_at: when the last attempt ended.
        attempts: how many times ``fn`` ran (more than one after per-vehicle 429s).
    """

    target: TargetT
    value: ResultT
    error: None = None

    @property
    def ok(self) -> Literal[True]:
        """True: ``fn`` succeeded (type checkers narrow on it)."""
        return True

    def unwrap(self) -> ResultT:
        """The value."""
        return self.value


@attrs.frozen
class OutcomeFailure(_Timing, Generic[TargetT]):
    """A target for which ``fn`` raised: ``ok`` is False and ``error`` is the exception.

    Attributes:
        target: the target, as the source gave it.
        value: always None.
        error: the exception ``fn`` raised.
        started_at / finished_at / attempts: as on `OutcomeSuccess`.
    """

    target: TargetT
    error: Exception
    value: None = None

    @property
    def ok(self) -> Literal[False]:
        """False: ``fn`` raised (type checkers narrow on it)."""
        return False

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error


#: What a fan-out yields per target: an `OutcomeSuccess` or an `OutcomeFailure`.
#: ``ok`` (or ``error is None``, or ``isinstance``) tells them apart, and type checkers
#: narrow on it: after ``if outcome.ok:``, ``outcome.value`` is the result type.
#:
#: Examples:
#:     >>> async for outcome in outcomes:
#:     ...     if outcome.ok:
#:     ...         print(outcome.target, outcome.value)   # value: ResultT, not ResultT | None
#:     ...     else:
#:     ...         log.warning("%s failed: %s", outcome.target, outcome.error)
Outcome: TypeAlias = OutcomeSuccess[TargetT, ResultT] | OutcomeFailure[TargetT]


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
    elapsed: float = attrs.field(default=0.0, repr=lambda seconds: f"{seconds:.3f}")

    def __str__(self) -> str:
        """One line for a log or a terminal.

        Examples:
            >>> print(fan.summary())
            1000 finished in 12.34 s: 990 ok, 10 failed; 0 in flight; 3 rate-limit retries
        """
        text = (
            f"{self.finished} finished in {self.elapsed:.2f} s: "
            f"{self.succeeded} ok, {self.failed} failed; {self.in_flight} in flight"
        )
        if self.waiting_on_rate_limit:
            text += f", {self.waiting_on_rate_limit} waiting on Retry-After"
        if self.rate_limit_retries:
            plural = "retry" if self.rate_limit_retries == 1 else "retries"
            text += f"; {self.rate_limit_retries} rate-limit {plural}"
        return text

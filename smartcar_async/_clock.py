"""Time, behind a seam: the SDK reads the clock and sleeps only through a `Clock`.

Tests pass a `VirtualClock` and move time themselves, so nothing in the test suite
waits on the wall clock.
"""

from __future__ import annotations

import time
from typing import Protocol

import anyio

__all__ = ["Clock", "SystemClock", "VirtualClock"]


class Clock(Protocol):
    """What the SDK needs from time: a monotonic reading and a way to wait."""

    def now(self) -> float:
        """Seconds on a monotonic scale (only differences matter)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock: `time.monotonic` and `anyio.sleep`."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """A clock that moves only when told to, for tests.

    Sleepers wait until `advance` carries the time past their deadline; `sleepers`
    counts how many are waiting, so a test can wait for them instead of for time.

    Examples:
        >>> clock = VirtualClock()
        >>> async with anyio.create_task_group() as tg:
        ...     tg.start_soon(clock.sleep, 5)
        ...     await clock.wait_for_sleepers(1)
        ...     clock.advance(5)                 # the sleeper wakes
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._waiters: list[tuple[float, anyio.Event]] = []
        self._changed = anyio.Event()

    def now(self) -> float:
        return self._now

    @property
    def sleepers(self) -> int:
        """How many tasks are asleep on this clock right now."""
        return len(self._waiters)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        entry = (self._now + seconds, anyio.Event())
        self._waiters.append(entry)
        self._notify()
        try:
            await entry[1].wait()
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)
                self._notify()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
        due = [entry for entry in self._waiters if entry[0] <= self._now]
        for entry in due:
            self._waiters.remove(entry)
            entry[1].set()
        if due:
            self._notify()

    def next_deadline(self) -> float | None:
        """The earliest deadline of a sleeper, if any."""
        return min((deadline for deadline, _ in self._waiters), default=None)

    def advance_to_next(self) -> None:
        """Jump to the earliest sleeper's deadline (no-op when nobody sleeps)."""
        deadline = self.next_deadline()
        if deadline is not None:
            self.advance(max(0.0, deadline - self._now))

    async def wait_for_sleepers(self, count: int) -> None:
        """Return once at least ``count`` tasks sleep on this clock."""
        while len(self._waiters) < count:
            changed = self._changed
            await changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r}, sleepers={len(self._waiters)})"

"""`FanOut`: one async function over many targets, with bounded concurrency.

Fleet jobs read or command thousands of vehicles. ``asyncio.gather`` over all of them
holds every task at once, lets one failure end the rest, and sends a storm of requests
into the rate limits. A `FanOut` instead:

- pulls targets from any iterable or async iterable *lazily*: a target is pulled only
  when a concurrency slot is free for it, so memory depends on ``concurrency`` and not
  on the size of the fleet;
- yields an `Outcome` per target, in completion order; one target's exception is its
  outcome, not the end of the run (unless ``fail_fast``);
- waits out a per-vehicle 429 (``RATE_LIMIT:VEHICLE``) *without* its concurrency slot,
  so other vehicles use the slot meanwhile; an app-wide 429 is the client's throttle,
  which pauses every request of the client, fan-out workers included;
- slows down when the consumer does: outcomes go through a bounded stream, and a worker
  keeps its slot until its outcome is in it.

Two ways to iterate, and why they differ:

``async with fan_out as outcomes: async for outcome in outcomes`` (the streaming form)
    The workers run in an anyio task group that the ``async with`` block owns, so they
    keep working while the loop body runs, and leaving the block -- by ``break``, an
    error or a cancellation -- cancels whatever is still in flight before the block
    is left. This is the form to use for throughput.

plain ``async for outcome in fan_out`` (the wave form)
    A task group cannot stay open between two ``__anext__`` calls: a loop that
    ``break``\\s never closes it, and on trio that corrupts the cancel-scope stack. So
    here the workers run only *inside* ``__anext__``: each call with nothing buffered
    runs a "wave" that starts targets until ``concurrency`` outcomes are ready, lets
    the ones in flight finish, and returns. Between calls nothing runs and no
    connection is checked out, so breaking out leaks nothing (use
    ``contextlib.aclosing`` to also close an async source at once). Targets waiting on a
    per-vehicle Retry-After do not hold a wave open; they carry over to the next one.
    The price is throughput: each wave ends with a tail where fewer than
    ``concurrency`` calls run, and nothing runs while the loop body does.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Final, Generic, Literal, NoReturn, TypedDict, TypeVar, cast

import anyio
import anyio.abc
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._call_context import raise_vehicle_rate_limits
from ._clock import Clock, SystemClock
from ._error_types import RateLimitError
from ._outcome import FanOutProgress, Outcome, OutcomeFailure, OutcomeSuccess

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "FanOut",
    "FanOutOptions",
    "FanOutProgress",
    "Outcome",
    "OutcomeFailure",
    "OutcomeSuccess",
]

TargetT = TypeVar("TargetT")
ResultT = TypeVar("ResultT")


class _End(enum.Enum):
    """The end of the source (a sentinel that keeps `TargetT` narrowable)."""

    END = 0


@attrs.define(eq=False)
class _Job(Generic[TargetT]):
    """One target on its way through the fan-out."""

    target: TargetT
    # What holds the concurrency slot: taken by the feeder before it pulls the target,
    # given back by the worker, so the slot is not tied to one task.
    borrower: object
    started_at: float = 0.0
    attempts: int = 0
    resume_at: float | None = None  # set while waiting out a per-vehicle Retry-After
    waiting: bool = False  # counted in waiting_on_rate_limit
    sleep_scope: anyio.CancelScope | None = None


_Mode = Literal["new", "stream", "waves", "closed"]


class FanOutOptions(TypedDict, total=False):
    """The keyword options of `FanOut` and `SmartcarClient.fan_out`, declared once.

    Attributes:
        concurrency: the most calls of ``fn`` at once (100 by default).
        fail_fast: on the first error, cancel the rest and raise that error, instead
            of yielding it as an outcome (off by default).
        max_rate: the most calls of ``fn`` started per second (retries included),
            spaced evenly on the clock. None (the default): no limit but ``concurrency``.
        on_progress: called with a `FanOutProgress` each time a target finishes. It
            runs in the worker, so keep it quick; an exception from it ends the run.
        max_rate_limit_retries: how many times a target is retried after a
            per-vehicle 429 before that 429 becomes its outcome (5 by default).
        max_rate_limit_wait: the longest per-vehicle ``Retry-After`` waited for, in
            seconds (60 by default); a longer one becomes the outcome at once.

    Examples:
        >>> options: FanOutOptions = {"concurrency": 50, "max_rate": 20.0}
        >>> async with client.fan_out(vehicle_ids, read, **options) as outcomes: ...
    """

    concurrency: int
    fail_fast: bool
    max_rate: float | None
    on_progress: Callable[[FanOutProgress], None] | None
    max_rate_limit_retries: int
    max_rate_limit_wait: float


#: What each of the `FanOutOptions` is when it is not given.
DEFAULT_OPTIONS: Final[FanOutOptions] = {
    "concurrency": 100,
    "fail_fast": False,
    "max_rate": None,
    "on_progress": None,
    "max_rate_limit_retries": 5,
    "max_rate_limit_wait": 60.0,
}


class FanOut(Generic[TargetT, ResultT]):
    """Run ``fn`` over many targets with bounded concurrency; outcomes as they finish.

    Usually made by `SmartcarClient.fan_out`, which passes the client's clock. Runs
    once. Use it as ``async with ... as outcomes: async for outcome in outcomes`` (the
    streaming form, for throughput) or as a plain ``async for`` (the wave form: nothing
    runs between two outcomes; see the module docs for the trade-off).

    Args:
        targets: an iterable or async iterable (an `AsyncPaginator`, say), consumed
            lazily: a target is pulled only when a slot is free for it. An iterator the
            fan-out creates is closed when the run ends; one you pass is not.
        fn: the async function to run for each target.
        clock: the time source (a `VirtualClock` in tests).
        **options: the `FanOutOptions`: ``concurrency``, ``fail_fast``, ``max_rate``,
            ``on_progress``, ``max_rate_limit_retries``, ``max_rate_limit_wait``.

    Raises:
        ValueError: an argument is out of range.
        TypeError: an unknown keyword argument.

    Examples:
        >>> async def read(vehicle_id: str) -> Signals:
        ...     return await client.vehicles.signals(vehicle_id, user_id=user_id)
        >>> async with client.fan_out(vehicle_ids, read, concurrency=200) as outcomes:
        ...     async for outcome in outcomes:
        ...         print(outcome.target, outcome.ok)
    """

    def __init__(
        self,
        targets: Iterable[TargetT] | AsyncIterable[TargetT],
        fn: Callable[[TargetT], Awaitable[ResultT]],
        *,
        clock: Clock | None = None,
        **options: Unpack[FanOutOptions],
    ) -> None:
        unknown = options.keys() - FanOutOptions.__annotations__.keys()
        if unknown:
            raise TypeError(f"FanOut() got unexpected keyword arguments: {sorted(unknown)}")
        settings: FanOutOptions = {**DEFAULT_OPTIONS, **options}
        concurrency = settings["concurrency"]
        fail_fast = settings["fail_fast"]
        max_rate = settings["max_rate"]
        max_rate_limit_retries = settings["max_rate_limit_retries"]
        max_rate_limit_wait = settings["max_rate_limit_wait"]
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        if max_rate is not None and not max_rate > 0:
            raise ValueError(f"max_rate must be > 0 or None, got {max_rate!r}")
        if max_rate_limit_retries < 0:
            raise ValueError(f"max_rate_limit_retries must be >= 0, got {max_rate_limit_retries}")
        if not max_rate_limit_wait >= 0:
            raise ValueError(f"max_rate_limit_wait must be >= 0, got {max_rate_limit_wait!r}")
        self._targets = targets
        self._fn = fn
        self._concurrency = concurrency
        self._fail_fast = fail_fast
        self._interval = None if max_rate is None else 1.0 / max_rate
        self._on_progress = settings["on_progress"]
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._max_rate_limit_retries = max_rate_limit_retries
        self._max_rate_limit_wait = max_rate_limit_wait

        self._mode: _Mode = "new"
        self._slots: anyio.CapacityLimiter | None = None  # made in the event loop
        self._sync_source: Iterator[TargetT] | None = None
        self._async_source: AsyncIterator[TargetT] | None = None
        self._owns_source = False
        self._exhausted = False
        self._source_error: Exception | None = None
        self._fatal: Exception | None = None  # fail_fast's first error, or on_progress's
        self._fatal_raised = False
        self._stop_feeding = False
        self._feeding = False
        self._acquire_scope: anyio.CancelScope | None = None
        self._workers_scope: anyio.CancelScope | None = None
        self._next_start = float("-inf")  # max_rate: the earliest time the next call may start

        # The streaming form.
        self._tg: anyio.abc.TaskGroup | None = None
        self._recv: MemoryObjectReceiveStream[Outcome[TargetT, ResultT]] | None = None
        self._stopped = False
        # The wave form.
        self._buffer: collections.deque[Outcome[TargetT, ResultT]] = collections.deque()
        self._parked: collections.deque[_Job[TargetT]] = collections.deque()
        self._sleeping: set[_Job[TargetT]] = set()
        self._live = 0

        # Counters.
        self._started = 0
        self._finished = 0
        self._succeeded = 0
        self._failed = 0
        self._in_flight = 0
        self._waiting = 0
        self._rate_limit_retries = 0
        self._t0: float | None = None
        self._t_end: float | None = None

    # -- public --------------------------------------------------------------------------

    def summary(self) -> FanOutProgress:
        """The counters now (during the run) or at its end (after it).

        Examples:
            >>> async with client.fan_out(ids, read) as outcomes:
            ...     async for outcome in outcomes: ...
            >>> print(fan.summary())
        """
        elapsed = 0.0
        if self._t0 is not None:
            end = self._t_end if self._t_end is not None else self._clock.now()
            elapsed = end - self._t0
        return FanOutProgress(
            started=self._started,
            finished=self._finished,
            succeeded=self._succeeded,
            failed=self._failed,
            in_flight=self._in_flight,
            waiting_on_rate_limit=self._waiting,
            rate_limit_retries=self._rate_limit_retries,
            elapsed=elapsed,
        )

    async def __aenter__(self) -> FanOut[TargetT, ResultT]:
        self._start("stream")
        send, self._recv = anyio.create_memory_object_stream[Outcome[TargetT, ResultT]](
            self._concurrency
        )
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        tg.start_soon(self._run_stream, send)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        tg = self._tg
        assert tg is not None
        assert self._recv is not None
        # Leaving the block ends the run, however it is left: cancel what is in flight.
        self._stop_feeding = True
        tg.cancel_scope.cancel()
        try:
            if exc is None or isinstance(exc, anyio.get_cancelled_exc_class()):
                suppress = bool(await tg.__aexit__(exc_type, exc, tb))
            else:
                # The block's own error: the task group would wrap it in an
                # ExceptionGroup, with nothing to add (workers never raise an
                # Exception), so it passes as it is.
                await tg.__aexit__(None, None, None)
                return False
        finally:
            self._tg = None
            self._mode = "closed"
            self._recv.close()
            await self._close_source()
        if exc is None and self._fatal is not None and not self._fatal_raised:
            # fail_fast struck while the body was not waiting for an outcome.
            self._raise_fatal()
        return suppress

    def __aiter__(self) -> FanOut[TargetT, ResultT]:
        return self

    async def __anext__(self) -> Outcome[TargetT, ResultT]:
        if self._mode == "stream":
            return await self._receive()
        if self._mode == "new":
            self._start("waves")
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._mode == "closed":
                raise StopAsyncIteration
            if self._exhausted and not self._parked:
                await self._close()
                if self._source_error is not None:
                    raise self._source_error
                raise StopAsyncIteration
            await self._run_wave()

    async def aclose(self) -> None:
        """Stop the run: cancel what is in flight and close an async source it opened.

        For the plain ``async for`` form, where nothing runs between outcomes, this
        only closes the source: ``async with contextlib.aclosing(fan_out): ...``.
        """
        if self._mode == "stream":
            self._stopped = True
            self._stop_feeding = True
            if self._workers_scope is not None:
                self._workers_scope.cancel()
            return
        await self._close()

    def __repr__(self) -> str:
        return (
            f"<FanOut concurrency={self._concurrency} started={self._started} "
            f"finished={self._finished} failed={self._failed}>"
        )

    # -- the run -------------------------------------------------------------------------

    def _start(self, mode: Literal["stream", "waves"]) -> None:
        if self._mode != "new":
            raise RuntimeError("a FanOut runs once; call fan_out() again for another run")
        self._mode = mode
        self._slots = anyio.CapacityLimiter(self._concurrency)
        self._t0 = self._clock.now()
        targets = self._targets
        if isinstance(targets, AsyncIterable):
            async_source = aiter(targets)
            self._async_source = async_source
            self._owns_source = async_source is not targets
        else:
            sync_source = iter(targets)
            self._sync_source = sync_source
            self._owns_source = sync_source is not targets

    async def _run_stream(self, send: MemoryObjectSendStream[Outcome[TargetT, ResultT]]) -> None:
        # Closing ``send`` after the last worker is how the consumer learns the run ended.
        with send:
            try:
                async with anyio.create_task_group() as workers:
                    self._workers_scope = workers.cancel_scope
                    await self._feed(workers, partial(self._send, send))
            finally:
                self._workers_scope = None
                self._t_end = self._clock.now()

    @staticmethod
    async def _send(
        send: MemoryObjectSendStream[Outcome[TargetT, ResultT]],
        outcome: Outcome[TargetT, ResultT],
    ) -> None:
        # The fast path skips the stream's own checkpoint: the worker ends right after.
        try:
            send.send_nowait(outcome)
        except anyio.WouldBlock:
            await send.send(outcome)

    async def _receive(self) -> Outcome[TargetT, ResultT]:
        if self._fatal is not None:
            self._raise_fatal()
        if self._stopped or self._recv is None:
            raise StopAsyncIteration
        # A ready outcome is taken without a round trip through the event loop (it
        # doubles throughput), but a cancellation is still honoured here.
        await anyio.lowlevel.checkpoint_if_cancelled()
        try:
            outcome: Outcome[TargetT, ResultT] | None = self._recv.receive_nowait()
        except anyio.WouldBlock:
            try:
                outcome = await self._recv.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                outcome = None
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            outcome = None
        if self._fatal is not None:
            self._raise_fatal()  # fail_fast: no more outcomes once it has struck
        if outcome is None:
            if self._source_error is not None and not self._stopped:
                raise self._source_error
            raise StopAsyncIteration
        return outcome

    def _raise_fatal(self) -> NoReturn:
        assert self._fatal is not None
        self._fatal_raised = True
        raise self._fatal

    async def _run_wave(self) -> None:
        self._stop_feeding = False
        try:
            async with anyio.create_task_group() as workers:
                self._workers_scope = workers.cancel_scope
                await self._feed(workers, self._to_buffer)
        except BaseException:
            # Interrupted (cancelled, or an error not of fn's making): the targets in
            # flight are gone, so the run cannot go on as if nothing happened.
            await self._close()
            raise
        finally:
            self._workers_scope = None
        if self._fatal is not None:
            await self._close()
            self._raise_fatal()

    async def _to_buffer(self, outcome: Outcome[TargetT, ResultT]) -> None:
        self._buffer.append(outcome)
        if len(self._buffer) >= self._concurrency and not self._stop_feeding:
            # Enough for the consumer: start nothing new, let the in-flight ones finish.
            self._stop_feeding = True
            if self._acquire_scope is not None:
                self._acquire_scope.cancel()

    async def _close(self) -> None:
        self._mode = "closed"
        if self._t_end is None and self._t0 is not None:
            self._t_end = self._clock.now()
        while self._parked:
            self._end_wait(self._parked.popleft())
        await self._close_source()

    async def _close_source(self) -> None:
        async_source, self._async_source = self._async_source, None
        sync_source, self._sync_source = self._sync_source, None
        if not self._owns_source:
            return
        if async_source is not None:
            aclose = getattr(async_source, "aclose", None)
            if aclose is not None:
                # Shielded: this runs while a cancellation may be on its way out.
                with anyio.CancelScope(shield=True):
                    await aclose()
        if sync_source is not None:
            close = getattr(sync_source, "close", None)
            if close is not None:
                close()

    async def _feed(
        self,
        workers: anyio.abc.TaskGroup,
        deliver: Callable[[Outcome[TargetT, ResultT]], Awaitable[None]],
    ) -> None:
        """Start a worker per target, pulling each only once a slot is free for it."""
        slots = self._slots
        assert slots is not None
        self._feeding = True
        try:
            while self._parked:  # the wave form: targets carried over from the last wave
                workers.start_soon(self._run_job, self._parked.popleft(), deliver)
            while not self._stop_feeding and not self._exhausted:
                borrower = object()
                # The slot is taken *before* the target is pulled: that is what keeps
                # targets pulled-but-unfinished within ``concurrency``.
                try:
                    slots.acquire_on_behalf_of_nowait(borrower)
                except anyio.WouldBlock:
                    # A wave ends by cancelling this wait (`_to_buffer`).
                    with anyio.CancelScope() as scope:
                        self._acquire_scope = scope
                        await slots.acquire_on_behalf_of(borrower)
                    self._acquire_scope = None
                    if scope.cancelled_caught:
                        break
                handed_off = False
                try:
                    if self._stop_feeding:
                        break
                    try:
                        item = await self._pull()
                    except Exception as exc:  # the source failed: finish the rest, then raise
                        self._source_error = exc
                        self._exhausted = True
                        break
                    if isinstance(item, _End):
                        self._exhausted = True
                        break
                    workers.start_soon(self._run_job, _Job(item, borrower), deliver)
                    handed_off = True
                finally:
                    if not handed_off:
                        slots.release_on_behalf_of(borrower)
        finally:
            self._feeding = False
            self._acquire_scope = None
        self._maybe_park()

    async def _pull(self) -> TargetT | _End:
        if self._async_source is not None:
            try:
                return await self._async_source.__anext__()
            except StopAsyncIteration:
                return _End.END
        if self._sync_source is not None:
            return next(self._sync_source, _End.END)
        return _End.END

    async def _run_job(
        self,
        job: _Job[TargetT],
        deliver: Callable[[Outcome[TargetT, ResultT]], Awaitable[None]],
    ) -> None:
        """Run one target to its outcome (or, in the wave form, park it for the next wave)."""
        slots = self._slots
        assert slots is not None
        # This task's own copy of the context: fn's calls raise per-vehicle 429s instead
        # of waiting for them in place, holding the slot (see `_call_context.py`).
        raise_vehicle_rate_limits.set(True)
        holding = job.resume_at is None  # a fresh job comes with the feeder's slot
        parked = False
        self._live += 1
        try:
            if job.attempts == 0:
                job.started_at = self._clock.now()
                self._started += 1
            while True:
                if job.resume_at is not None:
                    if await self._sleep_out(job):
                        parked = True
                        return
                    await slots.acquire_on_behalf_of(job.borrower)
                    holding = True
                    self._end_wait(job)
                value, error = await self._attempt(job)
                delay = None if error is None else self._rate_limit_delay(error, job)
                if delay is None:
                    break
                self._rate_limit_retries += 1
                if self._waiting < self._concurrency:
                    self._begin_wait(job)
                    job.resume_at = self._clock.now() + delay
                    slots.release_on_behalf_of(job.borrower)
                    holding = False
                else:
                    # So many targets wait already that pulling more would let memory
                    # grow: this one waits in its slot, which slows the intake.
                    await self._clock.sleep(delay)
            outcome: Outcome[TargetT, ResultT]
            if error is None:
                outcome = OutcomeSuccess(
                    job.target,
                    cast(ResultT, value),
                    started_at=job.started_at,
                    finished_at=self._clock.now(),
                    attempts=job.attempts,
                )
            else:
                outcome = OutcomeFailure(
                    job.target,
                    error,
                    started_at=job.started_at,
                    finished_at=self._clock.now(),
                    attempts=job.attempts,
                )
            self._record(outcome)
            if error is not None and self._fail_fast:
                self._abort(error)
            if self._fatal is not None:
                return
            # The slot is kept until the consumer has the outcome: a slow consumer
            # slows the workers instead of letting outcomes pile up.
            await deliver(outcome)
        finally:
            if holding:
                slots.release_on_behalf_of(job.borrower)
            if not parked:
                self._end_wait(job)
            self._live -= 1
            self._maybe_park()

    async def _attempt(self, job: _Job[TargetT]) -> tuple[ResultT | None, Exception | None]:
        await self._pace()
        job.attempts += 1
        self._in_flight += 1
        try:
            return await self._fn(job.target), None
        except Exception as exc:  # the target's outcome; BaseExceptions propagate
            return None, exc
        finally:
            self._in_flight -= 1

    async def _pace(self) -> None:
        """``max_rate``: reserve the next start time, then sleep until it."""
        if self._interval is None:
            return
        now = self._clock.now()
        start = max(now, self._next_start)
        self._next_start = start + self._interval
        if start > now:
            await self._clock.sleep(start - now)

    def _rate_limit_delay(self, error: Exception, job: _Job[TargetT]) -> float | None:
        """Seconds to wait before retrying after a per-vehicle 429, or None: an outcome."""
        if not isinstance(error, RateLimitError) or (error.code or "").upper() != "VEHICLE":
            return None
        retry_after = error.retry_after
        if retry_after is None or retry_after > self._max_rate_limit_wait:
            return None
        if job.attempts > self._max_rate_limit_retries:
            return None
        return retry_after

    async def _sleep_out(self, job: _Job[TargetT]) -> bool:
        """Wait until ``job.resume_at`` holding no slot; True if a wave parked it instead."""
        assert job.resume_at is not None
        with anyio.CancelScope() as scope:
            job.sleep_scope = scope
            self._sleeping.add(job)
            try:
                self._maybe_park()
                await self._clock.sleep(job.resume_at - self._clock.now())
            finally:
                self._sleeping.discard(job)
                job.sleep_scope = None
        if scope.cancelled_caught:
            self._parked.append(job)
            return True
        job.resume_at = None
        return False

    def _maybe_park(self) -> None:
        # The wave form: a wave that has outcomes to hand over and nothing left but
        # targets asleep on a Retry-After ends now; they sleep on in the next wave.
        if (
            self._mode == "waves"
            and not self._feeding
            and self._buffer
            and self._sleeping
            and self._live == len(self._sleeping)
        ):
            for job in self._sleeping:
                if job.sleep_scope is not None:
                    job.sleep_scope.cancel()

    def _begin_wait(self, job: _Job[TargetT]) -> None:
        if not job.waiting:
            job.waiting = True
            self._waiting += 1

    def _end_wait(self, job: _Job[TargetT]) -> None:
        if job.waiting:
            job.waiting = False
            self._waiting -= 1

    def _record(self, outcome: Outcome[TargetT, ResultT]) -> None:
        self._finished += 1
        if outcome.ok:
            self._succeeded += 1
        else:
            self._failed += 1
        if self._on_progress is not None:
            try:
                self._on_progress(self.summary())
            except Exception as exc:  # a broken callback ends the run, loudly
                self._abort(exc)

    def _abort(self, error: Exception) -> None:
        if self._fatal is None:
            self._fatal = error
        self._stop_feeding = True
        if self._workers_scope is not None:
            self._workers_scope.cancel()

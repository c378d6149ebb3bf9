"""Fan-out memory and throughput: does memory depend on ``concurrency``, not on the fleet?

Runs `FanOut` over 10,000 and 100,000 targets (concurrency 200) against an in-process
handler (a plain async function, no HTTP, answering in batches of 200 so that 200 calls
are always in flight) and reports the tracemalloc peak of each run,
for both iteration forms, next to ``asyncio.gather`` over every target (with a semaphore
for the same concurrency) as the baseline. A second part times 10,000 targets whose
handler waits 5-15 ms (seeded), to compare the streaming and the wave forms.

The targets come from ``range(n)``, which holds no list: the peaks are the fan-out's own.

Usage::

    python -m bench.fanout_memory                 # asyncio and trio
    python -m bench.fanout_memory --backend trio --large 50000
    python -m bench.fanout_memory --json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from smartcar_async._fanout import FanOut

CONCURRENCY = 200


class Batched:
    """The in-process handler: answers in batches of ``concurrency`` calls.

    A call returns only once ``concurrency`` calls are waiting (or the last target has
    arrived), so every run holds the full 200 in flight whatever the machine's speed,
    and the peak measured is the peak at full concurrency.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.entered = 0
        self.arrived = 0
        self.in_flight = 0
        self.peak = 0
        self.event: anyio.Event | None = None

    async def __call__(self, vehicle_id: int) -> dict[str, Any]:
        if self.event is None:
            self.event = anyio.Event()
        event = self.event
        self.entered += 1
        self.arrived += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.arrived == CONCURRENCY or self.entered == self.n:
            event.set()
            self.event, self.arrived = anyio.Event(), 0
        try:
            await event.wait()
        finally:
            self.in_flight -= 1
        return {"vehicle": vehicle_id, "soc": 80.0}


async def run_stream(n: int, fn: Callable[[int], Awaitable[object]]) -> int:
    ok = 0
    async with FanOut(range(n), fn, concurrency=CONCURRENCY) as outcomes:
        async for outcome in outcomes:
            ok += outcome.ok
    return ok


async def run_waves(n: int, fn: Callable[[int], Awaitable[object]]) -> int:
    ok = 0
    async for outcome in FanOut(range(n), fn, concurrency=CONCURRENCY):
        ok += outcome.ok
    return ok


async def run_gather(n: int, fn: Callable[[int], Awaitable[object]]) -> int:
    """The baseline fleet jobs write today (asyncio only)."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> object:
        async with semaphore:
            return await fn(i)

    results = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    return sum(not isinstance(r, BaseException) for r in results)


RUNNERS: dict[str, Callable[..., Awaitable[int]]] = {
    "stream": run_stream,
    "waves": run_waves,
    "gather": run_gather,
}


def measure_peak(backend: str, form: str, n: int) -> tuple[float, float]:
    """(tracemalloc peak in KiB, wall seconds under tracemalloc) for one run."""
    # Untraced warm-up: imports and caches filled on first use are not the fan-out's.
    anyio.run(RUNNERS[form], 1_000, Batched(1_000), backend=backend)
    fn = Batched(n)
    gc.collect()
    tracemalloc.start()
    try:
        started = time.perf_counter()
        ok = anyio.run(RUNNERS[form], n, fn, backend=backend)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ok == n, (form, ok, n)
    assert fn.peak == CONCURRENCY, fn.peak  # it really ran 200 at once
    return peak / 1024, seconds


def measure_overhead(backend: str, form: str, n: int) -> float:
    """CPU microseconds per target with the batched handler: the machinery's own cost.

    CPU time, not wall time, so that other load on the machine does not count.
    """
    fn = Batched(n)
    started = time.process_time()
    ok = anyio.run(RUNNERS[form], n, fn, backend=backend)
    seconds = time.process_time() - started
    assert ok == n
    return seconds / n * 1e6


def measure_latency(backend: str, form: str, n: int) -> float:
    """Targets per second when each call waits 5-15 ms (no tracemalloc)."""
    rng = random.Random(7)
    delays = [rng.uniform(0.005, 0.015) for _ in range(n)]

    async def slow(i: int) -> int:
        await anyio.sleep(delays[i])
        return i

    started = time.perf_counter()
    ok = anyio.run(RUNNERS[form], n, slow, backend=backend)
    seconds = time.perf_counter() - started
    assert ok == n
    return n / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_memory", description=__doc__)
    parser.add_argument("--backend", choices=["asyncio", "trio", "both"], default="both")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--latency-targets", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    backends = ["asyncio", "trio"] if args.backend == "both" else [args.backend]

    memory: list[dict[str, Any]] = []
    for backend in backends:
        forms = ["stream", "waves"] + (["gather"] if backend == "asyncio" else [])
        for form in forms:
            small_kib, _ = measure_peak(backend, form, args.small)
            large_kib, large_s = measure_peak(backend, form, args.large)
            overhead = measure_overhead(backend, form, args.large)
            memory.append(
                {
                    "backend": backend,
                    "form": form,
                    "small_targets": args.small,
                    "small_peak_kib": round(small_kib),
                    "large_targets": args.large,
                    "large_peak_kib": round(large_kib),
                    "ratio": round(large_kib / small_kib, 2),
                    "large_seconds_traced": round(large_s, 2),
                    "cpu_us_per_target": round(overhead, 1),
                }
            )
    throughput: list[dict[str, Any]] = []
    for backend in backends:
        for form in ["stream", "waves"]:
            rate = measure_latency(backend, form, args.latency_targets)
            throughput.append(
                {
                    "backend": backend,
                    "form": form,
                    "targets": args.latency_targets,
                    "targets_per_second": round(rate),
                }
            )

    if args.json:
        json.dump({"memory": memory, "throughput": throughput}, sys.stdout, indent=2)
        print()
        return 0
    print(f"concurrency {CONCURRENCY}; Python {sys.version.split()[0]}")
    print()
    print(
        f"| backend | form | peak, {args.small:,} targets | peak, {args.large:,} targets "
        f"| ratio | CPU per target |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in memory:
        print(
            f"| {row['backend']} | {row['form']} | {row['small_peak_kib']:,} KiB "
            f"| {row['large_peak_kib']:,} KiB | {row['ratio']} "
            f"| {row['cpu_us_per_target']} µs |"
        )
    print()
    print(f"| backend | form | targets/s, {args.latency_targets:,} targets of 5-15 ms (wall) |")
    print("| --- | --- | ---: |")
    for row in throughput:
        print(f"| {row['backend']} | {row['form']} | {row['targets_per_second']:,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

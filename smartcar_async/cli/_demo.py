"""``smartcar-async demo``: a fleet job against the emulator over loopback, with trouble.

The demo is the SDK's tour on a fresh machine. It serves a seeded emulator on
127.0.0.1 (real sockets), arranges the trouble a real fleet meets, then does what a
fleet job does and reports how it went:

1. list every connection, page by page;
2. read every vehicle's signals through `SmartcarClient.fan_out` (bounded concurrency);
3. lock the vehicles that were unlocked, through a fan-out too;
4. summarise: outcomes, errors by type, token requests, requests per second, read
   latency percentiles, and a picture of the fleet.

The trouble, all of it seeded so that every run meets the same amount:

- a few vehicles are asleep: their reads are served from Smartcar's store (the last
  values, ``connectivitystatus-isasleep`` true) and their commands answer 409 ``ASLEEP``;
- a few vehicles answer their first read with a per-vehicle 429 (``Retry-After``),
  which the fan-out waits out without holding a slot;
- one app-wide 429 half-way through the reads pauses every request of the client;
- tokens live two seconds, so the token is renewed during the run;
- a few unlocked vehicles fall asleep between the reads and the locks.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence

import attrs

from .._client import SmartcarClient
from .._fanout import FanOutProgress
from .._pacing import LocalRateLimiter
from ..resources import Connection
from ..signals import IS_ASLEEP, IS_LOCKED, STATE_OF_CHARGE
from ..testing import Fault, FaultRule, RateLimits, SmartcarEmulator
from ._output import Output, format_seconds, plural
from ._serve import HOST, require_uvicorn

__all__ = [
    "DemoOptions",
    "DemoSummary",
    "Scenario",
    "arrange",
    "percentile",
    "run_demo",
]

SIGNALS_ROUTE = "GET /vehicles/{id}/signals"
SOC_BUCKETS = tuple(f"{low}-{low + 10}" for low in range(0, 100, 10))


@attrs.frozen
class DemoOptions:
    """What to run.

    Attributes:
        vehicles: fleet size.
        concurrency: reads (and commands) in flight at most.
        seed: the fleet and the trouble follow from it.
        token_lifetime: seconds a token lives; short, so it is renewed mid-run.
        retry_after: the ``Retry-After`` of the injected 429s, in seconds.
        bucket_speed: how many times faster than Smartcar's documented app-wide bucket
            (120 requests, 2 more per minute) the emulator's bucket refills, so that the
            demo finishes in seconds; the client paces itself to the same bucket. 0
            turns the bucket off.
    """

    vehicles: int = 1000
    concurrency: int = 100
    seed: int = 1
    token_lifetime: float = 2.0
    retry_after: float = 1.0
    bucket_speed: float = 3_000.0


@attrs.frozen
class Scenario:
    """The trouble arranged on an emulator (see the module docs)."""

    asleep: tuple[str, ...]
    rate_limited: tuple[str, ...]
    app_wide_after: int
    rules: tuple[FaultRule, ...]
    app_wide_rule: FaultRule
    vehicle_rules: tuple[FaultRule, ...]


def arrange(emulator: SmartcarEmulator, options: DemoOptions) -> Scenario:
    """Put a few vehicles to sleep and inject the rate limits; all chosen by the seed."""
    fleet = emulator.fleet()
    size = len(fleet)
    rng = random.Random(options.seed)
    # About 2% asleep and 2.5% rate-limited, at least one of each in a fleet of three or more.
    n_asleep = size // 50 or (1 if size >= 3 else 0)
    n_limited = size // 40 or (1 if size >= 3 else 0)
    chosen = rng.sample(range(size), n_asleep + n_limited)
    asleep = tuple(fleet[i].vehicle_id for i in chosen[:n_asleep])
    limited = tuple(fleet[i].vehicle_id for i in chosen[n_asleep:])
    app_wide_after = size // 2
    # The app-wide rule comes first: when it lands on a request that another rule would
    # also hit, it shadows that rule, which then fires on the retry. Counts stay exact.
    app_wide_rule = emulator.add_fault(
        Fault.rate_limit(retry_after=options.retry_after, scope="app"),
        route=SIGNALS_ROUTE,
        skip=app_wide_after,
        times=1,
    )
    rules = [app_wide_rule]
    for vehicle_id in asleep:
        # Reads still answer from Smartcar's store; commands answer 409 ASLEEP.
        emulator.set_asleep(vehicle_id)
    vehicle_rules = tuple(
        emulator.add_fault(
            Fault.rate_limit(retry_after=options.retry_after, scope="vehicle"),
            route=SIGNALS_ROUTE,
            vehicle_id=vehicle_id,
            times=1,
        )
        for vehicle_id in limited
    )
    rules.extend(vehicle_rules)
    return Scenario(
        asleep=asleep,
        rate_limited=limited,
        app_wide_after=app_wide_after,
        rules=tuple(rules),
        app_wide_rule=app_wide_rule,
        vehicle_rules=vehicle_rules,
    )


# -- the summary -------------------------------------------------------------------------------


@attrs.frozen
class Latency:
    """Percentiles of the read calls, in milliseconds."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


@attrs.frozen
class ErrorCount:
    """How many targets failed with one error class and ``TYPE:CODE``."""

    error: str
    code: str
    count: int


@attrs.frozen
class ConnectionsPhase:
    """The listing: how many connections on how many pages."""

    listed: int
    pages: int
    seconds: float


@attrs.frozen
class _PhaseOutcomes:
    """How the calls of one phase ended.

    ``failures`` counts errors by class, ``errors`` by class and ``TYPE:CODE``;
    ``seconds`` is the phase's wall time.
    """

    succeeded: int
    failed: int
    failures: dict[str, int]
    errors: tuple[ErrorCount, ...]
    seconds: float


@attrs.frozen
class ReadsPhase(_PhaseOutcomes):
    """The signal reads.

    ``attempts`` counts calls of the read (a target retried after a per-vehicle 429
    counts twice); ``rate_limit_retries`` those retries; ``asleep`` the vehicles read
    as asleep (their values come from Smartcar's store).
    """

    asleep: int
    attempts: int
    rate_limit_retries: int
    per_second: float
    latency: Latency


@attrs.frozen
class CommandsPhase(_PhaseOutcomes):
    """The commands sent (``lock`` to every vehicle read as unlocked)."""

    command: str
    sent: int


@attrs.frozen
class Traffic:
    """What the emulator saw: every HTTP request, token requests included."""

    http_requests: int
    per_second: float
    token_requests: int
    token_lifetime_s: float
    statuses: dict[str, int]
    requests: dict[str, int]


@attrs.frozen
class Bucket:
    """The application's rate-limit bucket: the emulator held it, the client paced to it.

    ``waited_s`` adds up every request's wait for a slot; ``paused_s`` is how long the
    client was paused after app-wide 429s (the injected one included).
    """

    capacity: int
    refill_per_minute: float
    speedup: float
    admitted: int
    refused: int
    paced_requests: int
    waited_s: float
    longest_wait_s: float
    paused_s: float


@attrs.frozen
class Trouble:
    """The trouble arranged, and how often it struck."""

    asleep: int
    rate_limited_vehicles: int
    vehicle_rate_limits: int
    app_wide_rate_limits: int
    dozed_off: int
    retry_after_s: float


@attrs.frozen
class FleetPicture:
    """The fleet as the reads saw it.

    ``state_of_charge`` buckets the vehicles with a traction battery by ten points;
    ``powertrain`` counts every listed vehicle.
    """

    state_of_charge: dict[str, int]
    powertrain: dict[str, int]
    locked_before: int
    unlocked_before: int
    locked_after: int


@attrs.frozen
class DemoSummary:
    """Everything the demo reports (``--json`` prints exactly this)."""

    vehicles: int
    concurrency: int
    seed: int
    seconds: float
    connections: ConnectionsPhase
    reads: ReadsPhase
    commands: CommandsPhase
    traffic: Traffic
    trouble: Trouble
    fleet: FleetPicture
    bucket: Bucket | None


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _latency(samples: list[float]) -> Latency:
    samples.sort()
    ms = 1000.0

    def r(value: float) -> float:
        return round(value * ms, 2)

    mean = sum(samples) / len(samples) if samples else 0.0
    return Latency(
        p50_ms=r(percentile(samples, 0.50)),
        p90_ms=r(percentile(samples, 0.90)),
        p99_ms=r(percentile(samples, 0.99)),
        max_ms=r(samples[-1] if samples else 0.0),
        mean_ms=r(mean),
    )


def _error_keys(error: Exception) -> tuple[str, str]:
    label = ":".join(
        str(part) for part in (getattr(error, "type", None), getattr(error, "code", None)) if part
    )
    return type(error).__name__, label or type(error).__name__


def _soc_bucket(soc: float) -> str:
    index = min(int(soc // 10), 9) if soc >= 0 else 0
    return SOC_BUCKETS[index]


@attrs.frozen
class _Facts:
    """What the demo keeps of one read: a few values, not the 95 signals."""

    soc: float | None
    locked: bool | None
    asleep: bool


# -- the run -----------------------------------------------------------------------------------


class _Bar:
    """A progress bar for one fan-out, fed by its ``on_progress`` callback.

    Without a terminal (a pipe, CI) the bar is silent, so a line is noted at each tenth
    of the way instead: the longest phase never looks hung.
    """

    def __init__(self, out: Output, description: str, total: int) -> None:
        self._progress = out.progress()
        self._task = self._progress.add_task(description, total=total, status="")
        self._out = out
        self._lines = not out.err.is_terminal
        self._description = description
        self._total = total
        self._tenths = 0

    def __enter__(self) -> Callable[[FanOutProgress], None]:
        self._progress.start()
        return self.update

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def update(self, progress: FanOutProgress) -> None:
        status = f"{progress.failed} failed" if progress.failed else ""
        if progress.waiting_on_rate_limit:
            status += f"  {progress.waiting_on_rate_limit} waiting on Retry-After"
        self._progress.update(self._task, completed=progress.finished, status=status.strip())
        if self._lines and self._total:
            tenths = progress.finished * 10 // self._total
            if tenths > self._tenths:
                self._tenths = tenths
                line = f"{self._description}: {progress.finished:,}/{self._total:,}"
                self._out.note(f"{line}  {status.strip()}".rstrip())


def _pace_to_the_bucket(
    emulator: SmartcarEmulator, options: DemoOptions
) -> LocalRateLimiter | None:
    """The documented bucket, sped up, on the emulator and as the client's limiter."""
    if options.bucket_speed <= 0:
        return None
    documented = RateLimits()
    emulator.rate_limits = documented.scaled(options.bucket_speed)
    return LocalRateLimiter(
        capacity=documented.app_capacity,
        refill_per_minute=documented.app_refill_per_second * 60 * options.bucket_speed,
    )


def _bucket_summary(
    emulator: SmartcarEmulator,
    limiter: LocalRateLimiter | None,
    options: DemoOptions,
    paused: float,
) -> Bucket | None:
    """What the bucket admitted and refused, and how long the client paced and paused."""
    held = emulator.rate_limiter
    if limiter is None or held is None:
        return None
    return Bucket(
        capacity=RateLimits().app_capacity,
        refill_per_minute=round(held.limits.app_refill_per_second * 60, 3),
        speedup=options.bucket_speed,
        admitted=held.admitted,
        refused=held.refused,
        paced_requests=limiter.paced,
        waited_s=round(limiter.waited, 3),
        longest_wait_s=round(limiter.longest_wait, 3),
        paused_s=round(paused, 3),
    )


async def run_demo(options: DemoOptions, out: Output) -> DemoSummary:
    """Serve the emulator, run the fleet job against it, and summarise.

    Raises:
        CLIError: uvicorn is not installed.
    """
    require_uvicorn()
    started_build = time.perf_counter()
    emulator = SmartcarEmulator(
        vehicles=options.vehicles, seed=options.seed, token_lifetime=options.token_lifetime
    )
    scenario = arrange(emulator, options)
    limiter = _pace_to_the_bucket(emulator, options)
    out.note(
        f"emulator: {options.vehicles:,} vehicles (seed {options.seed}), "
        f"{len(scenario.asleep)} asleep, {len(scenario.rate_limited)} rate-limited, "
        f"one app-wide 429, tokens living {options.token_lifetime:g} s "
        f"(built in {format_seconds(time.perf_counter() - started_build)})"
    )
    async with emulator.serve(host=HOST) as base_url:
        out.note(f"emulator: serving on {base_url}")
        async with SmartcarClient(
            **emulator.client_kwargs(base_url=base_url), rate_limit=limiter
        ) as client:
            started = time.perf_counter()
            connections, listing = await _list_connections(client, out)
            facts, reads = await _read_signals(client, connections, options, out)
            unlocked = [
                c for c in connections if (f := facts.get(c.vehicle_id)) and f.locked is False
            ]
            dozed = _doze_off(emulator, unlocked, options.seed)
            commands = await _lock(client, unlocked, options, out)
            seconds = time.perf_counter() - started
            paused = client.rate_limit_paused_seconds
    bucket = _bucket_summary(emulator, limiter, options, paused)
    stats = emulator.stats
    socs = Counter(_soc_bucket(f.soc) for f in facts.values() if f.soc is not None)
    powertrains = Counter(
        (c.vehicle.powertrain_type if c.vehicle else None) or "unknown" for c in connections
    )
    locked_before = sum(1 for f in facts.values() if f.locked is True)
    return DemoSummary(
        vehicles=options.vehicles,
        concurrency=options.concurrency,
        seed=options.seed,
        seconds=round(seconds, 3),
        connections=listing,
        reads=reads,
        commands=commands,
        traffic=Traffic(
            http_requests=stats.total_requests,
            per_second=round(stats.total_requests / seconds, 1) if seconds else 0.0,
            token_requests=stats.token_requests,
            token_lifetime_s=options.token_lifetime,
            statuses={str(k): v for k, v in sorted(stats.statuses.items())},
            requests=dict(sorted(stats.requests.items())),
        ),
        trouble=Trouble(
            asleep=len(scenario.asleep),
            rate_limited_vehicles=len(scenario.rate_limited),
            vehicle_rate_limits=sum(rule.fired for rule in scenario.vehicle_rules),
            app_wide_rate_limits=scenario.app_wide_rule.fired,
            dozed_off=len(dozed),
            retry_after_s=options.retry_after,
        ),
        fleet=FleetPicture(
            state_of_charge={bucket: socs.get(bucket, 0) for bucket in SOC_BUCKETS},
            powertrain=dict(powertrains.most_common()),
            locked_before=locked_before,
            unlocked_before=len(unlocked),
            locked_after=locked_before + commands.succeeded,
        ),
        bucket=bucket,
    )


async def _list_connections(
    client: SmartcarClient, out: Output
) -> tuple[list[Connection], ConnectionsPhase]:
    started = time.perf_counter()
    connections: list[Connection] = []
    pages = 0
    with out.progress() as progress:
        task = progress.add_task("listing connections", total=None, status="")
        async for page in client.connections.list(page_size=100).pages():
            pages += 1
            connections.extend(page.items)
            progress.update(task, completed=len(connections), total=page.total_count)
    seconds = time.perf_counter() - started
    out.note(
        f"listed {len(connections):,} connections on {plural(pages, 'page')} in "
        f"{format_seconds(seconds)}"
    )
    return connections, ConnectionsPhase(
        listed=len(connections), pages=pages, seconds=round(seconds, 3)
    )


async def _read_signals(
    client: SmartcarClient,
    connections: list[Connection],
    options: DemoOptions,
    out: Output,
) -> tuple[dict[str, _Facts], ReadsPhase]:
    latencies: list[float] = []
    signals_of = client.vehicles.signals

    async def read(connection: Connection) -> _Facts:
        began = time.perf_counter()
        try:
            signals = await signals_of(connection.vehicle_id, user_id=connection.user_id)
        finally:
            latencies.append(time.perf_counter() - began)
        soc = signals.value(STATE_OF_CHARGE)
        locked = signals.value(IS_LOCKED)
        asleep = signals.value(IS_ASLEEP) is True
        if isinstance(soc, bool) or not isinstance(soc, (int, float)) or not math.isfinite(soc):
            soc = None
        return _Facts(
            soc=float(soc) if soc is not None else None,
            locked=locked if isinstance(locked, bool) else None,
            asleep=asleep,
        )

    facts: dict[str, _Facts] = {}
    tally = _Tally()
    attempts = 0
    started = time.perf_counter()
    with _Bar(out, "reading signals", len(connections)) as on_progress:
        fan = client.fan_out(
            connections, read, concurrency=options.concurrency, on_progress=on_progress
        )
        async with fan as outcomes:
            async for outcome in outcomes:
                attempts += outcome.attempts
                tally.add(outcome.error)
                if outcome.value is not None:
                    facts[outcome.target.vehicle_id] = outcome.value
    seconds = time.perf_counter() - started
    summary = fan.summary()
    asleep = sum(1 for f in facts.values() if f.asleep)
    out.note(
        f"read {summary.succeeded:,} vehicles ({asleep:,} asleep: values from Smartcar's "
        f"store), {summary.failed:,} failed, in {format_seconds(seconds)}"
    )
    return facts, ReadsPhase(
        succeeded=summary.succeeded,
        failed=summary.failed,
        asleep=asleep,
        failures=tally.by_class(),
        errors=tally.errors(),
        attempts=attempts,
        rate_limit_retries=summary.rate_limit_retries,
        seconds=round(seconds, 3),
        per_second=round(len(connections) / seconds, 1) if seconds else 0.0,
        latency=_latency(latencies),
    )


class _Tally:
    """Failures counted by error class and by ``TYPE:CODE``."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, error: Exception | None) -> None:
        if error is not None:
            self._counts[_error_keys(error)] += 1

    def by_class(self) -> dict[str, int]:
        classes: Counter[str] = Counter()
        for (name, _), count in self._counts.items():
            classes[name] += count
        return dict(classes.most_common())

    def errors(self) -> tuple[ErrorCount, ...]:
        return tuple(ErrorCount(name, code, n) for (name, code), n in self._counts.most_common())


def _doze_off(emulator: SmartcarEmulator, unlocked: list[Connection], seed: int) -> list[str]:
    """Put about one in twenty of the unlocked vehicles to sleep before the locks."""
    if not unlocked:
        return []
    count = max(1, len(unlocked) // 20)
    ids = sorted(c.vehicle_id for c in unlocked)
    dozed = random.Random(seed + 1).sample(ids, count)
    for vehicle_id in dozed:
        emulator.set_asleep(vehicle_id)
    return dozed


async def _lock(
    client: SmartcarClient, targets: list[Connection], options: DemoOptions, out: Output
) -> CommandsPhase:
    tally = _Tally()
    succeeded = 0
    started = time.perf_counter()
    with _Bar(out, "locking unlocked vehicles", len(targets)) as on_progress:
        fan = client.commands.run_many(
            "lock", targets, concurrency=options.concurrency, on_progress=on_progress
        )
        async with fan as outcomes:
            async for outcome in outcomes:
                if outcome.ok:
                    succeeded += 1
                tally.add(outcome.error)
    seconds = time.perf_counter() - started
    out.note(
        f"locked {succeeded:,} of {len(targets):,} unlocked vehicles in {format_seconds(seconds)}"
    )
    return CommandsPhase(
        command="lock",
        sent=len(targets),
        succeeded=succeeded,
        failed=len(targets) - succeeded,
        failures=tally.by_class(),
        errors=tally.errors(),
        seconds=round(seconds, 3),
    )

"""The demo's summary as rich tables and bar charts."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ._demo import DemoSummary
from ._output import format_number, format_seconds, plural

__all__ = ["render_summary"]

_BAR_WIDTH = 40


def _bar(count: int, largest: int, style: str) -> Text:
    width = round(_BAR_WIDTH * count / largest) if largest else 0
    if count and not width:
        width = 1  # a bucket with anything in it always shows
    return Text("█" * width, style=style)


def _chart(title: str, counts: Mapping[str, int], style: str, *, share: bool = False) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    largest = max(counts.values(), default=0)
    total = sum(counts.values())
    for label, count in counts.items():
        figure = format_number(count)
        if share and total:
            figure += f" ({100 * count / total:.0f}%)"
        table.add_row(label, _bar(count, largest, style), figure)
    return table


def _phases(s: DemoSummary) -> Table:
    table = Table(title="What happened", title_justify="left")
    table.add_column("phase")
    table.add_column("result")
    table.add_column("time", justify="right")
    table.add_row(
        "list connections",
        f"{s.connections.listed:,} connections on {plural(s.connections.pages, 'page')}",
        format_seconds(s.connections.seconds),
    )
    table.add_row(
        "read signals",
        f"{s.reads.succeeded:,} read ({s.reads.asleep:,} asleep), {s.reads.failed:,} failed "
        f"({s.reads.per_second:,.0f} vehicles/s, concurrency {s.concurrency})",
        format_seconds(s.reads.seconds),
    )
    table.add_row(
        f"{s.commands.command} the unlocked",
        f"{s.commands.sent:,} sent, {s.commands.succeeded:,} succeeded, "
        f"{s.commands.failed:,} failed",
        format_seconds(s.commands.seconds),
    )
    table.add_row(Text("total", style="bold"), "", Text(format_seconds(s.seconds), style="bold"))
    return table


def _failures(s: DemoSummary) -> Table | Text:
    rows = [("read", e) for e in s.reads.errors]
    rows += [(s.commands.command, e) for e in s.commands.errors]
    if not rows:
        return Text("No failures.", style="green")
    table = Table(title="Failures by error", title_justify="left")
    table.add_column("phase")
    table.add_column("error")
    table.add_column("type:code")
    table.add_column("vehicles", justify="right")
    for phase, e in rows:
        table.add_row(phase, e.error, e.code, format_number(e.count))
    return table


def _traffic(s: DemoSummary) -> Table:
    t = s.traffic
    r = s.reads
    table = Table(title="Traffic", title_justify="left", show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(
        "HTTP requests",
        f"{t.http_requests:,} in {format_seconds(s.seconds)} ({t.per_second:,.0f}/s)",
    )
    statuses = ", ".join(f"{code}: {n:,}" for code, n in t.statuses.items())
    table.add_row("responses", statuses)
    table.add_row(
        "token requests",
        f"{t.token_requests} (tokens live {t.token_lifetime_s:g} s: renewed during the run)",
    )
    table.add_row(
        "per-vehicle 429",
        f"{s.trouble.vehicle_rate_limits} (waited out {s.trouble.retry_after_s:g} s "
        f"without a slot; {r.rate_limit_retries} retries)",
    )
    table.add_row(
        "app-wide 429",
        f"{s.trouble.app_wide_rate_limits} (every request paused {s.trouble.retry_after_s:g} s)",
    )
    if s.bucket is not None:
        b = s.bucket
        table.add_row(
            "app bucket",
            f"{b.capacity} + {b.refill_per_minute:,.0f}/min (Smartcar's default, "
            f"{b.speedup:,.0f}x faster): requests waited {b.waited_s:,.1f} s for it in all "
            f"({b.paced_requests:,} requests paced, longest {b.longest_wait_s:.2f} s); "
            f"{b.refused} refused",
        )
    table.add_row(
        "read latency",
        f"p50 {r.latency.p50_ms:,.0f} ms · p90 {r.latency.p90_ms:,.0f} ms · "
        f"p99 {r.latency.p99_ms:,.0f} ms · max {r.latency.max_ms:,.0f} ms",
    )
    return table


def render_summary(s: DemoSummary) -> RenderableType:
    """The summary: phases, failures, traffic, and the fleet picture."""
    header = Text(
        f"smartcar-async demo: {s.vehicles:,} vehicles, concurrency {s.concurrency}, seed {s.seed}",
        style="bold",
    )
    evs = sum(s.fleet.state_of_charge.values())
    asleep = sum(e.count for e in s.commands.errors if e.code == "VEHICLE_STATE:ASLEEP")
    locks = Text(
        f"Locked: {s.fleet.locked_before:,} before, {s.fleet.locked_after:,} after "
        f"({s.fleet.unlocked_before:,} were unlocked; asleep at the lock: {asleep:,}, of "
        f"which {s.trouble.dozed_off:,} fell asleep after the read)"
    )
    return Group(
        header,
        Text(""),
        _phases(s),
        Text(""),
        _failures(s),
        Text(""),
        _traffic(s),
        Text(""),
        _chart(
            f"State of charge ({evs:,} vehicles with a traction battery)",
            s.fleet.state_of_charge,
            "green",
        ),
        Text(""),
        _chart("Powertrain", s.fleet.powertrain, "cyan", share=True),
        Text(""),
        locks,
    )

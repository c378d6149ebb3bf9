"""``smartcar-async demo``: the fleet job against the emulator, and its summary."""

from __future__ import annotations

import re

import pytest
from cli_support import Run, SyncRun

from smartcar_async.cli._demo import percentile

pytestmark = pytest.mark.anyio

LOCK_ROUTE = "POST /vehicles/{id}/commands/security/lock"
SIGNALS_ROUTE = "GET /vehicles/{id}/signals"


@pytest.fixture
def anyio_backend() -> str:
    # The demo serves and drives its own emulator in the worker thread's own asyncio
    # loop; the test's loop only waits for the thread. Running it on trio as well
    # would test nothing new and double the suite's slowest tests.
    return "asyncio"


async def test_json_summary_agrees_with_the_emulator(cli: Run) -> None:
    result = await cli("demo", "--vehicles", "50", "--concurrency", "10", "--seed", "3", "--json")

    assert result.code == 0, result.err
    s = result.json()
    reads, commands, traffic, trouble, fleet = (
        s["reads"], s["commands"], s["traffic"], s["trouble"], s["fleet"]
    )  # fmt: skip
    assert (s["vehicles"], s["concurrency"], s["seed"]) == (50, 10, 3)
    assert s["connections"] == {"listed": 50, "pages": 1, "seconds": s["connections"]["seconds"]}

    # Every vehicle is read: an asleep one is served from Smartcar's store, flagged asleep.
    assert (reads["succeeded"], reads["failed"]) == (50, 0)
    assert trouble["asleep"] == reads["asleep"] == 1
    assert reads["failures"] == {}
    assert reads["errors"] == []

    # The per-vehicle 429 was waited out and retried; the app-wide one retried by the SDK.
    assert trouble["rate_limited_vehicles"] == trouble["vehicle_rate_limits"] == 1
    assert reads["rate_limit_retries"] == 1
    assert trouble["app_wide_rate_limits"] == 1
    assert reads["attempts"] == 50 + reads["rate_limit_retries"]
    assert traffic["requests"][SIGNALS_ROUTE] == reads["attempts"] + 1
    assert traffic["statuses"]["429"] == 2

    # The documented bucket, sped up: the client paced itself to it and none was refused.
    # Injected faults answer before the bucket; everything else went through it.
    bucket = s["bucket"]
    assert (bucket["capacity"], bucket["refill_per_minute"]) == (120, 6000)
    assert bucket["refused"] == 0
    assert bucket["admitted"] == (
        traffic["http_requests"]
        - traffic["token_requests"]
        - traffic["statuses"]["429"]
        - reads["failed"]
    )
    assert bucket["waited_s"] >= 0
    assert bucket["paused_s"] == pytest.approx(1.0, abs=0.01)  # the injected app-wide 429

    # The token lived two seconds and the app-wide pause alone lasts one: it was renewed.
    assert traffic["token_requests"] >= 2
    assert traffic["requests"]["POST /oauth2/token"] == traffic["token_requests"]
    assert traffic["http_requests"] == sum(traffic["requests"].values())
    assert traffic["per_second"] > 0

    # Locks: one per vehicle read as unlocked; the ones that dozed off refused.
    assert commands["sent"] == fleet["unlocked_before"] == traffic["requests"][LOCK_ROUTE]
    assert commands["succeeded"] + commands["failed"] == commands["sent"]
    # Those that dozed off refuse, and so does an asleep one that was read as unlocked.
    assert trouble["dozed_off"] <= commands["failed"] <= trouble["dozed_off"] + trouble["asleep"]
    assert trouble["dozed_off"] >= 1
    assert commands["failures"] == {"VehicleStateError": commands["failed"]}
    assert traffic["statuses"]["409"] == commands["failed"]
    assert fleet["locked_after"] == fleet["locked_before"] + commands["succeeded"]
    assert fleet["locked_before"] + fleet["unlocked_before"] <= reads["succeeded"]

    # The fleet picture covers the fleet.
    assert sum(fleet["powertrain"].values()) == 50
    assert 0 < sum(fleet["state_of_charge"].values()) <= reads["succeeded"]
    assert list(fleet["state_of_charge"]) == [f"{n}-{n + 10}" for n in range(0, 100, 10)]

    latency = reads["latency"]
    assert 0 < latency["p50_ms"] <= latency["p90_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    # The read that met the app-wide 429 waited out its one-second Retry-After.
    assert latency["max_ms"] >= 990


async def test_the_fleet_is_paced_to_the_bucket(cli: Run) -> None:
    """Refilling 20 a second, 160 vehicles (about 190 requests) need pacing: none is
    refused, and the summary says how long requests waited for the bucket."""
    result = await cli(
        "demo", "--vehicles", "160", "--concurrency", "40", "--bucket-speed", "600", "--json"
    )
    assert result.code == 0, result.err
    bucket = result.json()["bucket"]
    assert bucket["refill_per_minute"] == 1200
    assert bucket["refused"] == 0
    assert bucket["paced_requests"] > 0
    assert 0 < bucket["longest_wait_s"] <= bucket["waited_s"]
    table = await cli("demo", "--vehicles", "5", "--bucket-speed", "0")
    assert table.code == 0, table.err
    assert "app bucket" not in table.out


async def test_table(cli: Run) -> None:
    result = await cli("demo", "--vehicles", "20", "--concurrency", "5")

    assert result.code == 0, result.err
    out = result.out
    assert out.startswith("smartcar-async demo: 20 vehicles, concurrency 5, seed 1")
    for heading in (
        "What happened",
        "Failures by error",
        "Traffic",
        "State of charge",
        "Powertrain",
    ):
        assert heading in out
    assert "20 connections on 1 page " in out
    # The last line accounts for every failed lock: asleep vehicles, some put to sleep
    # after the read.
    locked = re.search(
        r"\((\d+) were unlocked; asleep at the lock: (\d+), of which (\d+) fell asleep "
        r"after the read\)",
        " ".join(out.split()),
    )
    assert locked is not None, out
    unlocked, asleep, dozed = map(int, locked.groups())
    assert unlocked >= asleep >= dozed >= 1
    assert "VEHICLE_STATE:ASLEEP" in out
    assert "token requests" in out
    assert "p50" in out
    assert "p99" in out
    assert "█" in out
    # Progress goes to stderr, never into the result.
    assert "listed 20 connections" in result.err
    assert "listed" not in out


def test_usage_errors(cli_sync: SyncRun) -> None:
    for argv in (
        ["demo", "--vehicles", "0"],
        ["demo", "--concurrency", "0"],
        ["demo", "--seed", "one"],
    ):
        result = cli_sync(*argv)
        assert result.code == 2, argv
        assert result.out == ""


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]

    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.90) == 90
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7
    assert percentile([], 0.5) == 0


async def test_piped_the_demo_still_shows_its_progress(cli: Run) -> None:
    # The test's stderr is no terminal, like a pipe: a line at each tenth of a phase.
    result = await cli("demo", "--vehicles", "20", "--concurrency", "5")

    assert result.code == 0, result.err
    reads = [line for line in result.err.splitlines() if line.startswith("reading signals: ")]
    assert reads[0].startswith("reading signals: 2/20")
    assert reads[-1].startswith("reading signals: 20/20")
    assert len(reads) == 10


def test_progress_counts_fit_80_columns() -> None:
    import io

    from rich.console import Console

    from smartcar_async.cli._output import Output

    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    progress = out.progress()
    task = progress.add_task("locking unlocked vehicles", total=10_000, status="")
    progress.update(task, completed=5_000, status="12 failed  3 waiting on Retry-After")
    screen = Console(file=io.StringIO(), width=80, record=True)
    screen.print(progress.make_tasks_table(progress.tasks))
    text = screen.export_text()
    assert "5000/10000" in text
    assert "0:00:00" in text  # the elapsed time, whole
    assert "12 failed" in text  # the status gives way last


def test_number_options_say_what_they_need(cli_sync: SyncRun) -> None:
    # One reader of numbers serves every numeric option; each keeps its own wording.
    for argv, message in (
        (["demo", "--bucket-speed", "-1"], "must be a number of at least 0, got -1"),
        (["demo", "--bucket-speed", "inf"], "must be a number of at least 0, got inf"),
        (["demo", "--bucket-speed", "fast"], "expected a number, got 'fast'"),
        (["emulator", "serve", "--token-lifetime", "0"], "must be a number above 0, got 0"),
    ):
        result = cli_sync(*argv)
        assert result.code == 2, argv
        assert message in result.err, (argv, result.err)

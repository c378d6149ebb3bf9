"""Token storm: 10,000 concurrent first calls on a cold client: ``python -m bench token_storm``.

A web backend that starts under load, or a fleet job that starts 10,000 reads at once,
sends its first calls before the client holds a token. The SDK must send exactly *one*
token request however many callers queue for it (`TokenManager`: callers queue on one
lock, the first refreshes, the rest take its token).

The server is the emulator (`bench.emulator_server`: the `SmartcarEmulator` ASGI app
under uvicorn, its own process, loopback), which checks every bearer token and counts
token requests. Each round is a fresh child process with a fresh `SmartcarClient`
(default transport and limits) that starts all the calls at once
(``asyncio.gather``), each ``client.vehicles.signals(vehicle_id, user_id=...)`` for
one of the emulator's 100 vehicles in turn. Reported per round: token requests the
emulator saw (its stats, reset before the round), token requests the client sent,
time from the start to the last response, errors, latency percentiles, CPU time and
peak RSS of the client.

Example:
    $ python -m bench token_storm --quick
    $ python -m bench token_storm --calls 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from bench import _harness as h

__all__ = ["main", "run_child"]

CALLS = 10_000
QUICK_CALLS = 500
VEHICLES = 100


async def _storm(
    base: str, client_id: str, client_secret: str, fleet: list[tuple[str, str]], calls: int
) -> dict[str, Any]:
    import smartcar_async

    latencies: list[float] = []
    errors: list[str] = []
    timer = h.Timer()
    client = smartcar_async.SmartcarClient(
        client_id=client_id,
        client_secret=client_secret,
        token_url=f"{base}/oauth2/token",
        vehicle_api_url=f"{base}/v3",
        management_api_url=f"{base}/management/v3",
    )
    async with client:

        async def one(i: int) -> None:
            vehicle_id, user_id = fleet[i % len(fleet)]
            started = time.perf_counter()
            try:
                await client.vehicles.signals(vehicle_id, user_id=user_id)
            except Exception as exc:
                errors.append(type(exc).__name__)
            latencies.append(time.perf_counter() - started)

        # Coroutines are created before the clock starts; gather schedules them all at
        # once, so every call reaches TokenManager.get() before any token exists.
        coros = [one(i) for i in range(calls)]
        timer.start()
        await asyncio.gather(*coros)
        timer.stop()
        sent = client.tokens.requests_sent
    return h.child_result(
        "sdk",
        calls,
        timer,
        latencies,
        len(errors),
        client_token_requests=sent,
        time_to_last_response_s=round(timer.wall, 3),
        error_kinds=sorted(set(errors)),
    )


def run_child(base: str, calls: int) -> dict[str, Any]:
    """One cold client, ``calls`` concurrent first calls, in this process."""
    info = h._get_json(f"{base}/__bench__/info")
    fleet = [(v, u) for v, u in info["fleet"]]
    return asyncio.run(_storm(base, info["client_id"], info["client_secret"], fleet, calls))


def measure(rounds: int, calls: int) -> list[dict[str, Any]]:
    """Rounds against one emulator process; its counters are reset before each."""
    samples: list[dict[str, Any]] = []
    with h.emulator_server(vehicles=VEHICLES) as server:
        for round_no in range(rounds):
            server.reset()
            result = h.run_child(
                "token_storm", ["--child", "--url", server.base_url, "--calls", str(calls)]
            )
            stats = server.stats()
            result["emulator_token_requests"] = stats["token_requests"]
            result["emulator_signal_requests"] = stats["requests"].get(
                "GET /vehicles/{id}/signals", 0
            )
            result["emulator_statuses"] = stats["statuses"]
            samples.append(result)
            shown = (
                f"error: {result['error']}"
                if "error" in result
                else f"{result['emulator_token_requests']} token request(s), last response "
                f"after {result['time_to_last_response_s']:.2f} s, {result['errors']} errors"
            )
            print(f"[token storm] round {round_no + 1}/{rounds} {shown}", file=sys.stderr)
    return samples


def summarise(samples: list[dict[str, Any]], calls: int) -> dict[str, Any]:
    """Token requests of every round (the target is about each) and median timings."""
    ok = [s for s in samples if "error" not in s]
    return {
        "calls": calls,
        "rounds": len(samples),
        "failed_rounds": len(samples) - len(ok),
        "token_requests_per_round": [s["emulator_token_requests"] for s in ok],
        "client_token_requests_per_round": [s["client_token_requests"] for s in ok],
        "errors_per_round": [s["errors"] for s in ok],
        "time_to_last_response_s": h.median_of(ok, "time_to_last_response_s"),
        "time_to_last_response_runs": [s["time_to_last_response_s"] for s in ok],
        "cpu_s": h.median_of(ok, "cpu_s"),
        "p50_ms": h.median_of(ok, "p50_ms"),
        "p99_ms": h.median_of(ok, "p99_ms"),
        "peak_rss_mb": h.median_of(ok, "peak_rss_mb"),
        "rps": h.median_of(ok, "rps"),
    }


def render(summary: dict[str, Any]) -> str:
    """The Markdown table of docs/performance.md."""
    tokens = summary["token_requests_per_round"]
    row = [
        f"{summary['calls']:,}",
        ", ".join(map(str, tokens)) or "-",
        ", ".join(map(str, summary["errors_per_round"])) or "-",
        summary["time_to_last_response_s"] and f"{summary['time_to_last_response_s']:.2f}",
        summary["rps"] and f"{summary['rps']:,.0f}",
        summary["cpu_s"] and f"{summary['cpu_s']:.2f}",
        summary["p50_ms"] and f"{summary['p50_ms']:,.0f}",
        summary["p99_ms"] and f"{summary['p99_ms']:,.0f}",
        summary["peak_rss_mb"] and f"{summary['peak_rss_mb']:.0f}",
    ]
    header = [
        "concurrent first calls",
        "token requests (each round)",
        "errors (each round)",
        "time to last response s",
        "calls/s",
        "client CPU s",
        "p50 ms",
        "p99 ms",
        "peak RSS MB",
    ]
    return h.markdown_table(header, [row], "rllrrrrrr")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench token_storm [--quick] [--calls N] [--rounds N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench token_storm", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"1 round, {QUICK_CALLS} calls")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument("--calls", type=int, default=None, help=f"default {CALLS:,}")
    parser.add_argument("--out", default=h.DEFAULT_OUT, help="directory for the JSON results")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    calls = args.calls or (QUICK_CALLS if args.quick else CALLS)
    if args.child:
        print(json.dumps(run_child(args.url, calls)))
        return 0

    rounds = args.rounds or (1 if args.quick else 3)
    command = h.command_line("token_storm", sys.argv[2:] if argv is None else argv)
    facts = h.machine_facts()
    samples = measure(rounds, calls)
    summary = summarise(samples, calls)
    tokens = summary["token_requests_per_round"]
    met = {
        "target": "exactly 1 token request per cold storm",
        "value": f"{tokens} over {summary['rounds']} round(s)",
        "met": bool(tokens) and all(t == 1 for t in tokens) and not summary["failed_rounds"],
    }
    table = render(summary)
    print(table)
    print(f"target: {met['target']}: {met['value']} -> {'met' if met['met'] else 'MISSED'}")
    h.write_results(
        args.out,
        "token_storm",
        args.quick,
        {
            "scenario": "token_storm",
            "command": command,
            "rounds": rounds,
            "facts": facts,
            "loadavg_after": h.machine_facts()["loadavg"],
            "summary": summary,
            "targets": [met],
            "table": table,
            "samples": samples,
        },
    )
    return 0

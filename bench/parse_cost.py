"""What the SDK's models cost: ``python -m bench parse_cost``.

A full ``GET /vehicles/{id}/signals`` body (94 signals, taken from the emulator: a
plug-in hybrid reports every signal of the catalogue), decoded again and again in this
one process, timed with ``time.process_time`` (CPU time, so other load on the machine
counts less). Variants, interleaved A B C A B C for several rounds, medians:

| variant | what is timed per body |
| --- | --- |
| ``json.loads`` | ``json.loads(body)``: the floor, what any client pays |
| ``requests .json()`` | ``requests.Response.json()``: what the official package does |
| ``parse_signals(json.loads)`` | ``parse_signals(json.loads(body))``: the SDK's decode, lazy |
| ``... + read one signal`` | the same, then ``.value(code)`` of one signal (one model built) |
| ``... + read every signal`` | the same, then every `Signal` (every model built) |
| ``parse_signals (decoded)`` | ``parse_signals(decoded)``: the SDK's own part alone |
| ``parse_signals (decoded) + every signal`` | the same, building every model |

The same is done for the canned server's smaller body (the one `reads` parses).

Example:
    $ python -m bench parse_cost --quick
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import _harness as h

__all__ = ["emulator_body", "main", "measure"]

BODIES = 1000
QUICK_BODIES = 50
ROUNDS = 7
QUICK_ROUNDS = 2


def emulator_body() -> bytes:
    """The raw ``/signals`` body of an emulated vehicle with the most signals (94)."""
    import smartcar_async
    from smartcar_async.signals import CATALOGUE
    from smartcar_async.testing import SmartcarEmulator

    emulator = SmartcarEmulator(vehicles=20, seed=1)
    fleet = max(emulator.fleet(), key=lambda e: len(emulator.signals(e.vehicle_id)))
    assert len(emulator.signals(fleet.vehicle_id)) == len(CATALOGUE)

    async def fetch() -> bytes:
        async with smartcar_async.SmartcarClient(**emulator.client_kwargs()) as client:
            raw = await client.vehicles.with_raw_response.signals(
                fleet.vehicle_id, user_id=fleet.user_id
            )
            return bytes(raw.http_response.content)

    return asyncio.run(fetch())


def _variants(body: bytes) -> dict[str, Callable[[], object]]:
    from smartcar_async.signals import parse_signals

    decoded = json.loads(body)
    variants: dict[str, Callable[[], object]] = {"json.loads": lambda: json.loads(body)}
    if importlib.util.find_spec("requests") is not None:  # the official package's parse
        import requests

        response = requests.models.Response()
        response._content = body
        response.status_code = 200
        response.headers["content-type"] = "application/vnd.api+json"
        variants["requests .json()"] = response.json
    variants["parse_signals(json.loads)"] = lambda: parse_signals(json.loads(body))
    variants["... + read one signal"] = lambda: parse_signals(json.loads(body)).value(
        "tractionbattery-stateofcharge"
    )
    variants["... + read every signal"] = lambda: list(parse_signals(json.loads(body)).values())
    variants["parse_signals (decoded)"] = lambda: parse_signals(decoded)
    variants["parse_signals (decoded) + every signal"] = lambda: list(
        parse_signals(decoded).values()
    )
    return variants


def _time(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """(CPU µs per call, wall µs per call) over ``n`` calls."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (
        (time.process_time() - cpu0) / n * 1e6,
        (time.perf_counter() - wall0) / n * 1e6,
    )


def measure(bodies: dict[str, bytes], rounds: int, n: int) -> list[dict[str, Any]]:
    """Interleaved rounds per body; one row per (body, variant) with medians."""
    from smartcar_async.signals import parse_signals

    rows = []
    for label, body in bodies.items():
        variants = _variants(body)
        for fn in variants.values():  # warm-up: imports, caches, code objects
            fn()
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        wall: dict[str, list[float]] = {v: [] for v in variants}
        for round_no in range(rounds):
            for name, fn in variants.items():
                c, w = _time(fn, n)
                cpu[name].append(c)
                wall[name].append(w)
            print(f"[parse cost] {label}: round {round_no + 1}/{rounds}", file=sys.stderr)
        floor = statistics.median(cpu["json.loads"])
        signals = len(parse_signals(json.loads(body)))
        for name in variants:
            median_cpu = statistics.median(cpu[name])
            rows.append(
                {
                    "body": label,
                    "signals": signals,
                    "bytes": len(body),
                    "variant": name,
                    "cpu_us_per_body": round(median_cpu, 1),
                    "wall_us_per_body": round(statistics.median(wall[name]), 1),
                    "vs_json_loads": round(median_cpu / floor, 2),
                    "cpu_us_runs": [round(x, 1) for x in cpu[name]],
                }
            )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/performance.md."""
    table = [
        [
            f"{r['body']} ({r['signals']} signals, {r['bytes'] / 1024:.1f} KiB)",
            r["variant"],
            f"{r['cpu_us_per_body']:,.0f}",
            f"{r['vs_json_loads']:.2f}x",
        ]
        for r in rows
    ]
    return h.markdown_table(
        ["body", "what is timed", "CPU µs per body (median)", "vs json.loads"], table, "llrr"
    )


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parse of the 94-signal body within 1.3x of ``json.loads`` alone."""
    out = []
    for row in rows:
        if row["body"] == "emulator" and row["variant"] == "parse_signals(json.loads)":
            out.append(
                {
                    "target": "parse of the 94-signal body <= 1.3x json.loads",
                    "value": f"{row['vs_json_loads']:.2f}x",
                    "met": row["vs_json_loads"] <= 1.3,
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bench parse_cost [--quick] [--rounds N] [--bodies N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench parse_cost", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 50 bodies")
    parser.add_argument("--rounds", type=int, default=None, help=f"default {ROUNDS}")
    parser.add_argument("--bodies", type=int, default=None, help=f"per round; default {BODIES}")
    parser.add_argument("--out", default=h.DEFAULT_OUT, help="directory for the JSON results")
    args = parser.parse_args(argv)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    n = args.bodies or (QUICK_BODIES if args.quick else BODIES)

    from bench.server import SIGNALS_BODY

    facts = h.machine_facts()
    bodies = {"emulator": emulator_body(), "bench.server": SIGNALS_BODY}
    rows = measure(bodies, rounds, n)
    table = render(rows)
    print(table)
    met = targets(rows)
    for t in met:
        print(f"target: {t['target']}: {t['value']} -> {'met' if t['met'] else 'MISSED'}")
    h.write_results(
        args.out,
        "parse_cost",
        args.quick,
        {
            "scenario": "parse_cost",
            "command": h.command_line("parse_cost", sys.argv[2:] if argv is None else argv),
            "rounds": rounds,
            "bodies_per_round": n,
            "facts": facts,
            "rows": rows,
            "table": table,
            "targets": met,
        },
    )
    return 0

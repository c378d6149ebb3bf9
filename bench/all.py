"""Every scenario, one after another: ``python -m bench`` (or ``python -m bench all``).

What ``nox -s bench`` runs. Each scenario runs as ``python -m bench <scenario>`` in a
process of its own and writes its JSON to ``bench/results/`` (``--out``); at the end
this module writes ``summary.md`` there: the machine, the command, every table and every
target, met or missed. ``--quick`` is the smoke run of every scenario (small counts, one
round); ``--skip`` / ``--only`` choose scenarios.

Example:
    $ python -m bench --quick
    $ python -m bench all --skip throughput
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench import _harness as h

__all__ = ["ORDER", "main", "throughput_targets"]

#: Scenario -> extra arguments for the smoke run (beyond ``--quick``).
ORDER: dict[str, list[str]] = {
    "parse_cost": [],
    "per_call": [],
    "token_storm": [],
    "fanout": [],
    "reads": ["--concurrency", "50"],
    "http2": [],
    "fleet": [],
    "throughput": [],
}


def _scenario_argv(name: str, quick: bool, out: str) -> list[str]:
    argv = [name]
    if quick:
        argv += ["--quick", *ORDER[name]]
    if name == "throughput":  # the transport work's scenario: its own flags
        argv += ["--json", h.results_path(out, "throughput", quick)]
    else:
        argv += ["--out", out]
    return argv


def throughput_targets(path: str) -> list[dict[str, Any]]:
    """The transport work's throughput targets, read from ``throughput``'s JSON."""
    try:
        with open(path) as f:
            rows = json.load(f)["rows"]
    except (OSError, ValueError, KeyError):
        return []
    rps = {(r["scenario"], r["client"]): r.get("rps") for r in rows}

    def find(words: tuple[str, ...], client: str) -> float | None:
        for (scenario, c), value in rps.items():
            if c == client and all(w in scenario for w in words):
                return value
        return None

    checks = [
        (("500 in flight", "200 ms"), "aiohttp", 0.5),
        (("500 in flight", "200 ms"), "httpx", 15.0),
        (("200 in flight", "no latency"), "httpx", 4.0),
    ]
    out = []
    for words, floor, wanted in checks:
        for client in ("httpx+sharded", "sdk"):
            mine, base = find(words, client), find(words, floor)
            if mine is None or not base:
                continue
            out.append(
                {
                    "target": f"{client} >= {wanted:g}x raw {floor} ({', '.join(words)})",
                    "value": f"{mine / base:.2f}x ({mine:,.0f} vs {base:,.0f} req/s)",
                    "met": mine / base >= wanted,
                }
            )
    return out


def _targets_of(out: str, name: str, quick: bool) -> list[dict[str, Any]]:
    path = h.results_path(out, name, quick)
    if name == "throughput":
        return throughput_targets(path)
    try:
        with open(path) as f:
            targets: list[dict[str, Any]] = json.load(f).get("targets", [])
    except (OSError, ValueError):
        return []
    return targets


def main(argv: list[str] | None = None) -> int:
    """``python -m bench all [--quick] [--skip a,b] [--only a,b] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m bench all", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run of every scenario")
    parser.add_argument("--skip", default="", help="comma-separated scenarios to leave out")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run")
    parser.add_argument("--out", default=h.DEFAULT_OUT, help="directory for the JSON results")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(ORDER)
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {list(ORDER)}")
    names = [n for n in names if n not in set(args.skip.split(","))]
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    facts = h.machine_facts()
    started = time.perf_counter()
    sections: list[str] = []
    status = 0
    for name in names:
        scenario_argv = _scenario_argv(name, args.quick, out)
        shown = " ".join(["python -m bench", *scenario_argv]).replace(h.REPO_ROOT + "/", "")
        print(f"\n=== {shown}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        # stderr (progress) goes straight through; stdout (the tables) is kept.
        run = subprocess.run(
            [sys.executable, "-m", "bench", *scenario_argv],
            stdout=subprocess.PIPE,
            text=True,
            cwd=h.REPO_ROOT,
            check=False,
        )
        seconds = time.perf_counter() - t0
        print(run.stdout, flush=True)
        if run.returncode != 0:
            status = run.returncode
        sections.append(
            f"## {name}\n\n`{shown}` ({seconds:.0f} s, exit status {run.returncode})\n\n"
            f"{run.stdout.strip()}\n"
        )
    total = time.perf_counter() - started

    targets = [t for name in names for t in _targets_of(out, name, args.quick)]
    lines = [
        f"- {'met' if t['met'] else '**missed**'}: {t['target']}: {t['value']}" for t in targets
    ]
    summary = "\n".join(
        [
            f"# Benchmark results{' (quick smoke run)' if args.quick else ''}",
            "",
            f"Command: `python -m bench all{' --quick' if args.quick else ''}` "
            f"({total / 60:.1f} min)",
            "",
            f"Machine: {facts['cpu']}, {facts['nproc']} CPUs, {facts['implementation']} "
            f"{facts['python']}, {facts['platform']}; load average before "
            f"{facts['loadavg']}, after {h.machine_facts()['loadavg']}",
            "",
            "Packages: "
            + ", ".join(f"{p} {v}" for p, v in facts["packages"].items() if v is not None),
            "",
            "## Targets",
            "",
            *(lines or ["(none measured)"]),
            "",
            *sections,
        ]
    )
    path = os.path.join(out, f"summary{'-quick' if args.quick else ''}.md")
    with open(path, "w") as f:
        f.write(summary + "\n")
    print("\n".join(["Targets:", *lines]))
    print(f"\nsummary: {path} ({total / 60:.1f} min)", file=sys.stderr)
    return status

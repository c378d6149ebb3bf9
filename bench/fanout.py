"""Fan-out memory at 10k and 100k targets, recorded: ``python -m bench fanout``.

Runs `bench.fanout_memory` (the fan-out's own peak memory under ``tracemalloc`` with 200
calls always in flight, CPU per target, and targets per second with 5-15 ms calls) in a
child process, checks the target (peak at 100k within 1.2x of the peak at 10k, for the
streaming and the wave forms), and writes the results beside the other scenarios'.
``--quick`` runs asyncio only, at 1k and 10k targets.

Example:
    $ python -m bench fanout --quick
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from typing import Any

from bench import _harness as h

__all__ = ["main", "render"]

FULL = ["--backend", "both", "--small", "10000", "--large", "100000", "--latency-targets", "10000"]
QUICK = ["--backend", "asyncio", "--small", "1000", "--large", "10000", "--latency-targets", "1000"]
#: Peak memory at the large count may be at most this multiple of the small count's.
RATIO_TARGET = 1.2


def render(result: dict[str, Any]) -> str:
    """The Markdown tables of docs/performance.md."""
    memory = [
        [
            r["backend"],
            r["form"],
            f"{r['small_peak_kib']:,} KiB",
            f"{r['large_peak_kib']:,} KiB",
            f"{r['ratio']:.2f}x",
            f"{r['cpu_us_per_target']} µs",
        ]
        for r in result["memory"]
    ]
    small = result["memory"][0]["small_targets"]
    large = result["memory"][0]["large_targets"]
    first = h.markdown_table(
        [
            "backend",
            "form",
            f"peak, {small:,} targets",
            f"peak, {large:,} targets",
            "ratio",
            "CPU per target",
        ],
        memory,
        "llrrrr",
    )
    rates = [
        [r["backend"], r["form"], f"{r['targets_per_second']:,}"] for r in result["throughput"]
    ]
    targets = result["throughput"][0]["targets"] if result["throughput"] else 0
    second = h.markdown_table(
        ["backend", "form", f"targets/s, {targets:,} calls of 5-15 ms (wall)"], rates, "llr"
    )
    return first + "\n\n" + second


def main(argv: list[str] | None = None) -> int:
    """``python -m bench fanout [--quick]``."""
    parser = argparse.ArgumentParser(prog="python -m bench fanout", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="asyncio only, 1k and 10k targets")
    parser.add_argument("--out", default=h.DEFAULT_OUT, help="directory for the JSON results")
    parser.add_argument(
        "--sizes", default=None, help="SMALL,LARGE,LATENCY target counts (each >= 200)"
    )
    args = parser.parse_args(argv)
    forwarded = list(QUICK if args.quick else FULL)
    if args.sizes:
        small, large, latency = args.sizes.split(",")
        forwarded[3], forwarded[5], forwarded[7] = small, large, latency
    facts = h.machine_facts()
    print(f"[fanout] python -m bench.fanout_memory {' '.join(forwarded)}", file=sys.stderr)
    out = subprocess.run(
        [sys.executable, "-m", "bench.fanout_memory", "--json", *forwarded],
        capture_output=True,
        text=True,
        cwd=h.REPO_ROOT,
        check=False,
    )
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return out.returncode
    result = json.loads(out.stdout)
    # The child's peak RSS (both sizes in one process: interpreter, imports, largest run).
    rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    targets = [
        {
            "target": f"fan-out peak at {r['large_targets']:,} within {RATIO_TARGET}x of "
            f"{r['small_targets']:,} ({r['backend']}, {r['form']})",
            "value": f"{r['ratio']:.2f}x",
            "met": r["ratio"] <= RATIO_TARGET,
        }
        for r in result["memory"]
        if r["form"] in ("stream", "waves")
    ]
    table = render(result)
    print(table)
    for t in targets:
        print(f"target: {t['target']}: {t['value']} -> {'met' if t['met'] else 'MISSED'}")
    h.write_results(
        args.out,
        "fanout",
        args.quick,
        {
            "scenario": "fanout",
            "command": h.command_line("fanout", sys.argv[2:] if argv is None else argv),
            "fanout_memory_args": forwarded,
            "facts": facts,
            "child_peak_rss_mb": round(rss_kib / 1024, 1),
            **result,
            "targets": targets,
            "table": table,
        },
    )
    return 0

"""Fleet-sized reads against a server with real latency: ``python -m bench fleet``.

The two scenarios of the performance issue, every client in its own process, against
`bench.server` answering the 20.5 KiB signals body after a fixed delay:

| scenario | in flight | server latency | calls per run |
| --- | ---: | ---: | ---: |
| ``500@200ms`` | 500 | 200 ms | 5,000 |
| ``2000@1s`` | 2,000 | 1 s | 10,000 |

| client | one call |
| --- | --- |
| ``sdk`` | ``client.vehicles.signals(...)`` from C tasks; defaults (512 connections) |
| ``sdk-fanout`` | the same via ``client.fan_out(..., concurrency=C)``: the pool grows to C |
| ``sdk-fanout-value`` | the same fan-out, each outcome keeping one value, not the `Signals` |
| ``sdk-fanout-aiohttp`` | that on ``AiohttpTransport``, C connections: the documented settings |
| ``sdk-http2`` | ``sdk-fanout-value`` with ``http2=True`` over TLS (`bench.h2server`) |
| ``sdk-aiohttp`` | C tasks; ``transport=AiohttpTransport(limits=...)``, max(512, C) connections |
| ``aiohttp`` | raw ``aiohttp`` (``limit=max(512, C)``) + ``json.loads``: the floor |
| ``httpx`` | raw ``httpx.AsyncClient`` (max(512, C)) + ``.json()``; 500 in flight, 1,000 calls |
| ``official`` | the official package's ``Vehicle.get_signals()`` on C threads (4,000 calls at 2k) |

The children are `bench.reads`' (``python -m bench reads --child ...``): same warm-up
(C calls first), same timing, peak RSS of the child process.

A second table bounds memory per call in flight with ``tracemalloc``: after a warm-up,
C calls are started against a 1 s server; the traced memory while they all wait, and its
peak until they are done, minus what was traced before, divided by C. (Python
allocations only: sockets' kernel buffers are not in it, RSS is.)

Example:
    $ python -m bench fleet --quick
    $ python -m bench fleet --scenarios 2000@1s --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

from bench import _harness as h

__all__ = ["CLIENTS", "SCENARIOS", "main"]

CLIENTS = (
    "sdk",
    "sdk-fanout",
    "sdk-fanout-value",
    "sdk-fanout-aiohttp",
    "sdk-aiohttp",
    "sdk-http2",
    "aiohttp",
    "httpx",
    "official",
)
#: name -> (in flight, latency ms, calls per run)
SCENARIOS: dict[str, tuple[int, int, int]] = {
    "500@200ms": (500, 200, 5000),
    "2000@1s": (2000, 1000, 10000),
}
QUICK = {"500@200ms": (100, 50, 300), "2000@1s": (200, 100, 600)}
#: Raw httpx's own pool costs more per request the more connections it has: a few
#: dozen calls per second at these sizes (see Throughput). Capped, and left out at 2,000.
HTTPX_CALLS = 1000
HTTPX_MAX_IN_FLIGHT = 500
#: The official package runs a thread per call in flight: 2,000 threads contending for
#: the GIL load a shared machine heavily, so its runs at 2,000 are shorter.
OFFICIAL_CALLS = {"2000@1s": 4000}
MEMORY_CLIENTS = ("sdk", "sdk-aiohttp", "aiohttp")
MEMORY_IN_FLIGHT = 500
ROUNDS = 3


# ------------------------------------------------------------------- memory child


async def _memory(client: str, base: str, in_flight: int) -> dict[str, Any]:
    """Traced bytes per call while ``in_flight`` calls wait, and at their peak."""
    import httpx

    from bench.reads import TOKEN, _pool_for, sdk_client

    closers = []
    if client == "aiohttp":
        import aiohttp

        url = f"{base}/v3/vehicles/{h.VEHICLE_ID}/signals"
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=_pool_for(in_flight), limit_per_host=0),
            headers={"Authorization": f"Bearer {TOKEN}", "sc-user-id": h.USER_ID},
        )
        closers.append(session.close)

        async def one() -> None:
            async with session.get(url) as response:
                body = await response.read()
            json.loads(body)

    else:
        kwargs: dict[str, Any] = {}
        if client == "sdk-aiohttp":
            from smartcar_async.transports import AiohttpTransport

            size = _pool_for(in_flight)
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            kwargs["transport"] = AiohttpTransport(limits=limits)
        sdk = sdk_client(base, **kwargs)
        closers.append(sdk.aclose)

        async def one() -> None:
            await sdk.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)

    # Warm-up: every connection open, the token cached, code paths taken.
    await asyncio.gather(*(one() for _ in range(in_flight)))
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    wave = asyncio.gather(*(one() for _ in range(in_flight)))
    await asyncio.sleep(0.5)  # the server answers after 1 s: every call is waiting
    waiting, _ = tracemalloc.get_traced_memory()
    await wave
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for close in closers:
        await close()
    per_call = 1024 * in_flight
    return {
        "client": client,
        "in_flight": in_flight,
        "waiting_kib_per_call": round((waiting - before) / per_call, 1),
        "peak_kib_per_call": round((peak - before) / per_call, 1),
        "left_kib_per_call": round((after - before) / per_call, 1),
        "peak_rss_mb": round(h.peak_rss_mb(), 1),
    }


# ---------------------------------------------------------------------- the parent


@contextlib.contextmanager
def _h2_server(clients: list[str], latency_ms: int) -> Iterator[list[str]]:
    """`bench.h2server` over TLS with the scenario's latency, if ``sdk-http2`` runs."""
    if "sdk-http2" not in clients:
        yield []
        return
    argv = ["-m", "bench.h2server", "--tls", "--latency-ms", str(latency_ms)]
    with h.server_process(argv) as words:
        yield words


def _clients_for(scenario: str, clients: list[str]) -> list[str]:
    in_flight = SCENARIOS[scenario][0]
    return [c for c in clients if c != "httpx" or in_flight <= HTTPX_MAX_IN_FLIGHT]


def _rows(scenario: str, samples: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for client, runs in samples.items():
        ok = [s for s in runs if "error" not in s]
        row: dict[str, Any] = {
            "scenario": scenario,
            "client": client,
            "runs": len(ok),
            "error": next((s["error"] for s in runs if "error" in s), None),
            "calls": ok[0]["calls"] if ok else None,
            "errors": sum(s["errors"] for s in ok),
            "rps_runs": [s["rps"] for s in ok],
        }
        for key in ("rps", "cpu_us_per_call", "p50_ms", "p99_ms", "peak_rss_mb"):
            row[key] = h.median_of(ok, key)
        rows.append(row)
    by = {r["client"]: r for r in rows}
    for row in rows:
        for other in ("aiohttp", "official"):
            base = by.get(other, {})
            row[f"vs_{other}"] = (
                round(row["rps"] / base["rps"], 2) if row["rps"] and base.get("rps") else None
            )
            row[f"rss_vs_{other}"] = (
                round(row["peak_rss_mb"] / base["peak_rss_mb"], 2)
                if row["peak_rss_mb"] and base.get("peak_rss_mb")
                else None
            )
    return rows


def _x(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}x"


def render(rows: list[dict[str, Any]]) -> str:
    """The throughput table of docs/performance.md."""
    table = []
    for r in rows:
        rps = f"{r['rps']:,.0f}" if r["rps"] is not None else f"failed: {r['error']}"
        table.append(
            [
                r["scenario"],
                r["client"],
                r["calls"],
                rps,
                _x(r["vs_aiohttp"]),
                _x(r["vs_official"]),
                None if r["cpu_us_per_call"] is None else f"{r['cpu_us_per_call']:,.0f}",
                None if r["p99_ms"] is None else f"{r['p99_ms']:,.0f}",
                None if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
                _x(r["rss_vs_aiohttp"]),
            ]
        )
    header = [
        "scenario",
        "client",
        "calls",
        "calls/s",
        "vs aiohttp",
        "vs official",
        "CPU µs/call",
        "p99 ms",
        "peak RSS MB",
        "RSS vs aiohttp",
    ]
    return h.markdown_table(header, table, "llrrrrrrrr")


def render_memory(rows: list[dict[str, Any]]) -> str:
    """The tracemalloc table."""
    table = [
        [
            r["client"],
            r["in_flight"],
            r.get("waiting_kib_per_call"),
            r.get("peak_kib_per_call"),
            r.get("left_kib_per_call"),
        ]
        for r in rows
    ]
    header = [
        "client",
        "in flight",
        "KiB per call, waiting",
        "KiB per call, peak",
        "KiB per call, left after",
    ]
    return h.markdown_table(header, table, "lrrrr")


def targets(rows: list[dict[str, Any]], memory: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, met or missed, from the medians."""
    by = {(r["scenario"], r["client"]): r for r in rows}
    out = []

    def ratio(scenario: str, client: str, key: str, wanted: float, at_most: bool = False) -> None:
        row = by.get((scenario, client))
        if row is None or row.get(key) is None:
            return
        value = row[key]
        out.append(
            {
                "target": f"{scenario}: {client} {key.replace('_', ' ')} "
                f"{'<=' if at_most else '>='} {wanted:g}x",
                "value": f"{value:.2f}x",
                "met": value <= wanted if at_most else value >= wanted,
            }
        )

    ratio("500@200ms", "sdk", "vs_aiohttp", 0.6)
    ratio("500@200ms", "sdk", "vs_official", 2.5)
    ratio("500@200ms", "sdk-aiohttp", "vs_aiohttp", 0.85)
    for client in ("sdk-fanout", "sdk-fanout-value", "sdk-fanout-aiohttp"):
        ratio("2000@1s", client, "vs_aiohttp", 0.7)
    for scenario in SCENARIOS:
        for client in (
            "sdk",
            "sdk-fanout",
            "sdk-fanout-value",
            "sdk-fanout-aiohttp",
            "sdk-aiohttp",
        ):
            ratio(scenario, client, "rss_vs_aiohttp", 1.5, at_most=True)
    floor = next((m for m in memory if m["client"] == "aiohttp" and "error" not in m), None)
    for m in memory:
        if floor is None or m["client"] == "aiohttp" or "error" in m:
            continue
        value = m["peak_kib_per_call"] / floor["peak_kib_per_call"]
        out.append(
            {
                "target": f"tracemalloc peak per call in flight: {m['client']} <= 1.5x aiohttp",
                "value": f"{value:.2f}x ({m['peak_kib_per_call']} vs "
                f"{floor['peak_kib_per_call']} KiB)",
                "met": value <= 1.5,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bench fleet [--quick] [--rounds N] [--scenarios a,b] [--clients a,b]``."""
    parser = argparse.ArgumentParser(prog="python -m bench fleet", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, one round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc table")
    parser.add_argument("--out", default=h.DEFAULT_OUT)
    parser.add_argument("--child-memory", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--in-flight", type=int, default=MEMORY_IN_FLIGHT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child_memory:
        print(json.dumps(asyncio.run(_memory(args.child_memory, args.url, args.in_flight))))
        return 0

    clients = [c for c in args.clients.split(",") if c]
    if set(clients) - set(CLIENTS):
        parser.error(f"--clients: choose from {list(CLIENTS)}")
    if "official" in clients and importlib.util.find_spec("smartcar") is None:
        print("note: the official `smartcar` package is not installed", file=sys.stderr)
        clients.remove("official")
    rounds = args.rounds or (1 if args.quick else ROUNDS)
    plan = QUICK if args.quick else SCENARIOS
    facts = h.machine_facts()

    rows: list[dict[str, Any]] = []
    groups = []
    for scenario in [s for s in args.scenarios.split(",") if s]:
        in_flight, latency_ms, calls = plan[scenario]
        with h.canned_server(latency_ms) as base, _h2_server(clients, latency_ms) as h2:

            def one(
                client: str,
                n: int = in_flight,
                base: str = base,
                h2: list[str] = h2,
                calls: int = calls,
                scenario: str = scenario,
            ) -> Any:
                if client == "httpx":
                    calls = min(calls, HTTPX_CALLS)
                elif client == "official" and not args.quick:
                    calls = min(calls, OFFICIAL_CALLS.get(scenario, calls))
                url, tls = base, []
                if client == "sdk-http2":  # its own server: HTTP/2 over TLS
                    host, port, ca = h2
                    url, tls = f"https://{host}:{port}", ["--ca", ca]
                argv = ["--child", client, "--url", url, *tls, "--calls", str(calls)]
                return h.run_child("reads", [*argv, "--concurrency", str(n)])

            samples = h.interleave(
                _clients_for(scenario, clients), rounds, one, label=f"fleet {scenario}"
            )
        groups.append({"scenario": scenario, "samples": samples})
        rows += _rows(scenario, samples)

    memory: list[dict[str, Any]] = []
    if not args.no_memory:
        in_flight = 50 if args.quick else MEMORY_IN_FLIGHT
        with h.canned_server(1000) as base:

            def measure(client: str, base: str = base) -> Any:
                argv = ["--child-memory", client, "--url", base, "--in-flight", str(in_flight)]
                return h.run_child("fleet", argv)

            mem_samples = h.interleave(
                [c for c in MEMORY_CLIENTS if c in clients],
                1 if args.quick else 2,
                measure,
                label="fleet memory",
                show=lambda r: f"peak {r['peak_kib_per_call']} KiB/call",
            )
        for client, runs in mem_samples.items():
            ok = [r for r in runs if "error" not in r]
            if not ok:
                memory.append({"client": client, "in_flight": in_flight, "error": runs[0]})
                continue
            row = {"client": client, "in_flight": in_flight}
            for key in ("waiting_kib_per_call", "peak_kib_per_call", "left_kib_per_call"):
                median = h.median_of(ok, key)
                row[key] = None if median is None else round(median, 1)
            memory.append(row)

    table = render(rows)
    memory_table = render_memory(memory) if memory else ""
    met = targets(rows, memory)
    print(table)
    if memory_table:
        print()
        print(memory_table)
    for t in met:
        print(f"target: {t['target']}: {t['value']} -> {'met' if t['met'] else 'MISSED'}")
    h.write_results(
        args.out,
        "fleet",
        args.quick,
        {
            "scenario": "fleet",
            "command": h.command_line("fleet", sys.argv[2:] if argv is None else argv),
            "rounds": rounds,
            "facts": facts,
            "loadavg_after": h.machine_facts()["loadavg"],
            "rows": rows,
            "memory": memory,
            "targets": met,
            "table": table,
            "memory_table": memory_table,
            "samples": groups,
        },
    )
    return 0

"""Signal reads, four clients on one server: ``python -m bench reads``.

5,000 ``GET /v3/vehicles/{id}/signals`` reads at 50 and at 200 in flight against the
canned server (`bench.server`, its own process, no added latency), and 2,000 over TLS
against `bench.h2server --tls` (HTTP/1.1 by ALPN; every client trusts its throwaway CA),
by:

| client | what one call is |
| --- | --- |
| ``sdk`` | ``await client.vehicles.signals(vehicle_id, user_id=...)`` (default transport) |
| ``sdk-fanout`` | the same call run by ``client.fan_out(targets, fn, concurrency=C)`` |
| ``aiohttp`` | raw ``aiohttp.ClientSession.get`` with a fixed Bearer header, then ``json.loads`` |
| ``httpx`` | raw ``httpx.AsyncClient.get`` with a fixed Bearer header, then ``.json()`` |
| ``official`` | ``smartcar.Vehicle(vehicle_id, token).get_signals()`` (the synchronous official
  package, 6.x) on a ``ThreadPoolExecutor`` of C threads |

Every client decodes the JSON body: the raw rows are the floor for "the same reads
without the SDK", and the SDK row also builds its models (`smartcar_async.Signals`).
The official package reads ``SMARTCAR_VEHICLE_API_V3_ORIGIN`` at import time and
requests ``{origin}/v3/vehicles/{id}/signals``; the canned server answers that path.

Each measurement is a fresh child process (peak RSS is that client's): C warm-up calls
(connections open, token cached), then the timed calls; the child reports wall time,
CPU time (``time.process_time``: all threads), calls per second, per-call latency
percentiles and peak RSS. Clients run interleaved, A B C A B C, for several rounds;
the table shows medians.

Example:
    $ python -m bench reads --quick
    $ python -m bench reads --rounds 3 --concurrency 50,200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import ssl
import sys
import time
from collections.abc import Iterator
from typing import Any

from bench import _harness as h

__all__ = ["CLIENTS", "main", "run_child", "summarise"]

CLIENTS = {
    "sdk": "smartcar_async: client.vehicles.signals (default transport)",
    "sdk-fanout": "smartcar_async: the same through client.fan_out(concurrency=C)",
    "aiohttp": "raw aiohttp.ClientSession + json.loads (floor)",
    "httpx": "raw httpx.AsyncClient + .json() (httpx's own pool)",
    "official": "official smartcar 6.x Vehicle.get_signals() on C threads",
}

#: Same connection limit for the clients that take one (the SDK's own default is 512).
MAX_CONNECTIONS = 512
TOKEN = "bench-token"  # the canned server accepts any bearer token

CONCURRENCY = (50, 200)
SERVERS = ("http", "tls")
SERVER_LABEL = {"http": "HTTP/1.1", "tls": "HTTPS (TLS)"}
#: Calls per run: 5,000 on plain HTTP; 2,000 over TLS (same rates, fewer minutes).
CALLS = {"http": 5000, "tls": 2000}
QUICK_CALLS = 200
#: Raw httpx gets a few dozen calls per second at 200 in flight (its pool's cost grows
#: with its connection count; see docs/performance.md): cap its calls per concurrency
#: so a round takes seconds. Its rate is still the median of rates.
CALL_CAP = {"httpx": {50: 500, 200: 200}}


# ----------------------------------------------------------------------------- the child


async def _drive(one: Any, calls: int, concurrency: int, latencies: list[float]) -> int:
    """``calls`` calls of ``one`` from ``concurrency`` tasks; returns the error count."""
    remaining = calls
    errors = 0

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                await one()
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


def _pool_for(concurrency: int) -> int:
    """Connections for a raw client: the common 512, or more if more calls are in flight."""
    return max(MAX_CONNECTIONS, concurrency)


def _ssl_context(ca: str | None) -> ssl.SSLContext | None:
    return None if ca is None else ssl.create_default_context(cafile=ca)


def sdk_client(base: str, ca: str | None = None, **kwargs: Any) -> Any:
    """A `SmartcarClient` for the bench servers, its defaults otherwise.

    With ``ca`` (a TLS server), the client's own transport trusts that CA (``verify=``).
    """
    import smartcar_async

    if ca is not None and "transport" not in kwargs and "http_client" not in kwargs:
        kwargs["verify"] = _ssl_context(ca)
    return smartcar_async.SmartcarClient(
        client_id="client_bench",
        client_secret="bench-secret",
        token_url=f"{base}/oauth2/token",
        vehicle_api_url=f"{base}/v3",
        management_api_url=f"{base}/v3",
        **kwargs,
    )


async def _run_sdk(
    base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer, **options: Any
) -> tuple[list[float], int]:
    latencies: list[float] = []
    async with sdk_client(base, ca, **options) as client:

        async def one() -> None:
            await client.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)

        await _drive(one, concurrency, concurrency, [])
        timer.start()
        errors = await _drive(one, calls, concurrency, latencies)
        timer.stop()
    return latencies, errors


async def _run_sdk_aiohttp(
    base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer
) -> tuple[list[float], int]:
    import httpx

    from smartcar_async.transports import AiohttpTransport

    # The documented setting for a large fan-out: as many connections as calls in flight.
    size = _pool_for(concurrency)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    transport = AiohttpTransport(limits=limits, verify=_ssl_context(ca) or True)
    return await _run_sdk(base, ca, calls, concurrency, timer, transport=transport)


#: The signal a fan-out that keeps only what it needs reads from each `Signals`.
KEPT_SIGNAL = "tractionbattery-stateofcharge"


async def _run_sdk_fanout(
    base: str,
    ca: str | None,
    calls: int,
    concurrency: int,
    timer: h.Timer,
    *,
    keep: str = "signals",
    **options: Any,
) -> tuple[list[float], int]:
    """``client.fan_out`` over the reads; each outcome holds the `Signals`, or with
    ``keep="value"`` only the one value a fleet job would keep."""
    latencies: list[float] = []
    async with sdk_client(base, ca, **options) as client:

        async def read(_: int) -> object:
            started = time.perf_counter()
            try:
                signals = await client.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)
                return signals if keep == "signals" else signals.value(KEPT_SIGNAL)
            finally:
                latencies.append(time.perf_counter() - started)

        async def run(n: int) -> int:
            errors = 0
            async with client.fan_out(range(n), read, concurrency=concurrency) as outcomes:
                async for outcome in outcomes:
                    errors += not outcome.ok
            return errors

        await run(concurrency)
        latencies.clear()
        timer.start()
        errors = await run(calls)
        timer.stop()
    return latencies, errors


async def _run_sdk_fanout_value(
    base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer
) -> tuple[list[float], int]:
    return await _run_sdk_fanout(base, ca, calls, concurrency, timer, keep="value")


async def _run_sdk_fanout_aiohttp(
    base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer
) -> tuple[list[float], int]:
    import httpx

    from smartcar_async.transports import AiohttpTransport

    # The documented settings for the largest fan-outs on asyncio: the aiohttp transport
    # with a connection per call in flight, and outcomes that keep what the job needs.
    size = _pool_for(concurrency)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    transport = AiohttpTransport(limits=limits, verify=_ssl_context(ca) or True)
    return await _run_sdk_fanout(
        base, ca, calls, concurrency, timer, keep="value", transport=transport
    )


async def _run_aiohttp(
    base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer
) -> tuple[list[float], int]:
    import aiohttp

    url = f"{base}/v3/vehicles/{h.VEHICLE_ID}/signals"
    headers = {"Authorization": f"Bearer {TOKEN}", "sc-user-id": h.USER_ID}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(
        limit=_pool_for(concurrency), limit_per_host=0, ssl=_ssl_context(ca) or True
    )
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def one() -> None:
            async with session.get(url) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}")
            json.loads(body)

        await _drive(one, concurrency, concurrency, [])
        timer.start()
        errors = await _drive(one, calls, concurrency, latencies)
        timer.stop()
    return latencies, errors


async def _run_httpx(
    base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer
) -> tuple[list[float], int]:
    import httpx

    url = f"{base}/v3/vehicles/{h.VEHICLE_ID}/signals"
    headers = {"Authorization": f"Bearer {TOKEN}", "sc-user-id": h.USER_ID}
    limits = httpx.Limits(
        max_connections=_pool_for(concurrency), max_keepalive_connections=_pool_for(concurrency)
    )
    latencies: list[float] = []
    verify = _ssl_context(ca) or True
    async with httpx.AsyncClient(
        limits=limits, headers=headers, timeout=120.0, verify=verify
    ) as client:

        async def one() -> None:
            response = await client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"status {response.status_code}")
            response.json()

        await _drive(one, concurrency, concurrency, [])
        timer.start()
        errors = await _drive(one, calls, concurrency, latencies)
        timer.stop()
    return latencies, errors


def _run_official(
    base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer
) -> tuple[list[float], int]:
    from concurrent.futures import ThreadPoolExecutor

    # smartcar.config reads the origin when smartcar is first imported.
    os.environ["SMARTCAR_VEHICLE_API_V3_ORIGIN"] = base
    if ca is not None:
        # The package calls requests.request(), which trusts this bundle (trust_env).
        os.environ["REQUESTS_CA_BUNDLE"] = ca
    import smartcar

    latencies: list[float] = []
    errors = 0

    def one(_: int) -> None:
        nonlocal errors
        started = time.perf_counter()
        try:
            smartcar.Vehicle(h.VEHICLE_ID, TOKEN).get_signals()
        except Exception:
            errors += 1  # a lost increment under threads only under-counts errors
        latencies.append(time.perf_counter() - started)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm-up: threads started, imports done
        latencies.clear()
        errors = 0
        timer.start()
        list(pool.map(one, range(calls)))
        timer.stop()
    return latencies, errors


def run_child(
    client: str, base: str, calls: int, concurrency: int, ca: str | None = None
) -> dict[str, Any]:
    """One measurement of ``client`` in this process (``ca``: the server's TLS CA)."""
    timer = h.Timer()
    if client == "official":
        latencies, errors = _run_official(base, ca, calls, concurrency, timer)
    else:
        runner = {
            "sdk": _run_sdk,
            "sdk-fanout": _run_sdk_fanout,
            "sdk-fanout-value": _run_sdk_fanout_value,
            "sdk-fanout-aiohttp": _run_sdk_fanout_aiohttp,
            "sdk-aiohttp": _run_sdk_aiohttp,
            "aiohttp": _run_aiohttp,
            "httpx": _run_httpx,
        }[client]
        latencies, errors = asyncio.run(runner(base, ca, calls, concurrency, timer))
    return h.child_result(client, calls, timer, latencies, errors, concurrency=concurrency)


# ---------------------------------------------------------------------------- the parent


def _calls_for(client: str, concurrency: int, calls: int) -> int:
    cap = CALL_CAP.get(client, {}).get(concurrency)
    return calls if cap is None else min(calls, cap)


@contextlib.contextmanager
def _server(kind: str) -> Iterator[tuple[str, str | None]]:
    """``http``: `bench.server`; ``tls``: `bench.h2server --tls` (HTTP/1.1 by ALPN here)."""
    if kind == "http":
        with h.canned_server() as base:
            yield base, None
    else:
        with h.server_process(["-m", "bench.h2server", "--tls"]) as (host, port, ca):
            yield f"https://{host}:{port}", ca


def measure(
    clients: list[str],
    servers: list[str],
    concurrency: list[int],
    rounds: int,
    calls: dict[str, int],
) -> list[dict[str, Any]]:
    """Every (server, concurrency): start the server, run the clients interleaved."""
    groups = []
    for kind in servers:
        for c in concurrency:
            with _server(kind) as (base, ca):

                def one(
                    client: str, c: int = c, base: str = base, ca: str | None = ca, k: str = kind
                ) -> Any:
                    n = _calls_for(client, c, calls[k])
                    args = ["--child", client, "--url", base, "--calls", str(n)]
                    args += ["--concurrency", str(c)] + (["--ca", ca] if ca else [])
                    return h.run_child("reads", args)

                label = f"reads, {kind}, {c} in flight"
                samples = h.interleave(clients, rounds, one, label=label)
            groups.append({"server": kind, "concurrency": c, "samples": samples})
    return groups


def summarise(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians per (server, concurrency, client), with ratios to the other clients."""
    rows = []
    for group in groups:
        medians: dict[str, dict[str, Any]] = {}
        for client, samples in group["samples"].items():
            ok = [s for s in samples if "error" not in s]
            medians[client] = {
                "server": group["server"],
                "concurrency": group["concurrency"],
                "client": client,
                "runs": len(ok),
                "failed_runs": len(samples) - len(ok),
                "error": next((s["error"] for s in samples if "error" in s), None),
                "calls": ok[0]["calls"] if ok else None,
                "errors": sum(s["errors"] for s in ok),
                "rps_runs": [s["rps"] for s in ok],
            }
            for key in ("rps", "cpu_us_per_call", "p50_ms", "p90_ms", "p99_ms", "peak_rss_mb"):
                medians[client][key] = h.median_of(ok, key)
        for row in medians.values():
            for other in ("official", "aiohttp", "httpx"):
                base = medians.get(other, {}).get("rps")
                row[f"vs_{other}"] = round(row["rps"] / base, 2) if row["rps"] and base else None
            rows.append(row)
    return rows


def _fmt(value: float | None, spec: str) -> str | None:
    return None if value is None else format(value, spec)


def render(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/performance.md."""
    table = []
    for r in rows:
        rps = _fmt(r["rps"], ",.0f") if r["rps"] is not None else f"failed: {r['error']}"
        table.append(
            [
                SERVER_LABEL[r["server"]],
                r["concurrency"],
                r["client"],
                r["calls"],
                rps,
                _fmt(r["vs_official"], ".2f") and f"{r['vs_official']:.2f}x",
                _fmt(r["vs_aiohttp"], ".2f") and f"{r['vs_aiohttp']:.2f}x",
                _fmt(r["vs_httpx"], ".2f") and f"{r['vs_httpx']:.2f}x",
                _fmt(r["cpu_us_per_call"], ",.0f"),
                _fmt(r["p50_ms"], ".1f"),
                _fmt(r["p99_ms"], ".1f"),
                _fmt(r["peak_rss_mb"], ".0f"),
            ]
        )
    header = [
        "server",
        "in flight",
        "client",
        "calls",
        "calls/s",
        "vs official",
        "vs aiohttp",
        "vs httpx",
        "CPU µs/call",
        "p50 ms",
        "p99 ms",
        "peak RSS MB",
    ]
    return h.markdown_table(header, table, "lrlrrrrrrrrr")


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SDK >= 4x the official package's throughput at equal concurrency, with less memory."""
    out = []
    by = {(r["server"], r["concurrency"], r["client"]): r for r in rows}
    for (kind, c, client), row in by.items():
        if client not in ("sdk", "sdk-fanout"):
            continue
        official = by.get((kind, c, "official"))
        if official is None or not official["rps"] or not row["rps"]:
            continue
        ratio = row["rps"] / official["rps"]
        less_memory = (row["peak_rss_mb"] or 0) < (official["peak_rss_mb"] or 0)
        out.append(
            {
                "target": f"{client} >= 4x official, {SERVER_LABEL[kind]}, {c} in flight, "
                "less memory",
                "value": f"{ratio:.2f}x; peak RSS {row['peak_rss_mb']:.0f} MB vs "
                f"{official['peak_rss_mb']:.0f} MB",
                "met": ratio >= 4 and less_memory,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bench reads [--quick] [--rounds N] [--clients a,b] [--concurrency 50,200]``."""
    parser = argparse.ArgumentParser(prog="python -m bench reads", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"1 round, {QUICK_CALLS} calls")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument("--calls", type=int, default=None, help=f"calls per run (default {CALLS})")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)))
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="http (plain, bench.server), tls (HTTPS)"
    )
    parser.add_argument("--out", default=h.DEFAULT_OUT, help="directory for the JSON results")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--ca", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = run_child(args.child, args.url, args.calls, int(args.concurrency), args.ca)
        print(json.dumps(result))
        return 0

    clients = [c for c in args.clients.split(",") if c]
    unknown = sorted(set(clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown clients {unknown}; choose from {list(CLIENTS)}")
    if "official" in clients and importlib.util.find_spec("smartcar") is None:
        print("note: the official `smartcar` package is not installed", file=sys.stderr)
        clients.remove("official")
    concurrency = [int(c) for c in args.concurrency.split(",") if c]
    rounds = args.rounds or (1 if args.quick else 3)
    if args.calls:
        calls = dict.fromkeys(SERVERS, args.calls)
    else:
        calls = dict.fromkeys(SERVERS, QUICK_CALLS) if args.quick else CALLS
    command = h.command_line("reads", sys.argv[2:] if argv is None else argv)

    facts_before = h.machine_facts()
    servers = [k for k in args.servers.split(",") if k]
    if set(servers) - set(SERVERS):
        parser.error(f"--servers: choose from {list(SERVERS)}")
    groups = measure(clients, servers, concurrency, rounds, calls)
    rows = summarise(groups)
    met = targets(rows)
    table = render(rows)
    print(table)
    for t in met:
        print(f"target: {t['target']}: {t['value']} -> {'met' if t['met'] else 'MISSED'}")
    h.write_results(
        args.out,
        "reads",
        args.quick,
        {
            "scenario": "reads",
            "command": command,
            "rounds": rounds,
            "clients": {c: CLIENTS[c] for c in clients},
            "facts": facts_before,
            "loadavg_after": h.machine_facts()["loadavg"],
            "rows": rows,
            "targets": met,
            "table": table,
            "samples": groups,
        },
    )
    return 0

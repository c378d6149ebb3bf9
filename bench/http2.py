"""HTTP/1.1 against HTTP/2 on the same server: ``python -m bench http2``.

The server is `bench.h2server`, in its own process: TLS with a throwaway CA and ALPN
(``h2`` / ``http/1.1``), as the real API is reached, or with ``--cleartext`` HTTP/2 by
prior knowledge (h2c). It serves the same canned bodies as `bench.server` and allows 100
concurrent streams per HTTP/2 connection (h2's default, a common server setting).

| client | how it is built |
| --- | --- |
| ``sdk-h1`` | ``SmartcarClient`` with its default transport (`ShardedTransport`), HTTP/1.1 |
| ``sdk-h1-httpx`` | ``SmartcarClient(http_client=httpx.AsyncClient())``: HTTP/1.1, httpx's pool |
| ``sdk-h2`` | ``SmartcarClient(http_client=httpx.AsyncClient(http2=True))`` |
| ``sdk-h2-sharded`` | ``SmartcarClient(http2=True)``: the default transport, HTTP/2 |
| ``httpx-h2`` | raw ``httpx.AsyncClient(http2=True)`` + ``.json()``: the HTTP/2 floor |
| ``aiohttp-h1`` | raw ``aiohttp`` + ``json.loads``: the HTTP/1.1 floor (aiohttp has no HTTP/2) |

Every client gets the same limits (512 connections) and trusts the server's CA. Each
measurement is a fresh child process: C warm-up calls, then the timed calls; medians of
interleaved rounds, as in `bench.reads`.

Example:
    $ python -m bench http2 --quick
    $ python -m bench http2 --cleartext --concurrency 100,200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bench import _harness as h
from bench.reads import _drive, _run_aiohttp, _ssl_context, sdk_client

__all__ = ["CLIENTS", "main", "run_child"]

CLIENTS = {
    "sdk-h1": "SDK, default transport (ShardedTransport), HTTP/1.1",
    "sdk-h1-httpx": "SDK, http_client=httpx.AsyncClient() (HTTP/1.1, httpx's own pool)",
    "sdk-h2": "SDK, http_client=httpx.AsyncClient(http2=True)",
    "sdk-h2-sharded": "SDK, SmartcarClient(http2=True): default ShardedTransport, HTTP/2",
    "httpx-h2": "raw httpx.AsyncClient(http2=True) + .json() (HTTP/2 floor)",
    "aiohttp-h1": "raw aiohttp + json.loads (HTTP/1.1 floor)",
}
CONCURRENCY = (100,)
CALLS = 2000
QUICK_CALLS = 200
MAX_CONNECTIONS = 512
#: httpx's own HTTP/1.1 pool slows down with its connection count (docs/performance.md).
CALL_CAP = {"sdk-h1-httpx": 500}


def _limits() -> Any:
    import httpx

    return httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)


def _httpx_client(ca: str | None, http2: bool, **kwargs: Any) -> Any:
    import httpx

    if ca is None:  # cleartext: HTTP/2 by prior knowledge, or plain HTTP/1.1
        return httpx.AsyncClient(http1=not http2, http2=http2, limits=_limits(), **kwargs)
    return httpx.AsyncClient(http2=http2, verify=_ssl_context(ca), limits=_limits(), **kwargs)


def _sharded_h2_cleartext() -> Any:
    """The default transport speaking h2c (``SmartcarClient(http2=True)`` needs TLS + ALPN)."""
    import httpx

    from smartcar_async.transports import ShardedTransport

    def shard(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(http1=False, http2=True, limits=limits, retries=0)

    return ShardedTransport(limits=_limits(), shard_factory=shard)


async def _run(
    client_name: str, base: str, ca: str | None, calls: int, concurrency: int, timer: h.Timer
) -> tuple[list[float], int, str]:
    latencies: list[float] = []
    url = f"{base}/v3/vehicles/{h.VEHICLE_ID}/signals"
    headers = {"Authorization": "Bearer bench-token", "sc-user-id": h.USER_ID}

    if client_name == "aiohttp-h1":
        aiohttp_latencies, errors = await _run_aiohttp(base, ca, calls, concurrency, timer)
        return aiohttp_latencies, errors, "HTTP/1.1"

    if client_name == "httpx-h2":
        async with _httpx_client(ca, True, headers=headers, timeout=120.0) as raw:
            version = ""

            async def one_httpx() -> None:
                nonlocal version
                response = await raw.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"status {response.status_code}")
                version = response.http_version
                response.json()

            await _drive(one_httpx, concurrency, concurrency, [])
            timer.start()
            errors = await _drive(one_httpx, calls, concurrency, latencies)
            timer.stop()
        return latencies, errors, version

    http: Any = None
    kwargs: dict[str, Any] = {}
    if client_name == "sdk-h1":
        pass  # sdk_client builds the default transport, trusting the CA
    elif client_name == "sdk-h1-httpx":
        http = kwargs["http_client"] = _httpx_client(ca, False)
    elif client_name == "sdk-h2":
        http = kwargs["http_client"] = _httpx_client(ca, True)
    elif client_name == "sdk-h2-sharded":
        if ca is None:
            kwargs["transport"] = _sharded_h2_cleartext()
        else:
            kwargs["http2"] = True  # the default transport, HTTP/2 where ALPN offers it
    else:
        raise ValueError(client_name)
    try:
        async with sdk_client(base, ca, **kwargs) as client:

            async def one() -> None:
                await client.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)

            raw = await client.vehicles.with_raw_response.signals(h.VEHICLE_ID, user_id=h.USER_ID)
            await _drive(one, concurrency, concurrency, [])
            timer.start()
            errors = await _drive(one, calls, concurrency, latencies)
            timer.stop()
    finally:
        if http is not None:  # a client passed as http_client= is the caller's to close
            await http.aclose()
    return latencies, errors, raw.http_response.http_version


def run_child(
    client: str, base: str, ca: str | None, calls: int, concurrency: int
) -> dict[str, Any]:
    """One measurement of ``client`` in this process."""
    timer = h.Timer()
    latencies, errors, version = asyncio.run(_run(client, base, ca, calls, concurrency, timer))
    return h.child_result(
        client, calls, timer, latencies, errors, concurrency=concurrency, http_version=version
    )


def measure(
    clients: list[str], concurrency: list[int], rounds: int, calls: int, tls: bool
) -> list[dict[str, Any]]:
    """Per concurrency: one server process, the clients interleaved."""
    groups = []
    argv = ["-m", "bench.h2server", "--tls" if tls else "--cleartext"]
    for c in concurrency:
        with h.server_process(argv) as (host, port, ca_path):
            base = f"{'https' if tls else 'http'}://{host}:{port}"
            ca = ca_path if tls else None

            def one(client: str, c: int = c, base: str = base, ca: str | None = ca) -> Any:
                n = min(calls, CALL_CAP.get(client, calls))
                args = ["--child", client, "--url", base, "--calls", str(n)]
                args += ["--concurrency", str(c)] + (["--ca", ca] if ca else [])
                return h.run_child("http2", args)

            samples = h.interleave(clients, rounds, one, label=f"http2, {c} in flight")
        groups.append({"concurrency": c, "samples": samples})
    return groups


def summarise(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians per (concurrency, client), with ratios to the SDK on HTTP/1.1 and the floors."""
    rows = []
    for group in groups:
        medians: dict[str, dict[str, Any]] = {}
        for client, samples in group["samples"].items():
            ok = [s for s in samples if "error" not in s]
            row: dict[str, Any] = {
                "concurrency": group["concurrency"],
                "client": client,
                "runs": len(ok),
                "error": next((s["error"] for s in samples if "error" in s), None),
                "calls": ok[0]["calls"] if ok else None,
                "errors": sum(s["errors"] for s in ok),
                "http_version": ok[0]["http_version"] if ok else None,
                "rps_runs": [s["rps"] for s in ok],
            }
            for key in ("rps", "cpu_us_per_call", "p50_ms", "p99_ms", "peak_rss_mb"):
                row[key] = h.median_of(ok, key)
            medians[client] = row
        for row in medians.values():
            for other in ("sdk-h1", "httpx-h2", "aiohttp-h1"):
                base = medians.get(other, {}).get("rps")
                row[f"vs_{other}"] = round(row["rps"] / base, 2) if row["rps"] and base else None
            rows.append(row)
    return rows


def _x(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}x"


def render(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/performance.md."""
    table = [
        [
            r["concurrency"],
            r["client"],
            r["http_version"],
            r["calls"],
            f"{r['rps']:,.0f}" if r["rps"] is not None else f"failed: {r['error']}",
            _x(r["vs_sdk-h1"]),
            _x(r["vs_httpx-h2"]),
            r["cpu_us_per_call"] and f"{r['cpu_us_per_call']:,.0f}",
            r["p50_ms"] and f"{r['p50_ms']:.1f}",
            r["p99_ms"] and f"{r['p99_ms']:.1f}",
            r["peak_rss_mb"] and f"{r['peak_rss_mb']:.0f}",
        ]
        for r in rows
    ]
    header = [
        "in flight",
        "client",
        "protocol",
        "calls",
        "calls/s",
        "vs sdk-h1",
        "vs httpx-h2",
        "CPU µs/call",
        "p50 ms",
        "p99 ms",
        "peak RSS MB",
    ]
    return h.markdown_table(header, table, "rllrrrrrrrr")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench http2 [--quick] [--cleartext] [--rounds N] [--concurrency 100]``."""
    parser = argparse.ArgumentParser(prog="python -m bench http2", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"1 round, {QUICK_CALLS} calls")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument("--calls", type=int, default=None, help=f"default {CALLS}")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)))
    parser.add_argument("--cleartext", action="store_true", help="h2c instead of TLS + ALPN")
    parser.add_argument("--out", default=h.DEFAULT_OUT, help="directory for the JSON results")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--ca", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    calls = args.calls or (QUICK_CALLS if args.quick else CALLS)
    if args.child:
        result = run_child(args.child, args.url, args.ca, calls, int(args.concurrency))
        print(json.dumps(result))
        return 0

    clients = [c for c in args.clients.split(",") if c]
    unknown = sorted(set(clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown clients {unknown}; choose from {list(CLIENTS)}")
    concurrency = [int(c) for c in args.concurrency.split(",") if c]
    rounds = args.rounds or (1 if args.quick else 3)
    facts = h.machine_facts()
    groups = measure(clients, concurrency, rounds, calls, tls=not args.cleartext)
    rows = summarise(groups)
    table = render(rows)
    print(table)
    h.write_results(
        args.out,
        "http2-cleartext" if args.cleartext else "http2",
        args.quick,
        {
            "scenario": "http2",
            "command": h.command_line("http2", sys.argv[2:] if argv is None else argv),
            "transport": "h2c (prior knowledge)" if args.cleartext else "TLS + ALPN",
            "rounds": rounds,
            "clients": {c: CLIENTS[c] for c in clients},
            "facts": facts,
            "loadavg_after": h.machine_facts()["loadavg"],
            "rows": rows,
            "table": table,
            "samples": groups,
        },
    )
    return 0

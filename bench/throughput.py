"""Throughput of HTTP clients against a loopback server: ``python -m bench throughput``.

Every measurement runs in a child process of its own (a fresh interpreter, so peak RSS is
per client), against a `bench.server` process on loopback; the parent only orchestrates.
For each scenario the clients run interleaved, A B C A B C ..., for several rounds, and
the table reports the median requests per second, the ratios to raw aiohttp and raw
httpx, and the median peak RSS of the child.

Each child first sends ``concurrency`` warm-up requests (so connections are open, as in
a long-running service), then times ``requests`` requests with ``concurrency`` tasks
each sending one request after another. Raw rows only read the body; the SDK row is the
whole SDK call (token cached after the first request, JSON parsing, models).

Example:
    $ python -m bench throughput --quick
    $ python -m bench throughput --rounds 5 --json bench/results/throughput.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CLIENTS", "SCENARIOS", "Scenario", "main"]

#: Same pool limits for every client: enough connections for every scenario.
MAX_CONNECTIONS = 512
MAX_KEEPALIVE = 512
KEEPALIVE_EXPIRY = 30.0

VEHICLE_ID = "36ab27d0-fd9d-4455-823a-ce30af709ffc"
USER_ID = "93b3ee4b-5b3b-4b4e-9b1b-0b8e1b0b9f00"


@dataclass(frozen=True)
class Scenario:
    """One row group of the table."""

    name: str
    concurrency: int
    latency_ms: float
    requests: int
    quick_requests: int


SCENARIOS = [
    Scenario("50 in flight, no latency", 50, 0.0, 5000, 1000),
    Scenario("200 in flight, no latency", 200, 0.0, 5000, 1000),
    # 5,000 requests are 10 round trips of 500: enough to reach a steady state.
    Scenario("500 in flight, 200 ms latency", 500, 200.0, 5000, 1500),
]

#: Client name -> description, in table order.
CLIENTS = {
    "aiohttp": "raw aiohttp.ClientSession",
    "httpx": "raw httpx.AsyncClient (httpx's own pool)",
    "httpx+sharded": "httpx.AsyncClient(transport=ShardedTransport())",
    "httpx+aiohttp": "httpx.AsyncClient(transport=AiohttpTransport())",
    "sdk": "smartcar_async.SmartcarClient, default transport",
    "httpx+httpx-aiohttp": "httpx.AsyncClient(transport=httpx_aiohttp.AiohttpTransport())",
    "httpx+no-io": "httpx.AsyncClient with a transport that does no I/O (ceiling)",
}

#: Raw httpx does a few dozen requests per second at 200+ in flight; cap its requests
#: (normal, quick) so a round takes seconds, not minutes. The rate is still a median.
REQUEST_CAP = {"httpx": (1000, 200)}

#: The no-I/O ceiling only means something without server latency.
NO_LATENCY_ONLY = {"httpx+no-io"}


# --------------------------------------------------------------------------- child side

OneRequest = Callable[[], Awaitable[None]]


async def _drive(one: OneRequest, requests: int, concurrency: int) -> float:
    """Send ``requests`` calls of ``one`` with ``concurrency`` tasks; return seconds."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def _run_aiohttp(base: str, requests: int, concurrency: int) -> float:
    import aiohttp

    url = f"{base}/v3/vehicles/{VEHICLE_ID}/signals"
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS, limit_per_host=0, keepalive_timeout=KEEPALIVE_EXPIRY
    )
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}")

        await _drive(one, concurrency, concurrency)
        return await _drive(one, requests, concurrency)


def _limits() -> Any:
    import httpx

    return httpx.Limits(
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_KEEPALIVE,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )


async def _run_httpx_with(transport: Any, base: str, requests: int, concurrency: int) -> float:
    import httpx

    url = f"{base}/v3/vehicles/{VEHICLE_ID}/signals"
    kwargs: dict[str, Any] = (
        {"limits": _limits()} if transport is None else {"transport": transport}
    )
    async with httpx.AsyncClient(timeout=60.0, **kwargs) as client:

        async def one() -> None:
            response = await client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"status {response.status_code}")

        await _drive(one, concurrency, concurrency)
        return await _drive(one, requests, concurrency)


async def _run_httpx(base: str, requests: int, concurrency: int) -> float:
    return await _run_httpx_with(None, base, requests, concurrency)


async def _run_sharded(base: str, requests: int, concurrency: int) -> float:
    from smartcar_async._transport import ShardedTransport

    transport = ShardedTransport(limits=_limits())
    return await _run_httpx_with(transport, base, requests, concurrency)


async def _run_aiohttp_transport(base: str, requests: int, concurrency: int) -> float:
    from smartcar_async._aiohttp_transport import AiohttpTransport

    transport = AiohttpTransport(limits=_limits())
    return await _run_httpx_with(transport, base, requests, concurrency)


def _sdk_client(base: str) -> Any:
    import smartcar_async

    client_class: Any = smartcar_async.SmartcarClient
    return client_class(
        client_id="client_bench",
        client_secret="bench-secret",
        token_url=f"{base}/oauth2/token",
        vehicle_api_url=f"{base}/v3",
        management_api_url=f"{base}/v3",
    )


def sdk_available() -> bool:
    """True once ``smartcar_async.SmartcarClient`` builds and has ``vehicles.signals``."""

    async def probe() -> bool:
        async with _sdk_client("http://127.0.0.1:9") as client:
            return callable(getattr(getattr(client, "vehicles", None), "signals", None))

    try:
        return asyncio.run(probe())
    except Exception:  # the SDK is still being written: any failure means "not yet"
        return False


async def _run_sdk(base: str, requests: int, concurrency: int) -> float:
    async with _sdk_client(base) as client:

        async def one() -> None:
            await client.vehicles.signals(VEHICLE_ID, user_id=USER_ID)

        await _drive(one, concurrency, concurrency)
        return await _drive(one, requests, concurrency)


async def _run_httpx_aiohttp(base: str, requests: int, concurrency: int) -> float:
    from httpx_aiohttp import AiohttpTransport as ThirdPartyTransport

    transport = ThirdPartyTransport(limits=_limits())
    return await _run_httpx_with(transport, base, requests, concurrency)


async def _run_no_io(base: str, requests: int, concurrency: int) -> float:
    import httpx

    from bench.server import SIGNALS_BODY

    headers = [
        (b"content-type", b"application/vnd.api+json"),
        (b"content-length", str(len(SIGNALS_BODY)).encode()),
    ]

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield SIGNALS_BODY

    class NoIO(httpx.AsyncBaseTransport):
        """Answers every request with the signals body, touching no socket."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers=headers, stream=Body())

    return await _run_httpx_with(NoIO(), base, requests, concurrency)


_RUNNERS: dict[str, Callable[[str, int, int], Awaitable[float]]] = {
    "aiohttp": _run_aiohttp,
    "httpx": _run_httpx,
    "httpx+sharded": _run_sharded,
    "httpx+aiohttp": _run_aiohttp_transport,
    "sdk": _run_sdk,
    "httpx+httpx-aiohttp": _run_httpx_aiohttp,
    "httpx+no-io": _run_no_io,
}


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def run_child(client: str, base: str, requests: int, concurrency: int) -> dict[str, Any]:
    """Run one measurement in this process and return it as a dict."""
    elapsed = asyncio.run(_RUNNERS[client](base, requests, concurrency))
    return {
        "client": client,
        "requests": requests,
        "concurrency": concurrency,
        "seconds": elapsed,
        "rps": requests / elapsed,
        "peak_rss_mb": _peak_rss_mb(),
    }


# -------------------------------------------------------------------------- parent side


@contextmanager
def bench_server(latency_ms: float) -> Iterator[str]:
    """Start `bench.server` in its own process; yield its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.server", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=_repo_root(),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server says READY
        if not line.startswith("READY "):
            raise RuntimeError(f"bench server failed to start: {line!r}")
        _, host, port = line.split()
        yield f"http://{host}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _measure(client: str, base: str, requests: int, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "throughput",
            "--child",
            client,
            "--url",
            base,
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        cwd=_repo_root(),
        check=False,
    )
    if out.returncode != 0:
        return {"client": client, "error": out.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@dataclass
class Row:
    """The medians of one client in one scenario."""

    scenario: str
    client: str
    rps: float | None = None
    peak_rss_mb: float | None = None
    requests: int | None = None
    runs: list[float] = field(default_factory=list)
    error: str | None = None


def run(
    clients: list[str], rounds: int, quick: bool, scenarios: list[Scenario] | None = None
) -> list[Row]:
    """Run every scenario, clients interleaved per round; return one row per pair."""
    rows: list[Row] = []
    for scenario in scenarios or SCENARIOS:
        requests = scenario.quick_requests if quick else scenario.requests
        here = [c for c in clients if not (scenario.latency_ms and c in NO_LATENCY_ONLY)]
        samples: dict[str, list[dict[str, Any]]] = {c: [] for c in here}
        with bench_server(scenario.latency_ms) as base:
            for round_no in range(rounds):
                for client in here:
                    cap = REQUEST_CAP.get(client, (requests, requests))[1 if quick else 0]
                    result = _measure(client, base, min(requests, cap), scenario.concurrency)
                    samples[client].append(result)
                    shown = f"{result['rps']:8.0f} req/s" if "rps" in result else result["error"]
                    print(
                        f"[{scenario.name}] round {round_no + 1}/{rounds} {client:14} {shown}",
                        file=sys.stderr,
                        flush=True,
                    )
        for client in here:
            ok = [s for s in samples[client] if "rps" in s]
            row = Row(scenario.name, client, runs=[round(s["rps"], 1) for s in ok])
            if ok:
                row.requests = ok[0]["requests"]
                row.rps = statistics.median(s["rps"] for s in ok)
                row.peak_rss_mb = statistics.median(s["peak_rss_mb"] for s in ok)
            if len(ok) < len(samples[client]):
                bad = [s for s in samples[client] if "rps" not in s]
                row.error = str(bad[0]["error"])
            rows.append(row)
    return rows


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def render(rows: list[Row]) -> str:
    """Render rows as the Markdown table used in docs/performance.md."""
    lines = [
        "| scenario | client | requests | req/s (median) | vs raw aiohttp | vs raw httpx"
        " | peak RSS MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_scenario: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_scenario.setdefault(row.scenario, {})[row.client] = row
    for scenario, group in by_scenario.items():
        aio = group.get("aiohttp")
        raw = group.get("httpx")
        for client, row in group.items():
            rps = f"{row.rps:,.0f}" if row.rps is not None else f"failed: {row.error}"
            rss = f"{row.peak_rss_mb:.0f}" if row.peak_rss_mb is not None else "-"
            lines.append(
                f"| {scenario} | {client} | {row.requests or '-'} | {rps} | "
                f"{_ratio(row.rps, aio.rps if aio else None)} | "
                f"{_ratio(row.rps, raw.rps if raw else None)} | {rss} |"
            )
    return "\n".join(lines)


def machine_facts() -> dict[str, Any]:
    """What the numbers were measured on."""
    import aiohttp
    import httpcore
    import httpx

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        # Other work on the machine skews results; the 1/5/15-minute load averages
        # before and after the run say how busy it was.
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "httpx": httpx.__version__,
        "httpcore": httpcore.__version__,
        "aiohttp": aiohttp.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m bench throughput [--quick] [--rounds N] [--clients a,b] [--json PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m bench throughput", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 round, fewer requests")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5; quick 1)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated")
    parser.add_argument("--scenarios", default=None, help="comma-separated indexes (0,1,2)")
    parser.add_argument("--json", default=None, help="also write rows + facts to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(run_child(args.child, args.url, args.requests, args.concurrency)))
        return 0

    # SIGTERM unwinds like Ctrl-C, so the server process is stopped by bench_server().
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    clients = [c for c in args.clients.split(",") if c]
    unknown = [c for c in clients if c not in CLIENTS]
    if unknown:
        parser.error(f"unknown clients: {unknown}; choose from {list(CLIENTS)}")
    if "sdk" in clients and not sdk_available():
        # Guarded: the SDK row needs smartcar_async.SmartcarClient with `vehicles`.
        print(
            "note: smartcar_async.SmartcarClient not available; skipping the sdk row",
            file=sys.stderr,
        )
        clients.remove("sdk")
    scenarios = SCENARIOS
    if args.scenarios:
        scenarios = [SCENARIOS[int(i)] for i in args.scenarios.split(",")]
    rounds = args.rounds or (1 if args.quick else 5)
    command = "python -m bench throughput " + " ".join(sys.argv[2:] if argv is None else argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows = run(clients, rounds, args.quick, scenarios)
    facts = {"loadavg_before": load_before, **machine_facts()}
    print(render(rows))
    print()
    print(f"command: {command}; rounds: {rounds}; facts: {json.dumps(facts)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "command": command,
                    "rounds": rounds,
                    "facts": facts,
                    "rows": [asdict(r) for r in rows],
                },
                f,
                indent=2,
            )
    return 0

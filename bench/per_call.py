"""One call's CPU cost with no I/O at all: ``python -m bench per_call``.

Both sides send ``GET /v3/vehicles/{id}/signals`` through an `httpx.AsyncClient` whose
transport answers the canned signals body (`bench.server.SIGNALS_BODY`, 38 signals,
20.5 KiB) without touching a socket, so what is timed is the client code alone:

| variant | one call |
| --- | --- |
| ``httpx + json.loads`` | ``client.get(url)`` (bearer, ``sc-user-id``), ``json.loads``: the floor |
| ``sdk`` | ``client.vehicles.signals(vehicle_id, user_id=...)``, same transport |
| ``sdk, json.loads`` | the same, decoding with ``json.loads`` (without the ``fast-json`` extra) |
| ``sdk + read one`` | the same, then ``signals.value(code)`` of one signal: what most callers do |
| ``sdk + read all`` | the same, then every signal of the `Signals` (all models built) |

One process, one task, calls one after another (no concurrency: nothing but CPU);
variants interleaved A B C A B C for several rounds; CPU time (``time.process_time``)
per call, medians. The ratio ``sdk / (httpx + json.loads)`` is the issue's
"one call over a no-I/O transport" measure.

Example:
    $ python -m bench per_call --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bench import _harness as h

__all__ = ["main", "measure", "no_io_transport"]

CALLS = 2000
QUICK_CALLS = 100
ROUNDS = 9
QUICK_ROUNDS = 2
BASE = "http://127.0.0.1:9"
TOKEN_BODY = b'{"access_token":"t","token_type":"Bearer","expires_in":3600}'


def no_io_transport() -> Any:
    """An httpx transport answering the token request and every read from memory."""
    import httpx

    from bench.server import SIGNALS_BODY

    class Body(httpx.AsyncByteStream):
        def __init__(self, content: bytes) -> None:
            self._content = content

        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield self._content

    class NoIOTransport(httpx.AsyncBaseTransport):
        """Answers the token request and every read from memory, touching no socket."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = TOKEN_BODY if request.url.path.endswith("/token") else SIGNALS_BODY
            headers = [
                (b"content-type", b"application/vnd.api+json"),
                (b"content-length", str(len(body)).encode()),
            ]
            return httpx.Response(200, headers=headers, stream=Body(body))

    return NoIOTransport()


async def _variants() -> tuple[dict[str, Callable[[], Awaitable[object]]], list[Any]]:
    import httpx

    import smartcar_async

    url = f"{BASE}/v3/vehicles/{h.VEHICLE_ID}/signals"
    raw = httpx.AsyncClient(
        transport=no_io_transport(),
        headers={"Authorization": "Bearer t", "sc-user-id": h.USER_ID},
    )
    sdk = smartcar_async.SmartcarClient(
        client_id="client_bench",
        client_secret="bench-secret",
        token_url=f"{BASE}/oauth2/token",
        vehicle_api_url=f"{BASE}/v3",
        management_api_url=f"{BASE}/v3",
        transport=no_io_transport(),
    )

    async def floor() -> object:
        response = await raw.get(url)
        return json.loads(response.content)

    async def sdk_call() -> object:
        return await sdk.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)

    from smartcar_async import _json

    fast = _json._fast

    async def sdk_stdlib() -> object:
        # The same call decoding with json.loads, as without the fast-json extra.
        _json._fast = None
        try:
            return await sdk.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)
        finally:
            _json._fast = fast

    async def sdk_one() -> object:
        signals = await sdk.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)
        return signals.value("tractionbattery-stateofcharge")

    async def sdk_all() -> object:
        signals = await sdk.vehicles.signals(h.VEHICLE_ID, user_id=h.USER_ID)
        return list(signals.values())

    variants = {
        "httpx + json.loads": floor,
        "sdk": sdk_call,
        "sdk, json.loads": sdk_stdlib,
        "sdk + read one": sdk_one,
        "sdk + read all": sdk_all,
    }
    return variants, [raw, sdk]


async def measure(calls: int, rounds: int) -> dict[str, list[float]]:
    """CPU µs per call of every variant, one sample per round."""
    variants, clients = await _variants()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for fn in variants.values():  # warm-up: token fetched, code paths taken
            for _ in range(20):
                await fn()
        for _ in range(rounds):
            for name, fn in variants.items():
                started = time.process_time()
                for _ in range(calls):
                    await fn()
                samples[name].append((time.process_time() - started) / calls * 1e6)
    finally:
        for client in clients:
            await client.aclose()
    return samples


def main(argv: list[str] | None = None) -> int:
    """``python -m bench per_call [--quick] [--calls N] [--rounds N] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m bench per_call", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default=h.DEFAULT_OUT)
    args = parser.parse_args(argv)
    calls = args.calls or (QUICK_CALLS if args.quick else CALLS)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    facts = h.machine_facts()
    samples = asyncio.run(measure(calls, rounds))
    floor = statistics.median(samples["httpx + json.loads"])
    rows = []
    for name, values in samples.items():
        median = statistics.median(values)
        rows.append(
            {
                "variant": name,
                "cpu_us_per_call": round(median, 1),
                "vs_floor": round(median / floor, 2),
            }
        )
    table = h.markdown_table(
        ["variant", "CPU µs per call (median)", "vs httpx + json.loads"],
        [[r["variant"], f"{r['cpu_us_per_call']:,.1f}", f"{r['vs_floor']:.2f}x"] for r in rows],
        "lrr",
    )
    print(table)
    met = [
        {
            "target": f"one call over a no-I/O transport: {r['variant']} <= 1.25x "
            "(httpx + json.loads)",
            "value": f"{r['vs_floor']:.2f}x",
            "met": r["vs_floor"] <= 1.25,
        }
        for r in rows
        if r["variant"] in ("sdk", "sdk, json.loads")
    ]
    for t in met:
        print(f"target: {t['target']}: {t['value']} -> {'met' if t['met'] else 'MISSED'}")
    h.write_results(
        args.out,
        "per_call",
        args.quick,
        {
            "scenario": "per_call",
            "command": h.command_line("per_call", sys.argv[2:] if argv is None else argv),
            "calls": calls,
            "rounds": rounds,
            "facts": facts,
            "loadavg_after": h.machine_facts()["loadavg"],
            "rows": rows,
            "targets": met,
            "table": table,
            "samples": samples,
        },
    )
    return 0

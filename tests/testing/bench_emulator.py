"""Requests per second through the emulator's ways in (not collected by pytest).

Run: ``.venv/bin/python tests/testing/bench_emulator.py [--backend trio] [--socket]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable

import anyio
import httpx

from smartcar_async.testing import FleetEntry, SmartcarEmulator
from smartcar_async.testing._http import EmuRequest


async def rate(n: int, call: Callable[[int], Awaitable[object]], concurrency: int = 1) -> float:
    """Requests per second for ``n`` calls, ``concurrency`` at a time."""
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(i: int) -> None:
        async with limiter:
            await call(i)

    started = time.perf_counter()
    if concurrency == 1:
        for i in range(n):
            await call(i)
    else:
        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
    return n / (time.perf_counter() - started)


async def main(socket: bool) -> None:
    emulator = SmartcarEmulator(vehicles=1000, seed=1)
    token = emulator.issue_token()
    fleet: list[FleetEntry] = emulator.fleet()
    car = fleet[0]
    request = EmuRequest(
        "GET",
        f"/v3/vehicles/{car.vehicle_id}/signals",
        "",
        {"authorization": f"Bearer {token}", "sc-user-id": car.user_id},
        b"",
        "vehicle.api.emulator.invalid",
    )
    handle = emulator._core.handle  # the state machine alone, without any way in
    await handle(request)
    core = await rate(50_000, lambda i: handle(request))
    print(f"handle() GET signals            {core:10.0f} req/s")

    async def through(http: httpx.AsyncClient, base: str, label: str) -> None:
        calls: dict[str, Callable[[int], Awaitable[httpx.Response]]] = {
            "GET vehicle": lambda i: http.get(f"{base}/vehicles/{fleet[i % 1000].vehicle_id}"),
            "GET signals": lambda i: http.get(
                f"{base}/vehicles/{fleet[i % 1000].vehicle_id}/signals",
                headers={"sc-user-id": fleet[i % 1000].user_id},
            ),
            "POST lock": lambda i: http.post(
                f"{base}/vehicles/{fleet[i % 1000].vehicle_id}/commands/security/lock",
                headers={"sc-user-id": fleet[i % 1000].user_id},
            ),
        }
        for name, call in calls.items():
            await rate(1000, call)  # warm the per-vehicle JSON caches
            sequential = await rate(3000, call)
            concurrent = await rate(3000, call, concurrency=100)
            print(
                f"{label} {name:12} {sequential:8.0f} req/s sequential, "
                f"{concurrent:6.0f} req/s at 100 concurrent"
            )

    auth = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=emulator.transport(), headers=auth) as http:
        await through(http, emulator.client_kwargs()["vehicle_api_url"], "transport")
    if socket:
        async with emulator.serve() as base_url, httpx.AsyncClient(headers=auth) as http:
            await through(
                http, emulator.client_kwargs(base_url=base_url)["vehicle_api_url"], "socket   "
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--socket", action="store_true", help="also measure serve()")
    args = parser.parse_args()
    anyio.run(main, args.socket, backend=args.backend)

"""One worker process of the Redis token-store tests (run by ``redis_support.Worker``).

Modes:
    calls: build a client with a `RedisTokenStore` (or, with ``--store memory``, the
        default store, for comparison), print ``ready``, wait for a line on stdin, make
        ``--calls`` concurrent ``GET /vehicles/{id}`` calls, print a JSON report.
    hold: take the refresh lock through the store with a token request that never ends,
        print ``holding``, and wait to be killed.

Credentials come from ``SMARTCAR_CLIENT_ID`` / ``SMARTCAR_CLIENT_SECRET``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from smartcar_async import AccessToken, SmartcarClient, SystemClock
from smartcar_async.contrib.redis import RedisTokenStore


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def calls(args: argparse.Namespace, cache: aioredis.Redis) -> dict[str, Any]:
    # A generous Redis timeout: in CI eight of these share two CPUs, and a late answer
    # would (correctly) send this process down the local fallback.
    store = RedisTokenStore(cache, lock_lease=args.lease, wait_timeout=args.wait, timeout=5.0)
    base = args.base_url
    async with SmartcarClient(
        token_url=f"{base}/oauth2/token",
        vehicle_api_url=f"{base}/v3",
        management_api_url=f"{base}/management/v3",
        token_store=store if args.store == "redis" else None,
    ) as client:
        print("ready", flush=True)
        await _stdin_line()
        path = f"/vehicles/{args.vehicle_id}"

        async def one() -> int:
            response, _ = await client.request("GET", "vehicle", path)
            return response.status_code

        async def token_wait() -> float:
            # Queues with the calls on the client's token lock: how long this process
            # waited for its first token (its own fetch, or the one shared through Redis).
            await client.tokens.get()
            return time.perf_counter() - started

        started = time.perf_counter()
        waited, *outcomes = await asyncio.gather(
            token_wait(), *(one() for _ in range(args.calls)), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
        return {
            "token_wait": waited,
            "ok": sum(1 for outcome in outcomes if outcome == 200),
            "errors": sorted({repr(o)[:200] for o in outcomes if isinstance(o, BaseException)}),
            "token_requests": client.tokens.requests_sent,
            "elapsed": elapsed,
        }


async def hold(args: argparse.Namespace, cache: aioredis.Redis) -> dict[str, Any]:
    store = RedisTokenStore(cache, lock_lease=args.lease, wait_timeout=args.wait)
    store.bind(
        client_id=os.environ["SMARTCAR_CLIENT_ID"],
        token_url=f"{args.base_url}/oauth2/token",
        clock=SystemClock(),
    )

    async def stalled_fetch() -> AccessToken:
        # Called only once the store holds the lock: tell the test, then hang.
        print("holding", flush=True)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    await store.refresh(stalled_fetch, stale=None)
    return {}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["calls", "hold"])
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--vehicle-id", default="")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--wait", type=float, default=15.0)
    parser.add_argument("--store", choices=["redis", "memory"], default="redis")
    args = parser.parse_args()
    records = _Records()
    logging.getLogger("smartcar_async").addHandler(records)
    cache = aioredis.Redis(
        host="127.0.0.1",
        port=args.redis_port,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        retry=Retry(NoBackoff(), 1),
    )
    try:
        report = await (calls if args.mode == "calls" else hold)(args, cache)
    finally:
        await cache.aclose()
    report["warnings"] = records.messages
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

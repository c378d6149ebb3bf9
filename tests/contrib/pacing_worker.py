"""One worker process of the shared rate-limiter test (run by ``redis_support.Worker``).

Builds a client paced by a `RedisRateLimiter`, prints ``ready``, waits for a line on
stdin, sends ``--calls`` concurrent ``GET /vehicles/{id}`` calls, prints a JSON report.
Credentials come from ``SMARTCAR_CLIENT_ID`` / ``SMARTCAR_CLIENT_SECRET``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import redis.asyncio as aioredis

from smartcar_async import RetryPolicy, SmartcarClient
from smartcar_async.contrib.redis import RedisRateLimiter


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--vehicle-id", required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--capacity", type=int, required=True)
    parser.add_argument("--per-minute", type=float, required=True)
    args = parser.parse_args()
    cache = aioredis.Redis(host="127.0.0.1", port=args.redis_port, socket_timeout=5.0)
    limiter = RedisRateLimiter(
        cache, capacity=args.capacity, refill_per_minute=args.per_minute, timeout=5.0
    )
    base = args.base_url
    report: dict[str, Any]
    try:
        async with SmartcarClient(
            token_url=f"{base}/oauth2/token",
            vehicle_api_url=f"{base}/v3",
            management_api_url=f"{base}/management/v3",
            rate_limit=limiter,
            # A 429 must show in the report, not be retried away.
            retry=RetryPolicy(max_retries=0),
        ) as client:
            await client.tokens.get()
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

            async def one() -> int:
                response, _ = await client.request("GET", "vehicle", f"/vehicles/{args.vehicle_id}")
                return response.status_code

            outcomes = await asyncio.gather(
                *(one() for _ in range(args.calls)), return_exceptions=True
            )
            report = {
                "ok": sum(1 for outcome in outcomes if outcome == 200),
                "errors": sorted({repr(o)[:200] for o in outcomes if isinstance(o, BaseException)}),
                "waited": limiter.waited,
            }
    finally:
        await cache.aclose()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Hardening, `RedisTokenStore` (issue 15, item 2): whatever fails during a shared
refresh, the Redis lease is released at once, so the other processes do not wait for it
to expire.

asyncio only: ``redis.asyncio`` does not run under trio (the store refuses trio, tested
in ``tests/contrib/test_redis.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from reliability_support import TIMEOUT

from smartcar_async import AccessToken, SmartcarClient, TokenError

sys.path.insert(0, str(Path(__file__).parent.parent / "contrib"))
from redis_support import cache, redis_server

redis_store = pytest.importorskip("smartcar_async.contrib.redis")

__all__ = ["cache", "redis_server"]  # the fixtures this module uses, shared with tests/contrib

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

TOKEN_URL = "https://iam.example.test/oauth2/token"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_an_absurd_expires_in_releases_the_lease_for_every_process(cache: object) -> None:
    requests = 0

    async def endpoint(request: httpx.Request) -> httpx.Response:
        nonlocal requests
        requests += 1
        body = {"access_token": "tok", "expires_in": int("9" * 400)}
        return httpx.Response(200, content=json.dumps(body).encode())

    errors: list[BaseException] = []

    async def process() -> None:
        # Its own store and client: one "process" sharing the Redis entry.
        store = redis_store.RedisTokenStore(cache, lock_lease=20.0, wait_timeout=25.0)
        http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint))
        client = SmartcarClient(
            client_id="client_hardening",
            client_secret="s",
            token_url=TOKEN_URL,
            http_client=http,
            token_store=store,
        )
        try:
            await client.tokens.get()
        except TokenError as exc:
            errors.append(exc)

    # Before the fix the first process's publish raised and kept the 20 s lease: the
    # other two waited it out. Now each fails in well under the bound.
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(process)
    assert len(errors) == 3
    assert requests == 3
    store = redis_store.RedisTokenStore(cache)
    store.bind(client_id="client_hardening", token_url=TOKEN_URL, clock=_clock())
    assert await cache.exists(store.lock_key) == 0  # type: ignore[attr-defined]


async def test_a_failing_publish_releases_the_lease(cache: object) -> None:
    store = redis_store.RedisTokenStore(cache, lock_lease=20.0, wait_timeout=25.0)
    store.bind(client_id="client_hardening", token_url=TOKEN_URL, clock=_clock())

    async def fetch() -> AccessToken:
        # A token no TokenManager would build: publishing it fails (infinite expiry).
        return AccessToken(value="tok", expires_at=float("inf"), lifetime=float("inf"))

    with anyio.fail_after(TIMEOUT), pytest.raises(OverflowError):
        await store.refresh(fetch, stale=None)
    assert await cache.exists(store.lock_key) == 0  # type: ignore[attr-defined]


def _clock() -> object:
    from smartcar_async import SystemClock

    return SystemClock()

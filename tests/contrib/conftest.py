"""Fixtures for the contrib tests: a real redis-server on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis_support import RedisServer, redis_server_binary


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server; skipped without the binary unless CI requires it."""
    server = RedisServer(redis_server_binary(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def cache(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """An asyncio Redis client on `redis_server`, closed after the test."""
    client = redis_server.client()
    try:
        yield client
    finally:
        await client.aclose()

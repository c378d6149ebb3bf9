"""Fixtures for the contrib tests: a real redis-server on a free loopback port."""

from __future__ import annotations

from redis_support import cache, redis_server

__all__ = ["cache", "redis_server"]

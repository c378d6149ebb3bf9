"""Integrations with services outside the SDK, each behind its own extra.

- `smartcar_async.contrib.redis`: `RedisTokenStore`, one application token shared by
  every process and host, and `RedisRateLimiter`, one request bucket paced for all of
  them (``pip install 'smartcar-async[redis]'``).

Nothing is imported here, so ``import smartcar_async.contrib`` never needs an extra.
"""

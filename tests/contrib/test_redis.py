"""`RedisTokenStore` against a real redis-server: one token for many processes.

The acceptance tests run worker processes (``redis_worker.py``) against the emulator
served on loopback; the unit tests drive the store and its Lua scripts directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
import redis
import redis.asyncio as aioredis
import trio
from redis_support import RedisServer, Worker, assert_secret_absent, redis_contents

from smartcar_async import (
    AccessToken,
    ConfigurationError,
    SmartcarClient,
    SystemClock,
    TokenError,
)
from smartcar_async.contrib.redis import RedisTokenStore
from smartcar_async.testing import SmartcarEmulator, VirtualClock

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

LOGGER = "smartcar_async"


@pytest.fixture
def anyio_backend() -> str:
    # redis.asyncio runs only on asyncio, so unlike the rest of the suite these tests do
    # not run on trio; that the store refuses trio clearly is tested below.
    return "asyncio"


@pytest.fixture
def emulator() -> SmartcarEmulator:
    """An emulator on the real clock: worker processes live in real time."""
    return SmartcarEmulator(vehicles=1, seed=10)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING
    ]


def infos_of(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.INFO and text in r.getMessage()
    ]


@asynccontextmanager
async def shared_client(
    emulator: SmartcarEmulator, server: RedisServer, **store_options: float
) -> AsyncIterator[tuple[SmartcarClient, RedisTokenStore]]:
    """An in-process client with its own Redis connection and store (a "process")."""
    cache = server.client()
    store = RedisTokenStore(cache, **store_options)  # type: ignore[arg-type]
    try:
        async with SmartcarClient(
            **emulator.client_kwargs(), token_store=store, clock=emulator.clock
        ) as client:
            yield client, store
    finally:
        await cache.aclose()


async def batch(client: SmartcarClient, vehicle_id: str, calls: int) -> int:
    """Make ``calls`` concurrent vehicle reads; return how many succeeded."""
    ok = 0

    async def one() -> None:
        nonlocal ok
        response, _ = await client.request("GET", "vehicle", f"/vehicles/{vehicle_id}")
        ok += response.status_code == 200

    async with anyio.create_task_group() as tg:
        for _ in range(calls):
            tg.start_soon(one)
    return ok


def bound_store(
    cache: aioredis.Redis, *, clock: object = None, **options: object
) -> RedisTokenStore:
    store = RedisTokenStore(cache, **options)  # type: ignore[arg-type]
    store.bind(
        client_id="client_unit",
        token_url="http://127.0.0.1:1/oauth2/token",
        clock=clock if clock is not None else SystemClock(),  # type: ignore[arg-type]
    )
    return store


def fetcher(value: str, lifetime: float = 3600.0) -> Callable[[], Awaitable[AccessToken]]:
    async def fetch() -> AccessToken:
        return AccessToken(value=value, expires_at=time.monotonic() + lifetime, lifetime=lifetime)

    return fetch


def worker_args(mode: str, server: RedisServer, base_url: str, *extra: str) -> list[str]:
    return [mode, "--redis-port", str(server.port), "--base-url", base_url, *extra]


# -- acceptance ----------------------------------------------------------------------------


async def test_eight_processes_of_500_calls_send_one_token_request(
    redis_server: RedisServer,
    cache: aioredis.Redis,
    emulator: SmartcarEmulator,
    tmp_path: Path,
) -> None:
    car = emulator.fleet()[0]
    workers: list[Worker] = []
    try:
        async with emulator.serve() as base_url:
            with anyio.fail_after(180):
                calls = ["--vehicle-id", car.vehicle_id, "--calls", "500"]
                args = worker_args("calls", redis_server, base_url, *calls)
                for index in range(8):
                    workers.append(
                        await Worker.start(
                            args,
                            secret=emulator.client_secret,
                            client_id=emulator.client_id,
                            stderr=tmp_path / f"worker{index}.err",
                        )
                    )
                for worker in workers:
                    await worker.expect("ready")
                # Cold: no process has a token; all start together.
                started = time.perf_counter()
                for worker in workers:
                    await worker.send("go")
                reports = [await worker.result() for worker in workers]
                wall = time.perf_counter() - started
    finally:
        for worker in workers:
            await worker.close()
    assert [report["errors"] for report in reports] == [[]] * 8
    assert [report["ok"] for report in reports] == [500] * 8
    assert emulator.stats.token_requests == 1
    assert sum(report["token_requests"] for report in reports) == 1
    assert emulator.stats.requests["GET /vehicles/{id}"] == 4000
    assert [report["warnings"] for report in reports] == [[]] * 8
    assert_secret_absent(await redis_contents(cache), emulator.client_secret)
    slowest = max(report["elapsed"] for report in reports)
    token_waits = sorted(report["token_wait"] for report in reports)
    print(
        f"\n[redis token store] 8 processes x 500 concurrent calls, cold: "
        f"token requests={emulator.stats.token_requests}, API calls=4000, "
        f"wall={wall:.2f} s (slowest process {slowest:.2f} s), "
        f"first token in every process after {token_waits[0] * 1000:.0f}-"
        f"{token_waits[-1] * 1000:.0f} ms"
    )


async def test_a_refresher_killed_holding_the_lock_is_taken_over_after_its_lease(
    redis_server: RedisServer,
    cache: aioredis.Redis,
    emulator: SmartcarEmulator,
    tmp_path: Path,
) -> None:
    car = emulator.fleet()[0]
    lease = 3.0
    workers: list[Worker] = []
    holder: Worker | None = None
    try:
        async with emulator.serve() as base_url:
            probe = RedisTokenStore(cache)
            probe.bind(
                client_id=emulator.client_id,
                token_url=f"{base_url}/oauth2/token",
                clock=SystemClock(),
            )
            with anyio.fail_after(60):
                # The workers start first: starting a Python process can take longer than
                # the lease on a loaded machine, and the lease must not run out before the
                # holder is killed. They touch neither Redis nor the token until "go".
                calls = ["--vehicle-id", car.vehicle_id, "--calls", "50"]
                args = worker_args("calls", redis_server, base_url, *calls)
                for index in range(3):
                    workers.append(
                        await Worker.start(
                            args,
                            secret=emulator.client_secret,
                            client_id=emulator.client_id,
                            stderr=tmp_path / f"worker{index}.err",
                        )
                    )
                for worker in workers:
                    await worker.expect("ready")
                holder = await Worker.start(
                    worker_args("hold", redis_server, base_url, "--lease", str(lease)),
                    secret=emulator.client_secret,
                    client_id=emulator.client_id,
                    stderr=tmp_path / "holder.err",
                )
                await holder.expect("holding")
                owner = await cache.get(probe.lock_key)
                assert owner is not None
                assert 0 < await cache.pttl(probe.lock_key) <= lease * 1000
                assert_secret_absent(await redis_contents(cache), emulator.client_secret)
                # SIGKILL mid-refresh: the lock stays in Redis until its lease ends.
                await holder.kill()
                killed = time.perf_counter()
                assert await cache.get(probe.lock_key) == owner
                for worker in workers:
                    await worker.send("go")
                reports = [await worker.result() for worker in workers]
                took = time.perf_counter() - killed
    finally:
        for worker in [*workers, *([holder] if holder else [])]:
            await worker.close()
    assert [report["ok"] for report in reports] == [50] * 3
    assert emulator.stats.token_requests == 1  # the dead holder never sent its request
    # No worker gave up waiting (that logs a warning): one took the lock over.
    assert [report["warnings"] for report in reports] == [[]] * 3
    assert took < lease + 5.0
    assert await cache.exists(probe.lock_key) == 0
    assert await cache.exists(probe.token_key) == 1


async def test_redis_stopped_mid_run_falls_back_with_one_warning_and_resumes(
    redis_server: RedisServer, emulator: SmartcarEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    car = emulator.fleet()[0]
    options = {"timeout": 0.5, "retry_interval": 0.0}
    async with (
        shared_client(emulator, redis_server, **options) as (a, store),
        shared_client(emulator, redis_server, **options) as (b, _),
    ):
        with anyio.fail_after(60):
            assert await batch(a, car.vehicle_id, 20) == 20
            assert await batch(b, car.vehicle_id, 20) == 20
            assert emulator.stats.token_requests == 1

            # Redis goes away with calls in flight; then tokens are refused twice, so
            # the process must refresh twice without Redis.
            done: list[int] = []

            async def run() -> None:
                done.append(await batch(a, car.vehicle_id, 200))

            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await anyio.to_thread.run_sync(redis_server.stop)
            assert done == [200]
            for _ in range(2):
                emulator.revoke_tokens()
                assert await batch(a, car.vehicle_id, 50) == 50
            assert emulator.stats.token_requests == 3
            assert len(warnings_of(caplog)) == 1
            assert "unavailable" in warnings_of(caplog)[0]

            # Back on the same port: a refreshes through Redis, b adopts its token.
            await anyio.to_thread.run_sync(redis_server.start)
            emulator.revoke_tokens()
            assert await batch(a, car.vehicle_id, 50) == 50
            assert await batch(b, car.vehicle_id, 50) == 50
            assert emulator.stats.token_requests == 4
    assert len(warnings_of(caplog)) == 1
    assert len(infos_of(caplog, "reachable again")) == 1
    probe = redis_server.client()
    try:
        assert await probe.exists(store.token_key) == 1
    finally:
        await probe.aclose()


async def test_no_key_or_value_in_redis_holds_the_secret(
    redis_server: RedisServer, cache: aioredis.Redis, emulator: SmartcarEmulator
) -> None:
    car = emulator.fleet()[0]
    async with shared_client(emulator, redis_server) as (client, store):
        with anyio.fail_after(20):
            assert await batch(client, car.vehicle_id, 10) == 10
            emulator.revoke_tokens()
            assert await batch(client, car.vehicle_id, 10) == 10
            # And while a refresh holds the lock.
            held = anyio.Event()

            async def stalled() -> AccessToken:
                held.set()
                await anyio.sleep_forever()
                raise AssertionError("unreachable")

            current = await store.load()
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: store.refresh(stalled, stale=current))
                await held.wait()
                contents = await redis_contents(cache)
                tg.cancel_scope.cancel()
    assert {store.token_key.encode(), store.lock_key.encode()} <= set(contents)
    assert_secret_absent(contents, emulator.client_secret, emulator.client_id)
    # A cancelled refresh frees the lock at once instead of at the end of its lease.
    assert await cache.exists(store.lock_key) == 0
    assert set(await cache.hkeys(store.token_key)) == {b"v", b"exp", b"lifetime"}


# -- the lock ------------------------------------------------------------------------------


async def test_the_lock_is_released_only_by_its_owner(cache: aioredis.Redis) -> None:
    store = bound_store(cache)
    await cache.set(store.lock_key, "owner-a", px=10_000)
    assert await store._release(keys=[store.lock_key], args=["owner-b"]) == 0
    assert await cache.get(store.lock_key) == b"owner-a"
    assert await store._release(keys=[store.lock_key], args=["owner-a"]) == 1
    assert await cache.exists(store.lock_key) == 0


async def test_the_lock_has_a_lease_and_a_random_owner(cache: aioredis.Redis) -> None:
    store = bound_store(cache, lock_lease=2.5, wait_timeout=5.0)
    seen: list[tuple[bytes | None, int]] = []

    async def fetch() -> AccessToken:
        seen.append((await cache.get(store.lock_key), await cache.pttl(store.lock_key)))
        return await fetcher("tok-1")()

    token = await store.refresh(fetch, stale=None)
    [(owner, ttl)] = seen
    assert owner is not None
    assert len(owner) == 32
    assert 0 < ttl <= 2500
    assert token.value == "tok-1"
    assert await cache.exists(store.lock_key) == 0  # released with the publish


async def test_a_holder_past_its_lease_does_not_free_its_successors_lock(
    cache: aioredis.Redis,
) -> None:
    store = bound_store(cache)

    async def slow_fetch() -> AccessToken:
        # Meanwhile the lease ran out and another process took the lock.
        await cache.set(store.lock_key, "successor", px=10_000)
        return await fetcher("tok-late")()

    await store.refresh(slow_fetch, stale=None)
    assert await cache.get(store.lock_key) == b"successor"
    assert await cache.hget(store.token_key, "v") == b"tok-late"


async def test_a_failed_token_request_frees_the_lock_at_once(cache: aioredis.Redis) -> None:
    store = bound_store(cache)

    async def refused() -> AccessToken:
        assert await cache.exists(store.lock_key) == 1
        raise TokenError("token endpoint answered 401: invalid_client")

    with pytest.raises(TokenError):
        await store.refresh(refused, stale=None)
    assert await cache.exists(store.lock_key) == 0
    assert await cache.exists(store.token_key) == 0


async def test_a_waiter_adopts_the_holders_token(cache: aioredis.Redis) -> None:
    holder, waiter = bound_store(cache), bound_store(cache)
    fetched = anyio.Event()
    release = anyio.Event()
    calls: list[str] = []

    async def holder_fetch() -> AccessToken:
        fetched.set()
        await release.wait()
        calls.append("holder")
        return await fetcher("tok-shared")()

    async def waiter_fetch() -> AccessToken:
        calls.append("waiter")
        raise AssertionError("the waiter must not fetch")

    results: dict[str, AccessToken] = {}

    async def refresh(
        name: str, store: RedisTokenStore, fetch: Callable[[], Awaitable[AccessToken]]
    ) -> None:
        results[name] = await store.refresh(fetch, stale=None)

    async def claims() -> int:
        stats = await cache.info("commandstats")
        return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(refresh, "holder", holder, holder_fetch)
            await fetched.wait()
            seen = await claims()
            tg.start_soon(refresh, "waiter", waiter, waiter_fetch)
            # Let the holder finish only once the waiter has found the lock taken.
            while await claims() < seen + 1:
                pass
            release.set()
    assert calls == ["holder"]
    assert results["waiter"].value == results["holder"].value == "tok-shared"


# -- compare-and-invalidate ----------------------------------------------------------------


async def test_invalidate_deletes_the_shared_token_only_if_it_is_still_the_refused_one(
    cache: aioredis.Redis,
) -> None:
    a, b, c = bound_store(cache), bound_store(cache), bound_store(cache)
    t1 = await a.refresh(fetcher("tok-1"), stale=None)
    await b.invalidate(AccessToken("tok-other", time.monotonic() + 60, 3600))
    assert await cache.hget(a.token_key, "v") == b"tok-1"
    await b.invalidate(t1)
    assert await cache.exists(a.token_key) == 0

    t2 = await a.refresh(fetcher("tok-2"), stale=t1)
    await c.invalidate(t1)  # a late 401 for the old token, in a third process
    assert await cache.hget(a.token_key, "v") == b"tok-2"
    loaded = await c.load()
    assert loaded is not None
    assert loaded.value == t2.value == "tok-2"


async def test_a_refused_token_is_never_adopted_again(cache: aioredis.Redis) -> None:
    a, b = bound_store(cache), bound_store(cache)
    t1 = await a.refresh(fetcher("tok-1"), stale=None)
    await b.invalidate(t1)
    # Someone writes the refused token back (a slow peer); b must not take it.
    await a._publish(t1, "nobody")
    assert await b.load() is None
    t2 = await b.refresh(fetcher("tok-2"), stale=None)
    assert t2.value == "tok-2"


# -- clocks ----------------------------------------------------------------------------------


async def test_expiry_is_absolute_in_redis_and_on_each_managers_clock(
    cache: aioredis.Redis,
) -> None:
    clock_a, clock_b = VirtualClock(start=1000.0), VirtualClock(start=7.0)
    writer = bound_store(cache, clock=clock_a, wall_clock=lambda: 1_700_000_000.0)
    reader = bound_store(cache, clock=clock_b, wall_clock=lambda: 1_700_000_100.0)

    async def fetch() -> AccessToken:
        return AccessToken("tok-abs", expires_at=clock_a.now() + 3600, lifetime=3600)

    await writer.refresh(fetch, stale=None)
    assert await cache.hget(writer.token_key, "exp") == b"1700003600.000"
    assert 0 < await cache.pttl(writer.token_key) <= 3_600_000
    token = await reader.load()
    assert token is not None
    assert token.expires_at == pytest.approx(7.0 + 3500)
    assert await reader.load() is token  # the same object: the manager compares by equality


async def test_near_expiry_one_process_refreshes_and_the_other_adopts(
    redis_server: RedisServer,
) -> None:
    clock = VirtualClock()
    emulator = SmartcarEmulator(vehicles=1, seed=11, clock=clock)
    car = emulator.fleet()[0]
    wall = {"wall_clock": lambda: 1_800_000_000.0 + clock.now()}
    async with (
        shared_client(emulator, redis_server, **wall) as (a, _),  # type: ignore[arg-type]
        shared_client(emulator, redis_server, **wall) as (b, _),  # type: ignore[arg-type]
    ):
        with anyio.fail_after(20):
            assert await batch(a, car.vehicle_id, 5) + await batch(b, car.vehicle_id, 5) == 10
            first = a.tokens._token
            assert emulator.stats.token_requests == 1
            clock.advance(3600 - 200)  # inside the advisory window (300 s)
            assert await batch(a, car.vehicle_id, 5) == 5
            assert emulator.stats.token_requests == 2
            assert await batch(b, car.vehicle_id, 5) == 5
            assert emulator.stats.token_requests == 2  # b took a's new token
            assert a.tokens._token == b.tokens._token != first
            clock.advance(300)  # the first token has expired
            assert await batch(b, car.vehicle_id, 5) == 5
            assert emulator.stats.token_requests == 2


async def test_the_hot_path_never_touches_redis(
    redis_server: RedisServer, cache: aioredis.Redis, emulator: SmartcarEmulator
) -> None:
    car = emulator.fleet()[0]
    async with shared_client(emulator, redis_server) as (client, _):
        assert await batch(client, car.vehicle_id, 5) == 5
        before = await cache.info("commandstats")
        assert await batch(client, car.vehicle_id, 200) == 200
        after = await cache.info("commandstats")
    # Only the INFO itself ran in between.
    assert {k: v for k, v in after.items() if k != "cmdstat_info"} == {
        k: v for k, v in before.items() if k != "cmdstat_info"
    }


# -- failures -------------------------------------------------------------------------------


async def test_a_frozen_redis_times_out_and_the_call_still_succeeds(
    redis_server: RedisServer, emulator: SmartcarEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    car = emulator.fleet()[0]
    async with shared_client(emulator, redis_server, timeout=0.3, retry_interval=0.0) as (
        client,
        store,
    ):
        redis_server.pause()  # SIGSTOP: connections open, no answers
        try:
            with anyio.fail_after(10):
                assert await batch(client, car.vehicle_id, 20) == 20
        finally:
            redis_server.resume()
        assert emulator.stats.token_requests == 1
        [warning] = warnings_of(caplog)
        assert "no answer within 0.3 s" in warning
        with anyio.fail_after(10):
            emulator.revoke_tokens()
            assert await batch(client, car.vehicle_id, 20) == 20
        assert emulator.stats.token_requests == 2
        assert len(infos_of(caplog, "reachable again")) == 1
        probe = redis_server.client()
        try:
            assert await probe.exists(store.token_key) == 1
        finally:
            await probe.aclose()


async def test_a_claim_its_caller_gave_up_on_takes_no_lock(
    redis_server: RedisServer, cache: aioredis.Redis
) -> None:
    # A claim that times out is still on Redis's socket. Run later, it must not take the
    # lock for a caller that has fetched its own token meanwhile: every other process
    # would wait out the lease for a token nobody will publish.
    own = redis_server.client(socket_timeout=5)
    store = bound_store(own, timeout=0.3, retry_interval=0.0)
    try:
        first = await store.refresh(fetcher("tok-1"), stale=None)
        redis_server.pause()
        try:
            second = await store.refresh(fetcher("tok-2"), stale=first)
        finally:
            redis_server.resume()
        assert second.value == "tok-2"  # fetched here, Redis being frozen
        # The abandoned claim runs now, before this read.
        assert await cache.get(store.lock_key) is None
    finally:
        await own.aclose()


async def test_many_stores_in_one_process_cold_send_one_token_request(
    redis_server: RedisServer, emulator: SmartcarEmulator
) -> None:
    car = emulator.fleet()[0]
    counts: list[int] = []

    async def process() -> None:
        async with shared_client(emulator, redis_server) as (client, _):
            counts.append(await batch(client, car.vehicle_id, 20))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(process)
    assert counts == [20] * 10
    assert emulator.stats.token_requests == 1


# -- configuration --------------------------------------------------------------------------


def test_trio_is_refused_with_a_clear_error() -> None:
    cache = aioredis.Redis(port=1)

    async def build_under_trio() -> None:
        RedisTokenStore(cache)

    with pytest.raises(ConfigurationError, match="only under asyncio"):
        trio.run(build_under_trio)

    store = RedisTokenStore(cache)  # built outside any event loop: fine

    async def use_under_trio() -> None:
        SmartcarClient(client_id="client_x", client_secret="s", token_store=store)

    with pytest.raises(ConfigurationError, match="trio"):
        trio.run(use_under_trio)


def test_the_synchronous_client_is_refused() -> None:
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        RedisTokenStore(redis.Redis(port=1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"lock_lease": 0},
        {"wait_timeout": -1},
        {"timeout": float("nan")},
        {"retry_interval": -1},
        {"lock_lease": 10, "wait_timeout": 10},
        {"key_prefix": ""},
    ],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RedisTokenStore(aioredis.Redis(port=1), **options)  # type: ignore[arg-type]


async def test_an_unbound_store_says_how_to_use_it() -> None:
    store = RedisTokenStore(aioredis.Redis(port=1))
    with pytest.raises(ConfigurationError, match="token_store="):
        await store.load()


def test_one_store_serves_one_application() -> None:
    store = RedisTokenStore(aioredis.Redis(port=1))
    SmartcarClient(client_id="client_a", client_secret="s", token_store=store)
    SmartcarClient(client_id="client_a", client_secret="s", token_store=store)  # same app
    key = store.token_key
    assert key.startswith("smartcar-async:{")
    assert key.endswith("}:token")
    assert "client_a" not in key
    with pytest.raises(ConfigurationError, match="another client id"):
        SmartcarClient(client_id="client_b", client_secret="s", token_store=store)
    with pytest.raises(ConfigurationError, match="another clock"):
        SmartcarClient(
            client_id="client_a", client_secret="s", token_store=store, clock=VirtualClock()
        )

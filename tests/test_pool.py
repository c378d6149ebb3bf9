"""Pool sizing that follows the work: a fan-out asking for more concurrency than the
pool has grows the SDK's own pool, or warns once with the setting to change.
"""

from __future__ import annotations

import warnings

import anyio
import anyio.lowlevel
import httpx
import pytest
from _helpers import TIMEOUT, FakeSmartcar, make_client

from smartcar_async import SmartcarClient
from smartcar_async import _pool as pool_module
from smartcar_async._aiohttp_transport import AiohttpTransport
from smartcar_async._transport import ShardedTransport


def _sdk_pool(client: SmartcarClient) -> ShardedTransport:
    transport = client._shared.pool.transport
    assert isinstance(transport, ShardedTransport)
    return transport


def _default_client() -> SmartcarClient:
    return SmartcarClient(client_id="client_x", client_secret="s")


async def _nothing(target: int) -> int:
    return target


def test_a_larger_fan_out_grows_the_sdks_own_pool_without_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool_module, "_fd_budget", lambda: 100_000)
    client = _default_client()
    assert _sdk_pool(client).max_connections == 512
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.fan_out(range(3), _nothing, concurrency=100)
        assert _sdk_pool(client).max_connections == 512  # never shrinks below the default
        client.fan_out(range(3), _nothing, concurrency=2000)
        # Derived clients share the pool, and so its growth.
        client.with_options().fan_out(range(3), _nothing, concurrency=1500)
    assert _sdk_pool(client).max_connections == 2000


def test_growth_stops_at_the_open_file_limit_and_says_which_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pool_module, "_fd_budget", lambda: 1000)
    client = _default_client()
    with pytest.warns(RuntimeWarning, match=r"pool of 1000 connections.*ulimit -n 2256"):
        client.fan_out(range(3), _nothing, concurrency=2000)
    assert _sdk_pool(client).max_connections == 1000


def test_a_pool_the_user_sized_is_kept_and_warns_once() -> None:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    client = SmartcarClient(client_id="client_x", client_secret="s", limits=limits)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        client.fan_out(range(3), _nothing, concurrency=200)
        client.fan_out(range(3), _nothing, concurrency=300)
    assert [str(w.message) for w in record if w.category is RuntimeWarning] == [
        "fan_out(concurrency=200) on a pool of 64 connections: at most 64 calls run at "
        "once, the rest wait for a connection; build the client with "
        "limits=httpx.Limits(max_connections=200, max_keepalive_connections=200) (or the "
        "transport you pass with those limits)"
    ]
    assert _sdk_pool(client).max_connections == 64


def test_a_transport_the_user_passed_is_kept_and_warns() -> None:
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=10))
    client = SmartcarClient(client_id="client_x", client_secret="s", transport=transport)
    with pytest.warns(RuntimeWarning, match=r"pool of 10 connections"):
        client.fan_out(range(3), _nothing, concurrency=11)
    assert transport.max_connections == 10


def test_a_users_http_client_and_unknown_transports_are_left_alone() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mine = SmartcarClient(client_id="c", client_secret="s", http_client=httpx.AsyncClient())
        mine.fan_out(range(3), _nothing, concurrency=5000)
        fake = make_client(FakeSmartcar())
        fake.fan_out(range(3), _nothing, concurrency=5000)


def test_a_grown_sharded_transport_plans_new_shards_for_the_difference() -> None:
    seen: list[httpx.Limits] = []

    def factory(shard_limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        seen.append(shard_limits)
        return httpx.MockTransport(lambda request: httpx.Response(204))

    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    transport = ShardedTransport(limits=limits, shard_size=8, shard_factory=factory)
    taken = [transport._take_nowait() for _ in range(20)]
    assert None not in taken
    assert transport._take_nowait() is None  # full
    transport.grow(37)
    transport.grow(30)  # never shrinks
    assert transport.max_connections == 37
    more = [transport._take_nowait() for _ in range(17)]
    assert None not in more
    assert transport._take_nowait() is None
    assert [s.max_connections for s in seen] == [7, 7, 6, 6, 6, 5]
    assert sum(s.max_connections or 0 for s in seen) == 37
    # Every connection was kept alive before growing; still so after.
    assert all(s.max_keepalive_connections == s.max_connections for s in seen)


@pytest.mark.anyio
async def test_a_grown_pool_really_runs_the_fan_outs_concurrency() -> None:
    in_flight = 0
    peak = 0
    release = anyio.Event()

    class Gate(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            if peak == 30:
                release.set()
            await release.wait()
            in_flight -= 1
            return httpx.Response(200, json={})

    transport = ShardedTransport(
        limits=httpx.Limits(max_connections=10), shard_factory=lambda limits: Gate()
    )
    sizer = pool_module.PoolSizer(transport, growable=True)
    sizer.fit(30)
    with anyio.fail_after(TIMEOUT):
        async with (
            httpx.AsyncClient(transport=transport) as http,
            anyio.create_task_group() as tg,
        ):
            for _ in range(30):
                tg.start_soon(http.get, "http://127.0.0.1/x")
    assert peak == 30


def test_per_host_proxy_mounts_leave_the_pool_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Calls to different hosts go through different transports: growing one of them
    # would not make room for the fan-out's calls, so the pool is left as it is.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "iam.smartcar.com")
    client = SmartcarClient(client_id="client_x", client_secret="s", trust_env=True)
    assert client._shared.pool.transport is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.fan_out(range(3), _nothing, concurrency=5000)


@pytest.mark.anyio
async def test_requests_queued_on_a_full_pool_get_the_room_a_grow_makes() -> None:
    transport = ShardedTransport(
        limits=httpx.Limits(max_connections=2),
        shard_factory=lambda limits: httpx.MockTransport(lambda request: httpx.Response(204)),
    )
    held = [transport._take_nowait(), transport._take_nowait()]
    assert None not in held
    answered: list[int] = []

    async def send() -> None:
        response = await transport.handle_async_request(httpx.Request("GET", "http://x/"))
        answered.append(response.status_code)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(send)
            tg.start_soon(send)
            while len(transport._waiters) < 2:
                await anyio.lowlevel.checkpoint()
            transport.grow(4)  # nothing released: only the new room can answer them
    assert answered == [204, 204]
    assert transport.in_flight == 4  # both responses still open, as are the held slots

"""Hardening, the API request path (issue 15): no redirect is followed whatever client
is passed (item 3), ids too long for a URL (item 4), coordinates past float range
(item 5).
"""

from __future__ import annotations

import anyio
import httpx
import pytest
from reliability_support import TIMEOUT, bev

from smartcar_async import (
    APIStatusError,
    InvalidRequestError,
    SmartcarClient,
    SmartcarError,
)
from smartcar_async._paths import MAX_ID_LENGTH
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio

ATTACKER = "attacker.example.test"


class RedirectingAPI(httpx.AsyncBaseTransport):
    """The emulator, except that API calls (not the token request) answer 307 to another
    origin, which records whatever reaches it."""

    def __init__(self, emulator: SmartcarEmulator) -> None:
        self._inner = emulator.transport()
        self.stolen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == ATTACKER:
            await request.aread()
            self.stolen.append(request)
            return httpx.Response(200, json={"data": {}})
        if request.url.path.endswith("/oauth2/token"):
            return await self._inner.handle_async_request(request)
        return httpx.Response(307, headers={"Location": f"https://{ATTACKER}/collect"})


@pytest.mark.parametrize("call", ["read", "command"])
async def test_redirects_are_not_followed_even_by_a_client_that_would(call: str) -> None:
    emulator = SmartcarEmulator(vehicles=0, seed=15)
    car = bev(emulator)
    wire = RedirectingAPI(emulator)
    kwargs = emulator.client_kwargs()
    del kwargs["transport"]
    async with httpx.AsyncClient(transport=wire, follow_redirects=True) as http:
        client = SmartcarClient(**kwargs, http_client=http)
        if call == "read":
            send = client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
        else:
            send = client.commands.lock(car.vehicle_id, user_id=car.user_id)
        with anyio.fail_after(TIMEOUT), pytest.raises(APIStatusError) as caught:
            await send
    assert caught.value.status_code == 307
    assert wire.stolen == []


@pytest.mark.parametrize("length", [MAX_ID_LENGTH + 1, 70_000])
async def test_ids_past_the_cap_raise_value_error_before_any_request(length: int) -> None:
    emulator = SmartcarEmulator(vehicles=0, seed=15)
    car = bev(emulator)
    long_id = "v" * length
    async with SmartcarClient(**emulator.client_kwargs()) as client:
        calls = [
            lambda: client.vehicles.get(long_id),
            lambda: client.vehicles.signals(long_id, user_id=car.user_id),
            lambda: client.vehicles.signals(car.vehicle_id, user_id=long_id),
            lambda: client.commands.lock(long_id, user_id=car.user_id),
            lambda: client.connections.get(long_id),
            lambda: client.users.delete(long_id),
        ]
        with anyio.fail_after(TIMEOUT):
            for call in calls:
                with pytest.raises(ValueError, match="at most 256") as caught:
                    await call()
                assert len(str(caught.value)) < 200
    assert sum(emulator.stats.requests.values()) == 0
    assert emulator.stats.token_requests == 0


async def test_ids_at_the_cap_go_through() -> None:
    emulator = SmartcarEmulator(vehicles=0, seed=15)
    async with SmartcarClient(**emulator.client_kwargs()) as client:
        with anyio.fail_after(TIMEOUT), pytest.raises(SmartcarError) as caught:
            await client.vehicles.get("é" * MAX_ID_LENGTH)  # 2,304 characters once encoded
    assert getattr(caught.value, "status_code", None) == 404


async def test_whatever_httpx_refuses_to_build_is_an_sdk_error() -> None:
    emulator = SmartcarEmulator(vehicles=0, seed=15)
    async with SmartcarClient(**emulator.client_kwargs()) as client:
        with anyio.fail_after(TIMEOUT), pytest.raises(InvalidRequestError) as caught:
            await client.request("GET", "vehicle", "/connections", params={"q": "x" * 70_000})
    assert isinstance(caught.value, ValueError)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(10**400, 0), (0, -(10**400)), (float("inf"), 0), (float("nan"), 0), (0, 181)],
    ids=["lat 10**400", "lon -10**400", "inf", "nan", "lon 181"],
)
async def test_coordinates_out_of_range_are_value_errors(latitude: float, longitude: float) -> None:
    emulator = SmartcarEmulator(vehicles=0, seed=15)
    car = bev(emulator)
    async with SmartcarClient(**emulator.client_kwargs()) as client:
        with anyio.fail_after(TIMEOUT), pytest.raises(ValueError, match="must be a number"):
            await client.commands.set_destination(
                car.vehicle_id, latitude=latitude, longitude=longitude, user_id=car.user_id
            )

"""Per-call state lives in one module; ``with_raw_response`` is typed and uses it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from smartcar_async import RawResponse, RetryPolicy, SmartcarClient
from smartcar_async._call_context import (
    raise_vehicle_rate_limits,
    raw_responses,
    want_raw_response,
)
from smartcar_async.resources import RawView, VehicleHandle, vehicles
from smartcar_async.resources._base import Resource

pytestmark = pytest.mark.anyio

VEHICLE = {"id": "v1", "type": "vehicle", "attributes": {"make": "TESLA", "year": 2024}}


def _answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/oauth2/token"):
        return httpx.Response(
            200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600}
        )
    return httpx.Response(200, json={"data": VEHICLE}, headers={"sc-request-id": "r1"})


@pytest.fixture
async def client() -> AsyncIterator[SmartcarClient]:
    async with SmartcarClient(
        client_id="client_test",
        client_secret="secret",
        retry=RetryPolicy(max_retries=0),
        transport=httpx.MockTransport(_answer),
    ) as client:
        yield client


def test_both_variables_default_to_off() -> None:
    assert want_raw_response.get() is False
    assert raise_vehicle_rate_limits.get() is False


async def test_raw_responses_block_turns_any_call_raw_and_then_off(
    client: SmartcarClient,
) -> None:
    with anyio.fail_after(5):
        with raw_responses():
            raw = await client.vehicles.get("v1")
        model = await client.vehicles.get("v1")
    assert isinstance(raw, RawResponse)
    assert raw.request_id == "r1"
    assert raw.parse().make == "TESLA"
    assert model.make == "TESLA"
    assert want_raw_response.get() is False


def test_with_raw_response_is_typed() -> None:
    # The modules use postponed annotations: the names are what a type checker reads.
    assert Resource.__dict__["with_raw_response"].fget.__annotations__["return"] == "RawView"
    # A handle's view is a RawView whose methods each resource module types
    # (tests/test_typing.py checks what mypy makes of them).
    handle_view = VehicleHandle.__dict__["with_raw_response"].fget.__annotations__["return"]
    assert issubclass(getattr(vehicles, handle_view), RawView)
    returned = RawView.__getattr__.__annotations__["return"]
    assert returned == "Callable[..., Awaitable[RawResponse[Any]]]"


async def test_raw_view_returns_raw_response_and_resets(client: SmartcarClient) -> None:
    with anyio.fail_after(5):
        raw = await client.vehicles.with_raw_response.get("v1")
    assert isinstance(raw, RawResponse)
    assert want_raw_response.get() is False

"""Per-call state lives in one module; ``with_raw_response`` is typed and uses it."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from smartcar_async import RawResponse, RetryPolicy, SmartcarClient, resources
from smartcar_async._call_context import (
    raise_vehicle_rate_limits,
    raw_responses,
    want_raw_response,
)
from smartcar_async.resources import RawView, VehicleHandle, vehicles
from smartcar_async.resources._base import Resource
from smartcar_async.testing import SmartcarEmulator

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
    # A handle's view is typed as a class only type checkers see, the handle's methods
    # returning RawResponse (tests/test_typing.py checks what mypy makes of it).
    handle_view = VehicleHandle.__dict__["with_raw_response"].fget.__annotations__["return"]
    assert handle_view == "_RawVehicleHandle"
    assert not hasattr(vehicles, handle_view)
    # At run time __getattr__ forwards; type checkers do not see it, so a misspelt raw
    # method is an error for them rather than an untyped callable.
    assert RawView.__getattr__ is RawView._forward
    # A raw method or a data attribute: object, not Any, for code that calls it directly.
    assert RawView._forward.__annotations__["return"] == "object"


async def test_raw_view_returns_raw_response_and_resets(client: SmartcarClient) -> None:
    with anyio.fail_after(5):
        raw = await client.vehicles.with_raw_response.get("v1")
    assert isinstance(raw, RawResponse)
    assert want_raw_response.get() is False


def _public_methods(cls: type) -> dict[str, bool]:
    """Public methods of ``cls`` by name: True for the coroutine ones."""
    return {
        name: inspect.iscoroutinefunction(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


async def test_raw_view_has_exactly_the_one_request_methods(client: SmartcarClient) -> None:
    # Every coroutine method makes one request and is on the view; the others (list,
    # which pages; the fan-out helpers) are refused with a pointer to list_page,
    # rather than returning something that is not a RawResponse.
    owners: dict[object, type] = {
        client.vehicles: resources.Vehicles,
        client.commands: resources.Commands,
        client.connections: resources.Connections,
        client.webhook_endpoints: resources.WebhookEndpoints,
        client.subscriptions: resources.Subscriptions,
        client.users: resources.Users,
        client.vehicle("v1", user_id="u1"): VehicleHandle,
    }
    refused = []
    for resource, cls in owners.items():
        view = resource.with_raw_response  # type: ignore[attr-defined]  # mixed owners
        assert isinstance(view, RawView)
        for name, is_coroutine in _public_methods(cls).items():
            if is_coroutine:
                assert callable(getattr(view, name)), name
            else:
                with pytest.raises(AttributeError, match="one request"):
                    getattr(view, name)
                refused.append(f"{cls.__name__}.{name}")
    assert "Connections.list" in refused
    assert "Vehicles.signals_many" in refused
    with pytest.raises(AttributeError):
        client.vehicles.with_raw_response.gett  # noqa: B018  # a typo is no method


async def test_a_handles_view_has_its_ids(client: SmartcarClient) -> None:
    # Type checkers see the handle's attributes on its view; they are there at run time.
    car = client.vehicle("v1", user_id="u1")
    view = car.with_raw_response
    assert (view.vehicle_id, view.user_id) == ("v1", "u1")
    with pytest.raises(AttributeError, match="one request"):
        view._segment  # noqa: B018  # private: refused, like every private name


async def test_raw_deletes_return_their_raw_response() -> None:
    # The three deletes awaited their request without returning it: raw, they gave None.
    emulator = SmartcarEmulator(vehicles=3, seed=2)
    first, second, third = emulator.fleet()
    webhook_id = emulator.add_webhook()
    subscription_id = emulator.subscribe(webhook_id, first.vehicle_id)
    async with SmartcarClient(**emulator.client_kwargs()) as client:
        with anyio.fail_after(10):
            raws = [
                await client.connections.with_raw_response.delete(second.connection_id),
                await client.users.with_raw_response.delete(third.user_id),
                await client.subscriptions.with_raw_response.delete(subscription_id),
            ]
    for raw in raws:
        assert isinstance(raw, RawResponse)
        assert raw.status_code in (200, 204)
        assert raw.parse() is None


async def test_an_override_keeps_its_raw_form(client: SmartcarClient) -> None:
    calls = []

    class LoggingVehicles(resources.Vehicles):
        async def get(self, vehicle_id: str) -> resources.Vehicle:
            calls.append(vehicle_id)
            return await super().get(vehicle_id)

    with anyio.fail_after(5):
        raw = await LoggingVehicles(client).with_raw_response.get("v1")
    assert isinstance(raw, RawResponse)
    assert raw.parse().make == "TESLA"
    assert calls == ["v1"]


async def test_a_refusal_names_list_page_only_where_there_is_one(
    client: SmartcarClient,
) -> None:
    with pytest.raises(AttributeError, match=r"Connections\.list .*form is list_page"):
        client.connections.with_raw_response.list  # noqa: B018
    with pytest.raises(AttributeError, match=r"Vehicles\.signals_many") as refused:
        client.vehicles.with_raw_response.signals_many  # noqa: B018
    assert "list_page" not in str(refused.value)

"""``client.vehicles``, `VehicleHandle` and ``signals_many``, respx-mocked."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from resource_support import (
    UNKNOWN_SIGNAL_CODE,
    USER_ID,
    VEHICLE_API,
    VEHICLE_ID,
    api_calls,
    assert_headers,
    connection_json,
    full_signals_json,
    only_request,
    signal_json,
)

from smartcar_async import FanOut, FanOutOptions, RateLimitError, SmartcarClient
from smartcar_async._models import structure
from smartcar_async.resources import Connection, Vehicle, VehicleHandle
from smartcar_async.signals import CATALOGUE, Signal, Signals, UnitValue

pytestmark = pytest.mark.anyio

BASE = f"{VEHICLE_API}/vehicles/{VEHICLE_ID}"

VEHICLE = {
    "id": VEHICLE_ID,
    "type": "vehicle",
    "attributes": {
        "make": "TESLA",
        "model": "Model Y",
        "year": 2024,
        "powertrainType": "BEV",
        "mode": "live",
    },
    "links": {"self": f"/vehicles/{VEHICLE_ID}"},
}


def check_vehicle(vehicle: Vehicle) -> None:
    assert vehicle.id == VEHICLE_ID
    assert vehicle.make == "TESLA"
    assert vehicle.model == "Model Y"
    assert vehicle.year == 2024
    assert vehicle.powertrain_type == "BEV"
    assert vehicle.mode == "live"


@pytest.mark.parametrize(
    "body",
    [
        {"data": VEHICLE},
        VEHICLE,
        {"id": VEHICLE_ID, **VEHICLE["attributes"]},  # type: ignore[dict-item]
    ],
    ids=["data-wrapped", "bare-resource", "flat"],
)
async def test_get_vehicle_sends_no_user_and_parses_every_shape(
    client: SmartcarClient, router: respx.MockRouter, body: dict[str, Any]
) -> None:
    router.get(BASE).mock(return_value=httpx.Response(200, json=body))
    with anyio.fail_after(5):
        vehicle = await client.vehicles.get(VEHICLE_ID)
    request = only_request(router)
    assert request.method == "GET"
    assert request.url.path == f"/v3/vehicles/{VEHICLE_ID}"
    assert request.url.query == b""
    assert_headers(request, user_id=None)
    check_vehicle(vehicle)
    assert vehicle.raw["id"] == VEHICLE_ID


async def test_handle_get_sends_no_user_either(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(BASE).mock(return_value=httpx.Response(200, json={"data": VEHICLE}))
    with anyio.fail_after(5):
        vehicle = await client.vehicle(VEHICLE_ID, user_id=USER_ID).get()
    assert_headers(only_request(router), user_id=None)
    check_vehicle(vehicle)


async def test_get_vehicle_raw_response(client: SmartcarClient, router: respx.MockRouter) -> None:
    router.get(BASE).mock(
        return_value=httpx.Response(200, json={"data": VEHICLE}, headers={"SC-Request-Id": "q1"})
    )
    with anyio.fail_after(5):
        raw = await client.vehicles.with_raw_response.get(VEHICLE_ID)
    assert raw.status_code == 200
    assert raw.request_id == "q1"
    check_vehicle(raw.parse())


async def test_vehicle_handle_basics(client: SmartcarClient, router: respx.MockRouter) -> None:
    handle = client.vehicle(VEHICLE_ID, user_id=USER_ID)
    assert isinstance(handle, VehicleHandle)
    assert handle.vehicle_id == VEHICLE_ID
    assert handle.user_id == USER_ID
    assert handle == client.vehicle(VEHICLE_ID, user_id=USER_ID)
    assert handle != client.vehicle(VEHICLE_ID, user_id="someone-else")
    assert len({handle, client.vehicle(VEHICLE_ID, user_id=USER_ID)}) == 1
    assert VEHICLE_ID in repr(handle)
    # The raw view has the ids too, as type checkers see (tests/test_call_context.py).
    assert handle.with_raw_response.vehicle_id == VEHICLE_ID
    assert not router.calls


async def test_unknown_vehicle_is_not_found(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    from smartcar_async import NotFoundError

    router.get(BASE).mock(
        return_value=httpx.Response(
            404,
            json={
                "errors": [
                    {"status": "404", "type": "RESOURCE_NOT_FOUND", "code": "VEHICLE_NOT_FOUND"}
                ]
            },
        )
    )
    with anyio.fail_after(5), pytest.raises(NotFoundError) as caught:
        await client.vehicles.get(VEHICLE_ID)
    assert caught.value.code == "VEHICLE_NOT_FOUND"
    assert len(api_calls(router)) == 1


# -- signals -------------------------------------------------------------------------------


async def test_signals_sends_user_and_parses_all_95(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{BASE}/signals").mock(
        return_value=httpx.Response(200, json=full_signals_json(VEHICLE_ID))
    )
    with anyio.fail_after(5):
        signals = await client.vehicles.signals(VEHICLE_ID, user_id=USER_ID)
    request = only_request(router)
    assert request.method == "GET"
    assert request.url.path == f"/v3/vehicles/{VEHICLE_ID}/signals"
    assert request.url.query == b""
    assert_headers(request, user_id=USER_ID)
    assert isinstance(signals, Signals)
    assert len(signals) == len(CATALOGUE) + 1 == 95
    for code, spec in CATALOGUE.items():
        signal = signals[code]
        assert signal.ok, code
        assert isinstance(signal.body, spec.body_type), code  # typed, not GenericBody
        assert (signal.group, signal.name) == (spec.group, spec.name)
        assert signal.retrieved_at == dt.datetime(
            2025, 7, 9, 23, 36, 58, 549000, tzinfo=dt.timezone.utc
        )
    assert signals.value(UNKNOWN_SIGNAL_CODE) == 80
    assert signals.value("tractionbattery-stateofcharge") == 42
    assert signals.vehicle is not None
    assert signals.vehicle.make == "TESLA"


async def test_handle_signals_and_raw(client: SmartcarClient, router: respx.MockRouter) -> None:
    route = router.get(f"{BASE}/signals").mock(
        return_value=httpx.Response(
            200, json=full_signals_json(VEHICLE_ID), headers={"SC-Request-Id": "s1"}
        )
    )
    handle = client.vehicle(VEHICLE_ID, user_id=USER_ID)
    with anyio.fail_after(5):
        signals = await handle.signals()
        raw = await handle.with_raw_response.signals()
        raw_resource = await client.vehicles.with_raw_response.signals(VEHICLE_ID, user_id=USER_ID)
    assert len(signals) == 95
    assert raw.request_id == raw_resource.request_id == "s1"
    assert len(raw.parse()) == 95
    assert route.call_count == 3
    for request in api_calls(router):
        assert_headers(request, user_id=USER_ID)


ODOMETER = "odometer-traveleddistance"


@pytest.mark.parametrize(
    ("wrapped", "retrieved_at"),
    [(True, 1752104218549), (False, 1752104218549), (True, 1752104218), (False, 1752104218)],
    ids=["data-wrapped-ms", "bare-ms", "data-wrapped-s", "bare-s"],
)
@pytest.mark.parametrize("via", ["resource", "handle"])
async def test_signal_sends_user_and_parses_every_variant(
    client: SmartcarClient,
    router: respx.MockRouter,
    wrapped: bool,
    retrieved_at: int,
    via: str,
) -> None:
    resource = signal_json(
        ODOMETER,
        group="Odometer",
        name="TraveledDistance",
        body={"unit": "kilometers", "value": 115071.5},
        retrieved_at=retrieved_at,
    )
    router.get(f"{BASE}/signals/{ODOMETER}").mock(
        return_value=httpx.Response(200, json={"data": resource} if wrapped else resource)
    )
    with anyio.fail_after(5):
        if via == "resource":
            signal = await client.vehicles.signal(VEHICLE_ID, ODOMETER, user_id=USER_ID)
        else:
            signal = await client.vehicle(VEHICLE_ID, user_id=USER_ID).signal(ODOMETER)
    request = only_request(router)
    assert request.method == "GET"
    assert request.url.path == f"/v3/vehicles/{VEHICLE_ID}/signals/{ODOMETER}"
    assert_headers(request, user_id=USER_ID)
    assert isinstance(signal, Signal)
    assert signal.code == ODOMETER
    assert isinstance(signal.body, UnitValue)
    assert signal.body.value == 115071.5
    # Seconds and milliseconds both read as the same instant (to the second).
    assert signal.retrieved_at is not None
    assert signal.retrieved_at.replace(microsecond=0) == dt.datetime(
        2025, 7, 9, 23, 36, 58, tzinfo=dt.timezone.utc
    )


async def test_signal_error_status_is_kept(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{BASE}/signals/{ODOMETER}").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": {
                    "id": ODOMETER,
                    "type": "signal",
                    "attributes": {
                        "code": ODOMETER,
                        "status": {
                            "value": "ERROR",
                            "error": {"type": "COMPATIBILITY", "code": "VEHICLE_NOT_CAPABLE"},
                        },
                    },
                }
            },
        )
    )
    with anyio.fail_after(5):
        signal = await client.vehicles.signal(VEHICLE_ID, ODOMETER, user_id=USER_ID)
    assert not signal.ok
    assert signal.error is not None
    assert signal.error.code == "VEHICLE_NOT_CAPABLE"


async def test_unknown_signal_code_raises_not_found(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    from smartcar_async import NotFoundError

    router.get(f"{BASE}/signals/nope-nothing").mock(
        return_value=httpx.Response(
            404,
            json={
                "errors": [
                    {"status": "404", "type": "RESOURCE_NOT_FOUND", "code": "SIGNAL_NOT_FOUND"}
                ]
            },
        )
    )
    with anyio.fail_after(5), pytest.raises(NotFoundError) as caught:
        await client.vehicles.signal(VEHICLE_ID, "nope-nothing", user_id=USER_ID)
    assert caught.value.code == "SIGNAL_NOT_FOUND"


@pytest.mark.parametrize("user_id", [None, "", " ", "a\r\nb"])
async def test_signals_need_a_user_id(
    client: SmartcarClient, router: respx.MockRouter, user_id: Any
) -> None:
    with pytest.raises(ValueError, match="user_id"):
        await client.vehicles.signals(VEHICLE_ID, user_id=user_id)
    with pytest.raises(ValueError, match="user_id"):
        await client.vehicles.signal(VEHICLE_ID, ODOMETER, user_id=user_id)
    assert not router.calls


# -- signals_many --------------------------------------------------------------------------


async def test_signals_many_reads_every_kind_of_target(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        vehicle_id = request.url.path.split("/")[3]
        return httpx.Response(200, json=full_signals_json(vehicle_id))

    route = router.get(url__regex=r".*/vehicles/[^/]+/signals$").mock(side_effect=answer)
    connection = structure(connection_json(1), Connection)
    targets: list[Any] = [
        ("veh-0", "user-0"),
        connection,
        client.vehicle("veh-2", user_id="user-2"),
        ("a/b", "user-3"),
        ("veh-4", None),
    ]
    by_index: dict[int, Any] = {}
    with anyio.fail_after(5):
        async with client.vehicles.signals_many(targets, concurrency=2) as outcomes:
            async for outcome in outcomes:
                by_index[targets.index(outcome.target)] = outcome
    assert sorted(by_index) == list(range(5))
    for index in range(3):
        outcome = by_index[index]
        assert outcome.ok, outcome.error
        assert outcome.value.vehicle.id == f"veh-{index}"
        assert len(outcome.value) == 95
    assert isinstance(by_index[3].error, ValueError)
    assert isinstance(by_index[4].error, ValueError)
    assert route.call_count == 3
    assert {r.headers["sc-user-id"] for r in api_calls(router)} == {"user-0", "user-1", "user-2"}


async def test_signals_many_takes_an_async_iterable(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(url__regex=r".*/vehicles/[^/]+/signals$").mock(
        return_value=httpx.Response(200, json=full_signals_json("x"))
    )

    async def targets() -> AsyncIterator[tuple[str, str]]:
        for index in range(4):
            yield (f"veh-{index}", f"user-{index}")

    with anyio.fail_after(5):
        async with client.vehicles.signals_many(targets(), concurrency=3) as outcomes:
            results = [outcome async for outcome in outcomes]
    assert len(results) == 4
    assert all(outcome.ok for outcome in results)


@pytest.mark.parametrize("helper", ["signals_many", "run_many"])
@pytest.mark.parametrize(
    "options",
    [{"max_rate_limit_retries": 0}, {"max_rate_limit_wait": 0.5}],
    ids=["no retries", "a shorter wait than Retry-After"],
)
async def test_the_fan_out_helpers_take_every_fan_out_option(
    client: SmartcarClient, router: respx.MockRouter, helper: str, options: FanOutOptions
) -> None:
    # A per-vehicle 429 (Retry-After: 1 s) is retried 5 times by default; with no
    # retries allowed, or no wait that long, it is the outcome of its first attempt.
    route = router.route(url__regex=r".*/vehicles/[^/]+/(signals|commands/security/lock)$")
    route.mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "1"},
            json={"errors": [{"status": "429", "type": "RATE_LIMIT", "code": "VEHICLE"}]},
        )
    )
    targets = [(VEHICLE_ID, USER_ID)]
    with anyio.fail_after(5):
        if helper == "signals_many":
            fan: FanOut[Any, Any] = client.vehicles.signals_many(targets, **options)
        else:
            fan = client.commands.run_many("lock", targets, **options)
        async with fan as outcomes:
            (outcome,) = [outcome async for outcome in outcomes]
    assert isinstance(outcome.error, RateLimitError)
    assert outcome.attempts == 1
    assert route.call_count == 1

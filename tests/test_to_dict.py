"""``to_dict()``: every public model leaves a web handler as JSON-ready data."""

from __future__ import annotations

import datetime as dt
import inspect
import json
from typing import Any

import anyio
import attrs
import pytest

import smartcar_async as sc
from smartcar_async import signals as signals_module
from smartcar_async import webhooks
from smartcar_async.testing import SmartcarEmulator, VirtualClock

pytestmark = pytest.mark.anyio

PUBLIC_MODULES = (sc, signals_module, webhooks)


def public_models() -> list[type]:
    """Every public attrs class that is API data (not settings, secrets or run state)."""
    not_data = {
        "AccessToken",  # a secret: never serialised
        "ClientCredentials",  # likewise
        "CallState",  # the SDK's per-call bookkeeping
        "FanOutProgress",  # counters of a run
        "OutcomeFailure",  # one target of a run: its value has to_dict
        "OutcomeSuccess",  # likewise
        "RetryPolicy",  # settings
        "SignalSpec",  # the catalogue's description of a code, not data from the API
        "WebhookResponse",  # already an HTTP answer (json_bytes)
    }
    found: dict[str, type] = {}
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and attrs.has(obj) and name not in not_data:
                found[f"{module.__name__}.{name}"] = obj
    return list(found.values())


@pytest.mark.parametrize("model", public_models(), ids=lambda m: m.__name__)
def test_every_public_model_has_to_dict(model: type) -> None:
    assert callable(getattr(model, "to_dict", None))


def assert_json_ready(data: Any) -> None:
    """Only dicts with text keys, lists, text, plain numbers, booleans and None."""
    if isinstance(data, dict):
        for key, value in data.items():
            assert isinstance(key, str)
            assert_json_ready(value)
    elif isinstance(data, list):
        for value in data:
            assert_json_ready(value)
    else:
        assert data is None or type(data) in (str, int, float, bool), repr(data)
    json.dumps(data, allow_nan=False)


async def test_resources_turn_into_json_ready_dicts() -> None:
    clock = VirtualClock()
    emulator = SmartcarEmulator(vehicles=3, seed=5, clock=clock)
    car = emulator.fleet()[0]
    webhook_id = emulator.add_webhook()
    async with sc.SmartcarClient(**emulator.client_kwargs(), clock=clock) as client:
        with anyio.fail_after(10):
            vehicle = await client.vehicles.get(car.vehicle_id)
            connection = (await client.connections.list().to_list())[0]
            execution = await client.commands.lock(car.vehicle_id, user_id=car.user_id)
            webhook = await client.webhook_endpoints.get(webhook_id)
            request = await client.subscriptions.create(
                webhook_id=webhook_id, vehicle_id=car.vehicle_id, user_id=car.user_id
            )
    as_dicts = [m.to_dict() for m in (vehicle, connection, execution, webhook, request)]
    for data in as_dicts:
        assert_json_ready(data)
        assert "raw" not in data
    assert as_dicts[0] == {
        "id": car.vehicle_id,
        "make": car.make,
        "model": car.model,
        "year": car.year,
        "mode": car.mode,
        "powertrain_type": car.powertrain_type,
    }
    connection_dict = as_dicts[1]
    assert connection_dict["vehicle"]["make"] == connection.vehicle.make
    assert isinstance(connection_dict["permissions"], list)
    assert connection.created_at is not None
    created = dt.datetime.fromisoformat(connection_dict["created_at"])
    assert created == connection.created_at  # ISO text with the offset: nothing lost


async def test_webhook_events_turn_into_json_ready_dicts() -> None:
    emulator = SmartcarEmulator(vehicles=2, seed=5, clock=VirtualClock())
    car = emulator.fleet()[0]
    webhook_id = emulator.add_webhook(data=["tractionbattery-stateofcharge", "closure-islocked"])
    emulator.subscribe(webhook_id, car.vehicle_id)
    body = emulator.vehicle_state_event(car.vehicle_id).render("delivery-1", 1_780_000_000.0)
    event = webhooks.parse_event(body)
    assert isinstance(event, webhooks.VehicleStateEvent)
    data = event.to_dict()
    assert_json_ready(data)
    assert data["vehicle_id"] == car.vehicle_id
    assert set(data["signals"]) == {"tractionbattery-stateofcharge", "closure-islocked"}
    assert data["meta"]["delivered_at"].startswith("2026-")


def test_error_details_turn_into_dicts() -> None:
    detail = sc.ErrorDetail(type="VEHICLE_STATE", code="ASLEEP", status=409)
    assert detail.to_dict()["code"] == "ASLEEP"
    assert_json_ready(detail.to_dict())


async def test_signals_turn_into_json_ready_dicts() -> None:
    emulator = SmartcarEmulator(vehicles=1, seed=5, clock=VirtualClock())
    car = emulator.fleet()[0]
    emulator.set_signal(
        car.vehicle_id, "tractionbattery-stateofcharge", {"unit": "percent", "value": 64}
    )
    async with sc.SmartcarClient(**emulator.client_kwargs()) as client:
        with anyio.fail_after(10):
            signals = await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    data = signals.to_dict()
    assert_json_ready(data)
    assert set(data) == set(signals)
    soc = data["tractionbattery-stateofcharge"]
    assert soc["body"] == {"unit": "percent", "value": 64}
    assert (soc["code"], soc["group"], soc["status"]) == (
        "tractionbattery-stateofcharge",
        "TractionBattery",
        "SUCCESS",
    )
    retrieved = signals["tractionbattery-stateofcharge"].retrieved_at
    assert retrieved is not None
    assert dt.datetime.fromisoformat(soc["retrieved_at"]) == retrieved


async def test_cli_json_is_to_dict_with_utc_written_as_z() -> None:
    # The CLI's --json and to_dict() are one conversion; only the UTC suffix differs.
    from smartcar_async.cli._output import jsonable

    emulator = SmartcarEmulator(vehicles=1, seed=5, clock=VirtualClock())
    car = emulator.fleet()[0]
    async with sc.SmartcarClient(**emulator.client_kwargs()) as client:
        with anyio.fail_after(10):
            signals = await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
            connection = await client.connections.get(car.connection_id)
    for value, as_dict in ((signals, signals.to_dict()), (connection, connection.to_dict())):
        library = json.dumps(as_dict, sort_keys=True)
        cli = json.dumps(jsonable(value), sort_keys=True)
        assert "+00:00" in library
        assert cli == library.replace("+00:00", "Z")

"""Webhook events: shapes, signatures, the VERIFY challenge and retried delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import httpx
import pytest

from smartcar_async.signals import CATALOGUE
from smartcar_async.testing import (
    Delivery,
    EmulatedEvent,
    FleetEntry,
    SmartcarEmulator,
    VirtualClock,
)

pytestmark = pytest.mark.anyio

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Receiver:
    """A minimal ASGI webhook receiver that records what it got."""

    def __init__(self, management_token: str, fail_first: int = 0) -> None:
        self.token = management_token
        self.fail_first = fail_first
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        event = json.loads(body)
        if event["eventType"] == "VERIFY":
            challenge = event["data"]["challenge"].encode()
            answer = hmac.new(self.token.encode(), challenge, hashlib.sha256).hexdigest()
            await _reply(send, 200, json.dumps({"challenge": answer}).encode())
        elif len(self.received) <= self.fail_first:
            await _reply(send, 500, b"try later")
        else:
            await _reply(send, 204, b"")


async def _reply(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def subscribed(emulator: SmartcarEmulator, bev: FleetEntry) -> tuple[str, FleetEntry]:
    webhook_id = emulator.add_webhook(
        "Battery",
        triggers=("tractionbattery-stateofcharge",),
        data=("tractionbattery-stateofcharge", "odometer-traveleddistance", "warpdrive-flux"),
    )
    emulator.subscribe(webhook_id, bev.vehicle_id)
    return webhook_id, bev


async def test_verify_challenge(emulator: SmartcarEmulator) -> None:
    webhook_id = emulator.add_webhook()
    receiver = Receiver(emulator.management_token)
    with anyio.fail_after(5):
        delivery = await emulator.deliver(emulator.verify_event(webhook_id, "c0ffee"), receiver)
    assert delivery.delivered
    assert delivery.verified is True
    headers, body = receiver.received[0]
    # Signed like every delivery (the delivery docs); receivers answer it before checking.
    assert headers["sc-signature"] == emulator.sign(body)
    event = json.loads(body)
    assert event["eventType"] == "VERIFY"
    assert event["data"] == {"challenge": "c0ffee"}
    assert event["meta"]["version"] == "4.0"
    assert event["meta"]["webhookId"] == webhook_id


async def test_verify_with_a_wrong_answer_is_not_verified(emulator: SmartcarEmulator) -> None:
    webhook_id = emulator.add_webhook()
    receiver = Receiver("not-the-amt")
    with anyio.fail_after(5):
        delivery = await emulator.deliver(emulator.verify_event(webhook_id), receiver)
    assert delivery.delivered
    assert delivery.verified is False


async def test_vehicle_state_documented_shape_and_signature(
    emulator: SmartcarEmulator, subscribed: tuple[str, FleetEntry]
) -> None:
    webhook_id, car = subscribed
    event = emulator.vehicle_state_event(car.vehicle_id, triggers=["tractionbattery-stateofcharge"])
    receiver = Receiver(emulator.management_token)
    with anyio.fail_after(5):
        delivery = await emulator.deliver(event, receiver)
    headers, body = receiver.received[0]
    expected = hmac.new(emulator.management_token.encode(), body, hashlib.sha256).hexdigest()
    assert headers["sc-signature"] == expected == emulator.sign(body)
    assert headers["content-type"] == "application/json"
    assert delivery.attempts[0].status_code == 204
    payload = json.loads(body)
    assert payload["eventId"] == event.event_id
    assert payload["eventType"] == "VEHICLE_STATE"
    assert payload["vehicleId"] == car.vehicle_id
    data = payload["data"]
    assert data["user"] == {"id": car.user_id}
    assert data["vehicle"] == {
        "id": car.vehicle_id,
        "make": "Tesla",
        "model": "Model 3",
        "year": 2024,
    }
    assert data["triggers"][0]["code"] == "tractionbattery-stateofcharge"
    assert set(data["triggers"][0]) == {"code", "name", "group"}
    signals = {s["code"]: s for s in data["signals"]}
    assert set(signals) == {
        "tractionbattery-stateofcharge",
        "odometer-traveleddistance",
        "warpdrive-flux",
    }
    soc = signals["tractionbattery-stateofcharge"]
    assert soc["body"] == emulator.signal(car.vehicle_id, "tractionbattery-stateofcharge")
    assert set(soc["meta"]) == {"oemUpdatedAt", "fetchedAt"}
    assert signals["warpdrive-flux"]["status"]["value"] == "ERROR"
    meta = payload["meta"]
    assert meta["version"] == "4.0"
    assert meta["webhookId"] == webhook_id
    assert meta["signalCount"] == 3
    assert meta["mode"] == "LIVE"
    assert isinstance(meta["deliveredAt"], int)
    assert meta["deliveryId"] == delivery.attempts[0].delivery_id


async def test_vehicle_state_observed_shape(
    emulator: SmartcarEmulator, subscribed: tuple[str, FleetEntry]
) -> None:
    _, car = subscribed
    event = emulator.vehicle_state_event(
        car.vehicle_id, triggers=["odometer-traveleddistance"], shape="observed"
    )
    body = event.render("d-1", 1_777_593_600.0)
    payload = json.loads(body)
    assert "vehicleId" not in payload
    assert "triggers" not in payload["data"]
    assert payload["triggers"][0]["type"] == "SIGNAL_UPDATED"
    spec = CATALOGUE["odometer-traveleddistance"]
    assert payload["triggers"][0]["signal"] == f"{spec.group}.{spec.name}"
    soc = next(
        s for s in payload["data"]["signals"] if s["code"] == "tractionbattery-stateofcharge"
    )
    assert soc["status"] == {"value": "SUCCESS"}
    assert set(soc["meta"]) == {"oemUpdatedAt", "retrievedAt"}
    assert payload["meta"]["deliveryTime"] == payload["meta"]["deliveredAt"]


async def test_vehicle_error_event(
    emulator: SmartcarEmulator, subscribed: tuple[str, FleetEntry]
) -> None:
    _, car = subscribed
    documented = emulator.vehicle_error_event(
        car.vehicle_id, error_code="ASLEEP", signals=["closure-islocked"]
    )
    observed = emulator.vehicle_error_event(
        car.vehicle_id, state="RESOLVED", signals=["closure-islocked"], shape="observed"
    )
    one = json.loads(documented.render("d-1", 0))
    two = json.loads(observed.render("d-2", 0))
    error = one["data"]["errors"][0]
    assert one["eventType"] == "VEHICLE_ERROR"
    assert (error["type"], error["code"], error["state"]) == ("VEHICLE_STATE", "ASLEEP", "ERROR")
    assert error["resolution"] == {"type": "RETRY_LATER"}
    assert error["signals"][0]["code"] == "closure-islocked"
    assert isinstance(two["data"]["errors"][0]["signals"][0], str)
    assert two["data"]["errors"][0]["state"] == "RESOLVED"


async def test_retries_keep_the_event_id_and_change_the_delivery_id(
    emulator: SmartcarEmulator, clock: VirtualClock, subscribed: tuple[str, FleetEntry]
) -> None:
    _, car = subscribed
    receiver = Receiver(emulator.management_token, fail_first=2)
    event = emulator.vehicle_state_event(car.vehicle_id)
    with anyio.fail_after(5):
        delivery, waits = await _deliver_and_drive(emulator, clock, event, receiver)
    assert delivery.delivered
    assert [a.status_code for a in delivery.attempts] == [500, 500, 204]
    assert waits == [2.5, 5.0]
    bodies = [json.loads(body) for _, body in receiver.received]
    assert {b["eventId"] for b in bodies} == {event.event_id}
    assert len({b["meta"]["deliveryId"] for b in bodies}) == 3
    for headers, body in receiver.received:
        assert headers["sc-signature"] == emulator.sign(body)
    assert emulator.stats.webhook_attempts["VEHICLE_STATE"] == 3


async def test_delivery_gives_up_after_four_attempts(
    emulator: SmartcarEmulator, clock: VirtualClock, subscribed: tuple[str, FleetEntry]
) -> None:
    _, car = subscribed
    receiver = Receiver(emulator.management_token, fail_first=10)
    event = emulator.vehicle_state_event(car.vehicle_id)
    with anyio.fail_after(5):
        delivery, waits = await _deliver_and_drive(emulator, clock, event, receiver)
    assert not delivery.delivered
    assert len(delivery.attempts) == 4
    assert waits == [2.5, 5.0, 10.0]


async def _deliver_and_drive(
    emulator: SmartcarEmulator, clock: VirtualClock, event: EmulatedEvent, receiver: Receiver
) -> tuple[Delivery, list[float]]:
    results: list[Delivery] = []
    waits: list[float] = []
    async with anyio.create_task_group() as tg:

        async def go() -> None:
            results.append(await emulator.deliver(event, receiver, retry_scale=0.1))
            tg.cancel_scope.cancel()

        tg.start_soon(go)
        while True:
            await clock.wait_for_sleepers(1)
            deadline = clock.next_deadline()
            assert deadline is not None
            waits.append(round(deadline - clock.now(), 6))
            clock.advance_to_next()
    return results[0], waits


async def test_errors_go_to_the_error_callback(emulator: SmartcarEmulator, bev: FleetEntry) -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200)

    webhook_id = emulator.add_webhook(
        callback_uri="https://hooks.example/state",
        error_callback_uri="https://hooks.example/errors",
    )
    emulator.subscribe(webhook_id, bev.vehicle_id)
    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        with anyio.fail_after(5):
            await emulator.deliver(emulator.vehicle_error_event(bev.vehicle_id), client=client)
            await emulator.deliver(emulator.vehicle_state_event(bev.vehicle_id), client=client)
    assert seen == ["https://hooks.example/errors", "https://hooks.example/state"]


async def test_a_failing_receiver_connection_counts_as_a_failed_attempt(
    emulator: SmartcarEmulator, clock: VirtualClock, bev: FleetEntry
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    webhook_id = emulator.add_webhook()
    emulator.subscribe(webhook_id, bev.vehicle_id)
    event = emulator.vehicle_state_event(bev.vehicle_id)
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        with anyio.fail_after(5):
            delivery = await emulator.deliver(event, client=client, retry_delays=())
    assert not delivery.delivered
    assert delivery.attempts[0].status_code is None
    assert "ConnectError" in str(delivery.attempts[0].error)


def test_events_need_a_webhook(emulator: SmartcarEmulator, bev: FleetEntry) -> None:
    with pytest.raises(KeyError, match="subscribed to no webhook"):
        emulator.vehicle_state_event(bev.vehicle_id)


async def test_an_app_receives_deliveries_at_the_callback_path(
    emulator: SmartcarEmulator, bev: FleetEntry
) -> None:
    """The docs' Starlette app routes only ``/webhooks/smartcar``: deliveries reach it there."""
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from smartcar_async.webhooks import DataEvent, WebhookReceiver

    events: list[DataEvent] = []

    async def on_event(event: DataEvent) -> None:
        events.append(event)

    receiver = WebhookReceiver(emulator.management_token, on_event)
    paths: list[str] = []

    async def webhook(request: Request) -> Response:
        paths.append(request.url.path + "?" + request.url.query)
        result = await receiver.handle(await request.body(), request.headers)
        return Response(result.json_bytes(), result.status, media_type=result.content_type)

    app = Starlette(routes=[Route("/webhooks/smartcar", webhook, methods=["POST"])])
    webhook_id = emulator.add_webhook(callback_uri="https://app.example/webhooks/smartcar?k=1")
    emulator.subscribe(webhook_id, bev.vehicle_id)
    with anyio.fail_after(5):
        verify = await emulator.deliver(emulator.verify_event(webhook_id), app)
        state = await emulator.deliver(emulator.vehicle_state_event(bev.vehicle_id), app)
    assert verify.verified is True
    assert state.delivered
    assert len(state.attempts) == 1
    assert paths == ["/webhooks/smartcar?k=1"] * 2
    assert [e.vehicle_id for e in events] == [bev.vehicle_id]


async def test_the_default_callback_matches_the_docs_receiver_path(
    emulator: SmartcarEmulator,
) -> None:
    webhook_id = emulator.add_webhook()
    receiver = Receiver(emulator.management_token)
    paths: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        paths.append(scope["path"])
        await receiver(scope, receive, send)

    with anyio.fail_after(5):
        await emulator.deliver(emulator.verify_event(webhook_id), app)
    assert paths == ["/webhooks/smartcar"]

"""What the emulator emits, read by the SDK's own parsers and webhook receiver."""

from __future__ import annotations

import contextlib
import datetime as dt

import anyio
import httpx
import pytest
import respx
from emulator_helpers import as_user

from smartcar_async import SmartcarClient
from smartcar_async.signals import CATALOGUE, parse_signal, parse_signals
from smartcar_async.testing import FleetEntry, SmartcarEmulator, VirtualClock
from smartcar_async.webhooks import (
    DataEvent,
    VehicleErrorEvent,
    VehicleStateEvent,
    WebhookReceiver,
)

pytestmark = pytest.mark.anyio


async def test_every_body_parses_into_its_catalogue_type(clock: VirtualClock) -> None:
    emulator = SmartcarEmulator(vehicles=60, seed=3, clock=clock)
    headers = {"authorization": f"Bearer {emulator.issue_token()}"}
    base = emulator.client_kwargs()["vehicle_api_url"]
    mismatched: set[tuple[str, str]] = set()
    seen: set[str] = set()
    async with httpx.AsyncClient(transport=emulator.transport(), headers=headers) as http:
        with anyio.fail_after(10):
            for car in emulator.fleet():
                response = await http.get(
                    f"{base}/vehicles/{car.vehicle_id}/signals", headers=as_user(car)
                )
                signals = parse_signals(response.json())
                assert signals.vehicle is not None
                assert signals.vehicle.id == car.vehicle_id
                for code in signals:
                    signal = signals[code]
                    seen.add(code)
                    if not isinstance(signal.body, CATALOGUE[code].body_type):
                        mismatched.add((code, type(signal.body).__name__))
            one = await http.get(
                f"{base}/vehicles/{car.vehicle_id}/signals/closure-doors", headers=as_user(car)
            )
    assert not mismatched
    assert seen == set(CATALOGUE)  # the fleet covers the whole catalogue
    assert parse_signal(one.json()).code == "closure-doors"


async def test_events_reach_the_sdk_receiver(
    emulator: SmartcarEmulator, clock: VirtualClock, bev: FleetEntry
) -> None:
    received: list[DataEvent] = []
    failures = [RuntimeError("database down")]

    async def on_event(event: DataEvent) -> None:
        if failures:
            raise failures.pop()
        received.append(event)

    receiver = WebhookReceiver(emulator.management_token, on_event, clock=clock)
    app = receiver.asgi_app()
    webhook_id = emulator.add_webhook(
        data=("tractionbattery-stateofcharge", "closure-islocked"), auto_subscribe=True
    )
    with anyio.fail_after(10):
        verify = await emulator.deliver(emulator.verify_event(webhook_id), app)
        documented = emulator.vehicle_state_event(
            bev.vehicle_id, triggers=["tractionbattery-stateofcharge"]
        )
        results = []
        async with anyio.create_task_group() as tg:

            async def deliver() -> None:
                # The receiver fails the first attempt (500); the retry after 25 s succeeds.
                results.append(await emulator.deliver(documented, app))

            tg.start_soon(deliver)
            await clock.wait_for_sleepers(1)
            clock.advance(25)
        observed = emulator.vehicle_state_event(bev.vehicle_id, shape="observed")
        await emulator.deliver(observed, app)
        error = emulator.vehicle_error_event(
            bev.vehicle_id, error_code="ASLEEP", signals=["closure-islocked"], shape="observed"
        )
        await emulator.deliver(error, app)
        # A redelivery of an event already handled is acknowledged, not handled again.
        again = await emulator.deliver(documented, app)

    assert verify.verified is True
    assert [a.status_code for a in results[0].attempts] == [500, 200]
    assert again.delivered
    assert len(received) == 3
    state, shaped, failed = received
    assert isinstance(state, VehicleStateEvent)
    assert state.event_id == documented.event_id
    assert state.vehicle_id == bev.vehicle_id
    assert state.user_id == bev.user_id
    assert [t.code for t in state.triggers] == ["tractionbattery-stateofcharge"]
    soc = emulator.signal(bev.vehicle_id, "tractionbattery-stateofcharge")
    assert soc is not None
    assert state.signals.value("tractionbattery-stateofcharge") == soc["value"]
    assert isinstance(shaped, VehicleStateEvent)
    assert shaped.is_first_delivery
    assert shaped.vehicle_id == bev.vehicle_id  # from data.vehicle.id: no top-level id
    assert set(shaped.signals) == {"tractionbattery-stateofcharge", "closure-islocked"}
    assert isinstance(failed, VehicleErrorEvent)
    assert failed.errors[0].code == "ASLEEP"
    assert failed.errors[0].signal_codes == ("closure-islocked",)


@pytest.mark.parametrize("way_in", ["transport", "respx"])
async def test_raw_response_elapsed_is_readable_in_process(
    emulator: SmartcarEmulator, way_in: str
) -> None:
    """``RawResponse.elapsed`` works on the in-process ways in, as it does over ``serve()``."""
    car = emulator.fleet()[0]
    kwargs = emulator.client_kwargs()
    with contextlib.ExitStack() as stack:
        if way_in == "respx":
            del kwargs["transport"]
            mock = stack.enter_context(respx.mock)
            mock.route(host__regex=r".*emulator\.invalid").mock(
                side_effect=emulator.respx_side_effect
            )
        async with SmartcarClient(**kwargs) as client:
            with anyio.fail_after(10):
                raw = await client.vehicles.with_raw_response.signals(
                    car.vehicle_id, user_id=car.user_id
                )
    assert isinstance(raw.elapsed, dt.timedelta)
    assert raw.elapsed >= dt.timedelta(0)
    assert raw.http_response.headers["content-length"] == str(len(raw.http_response.content))

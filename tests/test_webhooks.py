"""Inbound webhooks: signatures, VERIFY, event parsing, the receiver and its ASGI app."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcar_async import ConfigurationError, VirtualClock
from smartcar_async.webhooks import (
    DataEvent,
    UnknownEvent,
    VehicleErrorEvent,
    VehicleStateEvent,
    VerifyEvent,
    WebhookPayloadError,
    WebhookReceiver,
    WebhookResponse,
    WebhookVerificationError,
    challenge_response,
    parse_event,
    verify_signature,
)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "webhooks"
AMT = "amt-5f0c2b7e-9d41-4a3c-8e6f-1b2a3c4d5e6f"
UTC = dt.timezone.utc


def sign(body: bytes, token: str = AMT) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def all_fixtures() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def state_body(event_id: str, *, vehicle: str = "v-1") -> bytes:
    """A small signed-able VEHICLE_STATE body with the given eventId."""
    return json.dumps(
        {
            "eventId": event_id,
            "eventType": "VEHICLE_STATE",
            "vehicleId": vehicle,
            "data": {"triggers": [{"code": "FIRST_DELIVERY"}], "signals": []},
            "meta": {"version": "4.0", "mode": "LIVE"},
        }
    ).encode()


class Recorder:
    """An on_event callback that records what it was given."""

    def __init__(self) -> None:
        self.events: list[DataEvent] = []

    async def __call__(self, event: DataEvent) -> None:
        self.events.append(event)


# --------------------------------------------------------------------------- 1. signatures


@pytest.mark.parametrize("name", all_fixtures())
def test_signature_computed_with_hmac_verifies(name: str) -> None:
    body = fixture(name)
    verify_signature(body, sign(body), AMT)  # no exception


@pytest.mark.parametrize("position", [0, 57, -1])
def test_flipped_body_byte_is_rejected(position: int) -> None:
    body = fixture("vehicle_state_documented")
    signature = sign(body)
    tampered = bytearray(body)
    tampered[position] ^= 0x01
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_signature(bytes(tampered), signature, AMT)


@pytest.mark.parametrize("position", [0, 31, 63])
def test_flipped_signature_character_is_rejected(position: int) -> None:
    body = fixture("vehicle_state_documented")
    signature = sign(body)
    flipped = "0" if signature[position] != "0" else "1"
    bad = signature[:position] + flipped + signature[position + 1 :]
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_signature(body, bad, AMT)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_or_empty_signature_is_rejected(signature: str | None) -> None:
    with pytest.raises(WebhookVerificationError, match="missing SC-Signature"):
        verify_signature(fixture("vehicle_state_documented"), signature, AMT)


def test_uppercase_hex_signature_is_rejected() -> None:
    body = fixture("vehicle_state_documented")
    signature = sign(body).upper()
    assert any(c.isalpha() for c in signature)  # else upper() changed nothing
    with pytest.raises(WebhookVerificationError, match="lowercase"):
        verify_signature(body, signature, AMT)


@pytest.mark.parametrize(
    "signature",
    ["abc", "g" * 64, "0" * 63, "0" * 65, "sha256=" + "0" * 64, "é" * 64],
)
def test_malformed_signature_is_rejected(signature: str) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_signature(b"{}", signature, AMT)


def test_signature_of_reserialized_body_is_rejected() -> None:
    raw = fixture("vehicle_state_documented")
    reserialized = json.dumps(json.loads(raw)).encode()
    assert reserialized != raw
    # The sender signed the raw bytes; checking them after a decode/encode round trip fails...
    with pytest.raises(WebhookVerificationError, match="re-serialized"):
        verify_signature(reserialized, sign(raw), AMT)
    # ...and a signature made over a re-serialized body does not match the raw one.
    with pytest.raises(WebhookVerificationError):
        verify_signature(raw, sign(reserialized), AMT)


def test_signature_with_another_token_is_rejected() -> None:
    body = fixture("vehicle_state_documented")
    with pytest.raises(WebhookVerificationError):
        verify_signature(body, sign(body, "client-secret-not-the-amt"), AMT)


def test_error_messages_never_hold_the_token_or_expected_signature() -> None:
    body = fixture("vehicle_error_documented")
    expected = sign(body)
    for bad in (None, "", "x" * 64, expected.upper(), sign(body + b" "), expected[:-1]):
        with pytest.raises(WebhookVerificationError) as info:
            verify_signature(body, bad, AMT)
        text = str(info.value) + repr(info.value)
        assert AMT not in text
        assert expected not in text
        assert expected.upper() not in text


def test_text_body_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="bytes"):
        verify_signature("{}", sign(b"{}"), AMT)  # type: ignore[arg-type]


def test_empty_management_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        verify_signature(b"{}", sign(b"{}", "x"), "")
    with pytest.raises(ConfigurationError):
        WebhookReceiver("", Recorder())


@settings(max_examples=300, derandomize=True, deadline=None)
@given(body=st.binary(max_size=512), signature=st.one_of(st.none(), st.text(max_size=80)))
def test_arbitrary_signatures_raise_only_verification_errors(
    body: bytes, signature: str | None
) -> None:
    try:
        verify_signature(body, signature, AMT)
    except WebhookVerificationError:
        return
    assert signature is not None
    assert signature.strip() == sign(body)


# --------------------------------------------------------------------------- VERIFY


def test_challenge_response_is_hmac_of_the_challenge() -> None:
    challenge = "4e1f0c7a9b2d4c3e8f5a6b7c8d9e0f1a"
    expected = hmac.new(AMT.encode(), challenge.encode(), hashlib.sha256).hexdigest()
    assert challenge_response(challenge, AMT) == {"challenge": expected}


@pytest.mark.parametrize("challenge", ['{"eventType":"VEHICLE_STATE"}', ' \n\t{"a": 1}'])
def test_challenge_that_could_be_an_event_body_is_refused(challenge: str) -> None:
    # Answering would hand out a valid SC-Signature for that body.
    with pytest.raises(WebhookPayloadError, match="not a random token"):
        challenge_response(challenge, AMT)


def test_challenge_that_is_not_encodable_is_refused() -> None:
    with pytest.raises(WebhookPayloadError):
        challenge_response("\ud800", AMT)


# --------------------------------------------------------------------------- 2. parsing


def test_fixture_verify_v4() -> None:
    event = parse_event(fixture("verify_v4"))
    assert isinstance(event, VerifyEvent)
    assert event.event_type == "VERIFY"
    assert event.event_id == "0b7c3e2a-5f1d-4c1e-9a43-2f6d7f0c1a01"
    assert event.challenge == "4e1f0c7a9b2d4c3e8f5a6b7c8d9e0f1a"
    assert event.meta.version == "4.0"
    assert event.meta.webhook_name == "fleet-state"
    # ISO deliveredAt (the VERIFY example) becomes an aware datetime
    assert event.meta.delivered_at == dt.datetime(2025, 9, 12, 8, 1, 2, 345000, tzinfo=UTC)
    assert not event.is_test


def test_fixture_verify_v2_legacy() -> None:
    event = parse_event(fixture("verify_v2_legacy"))
    assert isinstance(event, VerifyEvent)
    assert event.event_id is None
    assert event.challenge == "legacy-challenge-7d3f"
    assert event.meta.version == "2.0"
    assert event.meta.webhook_id == "5a8e6c2f-3b1d-4e7a-9c0f-1d2e3f4a5b6c"


def test_fixture_vehicle_state_documented() -> None:
    event = parse_event(fixture("vehicle_state_documented"))
    assert isinstance(event, VehicleStateEvent)
    assert event.event_id == "3f1a2b4c-6d7e-4f80-9a1b-2c3d4e5f6a7b"
    assert event.event_type == "VEHICLE_STATE"
    assert event.vehicle_id == "e5b1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    assert event.user_id == "7c6b5a49-3827-4165-9e8d-7c6b5a493827"
    assert event.vehicle is not None
    assert (event.vehicle.make, event.vehicle.model, event.vehicle.year) == (
        "TESLA",
        "Model 3",
        2023,
    )
    [trigger] = event.triggers
    assert (trigger.type, trigger.code, trigger.name, trigger.group) == (
        "SIGNAL_UPDATED",
        "tractionbattery-stateofcharge",
        "StateOfCharge",
        "TractionBattery",
    )
    assert not event.is_first_delivery
    assert set(event.signals) == {
        "tractionbattery-stateofcharge",
        "closure-islocked",
        "odometer-traveleddistance",
        "location-preciselocation",  # an error-status signal is kept
    }
    assert event.signals["closure-islocked"].code == "closure-islocked"
    meta = event.meta
    assert meta.delivered_at == dt.datetime(2025, 9, 12, 8, 0, 6, 123000, tzinfo=UTC)
    assert (meta.version, meta.signal_count, meta.mode) == ("4.0", 4, "LIVE")
    assert meta.delivery_id == "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    assert not event.is_test
    assert event.raw["eventId"] == event.event_id
    assert "'eventId'" not in repr(event)  # raw JSON stays out of the repr


def test_event_vehicle_reads_mode_and_powertrain_when_sent() -> None:
    # The reference: make, model, year, mode and powertrainType come with every webhook.
    body = json.loads(fixture("vehicle_state_documented"))
    body["data"]["vehicle"].update(mode="live", powertrainType="BEV")
    event = parse_event(json.dumps(body).encode())
    assert event.vehicle is not None
    assert (event.vehicle.mode, event.vehicle.powertrain_type) == ("live", "BEV")
    assert list(event.vehicle.to_dict())[:2] == ["id", "make"]


def test_fixture_vehicle_state_first_delivery() -> None:
    event = parse_event(fixture("vehicle_state_first_delivery"))
    assert isinstance(event, VehicleStateEvent)
    [trigger] = event.triggers
    assert trigger.type == "FIRST_DELIVERY"
    assert trigger.code is None
    assert event.is_first_delivery
    assert list(event.signals) == ["charge-ischarging"]


def test_fixture_vehicle_state_observed_top_level_string_trigger() -> None:
    event = parse_event(fixture("vehicle_state_observed_toplevel_string"))
    assert isinstance(event, VehicleStateEvent)
    # no top-level vehicleId: taken from data.vehicle.id
    assert event.vehicle_id == "v-vw-id4-0001"
    [trigger] = event.triggers
    assert (trigger.type, trigger.code, trigger.name, trigger.group) == (
        "SIGNAL_UPDATED",
        "odometer-traveleddistance",
        "TraveledDistance",
        "Odometer",
    )
    assert set(event.signals) == {"odometer-traveleddistance", "tractionbattery-stateofcharge"}
    assert event.meta.delivered_at == dt.datetime(2025, 9, 12, 11, 3, 33, 456000, tzinfo=UTC)


def test_observed_retrieved_at_reaches_the_signal_like_fetched_at() -> None:
    observed = parse_event(fixture("vehicle_state_observed_toplevel_string"))
    documented = parse_event(
        json.dumps(
            {
                "eventId": "x",
                "eventType": "VEHICLE_STATE",
                "data": {
                    "signals": [
                        {
                            "code": "odometer-traveleddistance",
                            "name": "TraveledDistance",
                            "group": "Odometer",
                            "body": {"unit": "km", "value": 41235},
                            "status": {"value": "SUCCESS"},
                            "meta": {"oemUpdatedAt": 1757675000000, "fetchedAt": 1757675012000},
                        }
                    ]
                },
            }
        )
    )
    assert isinstance(observed, VehicleStateEvent)
    assert isinstance(documented, VehicleStateEvent)
    code = "odometer-traveleddistance"
    signal = observed.signals[code]
    assert signal.retrieved_at == dt.datetime(2025, 9, 12, 11, 3, 32, tzinfo=UTC)
    assert signal.oem_updated_at == dt.datetime(2025, 9, 12, 11, 3, 20, tzinfo=UTC)
    assert signal == documented.signals[code]


def test_fixture_vehicle_state_responses_page_object_trigger() -> None:
    event = parse_event(fixture("vehicle_state_responses_page"))
    assert isinstance(event, VehicleStateEvent)
    [trigger] = event.triggers
    assert (trigger.type, trigger.code, trigger.name, trigger.group) == (
        "SIGNAL_UPDATED",
        "charge-ischarging",
        "IsCharging",
        "Charge",
    )
    assert event.vehicle is not None
    assert event.vehicle.year == 2021  # sent as the string "2021"
    assert event.meta.delivered_at == dt.datetime(2025, 9, 12, 12, 26, 45, tzinfo=UTC)


def test_fixture_vehicle_state_test_mode() -> None:
    event = parse_event(fixture("vehicle_state_test_mode"))
    assert isinstance(event, VehicleStateEvent)
    assert event.meta.mode == "TEST"
    assert event.is_test


def test_fixture_vehicle_error_documented() -> None:
    event = parse_event(fixture("vehicle_error_documented"))
    assert isinstance(event, VehicleErrorEvent)
    assert event.event_type == "VEHICLE_ERROR"
    assert event.vehicle_id == "e5b1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    assert event.user_id == "7c6b5a49-3827-4165-9e8d-7c6b5a493827"
    [error] = event.errors
    assert (error.type, error.code, error.state) == (
        "CONNECTED_SERVICES_ACCOUNT",
        "VIRTUAL_KEY_REQUIRED",
        "ERROR",
    )
    assert error.description == "The vehicle owner needs to add a virtual key."
    assert error.suggested_user_message == "Add the Smartcar virtual key in your Tesla app."
    assert error.doc_url is not None
    assert error.doc_url.endswith("#virtual-key-required")
    assert error.resolution == "USER_ACTION_REQUIRED"
    assert error.signals == ("closure-islocked", "tractionbattery-stateofcharge")
    assert not error.is_resolved
    assert event.meta.webhook_name == "fleet-errors"
    assert event.meta.delivered_at == dt.datetime(2025, 9, 12, 18, 0, tzinfo=UTC)


def test_fixture_vehicle_error_observed() -> None:
    event = parse_event(fixture("vehicle_error_observed"))
    assert isinstance(event, VehicleErrorEvent)
    assert event.vehicle_id == "v-vw-id4-0001"  # from data.vehicle.id
    asleep, permission = event.errors
    assert (asleep.type, asleep.code, asleep.state) == ("VEHICLE_STATE", "ASLEEP", "RESOLVED")
    assert asleep.is_resolved
    assert asleep.suggested_user_message is None
    assert asleep.resolution == "RETRY_LATER"
    # a "Group.Name" string, and an object whose name and group came swapped
    assert asleep.signals == ("TractionBattery.StateOfCharge", "TractionBattery.Range")
    assert asleep.signal_codes == ("tractionbattery-stateofcharge", "tractionbattery-range")
    assert (permission.type, permission.code) == ("PERMISSION", None)
    assert permission.signal_codes == ("location-preciselocation",)
    assert event.meta.delivered_at == dt.datetime(2025, 9, 12, 16, 0, tzinfo=UTC)


def test_fixture_unknown_event_type() -> None:
    event = parse_event(fixture("unknown_event_type"))
    assert isinstance(event, UnknownEvent)
    assert event.event_type == "VEHICLE_CONNECTED"
    assert event.event_id == "cc33dd44-ee55-4f66-8a77-118899aabbcc"
    assert event.vehicle_id == "e5b1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    assert event.raw["data"]["vehicle"]["make"] == "TESLA"


@pytest.mark.parametrize("name", all_fixtures())
def test_every_input_form_gives_the_same_event(name: str) -> None:
    body = fixture(name)
    from_bytes = parse_event(body)
    assert parse_event(body.decode()) == from_bytes
    assert parse_event(json.loads(body)) == from_bytes


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2]",
        b'"VERIFY"',
        b"null",
        b"{}",
        b'{"eventType": 7}',
        b'{"eventType": "  "}',
        b'{"eventType": "VERIFY", "data": {}}',
        b'{"eventType": "VERIFY", "data": {"challenge": ["x"]}}',
        b"\xef\xbb\xbf" + fixture("verify_v4"),  # a BOM: not what was meant to be signed
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_non_events_raise_payload_error(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_event(body)


def test_trigger_and_signal_variants_are_tolerated() -> None:
    event = parse_event(
        {
            "eventId": "e",
            "eventType": "vehicle_state",
            "data": {
                "triggers": [
                    {"type": "SIGNAL_UPDATED", "signal": "closure-islocked"},
                    {"type": "SIGNAL_UPDATED", "name": "Location.PreciseLocation"},
                    "FIRST_DELIVERY",
                    "Charge.IsCharging",
                    {},
                    7,
                ],
                "signals": [
                    "not-a-signal",
                    {"code": "closure-islocked", "body": {"value": True}},
                ],
            },
            "meta": {"deliveredAt": "1757664006123", "signalCount": "2", "mode": "test"},
        }
    )
    assert isinstance(event, VehicleStateEvent)
    assert [(t.type, t.code, t.group, t.name) for t in event.triggers] == [
        ("SIGNAL_UPDATED", "closure-islocked", None, None),
        ("SIGNAL_UPDATED", "location-preciselocation", "Location", "PreciseLocation"),
        ("FIRST_DELIVERY", None, None, None),
        ("SIGNAL_UPDATED", "charge-ischarging", "Charge", "IsCharging"),
    ]
    assert list(event.signals) == ["closure-islocked"]
    assert event.meta.delivered_at == dt.datetime(2025, 9, 12, 8, 0, 6, 123000, tzinfo=UTC)
    assert event.meta.signal_count == 2
    assert event.is_test


def test_wrongly_typed_parts_degrade_to_none() -> None:
    event = parse_event(
        {
            "eventId": "e",
            "eventType": "VEHICLE_ERROR",
            "vehicleId": ["nope"],
            "data": {"vehicle": "x", "user": 5, "errors": {"not": "a list"}},
            "meta": {"deliveredAt": "²", "signalCount": True, "version": None},
        }
    )
    assert isinstance(event, VehicleErrorEvent)
    assert (event.vehicle_id, event.user_id, event.vehicle, event.errors) == (None, None, None, ())
    assert (event.meta.delivered_at, event.meta.signal_count) == (None, None)


# Every JSON value, and event-shaped objects whose every field may hold any of them.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
SIGNAL_REF = st.sampled_from(["Odometer.TraveledDistance", "closure-islocked", ".", "A.", ""])
TRIGGER = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(st.sampled_from(["SIGNAL_UPDATED", "FIRST_DELIVERY"]), JSON),
            "code": st.one_of(st.sampled_from(["FIRST_DELIVERY", "charge-ischarging"]), JSON),
            "name": st.one_of(SIGNAL_REF, JSON),
            "group": st.one_of(st.sampled_from(["Charge", "TractionBattery"]), JSON),
            "signal": st.one_of(SIGNAL_REF, JSON, st.dictionaries(st.text(max_size=6), JSON)),
        },
    ),
)
SIGNAL = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {},
        optional={
            "code": st.one_of(st.just("closure-islocked"), JSON),
            "name": JSON,
            "group": JSON,
            "body": JSON,
            "status": st.one_of(st.just({"value": "ERROR", "error": {"type": "X"}}), JSON),
            "meta": st.one_of(
                st.fixed_dictionaries(
                    {}, optional={"fetchedAt": JSON, "retrievedAt": JSON, "oemUpdatedAt": JSON}
                ),
                JSON,
            ),
        },
    ),
)
ERROR = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {},
        optional={
            "type": JSON,
            "code": JSON,
            "state": st.one_of(st.sampled_from(["ERROR", "RESOLVED"]), JSON),
            "resolution": st.one_of(st.fixed_dictionaries({"type": JSON}), JSON),
            "signals": st.one_of(st.lists(st.one_of(SIGNAL_REF, TRIGGER), max_size=3), JSON),
            "docURL": JSON,
        },
    ),
)
DATA = st.fixed_dictionaries(
    {},
    optional={
        "challenge": st.one_of(st.text(max_size=30), JSON),
        "user": st.one_of(st.fixed_dictionaries({"id": JSON}), JSON),
        "vehicle": st.one_of(
            st.fixed_dictionaries({}, optional={"id": JSON, "year": JSON, "make": JSON}), JSON
        ),
        "triggers": st.one_of(st.lists(TRIGGER, max_size=3), JSON),
        "signals": st.one_of(st.lists(SIGNAL, max_size=3), JSON),
        "errors": st.one_of(st.lists(ERROR, max_size=3), JSON),
    },
)
EVENT = st.fixed_dictionaries(
    {},
    optional={
        "eventId": JSON,
        "eventType": st.one_of(
            st.sampled_from(["VERIFY", "VEHICLE_STATE", "VEHICLE_ERROR", "NEW_THING"]), JSON
        ),
        "eventName": st.one_of(st.just("verify"), JSON),
        "version": JSON,
        "payload": st.one_of(st.fixed_dictionaries({"challenge": JSON}), JSON),
        "vehicleId": JSON,
        "triggers": st.one_of(st.lists(TRIGGER, max_size=3), JSON),
        "data": st.one_of(DATA, JSON),
        "meta": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "deliveredAt": st.one_of(st.text(max_size=30), JSON),
                    "signalCount": JSON,
                    "mode": JSON,
                },
            ),
            JSON,
        ),
    },
)


@settings(
    max_examples=600,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(value=st.one_of(EVENT, JSON))
def test_generated_json_never_raises_anything_but_payload_errors(value: Any) -> None:
    for body in (value, json.dumps(value).encode(), json.dumps(value)):
        if not isinstance(body, (bytes, str, Mapping)):
            continue
        try:
            event = parse_event(body)
        except WebhookPayloadError:
            continue
        assert isinstance(event, (VerifyEvent, VehicleStateEvent, VehicleErrorEvent, UnknownEvent))
        repr(event)  # the repr of a tolerant model must not fail either


@settings(max_examples=300, derandomize=True, deadline=None)
@given(body=st.binary(max_size=256))
def test_generated_bytes_never_raise_anything_but_payload_errors(body: bytes) -> None:
    with contextlib.suppress(WebhookPayloadError):
        parse_event(body)


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(value=st.one_of(EVENT, JSON), signed=st.booleans())
def test_receiver_answers_every_generated_body(value: Any, signed: bool) -> None:
    async def noop(event: DataEvent) -> None:
        pass

    receiver = WebhookReceiver(AMT, noop)
    body = json.dumps(value).encode()
    headers = {"SC-Signature": sign(body)} if signed else {}
    result = anyio.run(receiver.handle, body, headers)
    assert result.status in (200, 400, 401)
    json.loads(result.json_bytes())
    if not signed and result.status == 200:
        assert set(result.body) == {"challenge"}  # only VERIFY gets past a missing signature


# --------------------------------------------------------------------------- receiver


def make_receiver(
    on_event: Callable[[DataEvent], Any] | None = None, **kwargs: Any
) -> tuple[WebhookReceiver, Recorder]:
    recorder = Recorder()
    return WebhookReceiver(AMT, on_event or recorder, **kwargs), recorder


async def deliver(receiver: WebhookReceiver, body: bytes, **headers: str) -> WebhookResponse:
    return await receiver.handle(body, headers or {"SC-Signature": sign(body)})


@pytest.mark.parametrize("name", ["verify_v4", "verify_v2_legacy"])
async def test_verify_is_answered_before_any_signature_check(name: str) -> None:
    receiver, recorder = make_receiver()
    body = fixture(name)
    challenge = parse_event(body)
    assert isinstance(challenge, VerifyEvent)
    expected = challenge_response(challenge.challenge, AMT)
    with anyio.fail_after(5):
        unsigned = await receiver.handle(body, {})
        wrongly_signed = await receiver.handle(body, {"sc-signature": "0" * 64})
        signed = await deliver(receiver, body)
    for result in (unsigned, wrongly_signed, signed):
        assert (result.status, result.body) == (200, expected)
        assert json.loads(result.json_bytes()) == expected
    assert recorder.events == []  # VERIFY is the receiver's business, not the callback's


async def test_unsigned_verify_with_event_shaped_challenge_is_refused() -> None:
    receiver, _ = make_receiver()
    forged = state_body("forged")
    body = json.dumps({"eventType": "VERIFY", "data": {"challenge": forged.decode()}}).encode()
    with anyio.fail_after(5):
        result = await receiver.handle(body, {})
    assert result.status == 400
    assert sign(forged) not in result.json_bytes().decode()


@pytest.mark.parametrize("header", ["SC-Signature", "sc-signature", "SC-SIGNATURE", "Sc-SiGnAtUrE"])
async def test_signed_event_reaches_the_callback(header: str) -> None:
    receiver, recorder = make_receiver()
    body = fixture("vehicle_state_documented")
    with anyio.fail_after(5):
        result = await receiver.handle(
            body, {"Content-Type": "application/json", header: sign(body)}
        )
    assert (result.status, result.body) == (200, {"status": "ok"})
    [event] = recorder.events
    assert isinstance(event, VehicleStateEvent)
    assert event.event_id == "3f1a2b4c-6d7e-4f80-9a1b-2c3d4e5f6a7b"


async def test_headers_from_httpx_are_accepted() -> None:
    receiver, recorder = make_receiver()
    body = fixture("vehicle_error_documented")
    with anyio.fail_after(5):
        result = await receiver.handle(body, httpx.Headers({"SC-Signature": sign(body)}))
    assert result.status == 200
    assert isinstance(recorder.events[0], VehicleErrorEvent)


@pytest.mark.parametrize("signature", [None, "", "0" * 64, "ABCDEF" * 10 + "ABCD", "too-short"])
async def test_bad_signature_answers_401_and_skips_the_callback(signature: str | None) -> None:
    receiver, recorder = make_receiver()
    body = fixture("vehicle_state_documented")
    headers = {} if signature is None else {"SC-Signature": signature}
    with anyio.fail_after(5):
        result = await receiver.handle(body, headers)
    assert result.status == 401
    assert "error" in result.body
    assert AMT not in result.json_bytes().decode()
    assert recorder.events == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"hello": "world"}'])
async def test_signed_non_event_answers_400(body: bytes) -> None:
    receiver, recorder = make_receiver()
    with anyio.fail_after(5):
        result = await deliver(receiver, body)
    assert result.status == 400
    assert recorder.events == []


async def test_unknown_and_test_events_reach_the_callback() -> None:
    receiver, recorder = make_receiver()
    with anyio.fail_after(5):
        for name in ("unknown_event_type", "vehicle_state_test_mode"):
            assert (await deliver(receiver, fixture(name))).status == 200
    unknown, test = recorder.events
    assert isinstance(unknown, UnknownEvent)
    assert isinstance(test, VehicleStateEvent)
    assert test.is_test


async def test_oversized_body_answers_413() -> None:
    receiver, recorder = make_receiver(max_body_size=100)
    body = state_body("big") + b" " * 100
    with anyio.fail_after(5):
        result = await deliver(receiver, body)
    assert result.status == 413
    assert recorder.events == []


# --------------------------------------------------------------------------- 3. dedupe


async def test_same_event_id_twice_reaches_the_callback_once() -> None:
    receiver, recorder = make_receiver()
    body = fixture("vehicle_state_documented")
    # A retry carries the same eventId but a new deliveryId: a different body.
    retry = body.replace(
        b"1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", b"ffffffff-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    )
    assert retry != body
    with anyio.fail_after(5):
        first = await deliver(receiver, body)
        second = await deliver(receiver, retry)
    assert (first.status, first.body) == (200, {"status": "ok"})
    assert (second.status, second.body) == (200, {"status": "duplicate"})
    assert len(recorder.events) == 1


async def test_concurrent_duplicates_reach_the_callback_once() -> None:
    entered = anyio.Event()
    release = anyio.Event()
    calls: list[str | None] = []

    async def slow(event: DataEvent) -> None:
        calls.append(event.event_id)
        entered.set()
        await release.wait()

    receiver, _ = make_receiver(slow)
    body = state_body("same-id")
    results: list[WebhookResponse] = []

    async def one() -> None:
        results.append(await deliver(receiver, body))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            await entered.wait()
            tg.start_soon(one)
            tg.start_soon(one)
            await anyio.wait_all_tasks_blocked()  # both duplicates now wait on the first
            assert calls == ["same-id"]
            release.set()
    assert calls == ["same-id"]
    assert sorted(r.body["status"] for r in results) == ["duplicate", "duplicate", "ok"]
    assert all(r.status == 200 for r in results)


async def test_concurrent_duplicate_takes_over_when_the_first_callback_fails() -> None:
    entered = anyio.Event()
    release = anyio.Event()
    calls = 0

    async def flaky(event: DataEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await release.wait()
            raise RuntimeError("database down")

    receiver, _ = make_receiver(flaky)
    body = state_body("retry-me")
    results: list[int] = []

    async def one() -> None:
        results.append((await deliver(receiver, body)).status)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            await entered.wait()
            tg.start_soon(one)
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert sorted(results) == [200, 500]
        assert calls == 2
        # the event is now handled: a third copy is a duplicate
        assert (await deliver(receiver, body)).body == {"status": "duplicate"}
    assert calls == 2


async def test_callback_error_answers_500_and_the_retry_is_processed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0

    async def fails_once(event: DataEvent) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("boom")

    receiver, _ = make_receiver(fails_once)
    body = state_body("evt-500")
    with anyio.fail_after(5):
        first = await deliver(receiver, body)
        second = await deliver(receiver, body)
        third = await deliver(receiver, body)
    assert (first.status, first.body) == (500, {"error": "event handler failed"})
    assert "boom" not in first.json_bytes().decode()
    assert (second.status, second.body) == (200, {"status": "ok"})
    assert third.body == {"status": "duplicate"}
    assert attempts == 2
    assert any("evt-500" in r.getMessage() for r in caplog.records)


async def test_cancelled_callback_forgets_the_event_id() -> None:
    entered = anyio.Event()
    calls = 0

    async def hangs_first(event: DataEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await anyio.sleep_forever()

    receiver, _ = make_receiver(hangs_first)
    body = state_body("cancel-me")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(deliver, receiver, body)
            await entered.wait()
            tg.cancel_scope.cancel()
        assert receiver.dedupe_size == 0
        assert (await deliver(receiver, body)).body == {"status": "ok"}
    assert calls == 2


async def test_event_without_id_is_delivered_every_time() -> None:
    receiver, recorder = make_receiver()
    body = json.dumps({"eventType": "VEHICLE_STATE", "data": {}}).encode()
    with anyio.fail_after(5):
        for _ in range(2):
            assert (await deliver(receiver, body)).status == 200
    assert len(recorder.events) == 2
    assert receiver.dedupe_size == 0


async def test_dedupe_memory_stays_within_capacity_after_100000_events() -> None:
    capacity = 1_000
    receiver, recorder = make_receiver(dedupe_capacity=capacity)
    prefix = b'{"eventType":"VEHICLE_STATE","eventId":"'
    with anyio.fail_after(120):
        for i in range(100_000):
            body = b'%s%d"}' % (prefix, i)
            result = await receiver.handle(body, {"sc-signature": sign(body)})
            assert result.status == 200
            assert receiver.dedupe_size <= capacity
        assert len(recorder.events) == 100_000
        assert receiver.dedupe_size == capacity
        # the newest ids are still remembered, the oldest were evicted
        newest = b'%s%d"}' % (prefix, 99_999)
        oldest = b'%s%d"}' % (prefix, 0)
        assert (await deliver(receiver, newest)).body == {"status": "duplicate"}
        assert (await deliver(receiver, oldest)).body == {"status": "ok"}
    assert receiver.dedupe_size == capacity
    assert f"remembered={capacity}" in repr(receiver)
    assert AMT not in repr(receiver)


async def test_dedupe_forgets_after_the_ttl() -> None:
    clock = VirtualClock()
    receiver, recorder = make_receiver(dedupe_ttl=600.0, clock=clock)
    body = state_body("ttl")
    with anyio.fail_after(5):
        await deliver(receiver, body)
        clock.advance(599)
        assert (await deliver(receiver, body)).body == {"status": "duplicate"}  # refreshes
        clock.advance(599)
        assert (await deliver(receiver, body)).body == {"status": "duplicate"}
        clock.advance(600)
        assert (await deliver(receiver, body)).body == {"status": "ok"}
    assert len(recorder.events) == 2


async def test_zero_capacity_still_merges_concurrent_duplicates() -> None:
    entered = anyio.Event()
    release = anyio.Event()
    calls = 0

    async def slow(event: DataEvent) -> None:
        nonlocal calls
        calls += 1
        entered.set()
        await release.wait()

    receiver, _ = make_receiver(slow, dedupe_capacity=0)
    body = state_body("zero")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(deliver, receiver, body)
            await entered.wait()
            tg.start_soon(deliver, receiver, body)
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert calls == 1
        assert receiver.dedupe_size == 0


@pytest.mark.parametrize(
    "kwargs", [{"dedupe_capacity": -1}, {"dedupe_ttl": 0}, {"max_body_size": 0}]
)
def test_bad_receiver_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        WebhookReceiver(AMT, Recorder(), **kwargs)


# --------------------------------------------------------------------------- ASGI


async def test_asgi_app_through_httpx() -> None:
    receiver, recorder = make_receiver(max_body_size=10_000)
    transport = httpx.ASGITransport(app=receiver.asgi_app())
    body = fixture("vehicle_state_documented")
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        with anyio.fail_after(10):
            ok = await client.post(
                "/webhooks/smartcar", content=body, headers={"SC-Signature": sign(body)}
            )
            dup = await client.post("/", content=body, headers={"sc-signature": sign(body)})
            unsigned = await client.post("/webhooks/smartcar", content=body)
            verify = await client.post("/webhooks/smartcar", content=fixture("verify_v4"))
            wrong_method = await client.get("/webhooks/smartcar")
            two_headers = await client.post(
                "/",
                content=body,
                headers=[("SC-Signature", sign(body)), ("SC-Signature", sign(body))],
            )
    assert (ok.status_code, ok.json()) == (200, {"status": "ok"})
    assert ok.headers["content-type"] == "application/json"
    assert dup.json() == {"status": "duplicate"}
    assert unsigned.status_code == 401
    assert verify.json() == challenge_response("4e1f0c7a9b2d4c3e8f5a6b7c8d9e0f1a", AMT)
    assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "POST")
    assert two_headers.status_code == 401
    assert len(recorder.events) == 1


async def test_asgi_app_stops_reading_an_oversized_body() -> None:
    receiver, recorder = make_receiver(max_body_size=10_000)
    app = receiver.asgi_app()
    chunk = {"type": "http.request", "body": b"x" * 6_000, "more_body": True}
    reads = 0
    sent: list[Any] = []

    async def receive() -> Any:
        nonlocal reads
        reads += 1
        return chunk

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    with anyio.fail_after(5):
        await app(scope, receive, send)
    assert reads == 2  # 12,000 bytes seen: no more is read
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "payload too large"}
    assert recorder.events == []


async def test_asgi_app_does_not_answer_a_client_that_left() -> None:
    receiver, recorder = make_receiver()
    app = receiver.asgi_app()
    messages = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    with anyio.fail_after(5):
        await app(scope, receive, send)
    assert sent == []
    assert recorder.events == []


async def test_asgi_app_handles_lifespan() -> None:
    receiver, _ = make_receiver()
    app = receiver.asgi_app()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Any] = []

    async def receive() -> Any:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    with anyio.fail_after(5):
        await app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# --------------------------------------------------------------------------- 4. the docs example


def load_example() -> ModuleType:
    path = ROOT / "examples" / "webhook_app.py"
    spec = importlib.util.spec_from_file_location("webhook_app_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def drive_example(app: Any, store: Any, path: str) -> None:
    transport = httpx.ASGITransport(app=app)
    state = fixture("vehicle_state_observed_toplevel_string")
    error = fixture("vehicle_error_documented")
    async with httpx.AsyncClient(transport=transport, base_url="http://example") as client:
        with anyio.fail_after(10):
            verify = await client.post(path, content=fixture("verify_v4"))
            assert verify.status_code == 200
            assert verify.json() == challenge_response("4e1f0c7a9b2d4c3e8f5a6b7c8d9e0f1a", AMT)
            for body in (state, state, error, fixture("vehicle_state_test_mode")):
                response = await client.post(
                    path, content=body, headers={"SC-Signature": sign(body)}
                )
                assert response.status_code == 200, response.text
            forged = await client.post(path, content=state, headers={"SC-Signature": "0" * 64})
            assert forged.status_code == 401
    assert store.deliveries == 2  # the retry was dropped, the TEST event ignored
    assert store.state_of_charge == {"v-vw-id4-0001": 64}
    assert [e.code for e in store.open_errors["e5b1c2d3-4f5a-4b6c-8d7e-9f0a1b2c3d4e"]] == [
        "VIRTUAL_KEY_REQUIRED"
    ]


async def test_docs_example_plain_asgi_app() -> None:
    example = load_example()
    store = example.EventStore()
    app = example.create_asgi_app(AMT, store=store)
    await drive_example(app, store, "/")


async def test_docs_example_starlette_app() -> None:
    pytest.importorskip("starlette")
    example = load_example()
    store = example.EventStore()
    app = example.create_starlette_app(AMT, store=store)
    await drive_example(app, store, "/webhooks/smartcar")

"""Hardening, webhooks (issue 15): the VERIFY challenge is no signing oracle (item 1),
and a captured delivery cannot be replayed once de-duplication forgot it (item 10)."""

from __future__ import annotations

import json

import anyio
import pytest
from reliability_support import TIMEOUT

from smartcar_async import WebhookPayloadError
from smartcar_async.webhooks import (
    MAX_CHALLENGE_LENGTH,
    RECOMMENDED_MAX_DELIVERY_AGE,
    WebhookReceiver,
    challenge_response,
    parse_event,
    verify_signature,
)

AMT = "amt-hardening-0123456789"

FORGED_EVENT = json.dumps(
    {
        "eventId": "forged-1",
        "eventType": "VEHICLE_STATE",
        "vehicleId": "victim",
        "data": {"user": {"id": "u"}, "vehicle": {"id": "victim"}, "signals": []},
        "meta": {"version": "4.0", "deliveryId": "d", "webhookId": "w"},
    }
)

# Text that json.loads(bytes) decodes into the forged event once the challenge's answer
# (an HMAC of the text's UTF-8 bytes, or of text a receiver re-encodes) is used as its
# signature: a BOM, and the event spelled out as UTF-16-BE / UTF-32-BE code units.
FORGED_CHALLENGES = {
    "utf-8 BOM": "\ufeff" + FORGED_EVENT,
    "utf-16-be": FORGED_EVENT.encode("utf-16-be").decode("latin-1"),
    "utf-32-be": FORGED_EVENT.encode("utf-32-be").decode("latin-1"),
    "leading blank and brace": " \n{" + FORGED_EVENT[1:],
    "json array": "[" + FORGED_EVENT + "]",
}


def unsigned_verify(challenge: str) -> bytes:
    return json.dumps(
        {
            "eventId": "52f6e0bb-1369-45da-a61c-9e67d092d6db",
            "eventType": "VERIFY",
            "data": {"challenge": challenge},
            "meta": {"version": "4.0", "webhookId": "w", "deliveryId": "d"},
        }
    ).encode()


async def ignore(event: object) -> None:
    return None


@pytest.mark.parametrize("kind", sorted(FORGED_CHALLENGES))
def test_a_forged_event_as_challenge_is_refused(kind: str) -> None:
    challenge = FORGED_CHALLENGES[kind]
    with pytest.raises(WebhookPayloadError):
        challenge_response(challenge, AMT)


@pytest.mark.parametrize("kind", sorted(FORGED_CHALLENGES))
@pytest.mark.anyio
async def test_the_receiver_answers_a_forged_challenge_with_400(kind: str) -> None:
    receiver = WebhookReceiver(AMT, ignore)
    with anyio.fail_after(TIMEOUT):
        result = await receiver.handle(unsigned_verify(FORGED_CHALLENGES[kind]), {})
    assert result.status == 400
    assert "challenge" not in result.body


def test_the_attack_this_prevents_is_real() -> None:
    """Why it matters: the old answer was a valid signature for a decodable event."""
    import hashlib
    import hmac

    body = FORGED_CHALLENGES["utf-16-be"].encode("latin-1")
    signature = hmac.new(AMT.encode(), body, hashlib.sha256).hexdigest()
    verify_signature(body, signature, AMT)  # accepted: the body is what was "signed"
    # ...and a receiver that decodes the verified bytes with json.loads reads the event
    # (the SDK's own parser insists on UTF-8 and refuses it).
    assert json.loads(body)["eventType"] == "VEHICLE_STATE"
    with pytest.raises(WebhookPayloadError):
        parse_event(body)


@pytest.mark.parametrize(
    "challenge",
    [
        "3a5c8f72-e6d9-4b1a-9f2e-8c7d6a5b4e3f",  # the documented example: a UUID
        "0123456789abcdef0123456789abcdef",  # hex, as the emulator sends
        "q83vEjRWeJq8_-0=",  # base64url
        "A+b/C=",  # base64
        "x" * MAX_CHALLENGE_LENGTH,
    ],
)
def test_random_token_challenges_are_answered(challenge: str) -> None:
    import hashlib
    import hmac

    expected = hmac.new(AMT.encode(), challenge.encode(), hashlib.sha256).hexdigest()
    assert challenge_response(challenge, AMT) == {"challenge": expected}


@pytest.mark.parametrize(
    "challenge",
    ["", "x" * (MAX_CHALLENGE_LENGTH + 1), "two words", "é", "a\nb", "a\x00b", '"a"', "{}"],
)
def test_anything_else_is_refused(challenge: str) -> None:
    with pytest.raises(WebhookPayloadError):
        challenge_response(challenge, AMT)


@pytest.mark.anyio
async def test_the_receiver_still_answers_a_genuine_verify() -> None:
    receiver = WebhookReceiver(AMT, ignore)
    challenge = "3a5c8f72-e6d9-4b1a-9f2e-8c7d6a5b4e3f"
    with anyio.fail_after(TIMEOUT):
        result = await receiver.handle(unsigned_verify(challenge), {})
    assert result.status == 200
    assert result.body == challenge_response(challenge, AMT)


# ----------------------------------------------------------------- item 10: replays

NOW = 1_790_000_000.0  # the receiver's wall clock in these tests (Unix seconds)


def signed_state(event_id: str, delivered_at: float | None) -> tuple[bytes, dict[str, str]]:
    import hashlib
    import hmac

    meta: dict[str, object] = {"version": "4.0", "mode": "LIVE", "deliveryId": "d"}
    if delivered_at is not None:
        meta["deliveredAt"] = int(delivered_at * 1000)
    body = json.dumps(
        {
            "eventId": event_id,
            "eventType": "VEHICLE_STATE",
            "vehicleId": "v-1",
            "data": {"triggers": [{"code": "FIRST_DELIVERY"}], "signals": []},
            "meta": meta,
        }
    ).encode()
    return body, {"SC-Signature": hmac.new(AMT.encode(), body, hashlib.sha256).hexdigest()}


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []

    async def __call__(self, event: object) -> None:
        self.events.append(event)


@pytest.mark.anyio
async def test_a_replay_after_the_dedupe_memory_forgot_it_is_refused() -> None:
    recorder = Recorder()
    receiver = WebhookReceiver(
        AMT,
        recorder,
        dedupe_capacity=1,  # the memory forgets after one newer event
        max_delivery_age=RECOMMENDED_MAX_DELIVERY_AGE,
        wall_clock=lambda: now,
    )
    now = NOW
    captured = signed_state("evt-1", delivered_at=NOW)
    with anyio.fail_after(TIMEOUT):
        assert (await receiver.handle(*captured)).status == 200
        assert (await receiver.handle(*signed_state("evt-2", delivered_at=NOW))).status == 200
        now = NOW + 3600  # an hour later the attacker replays the captured delivery
        replay = await receiver.handle(*captured)
    assert replay.status == 400
    assert "replay" in replay.body["error"]
    assert len(recorder.events) == 2  # the callback never saw the replay


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (0, 200),
        (175 + 15, 200),  # the last retry, at its 15 s timeout
        (RECOMMENDED_MAX_DELIVERY_AGE, 200),
        (-60, 200),  # our clock a minute behind Smartcar's
        (RECOMMENDED_MAX_DELIVERY_AGE + 1, 400),
        (-(RECOMMENDED_MAX_DELIVERY_AGE + 1), 400),  # from the future
    ],
)
@pytest.mark.anyio
async def test_the_recommended_tolerance_survives_the_retry_schedule(
    offset: float, status: int
) -> None:
    receiver = WebhookReceiver(
        AMT,
        Recorder(),
        max_delivery_age=RECOMMENDED_MAX_DELIVERY_AGE,
        wall_clock=lambda: NOW + offset,
    )
    with anyio.fail_after(TIMEOUT):
        result = await receiver.handle(*signed_state("evt-1", delivered_at=NOW))
    assert result.status == status


@pytest.mark.anyio
async def test_freshness_is_off_unless_asked_for_and_ignores_missing_timestamps() -> None:
    old = signed_state("evt-1", delivered_at=NOW - 10 * 86400)
    unstamped = signed_state("evt-2", delivered_at=None)
    default = WebhookReceiver(AMT, Recorder(), wall_clock=lambda: NOW)
    strict = WebhookReceiver(AMT, Recorder(), max_delivery_age=60, wall_clock=lambda: NOW)
    with anyio.fail_after(TIMEOUT):
        assert (await default.handle(*old)).status == 200
        assert (await strict.handle(*unstamped)).status == 200
        assert (await strict.handle(*old)).status == 400


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_a_nonsense_tolerance_is_a_configuration_error(bad: float) -> None:
    from smartcar_async import ConfigurationError

    with pytest.raises(ConfigurationError):
        WebhookReceiver(AMT, Recorder(), max_delivery_age=bad)

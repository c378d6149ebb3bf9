"""No credential ever shows: every code path with DEBUG logging, every error type raised,
and everything a developer or an error tracker may print is scanned.

The secrets: the client secret (of a working and of a refused client), the Application
Management Token, every access token the emulator issued (recorded off the wire), and
the ``Authorization`` header values the SDK sent (``Bearer ...`` and ``Basic ...``).

Scanned: what the ``smartcar_async`` logger recorded (a handler of its own, exceptions
formatted), every log record of every logger (httpx's and httpcore's included), what
``SMARTCAR_LOG=debug`` printed on stderr, the ``repr``/``str`` of the client, its
token manager, credentials, tokens, store, models, pages, raw responses and fan-out
outcomes, and for every error its ``str``, ``repr``, ``args``, the response and request
it wraps, and ``traceback.format_exception`` (with the whole chain).

`tests/test_logging_secrets.py` does the same against a scripted fake; this one runs
against the emulator and adds the management token, Basic auth, webhooks and the whole
error tree.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator

import anyio
import httpx
import pytest
from reliability_support import LOCK, SIGNALS, TIMEOUT, RecordingClock, autojump, bev

import smartcar_async._logging as sdk_logging
from smartcar_async import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingError,
    CommandFailedError,
    CompatibilityError,
    ConfigurationError,
    ConnectedServicesAccountError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SmartcarClient,
    SmartcarError,
    TokenConnectionError,
    TokenError,
    UpstreamError,
    ValidationError,
    VehicleStateError,
    WebhookPayloadError,
    WebhookVerificationError,
    webhooks,
)
from smartcar_async.testing import Fault, SmartcarEmulator

pytestmark = pytest.mark.anyio

WRONG_SECRET = "wrong-secret-0f9e8d7c6b5a"
EVERY_ERROR = {
    ValidationError, ConnectedServicesAccountError, AuthenticationError, PermissionDeniedError,
    NotFoundError, VehicleStateError, RateLimitError, BillingError, ServerError,
    CompatibilityError, UpstreamError, APIStatusError, APIConnectionError, APITimeoutError,
    APIResponseError, CommandFailedError, TokenError, TokenConnectionError, ConfigurationError,
    WebhookVerificationError, WebhookPayloadError,
}  # fmt: skip


class Recording(logging.Handler):
    """Keeps every record of the ``smartcar_async`` logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recording]:
    """``SMARTCAR_LOG=debug`` as a fresh process sees it, plus a recording handler."""
    logger = logging.getLogger("smartcar_async")
    handlers, level = list(logger.handlers), logger.level
    monkeypatch.setenv("SMARTCAR_LOG", "debug")
    monkeypatch.setattr(sdk_logging, "_configured", False)
    handler = Recording()
    logger.addHandler(handler)
    yield handler
    for extra in logger.handlers:
        if extra not in handlers:
            logger.removeHandler(extra)
    logger.setLevel(level)


class Wire(httpx.AsyncBaseTransport):
    """The emulator in-process; records every token issued and Authorization sent."""

    def __init__(self, emulator: SmartcarEmulator) -> None:
        self._inner = emulator.transport()
        self.tokens: set[str] = set()
        self.authorizations: set[str] = set()
        self.time_out_next = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        authorization = request.headers.get("authorization")
        if authorization:
            self.authorizations.add(authorization)
        if self.time_out_next:
            self.time_out_next = False
            raise httpx.ReadTimeout("timed out reading the answer", request=request)
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        if request.url.path.endswith("/oauth2/token") and response.status_code == 200:
            # A malformed-JSON fault issues no token.
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.tokens.add(json.loads(body)["access_token"])
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def shown_by(error: BaseException) -> list[str]:
    """Everything about an error that ends up in logs, consoles and error trackers."""
    texts = [str(error), repr(error), repr(error.args)]
    texts.append("".join(traceback.format_exception(error)))
    response = getattr(error, "response", None)
    if isinstance(response, httpx.Response):
        texts += [repr(response), repr(response.headers), response.text[:2000]]
        texts += [repr(response.request), repr(response.request.headers)]
    for name, value in vars(error).items():
        if name != "response":
            texts.append(f"{name}={value!r}")
    return texts


@pytest.mark.filterwarnings("ignore::smartcar_async.ExperimentalWarning")  # charge port
async def test_no_secret_in_logs_reprs_errors_or_tracebacks(
    recording: Recording, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: the SDK's, httpx's, httpcore's
    clock = RecordingClock()
    emulator = SmartcarEmulator(vehicles=2, seed=31, clock=clock)
    car = bev(emulator)
    reader = emulator.add_vehicle("Ford", "F-150", 2022, "ICE", permissions=["read_vehicle_info"])
    hook = emulator.add_webhook("secrets", data=["tractionbattery-stateofcharge"])
    emulator.subscribe(hook, car.vehicle_id)
    amt = emulator.management_token
    wire = Wire(emulator)
    kwargs = emulator.client_kwargs()
    kwargs["transport"] = wire
    shown: list[str] = []
    raised: list[BaseException] = []

    async def expect(error: type[BaseException], call: Callable[[], Awaitable[object]]) -> None:
        with pytest.raises(error) as info:
            await call()
        assert type(info.value) is error, info.value
        raised.append(info.value)

    def fault(f: Fault, route: str, times: int = 1) -> None:
        emulator.add_fault(f, route=route, times=times)

    c_vid, c_uid = car.vehicle_id, car.user_id
    with anyio.fail_after(TIMEOUT):
        async with (
            SmartcarClient(**kwargs, clock=clock, retry=RetryPolicy(jitter=0)) as client,
            autojump(clock),
        ):
            assert logging.getLogger("smartcar_async").isEnabledFor(logging.DEBUG)
            handle = client.vehicle(c_vid, user_id=c_uid)
            # Every resource method, successfully (and the raw and fan-out views).
            results: list[object] = [
                await client.connections.list(),
                await client.connections.list(mode=None).to_list(),
                await client.connections.get(car.connection_id),
                await client.vehicles.get(c_vid),
                await client.vehicles.signals(c_vid, user_id=c_uid),
                await client.vehicles.signal(c_vid, "closure-islocked", user_id=c_uid),
                await handle.signals(),
                await client.commands.lock(c_vid, user_id=c_uid),
                await client.commands.unlock(c_vid, user_id=c_uid),
                await client.commands.set_charge_limit(c_vid, 80, user_id=c_uid),
                await client.commands.start_charge(c_vid, user_id=c_uid),
                await client.commands.stop_charge(c_vid, user_id=c_uid),
                await client.commands.set_destination(
                    c_vid, latitude=48.85, longitude=2.29, user_id=c_uid
                ),
                await client.commands.open_charge_port(c_vid, user_id=c_uid),
                await client.commands.close_charge_port(c_vid, user_id=c_uid),
                await client.webhook_endpoints.list(),
                await client.webhook_endpoints.get(hook),
                await client.subscriptions.list(),
                await client.subscriptions.create(
                    webhook_id=hook, vehicle_id=reader.vehicle_id, user_id=reader.user_id
                ),
                await client.vehicles.with_raw_response.signals(c_vid, user_id=c_uid),
                await client.commands.with_raw_response.lock(c_vid, user_id=c_uid),
                await handle.with_raw_response.get(),
            ]
            schedule = await client.commands.set_charge_schedule(
                c_vid, kind="daily", latitude=1.0, longitude=2.0, start_time="01:00",
                stop_time="05:00", user_id=c_uid,
            )  # fmt: skip
            assert schedule.schedule_id
            results += [schedule]
            results.append(
                await client.commands.delete_charge_schedule(
                    c_vid, schedule.schedule_id, user_id=c_uid
                )
            )
            async with client.vehicles.signals_many([handle, (c_vid, c_uid)]) as outcomes:
                results += [outcome async for outcome in outcomes]
            async with client.commands.run_many("lock", [handle]) as outcomes:
                results += [outcome async for outcome in outcomes]
            subscription = (await client.subscriptions.list()).items[0]
            results.append(await client.subscriptions.get(subscription.id))
            await client.subscriptions.delete(subscription.id)
            shown += [repr(result) for result in results] + [str(r) for r in results]

            # A token revoked mid-run: a 401, a new token, one replay.
            emulator.revoke_tokens()
            await client.vehicles.signals(c_vid, user_id=c_uid)

            # Every API error class.
            account = Fault.status(400, type="CONNECTED_SERVICES_ACCOUNT")
            status_faults = [
                (ValidationError, Fault.status(400, type="VALIDATION", code="PARAMETER")),
                (ConnectedServicesAccountError, account),
                (AuthenticationError, Fault.status(401, type="AUTHENTICATION")),
                (BillingError, Fault.status(430, type="BILLING")),
                (ServerError, Fault.status(500)),
                (UpstreamError, Fault.status(502)),
                (APIStatusError, Fault.status(418, type="TEAPOT")),
                (RateLimitError, Fault.rate_limit(retry_after=600)),
                (APIResponseError, Fault.malformed_json()),
                (APIConnectionError, Fault.drop()),
            ]  # fmt: skip
            for error_class, status_fault in status_faults:
                fault(status_fault, SIGNALS, times=3)
                await expect(error_class, lambda: client.vehicles.signals(c_vid, user_id=c_uid))
                emulator.faults.clear()
            # RateLimitError paused the client for the cap: let that pass.
            clock.advance(120)
            await expect(NotFoundError, lambda: client.vehicles.get("no-such-vehicle"))
            await expect(
                PermissionDeniedError,
                lambda: client.commands.lock(reader.vehicle_id, user_id=reader.user_id),
            )
            await expect(
                CompatibilityError,
                lambda: client.commands.start_charge(reader.vehicle_id, user_id=reader.user_id),
            )
            emulator.set_asleep(c_vid)
            await expect(VehicleStateError, lambda: handle.lock())
            emulator.set_asleep(c_vid, False)
            unreachable = b'{"type":"VEHICLE_STATE","code":"UNREACHABLE","detail":"no answer"}'
            fault(Fault.status(200, body=unreachable), LOCK)
            await expect(CommandFailedError, lambda: handle.lock())
            wire.time_out_next = True
            await expect(APITimeoutError, lambda: handle.unlock())

            # The token endpoint fails: broken, unreachable.
            emulator.revoke_tokens()
            fault(Fault.malformed_json(), "POST /oauth2/token")
            await expect(TokenError, lambda: handle.signals())
            fault(Fault.drop(), "POST /oauth2/token")
            await expect(TokenConnectionError, lambda: handle.signals())

            token = await client.tokens.get()
            shown += [
                repr(client), str(client), repr(client.with_options(retry=RetryPolicy())),
                repr(client.tokens), str(client.tokens), repr(token), str(token),
                repr(client.tokens._credentials), str(client.tokens._credentials),
                repr(client.tokens._store), repr(client.retry), repr(client.http_client),
                repr(handle),
            ]  # fmt: skip

        # Refused credentials, and HTTP Basic for the token request.
        refused = {**kwargs, "client_secret": WRONG_SECRET}
        async with SmartcarClient(**refused, clock=clock) as bad:
            await expect(TokenError, lambda: bad.vehicles.get(c_vid))
        async with SmartcarClient(**kwargs, clock=clock, token_auth="basic") as basic:
            await basic.vehicles.get(c_vid)
            emulator.revoke_tokens()  # the 401 makes it ask again, and that is refused
            fault(Fault.status(401), "POST /oauth2/token")
            await expect(TokenError, lambda: basic.vehicles.get(c_vid))
            shown += [repr(basic), repr(basic.tokens)]

    # Configuration errors never echo what they were given.
    secret = emulator.client_secret
    with pytest.raises(ConfigurationError) as info:
        SmartcarClient(client_id=emulator.client_id, client_secret=secret,
                       vehicle_api_url="http://api.example.com/v3")  # fmt: skip
    raised.append(info.value)
    with pytest.raises(ConfigurationError) as info:
        SmartcarClient(client_id="", client_secret=secret)
    raised.append(info.value)

    # Webhooks: the management token signs; nothing it touches may show it.
    event = emulator.vehicle_state_event(c_vid, webhook_id=hook)
    body = event.render("delivery-1", 1_777_600_000.0)
    signature = emulator.sign(body)
    webhooks.verify_signature(body, signature, amt)
    for bad_signature in (None, "", "0" * 64, signature.upper(), signature[:-1]):
        with pytest.raises(WebhookVerificationError) as webhook_error:
            webhooks.verify_signature(body, bad_signature, amt)
        raised.append(webhook_error.value)
    with pytest.raises(WebhookPayloadError) as payload_error:
        webhooks.challenge_response('{"eventType": "VEHICLE_STATE"}', amt)
    raised.append(payload_error.value)
    with pytest.raises(WebhookPayloadError) as payload_error:
        webhooks.parse_event(b"not json")
    raised.append(payload_error.value)
    with pytest.raises(ConfigurationError) as info:
        webhooks.verify_signature(body, signature, "")
    raised.append(info.value)
    received: list[object] = []

    async def on_event(parsed: object) -> None:
        received.append(parsed)
        if len(received) == 2:
            raise RuntimeError("the app's handler failed")

    receiver = webhooks.WebhookReceiver(amt, on_event)
    verify = emulator.verify_event(hook)
    not_an_event = b'{"no": "event"}'
    answers = [
        await receiver.handle(verify.render("d0", 1.0), {}),
        await receiver.handle(body, {"sc-signature": signature}),
        await receiver.handle(body, {"SC-Signature": "f" * 64}),
        await receiver.handle(not_an_event, {"sc-signature": emulator.sign(not_an_event)}),
    ]
    second = emulator.vehicle_state_event(c_vid, webhook_id=hook).render("delivery-2", 2.0)
    answers.append(await receiver.handle(second, {"sc-signature": emulator.sign(second)}))
    assert [a.status for a in answers] == [200, 200, 401, 400, 500]
    shown += [repr(receiver), *(repr(a) for a in answers), *(repr(e) for e in received)]

    # What must never show, and proof that the run produced it.
    basic_pair = f"{emulator.client_id}:{emulator.client_secret}".encode()
    never = {
        "client secret": emulator.client_secret,
        "refused secret": WRONG_SECRET,
        "management token": amt,
        "basic credentials": base64.b64encode(basic_pair).decode(),
        **{f"token {n}": token for n, token in enumerate(sorted(wire.tokens))},
        **{f"header {n}": value for n, value in enumerate(sorted(wire.authorizations))},
    }
    assert len(wire.tokens) >= 4, wire.tokens  # first, after revocations, the Basic client
    assert any(value.startswith("Basic ") for value in wire.authorizations)
    assert {type(error) for error in raised} == EVERY_ERROR, {type(e) for e in raised}
    for error in raised:
        shown += shown_by(error)
    sdk_lines = recording.lines
    all_records = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records]
    stderr = capsys.readouterr().err  # what SMARTCAR_LOG=debug printed
    assert any("retry" in line for line in sdk_lines)
    assert any("401" in line for line in sdk_lines)
    assert any("token request" in line for line in sdk_lines)
    assert any("handler failed" in line or "Traceback" in line for line in sdk_lines)
    assert "token request" in stderr
    haystacks = {
        "smartcar_async log": "\n".join(sdk_lines),
        "every log record": "\n".join(all_records),
        "stderr": stderr,
        **{f"shown {n}": text for n, text in enumerate(shown)},
    }
    leaks = [
        f"{what} in {where}: ...{text[max(0, text.find(value) - 80) : text.find(value) + 20]!r}"
        for where, text in haystacks.items()
        for what, value in never.items()
        if value and value in text
    ]
    assert not leaks, "\n".join(leaks[:20])


def test_errors_are_smartcar_errors() -> None:
    """Everything the test above raises on purpose is in the SDK's own tree."""
    assert all(issubclass(error, SmartcarError) for error in EVERY_ERROR)

"""The pipeline: the retry table, Retry-After and its cap, the 401 replay, the app-wide
throttle, and response streams given back to the pool.

Every test runs on asyncio and trio. `FakeSmartcar` counts what was delivered, so "not
retried" means "delivered once"; the delays the SDK slept are read off the
`RecordingClock` (jitter is 0, so they are the policy's exact backoff).
"""

from __future__ import annotations

import email.utils
import itertools
import types
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from _helpers import (
    TIMEOUT,
    Action,
    Delivery,
    FakeSmartcar,
    RecordingClock,
    Reply,
    lock,
    make_client,
    read,
    with_autojump,
)

import smartcar_async._errors as errors_module
from smartcar_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CompatibilityError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SmartcarClient,
)

pytestmark = pytest.mark.anyio

OK = Reply(200, json={"ok": True})
Call = Callable[..., Awaitable[tuple[httpx.Response, Any]]]
METHODS = [pytest.param(read, id="GET"), pytest.param(lock, id="POST-command")]


def vehicle_429(**headers: str) -> Reply:
    """A per-vehicle 429 (does not pause the rest of the client)."""
    body = {"errors": [{"status": "429", "type": "RATE_LIMIT", "code": "VEHICLE"}]}
    return Reply(429, json=body, headers=headers)


def app_wide_429(**headers: str) -> Reply:
    body = {"errors": [{"status": "429", "type": "RATE_LIMIT", "code": "SMARTCAR_API"}]}
    return Reply(429, json=body, headers=headers)


def server_error(status: int) -> Reply:
    return Reply(status, json={"errors": [{"status": str(status), "type": "SERVER"}]})


async def run(
    call: Call,
    script: list[Action],
    *,
    retry: RetryPolicy | None = None,
    call_options: dict[str, Any] | None = None,
) -> tuple[FakeSmartcar, RecordingClock, Any]:
    """Send one call against ``script``; the fake, the clock, and the result or error."""
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = list(script)
    outcome: Any
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock, retry=retry) as client:
            try:
                outcome = await with_autojump(clock, lambda: call(client, **(call_options or {})))
            except Exception as exc:
                outcome = exc
    assert fake.open_streams == [], "a response stream was left open"
    return fake, clock, outcome


def succeeded(outcome: Any) -> bool:
    return isinstance(outcome, tuple) and outcome[0].status_code == 200


# -- acceptance 6: the retry table -----------------------------------------------------


@pytest.mark.parametrize("call", METHODS)
@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_nothing_sent_errors_are_retried_for_reads_and_commands(
    call: Call, failure: type[httpx.TransportError]
) -> None:
    fake, clock, outcome = await run(call, [failure, failure, OK])
    assert succeeded(outcome)
    assert len(fake.api) == 3
    assert clock.slept == [0.5, 1.0]
    assert outcome[1].retries == 2


@pytest.mark.parametrize("call", METHODS)
async def test_nothing_sent_errors_raise_once_retries_are_spent(call: Call) -> None:
    fake, clock, outcome = await run(call, [httpx.ConnectError] * 3)
    assert isinstance(outcome, APIConnectionError)
    assert not isinstance(outcome, APITimeoutError)
    assert isinstance(outcome.__cause__, httpx.ConnectError)
    assert len(fake.api) == 3
    assert clock.slept == [0.5, 1.0]


@pytest.mark.parametrize("call", METHODS)
async def test_pool_timeout_spent_is_an_api_timeout_error(call: Call) -> None:
    fake, _, outcome = await run(call, [httpx.PoolTimeout] * 3)
    assert isinstance(outcome, APITimeoutError)
    assert len(fake.api) == 3


@pytest.mark.parametrize("call", METHODS)
@pytest.mark.parametrize("max_retries", [2, 0])
async def test_401_is_replayed_once_with_a_new_token_not_counted(
    call: Call, max_retries: int
) -> None:
    fake, clock, outcome = await run(
        call,
        [Reply(401, json={"errors": [{"type": "AUTHENTICATION"}]}), OK],
        retry=RetryPolicy(max_retries=max_retries, jitter=0),
    )
    assert succeeded(outcome)
    assert [d.authorization for d in fake.api] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(fake.token_requests) == 2
    assert clock.slept == []
    state = outcome[1]
    assert state.replayed
    assert state.retries == 0


@pytest.mark.parametrize("call", METHODS)
@pytest.mark.parametrize("max_retries", [2, 0])
async def test_401_twice_raises_authentication_error(call: Call, max_retries: int) -> None:
    refused = Reply(401, json={"errors": [{"type": "AUTHENTICATION", "code": "UNAUTHORIZED"}]})
    fake, clock, outcome = await run(
        call, [refused, refused, OK], retry=RetryPolicy(max_retries=max_retries, jitter=0)
    )
    assert isinstance(outcome, AuthenticationError)
    assert outcome.status_code == 401
    assert len(fake.api) == 2
    assert len(fake.token_requests) == 2  # one refresh, not one per 401
    assert clock.slept == []


@pytest.mark.parametrize("call", METHODS)
async def test_429_with_retry_after_seconds_waits_and_retries(call: Call) -> None:
    fake, clock, outcome = await run(call, [vehicle_429(**{"Retry-After": "7"}), OK])
    assert succeeded(outcome)
    assert len(fake.api) == 2
    assert clock.slept == [7.0]
    assert fake.api[1].at - fake.api[0].at == 7.0


@pytest.mark.parametrize("call", METHODS)
async def test_429_with_retry_after_http_date_waits_and_retries(
    call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = 1_750_000_000.0
    monkeypatch.setattr(errors_module, "time", types.SimpleNamespace(time=lambda: wall))
    date = email.utils.formatdate(wall + 12, usegmt=True)
    fake, clock, outcome = await run(call, [vehicle_429(**{"Retry-After": date}), OK])
    assert succeeded(outcome)
    assert clock.slept == [12.0]
    assert len(fake.api) == 2


@pytest.mark.parametrize("call", METHODS)
@pytest.mark.parametrize("retry_after", ["120", "60.5"])
async def test_retry_after_beyond_the_cap_raises_rate_limit_error(
    call: Call, retry_after: str
) -> None:
    fake, clock, outcome = await run(call, [vehicle_429(**{"Retry-After": retry_after}), OK])
    assert isinstance(outcome, RateLimitError)
    assert outcome.retry_after == float(retry_after)
    assert len(fake.api) == 1
    assert clock.slept == []


@pytest.mark.parametrize("call", METHODS)
async def test_retry_after_cap_is_a_policy_knob(call: Call) -> None:
    fake, _, outcome = await run(
        call,
        [vehicle_429(**{"Retry-After": "5"}), OK],
        retry=RetryPolicy(jitter=0, retry_after_cap=4),
    )
    assert isinstance(outcome, RateLimitError)
    assert outcome.retry_after == 5.0
    assert len(fake.api) == 1


async def test_429_without_retry_after_backs_off_for_reads() -> None:
    fake, clock, outcome = await run(read, [vehicle_429(), vehicle_429(), OK])
    assert succeeded(outcome)
    assert len(fake.api) == 3
    assert clock.slept == [0.5, 1.0]


async def test_429_without_retry_after_raises_for_commands() -> None:
    fake, clock, outcome = await run(lock, [vehicle_429(), OK])
    assert isinstance(outcome, RateLimitError)
    assert outcome.retry_after is None
    assert len(fake.api) == 1
    assert clock.slept == []


async def test_429_retries_are_bounded_by_max_retries() -> None:
    fake, clock, outcome = await run(read, [vehicle_429(**{"Retry-After": "1"})] * 4)
    assert isinstance(outcome, RateLimitError)
    assert len(fake.api) == 3
    assert clock.slept == [1.0, 1.0]


MAYBE_SENT: list[Action] = [
    server_error(500),
    server_error(502),
    server_error(503),
    server_error(504),
    Reply(408, content=b"request timeout"),
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
]
MAYBE_SENT_IDS = [
    "500",
    "502",
    "503",
    "504",
    "408",
    "read-timeout",
    "write-timeout",
    "read-error",
    "protocol-error",
]


@pytest.mark.parametrize("failure", MAYBE_SENT, ids=MAYBE_SENT_IDS)
async def test_maybe_sent_failures_are_retried_for_reads(failure: Action) -> None:
    fake, clock, outcome = await run(read, [failure, failure, OK])
    assert succeeded(outcome)
    assert len(fake.api) == 3
    assert clock.slept == [0.5, 1.0]


@pytest.mark.parametrize("failure", MAYBE_SENT, ids=MAYBE_SENT_IDS)
async def test_maybe_sent_failures_are_never_retried_for_commands(failure: Action) -> None:
    fake, clock, outcome = await run(lock, [failure, OK])
    assert len(fake.api) == 1, "a command was sent twice"
    assert clock.slept == []
    if isinstance(failure, Reply):
        assert isinstance(outcome, APIStatusError)
        assert outcome.status_code == failure.status
        if failure.status >= 500:
            assert isinstance(outcome, ServerError)
    elif issubclass(failure, httpx.TimeoutException):
        assert isinstance(outcome, APITimeoutError)
    else:
        assert isinstance(outcome, APIConnectionError)


@pytest.mark.parametrize("call", METHODS)
async def test_501_is_never_retried(call: Call) -> None:
    body = {"errors": [{"status": "501", "type": "COMPATIBILITY", "code": "VEHICLE_NOT_CAPABLE"}]}
    fake, clock, outcome = await run(call, [Reply(501, json=body), OK])
    assert isinstance(outcome, CompatibilityError)
    assert len(fake.api) == 1
    assert clock.slept == []


@pytest.mark.parametrize("call", METHODS)
@pytest.mark.parametrize("status", [400, 403, 404, 409, 430])
async def test_client_errors_are_not_retried(call: Call, status: int) -> None:
    fake, _, outcome = await run(call, [Reply(status, json={}), OK])
    assert isinstance(outcome, APIStatusError)
    assert outcome.status_code == status
    assert len(fake.api) == 1


async def test_reads_give_up_after_max_retries_with_the_last_error() -> None:
    fake, clock, outcome = await run(read, [server_error(503)] * 5)
    assert isinstance(outcome, ServerError)
    assert outcome.status_code == 503
    assert len(fake.api) == 3
    assert clock.slept == [0.5, 1.0]


async def test_read_timeout_spent_is_an_api_timeout_error() -> None:
    fake, _, outcome = await run(read, [httpx.ReadTimeout] * 3)
    assert isinstance(outcome, APITimeoutError)
    assert outcome.method == "GET"
    assert outcome.url.endswith("/vehicles/v1/signals")
    assert len(fake.api) == 3


async def test_backoff_doubles_up_to_its_maximum() -> None:
    policy = RetryPolicy(max_retries=7, jitter=0)
    fake, clock, outcome = await run(read, [server_error(503)] * 7 + [OK], retry=policy)
    assert succeeded(outcome)
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    times = [d.at for d in fake.api]
    assert [b - a for a, b in itertools.pairwise(times)] == clock.slept


async def test_max_retries_zero_turns_retries_off() -> None:
    fake, clock, outcome = await run(
        read, [server_error(503), OK], retry=RetryPolicy(max_retries=0, jitter=0)
    )
    assert isinstance(outcome, ServerError)
    assert len(fake.api) == 1
    assert clock.slept == []


async def test_retry_policy_per_call_overrides_the_client() -> None:
    _, _, outcome = await run(
        read, [server_error(503), OK], retry=RetryPolicy(max_retries=0, jitter=0)
    )
    assert isinstance(outcome, ServerError)
    _, clock, outcome = await run(
        read,
        [server_error(503), OK],
        retry=RetryPolicy(max_retries=0, jitter=0),
        call_options={"retry": RetryPolicy(max_retries=1, jitter=0)},
    )
    assert succeeded(outcome)
    assert clock.slept == [0.5]


def test_backoff_with_jitter_stays_within_its_band() -> None:
    policy = RetryPolicy(jitter=0.5, random=lambda: 1.0)
    assert policy.backoff(0) == 0.5
    policy = RetryPolicy(jitter=0.5, random=lambda: 0.0)
    assert policy.backoff(0) == 0.25
    assert policy.backoff(10) == 4.0  # half of the 8 s maximum
    policy = RetryPolicy(jitter=1.0, random=lambda: 0.0)
    assert policy.backoff(3) == 0.0


def test_retry_policy_validates_its_knobs() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ValueError):
        RetryPolicy(backoff_initial=-0.1)
    with pytest.raises(ValueError):
        RetryPolicy(retry_after_cap=-1)


# -- acceptance 5 (in the pipeline): the 401 replay ------------------------------------


async def test_a_late_401_for_an_old_token_keeps_the_new_token() -> None:
    fake = FakeSmartcar()
    late = anyio.Event()
    old_token_deliveries = 0
    finished: list[str] = []

    async def api(request: httpx.Request, delivery: Delivery) -> Action:
        nonlocal old_token_deliveries
        if delivery.authorization == "Bearer tok-1":
            old_token_deliveries += 1
            if old_token_deliveries == 1:
                await late.wait()  # this 401 comes back only after the refresh
            return Reply(401, json={"errors": [{"type": "AUTHENTICATION"}]})
        return OK

    fake.api_handler = api

    async def call(name: str) -> None:
        await read(client)
        finished.append(name)

    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client, anyio.create_task_group() as tg:
            tg.start_soon(call, "a")
            tg.start_soon(call, "b")
            await fake.wait_until(lambda: len(finished) == 1)
            assert len(fake.token_requests) == 2  # the first token and one refresh
            late.set()

    assert len(finished) == 2
    assert len(fake.token_requests) == 2, "a late 401 threw away the new token"
    assert [d.authorization for d in fake.api].count("Bearer tok-2") == 2
    assert fake.issued == ["tok-1", "tok-2"]


async def test_the_401_replay_is_used_once_per_call_even_across_retries() -> None:
    refused = Reply(401, json={"errors": [{"type": "AUTHENTICATION"}]})
    fake, clock, outcome = await run(read, [refused, server_error(503), refused, OK])
    assert isinstance(outcome, AuthenticationError)
    assert len(fake.api) == 3
    assert len(fake.token_requests) == 2  # one refresh for the call, not one per 401
    assert clock.slept == [0.5]


async def test_401_replay_of_a_command_sends_it_again_with_the_new_token() -> None:
    fake, _, outcome = await run(
        lock, [Reply(401, json={"error": "invalid_token", "error_description": "expired"}), OK]
    )
    assert succeeded(outcome)
    assert [(d.method, d.authorization) for d in fake.api] == [
        ("POST", "Bearer tok-1"),
        ("POST", "Bearer tok-2"),
    ]


async def test_user_middleware_runs_outermost_once_per_call() -> None:
    seen: list[str] = []

    async def middleware(request: httpx.Request, call_next: Any) -> httpx.Response:
        seen.append(request.method)
        return await call_next(request)

    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [server_error(503), Reply(401, json={}), OK]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock, middleware=[middleware]) as client:
            await with_autojump(clock, lambda: read(client))
    assert seen == ["GET"]
    assert len(fake.api) == 3


# -- acceptance 7: failed responses are given back to the pool -------------------------


async def test_no_response_stream_stays_open_after_a_run_of_retries() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [
        server_error(503),
        vehicle_429(**{"Retry-After": "2"}),
        Reply(401, json={}),
        server_error(502),
        OK,
    ]
    policy = RetryPolicy(max_retries=5, jitter=0)
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock, retry=policy) as client:
            response, state = await with_autojump(clock, lambda: read(client))
            assert response.status_code == 200
            assert state.retries == 3
            # And when every retry fails, the raised error's response is closed too.
            fake.api_script = [server_error(503)] * 6
            with pytest.raises(ServerError):
                await with_autojump(clock, lambda: read(client))
    opened = len(fake.streams)
    assert opened == 2 + 5 + 6  # two tokens, five answers, six failures
    assert fake.open_streams == []


class BreaksMidBody(httpx.AsyncByteStream):
    """A body that fails after its first chunk (the connection dropped)."""

    def __init__(self) -> None:
        self.closed = False

    async def __aiter__(self) -> Any:
        yield b'{"errors": ['
        raise httpx.ReadError("connection lost mid-body")

    async def aclose(self) -> None:
        self.closed = True


async def test_a_body_that_breaks_mid_read_is_closed_and_retried() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    broken: list[BreaksMidBody] = []

    class Transport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.host == "vehicle.api.smartcar.com" and not broken:
                stream = BreaksMidBody()
                broken.append(stream)
                return httpx.Response(503, stream=stream)
            return await fake.handle_async_request(request)

    with anyio.fail_after(TIMEOUT):
        async with make_client(Transport(), clock=clock) as client:
            response, _ = await with_autojump(clock, lambda: read(client))
    assert response.status_code == 200
    assert broken[0].closed
    assert fake.open_streams == []
    assert clock.slept == [0.5]


# -- acceptance 8: an app-wide 429 pauses the whole client -----------------------------


async def test_app_wide_429_delays_requests_started_by_other_tasks() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [app_wide_429(**{"Retry-After": "10"})]
    results: dict[str, int] = {}

    async def call(name: str, client: SmartcarClient) -> None:
        response, _ = await read(client)
        results[name] = response.status_code

    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            other = client.with_options(retry=RetryPolicy(max_retries=0, jitter=0))
            async with anyio.create_task_group() as tg:
                tg.start_soon(call, "limited", client)
                await clock.wait_for_sleepers(1)  # it waits out its Retry-After
                assert len(fake.api) == 1
                tg.start_soon(call, "other task", client)
                tg.start_soon(call, "derived client", other)
                await clock.wait_for_sleepers(3)  # the newcomers wait too, unsent
                assert len(fake.api) == 1
                clock.advance(9.5)
                await clock.wait_for_sleepers(3)
                assert len(fake.api) == 1
                clock.advance(0.5)
            assert results == {"limited": 200, "other task": 200, "derived client": 200}
            assert len(fake.api) == 4
            assert all(d.at == 10.0 for d in fake.api[1:])
            # The pause is over: a new call goes straight out.
            await read(client)
            assert fake.api[-1].at == 10.0


async def test_app_wide_429_pauses_others_even_when_the_call_itself_raises() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [app_wide_429(**{"Retry-After": "30"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            with pytest.raises(RateLimitError) as info:
                await lock(client, retry=RetryPolicy(max_retries=0, jitter=0))
            assert info.value.retry_after == 30
            assert info.value.code == "SMARTCAR_API"
            async with anyio.create_task_group() as tg:
                tg.start_soon(read, client)
                await clock.wait_for_sleepers(1)
                assert clock.next_deadline() == 30.0
                assert len(fake.api) == 1
                clock.advance(30)
            assert len(fake.api) == 2
            assert fake.api[1].at == 30.0


async def test_app_wide_429_without_retry_after_pauses_for_one_refill() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [app_wide_429()]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock, retry=RetryPolicy(jitter=0)) as client:
            async with anyio.create_task_group() as tg:
                # A command refused by the bucket did nothing: it is retried after the pause.
                tg.start_soon(lock, client)
                await clock.wait_for_sleepers(1)
                tg.start_soon(read, client)
                await clock.wait_for_sleepers(2)
                assert clock.next_deadline() == 30.0
                assert len(fake.api) == 1
                clock.advance(30)
            assert [d.at for d in fake.api] == [0.0, 30.0, 30.0]


async def test_a_per_vehicle_429_does_not_pause_other_requests() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [vehicle_429(**{"Retry-After": "10"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(read, client)
                await clock.wait_for_sleepers(1)
                await read(client)  # goes out at once, at t=0
                assert [d.at for d in fake.api] == [0.0, 0.0]
                clock.advance(10)
            assert len(fake.api) == 3

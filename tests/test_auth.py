"""`TokenManager`: one token request per refresh, however many callers and whatever fails.

Every test runs on asyncio and trio. The token endpoint is `FakeSmartcar`, stalled on
an event where a test needs a refresh in flight; time is a `RecordingClock`.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import anyio
import httpx
import pytest
from _helpers import (
    CLIENT_ID,
    SECRET,
    TIMEOUT,
    TOKEN_URL,
    FakeSmartcar,
    RecordingClock,
    Reply,
    make_client,
    read,
    settle,
    token_body,
    with_autojump,
)

import smartcar_async as sc
from smartcar_async import (
    AccessToken,
    ClientCredentials,
    InMemoryTokenStore,
    RetryPolicy,
    SmartcarClient,
    TokenError,
    TokenManager,
)
from smartcar_async._auth import Fetch

pytestmark = pytest.mark.anyio


def lock_waiters(client: SmartcarClient) -> int:
    """Tasks queued on the token manager's refresh lock."""
    return client.tokens._lock.statistics().tasks_waiting


# -- acceptance 1: a cold client under load sends one token request --------------------


async def test_ten_thousand_concurrent_calls_on_a_cold_client_send_one_token_request() -> None:
    calls = 10_000
    fake = FakeSmartcar()
    fake.token_gate = anyio.Event()  # the refresh stays in flight until every call queued
    done = 0

    async def call() -> None:
        nonlocal done
        response, _ = await read(client)
        assert response.status_code == 200
        done += 1

    with anyio.fail_after(TIMEOUT * 3):
        async with make_client(fake) as client, anyio.create_task_group() as tg:
            for _ in range(calls):
                tg.start_soon(call)
            await fake.wait_until(lambda: len(fake.token_requests) == 1)
            await settle(lambda: lock_waiters(client) == calls - 1)
            assert len(fake.token_requests) == 1
            assert fake.api == []
            fake.token_gate.set()

    assert done == calls
    assert len(fake.token_requests) == 1
    assert len(fake.api) == calls
    assert {d.authorization for d in fake.api} == {"Bearer tok-1"}


# -- acceptance 2: the advisory window -------------------------------------------------


async def test_advisory_window_one_refresher_others_use_the_valid_token_at_once() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            await read(client)
            assert fake.issued == ["tok-1"]
            clock.advance(3600 - 200)  # 200 s left: inside the 300 s advisory window
            fake.token_gate = anyio.Event()
            refreshed = anyio.Event()

            async def refresher() -> None:
                await read(client)
                refreshed.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(refresher)
                await fake.wait_until(lambda: len(fake.token_requests) == 2)
                # The endpoint is stalled; every other caller still returns at once.
                before = len(fake.api)
                async with anyio.create_task_group() as others:
                    for _ in range(50):
                        others.start_soon(read, client)
                assert len(fake.api) == before + 50
                assert {d.authorization for d in fake.api[before:]} == {"Bearer tok-1"}
                assert len(fake.token_requests) == 2
                assert not refreshed.is_set()
                fake.token_gate.set()

            assert fake.api[-1].authorization == "Bearer tok-2"  # the refresher's own call
            await read(client)
            assert fake.api[-1].authorization == "Bearer tok-2"
            assert len(fake.token_requests) == 2


async def test_advisory_refresh_failure_keeps_serving_the_valid_token() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            await read(client)
            clock.advance(3600 - 200)
            fake.token_script = [Reply(400, json={"error": "invalid_request"})]
            response, _ = await read(client)  # the refresh fails; the call still works
            assert response.status_code == 200
            assert fake.api[-1].authorization == "Bearer tok-1"
            await read(client)  # the next call tries again, and succeeds
            assert fake.api[-1].authorization == "Bearer tok-2"
            assert len(fake.token_requests) == 3


async def test_mandatory_window_callers_wait_for_one_refresh() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            await read(client)
            clock.advance(3600 - 30)  # 30 s left: inside the 60 s mandatory window
            fake.token_gate = anyio.Event()
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(read, client)
                await fake.wait_until(lambda: len(fake.token_requests) == 2)
                await settle(lambda: lock_waiters(client) == 19)
                assert len(fake.api) == 1  # nobody used the nearly expired token
                fake.token_gate.set()
            assert len(fake.token_requests) == 2
            assert {d.authorization for d in fake.api[1:]} == {"Bearer tok-2"}


# -- acceptance 3: the refresher is cancelled ------------------------------------------


async def test_cancelled_refresher_hands_the_refresh_to_a_waiter() -> None:
    fake = FakeSmartcar()
    fake.token_gate = anyio.Event()  # never set: the first refresh hangs until cancelled
    waiters = 20
    finished = 0
    refresher_scope = anyio.CancelScope()
    refresher_finished = False

    async def refresher() -> None:
        nonlocal refresher_finished
        with refresher_scope:
            await read(client)
            refresher_finished = True

    async def waiter() -> None:
        nonlocal finished
        response, _ = await read(client)
        assert response.status_code == 200
        finished += 1

    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            async with anyio.create_task_group() as tg:
                tg.start_soon(refresher)
                await fake.wait_until(lambda: len(fake.token_requests) == 1)
                fake.token_gate = None  # the next token request is answered at once
                for _ in range(waiters):
                    tg.start_soon(waiter)
                await settle(lambda: lock_waiters(client) == waiters)
                refresher_scope.cancel()

            assert refresher_scope.cancelled_caught
            assert not refresher_finished
            assert finished == waiters
            assert len(fake.token_requests) == 2  # the cancelled one, and one more
            assert fake.issued == ["tok-1"]
            assert {d.authorization for d in fake.api} == {"Bearer tok-1"}
            # The lock was released: a later call works without a new token request.
            await read(client)
            assert len(fake.token_requests) == 2
            assert client.tokens._lock.locked() is False


async def test_cancelled_advisory_refresher_releases_the_lock() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            await read(client)
            clock.advance(3600 - 200)
            fake.token_gate = anyio.Event()  # never set
            async with anyio.create_task_group() as tg:
                tg.start_soon(read, client)
                await fake.wait_until(lambda: len(fake.token_requests) == 2)
                await read(client)  # not blocked by the stalled refresh
                tg.cancel_scope.cancel()
            assert not client.tokens._lock.locked()
            fake.token_gate = None
            await read(client)  # the next caller in the window refreshes
            assert len(fake.token_requests) == 3
            assert fake.api[-1].authorization == "Bearer tok-2"


# -- a failed refresh is shared by everyone queued on it -------------------------------


async def test_failed_refresh_gives_every_queued_caller_the_error_and_one_request() -> None:
    fake = FakeSmartcar()
    fake.token_gate = anyio.Event()
    fake.token_script = [
        Reply(401, json={"error": "invalid_client", "error_description": "bad secret"})
    ]
    callers = 25
    errors: list[TokenError] = []

    async def call() -> None:
        try:
            await read(client)
        except TokenError as exc:
            errors.append(exc)

    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(callers):
                    tg.start_soon(call)
                await fake.wait_until(lambda: len(fake.token_requests) == 1)
                await settle(lambda: lock_waiters(client) == callers - 1)
                fake.token_gate.set()
            assert len(errors) == callers
            assert all(e.error == "invalid_client" and e.status_code == 401 for e in errors)
            assert all(e.error_description == "bad secret" for e in errors)
            assert len(fake.token_requests) == 1
            assert fake.api == []
            # A later call (not queued on the failed attempt) tries again.
            await read(client)
            assert len(fake.token_requests) == 2


# -- the token endpoint's answers ------------------------------------------------------


async def test_invalid_client_raises_token_error_with_oauth_fields() -> None:
    fake = FakeSmartcar()
    fake.token_script = [
        Reply(401, json={"error": "invalid_client", "error_description": "Invalid client"})
    ]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            with pytest.raises(TokenError) as info:
                await read(client)
    error = info.value
    assert error.error == "invalid_client"
    assert error.error_description == "Invalid client"
    assert error.status_code == 401
    assert "invalid_client" in str(error)
    assert "client_" not in str(error).replace(CLIENT_ID, "")  # a v3 id: no hint
    assert len(fake.token_requests) == 1  # a refusal is not retried
    assert fake.api == []


async def test_invalid_client_hints_at_the_client_id_format() -> None:
    fake = FakeSmartcar()
    fake.token_script = [Reply(401, json={"error": "invalid_client"})]
    application_id = "5c2f8a6e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, client_id=application_id) as client:
            with pytest.raises(TokenError) as info:
                await read(client)
    assert "'client_'" in str(info.value)
    assert info.value.error == "invalid_client"


async def test_invalid_request_400_raises_at_once() -> None:
    fake = FakeSmartcar()
    fake.token_script = [
        Reply(400, json={"error": "invalid_request", "error_description": "no grant_type"})
    ]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            with pytest.raises(TokenError) as info:
                await read(client)
    assert (info.value.error, info.value.status_code) == ("invalid_request", 400)
    assert info.value.error_description == "no grant_type"
    assert len(fake.token_requests) == 1


@pytest.mark.parametrize(
    "failure",
    [Reply(503, content=b"unavailable"), Reply(500, json={}), httpx.ConnectError],
    ids=["503", "500", "connect-error"],
)
async def test_token_endpoint_failures_are_retried_a_little_then_token_error(
    failure: Reply | type[httpx.TransportError],
) -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.token_script = [failure, failure, failure, failure]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            with pytest.raises(TokenError) as info:
                await with_autojump(clock, lambda: read(client))
    assert len(fake.token_requests) == 3  # the first try and two retries
    assert clock.slept == [0.25, 1.0]
    if isinstance(failure, Reply):
        assert info.value.status_code == failure.status
    assert fake.api == []


@pytest.mark.parametrize(
    "failure", [Reply(502, content=b"bad gateway"), httpx.ConnectError], ids=["502", "connect"]
)
async def test_token_endpoint_recovers_within_its_retries(
    failure: Reply | type[httpx.TransportError],
) -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.token_script = [failure]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            response, _ = await with_autojump(clock, lambda: read(client))
    assert response.status_code == 200
    assert len(fake.token_requests) == 2
    assert clock.slept == [0.25]
    assert fake.api[0].authorization == "Bearer tok-1"


async def test_token_read_timeout_is_a_token_error_at_once() -> None:
    fake = FakeSmartcar()
    fake.token_script = [httpx.ReadTimeout]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            with pytest.raises(TokenError):
                await read(client)
    assert len(fake.token_requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer", "expires_in": 3600},
        {"access_token": "", "expires_in": 3600},
        {"access_token": 42, "expires_in": 3600},
        {"access_token": "tok", "expires_in": "soon"},
        {"access_token": "tok", "expires_in": -5},
        {"access_token": "tok", "expires_in": True},
        ["not", "an", "object"],
    ],
)
async def test_a_200_without_a_usable_token_is_a_token_error(body: object) -> None:
    fake = FakeSmartcar()
    fake.token_script = [Reply(200, json=body)]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            with pytest.raises(TokenError):
                await read(client)


async def test_token_request_posts_the_form_by_default() -> None:
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            await read(client)
    sent = fake.token_requests[0]
    assert sent.method == "POST"
    assert parse_qs(sent.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
    }
    assert "authorization" not in sent.headers


async def test_basic_auth_mode_sends_the_header_and_no_secret_in_the_body() -> None:
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, token_auth="basic") as client:
            await read(client)
    sent = fake.token_requests[0]
    expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    assert parse_qs(sent.body.decode()) == {"grant_type": ["client_credentials"]}
    assert SECRET.encode() not in sent.body


# -- expiry, windows, invalidation -----------------------------------------------------


def manager(fake: FakeSmartcar, clock: RecordingClock) -> tuple[TokenManager, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=fake)
    tokens = TokenManager(
        ClientCredentials(CLIENT_ID, SECRET), token_url=TOKEN_URL, http_client=http, clock=clock
    )
    return tokens, http


async def test_expiry_is_counted_from_before_the_token_request() -> None:
    clock = RecordingClock(start=1000.0)
    fake = FakeSmartcar(clock)
    fake.token_gate = anyio.Event()
    tokens, http = manager(fake, clock)
    with anyio.fail_after(TIMEOUT):
        async with http, anyio.create_task_group() as tg:
            got: list[AccessToken] = []

            async def fetch() -> None:
                got.append(await tokens.get())

            tg.start_soon(fetch)
            await fake.wait_until(lambda: len(fake.token_requests) == 1)
            clock.advance(100)  # the request took 100 s
            fake.token_gate.set()
    assert got[0].expires_at == 1000.0 + 3600
    assert got[0].lifetime == 3600


async def test_windows_are_clamped_to_half_a_short_tokens_lifetime() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock, expires_in=10)
    tokens, http = manager(fake, clock)
    with anyio.fail_after(TIMEOUT):
        async with http:
            first = await tokens.get()
            clock.advance(4)  # 6 s left: more than half of 10 s, still used
            assert await tokens.get() is first
            clock.advance(2)  # 4 s left: refreshed
            second = await tokens.get()
    assert (first.value, second.value) == ("tok-1", "tok-2")
    assert len(fake.token_requests) == 2


async def test_fresh_token_is_returned_without_a_request() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    tokens, http = manager(fake, clock)
    with anyio.fail_after(TIMEOUT):
        async with http:
            first = await tokens.get()
            clock.advance(3600 - 301)
            assert await tokens.get() is first
    assert len(fake.token_requests) == 1


async def test_current_is_the_token_only_while_it_needs_no_refresh() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    tokens, http = manager(fake, clock)
    with anyio.fail_after(TIMEOUT):
        async with http:
            assert tokens.current() is None  # none yet
            first = await tokens.get()
            clock.advance(3600 - 100)  # in the advisory window: still usable as it is
            assert tokens.current() is first
            clock.advance(50)  # 50 s left: inside the 60 s mandatory window
            assert tokens.current() is None
    assert len(fake.token_requests) == 1  # asking never fetches


async def test_invalidate_forgets_only_the_current_token() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    tokens, http = manager(fake, clock)
    with anyio.fail_after(TIMEOUT):
        async with http:
            old = await tokens.get()
            await tokens.invalidate(old)
            new = await tokens.get()
            assert new.value == "tok-2"
            await tokens.invalidate(old)  # late news about the old token
            assert await tokens.get() is new
            await tokens.invalidate(AccessToken("stranger", expires_at=1e9, lifetime=3600))
            assert await tokens.get() is new
    assert len(fake.token_requests) == 2


def test_token_manager_rejects_bad_settings() -> None:
    http = httpx.AsyncClient(transport=FakeSmartcar())
    credentials = ClientCredentials(CLIENT_ID, SECRET)
    with pytest.raises(ValueError, match="auth_method"):
        TokenManager(credentials, token_url=TOKEN_URL, http_client=http, auth_method="digest")
    with pytest.raises(ValueError, match="window"):
        TokenManager(
            credentials,
            token_url=TOKEN_URL,
            http_client=http,
            advisory_window=10,
            mandatory_window=20,
        )


async def test_token_is_shared_by_derived_clients() -> None:
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            patient = client.with_options(retry=RetryPolicy(max_retries=5, jitter=0))
            await read(client)
            await read(patient)
    assert len(fake.token_requests) == 1


async def test_expires_in_as_text_is_accepted() -> None:
    fake = FakeSmartcar()
    fake.token_script = [Reply(200, json={**token_body("tok-text"), "expires_in": "1800"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            await read(client)
            token = await client.tokens.get()
    assert token.value == "tok-text"
    assert token.lifetime == 1800


async def test_in_memory_store_forgets_only_the_stored_token() -> None:
    store = InMemoryTokenStore()
    old = AccessToken("tok-old", expires_at=100, lifetime=100)
    new = AccessToken("tok-new", expires_at=200, lifetime=100)

    async def fetch_new() -> AccessToken:
        return new

    assert await store.load() is None
    assert await store.refresh(fetch_new, stale=old) is new
    await store.invalidate(old)
    assert await store.load() is new
    await store.invalidate(new)
    assert await store.load() is None
    assert repr(store) == "InMemoryTokenStore()"


class ForgetfulStore:
    """A store that never hands a token back: the manager's own cache is all there is."""

    def __init__(self) -> None:
        self.invalidated: list[str] = []

    async def load(self) -> AccessToken | None:
        return None

    async def refresh(self, fetch: Fetch, *, stale: AccessToken | None) -> AccessToken:
        return await fetch()

    async def invalidate(self, token: AccessToken) -> None:
        self.invalidated.append(token.value)


async def test_a_late_invalidate_keeps_the_managers_new_token() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    store = ForgetfulStore()
    http = httpx.AsyncClient(transport=fake)
    tokens = TokenManager(
        ClientCredentials(CLIENT_ID, SECRET),
        token_url=TOKEN_URL,
        http_client=http,
        clock=clock,
        store=store,
    )
    with anyio.fail_after(TIMEOUT):
        async with http:
            old = await tokens.get()
            await tokens.invalidate(old)
            new = await tokens.get()
            await tokens.invalidate(old)  # a late 401 for the old token
            assert await tokens.get() is new
    assert len(fake.token_requests) == 2
    assert store.invalidated == ["tok-1", "tok-1"]


# -- an outage is a connection error, a refusal is not -----------------------------------


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError]
)
async def test_an_unreachable_token_endpoint_is_a_connection_error(
    failure: type[httpx.TransportError],
) -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.token_script = [failure, failure, failure]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            with pytest.raises(sc.TokenConnectionError) as info:
                await with_autojump(clock, lambda: read(client))
    error = info.value
    # One class, both meanings: a web backend's `except APIConnectionError` maps it to 503.
    assert isinstance(error, sc.TokenError)
    assert isinstance(error, sc.APIConnectionError)
    assert error.status_code is None
    assert error.method == "POST"
    assert error.url.endswith("/oauth2/token")


async def test_a_refusal_is_a_token_error_only() -> None:
    fake = FakeSmartcar()
    fake.token_script = [Reply(401, json={"error": "invalid_client"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            with pytest.raises(sc.TokenError) as info:
                await read(client)
    assert not isinstance(info.value, sc.APIConnectionError)


async def test_queued_callers_share_the_outage_as_a_connection_error() -> None:
    fake = FakeSmartcar()
    fake.token_gate = anyio.Event()
    fake.token_script = [httpx.ReadTimeout]
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await read(client)
        except sc.SmartcarError as exc:
            errors.append(exc)

    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client, anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(call)
            await fake.wait_until(lambda: len(fake.token_requests) == 1)
            await settle(lambda: lock_waiters(client) == 2)
            fake.token_gate.set()
    assert len(errors) == 3
    assert all(isinstance(e, sc.TokenConnectionError) for e in errors)

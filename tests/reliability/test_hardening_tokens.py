"""Hardening, the token request (issue 15): absurd and degenerate ``expires_in``
(items 2 and 13), one deadline over a dripping token endpoint (item 8), and no
redirect followed with the client secret (item 3).

The token endpoint is scripted with ``httpx.MockTransport``; an answer is held back on
an event until every caller is queued, so the counts do not depend on scheduling.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpx
import pytest
from reliability_support import TIMEOUT

from smartcar_async import ClientCredentials, TokenError, TokenManager, VirtualClock
from smartcar_async._auth import MIN_TOKEN_LIFETIME

pytestmark = pytest.mark.anyio

TOKEN_URL = "https://iam.example.test/oauth2/token"
SECRET = "hardening-secret-5a4b3c2d1e"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Endpoint:
    """A token endpoint that answers ``body`` once ``release`` is set, counting requests."""

    def __init__(self, body: object, *, clock: VirtualClock | None = None) -> None:
        self.body = body
        self.clock = clock
        self.requests = 0
        self.release = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await self.release.wait()
        if self.clock is not None:
            # The request took 0.8 ms: longer than half a 1 ms token's lifetime.
            self.clock.advance(0.0008)
        return httpx.Response(200, content=json.dumps(self.body).encode())


def manager(handler: Handler, **options: object) -> TokenManager:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return TokenManager(
        ClientCredentials("client_hardening", SECRET),
        token_url=TOKEN_URL,
        http_client=http,
        **options,  # type: ignore[arg-type]
    )


async def crowd(tokens: TokenManager, callers: int) -> list[object]:
    """``callers`` concurrent ``get()``s; each one's token or error."""
    outcomes: list[object] = []

    async def one() -> None:
        try:
            outcomes.append(await tokens.get())
        except Exception as exc:  # every kind is recorded: the test says which may occur
            outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(one)
        await anyio.wait_all_tasks_blocked()
        endpoint = tokens._http._transport.handler  # type: ignore[attr-defined]
        endpoint.release.set()
    return outcomes


@pytest.mark.parametrize(
    "expires_in",
    [int("9" * 400), 1e308 * 10, float("nan"), "1e999", "nan", 10**9, [3600], {"s": 1}],
    ids=["400 digits", "inf", "nan", "text inf", "text nan", "a billion", "list", "object"],
)
async def test_an_absurd_expires_in_is_one_shared_token_error(expires_in: object) -> None:
    # json.dumps writes NaN and Infinity, which Python's parser reads back.
    body = {"access_token": "tok", "token_type": "Bearer", "expires_in": expires_in}
    endpoint = Endpoint(body)
    tokens = manager(endpoint)
    with anyio.fail_after(TIMEOUT):
        outcomes = await crowd(tokens, 50)
    assert all(isinstance(o, TokenError) for o in outcomes), {type(o) for o in outcomes}
    assert endpoint.requests == 1  # the failure is shared with the 49 waiters


async def test_a_failure_nobody_planned_for_is_a_shared_token_error() -> None:
    class Broken:
        """A store whose refresh fails with something that is not a TokenError."""

        async def load(self) -> None:
            return None

        async def refresh(self, fetch: object, *, stale: object) -> object:
            self.calls += 1
            await endpoint.release.wait()
            raise ZeroDivisionError("a store's bug")

        async def invalidate(self, token: object) -> None:
            return None

        calls = 0

    endpoint = Endpoint({})
    store = Broken()
    tokens = manager(endpoint, store=store)
    with anyio.fail_after(TIMEOUT):
        outcomes = await crowd(tokens, 20)
    assert all(isinstance(o, TokenError) for o in outcomes)
    assert store.calls == 1


async def test_a_degenerate_lifetime_is_raised_to_the_floor_and_shared() -> None:
    clock = VirtualClock()
    endpoint = Endpoint({"access_token": "tok", "expires_in": 0.001}, clock=clock)
    tokens = manager(endpoint, clock=clock)
    with anyio.fail_after(TIMEOUT):
        outcomes = await crowd(tokens, 200)
    assert endpoint.requests == 1
    assert {getattr(o, "value", o) for o in outcomes} == {"tok"}
    token = outcomes[0]
    assert token.lifetime == MIN_TOKEN_LIFETIME  # type: ignore[attr-defined]
    # Used for the floor's length (half of it before the next refresh), not 1 ms.
    assert await tokens.get() is token


class Drip(httpx.AsyncByteStream):
    """A body that sends its first byte and then nothing more, ever (a dripping server
    seen between two drips)."""

    def __init__(self) -> None:
        self.never = anyio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        await self.never.wait()
        yield b"}"


async def test_a_dripping_token_endpoint_is_cut_off_by_one_deadline() -> None:
    async def drip(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Drip())

    tokens = manager(drip, timeout=httpx.Timeout(0.2))
    with anyio.fail_after(TIMEOUT), pytest.raises(TokenError, match=r"within 0\.2 s"):
        await tokens.get()


class Routes:
    """The token endpoint (307 to another origin) and that origin, recording requests."""

    def __init__(self) -> None:
        self.stolen: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "attacker.example.test":
            await request.aread()
            self.stolen.append(request)
            return httpx.Response(200, json={"access_token": "x", "expires_in": 3600})
        return httpx.Response(
            307, headers={"Location": "https://attacker.example.test/collect"}, request=request
        )


async def test_a_redirect_from_the_token_endpoint_is_not_followed() -> None:
    routes = Routes()
    http = httpx.AsyncClient(transport=httpx.MockTransport(routes), follow_redirects=True)
    tokens = TokenManager(
        ClientCredentials("client_hardening", SECRET), token_url=TOKEN_URL, http_client=http
    )
    with anyio.fail_after(TIMEOUT), pytest.raises(TokenError, match="307"):
        await tokens.get()
    assert routes.stolen == []

"""Hardening, secrets (issue 15): nothing an SDK error exposes or chains holds a
credential (item 6), and server text echoing the secret is masked, in the SDK and the CLI
(item 14).

`exposed` collects what an error tracker serialises: for the error and every exception
on its ``__cause__``/``__context__`` chain, its ``str``, ``repr`` and ``args``, every
string attribute, and each httpx request reachable from it (an httpx error's
``request``, a response's ``request``) with its raw headers and body.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from urllib.parse import parse_qsl

import anyio
import anyio.abc
import anyio.to_thread
import httpx
import pytest
from reliability_support import TIMEOUT, answer, bev, error_chain, loopback, read_request

from smartcar_async import (
    APIConnectionError,
    APIStatusError,
    ClientCredentials,
    NotFoundError,
    SmartcarClient,
    SmartcarError,
    TokenError,
    TokenManager,
    VirtualClock,
)
from smartcar_async.cli import main
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio

SECRET = "hardening-secret-9f8e7d6c5b4a"


def _requests(exc: BaseException) -> list[httpx.Request]:
    found: list[httpx.Request] = []
    with contextlib.suppress(AttributeError, RuntimeError):
        found.append(exc.request)  # type: ignore[attr-defined]
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response):
        with contextlib.suppress(RuntimeError):
            found.append(response.request)
    return [r for r in found if isinstance(r, httpx.Request)]


def exposed(error: BaseException) -> str:
    parts: list[str] = []
    for exc in error_chain(error):
        parts += [str(exc), repr(exc), repr(exc.args)]
        parts += [v for v in vars(exc).values() if isinstance(v, str)]
        parts += [repr(v) for v in vars(exc).values() if isinstance(v, tuple)]
        for request in _requests(exc):
            parts.append(repr(request.headers.raw))
            with contextlib.suppress(httpx.RequestNotRead):
                parts.append(request.content.decode("latin-1"))
    return "\n".join(parts)


class Wire(httpx.AsyncBaseTransport):
    """The emulator in-process; records the tokens it issued; can fail requests."""

    def __init__(self, emulator: SmartcarEmulator) -> None:
        self._inner = emulator.transport()
        self.tokens: list[str] = []
        self.fail_token = False
        self.fail_api = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        is_token = request.url.path.endswith("/oauth2/token")
        if (is_token and self.fail_token) or (not is_token and self.fail_api):
            await request.aread()
            raise httpx.ReadError("connection reset mid-answer", request=request)
        response = await self._inner.handle_async_request(request)
        if is_token and response.status_code == 200:
            await response.aread()
            self.tokens.append(response.json()["access_token"])
        return response


def client_on(emulator: SmartcarEmulator, wire: Wire, **options: object) -> SmartcarClient:
    kwargs = emulator.client_kwargs()
    kwargs["transport"] = wire
    return SmartcarClient(**kwargs, **options)  # type: ignore[arg-type]


@pytest.fixture
def emulator() -> SmartcarEmulator:
    return SmartcarEmulator(vehicles=0, seed=15, client_secret=SECRET)


async def test_an_api_error_exposes_no_bearer_token(emulator: SmartcarEmulator) -> None:
    car = bev(emulator)
    wire = Wire(emulator)
    async with client_on(emulator, wire) as client:
        with anyio.fail_after(TIMEOUT), pytest.raises(NotFoundError) as caught:
            await client.vehicles.signal(car.vehicle_id, "no-such-signal", user_id=car.user_id)
    [token] = wire.tokens
    text = exposed(caught.value)
    assert token not in text
    assert caught.value.response is not None
    assert caught.value.response.request.headers["authorization"] == "[masked]"
    assert caught.value.response.request.headers["sc-user-id"] == car.user_id  # kept


async def test_a_connection_error_chains_no_bearer_token(emulator: SmartcarEmulator) -> None:
    car = bev(emulator)
    wire = Wire(emulator)
    async with client_on(emulator, wire) as client:
        await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
        wire.fail_api = True
        with anyio.fail_after(TIMEOUT), pytest.raises(APIConnectionError) as caught:
            await client.commands.lock(car.vehicle_id, user_id=car.user_id)
    [token] = wire.tokens
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert token not in exposed(caught.value)


@pytest.mark.parametrize("auth", ["post", "basic"])
async def test_a_token_error_chains_no_client_secret(emulator: SmartcarEmulator, auth: str) -> None:
    wire = Wire(emulator)
    wire.fail_token = True
    basic = base64.b64encode(f"{emulator.client_id}:{SECRET}".encode()).decode()
    async with client_on(emulator, wire, token_auth=auth) as client:
        for call in (client.tokens.get, client.connections.list_page):
            with anyio.fail_after(TIMEOUT), pytest.raises(TokenError) as caught:
                await call()
            text = exposed(caught.value)
            assert SECRET not in text
            assert basic not in text
            cause = caught.value.__cause__
            assert isinstance(cause, httpx.ReadError)
            if auth == "post":
                form = dict(parse_qsl(cause.request.content.decode()))
                assert form["client_secret"] == "[masked]"
                assert form["client_id"] == emulator.client_id  # kept: not a secret
            else:
                assert cause.request.headers["authorization"] == "[masked]"


class EchoingTokenEndpoint:
    """A broken token endpoint that refuses and echoes the whole form back."""

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        form = (await request.aread()).decode()
        body = {"error": "invalid_client", "error_description": f"bad request: {form}"}
        return httpx.Response(401, json=body)


async def test_server_text_echoing_the_secret_is_masked() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(EchoingTokenEndpoint()))
    client = SmartcarClient(
        client_id="client_hardening",
        client_secret=SECRET,
        token_url="https://iam.example.test/oauth2/token",
        http_client=http,
    )
    with anyio.fail_after(TIMEOUT), pytest.raises(TokenError) as caught:
        await client.vehicles.get("v1")
    await http.aclose()
    error = caught.value
    assert error.error_description is not None
    assert "client_secret=[masked]" in error.error_description
    assert SECRET not in exposed(error)
    assert isinstance(error, SmartcarError)


class TokenThenEchoingEndpoint:
    """Issues one token, then refuses every refresh by echoing the whole form back."""

    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests == 1:
            return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 3600})
        return await EchoingTokenEndpoint()(request)


async def test_a_failed_refresh_in_the_advisory_window_logs_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The refresh that fails while the old token is still good is only logged; the log
    line carries the server's text, so it must be masked like a raised error."""
    endpoint = TokenThenEchoingEndpoint()
    clock = VirtualClock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(endpoint)) as http:
        tokens = TokenManager(
            ClientCredentials("client_hardening", SECRET),
            token_url="https://iam.example.test/oauth2/token",
            http_client=http,
            clock=clock,
        )
        with anyio.fail_after(TIMEOUT):
            first = await tokens.get()
            clock.advance(3600 - 200)  # inside the advisory window, outside the mandatory
            with caplog.at_level(logging.WARNING, logger="smartcar_async"):
                assert await tokens.get() == first
    assert endpoint.requests == 2
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "token refresh failed" in logged
    assert "client_secret=[masked]" in logged
    assert SECRET not in logged


async def echo_the_form(stream: anyio.abc.SocketStream) -> None:
    """The echoing token endpoint over loopback, for the CLI (which runs its own loop)."""
    async with stream:
        _, form = await read_request(stream)
        body = {"error": "invalid_client", "error_description": f"got {form.decode()}"}
        await answer(stream, json.dumps(body).encode(), status="401 Unauthorized")


async def test_the_cli_never_prints_an_echoed_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with loopback(echo_the_form) as base:
        monkeypatch.setenv("SMARTCAR_CLIENT_ID", "client_hardening")
        monkeypatch.setenv("SMARTCAR_CLIENT_SECRET", SECRET)
        monkeypatch.setenv("SMARTCAR_TOKEN_URL", f"{base}/oauth2/token")
        monkeypatch.delenv("SMARTCAR_LOG", raising=False)
        outputs = []
        for argv in (["token"], ["token", "--json"], ["connections"], ["--debug", "token"]):
            capsys.readouterr()
            with anyio.fail_after(TIMEOUT):
                code = await anyio.to_thread.run_sync(main, argv, abandon_on_cancel=True)
            captured = capsys.readouterr()
            assert code != 0
            outputs.append(captured.out + captured.err)
    assert all("invalid_client" in output for output in outputs[:3])
    for output in outputs:
        assert SECRET not in output
        assert "[masked]" in output


async def test_an_unrelated_error_keeps_its_text(emulator: SmartcarEmulator) -> None:
    """Masking touches credentials only: an ordinary error reads as before."""
    car = bev(emulator)
    async with client_on(emulator, Wire(emulator)) as client:
        with anyio.fail_after(TIMEOUT), pytest.raises(APIStatusError) as caught:
            await client.vehicles.get(car.vehicle_id + "-missing")
    assert "[masked]" not in str(caught.value)

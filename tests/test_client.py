"""`SmartcarClient`: configuration and environment variables, the ``http://`` check, the
``http_client`` check, `with_options`, the one-loop rule, headers and User-Agent.
"""

from __future__ import annotations

import gc
import platform
from collections.abc import Callable

import anyio
import httpx
import pytest
from _helpers import (
    CLIENT_ID,
    MANAGEMENT_API,
    SECRET,
    SIGNALS_PATH,
    TIMEOUT,
    TOKEN_URL,
    VEHICLE_API,
    FakeSmartcar,
    RecordingClock,
    Reply,
    lock,
    make_client,
    read,
)

from smartcar_async import (
    APIConnectionError,
    ConfigurationError,
    RetryPolicy,
    ServerError,
    SmartcarClient,
    __version__,
)
from smartcar_async._config import check_base_url, resolve_urls

pytestmark = pytest.mark.anyio

ENV_VARS = [
    "SMARTCAR_CLIENT_ID",
    "SMARTCAR_CLIENT_SECRET",
    "SMARTCAR_TOKEN_URL",
    "SMARTCAR_VEHICLE_API_URL",
    "SMARTCAR_MANAGEMENT_API_URL",
    "SMARTCAR_VEHICLE_API_V3_ORIGIN",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def urls(client: SmartcarClient) -> tuple[str, str, str]:
    shared = client._shared
    return shared.token_url, shared.vehicle_api_url, shared.management_api_url


# -- configuration ---------------------------------------------------------------------


def test_defaults() -> None:
    client = make_client(FakeSmartcar())
    assert urls(client) == (TOKEN_URL, VEHICLE_API, MANAGEMENT_API)
    assert client.retry == RetryPolicy(jitter=0)
    assert SmartcarClient(client_id="a", client_secret="b", transport=FakeSmartcar()).retry == (
        RetryPolicy()
    )
    assert RetryPolicy().max_retries == 2
    assert (RetryPolicy().backoff_initial, RetryPolicy().backoff_max) == (0.5, 8.0)
    assert RetryPolicy().retry_after_cap == 60.0


def test_missing_credentials_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SMARTCAR_CLIENT_ID"):
        SmartcarClient(transport=FakeSmartcar())
    with pytest.raises(ConfigurationError):
        SmartcarClient(client_id=CLIENT_ID, transport=FakeSmartcar())
    with pytest.raises(ConfigurationError):
        SmartcarClient(client_secret=SECRET, transport=FakeSmartcar())


async def test_credentials_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCAR_CLIENT_ID", "client_from_env")
    monkeypatch.setenv("SMARTCAR_CLIENT_SECRET", "secret-from-env")
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with SmartcarClient(transport=fake, clock=RecordingClock()) as client:
            await read(client)
    body = fake.token_requests[0].body.decode()
    assert "client_id=client_from_env" in body
    assert "client_secret=secret-from-env" in body


async def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCAR_CLIENT_ID", "client_from_env")
    monkeypatch.setenv("SMARTCAR_CLIENT_SECRET", "secret-from-env")
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_URL", "https://env.example.com/v3")
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, vehicle_api_url="https://arg.example.com/v3") as client:
            assert urls(client)[1] == "https://arg.example.com/v3"
            await read(client)
    assert f"client_id={CLIENT_ID}" in fake.token_requests[0].body.decode()


def test_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCAR_TOKEN_URL", "https://iam.test/oauth2/token")
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_URL", "https://vehicle.test/v3/")
    monkeypatch.setenv("SMARTCAR_MANAGEMENT_API_URL", "http://127.0.0.1:9000/v3")
    client = make_client(FakeSmartcar())
    assert urls(client) == (
        "https://iam.test/oauth2/token",
        "https://vehicle.test/v3",
        "http://127.0.0.1:9000/v3",
    )
    assert client.url("vehicle", "/vehicles/x") == "https://vehicle.test/v3/vehicles/x"


def test_official_origin_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_V3_ORIGIN", "https://origin.example.com/")
    assert urls(make_client(FakeSmartcar()))[1] == "https://origin.example.com/v3"
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_URL", "https://explicit.example.com/v3")
    assert urls(make_client(FakeSmartcar()))[1] == "https://explicit.example.com/v3"
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_URL", "")
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_V3_ORIGIN", "http://api.example.com")
    with pytest.raises(ConfigurationError, match="http://"):
        make_client(FakeSmartcar())


async def test_requests_go_to_the_configured_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTCAR_VEHICLE_API_V3_ORIGIN", "http://localhost:8080")
    fake = FakeSmartcar()
    seen: list[str] = []

    class Recorder(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return await fake.handle_async_request(request)

    with anyio.fail_after(TIMEOUT):
        async with make_client(Recorder()) as client:
            await read(client, params={"a": "1"})
    assert seen == [TOKEN_URL, "http://localhost:8080/v3/vehicles/v1/signals?a=1"]


@pytest.mark.parametrize("argument", ["token_url", "vehicle_api_url", "management_api_url"])
@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com/v3",
        "http://10.0.0.8:8080",
        "http://127.0.0.1.evil.example/v3",
        "http://localhost.evil.example",
    ],
)
def test_plain_http_to_a_remote_host_is_refused(argument: str, url: str) -> None:
    with pytest.raises(ConfigurationError, match="http://"):
        make_client(FakeSmartcar(), **{argument: url})


@pytest.mark.parametrize(
    "variable", ["SMARTCAR_TOKEN_URL", "SMARTCAR_VEHICLE_API_URL", "SMARTCAR_MANAGEMENT_API_URL"]
)
def test_plain_http_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://api.example.com/v3")
    with pytest.raises(ConfigurationError):
        make_client(FakeSmartcar())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/v3",
        "http://localhost/v3",
        "http://LOCALHOST:1/v3",
        "http://[::1]:8080/v3",
        "http://127.1.2.3",
        "http://emulator.localhost:8000",
        "https://vehicle.api.smartcar.com/v3",
    ],
)
def test_loopback_http_and_any_https_are_allowed(url: str) -> None:
    assert check_base_url(url + "/", name="vehicle_api_url") == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com",
        "vehicle.api.smartcar.com/v3",
        "https://",
        "https://x.com/v3?a=1",
        "https://x.com/v3#frag",
        "",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url, name="vehicle_api_url")


def test_resolve_urls_reads_a_given_environment() -> None:
    env = {"SMARTCAR_VEHICLE_API_V3_ORIGIN": "https://o.example.com"}
    assert resolve_urls(None, None, None, env)[1] == "https://o.example.com/v3"


# -- http_client -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: httpx.Client(), lambda: object(), lambda: "http"])
def test_http_client_must_be_an_async_client(make: Callable[[], object]) -> None:
    bad = make()
    with pytest.raises(ConfigurationError, match=r"httpx\.AsyncClient"):
        SmartcarClient(client_id=CLIENT_ID, client_secret=SECRET, http_client=bad)  # type: ignore[arg-type]
    if isinstance(bad, httpx.Client):
        bad.close()


async def test_a_given_http_client_is_used_and_left_open() -> None:
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with httpx.AsyncClient(transport=fake) as http:
            async with make_client(FakeSmartcar(), http_client=http) as client:
                assert client.http_client is http
                await read(client)
            assert not http.is_closed
            assert len(fake.api) == 1
            assert client.is_closed


async def test_the_own_http_client_is_closed_with_the_client() -> None:
    with anyio.fail_after(TIMEOUT):
        async with make_client(FakeSmartcar()) as client:
            http = client.http_client
        assert http.is_closed
        with pytest.raises(RuntimeError, match="closed"):
            await read(client)


# -- with_options ----------------------------------------------------------------------


async def test_with_options_shares_tokens_pool_and_throttle() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [Reply(503, json={}), Reply(503, json={})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            strict = client.with_options(retry=RetryPolicy(max_retries=0))
            assert strict.tokens is client.tokens
            assert strict.http_client is client.http_client
            assert strict._shared.throttle is client._shared.throttle
            assert strict.clock is client.clock
            assert strict.retry == RetryPolicy(max_retries=0)
            assert client.retry == RetryPolicy(jitter=0)
            with pytest.raises(ServerError):
                await read(strict)
            assert len(fake.api) == 1  # the derived policy: no retry
            await strict.aclose()
            assert not client.is_closed
            assert not client.http_client.is_closed
            fake.api_script = []
            await read(client)  # the original still works after the derived one closed
            await read(strict)
            assert len(fake.token_requests) == 1
        assert client.is_closed
        assert strict.is_closed


async def test_with_options_timeouts_reach_the_request() -> None:
    fake = FakeSmartcar()
    seen: list[dict[str, float | None]] = []

    class Recorder(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.host != "iam.smartcar.com":
                seen.append(request.extensions["timeout"])
            return await fake.handle_async_request(request)

    with anyio.fail_after(TIMEOUT):
        async with make_client(Recorder()) as client:
            quick = client.with_options(
                timeout=httpx.Timeout(1.0), command_timeout=httpx.Timeout(2.0)
            )
            await read(client)
            await lock(client)
            await read(quick)
            await lock(quick)
            await read(client, timeout=httpx.Timeout(3.0))
    reads = [t["read"] for t in seen]
    assert reads == [310.0, 310.0, 1.0, 2.0, 3.0]


# -- one client, one event loop --------------------------------------------------------

BACKEND_PAIRS = [("asyncio", "asyncio"), ("trio", "trio"), ("asyncio", "trio"), ("trio", "asyncio")]


@pytest.mark.parametrize(("first", "second"), BACKEND_PAIRS)
def test_a_client_used_from_a_second_event_loop_raises_a_clear_error(
    first: str, second: str
) -> None:
    fake = FakeSmartcar()
    client = make_client(fake)  # created outside any event loop

    async def use() -> int:
        with anyio.fail_after(TIMEOUT):
            response, _ = await read(client)
            return response.status_code

    assert anyio.run(use, backend=first) == 200  # the first loop adopts it
    with pytest.raises(RuntimeError, match="another event loop"):
        anyio.run(use, backend=second)
    assert len(fake.api) == 1

    async def close() -> None:
        await client.aclose()

    anyio.run(close, backend=first)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_client_created_outside_any_loop_works_in_the_first_loop(backend: str) -> None:
    fake = FakeSmartcar()
    client = make_client(fake)

    async def main() -> None:
        with anyio.fail_after(TIMEOUT):
            async with client, anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(read, client)

    anyio.run(main, backend=backend)
    assert len(fake.api) == 5
    assert len(fake.token_requests) == 1


# -- what goes on the wire -------------------------------------------------------------


async def test_every_call_carries_the_headers() -> None:
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            await read(client)
            await lock(client)
            await client.request("GET", "management", "/connections")
    user_agent = fake.api[0].headers["user-agent"]
    assert user_agent == (
        f"smartcar-async/{__version__} (Python {platform.python_version()}; "
        f"httpx {httpx.__version__})"
    )
    for delivery in fake.api:
        assert delivery.authorization == "Bearer tok-1"
        assert delivery.headers["accept"] == "application/json"
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.headers["user-agent"] == user_agent
    assert fake.api[0].headers["sc-user-id"] == "u"
    assert fake.api[1].headers["sc-user-id"] == "u"
    assert "sc-user-id" not in fake.api[2].headers
    assert [(d.method, d.path) for d in fake.api] == [
        ("GET", "/v3" + SIGNALS_PATH),
        ("POST", "/v3/vehicles/v1/commands/security/lock"),
        ("GET", "/v3/connections"),
    ]


async def test_json_body_and_query_parameters() -> None:
    fake = FakeSmartcar()
    seen: list[httpx.URL] = []

    async def api(request: httpx.Request, delivery: object) -> Reply:
        seen.append(request.url)
        return Reply(200, json={})

    fake.api_handler = api
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            await client.request(
                "POST",
                "vehicle",
                "/vehicles/v1/commands/charge/limit",
                json={"percent": 80},
                params={"page[number]": 2},
                user_id="u",
                command=True,
            )
    assert fake.api[0].body == b'{"percent":80}'
    assert seen[0].params["page[number]"] == "2"


async def test_the_user_id_header_is_per_call_not_shared() -> None:
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            await client.request("GET", "vehicle", SIGNALS_PATH, user_id="alice")
            await client.request("GET", "vehicle", SIGNALS_PATH)
            await client.request("GET", "vehicle", SIGNALS_PATH, user_id="bob")
    assert [d.headers.get("sc-user-id") for d in fake.api] == ["alice", None, "bob"]


async def test_connection_failures_name_the_request_without_its_query() -> None:
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    fake.api_script = [httpx.ConnectError]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock, retry=RetryPolicy(max_retries=0)) as client:
            with pytest.raises(APIConnectionError) as info:
                await read(client, params={"filter[userId]": "private"})
    assert info.value.method == "GET"
    assert info.value.url == VEHICLE_API + SIGNALS_PATH
    assert "private" not in str(info.value)


# httpx itself leaves two async generators to the garbage collector when decoding fails,
# and trio warns about them; that is httpx's, not the SDK's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_undecodable_body_is_an_api_connection_error() -> None:
    fake = FakeSmartcar()
    fake.api_script = [Reply(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            with pytest.raises(APIConnectionError) as info:
                await read(client)
    assert isinstance(info.value.__cause__, httpx.DecodingError)
    assert fake.open_streams == []
    del info
    gc.collect()  # free httpx's generators now, under this test's warning filter


async def test_repr_names_the_public_class() -> None:
    client = make_client(FakeSmartcar())
    text = repr(client)
    assert text.startswith("<SmartcarClient ")
    assert CLIENT_ID in text
    assert SmartcarClient.__module__ == "smartcar_async"
    await client.aclose()

"""The lean request path: the SDK's own HTTP client keeps no cookies, a user's
``http_client`` keeps its own headers and jar, and the SDK's headers override neither
more nor less than before.
"""

from __future__ import annotations

import gc
import weakref

import anyio
import httpx
import pytest
from _helpers import TIMEOUT, FakeSmartcar, Reply, make_client, read

from smartcar_async._http import ApiHttpClient
from smartcar_async._pipeline import Next

pytestmark = pytest.mark.anyio


async def test_the_sdks_own_client_neither_stores_nor_sends_cookies() -> None:
    fake = FakeSmartcar()
    fake.api_script = [Reply(200, json={}, headers={"set-cookie": "session=abc; Path=/"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            await read(client)
            await read(client)
            assert isinstance(client.http_client, ApiHttpClient)
            assert len(client.http_client.cookies) == 0
    assert "cookie" not in fake.api[1].headers


def test_the_sdks_own_client_refuses_a_cookie_jar() -> None:
    http = ApiHttpClient()
    with pytest.raises(TypeError, match="http_client="):
        http.cookies = {"a": "1"}  # type: ignore[assignment]


async def test_a_users_http_client_keeps_its_cookies_and_headers() -> None:
    fake = FakeSmartcar()
    fake.api_script = [Reply(200, json={}, headers={"set-cookie": "session=abc; Path=/"})]
    with anyio.fail_after(TIMEOUT):
        async with (
            httpx.AsyncClient(
                transport=fake, headers={"x-trace": "t1", "Accept": "text/plain"}
            ) as http,
            make_client(fake, http_client=http) as client,
        ):
            await read(client)
            http.headers["x-trace"] = "t2"  # changed after the client was made
            await read(client)
    assert fake.api[1].headers["cookie"] == "session=abc"
    assert [d.headers["x-trace"] for d in fake.api] == ["t1", "t2"]
    # The SDK's headers win over the client's defaults, as before.
    assert fake.api[0].headers["accept"] == "application/json"


async def test_derived_clients_send_the_same_headers_and_their_own_user_id() -> None:
    fake = FakeSmartcar()
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            derived = client.with_options(retry=client.retry)
            await read(client)
            await derived.request("GET", "vehicle", "/vehicles/v1/signals", user_id="other")
            await client.request("GET", "management", "/connections")
    assert [d.headers.get("sc-user-id") for d in fake.api] == ["u", "other", None]
    assert fake.api[0].headers["user-agent"] == fake.api[1].headers["user-agent"]


async def test_a_finished_call_leaves_nothing_for_the_garbage_collector() -> None:
    # httpx's spent response stream points back at its response; the SDK breaks that
    # cycle, so a response, its body and its request go the moment the call is done
    # instead of piling up under fan-out until the cyclic collector runs.
    seen: list[tuple[weakref.ref[httpx.Response], weakref.ref[httpx.Request]]] = []

    async def spy(request: httpx.Request, call_next: Next) -> httpx.Response:
        response = await call_next(request)
        seen.append((weakref.ref(response), weakref.ref(request)))
        return response

    fake = FakeSmartcar()
    fake.api_script = [Reply(200, content=b"x" * 50_000, headers={"x-kind": "big"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, middleware=[spy]) as client:
            gc.collect()
            gc.disable()
            try:
                response, _ = await read(client)
                assert len(response.content) == 50_000  # the caller still has it all
                del response
                assert [(r() is None, q() is None) for r, q in seen] == [(True, True)]
            finally:
                gc.enable()

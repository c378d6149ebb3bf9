"""One scenario through all three ways in: the transport, respx, and a loopback server.

Each run gets a fresh emulator with the same seed and its own virtual clock, so the
three runs must produce the same statuses, headers and bodies (request ids aside).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import respx

from smartcar_async.testing import Fault, SmartcarEmulator, VirtualClock

pytestmark = pytest.mark.anyio

Outcome = tuple[Any, ...]


@asynccontextmanager
async def way_in(
    mode: str, emulator: SmartcarEmulator
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """A plain httpx client reaching ``emulator`` the given way, and the URLs to use."""
    if mode == "transport":
        kwargs = emulator.client_kwargs()
        async with httpx.AsyncClient(transport=kwargs["transport"]) as client:
            yield client, kwargs
    elif mode == "respx":
        kwargs = emulator.client_kwargs()
        with respx.mock(assert_all_called=False) as router:
            router.route(host__regex=r"\.emulator\.invalid$").mock(
                side_effect=emulator.respx_side_effect
            )
            async with httpx.AsyncClient() as client:
                yield client, kwargs
    else:
        async with emulator.serve() as base_url, httpx.AsyncClient() as client:
            yield client, emulator.client_kwargs(base_url=base_url)


def outcome(response: httpx.Response) -> Outcome:
    """What must agree across ways in: status, API headers, body (request ids replaced)."""
    assert len(response.headers["sc-request-id"]) == 36
    headers = tuple(
        (name, response.headers[name])
        for name in ("content-type", "retry-after")
        if name in response.headers
    )
    try:
        body: Any = response.json()
    except ValueError:
        body = response.content
    return (response.status_code, headers, body)


async def scenario(mode: str) -> list[Outcome]:
    clock = VirtualClock()
    emulator = SmartcarEmulator(vehicles=12, seed=11, clock=clock, token_lifetime=600)
    car = emulator.fleet()[2]
    ice = emulator.add_vehicle("Ford", "F-150", 2022, "ICE")
    webhook_id = emulator.add_webhook()
    results: list[Outcome] = []
    async with way_in(mode, emulator) as (http, urls):
        vehicle_api, management_api = urls["vehicle_api_url"], urls["management_api_url"]
        form = {
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        }
        token = await http.post(urls["token_url"], data=form)
        results.append(outcome(token))
        results.append(
            outcome(await http.post(urls["token_url"], json={**form, "client_secret": "x"}))
        )
        auth = {"authorization": f"Bearer {token.json()['access_token']}"}
        user = {**auth, "sc-user-id": car.user_id}
        vehicle = f"{vehicle_api}/vehicles/{car.vehicle_id}"

        async def call(method: str, url: str, **kwargs: Any) -> None:
            results.append(outcome(await http.request(method, url, **kwargs)))

        await call("GET", f"{vehicle_api}/connections", headers=auth, params={"page[size]": 3})
        await call(
            "GET",
            f"{vehicle_api}/connections",
            headers=auth,
            params={"page[number]": 2, "page[size]": 5},
        )
        await call("GET", vehicle, headers=auth)
        await call("GET", f"{vehicle_api}/vehicles", headers=auth)
        await call("GET", f"{vehicle}/signals", headers=auth)
        await call("GET", f"{vehicle}/signals", headers=user)
        await call("GET", f"{vehicle}/signals/odometer-traveleddistance", headers=user)
        await call("GET", f"{vehicle}/signals/nope-nope", headers=user)
        await call("POST", f"{vehicle}/commands/security/lock", headers=user)
        await call("GET", f"{vehicle}/signals/closure-islocked", headers=user)
        await call(
            "POST",
            f"{vehicle}/commands/charge/set-limit",
            headers=user,
            json={"data": {"attributes": {"percent": 40}}},
        )
        await call(
            "POST",
            f"{vehicle_api}/vehicles/{ice.vehicle_id}/commands/charge/start",
            headers={**auth, "sc-user-id": ice.user_id},
        )

        emulator.add_fault(Fault.status(503), route="GET /vehicles/{id}/signals", times=1)
        await call("GET", f"{vehicle}/signals", headers=user)
        emulator.add_fault(Fault.rate_limit(retry_after=9, scope="vehicle"), times=1)
        await call("GET", vehicle, headers=auth)
        emulator.add_fault(Fault.malformed_json(), times=1)
        await call("GET", vehicle, headers=auth)
        emulator.add_fault(Fault.drop(), times=1)
        try:
            await http.get(vehicle, headers=auth)
        except httpx.HTTPError as error:
            results.append(("error", type(error).__name__))

        emulator.set_long_running(120)
        streamed: list[Outcome] = []
        async with anyio.create_task_group() as tg:

            async def long_running() -> None:
                async with http.stream(
                    "POST", f"{vehicle}/commands/security/unlock", headers=user
                ) as response:
                    head = (response.status_code, "content-length" in response.headers)
                    await response.aread()
                    streamed.append((*head, *outcome(response)))

            tg.start_soon(long_running)
            await clock.wait_for_sleepers(1)
            assert not streamed
            clock.advance(120)
        results += streamed

        subscription = {
            "data": {
                "attributes": {
                    "webhookId": webhook_id,
                    "vehicleId": car.vehicle_id,
                    "userId": car.user_id,
                }
            }
        }
        await call("POST", f"{management_api}/subscriptions", headers=auth, json=subscription)
        await call("POST", f"{management_api}/subscriptions", headers=auth, json=subscription)
        listed = await http.get(f"{management_api}/subscriptions", headers=auth)
        results.append(outcome(listed))
        subscription_id = listed.json()["data"][0]["id"]
        await call("DELETE", f"{management_api}/subscriptions/{subscription_id}", headers=auth)
        await call("GET", f"{management_api}/webhooks/{webhook_id}", headers=auth)

        await call("DELETE", f"{vehicle_api}/connections/{car.connection_id}", headers=auth)
        await call("GET", f"{vehicle}/signals", headers=user)
        clock.advance(600)
        await call("GET", f"{vehicle_api}/connections", headers=auth)
    results.append(("stats", json.dumps(emulator.stats.as_dict(), sort_keys=True)))
    return results


async def test_the_three_ways_in_answer_alike() -> None:
    with anyio.fail_after(30):
        runs = {mode: await scenario(mode) for mode in ("transport", "respx", "socket")}
    reference = runs["transport"]
    assert len(reference) == 28
    assert ("error", "RemoteProtocolError") in reference
    for mode in ("respx", "socket"):
        for step, (want, got) in enumerate(zip(reference, runs[mode], strict=True)):
            assert got == want, f"{mode} differs at step {step}"


def _statuses(results: list[Outcome]) -> list[Any]:
    return [r[0] for r in results]


async def test_the_scenario_itself() -> None:
    with anyio.fail_after(10):
        results = await scenario("transport")
    assert _statuses(results)[:14] == [
        200,
        401,
        200,
        200,
        200,
        404,
        400,
        200,
        200,
        404,
        200,
        200,
        400,
        501,
    ]
    assert results[14][0] == 503
    assert results[15][:2] == (429, (("content-type", "application/json"), ("retry-after", "9")))
    assert isinstance(results[16][2], bytes)  # malformed JSON
    assert results[18][:3] == (202, False, 202)
    assert _statuses(results)[19:] == [202, 202, 200, 204, 200, 204, 404, 401, "stats"]


async def test_request_ids_are_fresh_per_request() -> None:
    emulator = SmartcarEmulator(vehicles=1, seed=1, clock=VirtualClock())
    ids: list[str] = []
    with anyio.fail_after(5):
        async with way_in("transport", emulator) as (http, urls):
            for _ in range(50):
                response = await http.get(urls["vehicle_api_url"] + "/connections")
                ids.append(response.headers["sc-request-id"])
    assert len(set(ids)) == 50

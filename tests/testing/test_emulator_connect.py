"""The emulator plays Connect: validation, consent, the 302 back, through all three ways in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
import respx

import smartcar_async as sc
from smartcar_async.testing import DEFAULT_REDIRECT_URI, RateLimits, SmartcarEmulator

pytestmark = pytest.mark.anyio

WAYS_IN = ("transport", "respx", "socket")
SCOPE = ["read_vehicle_info", "required:read_battery"]


@asynccontextmanager
async def way_in(
    mode: str, emulator: SmartcarEmulator
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A browser-like client (no redirects followed) and the Connect kwargs for ``mode``."""
    if mode == "transport":
        async with httpx.AsyncClient(transport=emulator.transport()) as client:
            yield client, emulator.connect_kwargs()
    elif mode == "respx":
        with respx.mock(assert_all_called=False) as router:
            router.route(host__regex=r"\.emulator\.invalid$").mock(
                side_effect=emulator.respx_side_effect
            )
            async with httpx.AsyncClient() as client:
                yield client, emulator.connect_kwargs()
    else:
        async with emulator.serve() as base_url, httpx.AsyncClient() as client:
            yield client, emulator.connect_kwargs(base_url=base_url)


def _location(response: httpx.Response) -> tuple[str, dict[str, str]]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query


@pytest.mark.parametrize("mode", WAYS_IN)
async def test_consent_creates_the_user_and_connections_and_redirects(
    mode: str, emulator: SmartcarEmulator
) -> None:
    users_before = {car.user_id for car in emulator.fleet()}
    emulator.queue_consent(vehicles=2)
    state = sc.connect.new_state()
    with anyio.fail_after(20):
        async with way_in(mode, emulator) as (browser, kwargs):
            url = sc.connect.authorization_url(
                **kwargs, scope=SCOPE, state=state, mode="live", external_id="customer-7"
            )
            response = await browser.get(url)
    target, query = _location(response)
    assert target == DEFAULT_REDIRECT_URI
    assert set(query) == {"user_id", "state"}
    result = sc.connect.parse_redirect(response.headers["location"], expected_state=state)
    assert result.user_id not in users_before
    cars = [car for car in emulator.fleet() if car.user_id == result.user_id]
    assert len(cars) == 2
    assert all(car.mode == "live" for car in cars)
    (record,) = emulator.consents
    assert (record.flow, record.outcome, record.user_id) == ("authorize", "approve", result.user_id)
    assert record.vehicle_ids == tuple(car.vehicle_id for car in cars)
    assert (record.state, record.external_id) == (state, "customer-7")
    assert emulator.stats.requests["GET /oauth/authorize"] == 1
    async with sc.SmartcarClient(**emulator.client_kwargs()) as client:
        found = [c async for c in client.connections.list(external_user_id="customer-7")]
    assert {c.user_id for c in found} == {result.user_id}


@pytest.mark.parametrize("mode", WAYS_IN)
async def test_the_new_user_reads_its_vehicles_through_the_api(
    mode: str, emulator: SmartcarEmulator
) -> None:
    state = sc.connect.new_state()
    with anyio.fail_after(20):
        async with way_in(mode, emulator) as (browser, kwargs):
            url = sc.connect.authorization_url(**kwargs, scope=SCOPE, state=state)
            location = (await browser.get(url)).headers["location"]
    user_id = sc.connect.parse_redirect(location, expected_state=state).user_id
    assert user_id is not None
    async with sc.SmartcarClient(**emulator.client_kwargs()) as client:
        connections = [c async for c in client.connections.list(user_id=user_id)]
        assert len(connections) == 1
        signals = await client.vehicles.signals(connections[0].vehicle_id, user_id=user_id)
    assert len(signals) > 0
    # The connection grants what was asked for and the vehicle supports, nothing else.
    assert set(connections[0].permissions) <= {"read_vehicle_info", "read_battery"}
    assert "read_vehicle_info" in connections[0].permissions


@pytest.mark.parametrize("mode", WAYS_IN)
@pytest.mark.parametrize(
    ("parameter", "kwargs"),
    [
        ("client_id", {"client_id": "not-the-application-id"}),
        ("redirect_uri", {"redirect_uri": "https://evil.example.com/cb"}),
    ],
)
async def test_connect_refuses_unknown_clients_and_unregistered_redirects(
    mode: str, parameter: str, kwargs: dict[str, str], emulator: SmartcarEmulator
) -> None:
    with anyio.fail_after(20):
        async with way_in(mode, emulator) as (browser, connect):
            url = sc.connect.authorization_url(**{**connect, **kwargs}, state="s")
            response = await browser.get(url)
    # An error page, never a redirect to an unverified URI.
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.text == f"400: Invalid parameter {parameter}"
    assert emulator.consents == []


async def test_the_api_credential_id_as_client_id_is_refused(emulator: SmartcarEmulator) -> None:
    # What happens when the SDK's check is bypassed: Connect's own answer.
    url = sc.connect.authorization_url(**emulator.connect_kwargs(), state="s").replace(
        emulator.application_id, emulator.client_id
    )
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        response = await browser.get(url)
    assert (response.status_code, response.text) == (400, "400: Invalid parameter client_id")


@pytest.mark.parametrize(
    ("replace", "parameter"),
    [
        (("mode=live", "mode=sandbox"), "mode"),
        (("response_type=code", "response_type=token"), "response_type"),
        (("approval_prompt=auto", "approval_prompt=never"), "approval_prompt"),
    ],
)
async def test_connect_refuses_bad_parameters(
    replace: tuple[str, str], parameter: str, emulator: SmartcarEmulator
) -> None:
    url = sc.connect.authorization_url(**emulator.connect_kwargs(), state="s")
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        response = await browser.get(url.replace(*replace))
    assert (response.status_code, response.text) == (400, f"400: Invalid parameter {parameter}")


async def test_no_bearer_token_is_needed_and_api_rate_limits_do_not_apply(
    emulator: SmartcarEmulator,
) -> None:
    emulator.rate_limits = RateLimits(app_capacity=1, app_refill_per_second=0.0)
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        for _ in range(3):
            url = sc.connect.authorization_url(**emulator.connect_kwargs(), state="s")
            assert (await browser.get(url)).status_code == 302
    assert len(emulator.consents) == 3


@pytest.mark.parametrize(
    ("outcome", "extra"),
    [
        ("access_denied", set()),
        ("no_vehicles", set()),
        ("invalid_subscription", set()),
        ("server_error", set()),
        ("user_manually_returned_to_application", set()),
        ("vehicle_incompatible", {"make", "model", "year", "vin"}),
        ("configuration_error", {"status_code", "error_message"}),
    ],
)
async def test_planned_errors_redirect_with_their_documented_fields(
    outcome: Any, extra: set[str], emulator: SmartcarEmulator
) -> None:
    connections_before = len(emulator.fleet())
    emulator.queue_consent(outcome)
    url = sc.connect.authorization_url(**emulator.connect_kwargs(), state="s-9")
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        response = await browser.get(url)
    _, query = _location(response)
    assert set(query) == {"error", "error_description", "state"} | extra
    with pytest.raises(sc.ConnectError) as caught:
        sc.connect.parse_redirect(response.headers["location"], expected_state="s-9")
    assert caught.value.code == outcome
    assert caught.value.description
    if outcome == "vehicle_incompatible":
        assert caught.value.year is not None
        assert len(caught.value.vin or "") == 17
    assert len(emulator.fleet()) == connections_before  # nothing was connected
    assert emulator.consents[-1].outcome == outcome


async def test_an_existing_owner_adds_a_vehicle_of_the_make_asked_for(
    emulator: SmartcarEmulator,
) -> None:
    owner = emulator.fleet()[0].user_id
    emulator.queue_consent(user_id=owner)
    url = sc.connect.authorization_url(
        **emulator.connect_kwargs(), state="s", make="VOLKSWAGEN", mode="simulated"
    )
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        location = (await browser.get(url)).headers["location"]
    assert sc.connect.parse_redirect(location, expected_state="s").user_id == owner
    (new_vehicle,) = emulator.consents[0].vehicle_ids
    car = next(car for car in emulator.fleet() if car.vehicle_id == new_vehicle)
    assert (car.user_id, car.make, car.mode) == (owner, "Volkswagen", "simulated")


async def test_single_select_vin_connects_exactly_that_vehicle(emulator: SmartcarEmulator) -> None:
    emulator.queue_consent(vehicles=3)
    url = sc.connect.authorization_url(
        **emulator.connect_kwargs(), state="s", single_select_vin="5YJ3E1EA7KF000001"
    )
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        await browser.get(url)
    (vehicle_id,) = emulator.consents[0].vehicle_ids
    assert emulator.signal(vehicle_id, "vehicleidentification-vin") in (
        {"value": "5YJ3E1EA7KF000001"},
        None,
    )
    assert next(c for c in emulator.fleet() if c.vehicle_id == vehicle_id).vin == (
        "5YJ3E1EA7KF000001"
    )


async def test_a_registered_redirect_with_a_query_keeps_it(emulator: SmartcarEmulator) -> None:
    kwargs = emulator.connect_kwargs(redirect_uri="https://app.example.com/cb?tenant=9")
    assert "https://app.example.com/cb?tenant=9" in emulator.redirect_uris
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        response = await browser.get(sc.connect.authorization_url(**kwargs, state="s"))
    target, query = _location(response)
    assert (target, query["tenant"], query["state"]) == ("https://app.example.com/cb", "9", "s")


@pytest.mark.parametrize("mode", WAYS_IN)
async def test_reauthentication_returns_the_vehicle_and_external_id(
    mode: str, emulator: SmartcarEmulator
) -> None:
    car = emulator.fleet()[0]
    with anyio.fail_after(20):
        async with way_in(mode, emulator) as (browser, kwargs):
            url = sc.connect.reauthentication_url(
                **kwargs, vehicle_id=car.vehicle_id, state="r-1", external_id="customer-x"
            )
            response = await browser.get(url)
    _, query = _location(response)
    assert query == {"vehicle_id": car.vehicle_id, "external_id": "customer-x", "state": "r-1"}
    result = sc.connect.parse_redirect(response.headers["location"], expected_state="r-1")
    assert (result.vehicle_id, result.external_id, result.user_id) == (
        car.vehicle_id,
        "customer-x",
        None,
    )
    assert emulator.consents[-1].flow == "reauthenticate"
    # The new session's external id replaced the stored one.
    async with sc.SmartcarClient(**emulator.client_kwargs()) as client:
        found = [c async for c in client.connections.list(external_user_id="customer-x")]
    assert [c.vehicle_id for c in found] == [
        c.vehicle_id for c in emulator.fleet() if c.user_id == car.user_id
    ]


async def test_reauthentication_checks(emulator: SmartcarEmulator) -> None:
    kwargs = emulator.connect_kwargs()
    async with httpx.AsyncClient(transport=emulator.transport()) as browser:
        unknown = await browser.get(
            sc.connect.reauthentication_url(**kwargs, vehicle_id="no-such-vehicle")
        )
        assert (unknown.status_code, unknown.text) == (400, "400: Invalid parameter vehicle_id")
        car = emulator.fleet()[0]
        # response_type=none without a redirect URI ends on Smartcar's own page.
        done = await browser.get(
            sc.connect.reauthentication_url(
                client_id=kwargs["client_id"],
                connect_url=kwargs["connect_url"],
                vehicle_id=car.vehicle_id,
                response_type="none",
            )
        )
        assert (done.status_code, done.text) == (200, "You're all set.")
        assert "location" not in done.headers
        emulator.queue_consent("access_denied")
        denied = await browser.get(
            sc.connect.reauthentication_url(**kwargs, vehicle_id=car.vehicle_id, state="s")
        )
    with pytest.raises(sc.ConnectError) as caught:
        sc.connect.parse_redirect(denied.headers["location"], expected_state="s")
    assert caught.value.code == "access_denied"


def test_connect_kwargs_and_redirect_uris() -> None:
    emulator = SmartcarEmulator(vehicles=0, redirect_uris=["https://a.example/cb"])
    assert emulator.connect_kwargs() == {
        "client_id": emulator.application_id,
        "redirect_uri": "https://a.example/cb",
        "connect_url": "https://connect.emulator.invalid",
    }
    assert emulator.connect_kwargs("http://127.0.0.1:9/")["connect_url"] == "http://127.0.0.1:9"
    assert emulator.application_id != emulator.client_id
    with pytest.raises(ValueError, match="redirect"):
        SmartcarEmulator(vehicles=0, redirect_uris=[]).connect_kwargs()
    with pytest.raises(ValueError):
        emulator.queue_consent(vehicles=0)


@pytest.mark.parametrize("mode", WAYS_IN)
async def test_state_and_external_id_survive_encoding_both_ways(
    mode: str, emulator: SmartcarEmulator
) -> None:
    state = "a b&c=d+e/f?g#h%25é"
    with anyio.fail_after(20):
        async with way_in(mode, emulator) as (browser, kwargs):
            url = sc.connect.authorization_url(**kwargs, state=state, external_id="x y&z")
            response = await browser.get(url)
    result = sc.connect.parse_redirect(response.headers["location"], expected_state=state)
    assert result.state == state
    assert emulator.consents[-1].external_id == "x y&z"

"""Fault rules, the rate-limit model, and the counters tests assert on."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from emulator_helpers import as_user, error_of

from smartcar_async.testing import (
    TOKEN_URL,
    Fault,
    FleetEntry,
    RateLimits,
    SmartcarEmulator,
    VirtualClock,
)

pytestmark = pytest.mark.anyio

SIGNALS = "GET /vehicles/{id}/signals"


async def test_status_fault_fires_the_given_number_of_times(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    rule = emulator.add_fault(Fault.status(503), route=SIGNALS, times=2)
    url = f"/vehicles/{bev.vehicle_id}/signals"
    with anyio.fail_after(5):
        statuses = [(await http.get(url, headers=as_user(bev))).status_code for _ in range(3)]
        other = await http.get("/connections")
    assert statuses == [503, 503, 200]
    assert other.status_code == 200
    assert rule.fired == 2
    assert emulator.stats.faults["status"] == 2
    assert emulator.stats.route_statuses[(SIGNALS, 503)] == 2
    assert emulator.stats.requests[SIGNALS] == 3


async def test_status_fault_body_defaults_and_overrides(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    emulator.add_fault(Fault.status(502), route="/connections", times=1)
    emulator.add_fault(
        Fault.status(500, type="SERVER", code="MULTIPLE_RECORDS_FOUND", detail="boom"),
        route="/connections",
        times=1,
    )
    emulator.add_fault(
        Fault.status(502, body=b"<html>Bad gateway</html>", content_type="text/html"),
        route="/connections",
        times=1,
    )
    with anyio.fail_after(5):
        upstream = await http.get("/connections")
        server = await http.get("/connections")
        html = await http.get("/connections")
    entry = error_of(upstream)
    assert (entry["type"], entry["code"]) == ("UPSTREAM", "UNKNOWN_ISSUE")
    entry = error_of(server)
    assert (entry["code"], entry["detail"]) == ("MULTIPLE_RECORDS_FOUND", "boom")
    assert html.headers["content-type"] == "text/html"
    assert html.text == "<html>Bad gateway</html>"


async def test_rate_limit_faults_carry_retry_after(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    emulator.add_fault(Fault.rate_limit(retry_after=3), route="/connections", times=1)
    emulator.add_fault(
        Fault.rate_limit(retry_after=7, scope="vehicle"), vehicle_id=bev.vehicle_id, times=1
    )
    with anyio.fail_after(5):
        app = await http.get("/connections")
        vehicle = await http.get(f"/vehicles/{bev.vehicle_id}")
    assert app.status_code == vehicle.status_code == 429
    assert app.headers["retry-after"] == "3"
    assert vehicle.headers["retry-after"] == "7"
    assert error_of(app)["code"] == "SMARTCAR_API"
    assert error_of(vehicle)["code"] == "VEHICLE"
    assert error_of(vehicle)["type"] == "RATE_LIMIT"
    assert emulator.stats.faults["rate_limit"] == 2


@pytest.mark.parametrize(("retry_after", "header"), [(0.4, "1"), (2.5, "3"), (2.0, "2"), (0, "0")])
async def test_a_faults_fractional_retry_after_is_rounded_up(
    emulator: SmartcarEmulator,
    http: httpx.AsyncClient,
    bev: FleetEntry,
    retry_after: float,
    header: str,
) -> None:
    # round() told a client to come back early: 0.4 s as 0, 2.5 s as 2.
    emulator.add_fault(Fault.rate_limit(retry_after=retry_after), route="/connections", times=1)
    emulator.add_fault(
        Fault.status(503, retry_after=retry_after), vehicle_id=bev.vehicle_id, times=1
    )
    with anyio.fail_after(5):
        limited = await http.get("/connections")
        unavailable = await http.get(f"/vehicles/{bev.vehicle_id}")
    assert (limited.status_code, unavailable.status_code) == (429, 503)
    assert limited.headers["retry-after"] == unavailable.headers["retry-after"] == header


async def test_latency_is_awaited_on_the_clock(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    emulator.add_fault(Fault.latency(30), route="/connections")
    responses: list[httpx.Response] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                responses.append(await http.get("/connections"))

            tg.start_soon(call)
            await clock.wait_for_sleepers(1)
            assert not responses
            clock.advance(30)
    assert responses[0].status_code == 200
    assert emulator.stats.faults["latency"] == 1


async def test_malformed_json(emulator: SmartcarEmulator, http: httpx.AsyncClient) -> None:
    emulator.add_fault(Fault.malformed_json(), route="/connections", times=1)
    emulator.add_fault(Fault.malformed_json(after_processing=True), route="/connections", times=1)
    with anyio.fail_after(5):
        before = await http.get("/connections")
        after = await http.get("/connections")
    for response in (before, after):
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()
    assert after.content.startswith(b'{"data":[{"id":')


async def test_dropped_connection_raises_in_process(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    emulator.add_fault(Fault.drop(), route="/connections", times=1)
    with anyio.fail_after(5):
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/connections")
        assert (await http.get("/connections")).status_code == 200
    assert emulator.stats.statuses[0] == 1
    assert emulator.stats.faults["drop"] == 1


async def test_a_response_lost_after_the_vehicle_acted(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    emulator.add_fault(Fault.drop(after_processing=True), route="POST */commands/*", times=1)
    with anyio.fail_after(5), pytest.raises(httpx.RemoteProtocolError):
        await http.post(f"/vehicles/{bev.vehicle_id}/commands/security/lock", headers=as_user(bev))
    # The command ran once even though the caller saw no answer: a retry would be a
    # second execution, which is what an SDK test asserts never happens.
    assert emulator.stats.commands[(bev.vehicle_id, "security-lock")] == 1
    assert emulator.signal(bev.vehicle_id, "closure-islocked") == {"value": True}


async def test_before_processing_faults_do_not_execute_commands(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    emulator.add_fault(Fault.status(500), route="POST */commands/*", times=1)
    with anyio.fail_after(5):
        response = await http.post(
            f"/vehicles/{bev.vehicle_id}/commands/security/lock", headers=as_user(bev)
        )
    assert response.status_code == 500
    assert emulator.stats.command_executions[bev.vehicle_id] == 0


async def test_token_revocation_mid_run(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    emulator.add_fault(Fault.revoke_tokens(), route="/connections", skip=2, times=1)
    with anyio.fail_after(5):
        statuses = [(await http.get("/connections")).status_code for _ in range(4)]
    assert statuses == [200, 200, 401, 401]
    assert emulator.stats.faults["revoke_tokens"] == 1


async def test_token_route_faults_are_oauth_shaped(emulator: SmartcarEmulator) -> None:
    emulator.add_fault(Fault.status(503), route="POST /oauth2/token", times=1)
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
    }
    async with httpx.AsyncClient(transport=emulator.transport()) as client:
        with anyio.fail_after(5):
            failed = await client.post(TOKEN_URL, data=form)
            ok = await client.post(TOKEN_URL, data=form)
    assert failed.status_code == 503
    assert failed.json()["error"] == "temporarily_unavailable"
    assert ok.status_code == 200
    # Both were token requests the client sent; only the second was answered with a token.
    assert emulator.stats.token_requests == 2
    assert emulator.stats.tokens_issued == 1


async def test_vehicle_scoped_fault(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry, ice: FleetEntry
) -> None:
    emulator.add_fault(Fault.status(409, code="UNREACHABLE"), vehicle_id=ice.vehicle_id)
    with anyio.fail_after(5):
        ice_answer = await http.get(f"/vehicles/{ice.vehicle_id}")
        bev_answer = await http.get(f"/vehicles/{bev.vehicle_id}")
    assert ice_answer.status_code == 409
    assert error_of(ice_answer)["type"] == "VEHICLE_STATE"
    assert bev_answer.status_code == 200


async def test_probability_is_seeded(clock: VirtualClock) -> None:
    async def pattern(seed: int) -> list[int]:
        emulator = SmartcarEmulator(vehicles=1, seed=seed, clock=clock)
        emulator.add_fault(Fault.status(500), route="/connections", probability=0.3)
        headers = {"authorization": f"Bearer {emulator.issue_token()}"}
        url = emulator.client_kwargs()["vehicle_api_url"] + "/connections"
        async with httpx.AsyncClient(transport=emulator.transport(), headers=headers) as http:
            return [(await http.get(url)).status_code for _ in range(200)]

    with anyio.fail_after(10):
        one, two, other = await pattern(5), await pattern(5), await pattern(6)
    assert one == two
    assert one != other
    assert 30 < one.count(500) < 90


async def test_rules_can_be_listed_removed_and_cleared(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    rule = emulator.faults.add(Fault.status(500))
    emulator.faults.add(Fault.latency(1))
    assert len(emulator.faults) == 2
    rule.remove()
    assert [r.fault.kind for r in emulator.faults] == ["latency"]
    emulator.faults.clear()
    with anyio.fail_after(5):
        assert (await http.get("/connections")).status_code == 200
    with pytest.raises(ValueError, match="probability"):
        emulator.add_fault(Fault.status(500), probability=2)
    with pytest.raises(ValueError, match="times"):
        emulator.faults.add(Fault.status(500), times=-1)
    # The placement keywords are declared once (FaultPlacement): a misspelt one is
    # refused, and a rule's counters cannot be preset through them.
    with pytest.raises(TypeError):
        emulator.add_fault(Fault.status(500), rout="/connections")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        emulator.add_fault(Fault.status(500), fired=3)  # type: ignore[call-arg]
    assert len(emulator.faults) == 0


async def test_app_rate_limit_model(clock: VirtualClock) -> None:
    emulator = SmartcarEmulator(
        vehicles=2,
        seed=1,
        clock=clock,
        rate_limits=RateLimits(app_capacity=3, app_refill_per_second=0.5, app_retry_after=True),
    )
    headers = {"authorization": f"Bearer {emulator.issue_token()}"}
    url = emulator.client_kwargs()["vehicle_api_url"] + "/connections"
    async with httpx.AsyncClient(transport=emulator.transport(), headers=headers) as http:
        with anyio.fail_after(5):
            statuses = [(await http.get(url)).status_code for _ in range(4)]
            limited = await http.get(url)
            clock.advance(2)
            refilled = await http.get(url)
    assert statuses == [200, 200, 200, 429]
    assert limited.headers["retry-after"] == "2"
    assert error_of(limited)["code"] == "SMARTCAR_API"
    assert refilled.status_code == 200


async def test_app_bucket_defaults_follow_the_docs(clock: VirtualClock) -> None:
    """120 requests, 2 more per minute, and a 429 without Retry-After."""
    emulator = SmartcarEmulator(vehicles=1, seed=1, clock=clock, rate_limits=RateLimits())
    headers = {"authorization": f"Bearer {emulator.issue_token()}"}
    url = emulator.client_kwargs()["vehicle_api_url"] + "/connections"
    async with httpx.AsyncClient(transport=emulator.transport(), headers=headers) as http:
        with anyio.fail_after(5):
            statuses = [(await http.get(url)).status_code for _ in range(121)]
            clock.advance(29)
            still = await http.get(url)
            clock.advance(1)
            refilled = await http.get(url)
    assert statuses == [200] * 120 + [429]
    assert "retry-after" not in still.headers
    assert still.status_code == 429
    assert error_of(still)["code"] == "SMARTCAR_API"
    assert refilled.status_code == 200
    limiter = emulator.rate_limiter
    assert limiter is not None
    assert (limiter.admitted, limiter.refused) == (121, 2)


async def test_vehicle_throttle_model(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry, clock: VirtualClock
) -> None:
    emulator.rate_limits = RateLimits(vehicle_interval=10)
    with anyio.fail_after(5):
        first = await http.get(f"/vehicles/{bev.vehicle_id}")
        second = await http.get(f"/vehicles/{bev.vehicle_id}")
        unrelated = await http.get("/connections")
        clock.advance(10)
        later = await http.get(f"/vehicles/{bev.vehicle_id}")
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["retry-after"] == "10"
    assert error_of(second)["code"] == "VEHICLE"
    assert unrelated.status_code == later.status_code == 200
    emulator.rate_limits = None
    assert emulator.rate_limits is None


async def test_stats_reset_and_as_dict(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        await http.post(f"/vehicles/{bev.vehicle_id}/commands/security/lock", headers=as_user(bev))
    snapshot = emulator.stats.as_dict()
    assert snapshot["commands"] == {f"{bev.vehicle_id} security-lock": 1}
    json.dumps(snapshot)
    emulator.reset_stats()
    assert emulator.stats.total_requests == 0
    assert not emulator.command_log

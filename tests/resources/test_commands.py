"""``client.commands`` and the command methods of `VehicleHandle`, respx-mocked."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from resource_support import (
    USER_ID,
    VEHICLE_API,
    VEHICLE_ID,
    api_calls,
    assert_headers,
    body_of,
    connection_json,
    execution_json,
    only_request,
    schedule_execution_json,
)

from smartcar_async import (
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    CommandFailedError,
    ExperimentalWarning,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SmartcarClient,
    VehicleStateError,
)
from smartcar_async._fanout import DEFAULT_OPTIONS
from smartcar_async._models import structure
from smartcar_async.resources import CommandExecution, Commands, Connection

pytestmark = pytest.mark.anyio

BASE = f"{VEHICLE_API}/vehicles/{VEHICLE_ID}"

#: (method name, path below /vehicles/{id}/commands/, commandType) of the body-less commands.
SIMPLE = [
    ("lock", "security/lock", "security-lock"),
    ("unlock", "security/unlock", "security-unlock"),
    ("start_charge", "charge/start", "charge-start"),
    ("stop_charge", "charge/stop", "charge-stop"),
    ("open_charge_port", "charge-port/open", "charge-port-open"),
    ("close_charge_port", "charge-port/close", "charge-port-close"),
]


def check_sent_command(request: httpx.Request, path: str, body: Any = None) -> None:
    assert request.method == "POST"
    assert request.url.path == f"/v3/vehicles/{VEHICLE_ID}/{path}"
    assert request.url.query == b""
    assert_headers(request, user_id=USER_ID)
    assert body_of(request) == body
    # Commands get the long command timeout: a 202 body can come ~175 s later.
    assert request.extensions["timeout"]["read"] == 310.0


# -- the body-less commands ----------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::smartcar_async.ExperimentalWarning")  # charge port
@pytest.mark.parametrize(("name", "path", "command_type"), SIMPLE)
@pytest.mark.parametrize("via", ["resource", "handle"])
async def test_simple_command_sends_post_and_parses_execution(
    client: SmartcarClient,
    router: respx.MockRouter,
    name: str,
    path: str,
    command_type: str,
    via: str,
) -> None:
    router.post(f"{BASE}/commands/{path}").mock(
        return_value=httpx.Response(200, json=execution_json(command_type))
    )
    with anyio.fail_after(5):
        if via == "resource":
            execution = await getattr(client.commands, name)(VEHICLE_ID, user_id=USER_ID)
        else:
            execution = await getattr(client.vehicle(VEHICLE_ID, user_id=USER_ID), name)()
    check_sent_command(only_request(router), f"commands/{path}")
    assert isinstance(execution, CommandExecution)
    assert execution.id == "exec_9876543210"
    assert execution.type == "command-execution"
    assert execution.command_type == command_type
    assert execution.status == "SUCCESS"
    assert execution.succeeded
    assert not execution.pending
    assert execution.execution_mode == "sync"
    assert execution.parameters == {}
    assert execution.executed_at == dt.datetime(2026, 5, 1, 10, tzinfo=dt.timezone.utc)
    assert execution.completed_at == dt.datetime(2026, 5, 1, 10, 0, 2, tzinfo=dt.timezone.utc)
    assert execution.duration_seconds == 2


async def test_bare_execution_without_data_wrapper_is_parsed(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.post(f"{BASE}/commands/security/lock").mock(
        return_value=httpx.Response(200, json=execution_json("security-lock")["data"])
    )
    with anyio.fail_after(5):
        execution = await client.commands.lock(VEHICLE_ID, user_id=USER_ID)
    assert execution.command_type == "security-lock"
    assert execution.succeeded


@pytest.mark.parametrize("user_id", [None, "", "  ", "u\n1"])
async def test_commands_refuse_a_missing_user_id_before_sending(
    client: SmartcarClient, router: respx.MockRouter, user_id: Any
) -> None:
    with pytest.raises(ValueError, match="user_id"):
        await client.commands.lock(VEHICLE_ID, user_id=user_id)
    with pytest.raises(ValueError, match="user_id"):
        client.vehicle(VEHICLE_ID, user_id=user_id)
    assert not router.calls


# -- commands with a body ------------------------------------------------------------------


@pytest.mark.parametrize("via", ["resource", "handle"])
async def test_set_charge_limit_sends_percent(
    client: SmartcarClient, router: respx.MockRouter, via: str
) -> None:
    router.post(f"{BASE}/commands/charge/set-limit").mock(
        return_value=httpx.Response(
            200, json=execution_json("charge-set-limit", parameters={"percent": 80})
        )
    )
    with anyio.fail_after(5):
        if via == "resource":
            execution = await client.commands.set_charge_limit(VEHICLE_ID, 80, user_id=USER_ID)
        else:
            execution = await client.vehicle(VEHICLE_ID, user_id=USER_ID).set_charge_limit(80)
    check_sent_command(
        only_request(router), "commands/charge/set-limit", {"data": {"attributes": {"percent": 80}}}
    )
    assert execution.command_type == "charge-set-limit"
    assert execution.parameters == {"percent": 80}


@pytest.mark.parametrize("percent", [49, 101, 80.0, True, "80", None])
async def test_set_charge_limit_validates_before_sending(
    client: SmartcarClient, router: respx.MockRouter, percent: Any
) -> None:
    with pytest.raises(ValueError, match="percent"):
        await client.commands.set_charge_limit(VEHICLE_ID, percent, user_id=USER_ID)
    assert not router.calls


@pytest.mark.parametrize("percent", [50, 100])
async def test_set_charge_limit_accepts_the_bounds(
    client: SmartcarClient, router: respx.MockRouter, percent: int
) -> None:
    router.post(f"{BASE}/commands/charge/set-limit").mock(
        return_value=httpx.Response(200, json=execution_json("charge-set-limit"))
    )
    with anyio.fail_after(5):
        await client.commands.set_charge_limit(VEHICLE_ID, percent, user_id=USER_ID)
    assert body_of(only_request(router)) == {"data": {"attributes": {"percent": percent}}}


async def test_set_destination_sends_coordinates(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.post(f"{BASE}/commands/navigation/set-destination").mock(
        return_value=httpx.Response(200, json=execution_json("navigation-set-destination"))
    )
    with anyio.fail_after(5):
        execution = await client.commands.set_destination(
            VEHICLE_ID, latitude=48.8584, longitude=-180, user_id=USER_ID
        )
    check_sent_command(
        only_request(router),
        "commands/navigation/set-destination",
        {"data": {"attributes": {"latitude": 48.8584, "longitude": -180}}},
    )
    assert execution.command_type == "navigation-set-destination"


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(90.01, 0), (-91, 0), (0, 180.5), (0, -181), (float("nan"), 0), (0, float("inf")), (True, 0)],
)
async def test_set_destination_validates_ranges(
    client: SmartcarClient, router: respx.MockRouter, latitude: Any, longitude: Any
) -> None:
    with pytest.raises(ValueError, match=r"latitude|longitude"):
        await client.commands.set_destination(
            VEHICLE_ID, latitude=latitude, longitude=longitude, user_id=USER_ID
        )
    assert not router.calls


# -- charge schedules ----------------------------------------------------------------------

LOCATION = {"latitude": 37.7749, "longitude": -122.4194}


@pytest.mark.parametrize(
    ("kwargs", "attributes"),
    [
        (
            {"kind": "daily", "start_time": "08:00", "stop_time": dt.time(10, 30)},
            {"location": LOCATION, "startTime": "08:00", "stopTime": "10:30"},
        ),
        (
            {
                "kind": "weekly",
                "days": {
                    "monday": ("01:00", "05:00"),
                    "saturday": {"startTime": "09:00", "stopTime": "12:00"},
                },
            },
            {
                "location": LOCATION,
                "days": {
                    "monday": {"startTime": "01:00", "stopTime": "05:00"},
                    "saturday": {"startTime": "09:00", "stopTime": "12:00"},
                },
            },
        ),
        (
            {
                "kind": "workweek",
                "weekdays": (dt.time(1, 0), dt.time(5, 0)),
                "weekends": ("09:00", "23:59"),
            },
            {
                "location": LOCATION,
                "weekdays": {"startTime": "01:00", "stopTime": "05:00"},
                "weekends": {"startTime": "09:00", "stopTime": "23:59"},
            },
        ),
    ],
    ids=["daily", "weekly", "workweek"],
)
@pytest.mark.parametrize("via", ["resource", "handle"])
async def test_set_charge_schedule_sends_the_documented_body(
    client: SmartcarClient,
    router: respx.MockRouter,
    kwargs: dict[str, Any],
    attributes: dict[str, Any],
    via: str,
) -> None:
    kind = kwargs["kind"]
    router.post(f"{BASE}/charge-schedules/{kind}").mock(
        return_value=httpx.Response(200, json=schedule_execution_json(kind, attributes))
    )
    with anyio.fail_after(5):
        if via == "resource":
            execution = await client.commands.set_charge_schedule(
                VEHICLE_ID, user_id=USER_ID, **LOCATION, **kwargs
            )
        else:
            handle = client.vehicle(VEHICLE_ID, user_id=USER_ID)
            execution = await handle.set_charge_schedule(**LOCATION, **kwargs)
    check_sent_command(
        only_request(router), f"charge-schedules/{kind}", {"data": {"attributes": attributes}}
    )
    assert execution.type == "charge-schedule-execution"
    assert execution.action == "create"
    assert execution.schedule_type == kind
    assert execution.schedule_id == "sched_123"
    assert execution.duration_seconds == 1.5
    assert execution.command_type is None
    assert execution.succeeded


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "monthly", "start_time": "08:00", "stop_time": "09:00"},
        {"kind": "daily", "start_time": "08:00"},
        {"kind": "daily", "start_time": "08:00", "stop_time": "09:00", "days": {}},
        {"kind": "daily", "start_time": "8:00", "stop_time": "09:00"},
        {"kind": "daily", "start_time": "24:00", "stop_time": "09:00"},
        {"kind": "daily", "start_time": "12:60", "stop_time": "09:00"},
        {"kind": "daily", "start_time": 800, "stop_time": "09:00"},
        {"kind": "weekly"},
        {"kind": "weekly", "days": {"monday": ("01:00",)}},
        {"kind": "weekly", "days": {"monday": ("01:00", "05:00")}, "weekdays": ("1", "2")},
        {"kind": "weekly", "days": [("monday", ("01:00", "02:00"))]},
        {"kind": "weekly", "days": "monday=01:00-02:00"},
        {"kind": "weekly", "days": {"Monday": ("01:00", "02:00")}},
        {"kind": "weekly", "days": {"funday": ("01:00", "02:00")}},
        {"kind": "workweek", "weekdays": ("01:00", "05:00")},
        {"kind": "workweek", "weekdays": ("01:00", "05:00"), "weekends": ("xx:00", "05:00")},
        {"kind": "daily", "start_time": "08:00", "stop_time": "09:00", "latitude": 95},
    ],
)
async def test_set_charge_schedule_validates_before_sending(
    client: SmartcarClient, router: respx.MockRouter, kwargs: dict[str, Any]
) -> None:
    arguments = {**LOCATION, **kwargs}
    with pytest.raises(ValueError):
        await client.commands.set_charge_schedule(VEHICLE_ID, user_id=USER_ID, **arguments)
    assert not router.calls


async def test_delete_charge_schedule_answered_204_returns_none(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.delete(f"{BASE}/charge-schedules/sched_123").mock(return_value=httpx.Response(204))
    with anyio.fail_after(5):
        result = await client.commands.delete_charge_schedule(
            VEHICLE_ID, "sched_123", user_id=USER_ID
        )
    assert result is None
    request = only_request(router)
    assert request.method == "DELETE"
    assert request.url.path == f"/v3/vehicles/{VEHICLE_ID}/charge-schedules/sched_123"
    assert request.content == b""
    assert_headers(request, user_id=USER_ID)
    assert request.extensions["timeout"]["read"] == 310.0


async def test_delete_charge_schedule_with_a_body_returns_the_execution(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    body = schedule_execution_json("daily", {})
    body["data"]["attributes"]["action"] = "delete"
    router.delete(f"{BASE}/charge-schedules/sched_123").mock(
        return_value=httpx.Response(200, json=body)
    )
    with anyio.fail_after(5):
        result = await client.vehicle(VEHICLE_ID, user_id=USER_ID).delete_charge_schedule(
            "sched_123"
        )
    assert result is not None
    assert result.action == "delete"
    assert result.schedule_id == "sched_123"


async def test_delete_charge_schedule_checks_the_schedule_id(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    with pytest.raises(ValueError, match="schedule_id"):
        await client.commands.delete_charge_schedule(VEHICLE_ID, "../lock", user_id=USER_ID)
    assert not router.calls


# -- 202: long-running commands ------------------------------------------------------------


class _DelayedBody(httpx.AsyncByteStream):
    """A 202 body without Content-Length: one chunk now, the rest when released."""

    def __init__(self, body: bytes, release: anyio.Event, reading: anyio.Event) -> None:
        self._body = body
        self._release = release
        self._reading = reading

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body[:10]
        self._reading.set()
        await self._release.wait()
        yield self._body[10:]


async def test_202_waits_for_the_final_streamed_body(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    release, reading = anyio.Event(), anyio.Event()
    final = httpx.Response(200, json=execution_json("security-unlock", mode="async")).content
    router.post(f"{BASE}/commands/security/unlock").mock(
        side_effect=lambda request: httpx.Response(
            202, stream=_DelayedBody(final, release, reading)
        )
    )
    results: list[CommandExecution] = []

    async def unlock() -> None:
        results.append(await client.commands.unlock(VEHICLE_ID, user_id=USER_ID))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(unlock)
            await reading.wait()  # the 202 is in, its body only partly
            await anyio.lowlevel.checkpoint()
            assert results == []  # the call has not returned on the 202 alone
            release.set()
    assert len(results) == 1
    assert results[0].status == "SUCCESS"
    assert results[0].execution_mode == "async"
    assert len(api_calls(router)) == 1
    assert "content-length" not in router.calls.last.response.headers


async def test_202_pending_is_returned_as_is(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.post(f"{BASE}/commands/charge/start").mock(
        return_value=httpx.Response(
            202, json=execution_json("charge-start", status="PENDING", mode="async")
        )
    )
    with anyio.fail_after(5):
        execution = await client.commands.start_charge(VEHICLE_ID, user_id=USER_ID)
    assert execution.pending
    assert not execution.succeeded
    assert execution.status == "PENDING"


# -- failures in a 2xx body ----------------------------------------------------------------


def _failed_execution(status: str, error: dict[str, Any] | None) -> dict[str, Any]:
    body = execution_json("security-lock", status=status)
    if error is not None:
        body["data"]["attributes"]["status"]["error"] = error
    return body


FAILURE_BODIES = [
    pytest.param(
        200,
        _failed_execution("FAILURE", {"type": "VEHICLE_STATE", "code": "DOOR_OPEN"}),
        ("VEHICLE_STATE", "DOOR_OPEN", "FAILURE"),
        id="status-FAILURE",
    ),
    pytest.param(200, _failed_execution("ERROR", None), (None, None, "ERROR"), id="status-ERROR"),
    pytest.param(
        202,
        {"type": "VEHICLE_STATE", "code": "UNREACHABLE"},
        ("VEHICLE_STATE", "UNREACHABLE", None),
        id="bare-type-code",
    ),
    pytest.param(
        200,
        {"error": {"type": "VEHICLE_STATE", "code": "ASLEEP", "status": 409}},
        ("VEHICLE_STATE", "ASLEEP", None),
        id="error-object",
    ),
    pytest.param(
        200,
        {
            "errors": [
                {
                    "status": "409",
                    "type": "VEHICLE_STATE",
                    "code": "CHARGING_IN_PROGRESS",
                    "title": "Charging",
                    "detail": "The vehicle is charging.",
                }
            ]
        },
        ("VEHICLE_STATE", "CHARGING_IN_PROGRESS", None),
        id="errors-envelope",
    ),
]


@pytest.mark.parametrize(("status_code", "body", "expected"), FAILURE_BODIES)
async def test_a_2xx_with_a_failure_body_raises_command_failed(
    client: SmartcarClient,
    router: respx.MockRouter,
    status_code: int,
    body: dict[str, Any],
    expected: tuple[str | None, str | None, str | None],
) -> None:
    router.post(f"{BASE}/commands/security/lock").mock(
        return_value=httpx.Response(status_code, json=body, headers={"SC-Request-Id": "req-9"})
    )
    with anyio.fail_after(5), pytest.raises(CommandFailedError) as caught:
        await client.commands.lock(VEHICLE_ID, user_id=USER_ID)
    error = caught.value
    assert (error.type, error.code, error.command_status) == expected
    assert error.status_code == status_code
    assert error.request_id == "req-9"
    assert "req-9" in str(error)
    assert len(api_calls(router)) == 1


async def test_a_failure_arriving_late_on_a_202_raises(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    release, reading = anyio.Event(), anyio.Event()
    final = httpx.Response(200, json={"type": "VEHICLE_STATE", "code": "UNREACHABLE"}).content
    router.post(f"{BASE}/commands/security/lock").mock(
        side_effect=lambda request: httpx.Response(
            202, stream=_DelayedBody(final, release, reading)
        )
    )
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_set_when, reading, release)
            with pytest.raises(CommandFailedError) as caught:
                await client.commands.lock(VEHICLE_ID, user_id=USER_ID)
    assert caught.value.code == "UNREACHABLE"
    assert caught.value.status_code == 202


async def _set_when(first: anyio.Event, then: anyio.Event) -> None:
    await first.wait()
    then.set()


@pytest.mark.parametrize("content", [b"", b"<html>gateway</html>", b"[1, 2]", b"{}"])
async def test_a_2xx_without_an_execution_raises_api_response_error(
    client: SmartcarClient, router: respx.MockRouter, content: bytes
) -> None:
    router.post(f"{BASE}/commands/security/lock").mock(
        return_value=httpx.Response(200, content=content)
    )
    with anyio.fail_after(5), pytest.raises(APIResponseError):
        await client.commands.lock(VEHICLE_ID, user_id=USER_ID)


async def test_a_non_2xx_raises_the_typed_error(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.post(f"{BASE}/commands/security/lock").mock(
        return_value=httpx.Response(
            409,
            json={"errors": [{"status": "409", "type": "VEHICLE_STATE", "code": "ASLEEP"}]},
        )
    )
    with anyio.fail_after(5), pytest.raises(VehicleStateError) as caught:
        await client.commands.lock(VEHICLE_ID, user_id=USER_ID)
    assert caught.value.code == "ASLEEP"


# -- never sent twice ----------------------------------------------------------------------

_PATIENT = RetryPolicy(max_retries=3, backoff_initial=0, jitter=0)


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ReadTimeout("read timed out"), APITimeoutError),
        (httpx.RemoteProtocolError("peer closed"), APIConnectionError),
        (httpx.Response(500, json={"type": "SERVER", "code": "INTERNAL"}), ServerError),
        (httpx.Response(504), ServerError),
        (httpx.Response(429), RateLimitError),
    ],
    ids=["read-timeout", "broken-connection", "500", "504", "429-no-retry-after"],
)
async def test_a_command_is_never_sent_twice(
    client: SmartcarClient,
    router: respx.MockRouter,
    failure: Exception | httpx.Response,
    error: type[Exception],
) -> None:
    route = router.post(f"{BASE}/commands/security/unlock")
    if isinstance(failure, httpx.Response):
        route.mock(return_value=failure)
    else:
        route.mock(side_effect=failure)
    patient = client.with_options(retry=_PATIENT)
    with anyio.fail_after(5), pytest.raises(error):
        await patient.commands.unlock(VEHICLE_ID, user_id=USER_ID)
    assert route.call_count == 1


async def test_a_read_with_the_same_policy_is_retried(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    """The counterpart of the test above: the policy does retry, just not commands."""
    route = router.get(f"{BASE}").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"id": VEHICLE_ID})]
    )
    with anyio.fail_after(5):
        await client.with_options(retry=_PATIENT).vehicles.get(VEHICLE_ID)
    assert route.call_count == 2


async def test_a_command_that_never_left_is_retried(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    route = router.post(f"{BASE}/commands/security/lock").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(200, json=execution_json("security-lock")),
        ]
    )
    with anyio.fail_after(5):
        execution = await client.with_options(retry=_PATIENT).commands.lock(
            VEHICLE_ID, user_id=USER_ID
        )
    assert execution.succeeded
    assert route.call_count == 2


# -- raw access ----------------------------------------------------------------------------


async def test_with_raw_response_on_a_command(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.post(f"{BASE}/commands/security/lock").mock(
        return_value=httpx.Response(
            200, json=execution_json("security-lock"), headers={"SC-Request-Id": "req-3"}
        )
    )
    with anyio.fail_after(5):
        raw = await client.commands.with_raw_response.lock(VEHICLE_ID, user_id=USER_ID)
        handle_raw = await client.vehicle(VEHICLE_ID, user_id=USER_ID).with_raw_response.lock()
    for response in (raw, handle_raw):
        assert response.status_code == 200
        assert response.request_id == "req-3"
        assert response.parse().command_type == "security-lock"


# -- run_many ------------------------------------------------------------------------------


async def test_run_many_sends_to_every_kind_of_target(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    route = router.post(url__regex=r".*/commands/charge/set-limit$").mock(
        return_value=httpx.Response(200, json=execution_json("charge-set-limit"))
    )
    connection = structure(connection_json(1), Connection)
    handle = client.vehicle("veh-2", user_id="user-2")
    targets: list[Any] = [
        ("veh-0", "user-0"),
        connection,
        handle,
        ("../connections", "user-3"),
        ("veh-4", ""),
        "veh-5",
    ]
    outcomes: dict[int, Any] = {}
    with anyio.fail_after(5):
        async with client.commands.run_many(
            "set_charge_limit", targets, percent=75, concurrency=2
        ) as results:
            async for outcome in results:
                outcomes[targets.index(outcome.target)] = outcome
    assert sorted(outcomes) == list(range(6))
    for index in (0, 1, 2):
        assert outcomes[index].ok, outcomes[index].error
        assert outcomes[index].value.command_type == "charge-set-limit"
    assert isinstance(outcomes[3].error, ValueError)
    assert isinstance(outcomes[4].error, ValueError)
    assert isinstance(outcomes[5].error, TypeError)
    sent = {(r.url.path, r.headers["sc-user-id"]) for r in api_calls(router)}
    assert sent == {
        (f"/v3/vehicles/veh-{i}/commands/charge/set-limit", f"user-{i}") for i in range(3)
    }
    assert all(body_of(r) == {"data": {"attributes": {"percent": 75}}} for r in api_calls(router))
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("name", "kwargs", "error"),
    [
        ("honk", {}, ValueError),
        ("set_charge_limit", {"percent": 20}, ValueError),
        ("set_charge_limit", {}, TypeError),
        ("lock", {"percent": 80}, TypeError),
        ("set_destination", {"latitude": 100, "longitude": 0}, ValueError),
        ("delete_charge_schedule", {"schedule_id": "a/b"}, ValueError),
    ],
)
async def test_run_many_checks_the_command_once_before_sending(
    client: SmartcarClient,
    router: respx.MockRouter,
    name: Any,
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        client.commands.run_many(name, [(VEHICLE_ID, USER_ID)], **kwargs)
    assert not router.calls


@pytest.mark.parametrize("name", ["open_charge_port", "close_charge_port"])
async def test_charge_port_commands_warn_that_they_are_experimental(
    client: SmartcarClient, router: respx.MockRouter, name: str
) -> None:
    kind = name.replace("_charge_port", "")
    router.post(f"{BASE}/commands/charge-port/{kind}").mock(
        return_value=httpx.Response(200, json=execution_json(f"charge-port-{kind}"))
    )
    with anyio.fail_after(5):
        with pytest.warns(ExperimentalWarning, match="no Smartcar page or official SDK") as w1:
            await getattr(client.commands, name)(VEHICLE_ID, user_id=USER_ID)
        with pytest.warns(ExperimentalWarning) as w2:
            await getattr(client.vehicle(VEHICLE_ID, user_id=USER_ID), name)()
        with pytest.warns(ExperimentalWarning) as w3:
            fan = client.commands.run_many(name, [(VEHICLE_ID, USER_ID)])
        async with fan as outcomes:
            assert [outcome.ok async for outcome in outcomes] == [True]
    # Each points at the caller's line, so that filters by module and "once per call
    # site" mean the user's code, not the SDK's.
    assert [len(w) for w in (w1, w2, w3)] == [1, 1, 1]
    assert {w[0].filename for w in (w1, w2, w3)} == {__file__}


def test_run_many_names_the_fan_out_options_as_fan_out_does() -> None:
    # run_many spells the options out (its ``**`` is the command's arguments): the same
    # names and defaults as `FanOutOptions`, so neither can drift from the other.
    parameters = inspect.signature(Commands.run_many).parameters
    keyword_only = {name: p.default for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert keyword_only == DEFAULT_OPTIONS

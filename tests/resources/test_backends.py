"""Connections, signals and every command, on two backends.

``respx``: documented answers, canned. ``emulator``: the SDK's stateful fake of the API
(`smartcar_async.testing.SmartcarEmulator`), in-process. Each test checks the wire --
method, path, query, ``sc-user-id``, body -- the same way on both, then the parsed model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from resource_support import (
    UNKNOWN_SIGNAL_CODE,
    USER_ID,
    VEHICLE_API,
    VEHICLE_ID,
    body_of,
    connection_json,
    execution_json,
    full_signals_json,
    query_of,
    schedule_execution_json,
    signal_json,
)

from smartcar_async import APIConnectionError, RetryPolicy, SmartcarClient
from smartcar_async.resources import CommandExecution
from smartcar_async.signals import CATALOGUE, UnitValue
from smartcar_async.testing import VEHICLE_API_URL as EMULATOR_VEHICLE_API
from smartcar_async.testing import SmartcarEmulator, VirtualClock

pytestmark = pytest.mark.anyio

ODOMETER = "odometer-traveleddistance"


class _Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the emulator's transport and keeps them for the assertions."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


class Backend:
    """One way of answering the client, and what the tests need to know about it."""

    def __init__(
        self,
        name: str,
        client: SmartcarClient,
        *,
        vehicle_id: str,
        user_id: str,
        api_base: str,
        router: respx.MockRouter | None = None,
        emulator: SmartcarEmulator | None = None,
        recorder: _Recorder | None = None,
    ) -> None:
        self.name = name
        self.client = client
        self.vehicle_id = vehicle_id
        self.user_id = user_id
        self.router = router
        self.emulator = emulator
        self._recorder = recorder
        self._base_path = httpx.URL(api_base).path

    def answer(self, method: str, path: str, **mock: Any) -> None:
        """What respx answers to ``method path``; the emulator answers for itself."""
        if self.router is not None:
            self.router.route(method=method, url=VEHICLE_API + path).mock(**mock)

    def requests(self) -> list[httpx.Request]:
        """The API requests sent so far (the token request left out)."""
        if self.router is not None:
            sent = [call.request for call in self.router.calls]
        else:
            assert self._recorder is not None
            sent = self._recorder.requests
        return [r for r in sent if not r.url.path.endswith("/oauth2/token")]

    def api_path(self, request: httpx.Request) -> str:
        """The request's path below the API base (``/vehicles/...``)."""
        path = request.url.path
        assert path.startswith(self._base_path)
        return path[len(self._base_path) :]


@pytest.fixture(params=["respx", "emulator"])
async def backend(
    request: pytest.FixtureRequest, router: respx.MockRouter
) -> AsyncIterator[Backend]:
    retry = RetryPolicy(max_retries=0)
    if request.param == "respx":
        async with SmartcarClient(
            client_id="client_test",
            client_secret="secret",
            retry=retry,
            transport=httpx.MockTransport(router.async_handler),
        ) as client:
            yield Backend(
                "respx",
                client,
                vehicle_id=VEHICLE_ID,
                user_id=USER_ID,
                api_base=VEHICLE_API,
                router=router,
            )
        return
    emulator = SmartcarEmulator(vehicles=4, seed=7, clock=VirtualClock())
    # A Tesla BEV takes every command, charge schedules of all three kinds included.
    car = emulator.add_vehicle("Tesla", "Model 3", 2024, "BEV")
    kwargs = emulator.client_kwargs()
    recorder = _Recorder(kwargs.pop("transport"))
    async with SmartcarClient(**kwargs, transport=recorder, retry=retry) as client:
        yield Backend(
            "emulator",
            client,
            vehicle_id=car.vehicle_id,
            user_id=car.user_id,
            api_base=EMULATOR_VEHICLE_API,
            emulator=emulator,
            recorder=recorder,
        )


# -- connections --------------------------------------------------------------------------


def _mock_five_connections(backend: Backend) -> list[str]:
    """Five connections over pages of two; returns the expected connection ids."""
    if backend.emulator is not None:
        return [entry.connection_id for entry in backend.emulator.fleet()]
    every = [connection_json(i) for i in range(5)]

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page[number]"])
        items = every[(number - 1) * 2 : number * 2]
        meta = {"pageNumber": number, "pageSize": 2, "totalCount": 5}
        links = {"next": f"/connections?page[number]={number + 1}" if number < 3 else None}
        return httpx.Response(200, json={"data": items, "meta": meta, "links": links})

    backend.answer("GET", "/connections", side_effect=answer)
    return [item["id"] for item in every]


async def test_connections_list_walks_three_pages_lazily(backend: Backend) -> None:
    expected = _mock_five_connections(backend)
    assert len(expected) == 5
    seen = []
    with anyio.fail_after(5):
        iterator = aiter(backend.client.connections.list(page_size=2))
        for _ in range(2):
            seen.append(await anext(iterator))
        assert len(backend.requests()) == 1  # page 2 not fetched before it is reached
        seen.append(await anext(iterator))
        assert len(backend.requests()) == 2
        seen.extend([connection async for connection in iterator])
    assert len(backend.requests()) == 3
    assert sorted(c.id for c in seen) == sorted(expected)
    if backend.router is not None:
        assert [c.id for c in seen] == expected  # the API's order, kept
    for connection in seen:
        assert connection.vehicle_id
        assert connection.user_id
        assert connection.vehicle is not None
        assert connection.vehicle.make
        assert connection.permissions
    pages = [r.url.params["page[number]"] for r in backend.requests()]
    assert pages == ["1", "2", "3"]
    first = backend.requests()[0]
    assert first.method == "GET"
    assert backend.api_path(first) == "/connections"
    assert query_of(first) == {
        "filter[vehicle.mode]": "live",
        "page[size]": "2",
        "page[number]": "1",
    }
    assert "sc-user-id" not in first.headers


async def test_connections_first_page_has_total_count(backend: Backend) -> None:
    _mock_five_connections(backend)
    with anyio.fail_after(5):
        page = await backend.client.connections.list(page_size=2)
    assert page.total_count == 5
    assert len(page) == 2
    assert page.has_next
    assert len(backend.requests()) == 1


async def test_connections_filter_by_user(backend: Backend) -> None:
    if backend.router is not None:
        backend.answer(
            "GET",
            "/connections",
            return_value=httpx.Response(200, json={"data": [connection_json(0)]}),
        )
    with anyio.fail_after(5):
        found = await backend.client.connections.list(user_id=backend.user_id).to_list()
    assert query_of(backend.requests()[0])["filter[userId]"] == backend.user_id
    assert "sc-user-id" not in backend.requests()[0].headers
    if backend.emulator is not None:
        assert [c.vehicle_id for c in found] == [backend.vehicle_id]
    else:
        assert [c.id for c in found] == ["conn-0"]


# -- signals -------------------------------------------------------------------------------


async def test_signals(backend: Backend) -> None:
    backend.answer(
        "GET",
        f"/vehicles/{backend.vehicle_id}/signals",
        return_value=httpx.Response(200, json=full_signals_json(backend.vehicle_id)),
    )
    with anyio.fail_after(5):
        signals = await backend.client.vehicles.signals(backend.vehicle_id, user_id=backend.user_id)
    (request,) = backend.requests()
    assert request.method == "GET"
    assert backend.api_path(request) == f"/vehicles/{backend.vehicle_id}/signals"
    assert request.url.query == b""
    assert request.headers["sc-user-id"] == backend.user_id
    assert len(signals) > 20
    for code in (ODOMETER, "tractionbattery-stateofcharge"):
        signal = signals[code]
        assert signal.ok
        assert isinstance(signal.body, UnitValue)
        assert signal.retrieved_at is not None
    assert isinstance(signals.value("closure-islocked"), bool)
    assert all(code in CATALOGUE or code == UNKNOWN_SIGNAL_CODE for code in signals)
    assert signals.vehicle is not None
    assert signals.vehicle.id == backend.vehicle_id


@pytest.mark.parametrize("via", ["resource", "handle"])
async def test_one_signal(backend: Backend, via: str) -> None:
    backend.answer(
        "GET",
        f"/vehicles/{backend.vehicle_id}/signals/{ODOMETER}",
        return_value=httpx.Response(
            200,
            json=signal_json(
                ODOMETER,
                group="Odometer",
                name="TraveledDistance",
                body={"unit": "kilometers", "value": 1234.5},
            ),
        ),
    )
    with anyio.fail_after(5):
        if via == "resource":
            signal = await backend.client.vehicles.signal(
                backend.vehicle_id, ODOMETER, user_id=backend.user_id
            )
        else:
            handle = backend.client.vehicle(backend.vehicle_id, user_id=backend.user_id)
            signal = await handle.signal(ODOMETER)
    (request,) = backend.requests()
    assert backend.api_path(request) == f"/vehicles/{backend.vehicle_id}/signals/{ODOMETER}"
    assert request.headers["sc-user-id"] == backend.user_id
    assert signal.code == ODOMETER
    assert (signal.group, signal.name) == ("Odometer", "TraveledDistance")
    assert isinstance(signal.body, UnitValue)
    assert signal.body.value > 0


# -- commands ------------------------------------------------------------------------------

LOCATION = {"latitude": 52.52, "longitude": 13.405}

#: name, keyword arguments, method, path below /vehicles/{id}/, body, commandType
COMMANDS: list[tuple[str, dict[str, Any], str, dict[str, Any] | None, str]] = [
    ("lock", {}, "commands/security/lock", None, "security-lock"),
    ("unlock", {}, "commands/security/unlock", None, "security-unlock"),
    ("start_charge", {}, "commands/charge/start", None, "charge-start"),
    ("stop_charge", {}, "commands/charge/stop", None, "charge-stop"),
    (
        "set_charge_limit",
        {"percent": 80},
        "commands/charge/set-limit",
        {"data": {"attributes": {"percent": 80}}},
        "charge-set-limit",
    ),
    (
        "set_destination",
        dict(LOCATION),
        "commands/navigation/set-destination",
        {"data": {"attributes": LOCATION}},
        "navigation-set-destination",
    ),
    ("open_charge_port", {}, "commands/charge-port/open", None, "charge-port-open"),
    ("close_charge_port", {}, "commands/charge-port/close", None, "charge-port-close"),
]

SCHEDULES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"kind": "daily", "start_time": "01:00", "stop_time": "05:00"},
        {"location": LOCATION, "startTime": "01:00", "stopTime": "05:00"},
    ),
    (
        {"kind": "weekly", "days": {"monday": ("01:00", "05:00"), "friday": ("02:00", "04:00")}},
        {
            "location": LOCATION,
            "days": {
                "monday": {"startTime": "01:00", "stopTime": "05:00"},
                "friday": {"startTime": "02:00", "stopTime": "04:00"},
            },
        },
    ),
    (
        {"kind": "workweek", "weekdays": ("01:00", "05:00"), "weekends": ("09:00", "12:00")},
        {
            "location": LOCATION,
            "weekdays": {"startTime": "01:00", "stopTime": "05:00"},
            "weekends": {"startTime": "09:00", "stopTime": "12:00"},
        },
    ),
]


def _check_command_request(
    backend: Backend, request: httpx.Request, method: str, path: str, body: Any
) -> None:
    assert request.method == method
    assert backend.api_path(request) == f"/vehicles/{backend.vehicle_id}/{path}"
    assert request.url.query == b""
    assert request.headers["sc-user-id"] == backend.user_id
    assert request.headers["authorization"].startswith("Bearer ")
    assert body_of(request) == body


@pytest.mark.filterwarnings("ignore::smartcar_async.ExperimentalWarning")  # charge port
@pytest.mark.parametrize(
    ("name", "kwargs", "path", "body", "command_type"), COMMANDS, ids=[c[0] for c in COMMANDS]
)
@pytest.mark.parametrize("via", ["resource", "handle"])
async def test_every_command(
    backend: Backend,
    name: str,
    kwargs: dict[str, Any],
    path: str,
    body: Any,
    command_type: str,
    via: str,
) -> None:
    backend.answer(
        "POST",
        f"/vehicles/{backend.vehicle_id}/{path}",
        return_value=httpx.Response(200, json=execution_json(command_type)),
    )
    with anyio.fail_after(5):
        if via == "resource":
            method = getattr(backend.client.commands, name)
            if name == "set_charge_limit":
                execution = await method(backend.vehicle_id, 80, user_id=backend.user_id)
            else:
                execution = await method(backend.vehicle_id, user_id=backend.user_id, **kwargs)
        else:
            handle = backend.client.vehicle(backend.vehicle_id, user_id=backend.user_id)
            execution = await getattr(handle, name)(**kwargs)
    (request,) = backend.requests()
    _check_command_request(backend, request, "POST", path, body)
    assert isinstance(execution, CommandExecution)
    assert execution.succeeded
    assert execution.command_type == command_type
    assert execution.id
    if backend.emulator is not None:
        assert backend.emulator.stats.commands[(backend.vehicle_id, command_type)] == 1


@pytest.mark.parametrize(("kwargs", "attributes"), SCHEDULES, ids=[s[0]["kind"] for s in SCHEDULES])
async def test_every_charge_schedule_then_its_deletion(
    backend: Backend, kwargs: dict[str, Any], attributes: dict[str, Any]
) -> None:
    kind = kwargs["kind"]
    created = schedule_execution_json(kind, attributes)
    backend.answer(
        "POST",
        f"/vehicles/{backend.vehicle_id}/charge-schedules/{kind}",
        return_value=httpx.Response(200, json=created),
    )
    backend.answer(
        "DELETE",
        f"/vehicles/{backend.vehicle_id}/charge-schedules/sched_123",
        return_value=httpx.Response(204),
    )
    with anyio.fail_after(5):
        execution = await backend.client.commands.set_charge_schedule(
            backend.vehicle_id, user_id=backend.user_id, **LOCATION, **kwargs
        )
        assert execution.schedule_id
        deleted = await backend.client.commands.delete_charge_schedule(
            backend.vehicle_id, execution.schedule_id, user_id=backend.user_id
        )
    create_request, delete_request = backend.requests()
    _check_command_request(
        backend,
        create_request,
        "POST",
        f"charge-schedules/{kind}",
        {"data": {"attributes": attributes}},
    )
    _check_command_request(
        backend, delete_request, "DELETE", f"charge-schedules/{execution.schedule_id}", None
    )
    assert execution.type == "charge-schedule-execution"
    assert execution.action == "create"
    assert (execution.schedule_type or "").lower() == kind
    assert execution.succeeded
    if deleted is not None:  # the emulator reports the deletion; respx answers 204
        assert deleted.action == "delete"
        assert deleted.schedule_id == execution.schedule_id


class _HeldBody(httpx.AsyncByteStream):
    """A 202 body without Content-Length whose end arrives when the test says so."""

    def __init__(self, body: bytes, release: anyio.Event, reading: anyio.Event) -> None:
        self._body, self._release, self._reading = body, release, reading

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._reading.set()
        await self._release.wait()
        yield self._body


async def test_long_running_command_returns_the_final_body(backend: Backend) -> None:
    release, reading = anyio.Event(), anyio.Event()
    emulator = backend.emulator
    if emulator is None:
        final = httpx.Response(200, json=execution_json("charge-start", mode="async")).content
        backend.answer(
            "POST",
            f"/vehicles/{backend.vehicle_id}/commands/charge/start",
            side_effect=lambda request: httpx.Response(
                202, stream=_HeldBody(final, release, reading)
            ),
        )
    else:
        emulator.set_long_running(180)
    clock = emulator.clock if emulator is not None else None
    results: list[CommandExecution] = []

    async def start() -> None:
        results.append(
            await backend.client.commands.start_charge(backend.vehicle_id, user_id=backend.user_id)
        )

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(start)
            if isinstance(clock, VirtualClock):
                await clock.wait_for_sleepers(1)  # the 202 is out, the body is pending
            else:
                await reading.wait()
            await anyio.lowlevel.checkpoint()
            assert results == []
            if isinstance(clock, VirtualClock):
                clock.advance(180)
            else:
                release.set()
    (execution,) = results
    assert execution.succeeded
    assert execution.command_type == "charge-start"
    assert len(backend.requests()) == 1
    assert backend.requests()[0].extensions["timeout"]["read"] == 310.0


async def test_a_command_whose_answer_is_lost_is_not_resent(backend: Backend) -> None:
    from smartcar_async.testing import Fault

    if backend.emulator is not None:
        # The vehicle unlocks, then the connection drops before the answer.
        backend.emulator.add_fault(
            Fault.drop(after_processing=True), route="POST /vehicles/{id}/commands/security/unlock"
        )
    else:
        backend.answer(
            "POST",
            f"/vehicles/{backend.vehicle_id}/commands/security/unlock",
            side_effect=httpx.RemoteProtocolError("peer closed"),
        )
    patient = backend.client.with_options(
        retry=RetryPolicy(max_retries=5, backoff_initial=0, jitter=0)
    )
    with anyio.fail_after(5), pytest.raises(APIConnectionError):
        await patient.commands.unlock(backend.vehicle_id, user_id=backend.user_id)
    assert len(backend.requests()) == 1
    if backend.emulator is not None:
        assert backend.emulator.stats.commands[(backend.vehicle_id, "security-unlock")] == 1


@pytest.mark.parametrize("backend", ["emulator"], indirect=True)
async def test_lock_then_read_the_lock_signal_on_the_emulator(backend: Backend) -> None:
    assert backend.emulator is not None  # state changes need the emulator
    handle = backend.client.vehicle(backend.vehicle_id, user_id=backend.user_id)
    with anyio.fail_after(5):
        await handle.unlock()
        assert backend.emulator.signal(backend.vehicle_id, "closure-islocked") == {"value": False}
        await handle.lock()
    assert backend.emulator.signal(backend.vehicle_id, "closure-islocked") == {"value": True}

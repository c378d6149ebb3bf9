"""The socket ways in: the ASGI app on its own, and `serve` on loopback."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import anyio
import httpx
import pytest
from emulator_helpers import as_user

from smartcar_async.testing import (
    DroppedConnection,
    Fault,
    FleetEntry,
    SmartcarEmulator,
    VirtualClock,
)

pytestmark = pytest.mark.anyio


async def test_asgi_app_under_httpx_asgi_transport(
    emulator: SmartcarEmulator, bev: FleetEntry
) -> None:
    transport = httpx.ASGITransport(app=emulator.asgi_app())
    headers = {"authorization": f"Bearer {emulator.issue_token()}", **as_user(bev)}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with anyio.fail_after(5):
            lock = await http.post(
                f"/v3/vehicles/{bev.vehicle_id}/commands/security/lock", headers=headers
            )
            hooks = await http.get("/management/v3/webhooks", headers=headers)
            emulator.add_fault(Fault.drop(), times=1)
            with pytest.raises(DroppedConnection):
                await http.get("/v3/connections", headers=headers)
    assert lock.status_code == 200
    assert lock.headers["content-length"] == str(len(lock.content))
    assert hooks.json()["meta"]["totalCount"] == 0


async def test_asgi_lifespan_completes(emulator: SmartcarEmulator) -> None:
    app = emulator.asgi_app()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> MutableMapping[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])

    with anyio.fail_after(5):
        await app({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_serve_concurrent_requests_and_a_dropped_response(
    emulator: SmartcarEmulator, bev: FleetEntry
) -> None:
    headers = {"authorization": f"Bearer {emulator.issue_token()}", **as_user(bev)}
    with anyio.fail_after(20):
        async with emulator.serve() as base_url, httpx.AsyncClient(base_url=base_url) as http:
            statuses: list[int] = []

            async def read() -> None:
                response = await http.get(f"/v3/vehicles/{bev.vehicle_id}/signals", headers=headers)
                statuses.append(response.status_code)

            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(read)
            emulator.add_fault(Fault.drop(after_processing=True), route="POST */lock", times=1)
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(
                    f"/v3/vehicles/{bev.vehicle_id}/commands/security/lock", headers=headers
                )
            after = await http.get(f"/v3/vehicles/{bev.vehicle_id}", headers=headers)
    assert statuses == [200] * 20
    assert emulator.stats.commands[(bev.vehicle_id, "security-lock")] == 1
    assert after.status_code == 200


async def test_served_json_bodies_say_application_json(
    emulator: SmartcarEmulator, bev: FleetEntry
) -> None:
    # aiohttp's json() refuses a body without this type; the signal routes add
    # sc-unit-system, which once replaced it.
    headers = {"authorization": f"Bearer {emulator.issue_token()}", **as_user(bev)}
    vehicle = f"/v3/vehicles/{bev.vehicle_id}"
    imperial = {**headers, "sc-unit-system": "imperial"}
    with anyio.fail_after(20):
        async with emulator.serve() as base_url, httpx.AsyncClient(base_url=base_url) as http:
            answers = {
                "signals": await http.get(f"{vehicle}/signals", headers=headers),
                "signals imperial": await http.get(f"{vehicle}/signals", headers=imperial),
                "signal": await http.get(
                    f"{vehicle}/signals/charge-ischargingcableconnected", headers=headers
                ),
                "signal imperial": await http.get(
                    f"{vehicle}/signals/charge-ischargingcableconnected", headers=imperial
                ),
                "vehicle": await http.get(vehicle, headers=headers),
                "connections": await http.get("/v3/connections", headers=headers),
                "lock": await http.post(f"{vehicle}/commands/security/lock", headers=headers),
                "not found": await http.get(f"{vehicle}/signals/no-such", headers=headers),
            }
    types = {name: r.headers.get("content-type") for name, r in answers.items()}
    assert types == dict.fromkeys(answers, "application/json")
    assert answers["signal"].headers["sc-unit-system"] == "metric"
    assert answers["signals imperial"].headers["sc-unit-system"] == "imperial"
    assert answers["not found"].status_code == 404


async def test_serve_shuts_down_with_a_command_in_flight(clock: VirtualClock) -> None:
    emulator = SmartcarEmulator(vehicles=1, seed=3, clock=clock, long_running_delay=500)
    car = emulator.fleet()[0]
    headers = {"authorization": f"Bearer {emulator.issue_token()}", **as_user(car)}
    outcome: list[str] = []
    with anyio.fail_after(20):
        async with emulator.serve() as base_url, httpx.AsyncClient(base_url=base_url) as http:

            async def lock() -> None:
                try:
                    async with http.stream(
                        "POST",
                        f"/v3/vehicles/{car.vehicle_id}/commands/security/lock",
                        headers=headers,
                    ) as response:
                        outcome.append(str(response.status_code))
                        await response.aread()
                except httpx.HTTPError as error:
                    outcome.append(type(error).__name__)

            async with anyio.create_task_group() as tg:
                tg.start_soon(lock)
                await clock.wait_for_sleepers(1)
                # Leave the server while the vehicle is still "working": no hang.
                tg.cancel_scope.cancel()
    assert outcome in ([], ["202"])
    assert emulator.stats.command_executions[car.vehicle_id] == 1


async def test_serve_twice_gives_two_servers(emulator: SmartcarEmulator) -> None:
    with anyio.fail_after(20):
        async with emulator.serve() as one, emulator.serve() as two:
            assert one != two
            async with httpx.AsyncClient() as http:
                token = {"authorization": f"Bearer {emulator.issue_token()}"}
                first = await http.get(f"{one}/v3/connections", headers=token)
                second = await http.get(f"{two}/v3/connections", headers=token)
    assert first.json()["data"] == second.json()["data"]
    assert emulator.stats.requests["GET /connections"] == 2


async def test_serving_on_a_port_in_use_raises_and_leaks_no_socket() -> None:
    import gc
    import socket

    emulator = SmartcarEmulator(vehicles=1, seed=0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with anyio.fail_after(10), pytest.raises(OSError):
            async with emulator.serve(port=port):
                pass
    # An unclosed socket would raise ResourceWarning here (warnings are errors).
    gc.collect()

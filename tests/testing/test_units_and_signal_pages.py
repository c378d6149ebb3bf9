"""`unit_system` and paged signals, end to end against the emulator.

``sc-unit-system`` goes on signal reads and commands and never on ``GET /vehicles/{id}``
(as the official SDKs send it); the emulator answers in the system asked for. The
emulator pages signals with the published example's names when asked, and the SDK
follows the pages into one `Signals`, within a bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from emulator_helpers import as_user

from smartcar_async import APIResponseError, ConfigurationError, SmartcarClient
from smartcar_async.resources._signal_pages import MAX_SIGNAL_PAGES
from smartcar_async.testing import FleetEntry, SmartcarEmulator, VirtualClock

pytestmark = pytest.mark.anyio


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the emulator, keeping each one's path, query and unit header."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/oauth2/" not in request.url.path:
            self.seen.append(
                (
                    request.url.path.split("/v3", 1)[-1],
                    request.url.query.decode(),
                    request.headers.get("sc-unit-system"),
                )
            )
        return await self.inner.handle_async_request(request)


def client_for(emulator: SmartcarEmulator, recorder: Recorder, **options: Any) -> SmartcarClient:
    kwargs = emulator.client_kwargs()
    kwargs["transport"] = recorder
    return SmartcarClient(**kwargs, clock=emulator.clock, **options)


async def test_unit_header_on_signal_reads_and_commands_only(
    emulator: SmartcarEmulator, bev: FleetEntry
) -> None:
    recorder = Recorder(emulator.transport())
    with anyio.fail_after(5):
        async with client_for(emulator, recorder) as client:
            await client.vehicles.get(bev.vehicle_id)
            await client.vehicles.signals(bev.vehicle_id, user_id=bev.user_id)
            await client.vehicles.signal(
                bev.vehicle_id, "odometer-traveleddistance", user_id=bev.user_id
            )
            await client.commands.lock(bev.vehicle_id, user_id=bev.user_id)
            imperial = client.with_options(unit_system="imperial")
            assert (client.unit_system, imperial.unit_system) == ("metric", "imperial")
            await imperial.vehicles.signals(bev.vehicle_id, user_id=bev.user_id)
            await imperial.vehicles.get(bev.vehicle_id)
    units = [unit for _, _, unit in recorder.seen]
    assert units == [None, "metric", "metric", "metric", "imperial", None]


async def test_a_bad_unit_system_is_refused(emulator: SmartcarEmulator) -> None:
    with pytest.raises(ConfigurationError, match="unit_system"):
        SmartcarClient(**emulator.client_kwargs(), unit_system="kelvin")  # type: ignore[arg-type]
    client = SmartcarClient(**emulator.client_kwargs())
    with pytest.raises(ConfigurationError, match="unit_system"):
        client.with_options(unit_system="Imperial")  # type: ignore[arg-type]
    await client.aclose()


async def test_the_emulator_answers_in_the_system_asked_for(
    emulator: SmartcarEmulator, bev: FleetEntry, ice: FleetEntry
) -> None:
    recorder = Recorder(emulator.transport())
    with anyio.fail_after(5):
        async with client_for(emulator, recorder) as metric_client:
            imperial_client = metric_client.with_options(unit_system="imperial")
            metric = await metric_client.vehicles.signals(ice.vehicle_id, user_id=ice.user_id)
            imperial = await imperial_client.vehicles.signals(ice.vehicle_id, user_id=ice.user_id)
            raw = await imperial_client.vehicles.with_raw_response.signal(
                bev.vehicle_id, "odometer-traveleddistance", user_id=bev.user_id
            )
    assert raw.headers["sc-unit-system"] == "imperial"
    assert raw.parse().body.unit == "miles"  # type: ignore[union-attr]

    def body(signals: Any, code: str) -> Any:
        return next(
            item["attributes"]["body"] for item in signals.raw["data"] if item["id"] == code
        )

    pairs = {
        "odometer-traveleddistance": ("kilometers", "miles", lambda km: km * 0.621371),
        "internalcombustionengine-range": ("kilometers", "miles", lambda km: km * 0.621371),
        "internalcombustionengine-amountremaining": (
            "liters",
            "gallons",
            lambda litres: litres * 0.264172,
        ),
        "motion-currentspeed": ("kph", "miles_per_hour", lambda k: k * 0.621371),
        "climate-externaltemperature": ("celsius", "fahrenheit", lambda c: c * 9 / 5 + 32),
    }
    for code, (metric_unit, imperial_unit, convert) in pairs.items():
        before, after = body(metric, code), body(imperial, code)
        assert (before["unit"], after["unit"]) == (metric_unit, imperial_unit), code
        assert after["value"] == pytest.approx(convert(before["value"]), abs=0.06), code
    tires_before, tires_after = body(metric, "wheel-tires"), body(imperial, "wheel-tires")
    assert (tires_before["unit"], tires_after["unit"]) == ("kilopascals", "psi")
    for kpa, psi in zip(tires_before["values"], tires_after["values"], strict=True):
        assert psi["tirePressure"] == pytest.approx(kpa["tirePressure"] * 0.145038, abs=0.06)
    # What has no metric unit is left alone.
    assert body(imperial, "internalcombustionengine-fuellevel") == body(
        metric, "internalcombustionengine-fuellevel"
    )


async def test_the_emulator_pages_signals_with_the_published_names(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        whole = (await http.get(f"/vehicles/{bev.vehicle_id}/signals", headers=as_user(bev))).json()
        second = (
            await http.get(
                f"/vehicles/{bev.vehicle_id}/signals?page=2&pageSize=10", headers=as_user(bev)
            )
        ).json()
        bad = await http.get(f"/vehicles/{bev.vehicle_id}/signals?pageSize=0", headers=as_user(bev))
    total = whole["meta"]["totalCount"]
    assert total == len(whole["data"]) > 20
    assert second["meta"] == {"page": 2, "pageSize": 10, "totalCount": total}
    base = f"/vehicles/{bev.vehicle_id}/signals"
    assert second["links"]["previous"] == f"{base}?page=1&pageSize=10"
    assert second["links"]["next"] == f"{base}?page=3&pageSize=10"
    assert [item["id"] for item in second["data"]] == [item["id"] for item in whole["data"][10:20]]
    assert second["included"]["vehicle"]["id"] == bev.vehicle_id
    assert bad.status_code == 400


async def test_the_sdk_follows_signal_pages_into_one_signals(
    emulator: SmartcarEmulator, bev: FleetEntry
) -> None:
    recorder = Recorder(emulator.transport())
    with anyio.fail_after(5):
        async with client_for(emulator, recorder) as client:
            whole = await client.vehicles.signals(bev.vehicle_id, user_id=bev.user_id)
            emulator.signals_page_size = 10
            paged = await client.vehicles.signals(bev.vehicle_id, user_id=bev.user_id)
    total = len(whole)
    assert list(paged) == list(whole)
    pages = recorder.seen[1:]
    assert len(pages) == -(-total // 10)
    assert pages[1][1] == "page=2&pageSize=10"
    assert all(unit == "metric" for _, _, unit in pages)
    assert paged.vehicle is not None
    assert paged.vehicle.id == bev.vehicle_id


async def test_a_raw_read_of_paged_signals_parses_to_every_page(
    emulator: SmartcarEmulator, bev: FleetEntry
) -> None:
    # The raw form carries the first page's HTTP details; its parse() is what the normal
    # call returns, not a fraction of the vehicle.
    with anyio.fail_after(5):
        async with client_for(emulator, emulator.transport()) as client:
            whole = await client.vehicles.signals(bev.vehicle_id, user_id=bev.user_id)
            emulator.signals_page_size = 10
            car = client.vehicle(bev.vehicle_id, user_id=bev.user_id)
            raws = [
                await client.vehicles.with_raw_response.signals(
                    bev.vehicle_id, user_id=bev.user_id
                ),
                await car.with_raw_response.signals(),
            ]
    for raw in raws:
        assert list(raw.parse()) == list(whole)
        assert raw.status_code == 200
        assert len(raw.http_response.json()["data"]) == 10  # the first page, as sent


def paging_client(
    signals_page: Callable[[httpx.Request], httpx.Response], clock: VirtualClock
) -> SmartcarClient:
    """A client whose token requests succeed and whose API calls ``signals_page`` answers."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return signals_page(request)

    return SmartcarClient(
        client_id="client_x",
        client_secret="s",
        transport=httpx.MockTransport(handler),
        clock=clock,
    )


async def test_a_raw_read_of_a_malformed_page_raises_on_parse(clock: VirtualClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": "not a list"})

    async with paging_client(handler, clock) as client:
        with anyio.fail_after(5):
            raw = await client.vehicles.with_raw_response.signals("v1", user_id="u1")
    assert raw.status_code == 200
    with pytest.raises(APIResponseError):
        raw.parse()


async def test_total_count_alone_is_followed_too(clock: VirtualClock) -> None:
    """No next link, but fewer signals than ``totalCount``: ask for the next page."""
    signal = {
        "id": "odometer-traveleddistance",
        "type": "signal",
        "attributes": {
            "code": "odometer-traveleddistance",
            "status": {"value": "SUCCESS"},
            "body": {"unit": "kilometers", "value": 1.0},
        },
    }

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        item = {
            **signal,
            "id": f"s{page}",
            "attributes": {**signal["attributes"], "code": f"s{page}"},
        }
        meta = {"page": page, "pageSize": 1, "totalCount": 3}
        return httpx.Response(200, json={"data": [item], "meta": meta, "links": {}})

    async with paging_client(handler, clock) as client:
        with anyio.fail_after(5):
            signals = await client.vehicles.signals("v1", user_id="u1")
    assert list(signals) == ["s1", "s2", "s3"]


async def test_pages_are_bounded(clock: VirtualClock) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        asked.append(str(page))
        item = {"id": f"s{page}", "type": "signal", "attributes": {"code": f"s{page}"}}
        links = {"next": f"/vehicles/v1/signals?page={page + 1}&pageSize=1"}
        return httpx.Response(200, json={"data": [item], "links": links})

    async with paging_client(handler, clock) as client:
        with anyio.fail_after(5), pytest.raises(APIResponseError, match="pages"):
            await client.vehicles.signals("v1", user_id="u1")
    assert len(asked) == MAX_SIGNAL_PAGES

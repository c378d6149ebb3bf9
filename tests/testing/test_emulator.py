"""The emulator's HTTP surface, driven with a plain httpx client on its transport."""

from __future__ import annotations

import base64
from typing import Any

import anyio
import httpx
import pytest
from emulator_helpers import as_user, error_of

from smartcar_async.signals import CATALOGUE
from smartcar_async.testing import (
    MANAGEMENT_API_URL,
    TOKEN_URL,
    FleetEntry,
    SmartcarEmulator,
    VirtualClock,
)

pytestmark = pytest.mark.anyio


# -- token endpoint ------------------------------------------------------------------------


async def token_request(emulator: SmartcarEmulator, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=emulator.transport()) as client:
        return await client.post(TOKEN_URL, **kwargs)


def credentials(emulator: SmartcarEmulator) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
    }


async def test_token_with_form_body(emulator: SmartcarEmulator) -> None:
    with anyio.fail_after(5):
        response = await token_request(emulator, data=credentials(emulator))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert emulator.client_id.startswith("client_emulator")
    assert emulator.stats.token_requests == 1
    assert emulator.stats.tokens_issued == 1


async def test_token_with_json_body_and_with_basic(emulator: SmartcarEmulator) -> None:
    with anyio.fail_after(5):
        as_json = await token_request(emulator, json=credentials(emulator))
        basic = base64.b64encode(f"{emulator.client_id}:{emulator.client_secret}".encode())
        as_basic = await token_request(
            emulator,
            data={"grant_type": "client_credentials"},
            headers={"authorization": f"Basic {basic.decode()}"},
        )
    assert as_json.status_code == 200
    assert as_basic.status_code == 200
    assert as_json.json()["access_token"] != as_basic.json()["access_token"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"grant_type": None}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "invalid_request"),
        ({"client_secret": None}, 400, "invalid_request"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "client_other"}, 401, "invalid_client"),
    ],
)
async def test_token_errors_are_oauth_shaped(
    emulator: SmartcarEmulator, change: dict[str, str | None], status: int, error: str
) -> None:
    form = {**credentials(emulator), **change}
    with anyio.fail_after(5):
        response = await token_request(
            emulator, data={k: v for k, v in form.items() if v is not None}
        )
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert emulator.stats.tokens_issued == 0


async def test_token_refuses_two_client_authentication_methods(
    emulator: SmartcarEmulator,
) -> None:
    basic = base64.b64encode(f"{emulator.client_id}:{emulator.client_secret}".encode()).decode()
    with anyio.fail_after(5):
        response = await token_request(
            emulator, data=credentials(emulator), headers={"authorization": f"Basic {basic}"}
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_tokens_expire_on_the_injected_clock(clock: VirtualClock) -> None:
    emulator = SmartcarEmulator(vehicles=1, seed=1, clock=clock, token_lifetime=30)
    with anyio.fail_after(5):
        token = (await token_request(emulator, data=credentials(emulator))).json()
        assert token["expires_in"] == 30
        async with httpx.AsyncClient(
            transport=emulator.transport(),
            headers={"authorization": f"Bearer {token['access_token']}"},
        ) as http:
            url = f"{emulator.client_kwargs()['vehicle_api_url']}/connections"
            clock.advance(29.9)
            assert (await http.get(url)).status_code == 200
            clock.advance(0.1)
            expired = await http.get(url)
    assert expired.status_code == 401
    entry = error_of(expired)
    assert entry["type"] == "AUTHENTICATION"
    assert "expired" in str(entry["detail"])
    assert entry["resolution"] == {"type": "REAUTHENTICATE"}


async def test_missing_malformed_and_revoked_tokens_get_401(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    with anyio.fail_after(5):
        assert (await http.get("/connections")).status_code == 200
        missing = await http.get("/connections", headers={"authorization": ""})
        basic = await http.get("/connections", headers={"authorization": "Basic abc"})
        unknown = await http.get("/connections", headers={"authorization": "Bearer nope"})
        assert emulator.revoke_tokens() == 1
        revoked = await http.get("/connections")
    for response in (missing, basic, unknown, revoked):
        assert response.status_code == 401
        assert error_of(response)["type"] == "AUTHENTICATION"


async def test_every_response_has_a_request_id(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    with anyio.fail_after(5):
        responses = [
            await http.get("/connections"),
            await http.get("/nope"),
            await token_request(emulator, data={}),
        ]
    ids = [r.headers["sc-request-id"] for r in responses]
    assert len(set(ids)) == 3


# -- connections and users -----------------------------------------------------------------


async def test_connections_page_with_meta_and_links(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    with anyio.fail_after(5):
        first = (await http.get("/connections")).json()
        second = (await http.get("/connections", params={"page[number]": 2})).json()
    assert first["meta"]["page"] == 1
    assert first["meta"]["pageSize"] == 10
    assert first["meta"]["totalCount"] == 30  # live only by default: 3 simulated left out
    assert len(first["data"]) == 10
    assert first["links"]["previous"] is None
    assert first["links"]["next"] == "/connections?page[number]=2&page[size]=10"
    assert first["links"]["last"] == "/connections?page[number]=3&page[size]=10"
    assert second["links"]["previous"] == "/connections?page[number]=1&page[size]=10"
    ids = [c["id"] for c in first["data"] + second["data"]]
    assert len(set(ids)) == 20
    connection = first["data"][0]
    assert connection["type"] == "connection"
    assert set(connection["attributes"]["vehicle"]) == {
        "make",
        "model",
        "year",
        "mode",
        "powertrainType",
    }
    assert connection["relationships"]["vehicle"]["data"]["type"] == "vehicle"
    assert connection["relationships"]["user"]["data"]["type"] == "user"
    assert connection["meta"]["createdAt"].endswith("Z")
    created = [c["meta"]["createdAt"] for c in first["data"]]
    assert created == sorted(created)  # sorted by connection date


async def test_connections_walk_every_page_and_match_the_fleet(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    seen: list[str] = []
    with anyio.fail_after(5):
        page = 1
        while True:
            body = (
                await http.get("/connections", params={"page[number]": page, "page[size]": 7})
            ).json()
            seen += [c["id"] for c in body["data"]]
            if body["links"]["next"] is None:
                break
            page += 1
    assert seen == [e.connection_id for e in emulator.fleet(mode="live")]


async def test_connection_filters(emulator: SmartcarEmulator, http: httpx.AsyncClient) -> None:
    car = emulator.add_vehicle(external_id="crm-42")
    second = emulator.add_vehicle("Kia", "EV6", 2023, user_id=car.user_id)
    with anyio.fail_after(5):
        by_user = (await http.get("/connections", params={"filter[userId]": car.user_id})).json()
        by_vehicle = (
            await http.get("/connections", params={"filter[vehicleId]": second.vehicle_id})
        ).json()
        simulated = (
            await http.get("/connections", params={"filter[vehicle.mode]": "simulated"})
        ).json()
        by_external = (
            await http.get("/connections", params={"filter[user.externalId]": "crm-42"})
        ).json()
        bad_mode = await http.get("/connections", params={"filter[vehicle.mode]": "test"})
    assert [c["id"] for c in by_user["data"]] == [car.connection_id, second.connection_id]
    assert [c["id"] for c in by_vehicle["data"]] == [second.connection_id]
    assert by_user["links"]["self"].startswith(f"/connections?filter[userId]={car.user_id}&")
    assert simulated["meta"]["totalCount"] == 3
    assert {c["attributes"]["vehicle"]["mode"] for c in simulated["data"]} == {"simulated"}
    assert by_external["meta"]["totalCount"] == 2
    assert bad_mode.status_code == 400
    assert error_of(bad_mode)["type"] == "VALIDATION"


@pytest.mark.parametrize(
    "params", [{"page[size]": "0"}, {"page[size]": "101"}, {"page[number]": "x"}]
)
async def test_bad_page_parameters_are_validation_errors(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    with anyio.fail_after(5):
        response = await http.get("/connections", params=params)
    assert response.status_code == 400
    assert error_of(response)["code"] == "PARAMETER"


async def test_get_and_delete_a_connection(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        got = await http.get(f"/connections/{bev.connection_id}")
        deleted = await http.delete(f"/connections/{bev.connection_id}")
        again = await http.get(f"/connections/{bev.connection_id}")
        signals = await http.get(f"/vehicles/{bev.vehicle_id}/signals", headers=as_user(bev))
    assert got.json()["data"]["id"] == bev.connection_id
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert again.status_code == 404
    assert signals.status_code == 404
    assert error_of(signals)["code"] == "VEHICLE_NOT_FOUND"


async def test_delete_user_purges_connections(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    car = emulator.add_vehicle()
    emulator.add_vehicle("Kia", "EV6", 2023, user_id=car.user_id)
    with anyio.fail_after(5):
        deleted = await http.delete(f"/users/{car.user_id}")
        left = (await http.get("/connections", params={"filter[userId]": car.user_id})).json()
        unknown = await http.delete(f"/users/{car.user_id}")
    assert deleted.status_code == 204
    assert left["data"] == []
    assert unknown.status_code == 404


# -- vehicles and signals ------------------------------------------------------------------


async def test_get_vehicle_is_wrapped_and_needs_no_user(
    http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        response = await http.get(f"/vehicles/{bev.vehicle_id}")
        unknown = await http.get("/vehicles/not-a-vehicle")
    assert response.json() == {
        "data": {
            "id": bev.vehicle_id,
            "type": "vehicle",
            "attributes": {
                "make": "Tesla",
                "model": "Model 3",
                "year": 2024,
                "powertrainType": "BEV",
                "mode": "live",
            },
            "links": {"self": f"/vehicles/{bev.vehicle_id}"},
        }
    }
    assert error_of(unknown)["code"] == "VEHICLE_NOT_FOUND"


async def test_there_is_no_vehicle_list(http: httpx.AsyncClient) -> None:
    with anyio.fail_after(5):
        response = await http.get("/vehicles")
    assert response.status_code == 404
    entry = error_of(response)
    assert (entry["type"], entry["code"]) == ("RESOURCE_NOT_FOUND", "INVALID_PATH")


async def test_an_encoded_slash_stays_inside_the_id(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    with anyio.fail_after(5):
        response = await http.get("/vehicles/..%2Fconnections")
    assert response.status_code == 404
    assert error_of(response)["code"] == "VEHICLE_NOT_FOUND"
    assert emulator.stats.requests["GET /vehicles/{id}"] == 1


async def test_signals_collection_shape(http: httpx.AsyncClient, bev: FleetEntry) -> None:
    with anyio.fail_after(5):
        body = (await http.get(f"/vehicles/{bev.vehicle_id}/signals", headers=as_user(bev))).json()
    assert set(body) == {"data", "meta", "links", "included"}
    assert body["included"]["vehicle"]["id"] == bev.vehicle_id
    assert body["included"]["vehicle"]["attributes"] == {
        "make": "Tesla",
        "model": "Model 3",
        "year": 2024,
    }
    assert body["meta"]["totalCount"] == len(body["data"])
    odometer = next(s for s in body["data"] if s["id"] == "odometer-traveleddistance")
    spec = CATALOGUE["odometer-traveleddistance"]
    assert odometer["type"] == "signal"
    assert odometer["attributes"]["code"] == "odometer-traveleddistance"
    assert odometer["attributes"]["group"] == spec.group
    assert odometer["attributes"]["name"] == spec.name
    assert odometer["attributes"]["status"] == {"value": "SUCCESS"}
    assert odometer["attributes"]["body"]["value"] > 0
    meta = odometer["meta"]
    assert meta["oemUpdatedAt"] <= meta["retrievedAt"]
    assert meta["retrievedAt"] > 10**12  # epoch milliseconds
    assert odometer["links"]["self"] == (
        f"/vehicles/{bev.vehicle_id}/signals/odometer-traveleddistance"
    )


async def test_signals_follow_the_powertrain(
    emulator: SmartcarEmulator, bev: FleetEntry, ice: FleetEntry
) -> None:
    ev_codes = set(emulator.signals(bev.vehicle_id))
    ice_codes = set(emulator.signals(ice.vehicle_id))
    assert not {c for c in ev_codes if c.startswith("internalcombustionengine-")}
    assert not {c for c in ice_codes if c.startswith(("tractionbattery-", "charge-"))}
    assert "tractionbattery-stateofcharge" in ev_codes
    assert "internalcombustionengine-fuellevel" in ice_codes
    common = {
        c
        for c, spec in CATALOGUE.items()
        if spec.group.lower()
        not in ("charge", "tractionbattery", "internalcombustionengine", "diagnostics")
    }
    assert common <= ev_codes
    assert common <= ice_codes
    assert set(CATALOGUE) >= ev_codes | ice_codes
    vin = emulator.signal(bev.vehicle_id, "vehicleidentification-vin")
    assert vin == {"value": bev.vin}
    assert len(bev.vin) == 17


async def test_every_seeded_vehicle_has_a_value_for_every_signal(
    emulator: SmartcarEmulator,
) -> None:
    for car in emulator.fleet():
        for code, body in emulator.signals(car.vehicle_id).items():
            assert code in CATALOGUE
            assert isinstance(body, dict)
            assert body, code


async def test_sc_user_id_is_required_and_checked(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry, ice: FleetEntry
) -> None:
    url = f"/vehicles/{bev.vehicle_id}/signals"
    with anyio.fail_after(5):
        missing = await http.get(url)
        wrong = await http.get(url, headers=as_user(ice))
        one_missing = await http.get(f"{url}/closure-islocked")
        command = await http.post(f"/vehicles/{bev.vehicle_id}/commands/security/lock")
    for response in (missing, one_missing, command):
        assert response.status_code == 400
        entry = error_of(response)
        assert (entry["type"], entry["code"]) == ("VALIDATION", "PARAMETER")
    assert wrong.status_code == 404
    entry = error_of(wrong)
    assert (entry["type"], entry["code"]) == ("RESOURCE_NOT_FOUND", "VEHICLE_NOT_FOUND")
    assert emulator.stats.command_executions[bev.vehicle_id] == 0


async def test_single_signal_and_unknown_code(http: httpx.AsyncClient, bev: FleetEntry) -> None:
    with anyio.fail_after(5):
        one = await http.get(
            f"/vehicles/{bev.vehicle_id}/signals/tractionbattery-stateofcharge",
            headers=as_user(bev),
        )
        unknown = await http.get(
            f"/vehicles/{bev.vehicle_id}/signals/warpdrive-flux", headers=as_user(bev)
        )
    # The documented shape is the bare resource (reference §4.3).
    assert one.json()["id"] == "tractionbattery-stateofcharge"
    assert 0 <= one.json()["attributes"]["body"]["value"] <= 100
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "SIGNAL_NOT_FOUND"


async def test_single_signal_can_be_wrapped(clock: VirtualClock) -> None:
    emulator = SmartcarEmulator(vehicles=1, seed=1, clock=clock, single_signal_wrapped=True)
    car = emulator.fleet()[0]
    async with httpx.AsyncClient(transport=emulator.transport()) as http:
        with anyio.fail_after(5):
            response = await http.get(
                f"{emulator.client_kwargs()['vehicle_api_url']}/vehicles/{car.vehicle_id}"
                "/signals/odometer-traveleddistance",
                headers={"authorization": f"Bearer {emulator.issue_token()}", **as_user(car)},
            )
    assert response.json()["data"]["id"] == "odometer-traveleddistance"


async def test_set_signal_shows_in_both_endpoints(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry, clock: VirtualClock
) -> None:
    url = f"/vehicles/{bev.vehicle_id}/signals"
    with anyio.fail_after(5):
        before = (await http.get(url, headers=as_user(bev))).json()  # fills the cache
        clock.advance(60)
        emulator.set_signal(
            bev.vehicle_id, "tractionbattery-stateofcharge", {"unit": "percent", "value": 42}
        )
        after = (await http.get(url, headers=as_user(bev))).json()
        one = (await http.get(f"{url}/tractionbattery-stateofcharge", headers=as_user(bev))).json()

    def soc(body: dict[str, Any]) -> dict[str, Any]:
        return next(s for s in body["data"] if s["id"] == "tractionbattery-stateofcharge")

    assert soc(after)["attributes"]["body"] == {"unit": "percent", "value": 42}
    assert one == soc(after)
    assert soc(after)["meta"]["retrievedAt"] - soc(before)["meta"]["retrievedAt"] > 0
    assert len(after["data"]) == len(before["data"])


async def test_signal_errors_and_removal(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    emulator.set_signal_status(
        bev.vehicle_id, "location-preciselocation", error_type="PERMISSION", error_code=None
    )
    emulator.remove_signal(bev.vehicle_id, "wheel-tires")
    url = f"/vehicles/{bev.vehicle_id}/signals"
    with anyio.fail_after(5):
        location = (await http.get(f"{url}/location-preciselocation", headers=as_user(bev))).json()
        tires = await http.get(f"{url}/wheel-tires", headers=as_user(bev))
    assert location["attributes"]["status"]["value"] == "ERROR"
    assert location["attributes"]["status"]["error"]["type"] == "PERMISSION"
    assert "body" not in location["attributes"]
    assert tires.status_code == 404


# -- commands ------------------------------------------------------------------------------


async def command(
    http: httpx.AsyncClient, car: FleetEntry, path: str, body: Any = None
) -> httpx.Response:
    return await http.post(
        f"/vehicles/{car.vehicle_id}/commands/{path}",
        headers=as_user(car),
        **({} if body is None else {"json": body}),
    )


async def test_lock_and_unlock_change_the_signals(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        locked = await command(http, bev, "security/lock")
        assert emulator.signal(bev.vehicle_id, "closure-islocked") == {"value": True}
        doors = emulator.signal(bev.vehicle_id, "closure-doors")
        assert doors is not None
        assert {d["isLocked"] for d in doors["values"]} == {True}
        unlocked = await command(http, bev, "security/unlock")
    assert emulator.signal(bev.vehicle_id, "closure-islocked") == {"value": False}
    assert locked.status_code == 200
    data = locked.json()["data"]
    assert data["id"].startswith("exec_")
    assert data["type"] == "command-execution"
    assert data["attributes"] == {
        "commandType": "security-lock",
        "status": {"value": "SUCCESS"},
        "executionMode": "sync",
        "parameters": {},
    }
    assert set(data["meta"]) == {"executedAt", "completedAt", "durationInSeconds"}
    assert unlocked.json()["data"]["attributes"]["commandType"] == "security-unlock"
    assert emulator.stats.commands[(bev.vehicle_id, "security-lock")] == 1
    assert emulator.stats.commands[(bev.vehicle_id, "security-unlock")] == 1
    assert [r.command_type for r in emulator.command_log] == ["security-lock", "security-unlock"]
    assert emulator.command_log[0].request_id == locked.headers["sc-request-id"]


async def test_charge_start_and_stop(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        started = await command(http, bev, "charge/start")
        charging = emulator.signal(bev.vehicle_id, "charge-ischarging")
        status = emulator.signal(bev.vehicle_id, "charge-detailedchargingstatus")
        stopped = await command(http, bev, "charge/stop")
    assert started.status_code == 200
    assert charging == {"value": True}
    assert status == {"value": "CHARGING"}
    assert stopped.json()["data"]["attributes"]["commandType"] == "charge-stop"
    assert emulator.signal(bev.vehicle_id, "charge-ischarging") == {"value": False}
    assert emulator.signal(bev.vehicle_id, "charge-detailedchargingstatus") == {
        "value": "NOT_CHARGING"
    }


async def test_charge_start_needs_the_cable(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    emulator.set_signal(bev.vehicle_id, "charge-ischargingcableconnected", {"value": False})
    with anyio.fail_after(5):
        response = await command(http, bev, "charge/start")
    assert response.status_code == 409
    entry = error_of(response)
    assert (entry["type"], entry["code"]) == ("VEHICLE_STATE", "CHARGING_PLUG_NOT_CONNECTED")
    assert emulator.stats.command_executions[bev.vehicle_id] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"attributes": {"percent": 49}}},
        {"data": {"attributes": {"percent": 101}}},
        {"data": {"attributes": {"percent": "80"}}},
        {"data": {"attributes": {"percent": 80.5}}},
        {"data": {"attributes": {}}},
        {"percent": 80},
        None,
    ],
)
async def test_set_limit_validates_percent(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry, body: Any
) -> None:
    with anyio.fail_after(5):
        response = await command(http, bev, "charge/set-limit", body)
    assert response.status_code == 400
    assert error_of(response)["type"] == "VALIDATION"
    assert emulator.stats.command_executions[bev.vehicle_id] == 0


async def test_set_limit_changes_the_global_limit(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        response = await command(
            http, bev, "charge/set-limit", {"data": {"attributes": {"percent": 65}}}
        )
    assert response.json()["data"]["attributes"]["parameters"] == {"percent": 65}
    limits = emulator.signal(bev.vehicle_id, "charge-chargelimits")
    assert limits is not None
    assert limits["activeLimit"] == 65
    assert [v["limit"] for v in limits["values"] if v["type"] == "GLOBAL"] == [65]


async def test_set_destination_validates_coordinates(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, ice: FleetEntry
) -> None:
    path = "navigation/set-destination"
    with anyio.fail_after(5):
        ok = await command(
            http, ice, path, {"data": {"attributes": {"latitude": 37.77, "longitude": -122.42}}}
        )
        bad_lat = await command(
            http, ice, path, {"data": {"attributes": {"latitude": 91, "longitude": 0}}}
        )
        no_long = await command(http, ice, path, {"data": {"attributes": {"latitude": 1}}})
        not_json = await http.post(
            f"/vehicles/{ice.vehicle_id}/commands/{path}", headers=as_user(ice), content=b"{"
        )
    assert ok.status_code == 200
    assert ok.json()["data"]["attributes"]["parameters"] == {
        "latitude": 37.77,
        "longitude": -122.42,
    }
    assert bad_lat.status_code == no_long.status_code == not_json.status_code == 400
    assert error_of(not_json)["code"] == "INVALID_INPUT_FORMAT"


async def test_charge_port_open_and_close(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    with anyio.fail_after(5):
        await command(http, bev, "charge-port/open")
        opened = emulator.signal(bev.vehicle_id, "charge-ischargingportflapopen")
        await command(http, bev, "charge-port/close")
    assert opened == {"value": True}
    assert emulator.signal(bev.vehicle_id, "charge-ischargingportflapopen") == {"value": False}


@pytest.mark.parametrize(
    "path", ["charge/start", "charge/stop", "charge-port/open", "charge/set-limit"]
)
async def test_an_ice_cannot_charge(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, ice: FleetEntry, path: str
) -> None:
    with anyio.fail_after(5):
        response = await command(http, ice, path, {"data": {"attributes": {"percent": 80}}})
    assert response.status_code == 501
    entry = error_of(response)
    assert (entry["type"], entry["code"]) == ("COMPATIBILITY", "VEHICLE_NOT_CAPABLE")
    assert f"(ICE) cannot perform {path.replace('/', '-')}" in str(entry["detail"])


async def test_unsupported_commands_answer_501(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    emulator.set_unsupported(bev.vehicle_id, "security-unlock")
    with anyio.fail_after(5):
        assert (await command(http, bev, "security/lock")).status_code == 200
        assert (await command(http, bev, "security/unlock")).status_code == 501
    with pytest.raises(ValueError, match="unknown command"):
        emulator.set_unsupported(bev.vehicle_id, "climate-start")


async def test_an_asleep_vehicle_refuses_commands(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    emulator.set_asleep(bev.vehicle_id)
    with anyio.fail_after(5):
        asleep = await command(http, bev, "security/lock")
        reading = await http.get(
            f"/vehicles/{bev.vehicle_id}/signals/connectivitystatus-isasleep",
            headers=as_user(bev),
        )
        emulator.set_asleep(bev.vehicle_id, False)
        awake = await command(http, bev, "security/lock")
    assert asleep.status_code == 409
    entry = error_of(asleep)
    assert (entry["type"], entry["code"]) == ("VEHICLE_STATE", "ASLEEP")
    assert entry["resolution"] == {"type": "RETRY_LATER"}
    assert reading.json()["attributes"]["body"] == {"value": True}
    assert awake.status_code == 200
    assert emulator.stats.command_executions[bev.vehicle_id] == 1


async def test_a_connection_without_the_permission_gets_403(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    car = emulator.add_vehicle(permissions=["read_vehicle_info", "read_battery"])
    with anyio.fail_after(5):
        response = await command(http, car, "security/lock")
    assert response.status_code == 403
    assert error_of(response)["type"] == "PERMISSION"


async def test_long_running_command_streams_its_result_after_the_delay(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry, clock: VirtualClock
) -> None:
    emulator.set_long_running(180, vehicle_id=bev.vehicle_id)
    bodies: list[bytes] = []
    with anyio.fail_after(5):
        async with http.stream(
            "POST", f"/vehicles/{bev.vehicle_id}/commands/security/lock", headers=as_user(bev)
        ) as response:
            assert response.status_code == 202
            assert "content-length" not in response.headers
            # The vehicle acted when the command was accepted.
            assert emulator.signal(bev.vehicle_id, "closure-islocked") == {"value": True}
            async with anyio.create_task_group() as tg:

                async def read() -> None:
                    bodies.append(await response.aread())

                tg.start_soon(read)
                await clock.wait_for_sleepers(1)
                assert not bodies
                clock.advance(180)
    data = httpx.Response(200, content=bodies[0]).json()["data"]
    assert data["attributes"]["executionMode"] == "async"
    assert data["attributes"]["status"] == {"value": "SUCCESS"}
    assert data["meta"]["durationInSeconds"] == 180
    assert emulator.stats.command_executions[bev.vehicle_id] == 1


async def test_long_running_can_be_switched_per_vehicle(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry, ice: FleetEntry
) -> None:
    emulator.set_long_running(100)
    emulator.set_long_running(0, vehicle_id=ice.vehicle_id)
    with anyio.fail_after(5):
        response = await command(http, ice, "security/lock")
    assert response.status_code == 200


# -- charge schedules ----------------------------------------------------------------------

LOCATION = {"latitude": 37.77, "longitude": -122.42}


async def test_daily_schedule_round_trip(
    emulator: SmartcarEmulator, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    body = {
        "data": {"attributes": {"location": LOCATION, "startTime": "08:00", "stopTime": "10:00"}}
    }
    with anyio.fail_after(5):
        created = await http.post(
            f"/vehicles/{bev.vehicle_id}/charge-schedules/daily", headers=as_user(bev), json=body
        )
        data = created.json()["data"]
        schedule_id = data["attributes"]["scheduleId"]
        timers = emulator.signal(bev.vehicle_id, "charge-chargetimers")
        deleted = await http.delete(
            f"/vehicles/{bev.vehicle_id}/charge-schedules/{schedule_id}", headers=as_user(bev)
        )
        again = await http.delete(
            f"/vehicles/{bev.vehicle_id}/charge-schedules/{schedule_id}", headers=as_user(bev)
        )
    assert created.status_code == 200
    assert data["type"] == "charge-schedule-execution"
    assert data["attributes"]["action"] == "create"
    assert data["attributes"]["scheduleType"] == "daily"
    assert data["links"]["schedule"].endswith(schedule_id)
    assert timers is not None
    (entry,) = [t for t in timers["values"] if t.get("scheduleId") == schedule_id]
    assert entry["type"] == "LOCATION"
    assert entry["schedules"][0]["start"] == "08:00"
    assert deleted.status_code == 200
    assert deleted.json()["data"]["attributes"]["action"] == "delete"
    after = emulator.signal(bev.vehicle_id, "charge-chargetimers")
    assert after is not None
    assert not [t for t in after["values"] if t.get("scheduleId") == schedule_id]
    assert again.status_code == 404


async def test_weekly_and_workweek_schedules(
    http: httpx.AsyncClient, bev: FleetEntry, emulator: SmartcarEmulator
) -> None:
    window = {"startTime": "22:00", "stopTime": "06:00"}
    weekly = {"data": {"attributes": {"location": LOCATION, "days": {"monday": window}}}}
    workweek = {
        "data": {"attributes": {"location": LOCATION, "weekdays": window, "weekends": window}}
    }
    bad = {"data": {"attributes": {"location": LOCATION, "days": {"someday": window}}}}
    url = f"/vehicles/{bev.vehicle_id}/charge-schedules"
    with anyio.fail_after(5):
        ok_weekly = await http.post(f"{url}/weekly", headers=as_user(bev), json=weekly)
        ok_workweek = await http.post(f"{url}/workweek", headers=as_user(bev), json=workweek)
        invalid = await http.post(f"{url}/weekly", headers=as_user(bev), json=bad)
    assert ok_weekly.status_code == ok_workweek.status_code == 200
    assert invalid.status_code == 400
    assert emulator.stats.commands[(bev.vehicle_id, "charge-schedule-weekly")] == 1


async def test_schedules_depend_on_the_make(
    emulator: SmartcarEmulator, http: httpx.AsyncClient
) -> None:
    volvo = emulator.add_vehicle("Volvo", "EX30", 2025, "BEV")
    kia = emulator.add_vehicle("Kia", "EV6", 2024, "BEV")
    daily = {
        "data": {"attributes": {"location": LOCATION, "startTime": "01:00", "stopTime": "05:00"}}
    }
    window = {"startTime": "22:00", "stopTime": "06:00"}
    weekly = {"data": {"attributes": {"location": LOCATION, "days": {"monday": window}}}}
    with anyio.fail_after(5):
        volvo_daily = await http.post(
            f"/vehicles/{volvo.vehicle_id}/charge-schedules/daily",
            headers=as_user(volvo),
            json=daily,
        )
        volvo_weekly = await http.post(
            f"/vehicles/{volvo.vehicle_id}/charge-schedules/weekly",
            headers=as_user(volvo),
            json=weekly,
        )
        kia_daily = await http.post(
            f"/vehicles/{kia.vehicle_id}/charge-schedules/daily", headers=as_user(kia), json=daily
        )
    assert volvo_daily.status_code == 200
    assert volvo_weekly.status_code == kia_daily.status_code == 501
    assert "does not take daily charge schedules" in str(error_of(kia_daily)["detail"])
    # A kind the make takes is refused too once the test marks it unsupported.
    emulator.set_unsupported(volvo.vehicle_id, "charge-schedule-daily")
    with anyio.fail_after(5):
        refused = await http.post(
            f"/vehicles/{volvo.vehicle_id}/charge-schedules/daily",
            headers=as_user(volvo),
            json=daily,
        )
    assert error_of(refused)["code"] == "VEHICLE_NOT_CAPABLE"


# -- management ----------------------------------------------------------------------------


@pytest.fixture
async def management(emulator: SmartcarEmulator) -> Any:
    headers = {"authorization": f"Bearer {emulator.issue_token()}"}
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url=MANAGEMENT_API_URL, headers=headers
    ) as client:
        yield client


async def test_webhooks_list_get_and_filters(
    emulator: SmartcarEmulator, management: httpx.AsyncClient
) -> None:
    first = emulator.add_webhook("Battery", "https://a.example/hook")
    emulator.add_webhook(
        "Doors", "https://B.example/other", is_enabled=False, data=("closure-islocked",)
    )
    with anyio.fail_after(5):
        everything = (await management.get("/webhooks")).json()
        by_uri = (
            await management.get("/webhooks", params={"filter[callbackUri]": "b.EXAMPLE"})
        ).json()
        enabled = (await management.get("/webhooks", params={"filter[isEnabled]": "true"})).json()
        one = (await management.get(f"/webhooks/{first}")).json()
        missing = await management.get("/webhooks/nope")
        bad = await management.get("/webhooks", params={"filter[isEnabled]": "maybe"})
    assert everything["meta"] == {"page": 1, "pageSize": 50, "totalCount": 2}
    assert [w["attributes"]["name"] for w in by_uri["data"]] == ["Doors"]
    assert [w["id"] for w in enabled["data"]] == [first]
    attributes = one["data"]["attributes"]
    assert one["data"]["type"] == "webhook"
    assert set(attributes) == {
        "name",
        "callbackUri",
        "isEnabled",
        "triggers",
        "data",
        "errorCallbackUri",
        "autoSubscribe",
    }
    assert attributes["triggers"][0]["code"] == "tractionbattery-stateofcharge"
    assert set(attributes["triggers"][0]) == {"group", "name", "code"}
    assert missing.status_code == 404
    assert bad.status_code == 400


async def test_subscriptions_lifecycle(
    emulator: SmartcarEmulator, management: httpx.AsyncClient, bev: FleetEntry
) -> None:
    webhook_id = emulator.add_webhook()
    body = {
        "data": {
            "attributes": {
                "webhookId": webhook_id,
                "vehicleId": bev.vehicle_id,
                "userId": bev.user_id,
            }
        }
    }
    with anyio.fail_after(5):
        created = await management.post("/subscriptions", json=body)
        duplicate = await management.post("/subscriptions", json=body)
        listed = (
            await management.get("/subscriptions", params={"filter[vehicleId]": bev.vehicle_id})
        ).json()
        subscription_id = listed["data"][0]["id"]
        one = (await management.get(f"/subscriptions/{subscription_id}")).json()
        deleted = await management.delete(f"/subscriptions/{subscription_id}")
        gone = await management.get(f"/subscriptions/{subscription_id}")
    assert created.status_code == 202
    assert created.json() == {"meta": {"message": "subscription creation in progress"}}
    # The spec gives no type or body for its 409: subscribing again changes nothing.
    assert duplicate.status_code == 202
    assert listed["meta"]["totalCount"] == 1
    assert listed["meta"]["pageSize"] == 25
    data = one["data"]
    assert data["type"] == "subscription"
    assert data["attributes"]["vehicle"]["make"] == "Tesla"
    assert data["relationships"]["webhook"]["data"] == {"type": "webhook", "id": webhook_id}
    assert data["relationships"]["user"]["data"]["id"] == bev.user_id
    assert deleted.status_code == 204
    assert gone.status_code == 404


async def test_subscription_create_is_validated(
    emulator: SmartcarEmulator, management: httpx.AsyncClient, bev: FleetEntry, ice: FleetEntry
) -> None:
    webhook_id = emulator.add_webhook()

    async def create(**attributes: str) -> httpx.Response:
        return await management.post("/subscriptions", json={"data": {"attributes": attributes}})

    with anyio.fail_after(5):
        missing = await create(webhookId=webhook_id, vehicleId=bev.vehicle_id)
        other_user = await create(
            webhookId=webhook_id, vehicleId=bev.vehicle_id, userId=ice.user_id
        )
        no_hook = await create(webhookId="nope", vehicleId=bev.vehicle_id, userId=bev.user_id)
    assert missing.status_code == 400
    assert other_user.status_code == 404
    assert error_of(other_user)["code"] == "VEHICLE_NOT_FOUND"
    assert no_hook.status_code == 404


async def test_auto_subscribe_and_subscription_filters(
    emulator: SmartcarEmulator, management: httpx.AsyncClient
) -> None:
    webhook_id = emulator.add_webhook(auto_subscribe=True)
    with anyio.fail_after(5):
        everything = (await management.get("/subscriptions", params={"page[size]": 100})).json()
        simulated = (
            await management.get("/subscriptions", params={"filter[vehicle.mode]": "simulated"})
        ).json()
        by_hook = (
            await management.get("/subscriptions", params={"filter[webhookId]": webhook_id})
        ).json()
    assert everything["meta"]["totalCount"] == 33
    assert simulated["meta"]["totalCount"] == 3
    assert by_hook["meta"]["totalCount"] == 33


async def test_management_also_answers_on_the_real_host_layout(
    emulator: SmartcarEmulator,
) -> None:
    headers = {"authorization": f"Bearer {emulator.issue_token()}"}
    emulator.add_webhook()
    async with httpx.AsyncClient(transport=emulator.transport(), headers=headers) as client:
        with anyio.fail_after(5):
            real = await client.get("https://management.api.smartcar.com/v3/webhooks")
            wrong_api = await client.get("https://vehicle.api.smartcar.com/v3/webhooks")
    assert real.json()["meta"]["totalCount"] == 1
    assert wrong_api.status_code == 404


async def test_applications_are_not_emulated(management: httpx.AsyncClient) -> None:
    """No Smartcar source gives the /applications endpoints' shapes: not invented here."""
    with anyio.fail_after(5):
        listed = await management.get("/applications")
    assert listed.status_code == 404


# -- the fleet and determinism -------------------------------------------------------------


def test_the_same_seed_builds_the_same_fleet() -> None:
    one = SmartcarEmulator(vehicles=200, seed=1, clock=VirtualClock())
    two = SmartcarEmulator(vehicles=200, seed=1, clock=VirtualClock())
    other = SmartcarEmulator(vehicles=200, seed=2, clock=VirtualClock())
    assert one.fleet() == two.fleet()
    assert one.fleet() != other.fleet()
    assert (one.client_id, one.client_secret) == (two.client_id, two.client_secret)
    # Signals are generated lazily; the order of reading must not change them.
    last, first = one.fleet()[-1], one.fleet()[0]
    assert one.signals(last.vehicle_id) == two.signals(last.vehicle_id)
    assert one.signals(first.vehicle_id) == two.signals(first.vehicle_id)


def test_the_fleet_is_a_realistic_mix() -> None:
    emulator = SmartcarEmulator(vehicles=1000, seed=1, clock=VirtualClock())
    fleet = emulator.fleet()
    powertrains = {
        p: sum(1 for e in fleet if e.powertrain_type == p) for p in ("BEV", "PHEV", "HEV", "ICE")
    }
    assert 550 < powertrains["BEV"] < 850
    assert all(count > 0 for count in powertrains.values())
    assert len({e.make for e in fleet}) >= 15
    assert len({e.user_id for e in fleet}) < len(fleet)  # some users own several cars
    assert all(2018 <= e.year <= 2025 for e in fleet)


def test_client_kwargs(emulator: SmartcarEmulator) -> None:
    in_process = emulator.client_kwargs()
    assert set(in_process) == {
        "client_id",
        "client_secret",
        "token_url",
        "vehicle_api_url",
        "management_api_url",
        "transport",
    }
    assert in_process["token_url"].startswith("https://")
    assert ".emulator.invalid/" in in_process["token_url"]
    assert isinstance(in_process["transport"], httpx.AsyncBaseTransport)
    socket = emulator.client_kwargs(base_url="http://127.0.0.1:8123/")
    assert "transport" not in socket
    assert socket["vehicle_api_url"] == "http://127.0.0.1:8123/v3"
    assert socket["management_api_url"] == "http://127.0.0.1:8123/management/v3"
    assert socket["token_url"] == "http://127.0.0.1:8123/oauth2/token"


def test_public_names_read_as_the_public_module() -> None:
    assert SmartcarEmulator.__module__ == "smartcar_async.testing"
    assert "client_secret" not in repr(SmartcarEmulator(vehicles=1, clock=VirtualClock()))


async def test_remove_webhook_takes_its_subscriptions(
    emulator: SmartcarEmulator, management: httpx.AsyncClient
) -> None:
    kept = emulator.add_webhook("kept", auto_subscribe=True)
    gone = emulator.add_webhook("gone", auto_subscribe=True)
    emulator.remove_webhook(gone)
    with anyio.fail_after(5):
        hooks = (await management.get("/webhooks")).json()
        subscriptions = (await management.get("/subscriptions", params={"page[size]": 100})).json()
    assert [w["id"] for w in hooks["data"]] == [kept]
    assert {s["relationships"]["webhook"]["data"]["id"] for s in subscriptions["data"]} == {kept}
    with pytest.raises(KeyError):
        emulator.remove_webhook(gone)


async def test_an_asleep_vehicle_is_read_from_smartcars_store(
    emulator: SmartcarEmulator, clock: VirtualClock, http: httpx.AsyncClient, bev: FleetEntry
) -> None:
    """v3 reads are served from Smartcar's store: an asleep vehicle still answers 200 with
    the values it last reported, flagged by ``connectivitystatus-isasleep``."""
    path = f"/vehicles/{bev.vehicle_id}/signals"
    with anyio.fail_after(5):
        before = (await http.get(path, headers=as_user(bev))).json()
        emulator.set_asleep(bev.vehicle_id)
        clock.advance(600)
        asleep = await http.get(path, headers=as_user(bev))
    assert asleep.status_code == 200

    def by_code(body: dict[str, Any]) -> dict[str, Any]:
        return {s["attributes"]["code"]: s for s in body["data"]}

    then, now = by_code(before), by_code(asleep.json())
    assert now.pop("connectivitystatus-isasleep")["attributes"]["body"] == {"value": True}
    then.pop("connectivitystatus-isasleep")
    # Nothing newer reaches the store while the vehicle sleeps: values and times stand.
    assert now == then

"""The signal catalogue, typed bodies, and the parsers of signal responses."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcar_async import APIResponseError
from smartcar_async.signals import (
    CATALOGUE,
    CHARGE_LIMITS,
    DOORS,
    FUEL_LEVEL,
    GROUPS,
    IS_CHARGING,
    IS_LOCKED,
    LOCATION,
    ODOMETER,
    RANGE,
    STATE_OF_CHARGE,
    TIRES,
    ChargeLimitsBody,
    DoorsBody,
    DriveModeBody,
    GenericBody,
    LocationBody,
    NominalCapacityBody,
    OpenLockBody,
    RangeBody,
    Signal,
    Signals,
    SignalSpec,
    StatusBody,
    TiresBody,
    UnitValue,
    Value,
    ValuesBody,
    WindowsBody,
    code_for,
    full_name_for,
    parse_signal,
    parse_signals,
)

UTC = dt.timezone.utc
MS = 1752104218549  # 2025-07-09T23:36:58.549Z
WHEN = dt.datetime(2025, 7, 9, 23, 36, 58, 549000, tzinfo=UTC)

# Every code of the reference's "Signal catalogue" paragraph (§7), written out by hand
# so a code dropped from or added to the catalogue is noticed.
REFERENCE_CODES = {
    "charge-activelimit",
    "charge-amperage",
    "charge-amperagemax",
    "charge-amperagerequested",
    "charge-chargelimits",
    "charge-chargeportstatuscolor",
    "charge-chargerate",
    "charge-chargerecords",
    "charge-chargetimers",
    "charge-chargerphases",
    "charge-chargingconnectortype",
    "charge-detailedchargingstatus",
    "charge-energyadded",
    "charge-fastchargertype",
    "charge-ischarging",
    "charge-ischargingcableconnected",
    "charge-ischargingcablelatched",
    "charge-ischargingportflapopen",
    "charge-isfastchargerpresent",
    "charge-timetocomplete",
    "charge-voltage",
    "charge-wattage",
    "climate-externaltemperature",
    "climate-internaltemperature",
    "closure-doors",
    "closure-enginecover",
    "closure-fronttrunk",
    "closure-reartrunk",
    "closure-islocked",
    "closure-sunroof",
    "closure-windows",
    "closure-tailgate",
    "connectivitysoftware-currentfirmwareversion",
    "connectivitystatus-isasleep",
    "connectivitystatus-isdigitalkeypaired",
    "connectivitystatus-isonline",
    "diagnostics-abs",
    "diagnostics-activesafety",
    "diagnostics-airbag",
    "diagnostics-brakefluid",
    "diagnostics-driverassistance",
    "diagnostics-evbatteryconditioning",
    "diagnostics-evcharging",
    "diagnostics-evdriveunit",
    "diagnostics-evhvbattery",
    "diagnostics-emissions",
    "diagnostics-lighting",
    "diagnostics-mil",
    "diagnostics-oillife",
    "diagnostics-oilpressure",
    "diagnostics-oiltemperature",
    "diagnostics-telematics",
    "diagnostics-tirepressure",
    "diagnostics-tirepressuremonitoring",
    "diagnostics-transmission",
    "diagnostics-washerfluid",
    "diagnostics-waterinfuel",
    "diagnostics-dtccount",
    "diagnostics-dtclist",
    "hvac-cabintargettemperature",
    "hvac-iscabinhvacactive",
    "hvac-isfrontdefrosteractive",
    "hvac-isreardefrosteractive",
    "hvac-issteeringheateractive",
    "internalcombustionengine-amountremaining",
    "internalcombustionengine-fuellevel",
    "internalcombustionengine-oillife",
    "internalcombustionengine-range",
    "location-isathome",
    "location-preciselocation",
    "lowvoltagebattery-stateofcharge",
    "lowvoltagebattery-status",
    "motion-currentspeed",
    "odometer-traveleddistance",
    "service-isinservice",
    "service-records",
    "surveillance-isenabled",
    "surveillance-brand",
    "tractionbattery-isheateractive",
    "tractionbattery-maxrangechargecounter",
    "tractionbattery-nominalcapacity",
    "tractionbattery-range",
    "tractionbattery-stateofcharge",
    "transmission-gearstate",
    "transmission-drivemode",
    "vehicleidentification-nickname",
    "vehicleidentification-vin",
    "vehicleidentification-exteriorcolor",
    "vehicleidentification-trim",
    "vehicleidentification-packages",
    "vehicleuseraccount-permissions",
    "vehicleuseraccount-role",
    "wheel-tires",
    "wheel-style",
}


# ------------------------------------------------------------ realistic bodies


def _grid(item: Callable[[int, int], dict[str, Any]]) -> dict[str, Any]:
    return {
        "values": [item(row, column) for row in range(2) for column in range(2)],
        "rowCount": 2,
        "columnCount": 2,
    }


def _value_body(spec: SignalSpec) -> dict[str, Any]:
    if spec.name.startswith("Is"):
        return {"value": True}
    return {"value": f"{spec.name}-text"}


BODY_MAKERS: dict[type[Any], Callable[[SignalSpec], dict[str, Any]]] = {
    UnitValue: lambda spec: {"unit": spec.unit or "count", "value": 42.5},
    Value: _value_body,
    RangeBody: lambda spec: {
        "unit": "kilometers",
        "value": 320.5,
        "additionalValues": [
            {"type": "IDEAL_CONDITIONS", "value": 358.9},
            {"type": "RATED", "value": 336.5},
        ],
    },
    ValuesBody: lambda spec: {"values": [{"code": "P0456", "timestamp": "2026-04-18T09:12:00Z"}]},
    DoorsBody: lambda spec: _grid(
        lambda r, c: {"row": r, "column": c, "isOpen": r == 1 and c == 1, "isLocked": True}
    ),
    WindowsBody: lambda spec: _grid(lambda r, c: {"row": r, "column": c, "isOpen": False}),
    TiresBody: lambda spec: _grid(
        lambda r, c: {"row": r, "column": c, "tirePressure": 240.0 + r * 10 + c}
    ),
    LocationBody: lambda spec: {
        "latitude": 37.7749,
        "longitude": -122.4194,
        "heading": 270.5,
        "direction": "W",
        "locationType": "LAST_PARKED",
    },
    ChargeLimitsBody: lambda spec: {
        "values": [
            {"type": "GLOBAL", "limit": 80, "condition": None},
            {
                "type": "LOCATION",
                "limit": 90,
                "condition": {
                    "name": "Home",
                    "address": "123 Main St",
                    "latitude": 37.7749,
                    "longitude": -122.4194,
                },
            },
        ],
        "activeLimit": 90,
        "unit": "percent",
    },
    StatusBody: lambda spec: {"status": "OK", "description": f"{spec.name} fine"},
    OpenLockBody: lambda spec: {"isOpen": False, "isLocked": True},
    DriveModeBody: lambda spec: {"canonical": "COMFORT", "oemDisplayName": "Chill"},
    NominalCapacityBody: lambda spec: {
        "source": "SMARTCAR",
        "capacity": 75,
        "availableCapacities": [
            {"capacity": 60, "description": "Standard"},
            {"capacity": 75, "description": "Long Range"},
        ],
        "unit": "kilowatt-hours",
    },
    GenericBody: lambda spec: {"anything": [1, 2]},
}


def resource(
    code: str,
    body: Mapping[str, Any] | None = None,
    *,
    status: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON:API signal resource as ``GET /vehicles/{id}/signals`` sends it."""
    spec = CATALOGUE.get(code)
    attributes: dict[str, Any] = {
        "code": code,
        "name": spec.name if spec else "Thing",
        "group": spec.group if spec else "Future",
        "status": dict(status) if status is not None else {"value": "SUCCESS"},
    }
    if body is not None:
        attributes["body"] = dict(body)
    return {
        "id": code,
        "type": "signal",
        "attributes": attributes,
        "meta": dict(meta) if meta is not None else {"retrievedAt": MS, "oemUpdatedAt": MS - 1},
        "links": {"self": f"/vehicles/v1/signals/{code}"},
    }


def full_response(included: object = None) -> dict[str, Any]:
    data = [resource(code, BODY_MAKERS[spec.body_type](spec)) for code, spec in CATALOGUE.items()]
    payload: dict[str, Any] = {
        "data": data,
        "meta": {"pageNumber": 1, "pageSize": 100, "totalCount": len(data)},
        "links": {"self": "/vehicles/v1/signals"},
    }
    if included is not None:
        payload["included"] = included
    # Through JSON and back, so the test sees exactly what a response decodes to.
    return json.loads(json.dumps(payload))  # type: ignore[no-any-return]


VEHICLE_RESOURCE = {
    "id": "v1",
    "type": "vehicle",
    "attributes": {"make": "TESLA", "model": "Model 3", "year": 2023},
    "links": {"self": "/vehicles/v1"},
}


# ------------------------------------------------------------------ catalogue


def test_catalogue_is_exactly_the_reference_list() -> None:
    assert set(CATALOGUE) == REFERENCE_CODES
    assert len(CATALOGUE) == len(REFERENCE_CODES) == 94


def test_catalogue_entries_are_consistent() -> None:
    assert len(GROUPS) == 19
    assert {spec.group for spec in CATALOGUE.values()} == set(GROUPS)
    for code, spec in CATALOGUE.items():
        assert spec.code == code
        assert spec.group in GROUPS
        assert spec.name[:1].isupper(), spec  # PascalCase, written out
        assert spec.full_name == f"{spec.group}.{spec.name}"
        assert spec.body_type in BODY_MAKERS, spec
        assert spec.description, spec
        assert spec.unit is None or spec.unit.strip() == spec.unit != ""


@pytest.mark.parametrize("code", sorted(REFERENCE_CODES))
def test_every_code_round_trips_between_code_and_full_name(code: str) -> None:
    name = full_name_for(code)
    assert name is not None
    assert code_for(name) == code
    assert "." in name
    assert "-" not in name


@pytest.mark.parametrize(
    ("code", "full_name"),
    [
        ("tractionbattery-stateofcharge", "TractionBattery.StateOfCharge"),
        ("charge-ischargingcableconnected", "Charge.IsChargingCableConnected"),
        ("hvac-iscabinhvacactive", "HVAC.IsCabinHVACActive"),
        ("closure-islocked", "Closure.IsLocked"),
        ("odometer-traveleddistance", "Odometer.TraveledDistance"),
        ("location-preciselocation", "Location.PreciseLocation"),
        (
            "connectivitysoftware-currentfirmwareversion",
            "ConnectivitySoftware.CurrentFirmwareVersion",
        ),
        ("internalcombustionengine-fuellevel", "InternalCombustionEngine.FuelLevel"),
        ("lowvoltagebattery-stateofcharge", "LowVoltageBattery.StateOfCharge"),
        ("vehicleuseraccount-role", "VehicleUserAccount.Role"),
        ("vehicleidentification-vin", "VehicleIdentification.VIN"),
        ("diagnostics-evhvbattery", "Diagnostics.EVHVBattery"),
    ],
)
def test_known_pascal_case_names(code: str, full_name: str) -> None:
    assert full_name_for(code) == full_name
    assert code_for(full_name) == code


def test_code_for_follows_the_rule_for_unknown_names() -> None:
    assert code_for("Future.SomethingNew") == "future-somethingnew"
    assert code_for("  Charge.IsCharging ") == "charge-ischarging"
    assert code_for("closure-islocked") == "closure-islocked"  # already a code
    assert code_for("Closure-IsLocked") == "closure-islocked"
    assert full_name_for("future-somethingnew") is None
    for bad in ("", "Charge", "Charge.", ".IsCharging", "A.B.C", "-x", "x-"):
        with pytest.raises(ValueError, match=r"Group\.Name"):
            code_for(bad)


def test_constants_name_catalogue_codes() -> None:
    constants = {
        STATE_OF_CHARGE: UnitValue,
        IS_LOCKED: Value,
        ODOMETER: UnitValue,
        LOCATION: LocationBody,
        CHARGE_LIMITS: ChargeLimitsBody,
        IS_CHARGING: Value,
        RANGE: RangeBody,
        FUEL_LEVEL: UnitValue,
        DOORS: DoorsBody,
        TIRES: TiresBody,
    }
    for code, body_type in constants.items():
        assert CATALOGUE[code].body_type is body_type


def test_the_guide_lists_every_catalogue_signal() -> None:
    guide = (Path(__file__).parent.parent / "docs" / "guides" / "signals.md").read_text()
    for spec in CATALOGUE.values():
        row = f"| `{spec.code}` | {spec.full_name} | `{spec.body_type.__name__}` |"
        assert row in guide, f"docs/guides/signals.md lacks {spec.code}"


def test_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["x"] = CATALOGUE[IS_LOCKED]  # type: ignore[index]


# ------------------------------------------------------------ full responses


def test_full_response_parses_every_catalogue_code_into_its_body_class() -> None:
    signals = parse_signals(full_response(included={"vehicle": VEHICLE_RESOURCE}))
    assert list(signals) == list(CATALOGUE)
    for code, signal in signals.items():
        spec = CATALOGUE[code]
        assert type(signal.body) is spec.body_type, code
        assert signal.ok
        assert signal.status == "SUCCESS"
        assert signal.error is None
        assert (signal.name, signal.group) == (spec.name, spec.group)
        assert signal.full_name == spec.full_name
        assert signal.retrieved_at == WHEN
        assert signal.oem_updated_at == WHEN - dt.timedelta(milliseconds=1)
        assert signal.ingested_at is None
        assert signal.raw["id"] == code


def test_full_response_values() -> None:
    signals = parse_signals(full_response())
    assert signals.value(STATE_OF_CHARGE) == 42.5
    assert signals[STATE_OF_CHARGE].body == UnitValue(unit="percent", value=42.5)
    assert signals.value(IS_LOCKED) is True
    assert signals.value("vehicleidentification-vin") == "VIN-text"

    location = signals[LOCATION].body
    assert isinstance(location, LocationBody)
    assert (location.latitude, location.longitude, location.heading) == (
        37.7749,
        -122.4194,
        270.5,
    )
    assert (location.direction, location.location_type) == ("W", "LAST_PARKED")

    limits = signals[CHARGE_LIMITS].body
    assert isinstance(limits, ChargeLimitsBody)
    assert (limits.value, limits.active_limit, limits.global_limit, limits.unit) == (
        90,
        90,
        80,
        "percent",
    )
    home = limits.values[1].condition
    assert home is not None
    assert (home.name, home.latitude) == ("Home", 37.7749)
    assert limits.values[0].condition is None

    range_ = signals[RANGE].body
    assert isinstance(range_, RangeBody)
    assert (range_.value, range_.estimate("rated"), range_.estimate("nope")) == (
        320.5,
        336.5,
        None,
    )

    doors = signals[DOORS].body
    assert isinstance(doors, DoorsBody)
    assert (doors.row_count, doors.column_count, len(doors.values)) == (2, 2, 4)
    rear_right = doors.at(1, 1)
    assert rear_right is not None
    assert rear_right.is_open
    assert rear_right.is_locked
    assert doors.at(5, 5) is None

    tires = signals[TIRES].body
    assert isinstance(tires, TiresBody)
    front_right = tires.at(0, 1)
    assert front_right is not None
    assert front_right.tire_pressure == 241.0

    abs_ = signals["diagnostics-abs"].body
    assert isinstance(abs_, StatusBody)
    assert (abs_.status, abs_.is_alert, abs_.value) == ("OK", False, "OK")

    capacity = signals["tractionbattery-nominalcapacity"].body
    assert isinstance(capacity, NominalCapacityBody)
    assert capacity.value == 75
    assert [c.description for c in capacity.available_capacities] == ["Standard", "Long Range"]

    drive = signals["transmission-drivemode"].body
    assert isinstance(drive, DriveModeBody)
    assert (drive.value, drive.oem_display_name) == ("COMFORT", "Chill")

    trunk = signals["closure-reartrunk"].body
    assert trunk == OpenLockBody(is_open=False, is_locked=True)

    dtcs = signals["diagnostics-dtclist"].body
    assert isinstance(dtcs, ValuesBody)
    assert dtcs.values[0]["code"] == "P0456"


def test_every_emulator_body_parses_into_its_catalogue_class() -> None:
    # The emulator is the other producer of signal JSON in this project; its bodies
    # must fit the SDK's typed shapes, or users' tests would see GenericBody.
    from smartcar_async.testing import SmartcarEmulator

    emulator = SmartcarEmulator(vehicles=6, seed=3)
    seen: set[str] = set()
    for car in emulator.fleet():
        for code, body in emulator.signals(car.vehicle_id).items():
            signal = parse_signal(resource(code, body))
            assert type(signal.body) is CATALOGUE[code].body_type, (code, body)
            seen.add(code)
    assert len(seen) > 60


# ------------------------------------------------------------ single signals


ODOMETER_RESOURCE = resource(ODOMETER, {"unit": "kilometers", "value": 115071.5})


def test_single_signal_bare_and_wrapped_in_data_are_the_same() -> None:
    bare = parse_signal(ODOMETER_RESOURCE)
    wrapped = parse_signal({"data": ODOMETER_RESOURCE})
    assert bare == wrapped
    assert bare.body == UnitValue(unit="kilometers", value=115071.5)
    assert wrapped.raw is ODOMETER_RESOURCE  # the resource, not the envelope
    assert bare.retrieved_at == WHEN


def test_code_falls_back_to_the_resource_id() -> None:
    item = copy.deepcopy(ODOMETER_RESOURCE)
    del item["attributes"]["code"]
    assert parse_signal(item).code == ODOMETER
    assert parse_signal({"id": "closure-islocked", "body": {"value": True}}).body == Value(
        value=True
    )


def test_name_and_group_come_from_the_catalogue_when_missing() -> None:
    signal = parse_signal({"code": "hvac-iscabinhvacactive", "body": {"value": False}})
    assert (signal.group, signal.name) == ("HVAC", "IsCabinHVACActive")
    assert signal.full_name == "HVAC.IsCabinHVACActive"
    unknown = parse_signal({"code": "future-thing", "body": {"value": 1}})
    assert (unknown.group, unknown.name, unknown.full_name) == (None, None, None)


def test_unknown_code_and_inferred_bodies() -> None:
    def body_of(body: Mapping[str, Any]) -> object:
        return parse_signal(resource("future-thing", body)).body

    assert body_of({"unit": "bar", "value": 2.4}) == UnitValue(unit="bar", value=2.4)
    assert body_of({"value": 3}) == UnitValue(value=3)
    assert body_of({"value": "ON"}) == Value(value="ON")
    assert body_of({"value": True}) == Value(value=True)
    assert body_of({"values": [1, 2], "rowCount": 1}) == ValuesBody(values=(1, 2), row_count=1)
    assert body_of({"unit": "x", "value": "y"}) == GenericBody(data={"unit": "x", "value": "y"})
    assert body_of({"value": [1]}) == GenericBody(data={"value": [1]})
    assert body_of({"latitude": 1.0, "longitude": 2.0}) == GenericBody(
        data={"latitude": 1.0, "longitude": 2.0}
    )
    assert body_of({}) == GenericBody(data={})
    signal = parse_signal(resource("future-thing", {"value": 3}))
    assert (signal.code, signal.status, signal.name, signal.group) == (
        "future-thing",
        "SUCCESS",
        "Thing",
        "Future",
    )


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (STATE_OF_CHARGE, {"unit": "percent", "value": "80"}),
        (STATE_OF_CHARGE, {"unit": 5, "value": 80}),
        (STATE_OF_CHARGE, {"unit": "percent"}),
        (IS_LOCKED, {"value": {"nested": True}}),
        (LOCATION, {"latitude": "37.7", "longitude": -122.4}),
        (LOCATION, {"heading": 5}),
        (DOORS, {"values": [{"row": 0, "column": 0, "isOpen": "no"}]}),
        (DOORS, {"values": ["door"]}),
        (DOORS, {"rowCount": 2}),
        (TIRES, {"values": 4}),
        (CHARGE_LIMITS, {"values": [{"type": "GLOBAL", "limit": True}]}),
        (CHARGE_LIMITS, {"unit": "percent"}),
        (RANGE, {"value": 3, "additionalValues": "many"}),
        ("diagnostics-abs", {"status": ["OK"]}),
        ("diagnostics-dtclist", {"values": "P0456"}),
        ("closure-sunroof", {"isOpen": 1}),
        ("transmission-drivemode", {"canonical": 3}),
        ("tractionbattery-nominalcapacity", {"capacity": "75"}),
        ("diagnostics-dtccount", {"value": float("inf"), "unit": []}),
    ],
)
def test_a_body_of_the_wrong_shape_becomes_generic(code: str, body: dict[str, Any]) -> None:
    signal = parse_signal(resource(code, body))
    assert signal.body == GenericBody(data=body)
    assert isinstance(signal.body, GenericBody)
    assert signal.body.data is signal.body.raw
    assert signal.ok


def test_nested_list_bodies_seen_in_client_fixtures_are_read() -> None:
    limits = parse_signal(
        resource(CHARGE_LIMITS, {"values": {"activeLimit": 80, "values": [{"type": "global"}]}})
    ).body
    assert isinstance(limits, ChargeLimitsBody)
    assert (limits.active_limit, limits.values[0].type, limits.global_limit) == (
        80,
        "global",
        None,
    )
    doors = parse_signal(
        resource(
            DOORS,
            {
                "values": {
                    "rowCount": 2,
                    "columnCount": 2,
                    "doors": [{"row": 0, "column": 0, "isOpen": False, "isLocked": True}],
                }
            },
        )
    ).body
    assert isinstance(doors, DoorsBody)
    assert (doors.row_count, doors.values[0].is_locked) == (2, True)


def test_integral_floats_are_accepted_as_grid_positions() -> None:
    body = parse_signal(resource(TIRES, {"values": [{"row": 1.0, "column": 0, "tirePressure": 2}]}))
    assert isinstance(body.body, TiresBody)
    assert body.body.values[0].row == 1
    assert type(body.body.values[0].row) is int


def test_body_absent_or_not_an_object() -> None:
    assert parse_signal(resource(ODOMETER)).body is None
    for odd in (None, [1, 2], 5, "x"):
        item = resource(ODOMETER)
        item["attributes"]["body"] = odd
        assert parse_signal(item).body is None


# ---------------------------------------------------------------- statuses


def test_a_signal_error_is_read_like_a_webhook_vehicle_error() -> None:
    # One reader, one policy: codes sent as numbers are kept as text, in signals as in
    # VEHICLE_ERROR entries (and error responses).
    from smartcar_async.webhooks import VehicleErrorEvent, parse_event

    error = {"type": "COMPATIBILITY", "code": 12, "detail": "not here", "resolution": "X"}
    signal = parse_signal(resource(LOCATION, status={"value": "ERROR", "error": error}))
    event = parse_event(
        {"eventType": "VEHICLE_ERROR", "eventId": "e1", "data": {"errors": [error]}}
    )
    assert signal.error is not None
    assert (signal.error.code, signal.error.description, signal.error.resolution) == (
        "12",
        "not here",
        "X",
    )
    assert isinstance(event, VehicleErrorEvent)
    [entry] = event.errors
    assert signal.error.to_dict() == {
        key: value for key, value in entry.to_dict().items() if key in signal.error.to_dict()
    }


@pytest.mark.parametrize("value", ["ERROR", "UNAVAILABLE"])
def test_failed_signals_carry_their_error(value: str) -> None:
    status = {
        "value": value,
        "error": {
            "type": "COMPATIBILITY",
            "code": "VEHICLE_NOT_CAPABLE",
            "description": "This vehicle cannot report it.",
            "resolution": {"type": "CONTACT_SUPPORT"},
        },
    }
    signal = parse_signal(resource(LOCATION, status=status))
    assert signal.status == value
    assert not signal.ok
    assert signal.body is None
    assert signal.error is not None
    assert (signal.error.type, signal.error.code) == ("COMPATIBILITY", "VEHICLE_NOT_CAPABLE")
    assert signal.error.description == "This vehicle cannot report it."
    assert signal.error.resolution == "CONTACT_SUPPORT"
    assert signal.error.raw == status["error"]

    flat = parse_signal(
        {
            "code": LOCATION,
            "name": "PreciseLocation",
            "group": "Location",
            "status": {"value": value, "error": {"type": "PERMISSION", "code": None}},
        }
    )
    assert flat.status == value
    assert flat.error is not None
    assert (flat.error.type, flat.error.code) == ("PERMISSION", None)


def test_status_variants() -> None:
    def status_of(status: object) -> Signal:
        item = resource(IS_LOCKED, {"value": True})
        item["attributes"]["status"] = status
        return parse_signal(item)

    assert status_of({"value": "RATE_LIMITED"}).status == "RATE_LIMITED"  # unknown: kept
    assert status_of({"value": "error"}).status == "ERROR"  # known: canonical case
    assert status_of("UNAVAILABLE").status == "UNAVAILABLE"
    assert status_of({"error": {"type": "X"}}).status == "ERROR"
    assert status_of({}).status == "SUCCESS"
    assert status_of(None).status == "SUCCESS"
    assert status_of(7).status == "SUCCESS"
    assert status_of({"value": "SUCCESS", "error": {"type": "X"}}).error is None
    unknown = status_of({"value": "THROTTLED", "error": {"type": "RATE_LIMIT"}})
    assert unknown.error is not None
    assert unknown.error.type == "RATE_LIMIT"
    bare_error = status_of({"value": "ERROR"})
    assert bare_error.error is None
    assert not bare_error.ok


def test_status_defaults_to_success_when_absent() -> None:
    signal = parse_signal({"code": IS_CHARGING, "body": {"value": False}})
    assert signal.status == "SUCCESS"
    assert signal.ok


# ---------------------------------------------------- webhook form and timestamps


def test_webhook_flat_form_with_fetched_at_and_with_retrieved_at() -> None:
    base = {
        "code": STATE_OF_CHARGE,
        "name": "StateOfCharge",
        "group": "TractionBattery",
        "body": {"unit": "percent", "value": 78},
    }
    fetched = parse_signal({**base, "meta": {"oemUpdatedAt": MS - 5000, "fetchedAt": MS}})
    retrieved = parse_signal({**base, "meta": {"oemUpdatedAt": MS - 5000, "retrievedAt": MS}})
    assert fetched == retrieved
    assert fetched.retrieved_at == retrieved.retrieved_at == WHEN
    assert fetched.oem_updated_at == WHEN - dt.timedelta(seconds=5)
    assert fetched.body == UnitValue(unit="percent", value=78)
    both = parse_signal({**base, "meta": {"retrievedAt": MS, "fetchedAt": 1}})
    assert both.retrieved_at == WHEN  # retrievedAt wins


@pytest.mark.parametrize(
    "stamp",
    [
        MS,
        MS / 1000,
        str(MS),
        "2025-07-09T23:36:58.549Z",
        "2025-07-09T23:36:58.549+00:00",
        "2025-07-10T01:36:58.549+02:00",
    ],
)
def test_timestamps_in_seconds_milliseconds_or_iso(stamp: object) -> None:
    signal = parse_signal(resource(ODOMETER, meta={"retrievedAt": stamp, "ingestedAt": stamp}))
    assert signal.retrieved_at == WHEN
    assert signal.ingested_at == WHEN
    assert signal.retrieved_at is not None
    assert signal.retrieved_at.tzinfo is not None


def test_seconds_and_milliseconds_give_the_same_instant() -> None:
    seconds = parse_signal(resource(ODOMETER, meta={"retrievedAt": 1696156800}))
    millis = parse_signal(resource(ODOMETER, meta={"retrievedAt": 1696156800000}))
    assert (
        seconds.retrieved_at == millis.retrieved_at == dt.datetime(2023, 10, 1, 10, 40, tzinfo=UTC)
    )


@pytest.mark.parametrize("stamp", ["²", "soon", "", True, [1], {"a": 1}, 10**400, -(10**30), 1e300])
def test_unreadable_timestamps_become_none(stamp: object) -> None:
    signal = parse_signal(resource(ODOMETER, meta={"retrievedAt": stamp, "oemUpdatedAt": stamp}))
    assert signal.retrieved_at is None
    assert signal.oem_updated_at is None


def test_meta_absent_or_odd() -> None:
    odd_metas: list[object] = [None, [], "x", {}]
    for meta in odd_metas:
        item = resource(ODOMETER)
        item["meta"] = meta
        signal = parse_signal(item)
        assert signal.retrieved_at is None
        assert signal.oem_updated_at is None


def test_shared_timestamps_in_a_response_are_converted_consistently() -> None:
    payload = {
        "data": [
            resource(ODOMETER, {"value": 1}, meta={"retrievedAt": MS, "oemUpdatedAt": 1}),
            resource(IS_LOCKED, {"value": True}, meta={"retrievedAt": MS, "oemUpdatedAt": True}),
            resource(RANGE, {"value": 2}, meta={"retrievedAt": str(MS), "oemUpdatedAt": 1.0}),
        ]
    }
    signals = parse_signals(payload)
    assert {s.retrieved_at for s in signals.values()} == {WHEN}
    one_second = dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    # True must not share a cache entry with 1 (they are equal as dict keys).
    assert [s.oem_updated_at for s in signals.values()] == [one_second, None, one_second]


# ----------------------------------------------------------------- included


def test_included_as_an_object() -> None:
    signals = parse_signals(full_response(included={"vehicle": VEHICLE_RESOURCE}))
    assert signals.vehicle is not None
    assert (signals.vehicle.id, signals.vehicle.make, signals.vehicle.model) == (
        "v1",
        "TESLA",
        "Model 3",
    )
    assert signals.vehicle.year == 2023


def test_included_as_a_json_api_list() -> None:
    other = {"id": "u1", "type": "user", "attributes": {"make": "nope"}}
    signals = parse_signals(full_response(included=[other, VEHICLE_RESOURCE]))
    assert signals.vehicle is not None
    assert (signals.vehicle.id, signals.vehicle.make, signals.vehicle.year) == ("v1", "TESLA", 2023)


def test_included_absent_or_odd() -> None:
    assert parse_signals(full_response()).vehicle is None
    for included in ([], {}, "x", [1, "a"], {"vehicle": "v1"}, [{"type": "user"}]):
        assert parse_signals({"data": [], "included": included}).vehicle is None


def test_included_vehicle_flat_and_year_as_text() -> None:
    flat = {"vehicle": {"id": "v2", "make": "BYD", "model": "Seal", "year": "2025"}}
    vehicle = parse_signals({"data": [], "included": flat}).vehicle
    assert vehicle is not None
    assert (vehicle.make, vehicle.year, vehicle.powertrain_type) == ("BYD", 2025, None)
    odd = {"vehicle": {"id": 5, "attributes": {"year": "twenty", "make": 3, "mode": "live"}}}
    vehicle = parse_signals({"data": [], "included": odd}).vehicle
    assert vehicle is not None
    assert (vehicle.id, vehicle.year, vehicle.make, vehicle.mode) == (None, None, None, "live")


# ---------------------------------------------------------- not signals at all


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        "closure-islocked",
        5,
        {},
        {"body": {"value": 1}},
        {"code": "", "body": {"value": 1}},
        {"code": 5},
        {"data": []},
        {"data": {"attributes": {}}},
        {"id": "v1", "type": "vehicle", "attributes": {"make": "TESLA"}},
        {"data": {"id": "c1", "type": "connection", "attributes": {"code": "x"}}},
    ],
)
def test_what_is_not_a_signal_raises_api_response_error(obj: Any) -> None:
    with pytest.raises(APIResponseError, match="not a signal"):
        parse_signal(obj)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "x",
        5,
        {},
        {"data": {"id": "x"}},
        {"data": None},
        {"errors": [{"type": "SERVER"}]},
    ],
)
def test_what_is_not_a_signals_response_raises(payload: Any) -> None:
    with pytest.raises(APIResponseError):
        parse_signals(payload)


def test_one_non_signal_entry_fails_the_response_and_says_which() -> None:
    payload = full_response()
    payload["data"].insert(3, "closure-islocked")
    with pytest.raises(APIResponseError, match=r"data\[3\]"):
        parse_signals(payload)


def test_a_bare_list_of_signals_is_accepted() -> None:
    signals = parse_signals([ODOMETER_RESOURCE, {"code": IS_LOCKED, "body": {"value": True}}])
    assert list(signals) == [ODOMETER, IS_LOCKED]
    assert signals.raw == {
        "data": [ODOMETER_RESOURCE, {"code": IS_LOCKED, "body": {"value": True}}]
    }


# --------------------------------------------------------------- the mapping


def test_signals_is_a_read_only_mapping() -> None:
    payload = full_response()
    signals = parse_signals(payload)
    assert isinstance(signals, Mapping)
    assert len(signals) == len(CATALOGUE)
    assert STATE_OF_CHARGE in signals
    assert "nope" not in signals
    assert 5 not in signals  # type: ignore[comparison-overlap]
    assert signals.get("nope") is None
    assert signals.get(STATE_OF_CHARGE) is signals[STATE_OF_CHARGE]
    with pytest.raises(KeyError):
        signals["nope"]
    with pytest.raises(TypeError):
        signals["x"] = signals[IS_LOCKED]  # type: ignore[index]
    with pytest.raises(AttributeError):
        signals.vehicle = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        signals.extra = 1  # type: ignore[attr-defined]
    assert signals.raw is payload
    assert signals == parse_signals(copy.deepcopy(payload))
    assert "Signals([" in repr(signals)
    assert "'data'" not in repr(signals)


def test_value_and_by_group() -> None:
    signals = parse_signals(
        [
            resource(STATE_OF_CHARGE, {"unit": "percent", "value": 80}),
            resource(RANGE, {"unit": "km", "value": 300, "additionalValues": []}),
            resource(CHARGE_LIMITS, {"values": [], "activeLimit": 85}),
            resource(LOCATION, {"latitude": 1, "longitude": 2}),
            resource("charge-ischarging", status={"value": "ERROR"}),
            resource("hvac-iscabinhvacactive", {"value": False}),
        ]
    )
    assert signals.value(STATE_OF_CHARGE) == 80
    assert signals.value(RANGE) == 300
    assert signals.value(CHARGE_LIMITS) == 85
    assert signals.value(LOCATION) is None  # a body without a value
    assert signals.value(IS_CHARGING) is None  # failed
    assert signals.value("hvac-iscabinhvacactive") is False
    assert signals.value("nope") is None
    assert [s.code for s in signals.by_group("TractionBattery")] == [STATE_OF_CHARGE, RANGE]
    assert [s.code for s in signals.by_group("tractionbattery")] == [STATE_OF_CHARGE, RANGE]
    assert [s.code for s in signals.by_group("HVAC")] == ["hvac-iscabinhvacactive"]
    assert signals.by_group("Charge")[0].code == CHARGE_LIMITS
    assert signals.by_group("Nope") == ()


def test_signals_built_by_hand() -> None:
    first = parse_signal({"code": IS_LOCKED, "body": {"value": True}})
    second = parse_signal({"code": IS_LOCKED, "body": {"value": False}})
    signals = Signals([first, second])
    assert signals.value(IS_LOCKED) is False  # the later one wins
    assert signals.vehicle is None
    assert signals.raw == {}
    assert len(Signals()) == 0


def test_raw_is_kept_but_stays_out_of_repr_and_equality() -> None:
    signal = parse_signal(ODOMETER_RESOURCE)
    assert signal.raw is ODOMETER_RESOURCE
    assert signal.body is not None
    assert signal.body.raw == ODOMETER_RESOURCE["attributes"]["body"]
    assert "links" not in repr(signal)
    changed = copy.deepcopy(ODOMETER_RESOURCE)
    changed["links"] = {"self": "elsewhere"}
    assert parse_signal(changed) == signal


def test_models_are_frozen() -> None:
    signal = parse_signal(ODOMETER_RESOURCE)
    with pytest.raises(AttributeError):
        signal.code = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        signal.body.value = 1  # type: ignore[union-attr,misc]


# ---------------------------------------------------------------- generated


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
CODES = st.one_of(st.sampled_from(sorted(CATALOGUE)), st.text(max_size=12), JSON)
KEYS = [
    "unit",
    "value",
    "values",
    "rowCount",
    "columnCount",
    "additionalValues",
    "activeLimit",
    "latitude",
    "longitude",
    "heading",
    "direction",
    "locationType",
    "status",
    "description",
    "isOpen",
    "isLocked",
    "canonical",
    "oemDisplayName",
    "source",
    "capacity",
    "availableCapacities",
]
ITEM = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        ("row", "column", "isOpen", "isLocked", "tirePressure", "type", "limit"), JSON
    )
    | {
        "condition": st.one_of(
            st.none(), st.dictionaries(st.sampled_from(["name", "latitude"]), JSON)
        )
    },
)
BODY = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {}, optional={k: st.one_of(JSON, st.lists(st.one_of(ITEM, JSON), max_size=3)) for k in KEYS}
    ),
)
FIELDS = {
    "code": CODES,
    "id": CODES,
    "name": JSON,
    "group": JSON,
    "type": st.one_of(st.just("signal"), JSON),
    "body": BODY,
    "status": st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "value": st.one_of(st.sampled_from(["SUCCESS", "ERROR", "UNAVAILABLE"]), JSON),
                "error": st.one_of(
                    st.fixed_dictionaries({}, optional={"type": JSON, "resolution": JSON}), JSON
                ),
            },
        ),
        JSON,
    ),
    "meta": st.one_of(
        st.fixed_dictionaries(
            {},
            optional=dict.fromkeys(
                ("retrievedAt", "fetchedAt", "oemUpdatedAt", "ingestedAt"), JSON
            ),
        ),
        JSON,
    ),
}
FLAT = st.fixed_dictionaries({}, optional=FIELDS)
RESOURCE = st.fixed_dictionaries(
    {},
    optional={
        "id": CODES,
        "type": FIELDS["type"],
        "attributes": st.one_of(FLAT, JSON),
        "meta": FIELDS["meta"],
    },
)
SIGNAL = st.one_of(FLAT, RESOURCE, st.fixed_dictionaries({"data": RESOURCE}), JSON)
PAYLOAD = st.one_of(
    st.fixed_dictionaries(
        {"data": st.one_of(st.lists(SIGNAL, max_size=4), JSON)},
        optional={
            "included": st.one_of(
                st.fixed_dictionaries({"vehicle": st.one_of(RESOURCE, JSON)}),
                st.lists(st.one_of(st.fixed_dictionaries({"type": st.just("vehicle")}), JSON)),
                JSON,
            )
        },
    ),
    st.lists(SIGNAL, max_size=3),
    JSON,
)
GENERATED = settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@GENERATED
@given(obj=SIGNAL)
def test_generated_signals_raise_only_api_response_error(obj: Any) -> None:
    try:
        signal = parse_signal(obj)
    except APIResponseError:
        return
    assert isinstance(signal, Signal)
    assert isinstance(signal.code, str)
    assert signal.code
    assert isinstance(signal.status, str)
    assert signal.body is None or hasattr(signal.body, "raw")
    repr(signal)
    assert signal == parse_signal(copy.deepcopy(obj))


@GENERATED
@given(payload=PAYLOAD)
def test_generated_payloads_raise_only_api_response_error(payload: Any) -> None:
    try:
        signals = parse_signals(payload)
    except APIResponseError:
        return
    assert all(isinstance(s, Signal) for s in signals.values())
    repr(signals)
    for code in signals:
        signals.value(code)


@GENERATED
@given(code=st.sampled_from(sorted(CATALOGUE)), body=BODY)
def test_generated_bodies_of_known_codes_never_fail_the_signal(code: str, body: Any) -> None:
    signal = parse_signal({"code": code, "body": body})
    if isinstance(body, Mapping):
        assert type(signal.body) in (CATALOGUE[code].body_type, GenericBody)
    else:
        assert signal.body is None


# ------------------------------------------------------------------ package layout


def test_doors_windows_and_tires_share_one_grid_type() -> None:
    from smartcar_async.signals import GridBody, GridCell

    grids = {
        DOORS: ({"row": 0, "column": 1, "isOpen": True, "isLocked": False}, "is_open", True),
        "closure-windows": ({"row": 0, "column": 1, "isOpen": True}, "is_open", True),
        TIRES: ({"row": 0, "column": 1, "tirePressure": 240.5}, "tire_pressure", 240.5),
    }
    for code, (cell, field, expected) in grids.items():
        body = parse_signal(
            {"code": code, "body": {"values": [cell], "rowCount": 1, "columnCount": 2}}
        ).body
        assert isinstance(body, GridBody), code
        assert (body.row_count, body.column_count) == (1, 2)
        found = body.at(0, 1)
        assert isinstance(found, GridCell)
        assert getattr(found, field) == expected
        assert found.raw == cell
        assert body.at(1, 0) is None


def test_tire_grid_keeps_its_unit_and_older_list_key() -> None:
    body = parse_signal(
        {"code": TIRES, "body": {"tires": [{"row": 0, "column": 0}], "unit": "kPa"}}
    ).body
    assert isinstance(body, TiresBody)
    assert body.unit == "kPa"
    assert len(body.values) == 1


def test_signals_package_exports_every_public_name_it_declares() -> None:
    import smartcar_async.signals as package

    for name in package.__all__:
        assert getattr(package, name) is not None, name
        assert not name.startswith("_")


# -- laziness: a Signal is built on first access, once ------------------------------


def _counting_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from smartcar_async.signals import _parse

    built: list[str] = []
    real = _parse.parse_one

    def counting(obj: object, cache: Any = None) -> Signal:
        signal = real(obj, cache)
        built.append(signal.code)
        return signal

    monkeypatch.setattr(_parse, "parse_one", counting)
    return built


def _lazy_payload() -> list[dict[str, Any]]:
    return [
        resource(STATE_OF_CHARGE, {"unit": "percent", "value": 80}),
        resource(RANGE, {"unit": "km", "value": 300, "additionalValues": []}),
        resource(IS_LOCKED, {"value": True}),
        resource(ODOMETER, {"unit": "km", "value": 1000}),
        resource("closure-doors", {"values": []}),
    ]


def test_a_signal_is_built_on_first_access_and_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built = _counting_builds(monkeypatch)
    signals = parse_signals(_lazy_payload())
    # Parsing checks every entry but builds nothing; nor do the keys, len, in, repr.
    assert list(signals) == [STATE_OF_CHARGE, RANGE, IS_LOCKED, ODOMETER, "closure-doors"]
    assert len(signals) == 5
    assert IS_LOCKED in signals
    assert "nope" not in signals
    assert signals.get("nope") is None
    assert "Signals([" in repr(signals)
    assert built == []

    first = signals.get(STATE_OF_CHARGE)
    assert isinstance(first, Signal)
    assert signals[STATE_OF_CHARGE] is first
    assert signals.value(STATE_OF_CHARGE) == 80
    assert built == [STATE_OF_CHARGE]

    assert [s.code for s in signals.by_group("closure")] == [IS_LOCKED, "closure-doors"]
    assert signals.by_group("closure")[0] is signals[IS_LOCKED]
    assert built == [STATE_OF_CHARGE, IS_LOCKED, "closure-doors"]

    # Iterating values builds the rest, each once.
    assert all(isinstance(s, Signal) for s in signals.values())
    assert list(signals.values()) == [signals[code] for code in signals]
    assert sorted(built) == sorted(signals)


def test_lazy_signals_equal_the_eager_ones_with_the_same_types() -> None:
    payload = {"data": _lazy_payload(), "included": {"vehicle": {"id": "v", "make": "TESLA"}}}
    lazy = parse_signals(payload)
    eager = Signals(
        [parse_signal(item) for item in payload["data"]], vehicle=lazy.vehicle, raw=payload
    )
    assert lazy == eager
    assert eager == lazy
    assert dict(lazy.items()) == dict(eager.items())
    assert [type(s.body) for s in lazy.values()] == [type(s.body) for s in eager.values()]
    assert lazy.by_group("TractionBattery") == eager.by_group("TractionBattery")
    assert lazy.value(RANGE) == eager.value(RANGE) == 300
    # Unequal once any signal differs, built or not.
    changed = copy.deepcopy(payload)
    changed["data"][3]["attributes"]["body"]["value"] = 1001
    assert parse_signals(changed) != lazy


def test_a_repeated_code_keeps_its_first_place_and_its_last_reading() -> None:
    payload = [
        resource(IS_LOCKED, {"value": True}),
        resource(ODOMETER, {"unit": "km", "value": 1}),
        resource(IS_LOCKED, {"value": False}),
    ]
    signals = parse_signals(payload)
    assert list(signals) == [IS_LOCKED, ODOMETER]
    assert signals.value(IS_LOCKED) is False
    eager = Signals([parse_signal(item) for item in payload])
    assert list(eager) == list(signals)
    assert eager == signals


def test_an_entry_that_is_no_signal_still_fails_the_parse_at_once() -> None:
    with pytest.raises(APIResponseError, match=r"data\[1\]: not a signal"):
        parse_signals([resource(IS_LOCKED, {"value": True}), {"type": "vehicle", "id": "x"}])
    with pytest.raises(APIResponseError, match=r"data\[0\]: not a signal"):
        parse_signals([42])

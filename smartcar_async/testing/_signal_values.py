"""Initial signal values: a plausible reading for every catalogue signal a vehicle has.

The codes, groups, names and units come from `smartcar_async.signals.CATALOGUE`; this
module only decides values. They hang together per vehicle (state of charge, range and
charge limit agree; doors agree with ``closure-islocked``; an EV has no engine signals,
an ICE or HEV no ``charge-*`` or ``tractionbattery-*``), and each vehicle's values come
from its own seeded generator, so they do not depend on which vehicle was read first.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..signals import CATALOGUE, SignalSpec
from ._state import SignalState, Vehicle

__all__ = ["applies", "catalogue_codes", "describe", "generate_signals"]

Body = dict[str, Any]

_CHARGING_GROUPS = frozenset({"charge", "tractionbattery"})
_ENGINE_GROUPS = frozenset({"internalcombustionengine"})
_EV_DIAGNOSTICS = frozenset(
    {
        "diagnostics-evbatteryconditioning",
        "diagnostics-evcharging",
        "diagnostics-evdriveunit",
        "diagnostics-evhvbattery",
    }
)
_ENGINE_DIAGNOSTICS = frozenset(
    {
        "diagnostics-emissions",
        "diagnostics-mil",
        "diagnostics-oillife",
        "diagnostics-oilpressure",
        "diagnostics-oiltemperature",
        "diagnostics-waterinfuel",
    }
)

# (city, latitude, longitude): where the fleet lives.
_CITIES = (
    ("San Francisco", 37.7749, -122.4194),
    ("Los Angeles", 34.0522, -118.2437),
    ("Seattle", 47.6062, -122.3321),
    ("Austin", 30.2672, -97.7431),
    ("Denver", 39.7392, -104.9903),
    ("Chicago", 41.8781, -87.6298),
    ("New York", 40.7128, -74.0060),
    ("Boston", 42.3601, -71.0589),
    ("Toronto", 43.6532, -79.3832),
    ("London", 51.5072, -0.1276),
    ("Berlin", 52.5200, 13.4050),
    ("Amsterdam", 52.3676, 4.9041),
    ("Oslo", 59.9139, 10.7522),
    ("Paris", 48.8566, 2.3522),
)
_COLORS = ("Pearl White", "Solid Black", "Midnight Silver", "Deep Blue", "Red Multi-Coat", "Gray")
_DIRECTIONS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
_WEEK = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def catalogue_codes() -> list[str]:
    """Every code in the catalogue, in catalogue order."""
    return list(CATALOGUE)


_described: dict[str, tuple[str, str]] = {}


def describe(code: str) -> tuple[str, str]:
    """(group, name) of a code: from the catalogue, else guessed from the code itself."""
    found = _described.get(code)
    if found is None:
        spec = CATALOGUE.get(code)
        if spec is not None:
            found = (spec.group, spec.name)
        else:
            group, _, name = code.partition("-")
            found = (group, name)
        _described[code] = found
    return found


def applies(code: str, group: str, vehicle: Vehicle) -> bool:
    """Whether a vehicle of this powertrain has this signal at all."""
    folded = group.lower()
    if folded in _CHARGING_GROUPS or code in _EV_DIAGNOSTICS:
        return vehicle.is_electric
    if folded in _ENGINE_GROUPS or code in _ENGINE_DIAGNOSTICS:
        return vehicle.has_engine
    return True


class _Car:
    """The few facts every value of one vehicle is derived from."""

    def __init__(self, vehicle: Vehicle, rng: random.Random) -> None:
        self.v = vehicle
        self.rng = rng
        age = max(0, 2026 - vehicle.year)
        self.odometer = round(rng.uniform(2_000, 9_000) + age * rng.uniform(8_000, 19_000), 1)
        self.city, lat, lon = rng.choice(_CITIES)
        self.home = (lat + rng.uniform(-0.08, 0.08), lon + rng.uniform(-0.08, 0.08))
        self.at_home = rng.random() < 0.6
        self.position = (
            self.home
            if self.at_home
            else (self.home[0] + rng.uniform(-0.2, 0.2), self.home[1] + rng.uniform(-0.2, 0.2))
        )
        self.locked = rng.random() < 0.85
        self.outside = round(rng.uniform(-5, 32), 1)
        bev = vehicle.powertrain_type == "BEV"
        self.capacity = round(rng.uniform(58, 105) if bev else rng.uniform(11, 25), 1)
        self.limit = rng.choice((80, 80, 80, 85, 90, 100))
        self.soc = round(rng.uniform(15, self.limit), 1)
        self.efficiency = rng.uniform(5.2, 7.0)  # km per kWh
        self.plugged = vehicle.is_electric and rng.random() < 0.55
        self.charging = self.plugged and rng.random() < 0.5
        self.tank = rng.uniform(45, 80) if vehicle.has_engine else 0.0
        self.fuel = round(rng.uniform(8, 100), 1)
        self.connector = "NACS" if vehicle.make == "Tesla" else rng.choice(("J1772", "CCS1"))

    def unit(self, unit: str, value: Any) -> Body:
        return {"unit": unit, "value": value}

    def ok(self, description: str) -> Body:
        alert = self.rng.random() < 0.03
        return {"status": "ALERT" if alert else "OK", "description": description}


def _doors(c: _Car) -> Body:
    rows, columns = 2, 2
    return {
        "values": [
            {"row": r, "column": col, "isOpen": False, "isLocked": c.locked}
            for r in range(rows)
            for col in range(columns)
        ],
        "rowCount": rows,
        "columnCount": columns,
    }


def _windows(c: _Car) -> Body:
    return {
        "values": [
            {"row": r, "column": col, "isOpen": c.rng.random() < 0.03}
            for r in range(2)
            for col in range(2)
        ],
        "rowCount": 2,
        "columnCount": 2,
    }


def _tires(c: _Car) -> Body:
    return {
        "values": [
            {"row": r, "column": col, "tirePressure": round(c.rng.uniform(225, 260), 1)}
            for r in range(2)
            for col in range(2)
        ],
        "rowCount": 2,
        "columnCount": 2,
        "unit": "kilopascals",
    }


def _precise_location(c: _Car) -> Body:
    heading = round(c.rng.uniform(0, 359.9), 1)
    return {
        "latitude": round(c.position[0], 6),
        "longitude": round(c.position[1], 6),
        "heading": heading,
        "direction": _DIRECTIONS[int((heading + 22.5) // 45) % 8],
        "locationType": "LAST_PARKED",
    }


def _charge_limits(c: _Car) -> Body:
    return {
        "values": [{"type": "GLOBAL", "limit": c.limit, "condition": None}],
        "activeLimit": c.limit,
        "unit": "percent",
    }


def _charge_records(c: _Car) -> Body:
    records = []
    for n in range(c.rng.randint(1, 3)):
        start_soc = round(c.rng.uniform(10, 50))
        end_soc = min(100, start_soc + round(c.rng.uniform(20, 50)))
        energy = round((end_soc - start_soc) / 100 * c.capacity, 2)
        public = c.rng.random() < 0.3
        records.append(
            {
                "id": f"charge-{c.v.index}-{n}",
                "cost": {
                    "currency": "USD",
                    "energyAmount": round(energy * (0.45 if public else 0.17), 2),
                    "otherAmount": 0.0,
                },
                "startTime": f"2026-04-{20 + n:02d}T22:00:00.000Z",
                "endTime": f"2026-04-{21 + n:02d}T03:30:00.000Z",
                "location": {
                    "latitude": round(c.home[0], 5),
                    "longitude": round(c.home[1], 5),
                    "address": None if public else "Home",
                },
                "energyAdded": energy,
                "connectorType": c.connector,
                "isPublicCharger": public,
                "startStateOfCharge": start_soc,
                "endStateOfCharge": end_soc,
            }
        )
    return {"values": records}


def _charge_timers(c: _Car) -> Body:
    return {
        "values": [
            {
                "type": "GLOBAL",
                "condition": None,
                "schedules": [{"start": "23:00", "end": "06:00", "days": list(_WEEK)}],
                "departureTimers": [{"days": _WEEK[:5], "time": "07:30"}],
                "isOEMOptimizationEnabled": False,
            }
        ]
    }


def _traction_range(c: _Car) -> Body:
    estimated = round(c.capacity * c.soc / 100 * c.efficiency, 1)
    return {
        "unit": "kilometers",
        "value": estimated,
        "additionalValues": [
            {"type": "ESTIMATED", "value": estimated},
            {"type": "IDEAL_CONDITIONS", "value": round(estimated * 1.12, 1)},
            {"type": "RATED", "value": round(estimated * 1.05, 1)},
        ],
    }


def _nominal_capacity(c: _Car) -> Body:
    return {
        "source": "SMARTCAR",
        "capacity": c.capacity,
        "availableCapacities": [{"capacity": c.capacity, "description": "Standard"}],
        "unit": "kilowatt-hours",
    }


def _dtc_list(c: _Car) -> Body:
    count = 1 if c.rng.random() < 0.05 else 0
    return {"values": [{"code": "P0456", "timestamp": "2026-04-18T09:12:00.000Z"}][:count]}


def _service_records(c: _Car) -> Body:
    return {
        "values": [
            {
                "id": f"service-{c.v.index}-1",
                "cost": {"amount": round(c.rng.uniform(80, 400), 2), "currency": "USD"},
                "time": "2025-11-03T15:00:00.000Z",
                "tasks": [{"id": "tire-rotation", "description": "Tire rotation"}],
                "details": [{"id": "note", "description": "Routine maintenance"}],
                "odometer": round(c.odometer * 0.8, 1),
            }
        ]
    }


def _charging_status(c: _Car) -> Body:
    if c.charging:
        return {"value": "CHARGING"}
    return {"value": "FULLY_CHARGED" if c.plugged and c.soc >= c.limit - 0.5 else "NOT_CHARGING"}


_GENERATORS: dict[str, Callable[[_Car], Body]] = {
    # Charge
    "charge-amperage": lambda c: c.unit("amps", 32.0 if c.charging else 0.0),
    "charge-amperagemax": lambda c: c.unit("amps", 48.0),
    "charge-amperagerequested": lambda c: c.unit("amps", 32.0),
    "charge-activelimit": lambda c: c.unit("percent", c.limit),
    "charge-chargelimits": _charge_limits,
    "charge-chargeportstatuscolor": lambda c: {
        "value": "GREEN" if c.charging else ("BLUE" if c.plugged else "OFF")
    },
    # Range added per hour: 7.7 kW at the car's efficiency.
    "charge-chargerate": lambda c: c.unit(
        "km/h", round(7.7 * c.efficiency, 1) if c.charging else 0.0
    ),
    "charge-chargerecords": _charge_records,
    "charge-chargetimers": _charge_timers,
    "charge-chargerphases": lambda c: c.unit("count", 1),
    "charge-chargingconnectortype": lambda c: {"value": c.connector},
    "charge-detailedchargingstatus": _charging_status,
    "charge-energyadded": lambda c: c.unit(
        "kilowatt-hours", round(c.rng.uniform(1, 20), 2) if c.charging else 0.0
    ),
    "charge-fastchargertype": lambda c: {"value": "NACS" if c.v.make == "Tesla" else "CCS"},
    "charge-ischarging": lambda c: {"value": c.charging},
    "charge-ischargingcableconnected": lambda c: {"value": c.plugged},
    "charge-ischargingcablelatched": lambda c: {"value": c.plugged},
    "charge-ischargingportflapopen": lambda c: {"value": c.plugged},
    "charge-isfastchargerpresent": lambda c: {"value": False},
    "charge-timetocomplete": lambda c: c.unit(
        "minutes", round((c.limit - c.soc) / 100 * c.capacity / 7.7 * 60) if c.charging else 0
    ),
    "charge-voltage": lambda c: c.unit("volts", 240.0 if c.charging else 0.0),
    "charge-wattage": lambda c: c.unit("watts", 7680.0 if c.charging else 0.0),
    # Climate and HVAC
    "climate-externaltemperature": lambda c: c.unit("celsius", c.outside),
    "climate-internaltemperature": lambda c: c.unit(
        "celsius", round(c.outside + c.rng.uniform(0, 8), 1)
    ),
    "hvac-cabintargettemperature": lambda c: c.unit("celsius", c.rng.choice((20.0, 21.0, 22.0))),
    "hvac-iscabinhvacactive": lambda c: {"value": False},
    "hvac-isfrontdefrosteractive": lambda c: {"value": False},
    "hvac-isreardefrosteractive": lambda c: {"value": False},
    "hvac-issteeringheateractive": lambda c: {"value": False},
    # Closure
    "closure-doors": _doors,
    "closure-enginecover": lambda c: {"isOpen": False},
    "closure-fronttrunk": lambda c: {"isOpen": False, "isLocked": True},
    "closure-reartrunk": lambda c: {"isOpen": False, "isLocked": c.locked},
    "closure-tailgate": lambda c: {"isOpen": False, "isLocked": c.locked},
    "closure-islocked": lambda c: {"value": c.locked},
    "closure-sunroof": lambda c: {"isOpen": False},
    "closure-windows": _windows,
    # Connectivity
    "connectivitysoftware-currentfirmwareversion": lambda c: {
        "value": f"{c.rng.choice((2025, 2026))}.{c.rng.randint(1, 44)}.{c.rng.randint(1, 9)}"
    },
    "connectivitystatus-isasleep": lambda c: {"value": False},
    "connectivitystatus-isdigitalkeypaired": lambda c: {"value": c.rng.random() < 0.7},
    "connectivitystatus-isonline": lambda c: {"value": True},
    # Diagnostics
    "diagnostics-abs": lambda c: c.ok("Anti-lock braking system"),
    "diagnostics-activesafety": lambda c: c.ok("Active safety systems"),
    "diagnostics-airbag": lambda c: c.ok("Airbag system"),
    "diagnostics-brakefluid": lambda c: c.ok("Brake fluid level"),
    "diagnostics-driverassistance": lambda c: c.ok("Driver assistance"),
    "diagnostics-evbatteryconditioning": lambda c: c.ok("Battery conditioning"),
    "diagnostics-evcharging": lambda c: c.ok("Charging system"),
    "diagnostics-evdriveunit": lambda c: c.ok("Electric drive unit"),
    "diagnostics-evhvbattery": lambda c: c.ok("High-voltage battery"),
    "diagnostics-emissions": lambda c: c.ok("Emissions system"),
    "diagnostics-lighting": lambda c: c.ok("Exterior lighting"),
    "diagnostics-mil": lambda c: c.ok("Malfunction indicator lamp"),
    "diagnostics-oillife": lambda c: c.ok("Engine oil life"),
    "diagnostics-oilpressure": lambda c: c.ok("Engine oil pressure"),
    "diagnostics-oiltemperature": lambda c: c.ok("Engine oil temperature"),
    "diagnostics-telematics": lambda c: c.ok("Telematics unit"),
    "diagnostics-tirepressure": lambda c: c.ok("Tire pressure"),
    "diagnostics-tirepressuremonitoring": lambda c: c.ok("Tire pressure monitoring"),
    "diagnostics-transmission": lambda c: c.ok("Transmission"),
    "diagnostics-washerfluid": lambda c: c.ok("Washer fluid level"),
    "diagnostics-waterinfuel": lambda c: c.ok("Water in fuel"),
    "diagnostics-dtccount": lambda c: c.unit("count", 0),
    "diagnostics-dtclist": _dtc_list,
    # Internal combustion engine
    "internalcombustionengine-amountremaining": lambda c: c.unit(
        "liters", round(c.tank * c.fuel / 100, 1)
    ),
    "internalcombustionengine-fuellevel": lambda c: c.unit("percent", c.fuel),
    "internalcombustionengine-oillife": lambda c: c.unit("percent", round(c.rng.uniform(20, 95))),
    "internalcombustionengine-range": lambda c: c.unit(
        "kilometers", round(c.tank * c.fuel / 100 * c.rng.uniform(11, 16), 1)
    ),
    # Location, motion, odometer
    "location-isathome": lambda c: {"value": c.at_home},
    "location-preciselocation": _precise_location,
    "motion-currentspeed": lambda c: c.unit("kph", 0.0),
    "odometer-traveleddistance": lambda c: c.unit("kilometers", c.odometer),
    # Low-voltage battery
    "lowvoltagebattery-stateofcharge": lambda c: c.unit(
        "percent", round(c.rng.uniform(70, 100), 1)
    ),
    "lowvoltagebattery-status": lambda c: {"value": "GOOD" if c.rng.random() < 0.95 else "WARN"},
    # Service and surveillance
    "service-isinservice": lambda c: {"value": False},
    "service-records": _service_records,
    "surveillance-isenabled": lambda c: {"value": c.rng.random() < 0.4},
    "surveillance-brand": lambda c: {
        "value": "Sentry Mode" if c.v.make == "Tesla" else "Guard Mode"
    },
    # Traction battery
    "tractionbattery-isheateractive": lambda c: {"value": c.outside < 0 and c.charging},
    "tractionbattery-maxrangechargecounter": lambda c: c.unit("count", c.rng.randint(0, 12)),
    "tractionbattery-nominalcapacity": _nominal_capacity,
    "tractionbattery-range": _traction_range,
    "tractionbattery-stateofcharge": lambda c: c.unit("percent", c.soc),
    # Transmission
    "transmission-gearstate": lambda c: {"value": "PARK"},
    "transmission-drivemode": lambda c: {"canonical": "NORMAL", "oemDisplayName": "Standard"},
    # Identification and account
    "vehicleidentification-nickname": lambda c: {"value": f"{c.v.make} {c.v.model}"},
    "vehicleidentification-vin": lambda c: {"value": c.v.vin},
    "vehicleidentification-exteriorcolor": lambda c: {"value": c.rng.choice(_COLORS)},
    "vehicleidentification-trim": lambda c: {
        "value": c.rng.choice(("Standard", "Long Range", "Performance", "Premium"))
    },
    "vehicleidentification-packages": lambda c: {"values": ["Premium Connectivity"]},
    "vehicleuseraccount-permissions": lambda c: {"values": ["REMOTE_ACCESS", "LOCATION"]},
    "vehicleuseraccount-role": lambda c: {"value": "OWNER"},
    # Wheel
    "wheel-tires": _tires,
    "wheel-style": lambda c: {"value": c.rng.choice(('19" Sport', '18" Aero', '20" Induction'))},
}


def _fallback(spec: SignalSpec) -> Body:
    """A value for a catalogue code this module has no rule for (a signal added later)."""
    if spec.unit:
        return {"unit": spec.unit, "value": 0}
    if spec.name.startswith(("Is", "Has")):
        return {"value": False}
    return {"value": "UNKNOWN"}


def generate_signals(vehicle: Vehicle, seed: int, epoch_ms: int) -> dict[str, SignalState]:
    """Every catalogue signal this vehicle's powertrain has, with values and timestamps.

    Smartcar fetches a vehicle's signals together, so they share ``retrievedAt``; each
    signal's ``oemUpdatedAt`` is when the vehicle last reported that value, earlier.
    """
    rng = random.Random(f"{seed}:signals:{vehicle.index}")
    car = _Car(vehicle, rng)
    retrieved = epoch_ms - rng.randint(60_000, 6 * 3600_000)
    signals: dict[str, SignalState] = {}
    for code, spec in CATALOGUE.items():
        if not applies(code, spec.group, vehicle):
            continue
        generator = _GENERATORS.get(code)
        body = generator(car) if generator is not None else _fallback(spec)
        if spec.unit and "unit" in body:
            # The catalogue names the unit the SDK documents; keep the two in step.
            body["unit"] = spec.unit
        oem_updated = retrieved - rng.randint(0, 12 * 3600_000)
        signals[code] = SignalState(body, retrieved, oem_updated)
    return signals

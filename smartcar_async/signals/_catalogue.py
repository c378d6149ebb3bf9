"""The v3 signal catalogue: every documented signal code, its group, name and body type.

Pure data and two name helpers; nothing here parses. Units follow the spellings the
API's examples use most.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from ._bodies import (
    ChargeLimitsBody,
    DoorsBody,
    DriveModeBody,
    LocationBody,
    NominalCapacityBody,
    OpenLockBody,
    RangeBody,
    SignalBody,
    StatusBody,
    TiresBody,
    UnitValue,
    Value,
    ValuesBody,
    WindowsBody,
)


@attrs.frozen(kw_only=True)
class SignalSpec:
    """What the SDK knows about one signal code, from Smartcar's signal schema.

    Attributes:
        code: the machine code used in paths and payloads.
        group: the PascalCase group (``"TractionBattery"``).
        name: the PascalCase name inside the group (``"StateOfCharge"``).
        body_type: the `SignalBody` class a body of this signal parses into.
        unit: the usual unit, or None; the API's own spelling may differ.
        description: a short explanation.

    Examples:
        >>> spec = CATALOGUE["tractionbattery-stateofcharge"]
        >>> spec.full_name, spec.body_type.__name__, spec.unit
        ('TractionBattery.StateOfCharge', 'UnitValue', 'percent')
    """

    code: str
    group: str
    name: str
    body_type: type[SignalBody]
    unit: str | None = None
    description: str = ""

    @property
    def full_name(self) -> str:
        """``"Group.Name"``, e.g. ``"Closure.IsLocked"``."""
        return f"{self.group}.{self.name}"


def code_for(full_name: str) -> str:
    """The signal code of a ``"Group.Name"``: both parts lower-cased, joined by ``-``.

    Works for names the catalogue does not know, by Smartcar's naming rule. A code
    given instead of a name comes back lower-cased.

    Raises:
        ValueError: ``full_name`` is neither ``"Group.Name"`` nor a code.

    Examples:
        >>> code_for("TractionBattery.StateOfCharge")
        'tractionbattery-stateofcharge'
    """
    group, dot, name = full_name.strip().partition(".")
    if dot:
        if group and name and "." not in name:
            return f"{group.lower()}-{name.lower()}"
    elif "-" in group and not group.startswith("-") and not group.endswith("-"):
        return group.lower()
    raise ValueError(f"not a signal name of the form 'Group.Name': {full_name!r}")


def full_name_for(code: str) -> str | None:
    """The ``"Group.Name"`` of a catalogue code, or None for a code it does not know.

    PascalCase cannot be recovered from a lower-case code, so this is a lookup.

    Examples:
        >>> full_name_for("hvac-iscabinhvacactive")
        'HVAC.IsCabinHVACActive'
    """
    spec = CATALOGUE.get(code)
    return spec.full_name if spec is not None else None


def _spec(
    group: str, name: str, body_type: type[SignalBody], unit: str | None, description: str
) -> SignalSpec:
    return SignalSpec(
        code=code_for(f"{group}.{name}"),
        group=group,
        name=name,
        body_type=body_type,
        unit=unit,
        description=description,
    )


#: The 19 signal groups of Smartcar's v3 schema.
GROUPS: Final[tuple[str, ...]] = (
    "Charge",
    "Climate",
    "Closure",
    "ConnectivitySoftware",
    "ConnectivityStatus",
    "Diagnostics",
    "HVAC",
    "InternalCombustionEngine",
    "Location",
    "LowVoltageBattery",
    "Motion",
    "Odometer",
    "Service",
    "Surveillance",
    "TractionBattery",
    "Transmission",
    "VehicleIdentification",
    "VehicleUserAccount",
    "Wheel",
)

# Units follow the spellings the API's examples use most; the API itself is not
# consistent ("km" and "kilometers" both occur), so these are a guide, not a promise.
_SPECS: tuple[SignalSpec, ...] = (
    # Charge
    _spec("Charge", "ActiveLimit", UnitValue, "percent", "Charge limit in force (older form)."),
    _spec("Charge", "Amperage", UnitValue, "amps", "Current flowing while charging."),
    _spec("Charge", "AmperageMax", UnitValue, "amps", "Highest current the charger offers."),
    _spec("Charge", "AmperageRequested", UnitValue, "amps", "Current the vehicle asks for."),
    _spec(
        "Charge",
        "ChargeLimits",
        ChargeLimitsBody,
        "percent",
        "Configured charge limits and the one in force.",
    ),
    _spec("Charge", "ChargePortStatusColor", Value, None, "Colour of the charge-port light."),
    _spec("Charge", "ChargeRate", UnitValue, "km/h", "Range added per hour of charging."),
    _spec("Charge", "ChargeRecords", ValuesBody, None, "Past charging sessions."),
    _spec("Charge", "ChargeTimers", ValuesBody, None, "Scheduled charging and departures."),
    _spec("Charge", "ChargerPhases", UnitValue, "count", "Phases the charger supplies."),
    _spec("Charge", "ChargingConnectorType", Value, None, "The vehicle's charging inlet."),
    _spec(
        "Charge",
        "DetailedChargingStatus",
        Value,
        None,
        "CHARGING, NOT_CHARGING or FULLY_CHARGED.",
    ),
    _spec("Charge", "EnergyAdded", UnitValue, "kilowatt-hours", "Energy added this session."),
    _spec("Charge", "FastChargerType", Value, None, "DC fast-charging standard in use."),
    _spec("Charge", "IsCharging", Value, None, "Whether the battery is charging."),
    _spec("Charge", "IsChargingCableConnected", Value, None, "Whether a cable is plugged in."),
    _spec("Charge", "IsChargingCableLatched", Value, None, "Whether the cable is locked in."),
    _spec("Charge", "IsChargingPortFlapOpen", Value, None, "Whether the port door is open."),
    _spec("Charge", "IsFastChargerPresent", Value, None, "Whether a DC charger is connected."),
    _spec("Charge", "TimeToComplete", UnitValue, "minutes", "Time left to the active limit."),
    _spec("Charge", "Voltage", UnitValue, "volts", "Voltage supplied while charging."),
    _spec("Charge", "Wattage", UnitValue, "watts", "Power delivered while charging."),
    # Climate
    _spec("Climate", "ExternalTemperature", UnitValue, "celsius", "Temperature outside the car."),
    _spec("Climate", "InternalTemperature", UnitValue, "celsius", "Temperature in the cabin."),
    # Closure
    _spec("Closure", "Doors", DoorsBody, None, "Open and locked state of each door."),
    _spec("Closure", "EngineCover", OpenLockBody, None, "Whether the hood is open."),
    _spec("Closure", "FrontTrunk", OpenLockBody, None, "Front trunk open and locked state."),
    _spec("Closure", "IsLocked", Value, None, "Whether the vehicle is locked."),
    _spec("Closure", "RearTrunk", OpenLockBody, None, "Rear trunk open and locked state."),
    _spec("Closure", "Sunroof", OpenLockBody, None, "Whether the sunroof is open."),
    _spec("Closure", "Tailgate", OpenLockBody, None, "Tailgate open and locked state."),
    _spec("Closure", "Windows", WindowsBody, None, "Open state of each window."),
    # Connectivity
    _spec(
        "ConnectivitySoftware",
        "CurrentFirmwareVersion",
        Value,
        None,
        "Installed software version.",
    ),
    _spec("ConnectivityStatus", "IsAsleep", Value, None, "Whether the vehicle is asleep."),
    _spec(
        "ConnectivityStatus",
        "IsDigitalKeyPaired",
        Value,
        None,
        "Whether a phone key is paired.",
    ),
    _spec("ConnectivityStatus", "IsOnline", Value, None, "Whether the vehicle is reachable."),
    # Diagnostics
    _spec("Diagnostics", "ABS", StatusBody, None, "Anti-lock braking system."),
    _spec("Diagnostics", "ActiveSafety", StatusBody, None, "Active safety systems."),
    _spec("Diagnostics", "Airbag", StatusBody, None, "Airbag readiness."),
    _spec("Diagnostics", "BrakeFluid", StatusBody, None, "Brake fluid condition."),
    _spec("Diagnostics", "DriverAssistance", StatusBody, None, "Driver assistance systems."),
    _spec("Diagnostics", "DTCCount", UnitValue, "count", "Number of active trouble codes."),
    _spec("Diagnostics", "DTCList", ValuesBody, None, "Active trouble codes and when seen."),
    _spec("Diagnostics", "Emissions", StatusBody, None, "Emission control system."),
    _spec(
        "Diagnostics",
        "EVBatteryConditioning",
        StatusBody,
        None,
        "Battery thermal management.",
    ),
    _spec("Diagnostics", "EVCharging", StatusBody, None, "EV charging system."),
    _spec("Diagnostics", "EVDriveUnit", StatusBody, None, "Electric drive unit."),
    _spec("Diagnostics", "EVHVBattery", StatusBody, None, "High-voltage battery health."),
    _spec("Diagnostics", "Lighting", StatusBody, None, "Exterior and interior lights."),
    _spec("Diagnostics", "MIL", StatusBody, None, "Malfunction indicator (check engine)."),
    _spec("Diagnostics", "OilLife", StatusBody, None, "Engine oil life warning."),
    _spec("Diagnostics", "OilPressure", StatusBody, None, "Engine oil pressure warning."),
    _spec("Diagnostics", "OilTemperature", StatusBody, None, "Engine oil temperature warning."),
    _spec("Diagnostics", "Telematics", StatusBody, None, "The vehicle's connectivity unit."),
    _spec("Diagnostics", "TirePressure", StatusBody, None, "Tire pressure warning."),
    _spec(
        "Diagnostics",
        "TirePressureMonitoring",
        StatusBody,
        None,
        "The tire pressure monitoring system itself.",
    ),
    _spec("Diagnostics", "Transmission", StatusBody, None, "Transmission system."),
    _spec("Diagnostics", "WasherFluid", StatusBody, None, "Washer fluid level."),
    _spec("Diagnostics", "WaterInFuel", StatusBody, None, "Water detected in the fuel."),
    # HVAC
    _spec("HVAC", "CabinTargetTemperature", UnitValue, "celsius", "Cabin temperature set point."),
    _spec("HVAC", "IsCabinHVACActive", Value, None, "Whether cabin climate is running."),
    _spec("HVAC", "IsFrontDefrosterActive", Value, None, "Whether the front defroster is on."),
    _spec("HVAC", "IsRearDefrosterActive", Value, None, "Whether the rear defroster is on."),
    _spec("HVAC", "IsSteeringHeaterActive", Value, None, "Whether the steering heater is on."),
    # Internal combustion engine
    _spec("InternalCombustionEngine", "AmountRemaining", UnitValue, "liters", "Fuel in the tank."),
    _spec("InternalCombustionEngine", "FuelLevel", UnitValue, "percent", "Fuel level of the tank."),
    _spec("InternalCombustionEngine", "OilLife", UnitValue, "percent", "Engine oil life left."),
    _spec("InternalCombustionEngine", "Range", UnitValue, "kilometers", "Range on fuel."),
    # Location
    _spec("Location", "IsAtHome", Value, None, "Whether the vehicle is at its home location."),
    _spec("Location", "PreciseLocation", LocationBody, None, "Coordinates and heading."),
    # Low-voltage battery
    _spec("LowVoltageBattery", "StateOfCharge", UnitValue, "percent", "12 V battery charge."),
    _spec("LowVoltageBattery", "Status", Value, None, "12 V battery health: GOOD, WARN, BAD."),
    # Motion, odometer
    _spec("Motion", "CurrentSpeed", UnitValue, "kph", "Current speed."),
    _spec("Odometer", "TraveledDistance", UnitValue, "kilometers", "Odometer reading."),
    # Service
    _spec("Service", "IsInService", Value, None, "Whether the vehicle is at a workshop."),
    _spec("Service", "Records", ValuesBody, None, "Past service visits."),
    # Surveillance
    _spec("Surveillance", "Brand", Value, None, "The maker's name for its guard mode."),
    _spec("Surveillance", "IsEnabled", Value, None, "Whether guard mode is on."),
    # Traction battery
    _spec("TractionBattery", "IsHeaterActive", Value, None, "Whether the battery is heated."),
    _spec(
        "TractionBattery",
        "MaxRangeChargeCounter",
        UnitValue,
        "count",
        "Charges to maximum range so far.",
    ),
    _spec(
        "TractionBattery",
        "NominalCapacity",
        NominalCapacityBody,
        "kilowatt-hours",
        "Rated battery capacity.",
    ),
    _spec("TractionBattery", "Range", RangeBody, "kilometers", "Range on the battery."),
    _spec("TractionBattery", "StateOfCharge", UnitValue, "percent", "Battery charge level."),
    # Transmission
    _spec("Transmission", "DriveMode", DriveModeBody, None, "Selected drive mode."),
    _spec("Transmission", "GearState", Value, None, "PARK, DRIVE, REVERSE or NEUTRAL."),
    # Vehicle identification
    _spec("VehicleIdentification", "ExteriorColor", Value, None, "Paint colour."),
    _spec("VehicleIdentification", "Nickname", Value, None, "Name the owner gave the car."),
    _spec("VehicleIdentification", "Packages", ValuesBody, None, "Option packages fitted."),
    _spec("VehicleIdentification", "Trim", Value, None, "Trim level."),
    _spec("VehicleIdentification", "VIN", Value, None, "Vehicle identification number."),
    # Vehicle user account
    _spec("VehicleUserAccount", "Permissions", ValuesBody, None, "What the account may do."),
    _spec("VehicleUserAccount", "Role", Value, None, "The account's role, e.g. OWNER."),
    # Wheel
    _spec("Wheel", "Style", Value, None, "Wheel design."),
    _spec("Wheel", "Tires", TiresBody, None, "Pressure of each tire."),
)

#: Every documented signal, by code, in group order.
CATALOGUE: Final[Mapping[str, SignalSpec]] = MappingProxyType({s.code: s for s in _SPECS})

#: ``tractionbattery-stateofcharge``: battery charge, `UnitValue` in percent.
STATE_OF_CHARGE: Final = "tractionbattery-stateofcharge"
#: ``tractionbattery-range``: range on the battery, `RangeBody`.
RANGE: Final = "tractionbattery-range"
#: ``closure-islocked``: `Value` with a bool.
IS_LOCKED: Final = "closure-islocked"
#: ``closure-doors``: `DoorsBody`.
DOORS: Final = "closure-doors"
#: ``odometer-traveleddistance``: `UnitValue`.
ODOMETER: Final = "odometer-traveleddistance"
#: ``location-preciselocation``: `LocationBody`.
LOCATION: Final = "location-preciselocation"
#: ``charge-chargelimits``: `ChargeLimitsBody`.
CHARGE_LIMITS: Final = "charge-chargelimits"
#: ``charge-ischarging``: `Value` with a bool.
IS_CHARGING: Final = "charge-ischarging"
#: ``charge-ischargingcableconnected``: `Value` with a bool.
IS_CHARGING_CABLE_CONNECTED: Final = "charge-ischargingcableconnected"
#: ``charge-detailedchargingstatus``: `Value`, ``CHARGING``/``NOT_CHARGING``/``FULLY_CHARGED``.
CHARGING_STATUS: Final = "charge-detailedchargingstatus"
#: ``internalcombustionengine-fuellevel``: `UnitValue` in percent.
FUEL_LEVEL: Final = "internalcombustionengine-fuellevel"
#: ``wheel-tires``: `TiresBody`.
TIRES: Final = "wheel-tires"
#: ``vehicleidentification-vin``: `Value` with the VIN.
VIN: Final = "vehicleidentification-vin"
#: ``connectivitystatus-isonline``: `Value` with a bool.
IS_ONLINE: Final = "connectivitystatus-isonline"
#: ``connectivitystatus-isasleep``: `Value` with a bool.
IS_ASLEEP: Final = "connectivitystatus-isasleep"

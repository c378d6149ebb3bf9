"""Vehicle signals: the v3 catalogue, typed signal bodies, and the parsers behind them.

Every reading the Vehicle API returns is a *signal*: a machine ``code``
(``tractionbattery-stateofcharge``), a human ``Group.Name``
(``TractionBattery.StateOfCharge``), a status, and a ``body`` whose shape depends on
the signal. This package knows the ~95 documented signals (`CATALOGUE`), turns each
body into a small typed object (`UnitValue`, `LocationBody`, `ChargeLimitsBody`...)
and parses both the ``/signals`` responses and the flat signals inside webhook events.

Import everything from here; the private modules behind it are ``_bodies`` (the body
classes), ``_body_parsers`` (JSON to body), ``_catalogue`` (the codes, pure data),
``_signal`` (the `Signal` and `Signals` types) and ``_parse`` (JSON to signals).

Parsing is tolerant where the API is loose and strict where it must be: an unknown
code, an unknown status or a body of an unexpected shape still parses (the body falls
back to `GenericBody`), while something that is not a signal at all raises
`smartcar_async.APIResponseError`.

Examples:
    >>> from smartcar_async import signals as sig
    >>> signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
    >>> signals.value(sig.STATE_OF_CHARGE)
    80
    >>> sig.CATALOGUE[sig.STATE_OF_CHARGE].full_name
    'TractionBattery.StateOfCharge'
"""

from __future__ import annotations

import attrs as _attrs

from ._bodies import (
    AvailableCapacity,
    ChargeLimit,
    ChargeLimitCondition,
    ChargeLimitsBody,
    Door,
    DoorsBody,
    DriveModeBody,
    GenericBody,
    GridBody,
    GridCell,
    LocationBody,
    NominalCapacityBody,
    OpenLockBody,
    RangeBody,
    RangeEstimate,
    SignalBody,
    StatusBody,
    Tire,
    TiresBody,
    UnitValue,
    Value,
    ValuesBody,
    Window,
    WindowsBody,
)
from ._catalogue import (
    CATALOGUE,
    CHARGE_LIMITS,
    CHARGING_STATUS,
    DOORS,
    FUEL_LEVEL,
    GROUPS,
    IS_ASLEEP,
    IS_CHARGING,
    IS_CHARGING_CABLE_CONNECTED,
    IS_LOCKED,
    IS_ONLINE,
    LOCATION,
    ODOMETER,
    RANGE,
    STATE_OF_CHARGE,
    TIRES,
    VIN,
    SignalSpec,
    code_for,
    full_name_for,
)
from ._parse import parse_signal, parse_signals
from ._signal import Signal, SignalError, Signals, SignalsVehicle, SignalValue

__all__ = [
    "CATALOGUE",
    "CHARGE_LIMITS",
    "CHARGING_STATUS",
    "DOORS",
    "FUEL_LEVEL",
    "GROUPS",
    "IS_ASLEEP",
    "IS_CHARGING",
    "IS_CHARGING_CABLE_CONNECTED",
    "IS_LOCKED",
    "IS_ONLINE",
    "LOCATION",
    "ODOMETER",
    "RANGE",
    "STATE_OF_CHARGE",
    "TIRES",
    "VIN",
    "AvailableCapacity",
    "ChargeLimit",
    "ChargeLimitCondition",
    "ChargeLimitsBody",
    "Door",
    "DoorsBody",
    "DriveModeBody",
    "GenericBody",
    "GridBody",
    "GridCell",
    "LocationBody",
    "NominalCapacityBody",
    "OpenLockBody",
    "RangeBody",
    "RangeEstimate",
    "Signal",
    "SignalBody",
    "SignalError",
    "SignalValue",
    "SignalSpec",
    "Signals",
    "SignalsVehicle",
    "StatusBody",
    "Tire",
    "TiresBody",
    "UnitValue",
    "Value",
    "ValuesBody",
    "Window",
    "WindowsBody",
    "code_for",
    "full_name_for",
    "parse_signal",
    "parse_signals",
]

# The classes read as smartcar_async.signals.X in reprs and tracebacks, not as the
# private module that defines them. All string annotations are resolved first (a
# subclass's include its base's), while __module__ still names the defining module.
_public_classes = [
    obj
    for obj in map(globals().__getitem__, __all__)
    if isinstance(obj, type) and obj.__module__.startswith(__name__ + "._")
]
for _cls in _public_classes:
    if _attrs.has(_cls):
        _attrs.resolve_types(_cls)
for _cls in _public_classes:
    _cls.__module__ = __name__
del _cls, _public_classes

"""Commands and charge schedules: what each validates, refuses, and changes.

Every check raises `Refusal` with the error the real API documents for it; the effects
are returned as new signal bodies, which the caller stores with fresh timestamps.
Checks run in this order: body (400), capability (501: an ICE never gets a charge
permission, and "cannot" says more than "not allowed"), permission (403), then vehicle
state (409).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._state import SignalState, Vehicle

__all__ = [
    "COMMANDS",
    "SCHEDULE_KINDS",
    "CommandSpec",
    "Refusal",
    "check_awake",
    "check_capable",
    "check_permission",
    "parse_attributes",
    "schedule_effects",
    "schedule_supported",
    "validate_schedule",
]

Bodies = dict[str, dict[str, Any]]
Signals = Mapping[str, SignalState]


class Refusal(Exception):
    """The request is refused with this v3 error."""

    def __init__(
        self, status: int, type_: str, code: str | None, detail: str, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type_
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


def _invalid(detail: str) -> Refusal:
    return Refusal(400, "VALIDATION", "PARAMETER", detail)


def parse_attributes(body: Any) -> dict[str, Any]:
    """``data.attributes`` of a request body, the documented envelope (reference §4.4)."""
    data = body.get("data") if isinstance(body, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        raise Refusal(
            400,
            "VALIDATION",
            "INVALID_INPUT_FORMAT",
            'The body must be {"data": {"attributes": {...}}}.',
        )
    return attributes


def _number(attributes: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = attributes.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"{key} is required and must be a number.")
    if not low <= value <= high:
        raise _invalid(f"{key} must be between {low:g} and {high:g}, got {value}.")
    return float(value)


def _no_parameters(_: Any) -> dict[str, Any]:
    return {}


def _limit_parameters(body: Any) -> dict[str, Any]:
    percent = parse_attributes(body).get("percent")
    if isinstance(percent, bool) or not isinstance(percent, int):
        raise _invalid("percent is required and must be an integer.")
    if not 50 <= percent <= 100:
        raise _invalid(f"percent must be between 50 and 100, got {percent}.")
    return {"percent": percent}


def _destination_parameters(body: Any) -> dict[str, Any]:
    attributes = parse_attributes(body)
    return {
        "latitude": _number(attributes, "latitude", -90, 90),
        "longitude": _number(attributes, "longitude", -180, 180),
    }


def _value(signals: Signals, code: str) -> Any:
    signal = signals.get(code)
    if signal is None or signal.body is None:
        return None
    return signal.body.get("value")


def _set_value(signals: Signals, out: Bodies, code: str, value: Any) -> None:
    signal = signals.get(code)
    if signal is not None and signal.body is not None:
        out[code] = {**signal.body, "value": value}


def _lock_effects(locked: bool) -> Callable[[Vehicle, Signals, dict[str, Any]], Bodies]:
    def effects(vehicle: Vehicle, signals: Signals, _: dict[str, Any]) -> Bodies:
        out: Bodies = {}
        _set_value(signals, out, "closure-islocked", locked)
        doors = signals.get("closure-doors")
        if doors is not None and doors.body is not None:
            body = copy.deepcopy(doors.body)
            for door in body.get("values", ()):
                door["isLocked"] = locked
            out["closure-doors"] = body
        trunk = signals.get("closure-reartrunk")
        if trunk is not None and trunk.body is not None:
            out["closure-reartrunk"] = {**trunk.body, "isLocked": locked}
        return out

    return effects


def _charge_effects(charging: bool) -> Callable[[Vehicle, Signals, dict[str, Any]], Bodies]:
    def effects(vehicle: Vehicle, signals: Signals, _: dict[str, Any]) -> Bodies:
        if charging and _value(signals, "charge-ischargingcableconnected") is False:
            raise Refusal(
                409,
                "VEHICLE_STATE",
                "CHARGING_PLUG_NOT_CONNECTED",
                "The charging cable is not connected.",
            )
        out: Bodies = {}
        _set_value(signals, out, "charge-ischarging", charging)
        _set_value(
            signals,
            out,
            "charge-detailedchargingstatus",
            "CHARGING" if charging else "NOT_CHARGING",
        )
        for code, active in (
            ("charge-amperage", 32.0),
            ("charge-voltage", 240.0),
            ("charge-wattage", 7680.0),
        ):
            _set_value(signals, out, code, active if charging else 0.0)
        return out

    return effects


def _limit_effects(vehicle: Vehicle, signals: Signals, parameters: dict[str, Any]) -> Bodies:
    limits = signals.get("charge-chargelimits")
    if limits is None or limits.body is None:
        return {}
    body = copy.deepcopy(limits.body)
    percent = parameters["percent"]
    entries = body.setdefault("values", [])
    for entry in entries:
        if entry.get("type") == "GLOBAL":
            entry["limit"] = percent
            break
    else:
        entries.insert(0, {"type": "GLOBAL", "limit": percent, "condition": None})
    # A location or connector limit, when one applies, stays the active one.
    if not any(e.get("type") != "GLOBAL" and e.get("isActive") for e in entries):
        body["activeLimit"] = percent
    return {"charge-chargelimits": body}


def _port_effects(open_: bool) -> Callable[[Vehicle, Signals, dict[str, Any]], Bodies]:
    def effects(vehicle: Vehicle, signals: Signals, _: dict[str, Any]) -> Bodies:
        out: Bodies = {}
        _set_value(signals, out, "charge-ischargingportflapopen", open_)
        return out

    return effects


def _no_effects(vehicle: Vehicle, signals: Signals, _: dict[str, Any]) -> Bodies:
    return {}


@attrs.frozen
class CommandSpec:
    """One command endpoint: ``POST /vehicles/{id}/commands/{group}/{action}``."""

    group: str
    action: str
    command_type: str
    permission: str
    electric_only: bool
    parameters: Callable[[Any], dict[str, Any]]
    effects: Callable[[Vehicle, Signals, dict[str, Any]], Bodies]
    has_body: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "security", "lock", "security-lock", "control_security", False,
        _no_parameters, _lock_effects(True),
    ),
    CommandSpec(
        "security", "unlock", "security-unlock", "control_security", False,
        _no_parameters, _lock_effects(False),
    ),
    CommandSpec(
        "charge", "start", "charge-start", "control_charge", True,
        _no_parameters, _charge_effects(True),
    ),
    CommandSpec(
        "charge", "stop", "charge-stop", "control_charge", True,
        _no_parameters, _charge_effects(False),
    ),
    CommandSpec(
        "charge", "set-limit", "charge-set-limit", "control_charge", True,
        _limit_parameters, _limit_effects, has_body=True,
    ),
    CommandSpec(
        "navigation", "set-destination", "navigation-set-destination", "control_navigation", False,
        _destination_parameters, _no_effects, has_body=True,
    ),
    CommandSpec(
        "charge-port", "open", "charge-port-open", "control_charge", True,
        _no_parameters, _port_effects(True),
    ),
    CommandSpec(
        "charge-port", "close", "charge-port-close", "control_charge", True,
        _no_parameters, _port_effects(False),
    ),
)  # fmt: skip


def check_permission(permissions: tuple[str, ...], permission: str) -> None:
    if permission not in permissions:
        raise Refusal(
            403,
            "PERMISSION",
            None,
            f"The connection does not grant the {permission} permission.",
        )


def check_capable(vehicle: Vehicle, command_type: str, capable: bool, cannot: str) -> None:
    """501 ``VEHICLE_NOT_CAPABLE`` when the vehicle cannot do it, or the test said so
    (`SmartcarEmulator.set_unsupported`); ``cannot`` ends the message."""
    if not capable or command_type in vehicle.unsupported:
        raise Refusal(
            501,
            "COMPATIBILITY",
            "VEHICLE_NOT_CAPABLE",
            f"This {vehicle.make} {vehicle.model} {cannot}.",
        )


def check_awake(vehicle: Vehicle) -> None:
    if vehicle.asleep:
        raise Refusal(
            409,
            "VEHICLE_STATE",
            "ASLEEP",
            "The vehicle is asleep and did not respond. Try again later.",
        )


# -- charge schedules -----------------------------------------------------------------

SCHEDULE_KINDS = ("daily", "weekly", "workweek")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# Which makes take which schedules (reference §4.5: Tesla all three, Volvo daily).
_SCHEDULE_MAKES = {"Tesla": frozenset(SCHEDULE_KINDS), "Volvo": frozenset({"daily"})}


def schedule_supported(vehicle: Vehicle, kind: str) -> bool:
    return vehicle.is_electric and kind in _SCHEDULE_MAKES.get(vehicle.make, ())


def _window(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be an object with startTime and stopTime.")
    window = {}
    for key in ("startTime", "stopTime"):
        time = value.get(key)
        if not isinstance(time, str) or not _TIME.match(time):
            raise _invalid(f"{where}.{key} must be a time like 08:00.")
        window[key] = time
    return window


def validate_schedule(kind: str, body: Any) -> dict[str, Any]:
    """The schedule's validated parameters (reference §4.5 shapes)."""
    attributes = parse_attributes(body)
    location = attributes.get("location")
    if not isinstance(location, dict):
        raise _invalid("location with latitude and longitude is required.")
    parameters: dict[str, Any] = {
        "location": {
            "latitude": _number(location, "latitude", -90, 90),
            "longitude": _number(location, "longitude", -180, 180),
        }
    }
    if kind == "daily":
        parameters.update(_window(attributes, "attributes"))
    elif kind == "weekly":
        days = attributes.get("days")
        if not isinstance(days, dict) or not days:
            raise _invalid("days must map weekday names to {startTime, stopTime}.")
        unknown = sorted(set(days) - set(WEEKDAYS))
        if unknown:
            raise _invalid(f"unknown weekday(s): {', '.join(unknown)}.")
        parameters["days"] = {
            day: _window(days[day], f"days.{day}") for day in WEEKDAYS if day in days
        }
    else:
        parameters["weekdays"] = _window(attributes.get("weekdays"), "weekdays")
        parameters["weekends"] = _window(attributes.get("weekends"), "weekends")
    return parameters


def _timer_schedules(kind: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    def entry(window: dict[str, str], days: list[str]) -> dict[str, Any]:
        return {"start": window["startTime"], "end": window["stopTime"], "days": days}

    upper = [day.upper() for day in WEEKDAYS]
    if kind == "daily":
        return [entry(parameters, upper)]
    if kind == "weekly":
        return [entry(window, [day.upper()]) for day, window in parameters["days"].items()]
    return [entry(parameters["weekdays"], upper[:5]), entry(parameters["weekends"], upper[5:])]


def schedule_effects(
    signals: Signals, schedule_id: str, kind: str | None, parameters: dict[str, Any] | None
) -> Bodies:
    """The new ``charge-chargetimers`` body: the schedule added, or removed (kind None)."""
    timers = signals.get("charge-chargetimers")
    if timers is None or timers.body is None:
        return {}
    body = copy.deepcopy(timers.body)
    entries = [e for e in body.get("values", []) if e.get("scheduleId") != schedule_id]
    if kind is not None and parameters is not None:
        location = parameters["location"]
        entries.append(
            {
                "type": "LOCATION",
                "condition": {
                    "name": None,
                    "address": None,
                    "latitude": location["latitude"],
                    "longitude": location["longitude"],
                    "connectorType": None,
                },
                "schedules": _timer_schedules(kind, parameters),
                "departureTimers": [],
                "isOEMOptimizationEnabled": False,
                "scheduleType": kind,
                "scheduleId": schedule_id,
            }
        )
    body["values"] = entries
    return {"charge-chargetimers": body}

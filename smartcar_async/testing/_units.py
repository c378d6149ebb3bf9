"""Signal bodies in the unit system a request asks for (``SC-Unit-System``).

Smartcar's Headers page documents ``SC-Unit-System: metric | imperial`` (default metric).
The emulator keeps every body in metric and converts on the way out when a request
asks for imperial: distance, speed, pressure, volume and temperature. The imperial unit
names are the ones integrations have seen in production (``miles``,
``miles_per_hour``, ``psi``, ``gallons``); ``fahrenheit`` is inferred.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["IMPERIAL", "unit_system", "to_imperial"]

IMPERIAL = "imperial"

_KM_TO_MILES = 0.621371
_Convert = Callable[[float], float]

#: metric unit -> (imperial unit, conversion)
_TO_IMPERIAL: dict[str, tuple[str, _Convert]] = {
    "kilometers": ("miles", lambda v: v * _KM_TO_MILES),
    "km": ("miles", lambda v: v * _KM_TO_MILES),
    "kph": ("miles_per_hour", lambda v: v * _KM_TO_MILES),
    "kilopascals": ("psi", lambda v: v * 0.145038),
    "bar": ("psi", lambda v: v * 14.5038),
    "liters": ("gallons", lambda v: v * 0.264172),
    "celsius": ("fahrenheit", lambda v: v * 9 / 5 + 32),
    "degrees-celsius": ("fahrenheit", lambda v: v * 9 / 5 + 32),
}
# Keys inside a body's entries that carry a measurement in the body's unit.
_MEASURED = ("value", "tirePressure")


def unit_system(headers: Mapping[str, str]) -> str:
    """``imperial`` when the request asks for it, else ``metric`` (the default)."""
    asked = headers.get("sc-unit-system", "").strip().lower()
    return IMPERIAL if asked == IMPERIAL else "metric"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_imperial(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The body converted to imperial, or None when it has no metric measurement."""
    unit = body.get("unit")
    found = _TO_IMPERIAL.get(unit) if isinstance(unit, str) else None
    if found is None:
        return None
    name, convert = found

    def entry(item: Any) -> Any:
        if not isinstance(item, Mapping):
            return item
        converted = dict(item)
        for key in _MEASURED:
            if _number(item.get(key)):
                converted[key] = round(convert(item[key]), 1)
        return converted

    result: dict[str, Any] = entry(body)
    result["unit"] = name
    for key in ("additionalValues", "values"):
        if isinstance(body.get(key), list):
            result[key] = [entry(item) for item in body[key]]
    return result

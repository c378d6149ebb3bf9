"""The `Signal` and `Signals` types: one reading, and a vehicle's readings by code.

Plain data; `._parse` builds them from JSON. A `Signals` parsed from a response keeps
each signal's decoded JSON and builds its `Signal` the first time it is asked for: a
read of one signal out of ninety pays for one model, not ninety.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias, cast

import attrs

from .._models import (
    RAW,
    ErrorObject,
    ToDict,
    VehicleDescription,
    own_fields_first,
    to_jsonable,
)
from ._bodies import SignalBody

__all__ = ["Signal", "SignalError", "SignalValue", "Signals", "SignalsVehicle"]


#: What `Signals.value` returns: a JSON scalar, to narrow with ``isinstance``.
SignalValue: TypeAlias = "bool | int | float | str | None"


@attrs.frozen(kw_only=True)
class SignalError(ErrorObject):
    """Why a signal could not be read (``status.error`` of a signal).

    Attributes:
        type: e.g. ``COMPATIBILITY``, ``PERMISSION``, ``VEHICLE_STATE``.
        code: e.g. ``VEHICLE_NOT_CAPABLE``, ``ASLEEP``; may be None.
        description: the API's explanation, if any.
        resolution: what to do (``RETRY_LATER``, ``REAUTHENTICATE``...), if any.

    Examples:
        >>> signal.error
        SignalError(type='COMPATIBILITY', code='VEHICLE_NOT_CAPABLE', ...)
    """


@attrs.frozen(kw_only=True)
class Signal(ToDict):
    """One signal of a vehicle: what it is, whether it was read, and its body.

    Attributes:
        code: the machine code (``"closure-islocked"``).
        name: PascalCase name in its group (``"IsLocked"``); from the catalogue when the
            payload leaves it out.
        group: PascalCase group (``"Closure"``), likewise.
        status: ``"SUCCESS"``, ``"ERROR"`` or ``"UNAVAILABLE"``; a value the SDK does
            not know is kept as sent. ``"SUCCESS"`` when the payload has no status,
            as webhook signals often do not.
        error: why it failed, when the status is not ``SUCCESS`` and the API said.
        body: the typed reading (see `SignalBody`), or None when there is none (error
            signals) or it is not a JSON object (the original stays in ``raw``).
        retrieved_at: when Smartcar read it (``meta.retrievedAt``, or ``fetchedAt``).
        oem_updated_at: when the vehicle maker last updated it.
        ingested_at: when Smartcar stored it, if sent.

    Examples:
        >>> soc = signals.get(STATE_OF_CHARGE)
        >>> if soc is not None and soc.ok and isinstance(soc.body, UnitValue):
        ...     print(soc.body.value, soc.body.unit, soc.oem_updated_at)
    """

    code: str
    name: str | None = None
    group: str | None = None
    status: str = "SUCCESS"
    error: SignalError | None = None
    body: SignalBody | None = None
    retrieved_at: _dt.datetime | None = None
    oem_updated_at: _dt.datetime | None = None
    ingested_at: _dt.datetime | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def full_name(self) -> str | None:
        """``"Group.Name"`` (``"Closure.IsLocked"``), or None if either part is unknown."""
        if self.group and self.name:
            return f"{self.group}.{self.name}"
        return None

    @property
    def ok(self) -> bool:
        """True when the signal was read (``status == "SUCCESS"``)."""
        return self.status == "SUCCESS"


@attrs.frozen(kw_only=True, field_transformer=own_fields_first)
class SignalsVehicle(VehicleDescription):
    """The vehicle a ``/signals`` response is about (its ``included.vehicle``).

    Attributes:
        id: the vehicle id, when the response names it.
        make / model / year / mode / powertrain_type: see `Vehicle`.

    Examples:
        >>> signals.vehicle
        SignalsVehicle(id='e5b1...', make='TESLA', model='Model 3', year=2023, ...)
    """

    id: str | None = None


def _given(entry: object) -> Signal:
    """The "build" of signals made by hand: each entry already is its `Signal`."""
    assert isinstance(entry, Signal)
    return entry


class Signals(Mapping[str, Signal]):
    """A vehicle's signals by code: a read-only mapping ``code -> Signal``.

    Only the signals the vehicle and the application can see are present, so prefer
    ``get`` (or `value`) to indexing.

    Attributes:
        vehicle: make, model and year from the response, when it had them.
        raw: the whole response JSON.

    Examples:
        >>> signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
        >>> signals.value(STATE_OF_CHARGE)
        80
        >>> [s.code for s in signals.by_group("Closure")]
        ['closure-islocked', 'closure-doors']
    """

    # _entries: every code, in response order, to what its Signal is built from (the
    # Signal itself when made by hand). _built: the Signals made so far. _build: one
    # entry -> its Signal.
    __slots__ = ("_build", "_built", "_entries", "_raw", "_vehicle")

    def __init__(
        self,
        signals: Iterable[Signal] = (),
        *,
        vehicle: SignalsVehicle | None = None,
        raw: Mapping[str, Any] | None = None,
    ) -> None:
        built: dict[str, Signal] = {signal.code: signal for signal in signals}
        self._entries: dict[str, object] = dict(built)
        self._built = built
        self._build: Callable[[object], Signal] = _given
        self._vehicle = vehicle
        self._raw: Mapping[str, Any] = raw if raw is not None else {}

    @classmethod
    def _lazy(
        cls,
        entries: dict[str, object],
        build: Callable[[object], Signal],
        *,
        vehicle: SignalsVehicle | None,
        raw: Mapping[str, Any],
    ) -> Signals:
        """Signals whose models ``build(entries[code])`` makes on first access, once."""
        self = cls.__new__(cls)
        self._entries = entries
        self._built = {}
        self._build = build
        self._vehicle = vehicle
        self._raw = raw
        return self

    @property
    def vehicle(self) -> SignalsVehicle | None:
        """The vehicle from ``included``, or None when the response did not include it."""
        return self._vehicle

    @property
    def raw(self) -> Mapping[str, Any]:
        """The response JSON the signals came from (``{}`` when built by hand)."""
        return self._raw

    def __getitem__(self, code: str) -> Signal:
        signal = self._built.get(code)
        if signal is None:
            entry = self._entries[code]  # KeyError for a code the response lacks
            signal = self._built[code] = self._build(entry)
        return signal

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, code: object) -> bool:
        return code in self._entries

    def __repr__(self) -> str:
        return f"Signals({list(self._entries)!r}, vehicle={self._vehicle!r})"

    def value(self, code: str) -> SignalValue:
        """``body.value`` of a signal, or None when absent, failed or without a value.

        The result is a JSON scalar whose type depends on the signal: narrow it with
        ``isinstance`` (type checkers then know it), or read ``signal.body`` for the
        typed body.

        Examples:
            >>> signals.value(IS_LOCKED)
            True
            >>> soc = signals.value(STATE_OF_CHARGE)
            >>> if isinstance(soc, (int, float)) and soc < 20: ...
        """
        if code not in self._entries:
            return None
        body = self[code].body
        # Every body's ``value`` is a JSON scalar: the parsers refuse anything else.
        return None if body is None else cast(SignalValue, getattr(body, "value", None))

    def to_dict(self) -> dict[str, Any]:
        """The signals as JSON-ready data, ``code -> signal dict``, for a web handler.

        Each signal is `Signal.to_dict`: code, name, group, status, error, body (its
        fields, e.g. ``{"unit": "percent", "value": 80}``) and ISO-8601 timestamps.

        Examples:
            >>> signals.to_dict()["tractionbattery-stateofcharge"]["body"]
            {'unit': 'percent', 'value': 80}
        """
        return {code: to_jsonable(signal) for code, signal in self.items()}

    def by_group(self, group: str) -> tuple[Signal, ...]:
        """The signals of one group (``"TractionBattery"``, any case), in response order.

        Examples:
            >>> [s.name for s in signals.by_group("tractionbattery")]
            ['StateOfCharge', 'Range']
        """
        # Codes start with the lower-cased group, so this works without group fields.
        prefix = group.lower() + "-"
        return tuple(self[code] for code in self._entries if code.startswith(prefix))

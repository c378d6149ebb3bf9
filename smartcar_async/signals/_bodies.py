"""The typed bodies of signals: one small frozen class per shape the API documents.

Each class keeps the body's JSON on ``raw``. `SignalBody` is the union of them all.
Parsing lives in `._body_parsers`, so these classes stay plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeAlias, TypeVar

import attrs

from .._models import RAW, ToDict

# The classes below say ``attrs.frozen(kw_only=True)`` (what ``_models.model`` is) in
# full: mypy's attrs plugin does not see through the alias and would not know the fields.


@attrs.frozen(kw_only=True)
class UnitValue(ToDict):
    """A number and its unit: ``{"unit": "percent", "value": 80}``.

    Attributes:
        unit: free text as sent (``"percent"``, ``"km"``, ``"kilometers"``, ``"psi"``...);
            the API does not keep to one spelling, so compare with care.
        value: the number, or None when the vehicle sent none.

    Examples:
        >>> signals[STATE_OF_CHARGE].body
        UnitValue(unit='percent', value=80)
    """

    unit: str | None = None
    value: float | int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Value(ToDict):
    """A single value without a unit: a bool, a string or a number.

    Attributes:
        value: as sent (``True``, ``"PARK"``, ``"2026.14.3"``...), or None.

    Examples:
        >>> signals[IS_LOCKED].body
        Value(value=True)
    """

    value: Any = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class RangeEstimate(ToDict):
    """One of the extra estimates of `RangeBody` (``IDEAL_CONDITIONS``, ``RATED``...).

    Examples:
        >>> RangeEstimate(type="RATED", value=412.0)
    """

    type: str | None = None
    value: float | int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class RangeBody(ToDict):
    """Range left on the battery, with the vehicle's alternative estimates.

    Attributes:
        unit: as sent (``"kilometers"``, ``"miles"``...).
        value: the main estimate.
        additional_values: other estimates, by ``type``.

    Examples:
        >>> body = signals[RANGE].body
        >>> body.value, body.estimate("RATED")
        (320.5, 336.5)
    """

    unit: str | None = None
    value: float | int | None = None
    additional_values: tuple[RangeEstimate, ...] = ()
    raw: Mapping[str, Any] = RAW

    def estimate(self, kind: str) -> float | int | None:
        """The value of the estimate of this ``type`` (case-insensitive), else None.

        Examples:
            >>> body.estimate("ideal_conditions")
            358.9
        """
        wanted = kind.upper()
        for item in self.additional_values:
            if item.type is not None and item.type.upper() == wanted:
                return item.value
        return None


@attrs.frozen(kw_only=True)
class ValuesBody(ToDict):
    """A generic array body: ``{"values": [...], "rowCount"?, "columnCount"?}``.

    Used for lists the SDK does not type further (charge records, charge timers,
    trouble codes, service records, permissions, packages). The items are the JSON
    objects or strings as sent.

    Examples:
        >>> [dtc["code"] for dtc in signals["diagnostics-dtclist"].body.values]
        ['P0456']
    """

    values: tuple[Any, ...] = ()
    row_count: int | None = None
    column_count: int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class GridCell(ToDict):
    """One place in a `GridBody`: row 0 is the front, column 0 the left.

    Examples:
        >>> cell = signals[DOORS].body.values[0]
        >>> cell.row, cell.column
        (0, 0)
    """

    row: int | None = None
    column: int | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Door(GridCell):
    """One door of `DoorsBody`; row 0 is the front, column 0 the left.

    Examples:
        >>> Door(row=0, column=0, is_open=False, is_locked=True)
    """

    is_open: bool | None = None
    is_locked: bool | None = None


@attrs.frozen(kw_only=True)
class Window(GridCell):
    """One window of `WindowsBody`; row 0 is the front, column 0 the left.

    Examples:
        >>> Window(row=1, column=0, is_open=True)
    """

    is_open: bool | None = None


@attrs.frozen(kw_only=True)
class Tire(GridCell):
    """One tire of `TiresBody`; row 0 is the front axle, column 0 the left.

    Examples:
        >>> Tire(row=0, column=1, tire_pressure=248.2)
    """

    tire_pressure: float | int | None = None


CellT = TypeVar("CellT", bound=GridCell)


@attrs.frozen(kw_only=True)
class GridBody(ToDict, Generic[CellT]):
    """Parts of a vehicle laid out in rows and columns: doors, windows, tires.

    Attributes:
        values: one cell per part, as sent.
        row_count / column_count: the grid's size, when sent.

    Examples:
        >>> doors = signals[DOORS].body
        >>> doors.at(0, 0).is_locked
        True
    """

    values: tuple[CellT, ...] = ()
    row_count: int | None = None
    column_count: int | None = None
    raw: Mapping[str, Any] = RAW

    def at(self, row: int, column: int) -> CellT | None:
        """The cell at this position, or None. Example: ``doors.at(0, 0)``."""
        for item in self.values:
            if item.row == row and item.column == column:
                return item
        return None


@attrs.frozen(kw_only=True)
class DoorsBody(GridBody[Door]):
    """``closure-doors``: every door, laid out in rows and columns.

    Examples:
        >>> doors = signals[DOORS].body
        >>> any(door.is_open for door in doors.values)
        False
        >>> doors.at(0, 0).is_locked
        True
    """


@attrs.frozen(kw_only=True)
class WindowsBody(GridBody[Window]):
    """``closure-windows``: every window, laid out in rows and columns.

    Examples:
        >>> any(w.is_open for w in signals["closure-windows"].body.values)
        False
    """


@attrs.frozen(kw_only=True)
class TiresBody(GridBody[Tire]):
    """``wheel-tires``: the pressure of every tire, laid out in rows and columns.

    Attributes:
        unit: the pressure unit when the API sends one (it often does not).

    Examples:
        >>> signals[TIRES].body.at(0, 0).tire_pressure
        248.2
    """

    unit: str | None = None


@attrs.frozen(kw_only=True)
class LocationBody(ToDict):
    """``location-preciselocation``: where the vehicle is, or was last parked.

    Attributes:
        latitude / longitude: WGS-84 degrees.
        heading: degrees from north, if sent.
        direction: compass point ``N``...``NW``, if sent.
        location_type: ``CURRENT`` or ``LAST_PARKED`` (kept as sent).

    Examples:
        >>> where = signals[LOCATION].body
        >>> where.latitude, where.longitude
        (37.7749, -122.4194)
    """

    latitude: float
    longitude: float
    heading: float | None = None
    direction: str | None = None
    location_type: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class ChargeLimitCondition(ToDict):
    """Where or with which connector a `ChargeLimit` applies (None for ``GLOBAL``).

    Examples:
        >>> ChargeLimitCondition(name="Home", latitude=37.77, longitude=-122.42)
    """

    name: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    connector_type: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class ChargeLimit(ToDict):
    """One configured charge limit: ``GLOBAL``, per ``LOCATION`` or per ``CONNECTOR``.

    Examples:
        >>> ChargeLimit(type="GLOBAL", limit=80)
    """

    type: str | None = None
    limit: float | int | None = None
    condition: ChargeLimitCondition | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class ChargeLimitsBody(ToDict):
    """``charge-chargelimits``: every configured limit and the one in force.

    Attributes:
        values: the configured limits.
        active_limit: the limit applied now (None when not plugged in).
        unit: usually ``"percent"``.

    Examples:
        >>> limits = signals[CHARGE_LIMITS].body
        >>> limits.value, limits.global_limit
        (80, 80)
    """

    values: tuple[ChargeLimit, ...] = ()
    active_limit: float | int | None = None
    unit: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> float | int | None:
        """`active_limit`, so `Signals.value` gives the limit in force."""
        return self.active_limit

    @property
    def global_limit(self) -> float | int | None:
        """The ``GLOBAL`` limit, if configured."""
        for item in self.values:
            if item.type is not None and item.type.upper() == "GLOBAL":
                return item.limit
        return None


@attrs.frozen(kw_only=True)
class StatusBody(ToDict):
    """A ``diagnostics-*`` system status: ``{"status": "OK"|"ALERT", "description"}``.

    Examples:
        >>> abs_ = signals["diagnostics-abs"].body
        >>> abs_.is_alert, abs_.description
        (False, 'ABS system functioning normally')
    """

    status: str | None = None
    description: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> str | None:
        """`status`, so `Signals.value` works for diagnostics too."""
        return self.status

    @property
    def is_alert(self) -> bool:
        """True when the system reports ``ALERT``."""
        return self.status is not None and self.status.upper() == "ALERT"


@attrs.frozen(kw_only=True)
class OpenLockBody(ToDict):
    """A trunk, tailgate, engine cover or sunroof: ``{"isOpen", "isLocked"?}``.

    Examples:
        >>> trunk = signals["closure-reartrunk"].body
        >>> trunk.is_open, trunk.is_locked
        (False, True)
    """

    is_open: bool | None = None
    is_locked: bool | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class DriveModeBody(ToDict):
    """``transmission-drivemode``: Smartcar's canonical mode and the maker's own label.

    Examples:
        >>> signals["transmission-drivemode"].body.oem_display_name
        'Chill'
    """

    canonical: str | None = None
    oem_display_name: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> str | None:
        """`canonical`, so `Signals.value` gives the mode."""
        return self.canonical


@attrs.frozen(kw_only=True)
class AvailableCapacity(ToDict):
    """A battery capacity the vehicle may have, for `NominalCapacityBody`.

    Examples:
        >>> AvailableCapacity(capacity=75, description="Long Range")
    """

    capacity: float | int | None = None
    description: str | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class NominalCapacityBody(ToDict):
    """``tractionbattery-nominalcapacity``: the battery's rated capacity.

    Attributes:
        source: ``SMARTCAR`` (looked up) or ``USER_SELECTED``.
        capacity: the capacity in `unit` (usually kilowatt-hours).
        available_capacities: the options for this model, when known.

    Examples:
        >>> signals["tractionbattery-nominalcapacity"].body.capacity
        75
    """

    source: str | None = None
    capacity: float | int | None = None
    available_capacities: tuple[AvailableCapacity, ...] = ()
    unit: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def value(self) -> float | int | None:
        """`capacity`, so `Signals.value` gives the number."""
        return self.capacity


@attrs.frozen(kw_only=True)
class GenericBody(ToDict):
    """Any other body: one the catalogue does not type, or one not of its usual shape.

    Attributes:
        data: the body's JSON object, as sent.

    Examples:
        >>> body = signals["charge-somethingnew"].body
        >>> if isinstance(body, GenericBody):
        ...     print(body.data)
    """

    data: Mapping[str, Any] = attrs.field(factory=dict)
    raw: Mapping[str, Any] = RAW


#: Every class `Signal.body` can be; narrow with ``isinstance`` before reading fields
#: that only some of them have.
SignalBody: TypeAlias = (
    UnitValue
    | Value
    | RangeBody
    | ValuesBody
    | DoorsBody
    | WindowsBody
    | TiresBody
    | LocationBody
    | ChargeLimitsBody
    | StatusBody
    | OpenLockBody
    | DriveModeBody
    | NominalCapacityBody
    | GenericBody
)

"""Every command the SDK can send, declared once: `COMMAND_SPECS`.

A `CommandSpec` names a command, says where it goes (method and route below
``/vehicles/{vehicleId}/``), describes its arguments (`Option`: the keyword the Python
method takes, how the CLI reads it, the range it must be in) and builds the request.
From this table come `CommandName`, the checks of `Commands.run_many`, the CLI's
``command`` subcommands with their help and range checks, and a test that holds it
against the emulator's routes. The range checks here are the only ones: the Python
methods and the CLI both call them.

Adding a command: add its `CommandRoute`, its builder and a `CommandSpec` here, its
name to `CommandName`, a method to `Commands` and to `VehicleHandle` (each marked
``@one_request``), and the route to the emulator (``testing/_commands.py``);
``tests/resources/test_command_registry.py`` says what is missing.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypedDict, TypeVar, get_args

import attrs

from .._paths import path_segment

if TYPE_CHECKING:
    from ._types import CommandExecution

__all__ = [
    "CLOSE_CHARGE_PORT",
    "COMMAND_SPECS",
    "LOCK",
    "OPEN_CHARGE_PORT",
    "START_CHARGE",
    "STOP_CHARGE",
    "UNLOCK",
    "LATITUDE",
    "LONGITUDE",
    "PERCENT",
    "SCHEDULE_KINDS",
    "WEEKDAYS",
    "ChargeSchedule",
    "ChargeWindow",
    "CommandName",
    "CommandRoute",
    "CommandSpec",
    "Option",
    "PreparedCommand",
    "Range",
    "ScheduleKind",
    "charge_limit_command",
    "delete_schedule_command",
    "destination_command",
    "schedule_command",
]

T = TypeVar("T")

#: The names `Commands.run_many` accepts: the method names of `Commands`.
CommandName = Literal[
    "lock",
    "unlock",
    "start_charge",
    "stop_charge",
    "set_charge_limit",
    "set_destination",
    "open_charge_port",
    "close_charge_port",
    "set_charge_schedule",
    "delete_charge_schedule",
]

#: The kinds of charge schedule.
ScheduleKind = Literal["daily", "weekly", "workweek"]
SCHEDULE_KINDS: tuple[ScheduleKind, ...] = get_args(ScheduleKind)

#: The day names a weekly schedule takes, lower-case.
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: A charging window: ``(start, stop)`` as ``"HH:MM"`` strings or `datetime.time`, sent
#: as ``{"startTime", "stopTime"}``; or a mapping, sent exactly as given.
ChargeWindow: TypeAlias = "tuple[str | _dt.time, str | _dt.time] | Mapping[str, Any]"


class _ScheduleWhere(TypedDict):
    kind: ScheduleKind
    latitude: float
    longitude: float


class ChargeSchedule(_ScheduleWhere, total=False):
    """The arguments of a charge schedule, declared once for `Commands.set_charge_schedule`
    and `VehicleHandle.set_charge_schedule` (which take them as keywords).

    ``kind``, ``latitude`` and ``longitude`` are required; which of the times a kind
    takes is checked when the command is built (see `Commands.set_charge_schedule`).

    Examples:
        >>> schedule: ChargeSchedule = {"kind": "daily", "latitude": 37.77,
        ...     "longitude": -122.42, "start_time": "01:00", "stop_time": "05:00"}
        >>> await car.set_charge_schedule(**schedule)
    """

    start_time: str | _dt.time | None
    stop_time: str | _dt.time | None
    days: Mapping[str, ChargeWindow] | None
    weekdays: ChargeWindow | None
    weekends: ChargeWindow | None


# -- argument checks -------------------------------------------------------------------------


@attrs.frozen
class Range:
    """The numbers an argument may take, checked the same way from Python and the CLI.

    Examples:
        >>> PERCENT.check(80, "percent")
        80
        >>> PERCENT.from_text("101")
        Traceback (most recent call last):
        ValueError: must be from 50 to 100, got 101
    """

    low: float
    high: float
    integer: bool = False

    def check(self, value: object, name: str) -> Any:
        """``value`` if it is a number (an int when `integer`) in range, else ValueError."""
        # The range is checked by comparison alone: an int is compared exactly (10**400
        # would overflow math.isfinite), and NaN fails every comparison.
        wanted = int if self.integer else (int, float)
        if (
            isinstance(value, bool)
            or not isinstance(value, wanted)
            or not self.low <= value <= self.high
        ):
            kind = "an integer" if self.integer else "a number"
            shown = (
                repr(value) if not isinstance(value, int) or abs(value) < 10**20 else "a huge int"
            )
            raise ValueError(
                f"{name} must be {kind} from {self.low:g} to {self.high:g}, got {shown}"
            )
        return value

    def from_text(self, text: str) -> Any:
        """The CLI's reading: the number in ``text``, in range, else ValueError."""
        try:
            value: float = int(text) if self.integer else float(text)
        except ValueError:
            kind = "an integer" if self.integer else "a number"
            raise ValueError(f"expected {kind}, got {text!r}") from None
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise ValueError(f"must be from {self.low:g} to {self.high:g}, got {text}")
        return value


PERCENT = Range(50, 100, integer=True)
LATITUDE = Range(-90, 90)
LONGITUDE = Range(-180, 180)


def hhmm(value: object, name: str) -> str:
    """``"HH:MM"`` from a `datetime.time` or such a string, else ValueError.

    Examples:
        >>> hhmm(datetime.time(1, 5), "start_time")
        '01:05'
    """
    if isinstance(value, _dt.time):
        return f"{value.hour:02d}:{value.minute:02d}"
    if (
        isinstance(value, str)
        and len(value) == 5
        and value[2] == ":"
        and value[:2].isdigit()
        and value[3:].isdigit()
        and int(value[:2]) < 24
        and int(value[3:]) < 60
    ):
        return value
    raise ValueError(f"{name} must be a datetime.time or an 'HH:MM' string, got {value!r}")


def window(value: object, name: str) -> dict[str, Any]:
    """A `ChargeWindow` as the API's ``{"startTime", "stopTime"}``, else ValueError."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return {
            "startTime": hhmm(value[0], name + " start"),
            "stopTime": hhmm(value[1], name + " stop"),
        }
    raise ValueError(f"{name} must be a (start, stop) pair or a mapping, got {value!r}")


def _location(latitude: float, longitude: float) -> dict[str, float]:
    return {
        "latitude": LATITUDE.check(latitude, "latitude"),
        "longitude": LONGITUDE.check(longitude, "longitude"),
    }


# -- the request a command sends ---------------------------------------------------------


@attrs.frozen
class PreparedCommand(Generic[T]):
    """One command ready to send to any vehicle: built and checked once.

    ``T`` is what its answer parses into: `CommandExecution`, or ``CommandExecution |
    None`` when the API may answer with no body (``may_be_empty``).
    """

    method: str
    suffix: str  # below /vehicles/{vehicleId}/
    body: Mapping[str, Any] | None
    may_be_empty: bool = False
    #: Why the command is experimental (no Smartcar source lists it); None if it is not.
    experimental: str | None = None


@attrs.frozen
class CommandRoute:
    """Where a command goes, declared once for its builder and its `CommandSpec`.

    Attributes:
        method: the HTTP method.
        path: below ``/vehicles/{vehicleId}/``; ``{kind}`` and ``{scheduleId}`` stand
            for the argument of that name.

    Examples:
        >>> CommandRoute("DELETE", "charge-schedules/{scheduleId}").prepare(scheduleId="s1")
        PreparedCommand(method='DELETE', suffix='charge-schedules/s1', body=None, ...)
    """

    method: str
    path: str

    def prepare(
        self, body: Mapping[str, Any] | None = None, *, may_be_empty: bool = False, **path_args: str
    ) -> PreparedCommand[Any]:
        """The request to this route with ``body``, the path's placeholders filled in."""
        suffix = self.path.format(**path_args)
        return PreparedCommand(self.method, suffix, body, may_be_empty=may_be_empty)


def _fixed(path: str) -> PreparedCommand[CommandExecution]:
    return CommandRoute("POST", path).prepare()


LOCK = _fixed("commands/security/lock")
UNLOCK = _fixed("commands/security/unlock")
START_CHARGE = _fixed("commands/charge/start")
STOP_CHARGE = _fixed("commands/charge/stop")
# Reported by one third-party write-up only: Smartcar's commands overview and both
# official SDKs list no charge-port command (see docs/api-fidelity.md).
_NO_SOURCE = "no Smartcar page or official SDK lists the charge-port commands"
OPEN_CHARGE_PORT = attrs.evolve(_fixed("commands/charge-port/open"), experimental=_NO_SOURCE)
CLOSE_CHARGE_PORT = attrs.evolve(_fixed("commands/charge-port/close"), experimental=_NO_SOURCE)


def _attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"attributes": attributes}}


_SET_LIMIT = CommandRoute("POST", "commands/charge/set-limit")
_SET_DESTINATION = CommandRoute("POST", "commands/navigation/set-destination")
_SET_SCHEDULE = CommandRoute("POST", "charge-schedules/{kind}")
_DELETE_SCHEDULE = CommandRoute("DELETE", "charge-schedules/{scheduleId}")


def charge_limit_command(percent: int) -> PreparedCommand[CommandExecution]:
    """``set_charge_limit``: ``percent`` must be an integer from 50 to 100."""
    return _SET_LIMIT.prepare(_attributes({"percent": PERCENT.check(percent, "percent")}))


def destination_command(*, latitude: float, longitude: float) -> PreparedCommand[CommandExecution]:
    """``set_destination``: latitude in [-90, 90], longitude in [-180, 180]."""
    return _SET_DESTINATION.prepare(_attributes(_location(latitude, longitude)))


_SCHEDULE_TIMES = ("start_time", "stop_time", "days", "weekdays", "weekends")
_SCHEDULE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "daily": ("start_time", "stop_time"),
    "weekly": ("days",),
    "workweek": ("weekdays", "weekends"),
}


def _schedule_times(kind: str, given: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "daily":
        if given["start_time"] is None or given["stop_time"] is None:
            raise ValueError("kind='daily' needs start_time and stop_time")
        return {
            "startTime": hhmm(given["start_time"], "start_time"),
            "stopTime": hhmm(given["stop_time"], "stop_time"),
        }
    if kind == "weekly":
        days = given["days"]
        if not days:
            raise ValueError("kind='weekly' needs days, e.g. {'monday': ('08:00', '10:00')}")
        if not isinstance(days, Mapping):
            raise ValueError(f"days must map weekdays to windows, got {type(days).__name__}")
        unknown = [repr(day) for day in days if day not in WEEKDAYS]
        if unknown:
            raise ValueError(
                f"days has {', '.join(unknown)}: the keys are lower-case weekday names "
                f"({', '.join(WEEKDAYS)})"
            )
        return {"days": {day: window(span, f"days[{day!r}]") for day, span in days.items()}}
    if given["weekdays"] is None or given["weekends"] is None:
        raise ValueError("kind='workweek' needs weekdays and weekends")
    return {
        "weekdays": window(given["weekdays"], "weekdays"),
        "weekends": window(given["weekends"], "weekends"),
    }


def schedule_command(
    *, kind: ScheduleKind, latitude: float, longitude: float, **times: Any
) -> PreparedCommand[CommandExecution]:
    """``set_charge_schedule``: the body for ``kind``, checked (see the method).

    ``times`` are the method's ``start_time``, ``stop_time``, ``days``, ``weekdays`` and
    ``weekends`` (the typed signature is `Commands.set_charge_schedule`'s).
    """
    unknown = [name for name in times if name not in _SCHEDULE_TIMES]
    if unknown:
        raise TypeError(f"set_charge_schedule got unexpected arguments: {', '.join(unknown)}")
    given = {name: times.get(name) for name in _SCHEDULE_TIMES}
    allowed = _SCHEDULE_FIELDS.get(kind)
    if allowed is None:
        raise ValueError(f"kind must be 'daily', 'weekly' or 'workweek', got {kind!r}")
    extra = [name for name, value in given.items() if value is not None and name not in allowed]
    if extra:
        raise ValueError(f"{', '.join(extra)} cannot be used with kind={kind!r}")
    attributes = {"location": _location(latitude, longitude), **_schedule_times(kind, given)}
    return _SET_SCHEDULE.prepare(_attributes(attributes), kind=kind)


def delete_schedule_command(schedule_id: str) -> PreparedCommand[CommandExecution | None]:
    """``delete_charge_schedule``: ``schedule_id`` checked as a path segment."""
    segment = path_segment(schedule_id, "schedule_id")
    return _DELETE_SCHEDULE.prepare(scheduleId=segment, may_be_empty=True)


# -- the CLI's reading of arguments --------------------------------------------------------


def _window_text(text: str) -> tuple[str, str]:
    start, dash, stop = text.partition("-")
    if not dash:
        raise ValueError(f"expected START-STOP like 08:00-10:00, got {text!r}")
    return hhmm(start.strip(), "start"), hhmm(stop.strip(), "stop")


def _day_window_text(text: str) -> tuple[str, tuple[str, str]]:
    day, equals, span = text.partition("=")
    day = day.strip().lower()
    if not equals or day not in WEEKDAYS:
        raise ValueError(f"expected DAY=START-STOP like monday=08:00-10:00, got {text!r}")
    return day, _window_text(span)


def _one_window_a_day(pairs: list[tuple[str, tuple[str, str]]]) -> dict[str, tuple[str, str]]:
    days = dict(pairs)
    if len(days) < len(pairs):
        seen = [day for day, _ in pairs]
        twice = sorted({day for day in seen if seen.count(day) > 1})
        raise ValueError(f"--day gives {', '.join(twice)} more than once: one window a day")
    return days


def _kind_text(text: str) -> str:
    if text not in SCHEDULE_KINDS:
        raise ValueError(f"expected one of {', '.join(SCHEDULE_KINDS)}, got {text!r}")
    return text


@attrs.frozen
class Option:
    """One argument of a command: its Python keyword and how the CLI reads it.

    Attributes:
        name: the keyword the `Commands` method takes (``percent``).
        from_text: turns one CLI word into the value, raising ValueError when it cannot.
        help: one line for ``--help``.
        required: the CLI insists on it.
        positional: the CLI takes it as a positional argument, not ``--name``.
        repeated: the CLI takes it several times; `combine` makes the value of the list.
        metavar: the CLI's placeholder for it.
    """

    name: str
    from_text: Callable[[str], Any]
    help: str
    required: bool = True
    positional: bool = False
    repeated: bool = False
    combine: Callable[[list[Any]], Any] = list
    metavar: str | None = None

    @property
    def flag(self) -> str:
        """``--start-time`` for ``start_time`` (``--day`` for the repeated ``days``)."""
        word = self.name[:-1] if self.repeated and self.name.endswith("s") else self.name
        return "--" + word.replace("_", "-")


def _window_option(name: str, help_: str) -> Option:
    return Option(name, _window_text, help_, required=False, metavar="START-STOP")


_LATITUDE_OPTION = Option("latitude", LATITUDE.from_text, "degrees, -90 to 90", metavar="DEG")
_LONGITUDE_OPTION = Option("longitude", LONGITUDE.from_text, "degrees, -180 to 180", metavar="DEG")


# -- the registry ----------------------------------------------------------------------------


@attrs.frozen
class CommandSpec:
    """One command: its name, where it goes, what it takes, how its request is built.

    Attributes:
        name: the `Commands` method name, which is also its `CommandName`.
        route: where it goes (the same `CommandRoute` its builder sends to).
        help: one line, shown by ``smartcar-async command --help``.
        options: the arguments besides the vehicle and the user.
        build: makes the `PreparedCommand` from the options' values, checking them.
    """

    name: CommandName
    route: CommandRoute
    help: str
    build: Callable[..., PreparedCommand[Any]]
    options: tuple[Option, ...] = ()

    @property
    def cli_name(self) -> str:
        """The CLI's spelling: ``set-charge-limit``."""
        return self.name.replace("_", "-")

    def prepare(self, **arguments: Any) -> PreparedCommand[Any]:
        """The request for these arguments, checked before anything is sent.

        Raises:
            TypeError: arguments the command does not take.
            ValueError: an argument out of range or malformed.
        """
        if not self.options and arguments:
            raise TypeError(f"{self.name} takes no arguments, got {', '.join(arguments)}")
        return self.build(**arguments)


def _simple(name: CommandName, command: PreparedCommand[Any], help_: str) -> CommandSpec:
    """A command without arguments or body: one request, built once."""
    return CommandSpec(name, CommandRoute(command.method, command.suffix), help_, lambda: command)


_SPECS: tuple[CommandSpec, ...] = (
    _simple("lock", LOCK, "lock the doors"),
    _simple("unlock", UNLOCK, "unlock the doors"),
    _simple("start_charge", START_CHARGE, "start charging (the cable must be plugged in)"),
    _simple("stop_charge", STOP_CHARGE, "stop charging"),
    CommandSpec(
        "set_charge_limit",
        _SET_LIMIT,
        "set the charge limit (--percent 50..100)",
        charge_limit_command,
        (Option("percent", PERCENT.from_text, "an integer from 50 to 100"),),
    ),
    CommandSpec(
        "set_destination",
        _SET_DESTINATION,
        "send a destination to the navigation (--latitude, --longitude)",
        destination_command,
        (_LATITUDE_OPTION, _LONGITUDE_OPTION),
    ),
    _simple("open_charge_port", OPEN_CHARGE_PORT, "open the charge port"),
    _simple("close_charge_port", CLOSE_CHARGE_PORT, "close the charge port"),
    CommandSpec(
        "set_charge_schedule",
        _SET_SCHEDULE,
        "create a charge schedule (--kind daily|weekly|workweek, --latitude, --longitude)",
        schedule_command,
        (
            Option("kind", _kind_text, "daily, weekly or workweek", metavar="KIND"),
            _LATITUDE_OPTION,
            _LONGITUDE_OPTION,
            Option("start_time", lambda t: hhmm(t, "start"), "daily: HH:MM", required=False),
            Option("stop_time", lambda t: hhmm(t, "stop"), "daily: HH:MM", required=False),
            Option(
                "days",
                _day_window_text,
                "weekly, once a day: DAY=START-STOP, e.g. monday=08:00-10:00",
                required=False,
                repeated=True,
                combine=_one_window_a_day,
                metavar="DAY=START-STOP",
            ),
            _window_option("weekdays", "workweek: START-STOP on Monday to Friday"),
            _window_option("weekends", "workweek: START-STOP on the weekend"),
        ),
    ),
    CommandSpec(
        "delete_charge_schedule",
        _DELETE_SCHEDULE,
        "delete a charge schedule by its id",
        delete_schedule_command,
        (Option("schedule_id", str, "the schedule's id", positional=True, metavar="SCHEDULE_ID"),),
    ),
)

#: Every command, by `CommandName`, in the order the CLI lists them.
COMMAND_SPECS: Mapping[str, CommandSpec] = {spec.name: spec for spec in _SPECS}

if set(COMMAND_SPECS) != set(get_args(CommandName)):  # pragma: no cover - caught at import
    raise AssertionError("CommandName and COMMAND_SPECS name different commands")

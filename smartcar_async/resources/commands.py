"""``client.commands``: lock, unlock, charging, navigation and charge schedules.

Every command is a POST (a DELETE for removing a charge schedule) sent with
``command=True``: once it may have reached the vehicle it is never sent again, whatever
fails afterwards (a read timeout, a 5xx), and it gets the long command timeout, because
the API holds a long-running command's connection open (``202``, no Content-Length) and
streams the final result on it. The body of a 200/202 is always read: it can still say
the command failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._error_types import APIResponseError, CommandFailedError, ErrorDetail
from .._errors import describe_error, details_from_json
from .._experimental import warn_experimental
from .._paths import path_segment
from ._base import RawView, Resource, one_request
from ._command_registry import (
    CLOSE_CHARGE_PORT,
    COMMAND_SPECS,
    LOCK,
    OPEN_CHARGE_PORT,
    START_CHARGE,
    STOP_CHARGE,
    UNLOCK,
    ChargeSchedule,
    ChargeWindow,
    CommandName,
    PreparedCommand,
    ScheduleKind,
    charge_limit_command,
    delete_schedule_command,
    destination_command,
    schedule_command,
)
from ._common import check_user_id, read_json, target_ids
from ._types import CommandExecution, parse_command_execution

if TYPE_CHECKING:
    import httpx
    from typing_extensions import Unpack

    from .._fanout import FanOut, FanOutProgress
    from .vehicles import VehicleTargetT

__all__ = ["ChargeSchedule", "ChargeWindow", "CommandName", "Commands", "ScheduleKind"]

T = TypeVar("T")

_FAILED = frozenset({"FAILURE", "FAILED", "ERROR"})
_EXECUTION_TYPES = frozenset({"command-execution", "charge-schedule-execution"})


# -- parsing the answer -------------------------------------------------------------------


def _failure(
    response: httpx.Response,
    errors: list[ErrorDetail],
    *,
    command_status: str | None,
    what: str,
) -> CommandFailedError:
    header_id = response.headers.get("sc-request-id")
    text = describe_error(
        response.status_code,
        errors or [ErrorDetail(code="no error code")],
        header_id,
        prefix=f"{what} failed",
        command_status=command_status,
    )
    return CommandFailedError(
        text,
        status_code=response.status_code,
        errors=errors,
        command_status=command_status,
        request_id=header_id,
    )


def _is_error_body(payload: Mapping[str, Any], resource: Mapping[str, Any]) -> bool:
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        return True
    if payload.get("error"):
        return True
    # A bare ``{"type": "VEHICLE_STATE", "code": "UNREACHABLE"}``; a bare execution
    # resource has ``type`` too, but with its ``attributes`` beside it.
    return (
        resource is payload
        and "attributes" not in payload
        and ("code" in payload or payload.get("type") not in (None, *_EXECUTION_TYPES))
    )


def _status_errors(resource: Mapping[str, Any]) -> list[ErrorDetail]:
    attributes = resource.get("attributes")
    attributes = attributes if isinstance(attributes, Mapping) else resource
    status = attributes.get("status")
    if isinstance(status, Mapping):
        found = details_from_json({"error": status.get("error"), "errors": status.get("errors")})
        if found:
            return found
    return details_from_json({"error": attributes.get("error"), "errors": attributes.get("errors")})


def parse_command_response(response: httpx.Response) -> CommandExecution:
    """The `CommandExecution` of a 200/202, or `CommandFailedError` if the body says so.

    Error bodies in every shape the reference lists fail: the v3 ``errors[]`` envelope,
    an ``error`` object, a bare ``{"type", "code"}``, and an execution whose
    ``status.value`` is ``FAILURE``/``ERROR``. ``PENDING`` is returned as is.
    """
    payload = read_json(response)
    if not isinstance(payload, Mapping):
        raise APIResponseError(
            f"expected a command execution object, got {type(payload).__name__}",
            status_code=response.status_code,
            request_id=response.headers.get("sc-request-id"),
        )
    data = payload.get("data")
    resource: Mapping[str, Any] = data if isinstance(data, Mapping) else payload
    if _is_error_body(payload, resource):
        raise _failure(
            response, details_from_json(payload), command_status=None, what=response.url.path
        )
    if "attributes" not in resource and "id" not in resource and "status" not in resource:
        raise APIResponseError(
            "a command answered without an execution or an error in its body",
            status_code=response.status_code,
            request_id=response.headers.get("sc-request-id"),
        )
    execution = parse_command_execution(resource)
    if execution.status is not None and execution.status.upper() in _FAILED:
        raise _failure(
            response,
            _status_errors(resource),
            command_status=execution.status,
            what=execution.command_type or execution.schedule_type or response.url.path,
        )
    return execution


def parse_optional_command_response(response: httpx.Response) -> CommandExecution | None:
    """Like `parse_command_response`, but an empty body (``204``) gives None."""
    if response.status_code == 204 or not response.content.strip():
        return None
    return parse_command_response(response)


def _warn_if_experimental(command: PreparedCommand[Any]) -> None:
    if command.experimental is not None:
        warn_experimental(f"POST .../{command.suffix}", command.experimental)


# -- the resource ---------------------------------------------------------------------------


class Commands(Resource):
    """Commands to a vehicle (``/vehicles/{id}/commands/...``, ``/charge-schedules``).

    Every method needs the ``user_id`` who connected the vehicle (sent as
    ``sc-user-id``) and returns a `CommandExecution`. A command is never re-sent once
    it may have reached the vehicle; a 200/202 whose body reports a failure raises
    `CommandFailedError` (its ``type``/``code`` say why, e.g. ``VEHICLE_STATE``/
    ``UNREACHABLE``); a non-2xx raises the typed `APIStatusError`.

    Examples:
        >>> execution = await client.commands.lock(vehicle_id, user_id=user_id)
        >>> execution.status
        'SUCCESS'
    """

    if TYPE_CHECKING:  # the typed view; at run time the base property's RawView

        @property
        def with_raw_response(self) -> _RawCommands: ...

    async def _send(self, segment: str, user_id: str, command: PreparedCommand[T]) -> T:
        # The registry types each command by what its answer parses into; the parser
        # is picked here, where the answers are read.
        parse: Callable[[httpx.Response], Any] = (
            parse_optional_command_response if command.may_be_empty else parse_command_response
        )
        return await self._client._call(
            command.method,
            "vehicle",
            f"/vehicles/{segment}/{command.suffix}",
            parse,
            json=command.body,
            user_id=user_id,
            command=True,
        )

    async def _run(self, vehicle_id: str, user_id: str, command: PreparedCommand[T]) -> T:
        segment = path_segment(vehicle_id, "vehicle_id")
        user_id = check_user_id(user_id)
        # One command to one vehicle, its ids checked: warned about here (run_many
        # warns once for all of its own).
        _warn_if_experimental(command)
        return await self._send(segment, user_id, command)

    @one_request
    async def lock(self, vehicle_id: str, *, user_id: str) -> CommandExecution:
        """Lock the doors (``POST .../commands/security/lock``).

        Raises:
            ValueError: a bad ``vehicle_id`` or a missing ``user_id`` (before sending).
            CommandFailedError: the API answered 200/202 with a failure in the body.
            APIStatusError: a non-2xx answer (`VehicleStateError` when asleep...).

        Examples:
            >>> await client.commands.lock(vehicle_id, user_id=user_id)
        """
        return await self._run(vehicle_id, user_id, LOCK)

    @one_request
    async def unlock(self, vehicle_id: str, *, user_id: str) -> CommandExecution:
        """Unlock the doors (``POST .../commands/security/unlock``).

        Examples:
            >>> await client.commands.unlock(vehicle_id, user_id=user_id)
        """
        return await self._run(vehicle_id, user_id, UNLOCK)

    @one_request
    async def start_charge(self, vehicle_id: str, *, user_id: str) -> CommandExecution:
        """Start charging (``POST .../commands/charge/start``).

        Examples:
            >>> await client.commands.start_charge(vehicle_id, user_id=user_id)
        """
        return await self._run(vehicle_id, user_id, START_CHARGE)

    @one_request
    async def stop_charge(self, vehicle_id: str, *, user_id: str) -> CommandExecution:
        """Stop charging (``POST .../commands/charge/stop``).

        Examples:
            >>> await client.commands.stop_charge(vehicle_id, user_id=user_id)
        """
        return await self._run(vehicle_id, user_id, STOP_CHARGE)

    @one_request
    async def set_charge_limit(
        self, vehicle_id: str, percent: int, *, user_id: str
    ) -> CommandExecution:
        """Set the charge limit (``POST .../commands/charge/set-limit``).

        Args:
            vehicle_id: the vehicle.
            percent: an integer from 50 to 100.
            user_id: the user who connected the vehicle.

        Raises:
            ValueError: ``percent`` is not an integer from 50 to 100 (before sending).

        Examples:
            >>> await client.commands.set_charge_limit(vehicle_id, 80, user_id=user_id)
        """
        return await self._run(vehicle_id, user_id, charge_limit_command(percent))

    @one_request
    async def set_destination(
        self, vehicle_id: str, *, latitude: float, longitude: float, user_id: str
    ) -> CommandExecution:
        """Send a destination to the navigation system
        (``POST .../commands/navigation/set-destination``).

        Raises:
            ValueError: latitude outside [-90, 90] or longitude outside [-180, 180].

        Examples:
            >>> await client.commands.set_destination(
            ...     vehicle_id, latitude=48.8584, longitude=2.2945, user_id=user_id
            ... )
        """
        return await self._run(
            vehicle_id, user_id, destination_command(latitude=latitude, longitude=longitude)
        )

    @one_request
    async def open_charge_port(self, vehicle_id: str, *, user_id: str) -> CommandExecution:
        """Open the charge port (``POST .../commands/charge-port/open``). **Experimental**:
        no Smartcar source lists this endpoint; each call warns `ExperimentalWarning`.

        Examples:
            >>> await client.commands.open_charge_port(vehicle_id, user_id=user_id)
        """
        return await self._run(vehicle_id, user_id, OPEN_CHARGE_PORT)

    @one_request
    async def close_charge_port(self, vehicle_id: str, *, user_id: str) -> CommandExecution:
        """Close the charge port (``POST .../commands/charge-port/close``).
        **Experimental**, like `open_charge_port`.

        Examples:
            >>> await client.commands.close_charge_port(vehicle_id, user_id=user_id)
        """
        return await self._run(vehicle_id, user_id, CLOSE_CHARGE_PORT)

    @one_request
    async def set_charge_schedule(
        self, vehicle_id: str, *, user_id: str, **schedule: Unpack[ChargeSchedule]
    ) -> CommandExecution:
        """Create a location-based charge schedule (``POST .../charge-schedules/{kind}``).

        Support depends on the make (daily, weekly and workweek on Tesla; daily on
        Volvo); others raise `CompatibilityError`. Times are ``"HH:MM"`` strings or
        `datetime.time` values. The returned execution's ``schedule_id`` is what
        `delete_charge_schedule` takes.

        Args:
            vehicle_id: the vehicle.
            user_id: the user who connected the vehicle.
            **schedule: the `ChargeSchedule` keywords:
                ``kind``: ``"daily"``, ``"weekly"`` or ``"workweek"``.
                ``latitude``, ``longitude``: where the schedule applies (``location``).
                ``start_time``, ``stop_time``: ``daily`` only: when charging starts and
                stops (``startTime``, ``stopTime``).
                ``days``: ``weekly`` only: a window per weekday, keyed by lower-case day
                name, e.g. ``{"monday": ("08:00", "10:00")}``, sent as ``days``.
                ``weekdays``, ``weekends``: ``workweek`` only (both required): the
                windows for Monday to Friday and for the weekend.

        A window ``(start, stop)`` is sent as ``{"startTime", "stopTime"}`` like the
        daily body; the documentation does not spell out the weekly and workweek
        inner shapes, so a mapping is sent exactly as given if the API wants another.

        Raises:
            ValueError: a missing, unexpected or malformed argument for ``kind``.

        Examples:
            >>> execution = await client.commands.set_charge_schedule(
            ...     vehicle_id, kind="daily", latitude=37.77, longitude=-122.42,
            ...     start_time="01:00", stop_time="05:00", user_id=user_id,
            ... )
            >>> execution.schedule_id
            'sched_123'
        """
        return await self._run(vehicle_id, user_id, schedule_command(**schedule))

    @one_request
    async def delete_charge_schedule(
        self, vehicle_id: str, schedule_id: str, *, user_id: str
    ) -> CommandExecution | None:
        """Delete a charge schedule (``DELETE .../charge-schedules/{scheduleId}``).

        Returns:
            The execution the API reports, or None when it answers with no body (204).

        Examples:
            >>> await client.commands.delete_charge_schedule(vehicle_id, "sched_123", user_id=uid)
        """
        return await self._run(vehicle_id, user_id, delete_schedule_command(schedule_id))

    def run_many(
        self,
        name: CommandName,
        targets: Iterable[VehicleTargetT] | AsyncIterable[VehicleTargetT],
        *,
        concurrency: int = 100,
        fail_fast: bool = False,
        max_rate: float | None = None,
        on_progress: Callable[[FanOutProgress], None] | None = None,
        max_rate_limit_retries: int = 5,
        max_rate_limit_wait: float = 60.0,
        **command_kwargs: Any,
    ) -> FanOut[VehicleTargetT, CommandExecution | None]:
        """Send one command to many vehicles with bounded concurrency.

        The command's arguments are checked once, before anything is sent; each
        target's failure (an asleep vehicle, a bad id) is that target's outcome, not
        the end of the run.

        Args:
            name: the command, by method name (``"lock"``, ``"set_charge_limit"``...).
            targets: each a `VehicleHandle`, a `Connection` or a
                ``(vehicle_id, user_id)`` tuple.
            concurrency: commands in flight at most.
            fail_fast: stop at the first failed target.
            max_rate: commands started per second at most.
            on_progress: called with progress counters as outcomes arrive.
            max_rate_limit_retries: retries of a target after a per-vehicle 429.
            max_rate_limit_wait: the longest per-vehicle ``Retry-After`` waited for.
            **command_kwargs: the command's arguments (``percent=80``, ``kind=...``).

        The fan-out options are `FanOutOptions`, spelt out because ``**`` takes the
        command's arguments; a test holds their names and defaults to it.

        Raises:
            ValueError: an unknown ``name`` or bad command arguments.
            TypeError: arguments the command does not take.

        Examples:
            >>> async with client.commands.run_many(
            ...     "set_charge_limit", connections, percent=80, concurrency=50
            ... ) as outcomes:
            ...     async for outcome in outcomes:
            ...         print(outcome.target.vehicle_id, outcome.ok)
        """
        spec = COMMAND_SPECS.get(name)
        if spec is None:
            raise ValueError(f"unknown command {name!r}; one of: {', '.join(COMMAND_SPECS)}")
        command: PreparedCommand[CommandExecution | None] = spec.prepare(**command_kwargs)
        _warn_if_experimental(command)  # once, here, where the caller's code is
        send = self._send

        async def run(target: VehicleTargetT) -> CommandExecution | None:
            segment, user_id = target_ids(target)
            return await send(segment, user_id, command)

        return self._client.fan_out(
            targets,
            run,
            concurrency=concurrency,
            fail_fast=fail_fast,
            max_rate=max_rate,
            on_progress=on_progress,
            max_rate_limit_retries=max_rate_limit_retries,
            max_rate_limit_wait=max_rate_limit_wait,
        )


if TYPE_CHECKING:

    class _RawCommands(Commands, RawView):
        """What type checkers see of ``Commands.with_raw_response``."""

        run_many: None  # type: ignore[assignment]  # not one request: refused

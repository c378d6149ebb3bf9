"""``client.vehicles``: a vehicle's description and its signals; `VehicleHandle`."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, TypeAlias, TypeVar, cast

from .._error_types import APIResponseError
from .._paths import path_segment
from .._raw import RawResponse
from ..signals import Signal, Signals, parse_signal, parse_signals
from ._base import RawView, Resource, one_request
from ._common import check_user_id, target_ids
from ._listing import json_body
from ._signal_pages import follow_signal_pages
from ._types import CommandExecution, Connection, Vehicle, parse_vehicle

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._client import SmartcarClient
    from .._fanout import FanOut, FanOutOptions
    from ._command_registry import ChargeSchedule

__all__ = ["VehicleHandle", "VehicleTarget", "Vehicles"]

#: What the fleet helpers take as a target: a `VehicleHandle`, a `Connection`, or a
#: ``(vehicle_id, user_id)`` tuple.
VehicleTarget: TypeAlias = "VehicleHandle | Connection | tuple[str, str]"

#: The type of the targets a caller passes in: outcomes carry it back unchanged, so a
#: fan-out over connections yields outcomes whose ``target`` is a `Connection`.
VehicleTargetT = TypeVar("VehicleTargetT", bound="VehicleHandle | Connection | tuple[str, str]")


_read_vehicle = json_body(parse_vehicle)
_read_signals = json_body(parse_signals)
# parse_signal reads both the bare signal (older docs) and {"data": ...} (newer spec).
_read_signal = json_body(parse_signal)


class Vehicles(Resource):
    """Vehicles and their signals (``/vehicles/{id}``, Vehicle API).

    There is no list of vehicles in v3: find them through `Connections.list`.

    Examples:
        >>> signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
        >>> signals.value("tractionbattery-stateofcharge")
        81
    """

    if TYPE_CHECKING:  # the typed view; at run time the base property's RawView

        @property
        def with_raw_response(self) -> _RawVehicles: ...

    @one_request
    async def get(self, vehicle_id: str) -> Vehicle:
        """Make, model, year, mode and powertrain of a vehicle (no ``sc-user-id``).

        Examples:
            >>> vehicle = await client.vehicles.get(vehicle_id)
            >>> vehicle.make, vehicle.year
            ('TESLA', 2022)
        """
        return await self._get(path_segment(vehicle_id, "vehicle_id"))

    async def _get(self, segment: str) -> Vehicle:
        return await self._client._call("GET", "vehicle", f"/vehicles/{segment}", _read_vehicle)

    @one_request
    async def signals(self, vehicle_id: str, *, user_id: str) -> Signals:
        """Every signal the application can read on the vehicle.

        Args:
            vehicle_id: the vehicle.
            user_id: the user who connected it (sent as ``sc-user-id``, required).

        Raises:
            ValueError: a bad ``vehicle_id`` or a missing ``user_id`` (before any request).
            NotFoundError: no such vehicle, or it is subscribed to no webhook yet.

        Examples:
            >>> signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
            >>> soc = signals.get("tractionbattery-stateofcharge")
        """
        return await self._signals(path_segment(vehicle_id, "vehicle_id"), check_user_id(user_id))

    async def _signals(self, segment: str, user_id: str) -> Signals:
        path = f"/vehicles/{segment}/signals"
        first = await self._client._call(
            "GET", "vehicle", path, _read_signals, user_id=user_id, units=True
        )
        if isinstance(first, Signals):
            return await follow_signal_pages(self._client, path, user_id, first)
        # with_raw_response: the first page's HTTP details, and parse() gives what the
        # normal call returns, so the later pages are read now.
        raw = cast("RawResponse[Signals]", first)
        try:
            page = raw.parse()
        except APIResponseError:
            return first  # a malformed page: parse() raises it again, for the caller
        every = await follow_signal_pages(self._client, path, user_id, page)
        return cast("Signals", RawResponse(raw.http_response, lambda: every, retries=raw.retries))

    @one_request
    async def signal(self, vehicle_id: str, code: str, *, user_id: str) -> Signal:
        """One signal by code (``tractionbattery-stateofcharge``...).

        Raises:
            ValueError: a bad ``vehicle_id`` or ``code``, or a missing ``user_id``.
            NotFoundError: ``SIGNAL_NOT_FOUND`` and the like.

        Examples:
            >>> odometer = await client.vehicles.signal(
            ...     vehicle_id, "odometer-traveleddistance", user_id=user_id
            ... )
        """
        return await self._signal(
            path_segment(vehicle_id, "vehicle_id"), code, check_user_id(user_id)
        )

    async def _signal(self, segment: str, code: str, user_id: str) -> Signal:
        code_segment = path_segment(code, "code")
        return await self._client._call(
            "GET",
            "vehicle",
            f"/vehicles/{segment}/signals/{code_segment}",
            _read_signal,
            user_id=user_id,
            units=True,
        )

    def signals_many(
        self,
        targets: Iterable[VehicleTargetT] | AsyncIterable[VehicleTargetT],
        **options: Unpack[FanOutOptions],
    ) -> FanOut[VehicleTargetT, Signals]:
        """Read the signals of many vehicles with bounded concurrency, streamed.

        A bad target (no ``user_id``, a malformed id) or a failed read is that target's
        outcome, not the end of the run.

        Args:
            targets: each a `VehicleHandle`, a `Connection` or a
                ``(vehicle_id, user_id)`` tuple; an async iterable works too.
            **options: the `FanOutOptions` (``concurrency``, ``max_rate``,
                ``fail_fast``, ``on_progress``, ``max_rate_limit_retries``,
                ``max_rate_limit_wait``), as for `SmartcarClient.fan_out`.

        Examples:
            >>> async with client.vehicles.signals_many(client.connections.list()) as outcomes:
            ...     async for outcome in outcomes:
            ...         if outcome.ok:
            ...             odometer = outcome.value.value("odometer-traveleddistance")
        """
        read = self._signals

        async def read_one(target: VehicleTargetT) -> Signals:
            segment, user_id = target_ids(target)
            return await read(segment, user_id)

        return self._client.fan_out(targets, read_one, **options)


class VehicleHandle:
    """One vehicle and the user who connected it: every read and command in one object.

    Made by ``client.vehicle(vehicle_id, user_id=...)``. The ids are checked once, when
    the handle is made, so fan-out code can pass handles around and call them cheaply.
    Handles compare equal when their vehicle and user are the same.

    Attributes:
        vehicle_id: the vehicle.
        user_id: the user who connected it (sent as ``sc-user-id``).

    Examples:
        >>> car = client.vehicle(vehicle_id, user_id=user_id)
        >>> await car.lock()
        >>> (await car.signals()).value("closure-islocked")
        True
    """

    __slots__ = ("_client", "_segment", "user_id", "vehicle_id")

    def __init__(self, client: SmartcarClient, vehicle_id: str, *, user_id: str) -> None:
        self._segment = path_segment(vehicle_id, "vehicle_id")
        self.user_id = check_user_id(user_id)
        self.vehicle_id = vehicle_id
        self._client = client

    def __repr__(self) -> str:
        return f"<VehicleHandle vehicle_id={self.vehicle_id!r} user_id={self.user_id!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VehicleHandle):
            return NotImplemented
        return self.vehicle_id == other.vehicle_id and self.user_id == other.user_id

    def __hash__(self) -> int:
        return hash((self.vehicle_id, self.user_id))

    @property
    def with_raw_response(self) -> _RawVehicleHandle:
        """The same methods, each returning a `RawResponse`.

        Examples:
            >>> raw = await car.with_raw_response.signals()
        """
        return cast("_RawVehicleHandle", RawView(self))

    @one_request
    async def get(self) -> Vehicle:
        """`Vehicles.get` for this vehicle."""
        return await self._client.vehicles._get(self._segment)

    @one_request
    async def signals(self) -> Signals:
        """`Vehicles.signals` for this vehicle."""
        return await self._client.vehicles._signals(self._segment, self.user_id)

    @one_request
    async def signal(self, code: str) -> Signal:
        """`Vehicles.signal` for this vehicle.

        Examples:
            >>> await car.signal("tractionbattery-stateofcharge")
        """
        return await self._client.vehicles._signal(self._segment, code, self.user_id)

    @one_request
    async def lock(self) -> CommandExecution:
        """`Commands.lock` for this vehicle."""
        return await self._client.commands.lock(self.vehicle_id, user_id=self.user_id)

    @one_request
    async def unlock(self) -> CommandExecution:
        """`Commands.unlock` for this vehicle."""
        return await self._client.commands.unlock(self.vehicle_id, user_id=self.user_id)

    @one_request
    async def start_charge(self) -> CommandExecution:
        """`Commands.start_charge` for this vehicle."""
        return await self._client.commands.start_charge(self.vehicle_id, user_id=self.user_id)

    @one_request
    async def stop_charge(self) -> CommandExecution:
        """`Commands.stop_charge` for this vehicle."""
        return await self._client.commands.stop_charge(self.vehicle_id, user_id=self.user_id)

    @one_request
    async def set_charge_limit(self, percent: int) -> CommandExecution:
        """`Commands.set_charge_limit` for this vehicle.

        Examples:
            >>> await car.set_charge_limit(80)
        """
        return await self._client.commands.set_charge_limit(
            self.vehicle_id, percent, user_id=self.user_id
        )

    @one_request
    async def set_destination(self, *, latitude: float, longitude: float) -> CommandExecution:
        """`Commands.set_destination` for this vehicle."""
        return await self._client.commands.set_destination(
            self.vehicle_id, latitude=latitude, longitude=longitude, user_id=self.user_id
        )

    @one_request
    async def open_charge_port(self) -> CommandExecution:
        """`Commands.open_charge_port` for this vehicle."""
        return await self._client.commands.open_charge_port(self.vehicle_id, user_id=self.user_id)

    @one_request
    async def close_charge_port(self) -> CommandExecution:
        """`Commands.close_charge_port` for this vehicle."""
        return await self._client.commands.close_charge_port(self.vehicle_id, user_id=self.user_id)

    @one_request
    async def set_charge_schedule(self, **schedule: Unpack[ChargeSchedule]) -> CommandExecution:
        """`Commands.set_charge_schedule` for this vehicle.

        Examples:
            >>> await car.set_charge_schedule(
            ...     kind="workweek", latitude=37.77, longitude=-122.42,
            ...     weekdays=("01:00", "05:00"), weekends=("09:00", "12:00"),
            ... )
        """
        return await self._client.commands.set_charge_schedule(
            self.vehicle_id, user_id=self.user_id, **schedule
        )

    @one_request
    async def delete_charge_schedule(self, schedule_id: str) -> CommandExecution | None:
        """`Commands.delete_charge_schedule` for this vehicle."""
        return await self._client.commands.delete_charge_schedule(
            self.vehicle_id, schedule_id, user_id=self.user_id
        )


if TYPE_CHECKING:

    class _RawVehicles(Vehicles, RawView):
        """What type checkers see of ``Vehicles.with_raw_response``."""

        signals_many: None  # type: ignore[assignment]  # not one request: refused

    class _RawVehicleHandle(VehicleHandle, RawView):
        """What type checkers see of ``VehicleHandle.with_raw_response``."""

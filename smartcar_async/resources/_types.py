"""The models the resources return, and the functions that parse them.

Each model is a frozen attrs class built by the SDK's one converter
(`smartcar_async._models`). A JSON:API resource is flattened first (attributes, meta,
ids of relationships); unknown fields are ignored and enum-like values stay plain
strings, so a new value from the API never breaks parsing. ``raw`` keeps the resource
JSON the model came from.

The classes say ``attrs.frozen(kw_only=True)`` (what ``_models.model`` is) in full:
mypy's attrs plugin does not see through the alias and would not know their fields.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from .._models import (
    RAW,
    ToDict,
    VehicleDescription,
    flatten_resource,
    own_fields_first,
    related_id,
    structure,
    unwrap,
)

__all__ = [
    "CommandExecution",
    "Connection",
    "SignalRef",
    "Subscription",
    "SubscriptionRequest",
    "Vehicle",
    "VehicleInfo",
    "Webhook",
    "parse_command_execution",
    "parse_connection",
    "parse_subscription",
    "parse_vehicle",
    "parse_webhook",
]


def _flat(resource: Mapping[str, Any]) -> dict[str, Any]:
    # Older docs send some resources without ``attributes``: then the fields are at the
    # top level already, and a shallow copy is all that is needed.
    if "attributes" in resource:
        return flatten_resource(resource)
    return dict(resource)


@attrs.frozen(kw_only=True)
class VehicleInfo(VehicleDescription):
    """The vehicle a connection or subscription is about (its id is on the resource).

    Attributes:
        make / model / year / mode / powertrain_type: as on `Vehicle` (``"TESLA"``,
            ``"Model 3"``, ``2023``, ``"live"``, ``"BEV"``); None when left out.
    """


@attrs.frozen(kw_only=True, field_transformer=own_fields_first)
class Vehicle(VehicleDescription):
    """A vehicle, from ``GET /vehicles/{vehicleId}``.

    Attributes:
        id: the vehicle id.
        make / model / year: what it is.
        mode: ``"live"`` or ``"simulated"``.
        powertrain_type: ``"BEV"``, ``"ICE"``, ``"PHEV"``...
    """

    id: str

    @classmethod
    def _flatten(cls, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        return flatten_resource(resource) if "attributes" in resource else resource


@attrs.frozen(kw_only=True)
class _UserVehicleResource(ToDict):
    """What `Connection` and `Subscription` share: a JSON:API resource about one user's
    vehicle, with the vehicle's description and the resource's ``meta`` dates. Each
    names its relationships in ``_related``; their ids become ``<name>_id`` fields.
    """

    vehicle: VehicleInfo = attrs.field(factory=VehicleInfo)
    created_at: _dt.datetime | None = None
    updated_at: _dt.datetime | None = None
    raw: Mapping[str, Any] = RAW
    _related: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def _flatten(cls, resource: Mapping[str, Any]) -> dict[str, Any]:
        """The flat fields of the resource, plus ``<name>Id`` per relation.

        Examples:
            >>> resource = {"id": "s1", "relationships": {"user": {"data": {"id": "u1"}}}}
            >>> Subscription._flatten(resource)["userId"]
            'u1'
        """
        flat = _flat(resource)
        # "vehicle": null reads as no vehicle info (an empty VehicleInfo), not as an error.
        if "vehicle" in flat and flat["vehicle"] is None:
            del flat["vehicle"]
        for name in cls._related:
            related_value = related_id(resource, name)
            if related_value is not None:
                flat[name + "Id"] = related_value
        return flat


@attrs.frozen(kw_only=True, field_transformer=own_fields_first)
class Connection(_UserVehicleResource):
    """A vehicle connected to the application by one of its users.

    Attributes:
        id: the connection id.
        user_id: the user who connected the vehicle (send it as ``user_id``).
        vehicle_id: the connected vehicle.
        permissions: the permissions the user granted (``read_vehicle_info``...).
        vehicle: make, model, year, mode and powertrain of the vehicle (fields None
            when the API left them out).
        created_at / updated_at: from the resource's ``meta``.
    """

    id: str
    user_id: str
    vehicle_id: str
    permissions: tuple[str, ...] = ()
    _related = ("user", "vehicle")


@attrs.frozen(kw_only=True)
class CommandExecution(ToDict):
    """The result of a command or a charge-schedule change.

    A command that failed is never returned: it raises `CommandFailedError` (or the
    typed `APIStatusError` for a non-2xx answer). ``status`` is then ``"SUCCESS"``, or
    ``"PENDING"`` when the API accepted the command for asynchronous execution.

    Attributes:
        id: the execution id.
        type: ``"command-execution"`` or ``"charge-schedule-execution"``.
        command_type: e.g. ``"security-lock"``, ``"charge-set-limit"``.
        status: ``status.value`` of the body (``SUCCESS``, ``PENDING``...).
        execution_mode: ``"sync"`` or ``"async"``.
        parameters: the parameters the API recorded (``{"percent": 80}``).
        executed_at / completed_at: from ``meta``.
        duration_seconds: ``meta.durationInSeconds``.
        action: charge schedules only: ``"create"``, ``"delete"``...
        schedule_type: charge schedules only: the kind (daily, weekly, workweek), spelled
            as the API sends it.
        schedule_id: charge schedules only: the id to delete the schedule with.
    """

    id: str | None = None
    type: str | None = None
    command_type: str | None = None
    status: str | None = None
    execution_mode: str | None = None
    parameters: Mapping[str, Any] | None = None
    executed_at: _dt.datetime | None = None
    completed_at: _dt.datetime | None = None
    duration_seconds: float | None = None
    action: str | None = None
    schedule_type: str | None = None
    schedule_id: str | None = None
    raw: Mapping[str, Any] = RAW

    @property
    def succeeded(self) -> bool:
        """Whether the vehicle carried the command out (``status == "SUCCESS"``)."""
        return self.status is not None and self.status.upper() == "SUCCESS"

    @property
    def pending(self) -> bool:
        """Whether the command is still running asynchronously (``status == "PENDING"``)."""
        return self.status is not None and self.status.upper() == "PENDING"

    @classmethod
    def _flatten(cls, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        flat = _flat(resource)
        status = flat.get("status")
        if isinstance(status, Mapping):
            flat["status"] = status.get("value")
        if "durationInSeconds" in flat:
            flat["durationSeconds"] = flat["durationInSeconds"]
        return flat


@attrs.frozen(kw_only=True)
class SignalRef(ToDict):
    """A signal named in a webhook's ``triggers`` or ``data``.

    Attributes:
        code: ``"tractionbattery-stateofcharge"``.
        name: ``"StateOfCharge"``.
        group: ``"TractionBattery"``.
    """

    code: str | None = None
    name: str | None = None
    group: str | None = None


@attrs.frozen(kw_only=True)
class Webhook(ToDict):
    """A webhook of the application (Management API).

    Attributes:
        id: the webhook id.
        name: its name in the Dashboard.
        callback_uri: where events are delivered.
        is_enabled: whether deliveries are on.
        triggers: the signals whose change sends an event.
        data: the signals every event carries.
        error_callback_uri: where ``VEHICLE_ERROR`` events go, if set apart.
        auto_subscribe: whether new vehicles are subscribed automatically.
        created_at: from ``meta``.
    """

    id: str
    name: str | None = None
    callback_uri: str | None = None
    is_enabled: bool | None = None
    triggers: tuple[SignalRef, ...] = ()
    data: tuple[SignalRef, ...] = ()
    error_callback_uri: str | None = None
    auto_subscribe: bool | None = None
    created_at: _dt.datetime | None = None
    raw: Mapping[str, Any] = RAW

    @classmethod
    def _flatten(cls, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        flat = _flat(resource)
        for key in ("triggers", "data"):
            refs = flat.get(key)
            # A bare code string where an object is documented is read as that code.
            if isinstance(refs, list) and not all(isinstance(ref, Mapping) for ref in refs):
                flat[key] = [ref if isinstance(ref, Mapping) else {"code": ref} for ref in refs]
        return flat


@attrs.frozen(kw_only=True, field_transformer=own_fields_first)
class Subscription(_UserVehicleResource):
    """A vehicle subscribed to a webhook (Management API).

    Attributes:
        id: the subscription id.
        webhook_id / user_id / vehicle_id: from ``relationships``.
        vehicle: make, model, year, mode and powertrain of the vehicle.
        created_at / updated_at: from ``meta``.
    """

    id: str
    webhook_id: str | None = None
    user_id: str | None = None
    vehicle_id: str | None = None
    _related = ("webhook", "user", "vehicle")


@attrs.frozen(kw_only=True)
class SubscriptionRequest(ToDict):
    """The API's answer to ``POST /subscriptions``: accepted, done later.

    Attributes:
        message: the API's ``meta.message`` (``"subscription creation in progress"``).
        webhook_id / vehicle_id / user_id: what was asked for.
        status_code: 202 normally.
        subscription: the `Subscription`, if the API answered with one.
    """

    message: str | None
    webhook_id: str
    vehicle_id: str
    user_id: str
    status_code: int
    subscription: Subscription | None = None
    raw: Mapping[str, Any] = RAW


def parse_connection(resource: object) -> Connection:
    """A `Connection` from one resource object."""
    return structure(resource, Connection)


def parse_vehicle(payload: object) -> Vehicle:
    """A `Vehicle` from ``GET /vehicles/{id}``, with or without the ``data`` wrapper."""
    return structure(unwrap(payload), Vehicle)


def parse_command_execution(resource: object) -> CommandExecution:
    """A `CommandExecution` from one resource object (already unwrapped)."""
    return structure(resource, CommandExecution)


def parse_webhook(resource: object) -> Webhook:
    """A `Webhook` from one resource object."""
    return structure(resource, Webhook)


def parse_subscription(resource: object) -> Subscription:
    """A `Subscription` from one resource object."""
    return structure(resource, Subscription)

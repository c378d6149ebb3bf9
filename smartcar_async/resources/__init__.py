"""The API's resources, one module each; `SmartcarClient` exposes them as attributes.

The models they return are exported here too (and, for the public ones, from
``smartcar_async``).
"""

from ._base import RawView
from ._types import (
    CommandExecution,
    Connection,
    SignalRef,
    Subscription,
    SubscriptionRequest,
    Vehicle,
    VehicleInfo,
    Webhook,
)
from .commands import ChargeSchedule, ChargeWindow, CommandName, Commands, ScheduleKind
from .connections import ConnectionFilters, Connections
from .management import SubscriptionFilters, Subscriptions, WebhookFilters, Webhooks
from .users import Users
from .vehicles import VehicleHandle, Vehicles, VehicleTarget

__all__ = [
    "ChargeSchedule",
    "ChargeWindow",
    "CommandExecution",
    "CommandName",
    "Commands",
    "Connection",
    "ConnectionFilters",
    "Connections",
    "RawView",
    "ScheduleKind",
    "SignalRef",
    "Subscription",
    "SubscriptionFilters",
    "SubscriptionRequest",
    "Subscriptions",
    "Users",
    "Vehicle",
    "VehicleHandle",
    "VehicleInfo",
    "VehicleTarget",
    "Vehicles",
    "Webhook",
    "WebhookFilters",
    "Webhooks",
]

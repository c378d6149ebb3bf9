"""The API's resources, one module each; `SmartcarClient` exposes them as attributes.

The models they return are exported here too (and, for the public ones, from
``smartcar_async``).
"""

import warnings
from typing import TYPE_CHECKING

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
from .management import SubscriptionFilters, Subscriptions, WebhookEndpoints, WebhookFilters
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
    "WebhookEndpoints",
    "WebhookFilters",
]


# ``Webhooks`` was the old name of `WebhookEndpoints`: it read like the receiver module
# `smartcar_async.webhooks`. Still importable, and typed as before; at run time reading
# it warns DeprecationWarning.
if TYPE_CHECKING:
    Webhooks = WebhookEndpoints


def __getattr__(name: str) -> object:
    if name == "Webhooks":
        warnings.warn(
            "smartcar_async.resources.Webhooks is deprecated, use WebhookEndpoints",
            DeprecationWarning,
            stacklevel=2,
        )
        return WebhookEndpoints
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The API's resources, one module each; `SmartcarClient` exposes them as attributes."""

from .commands import Commands
from .connections import Connections
from .management import Subscriptions, Webhooks
from .users import Users
from .vehicles import Vehicles

__all__ = ["Commands", "Connections", "Subscriptions", "Users", "Vehicles", "Webhooks"]

"""A stateful fake of Smartcar's API v3, for tests, demos and benchmarks.

```python
from smartcar_async.testing import Fault, SmartcarEmulator, VirtualClock

emulator = SmartcarEmulator(vehicles=100, seed=1, clock=VirtualClock())
async with httpx.AsyncClient(transport=emulator.transport()) as http: ...   # in-process
respx_mock.route(host__regex=r"emulator\\.invalid").mock(side_effect=emulator.respx_side_effect)
async with emulator.serve() as base_url: ...                             # real HTTP on loopback
url = authorization_url(**emulator.connect_kwargs(), state=state)          # emulated Connect
emulator.add_fault(Fault.status(503), route="GET /vehicles/{id}/signals", times=1)
assert emulator.stats.requests["GET /vehicles/{id}/signals"] == 2
```

Routes: ``/oauth2/token`` (token), ``/v3/...`` (Vehicle API), ``/management/v3/...``
(Management API), ``/oauth/authorize`` and ``/oauth/reauthenticate`` (Connect); see
``docs/guides/emulator.md``.
"""

from __future__ import annotations

from .._clock import VirtualClock
from ._app import DroppedConnection
from ._connect import CONNECT_URL, DEFAULT_REDIRECT_URI, ConsentRecord
from ._emulator import (
    MANAGEMENT_API_URL,
    TOKEN_URL,
    VEHICLE_API_URL,
    FleetEntry,
    SmartcarEmulator,
)
from ._faults import Fault, FaultPlacement, FaultRule, FaultSet, RateLimits
from ._stats import CommandRecord, EmulatorStats
from ._transport import EmulatorTransport
from ._webhooks import Delivery, DeliveryAttempt, EmulatedEvent

__all__ = [
    "CONNECT_URL",
    "DEFAULT_REDIRECT_URI",
    "MANAGEMENT_API_URL",
    "TOKEN_URL",
    "VEHICLE_API_URL",
    "CommandRecord",
    "ConsentRecord",
    "Delivery",
    "DeliveryAttempt",
    "DroppedConnection",
    "EmulatedEvent",
    "EmulatorStats",
    "EmulatorTransport",
    "Fault",
    "FaultPlacement",
    "FaultRule",
    "FaultSet",
    "FleetEntry",
    "RateLimits",
    "SmartcarEmulator",
    "VirtualClock",
    "WebhookEvent",
]

#: The name `EmulatedEvent` had before 0.2, kept so existing tests keep working. It
#: collided with `smartcar_async.webhooks.WebhookEvent`, the parsed event a receiver
#: gets; new code says `EmulatedEvent`.
WebhookEvent = EmulatedEvent

for _name in __all__:
    _obj = globals()[_name]
    # Public names read as smartcar_async.testing.X in reprs and tracebacks.
    if getattr(_obj, "__module__", "").startswith("smartcar_async.testing."):
        _obj.__module__ = __name__
del _name, _obj

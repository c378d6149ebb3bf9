"""smartcar-async: the asyncio- and trio-native SDK for Smartcar's vehicle API v3.

Examples:
    >>> import smartcar_async as sc
    >>> async with sc.SmartcarClient() as client:
    ...     signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
"""

import attrs as _attrs

from . import connect, signals, webhooks
from ._auth import AccessToken, ClientCredentials, InMemoryTokenStore, TokenManager, TokenStore
from ._client import SmartcarClient
from ._clock import Clock, SystemClock, VirtualClock
from ._error_types import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingError,
    ClientStateError,
    CommandFailedError,
    CompatibilityError,
    ConfigurationError,
    ConnectedServicesAccountError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SmartcarError,
    TokenConnectionError,
    TokenError,
    UpstreamError,
    ValidationError,
    VehicleStateError,
    WebhookPayloadError,
    WebhookVerificationError,
)
from ._experimental import ExperimentalWarning
from ._fanout import FanOut, FanOutOptions, FanOutProgress, Outcome, OutcomeFailure, OutcomeSuccess
from ._pacing import LocalRateLimiter, RateLimiter
from ._pagination import AsyncPaginator, Page
from ._pipeline import CallState, Middleware, Next
from ._raw import RawResponse
from ._retry import RetryPolicy
from ._version import __version__
from .connect import ConnectError, ConnectResult, ConnectStateError
from .resources import (
    ChargeWindow,
    CommandExecution,
    CommandName,
    Connection,
    ScheduleKind,
    SignalRef,
    Subscription,
    SubscriptionRequest,
    Vehicle,
    VehicleHandle,
    VehicleInfo,
    VehicleTarget,
    Webhook,
)
from .signals import Signal, Signals

__all__ = [
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AccessToken",
    "AsyncPaginator",
    "AuthenticationError",
    "BillingError",
    "CallState",
    "ChargeWindow",
    "ClientCredentials",
    "ClientStateError",
    "Clock",
    "CommandExecution",
    "CommandFailedError",
    "CommandName",
    "CompatibilityError",
    "ConfigurationError",
    "ConnectError",
    "ConnectResult",
    "ConnectStateError",
    "ConnectedServicesAccountError",
    "Connection",
    "ErrorDetail",
    "ExperimentalWarning",
    "FanOut",
    "FanOutOptions",
    "FanOutProgress",
    "InMemoryTokenStore",
    "InvalidRequestError",
    "LocalRateLimiter",
    "Middleware",
    "Next",
    "NotFoundError",
    "Outcome",
    "OutcomeFailure",
    "OutcomeSuccess",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "RawResponse",
    "RetryPolicy",
    "ScheduleKind",
    "ServerError",
    "Signal",
    "SignalRef",
    "Signals",
    "SmartcarClient",
    "SmartcarError",
    "Subscription",
    "SubscriptionRequest",
    "SystemClock",
    "TokenConnectionError",
    "TokenError",
    "TokenManager",
    "TokenStore",
    "UpstreamError",
    "ValidationError",
    "Vehicle",
    "VehicleHandle",
    "VehicleInfo",
    "VehicleStateError",
    "VehicleTarget",
    "VirtualClock",
    "Webhook",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "connect",
    "signals",
    "webhooks",
    "__version__",
]

# Public names read as smartcar_async.X in reprs and tracebacks, not as the private
# module that happens to define them. String annotations are resolved in the module
# named by __module__, so an attrs class has its annotations resolved first, while
# __module__ still names the module whose imports they refer to.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith(
        ("smartcar_async._", "smartcar_async.resources.")
    ):
        if _attrs.has(_obj):
            _attrs.resolve_types(_obj)
        _obj.__module__ = __name__
del _name, _obj

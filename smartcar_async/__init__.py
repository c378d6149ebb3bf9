"""smartcar-async: the asyncio- and trio-native SDK for Smartcar's vehicle API v3.

Example:
    >>> import smartcar_async as sc
    >>> async with sc.SmartcarClient() as client:
    ...     signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
"""

from . import signals, webhooks
from ._auth import AccessToken, ClientCredentials, InMemoryTokenStore, TokenManager, TokenStore
from ._client import SmartcarClient
from ._clock import Clock, SystemClock, VirtualClock
from ._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingError,
    CommandFailedError,
    CompatibilityError,
    ConfigurationError,
    ConnectedServicesAccountError,
    ErrorDetail,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SmartcarError,
    TokenError,
    UpstreamError,
    ValidationError,
    VehicleStateError,
    WebhookPayloadError,
    WebhookVerificationError,
)
from ._fanout import FanOut, FanOutProgress, Outcome
from ._pagination import AsyncPaginator, Page
from ._pipeline import CallState, Middleware, Next
from ._raw import RawResponse
from ._retry import RetryPolicy
from ._version import __version__

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
    "ClientCredentials",
    "Clock",
    "CommandFailedError",
    "CompatibilityError",
    "ConfigurationError",
    "ConnectedServicesAccountError",
    "ErrorDetail",
    "FanOut",
    "FanOutProgress",
    "InMemoryTokenStore",
    "Middleware",
    "Next",
    "NotFoundError",
    "Outcome",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RetryPolicy",
    "ServerError",
    "SmartcarClient",
    "SmartcarError",
    "SystemClock",
    "TokenError",
    "TokenManager",
    "TokenStore",
    "UpstreamError",
    "ValidationError",
    "VehicleStateError",
    "VirtualClock",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "__version__",
    "signals",
    "webhooks",
]

# Public names read as smartcar_async.X in reprs and tracebacks, not as the private
# module that happens to define them.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("smartcar_async._"):
        _obj.__module__ = __name__
del _name, _obj

"""What every resource shares: its client, and the ``with_raw_response`` view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._client import SmartcarClient

__all__ = ["Resource"]


class _RawView:
    """Calls the resource's methods, returning a `RawResponse` instead of the model.

    Works on any object whose methods make one request through ``SmartcarClient._call``
    (the resources, and `VehicleHandle`).
    """

    def __init__(self, resource: object) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        from .._client import _want_raw

        method = getattr(self._resource, name)
        if not callable(method) or name.startswith("_"):
            raise AttributeError(name)

        async def call_raw(*args: Any, **kwargs: Any) -> Any:
            token = _want_raw.set(True)
            try:
                return await method(*args, **kwargs)
            finally:
                _want_raw.reset(token)

        return call_raw


class Resource:
    """Base of ``client.connections``, ``client.vehicles`` and the others."""

    def __init__(self, client: SmartcarClient) -> None:
        self._client = client

    @property
    def with_raw_response(self) -> Any:
        """The same methods, each returning a `RawResponse` (status, headers, request id,
        retries, ``.parse()``) for the one request it makes.

        Examples:
            >>> raw = await client.vehicles.with_raw_response.get(vehicle_id)
            >>> raw.status_code, raw.request_id
        """
        return _RawView(self)

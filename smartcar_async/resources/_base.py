"""What every resource shares: its client, and the ``with_raw_response`` view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._call_context import raw_responses

if TYPE_CHECKING:
    from .._client import SmartcarClient
    from .._raw import RawResponse

__all__ = ["RawView", "Resource"]


class RawView:
    """A resource's methods, each returning the `RawResponse` of its one request.

    What ``with_raw_response`` gives, on every resource and on `VehicleHandle`. Any
    method that makes one request works; ``raw.parse()`` gives the model it would have
    returned.

    Examples:
        >>> raw = await client.vehicles.with_raw_response.get(vehicle_id)
        >>> raw.status_code, raw.request_id
        (200, '5f3c...')
    """

    def __init__(self, resource: object) -> None:
        self._resource = resource

    def __getattr__(self, name: str) -> Callable[..., Awaitable[RawResponse[Any]]]:
        method = getattr(self._resource, name)
        if not callable(method) or name.startswith("_"):
            raise AttributeError(name)

        async def call_raw(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            with raw_responses():
                raw: RawResponse[Any] = await method(*args, **kwargs)
            return raw

        return call_raw


class Resource:
    """Base of ``client.connections``, ``client.vehicles`` and the others."""

    def __init__(self, client: SmartcarClient) -> None:
        self._client = client

    @property
    def with_raw_response(self) -> RawView:
        """The same methods, each returning a `RawResponse` (status, headers, request id,
        retries, ``.parse()``) for the one request it makes.

        Examples:
            >>> raw = await client.vehicles.with_raw_response.get(vehicle_id)
            >>> raw.status_code, raw.request_id
        """
        return RawView(self)

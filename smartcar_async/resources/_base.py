"""What every resource shares: its client, and the ``with_raw_response`` view."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from .._call_context import raw_responses

if TYPE_CHECKING:
    from typing import Concatenate

    from .._client import SmartcarClient
    from .._raw import RawResponse

__all__ = ["RawView", "Resource"]

P = ParamSpec("P")
T = TypeVar("T")


class RawView:
    """A resource's methods, each returning the `RawResponse` of its one request.

    What ``with_raw_response`` gives, on every resource and on `VehicleHandle`. Any
    method that makes one request works; ``raw.parse()`` gives the model it would have
    returned, and type checkers see that model (each resource's view declares its
    methods with `raw_method`).

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


if TYPE_CHECKING:

    class raw_method(Generic[P, T]):
        """For type checkers only: ``get = raw_method(Vehicles.get)`` in a `RawView`
        subclass declares ``view.get(...)`` with ``Vehicles.get``'s parameters, returning
        ``RawResponse[Vehicle]``. At run time `RawView.__getattr__` does the forwarding;
        one declaration per method keeps each signature in one place, the resource.
        """

        def __init__(self, method: Callable[Concatenate[Any, P], Awaitable[T]]) -> None: ...

        def __get__(
            self, view: RawView, owner: type[RawView] | None = None
        ) -> Callable[P, Awaitable[RawResponse[T]]]: ...


class Resource:
    """Base of ``client.connections``, ``client.vehicles`` and the others.

    One rule for every method of every resource, stated here once: an id that goes into
    a path (``vehicle_id``, ``connection_id``, ``webhook_id``...) must be a single path
    segment of at most 256 characters, else `ValueError` before any request is made.
    """

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

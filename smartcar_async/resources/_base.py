"""What every resource shares: its client, and the ``with_raw_response`` view."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from .._call_context import raw_responses

if TYPE_CHECKING:
    from typing import Concatenate

    from .._client import SmartcarClient
    from .._raw import RawResponse

__all__ = ["RawView", "Resource", "one_request"]

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S")  # the class a method is defined on

# The attribute `one_request` sets on a method; `RawView` forwards only such methods.
_ONE_REQUEST = "_smartcar_one_request"


class RawView:
    """A resource's methods, each returning the `RawResponse` of its one request.

    What ``with_raw_response`` gives, on every resource and on `VehicleHandle`. It has
    the methods marked `one_request`; ``raw.parse()`` gives the model the method would
    have returned, and type checkers see that model (each resource types its view as
    ``class _RawVehicles(Vehicles, RawView)``). ``list``, which pages, is not on it:
    ``list_page`` is.

    Examples:
        >>> raw = await client.vehicles.with_raw_response.get(vehicle_id)
        >>> raw.status_code, raw.request_id
        (200, '5f3c...')
    """

    def __init__(self, resource: object) -> None:
        self._resource = resource

    def _forward(self, name: str) -> object:
        """The raw form of the resource's method ``name``: `__getattr__` at run time.

        A public data attribute (a handle's ``vehicle_id``) is the resource's own, as
        type checkers see it on the typed view.
        """
        method = getattr(self._resource, name)
        owner = type(self._resource)
        # A subclass that overrides a marked method without marking it keeps its raw form.
        marked = any(getattr(vars(cls).get(name), _ONE_REQUEST, False) for cls in owner.__mro__)
        public = not name.startswith("_")
        if public and not marked and not callable(method):
            return method
        if not (public and marked):
            hint = "; its one-request form is list_page" if hasattr(owner, "list_page") else ""
            raise AttributeError(
                f"{owner.__name__}.{name} is not on with_raw_response, which has only the "
                f"methods that make one request{hint}"
            )

        async def call_raw(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            with raw_responses():
                raw: RawResponse[Any] = await method(*args, **kwargs)
            return raw

        return call_raw

    if not TYPE_CHECKING:
        # Type checkers see each resource's typed view instead, where a misspelt name
        # is an error rather than an untyped method.
        __getattr__ = _forward


if TYPE_CHECKING:

    class one_request(Generic[S, P, T]):
        """Marks a resource method that makes one request, so ``with_raw_response``
        has it: type checkers see ``view.get(...)`` with ``get``'s parameters, returning
        ``RawResponse[Vehicle]``. At run time the method is unchanged.

        Examples:
            >>> class Vehicles(Resource):
            ...     @one_request
            ...     async def get(self, vehicle_id: str) -> Vehicle: ...
        """

        def __init__(self, method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]]) -> None: ...

        @overload
        def __get__(
            self, instance: None, owner: type[Any]
        ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]: ...

        @overload
        def __get__(
            self, instance: RawView, owner: type[Any] | None = None
        ) -> Callable[P, Coroutine[Any, Any, RawResponse[T]]]: ...

        @overload
        def __get__(
            self, instance: object, owner: type[Any] | None = None
        ) -> Callable[P, Coroutine[Any, Any, T]]: ...

        def __get__(self, instance: object, owner: type[Any] | None = None) -> Any: ...

else:

    def one_request(method):
        """Marks a resource method that makes one request (see the typed version)."""
        setattr(method, _ONE_REQUEST, True)
        return method


class Resource:
    """Base of ``client.connections``, ``client.vehicles`` and the others.

    Two rules for every method of every resource, stated here once: an id that goes
    into a path (``vehicle_id``, ``connection_id``, ``webhook_id``...) must be a single
    path segment of at most 256 characters, else `ValueError` before any request is
    made; and an id the API does not know raises `NotFoundError` (404).
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

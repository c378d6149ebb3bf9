"""``client.connections``: the vehicles users have connected to the application."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypedDict

from .._pagination import AsyncPaginator, Page
from .._paths import path_segment
from ._base import RawView, Resource, one_request
from ._common import no_content
from ._listing import Listing, Query, paginate, single
from ._types import Connection, parse_connection

if TYPE_CHECKING:
    from typing_extensions import Unpack


__all__ = ["ConnectionFilters", "Connections"]


class ConnectionFilters(TypedDict, total=False):
    """The filters of `Connections.list` and `Connections.list_page`, all optional."""

    user_id: Annotated[str | None, Query("filter[userId]")]
    vehicle_id: Annotated[str | None, Query("filter[vehicleId]")]
    mode: Annotated[str | None, Query("filter[vehicle.mode]", default="live")]
    external_user_id: Annotated[str | None, Query("filter[user.externalId]")]
    page_size: int | None


CONNECTIONS = Listing("vehicle", "/connections", parse_connection, ConnectionFilters)
_read_connection = single(parse_connection)


class Connections(Resource):
    """The application's vehicle connections (``/connections``, Vehicle API).

    A connection ties a vehicle to the user who connected it: its ``vehicle_id`` and
    ``user_id`` are what the signal and command calls need.

    Examples:
        >>> async for connection in client.connections.list():
        ...     print(connection.vehicle_id, connection.user_id, connection.vehicle.make)
    """

    if TYPE_CHECKING:  # the typed view; at run time the base property's RawView

        @property
        def with_raw_response(self) -> _RawConnections: ...

    def list(self, **filters: Unpack[ConnectionFilters]) -> AsyncPaginator[Connection]:
        """List connections, newest pages fetched only as the loop reaches them.

        ``await`` the result for the first `Page` (with ``total_count``), or
        ``async for`` over it for every connection. For the HTTP details of one page,
        use `list_page` through ``with_raw_response``.

        Args:
            **filters: any of `ConnectionFilters`:
                ``user_id``: only this user's connections (``filter[userId]``).
                ``vehicle_id``: only this vehicle's connections (``filter[vehicleId]``).
                ``mode``: ``"live"`` (the default, the API's too) or ``"simulated"``;
                None sends no mode filter.
                ``external_user_id``: only connections of the user with this external
                id (``filter[user.externalId]``).
                ``page_size``: connections per page (the API's default is 10).

        Raises:
            ValueError: a filter is empty or ``page_size`` is not a positive integer
                (before any request).
            TypeError: a keyword that is not a filter of this list.

        Examples:
            >>> first = await client.connections.list(page_size=100)
            >>> first.total_count
            1250
            >>> async for connection in client.connections.list(user_id=user_id):
            ...     print(connection.vehicle_id)
        """
        return paginate(CONNECTIONS, self.list_page, filters)

    @one_request
    async def list_page(
        self, page_number: int = 1, **filters: Unpack[ConnectionFilters]
    ) -> Page[Connection]:
        """One page of `list`, by number (1-based), with the same filters; one request.

        Examples:
            >>> raw = await client.connections.with_raw_response.list_page(2, page_size=50)
            >>> raw.request_id, len(raw.parse())
        """
        return await CONNECTIONS.page(self._client, page_number, filters)

    @one_request
    async def get(self, connection_id: str) -> Connection:
        """One connection by id (no ``sc-user-id`` needed).

        Examples:
            >>> connection = await client.connections.get(connection_id)
            >>> connection.permissions
            ('read_vehicle_info', 'control_security')
        """
        segment = path_segment(connection_id, "connection_id")
        return await self._client._call(
            "GET", "vehicle", f"/connections/{segment}", _read_connection
        )

    @one_request
    async def delete(self, connection_id: str) -> None:
        """Disconnect one vehicle (``DELETE /connections/{connectionId}``).

        Examples:
            >>> await client.connections.delete(connection_id)
        """
        segment = path_segment(connection_id, "connection_id")
        return await self._client._call("DELETE", "vehicle", f"/connections/{segment}", no_content)


if TYPE_CHECKING:

    class _RawConnections(Connections, RawView):
        """What type checkers see of ``Connections.with_raw_response``."""

        list: None  # type: ignore[assignment]  # not one request: refused

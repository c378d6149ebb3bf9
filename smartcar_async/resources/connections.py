"""``client.connections``: the vehicles users have connected to the application."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from .._models import unwrap
from .._pagination import AsyncPaginator, Page
from .._paths import path_segment
from ._base import Resource
from ._common import check_filter, check_page_size, fetch_page, no_content, read_json
from ._types import Connection, parse_connection

if TYPE_CHECKING:
    import httpx

__all__ = ["Connections"]


def _parse_connection_response(response: httpx.Response) -> Connection:
    return parse_connection(unwrap(read_json(response)))


class Connections(Resource):
    """The application's vehicle connections (``/connections``, Vehicle API).

    A connection ties a vehicle to the user who connected it: its ``vehicle_id`` and
    ``user_id`` are what the signal and command calls need.

    Examples:
        >>> async for connection in client.connections.list():
        ...     print(connection.vehicle_id, connection.user_id, connection.vehicle.make)
    """

    def list(
        self,
        *,
        user_id: str | None = None,
        vehicle_id: str | None = None,
        mode: str | None = "live",
        external_user_id: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[Connection]:
        """List connections, newest pages fetched only as the loop reaches them.

        ``await`` the result for the first `Page` (with ``total_count``), or
        ``async for`` over it for every connection. For the HTTP details of one page,
        use `list_page` through ``with_raw_response``.

        Args:
            user_id: only this user's connections (``filter[userId]``).
            vehicle_id: only this vehicle's connections (``filter[vehicleId]``).
            mode: ``"live"`` (the API's default too) or ``"simulated"``; None sends no
                mode filter.
            external_user_id: only connections of the user with this external id
                (``filter[user.externalId]``).
            page_size: connections per page (the API's default is 10).

        Raises:
            ValueError: a filter is empty or ``page_size`` is not a positive integer
                (before any request).

        Examples:
            >>> first = await client.connections.list(page_size=100)
            >>> first.total_count
            1250
            >>> async for connection in client.connections.list(user_id=user_id):
            ...     print(connection.vehicle_id)
        """
        params = _list_params(user_id, vehicle_id, mode, external_user_id, page_size)
        return AsyncPaginator(
            partial(
                fetch_page,
                self._client,
                "vehicle",
                "/connections",
                parse_connection,
                params,
                page_size,
            )
        )

    async def list_page(
        self,
        page_number: int = 1,
        *,
        user_id: str | None = None,
        vehicle_id: str | None = None,
        mode: str | None = "live",
        external_user_id: str | None = None,
        page_size: int | None = None,
    ) -> Page[Connection]:
        """One page of `list`, by number (1-based); one request.

        Examples:
            >>> raw = await client.connections.with_raw_response.list_page(2, page_size=50)
            >>> raw.request_id, len(raw.parse())
        """
        params = _list_params(user_id, vehicle_id, mode, external_user_id, page_size)
        return await fetch_page(
            self._client,
            "vehicle",
            "/connections",
            parse_connection,
            params,
            page_size,
            page_number,
        )

    async def get(self, connection_id: str) -> Connection:
        """One connection by id (no ``sc-user-id`` needed).

        Raises:
            ValueError: ``connection_id`` is not a single path segment (before any request).
            NotFoundError: no such connection.

        Examples:
            >>> connection = await client.connections.get(connection_id)
            >>> connection.permissions
            ('read_vehicle_info', 'control_security')
        """
        segment = path_segment(connection_id, "connection_id")
        return await self._client._call(
            "GET", "vehicle", f"/connections/{segment}", _parse_connection_response
        )

    async def delete(self, connection_id: str) -> None:
        """Disconnect one vehicle (``DELETE /connections/{connectionId}``).

        Raises:
            ValueError: ``connection_id`` is not a single path segment (before any request).
            NotFoundError: no such connection.

        Examples:
            >>> await client.connections.delete(connection_id)
        """
        segment = path_segment(connection_id, "connection_id")
        await self._client._call("DELETE", "vehicle", f"/connections/{segment}", no_content)


def _list_params(
    user_id: str | None,
    vehicle_id: str | None,
    mode: str | None,
    external_user_id: str | None,
    page_size: int | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if user_id is not None:
        params["filter[userId]"] = check_filter(user_id, "user_id")
    if vehicle_id is not None:
        params["filter[vehicleId]"] = check_filter(vehicle_id, "vehicle_id")
    if mode is not None:
        params["filter[vehicle.mode]"] = check_filter(mode, "mode")
    if external_user_id is not None:
        params["filter[user.externalId]"] = check_filter(external_user_id, "external_user_id")
    if page_size is not None:
        params["page[size]"] = check_page_size(page_size)
    return params

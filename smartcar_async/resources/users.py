"""``client.users``: remove a user and everything connected through them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._paths import path_segment
from ._base import RawView, Resource, one_request
from ._common import no_content

__all__ = ["Users"]


class Users(Resource):
    """The application's users (``/users``, Vehicle API).

    Examples:
        >>> await client.users.delete(user_id)
    """

    if TYPE_CHECKING:  # the typed view; at run time the base property's RawView

        @property
        def with_raw_response(self) -> _RawUsers: ...

    @one_request
    async def delete(self, user_id: str) -> None:
        """Remove a user: all their connections and data are purged (``204``).

        The id goes in the path; no ``sc-user-id`` header is sent.

        Examples:
            >>> await client.users.delete("0f1e2d3c-user")
        """
        segment = path_segment(user_id, "user_id")
        return await self._client._call("DELETE", "vehicle", f"/users/{segment}", no_content)


if TYPE_CHECKING:

    class _RawUsers(Users, RawView):
        """What type checkers see of ``Users.with_raw_response``."""

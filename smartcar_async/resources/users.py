"""``client.users``: remove a user and everything connected through them."""

from __future__ import annotations

from .._paths import path_segment
from ._base import Resource
from ._common import no_content

__all__ = ["Users"]


class Users(Resource):
    """The application's users (``/users``, Vehicle API).

    Examples:
        >>> await client.users.delete(user_id)
    """

    async def delete(self, user_id: str) -> None:
        """Remove a user: all their connections and data are purged (``204``).

        The id goes in the path; no ``sc-user-id`` header is sent.

        Raises:
            ValueError: ``user_id`` is not a single path segment (before any request).
            NotFoundError: no such user.

        Examples:
            >>> await client.users.delete("0f1e2d3c-user")
        """
        segment = path_segment(user_id, "user_id")
        await self._client._call("DELETE", "vehicle", f"/users/{segment}", no_content)

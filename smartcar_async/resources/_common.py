"""Small checks and helpers every resource module shares.

Private. They run on every call, so each is a few comparisons: no regex, no copies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .._error_types import APIResponseError
from .._json import loads
from .._pagination import Page, parse_page
from .._paths import path_segment, user_id_header

if TYPE_CHECKING:
    import httpx

    from .._client import SmartcarClient

T = TypeVar("T")

__all__ = [
    "check_filter",
    "check_page_number",
    "check_page_size",
    "check_user_id",
    "fetch_page",
    "no_content",
    "read_json",
    "target_ids",
]


def check_user_id(user_id: object) -> str:
    """``user_id`` as the ``sc-user-id`` header value, or `ValueError` before any request.

    Examples:
        >>> check_user_id("0f1e-2d3c")
        '0f1e-2d3c'
    """
    if user_id is None:
        raise ValueError(
            "user_id is required for this call (it is sent as sc-user-id); take it from "
            "the Connect redirect or from Connection.user_id"
        )
    return user_id_header(user_id)


def check_filter(value: object, name: str) -> str:
    """A ``filter[...]`` value: a non-empty string.

    An empty filter is refused rather than sent: ``filter[userId]=`` might be read as
    no filter at all and list every user's data.
    """
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty; pass None for no filter")
    return value


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_page_number(value: object) -> int:
    """A ``page[number]``: an integer from 1."""
    return _positive_int(value, "page_number")


def check_page_size(value: object) -> int:
    """A ``page[size]``: an integer from 1 (the API sets its own maximum)."""
    return _positive_int(value, "page_size")


def read_json(response: httpx.Response) -> Any:
    """The decoded JSON body of a 2xx response, or `APIResponseError`."""
    try:
        return loads(response.content)
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; RecursionError is JSON
    # nested deeper than the interpreter's recursion limit ("[" * 100_000).
    except (ValueError, RecursionError):
        raise APIResponseError(
            f"expected a JSON body, got {response.content[:80]!r}",
            status_code=response.status_code,
            request_id=response.headers.get("sc-request-id"),
        ) from None


def no_content(response: httpx.Response) -> None:
    """The parse step of calls that answer 204 (or a body nobody needs)."""


def target_ids(target: object) -> tuple[str, str]:
    """The vehicle path segment and user id of a fan-out target, checked.

    A target is a `VehicleHandle`, a `Connection` (anything with ``vehicle_id`` and
    ``user_id``) or a ``(vehicle_id, user_id)`` tuple.
    """
    if isinstance(target, tuple):
        if len(target) != 2:
            raise ValueError(f"a target tuple must be (vehicle_id, user_id), got {target!r}")
        vehicle_id, user_id = target
    else:
        vehicle_id = getattr(target, "vehicle_id", None)
        user_id = getattr(target, "user_id", None)
        if vehicle_id is None:
            raise TypeError(
                "a target must be a VehicleHandle, a Connection or a (vehicle_id, user_id) "
                f"tuple, got {type(target).__name__}"
            )
    return path_segment(vehicle_id, "vehicle_id"), check_user_id(user_id)


async def fetch_page(
    client: SmartcarClient,
    host: Literal["vehicle", "management"],
    path: str,
    parse_item: Callable[[Any], T],
    params: dict[str, Any],
    page_size: int | None,
    page_number: int,
) -> Page[T]:
    """One page of a list: ``params`` plus ``page[number]``, parsed into a `Page`.

    ``params`` (filters and ``page[size]``, checked once per list) is shared by every
    page of the list and not changed.
    """
    number = check_page_number(page_number)

    def parse(response: httpx.Response) -> Page[T]:
        return parse_page(read_json(response), parse_item, page_number=number, page_size=page_size)

    return await client._call("GET", host, path, parse, params={**params, "page[number]": number})

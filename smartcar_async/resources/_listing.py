"""List endpoints as data, and the readers of single-resource responses.

One `Listing` per list endpoint, its filters declared once.

A resource declares its filters as a `TypedDict` whose fields are annotated with the
`Query` parameter each one becomes. That one declaration types the ``**filters`` of the
resource's ``list`` and ``list_page``, and tells `Listing` how to build the query
string. ``list`` is ``list_page`` driven page after page by an `AsyncPaginator`, with
the filters checked once, before any request.

Examples:
    >>> class ThingFilters(TypedDict, total=False):
    ...     owner_id: Annotated[str | None, Query("filter[ownerId]")]
    ...     page_size: int | None
    >>> THINGS = Listing("vehicle", "/things", parse_thing, ThingFilters)
    >>> THINGS.params({"owner_id": "u1", "page_size": 50})
    {'filter[ownerId]': 'u1', 'page[size]': 50}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, get_type_hints

import attrs

from .._models import unwrap
from .._pagination import AsyncPaginator, Page
from ._common import check_filter, check_page_size, fetch_page, read_json

if TYPE_CHECKING:
    import httpx

    from .._client import SmartcarClient

__all__ = ["Listing", "Query", "flag", "json_body", "paginate", "single"]

T = TypeVar("T")


def flag(value: object, name: str) -> str:
    """A boolean filter as the API spells it: ``"true"`` or ``"false"``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return "true" if value else "false"


@attrs.frozen
class Query:
    """Where one filter goes in the query string, its default, and how it is checked.

    Attributes:
        param: the query parameter (``filter[userId]``).
        default: sent when the caller leaves the filter out; None sends nothing. A
            caller's explicit None always sends nothing.
        check: turns the value into the parameter's text, or raises ValueError.
    """

    param: str
    default: str | None = None
    check: Callable[[object, str], str] = check_filter


def _queries(filters: type) -> dict[str, Query]:
    queries = {}
    for keyword, hint in get_type_hints(filters, include_extras=True).items():
        found = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Query)]
        if found:
            queries[keyword] = found[0]
        elif keyword != "page_size":
            raise TypeError(f"{filters.__name__}.{keyword} has no Query annotation")
    return queries


@attrs.frozen
class Listing(Generic[T]):
    """One list endpoint: its host and path, how an item parses, and its filters.

    Attributes:
        host: ``"vehicle"`` or ``"management"``.
        path: the endpoint's path (``/connections``).
        parse_item: one item of ``data`` into its model.
        filters: the `TypedDict` of the endpoint's filters (see the module).
    """

    host: Literal["vehicle", "management"]
    path: str
    parse_item: Callable[[Any], T]
    filters: type
    _queries: Mapping[str, Query] = attrs.field(init=False)

    @_queries.default
    def _read_queries(self) -> Mapping[str, Query]:
        return _queries(self.filters)

    def params(self, filters: Mapping[str, Any]) -> dict[str, Any]:
        """The query string of ``filters``, checked.

        Raises:
            TypeError: a keyword this endpoint does not filter on.
            ValueError: an empty filter or a bad ``page_size``.
        """
        unknown = [k for k in filters if k not in self._queries and k != "page_size"]
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
        params: dict[str, Any] = {}
        for keyword, query in self._queries.items():
            value = filters.get(keyword, query.default)
            if value is not None:
                params[query.param] = query.check(value, keyword)
        page_size = filters.get("page_size")
        if page_size is not None:
            params["page[size]"] = check_page_size(page_size)
        return params

    async def page(
        self, client: SmartcarClient, page_number: int, filters: Mapping[str, Any]
    ) -> Page[T]:
        """One page of the list: one request."""
        params = self.params(filters)
        return await fetch_page(
            client,
            self.host,
            self.path,
            self.parse_item,
            params,
            filters.get("page_size"),
            page_number,
        )

    def filter_names(self) -> tuple[str, ...]:
        """The keywords this endpoint takes, ``page_size`` last."""
        return (*self._queries, "page_size")


def paginate(
    listing: Listing[T],
    list_page: Callable[..., Awaitable[Page[T]]],
    filters: Mapping[str, Any],
) -> AsyncPaginator[T]:
    """``list`` from ``list_page``: the filters checked now, the pages fetched later."""
    listing.params(filters)
    return AsyncPaginator(partial(list_page, **filters))


def single(parse: Callable[[Any], T]) -> Callable[[httpx.Response], T]:
    """A response reader for one resource: the JSON body, ``data`` unwrapped, parsed.

    Examples:
        >>> read_connection = single(parse_connection)
    """

    def read(response: httpx.Response) -> T:
        return parse(unwrap(read_json(response)))

    return read


def json_body(parse: Callable[[Any], T]) -> Callable[[httpx.Response], T]:
    """A response reader: the JSON body, parsed by ``parse`` as it is.

    Examples:
        >>> read_signals = json_body(parse_signals)
    """

    def read(response: httpx.Response) -> T:
        return parse(read_json(response))

    return read

"""Page-number paging: `Page` and `AsyncPaginator`.

v3 lists page by ``page[number]`` and ``page[size]``; the collection's ``meta`` carries
``totalCount`` with ``pageNumber`` (newer spec) or ``page`` (older docs), and ``links``
carry ``next`` and ``prev`` or ``previous``. All spellings are read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, Generic, TypeVar

import attrs

from ._coerce import whole_number
from ._error_types import APIResponseError
from ._models import ToDict

__all__ = ["AsyncPaginator", "Page", "parse_page"]

T = TypeVar("T")


@attrs.frozen
class Page(ToDict, Generic[T]):
    """One page of a list.

    Attributes:
        items: the page's items, in the API's order.
        page_number: this page's number (1-based).
        page_size: the page size, if known.
        total_count: the number of items across all pages, if the API said.
        has_next: whether another page follows.
        has_previous: whether a page comes before this one.
    """

    items: tuple[T, ...]
    page_number: int
    page_size: int | None
    total_count: int | None
    has_next: bool
    has_previous: bool = False
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _has_previous(links: Mapping[str, Any], number: int) -> bool:
    for key in ("prev", "previous"):  # the newer spec says prev, older docs previous
        if key in links:
            return bool(links[key])
    return number > 1


def parse_page(
    payload: object,
    parse_item: Callable[[Any], T],
    *,
    page_number: int,
    page_size: int | None,
) -> Page[T]:
    """Build a `Page` from a collection response.

    Raises:
        APIResponseError: the payload has no ``data`` list.
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("data"), list):
        raise APIResponseError("expected a collection with a 'data' list")
    items = tuple(parse_item(item) for item in payload["data"])
    meta = payload.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    links = payload.get("links")
    links = links if isinstance(links, Mapping) else {}
    number = whole_number(meta.get("pageNumber")) or whole_number(meta.get("page")) or page_number
    size = whole_number(meta.get("pageSize")) or page_size
    total = whole_number(meta.get("totalCount"))
    if not items:
        has_next = False  # never walk past an empty page, whatever the links say
    elif "next" in links:
        has_next = bool(links["next"])
    elif total is not None and size:
        has_next = number * size < total
    else:
        has_next = size is not None and len(items) >= size
    return Page(
        items=items,
        page_number=number,
        page_size=size,
        total_count=total,
        has_next=has_next,
        has_previous=_has_previous(links, number),
        raw=payload,
    )


class AsyncPaginator(Generic[T]):
    """A lazy list: ``await`` it for the first page, ``async for`` it for every item.

    Pages are fetched only when iteration reaches them.

    Examples:
        >>> first = await client.connections.list()
        >>> first.total_count
        42
        >>> async for connection in client.connections.list(page_size=100):
        ...     print(connection.vehicle_id)
    """

    def __init__(
        self, fetch_page: Callable[[int], Awaitable[Page[T]]], *, first_page: int = 1
    ) -> None:
        self._fetch_page = fetch_page
        self._first_page = first_page

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch_page(self._first_page).__await__()

    def pages(self) -> AsyncIterator[Page[T]]:
        """Every page in turn, fetched as the loop reaches it."""
        return _PageIterator(self._fetch_page, self._first_page)

    def __aiter__(self) -> AsyncIterator[T]:
        return _ItemIterator(_PageIterator(self._fetch_page, self._first_page))

    async def to_list(self, *, limit: int | None = None) -> list[T]:
        """Collect items into a list (all of them, or the first ``limit``)."""
        items: list[T] = []
        async for item in self:
            if limit is not None and len(items) >= limit:
                break
            items.append(item)
        return items


# The iterators are plain classes rather than async generators: a loop that stops early
# leaves nothing to finalize, so no unclosed-generator warning (trio's, or asyncio's
# shutdown hook) can reach the user's code.


class _PageIterator(AsyncIterator[Page[T]]):
    def __init__(self, fetch_page: Callable[[int], Awaitable[Page[T]]], first: int) -> None:
        self._fetch_page = fetch_page
        self._next: int | None = first

    async def __anext__(self) -> Page[T]:
        number = self._next
        if number is None:
            raise StopAsyncIteration
        page = await self._fetch_page(number)
        # Never ask for a page again: a server that reports a stale page number (always
        # 1, say) would otherwise be asked for the same page forever.
        self._next = max(number, page.page_number) + 1 if page.has_next else None
        return page


class _ItemIterator(AsyncIterator[T]):
    def __init__(self, pages: _PageIterator[T]) -> None:
        self._pages = pages
        self._items: Iterator[T] = iter(())

    async def __anext__(self) -> T:
        while True:
            try:
                return next(self._items)
            except StopIteration:
                pass
            page = await self._pages.__anext__()
            self._items = iter(page.items)

"""Following the pages of ``GET /vehicles/{id}/signals`` into one `Signals`.

The list-signals endpoint pages its answer (``meta.page``, ``pageSize``, ``totalCount``;
``links.next`` as ``?page=2&pageSize=10`` in Smartcar's published example). Reading the
first page alone would silently return part of the vehicle, so the SDK follows
``links.next`` -- or, without it, ``page + 1`` while fewer than ``totalCount`` signals
have arrived -- and parses every page as one `Signals`.

Only the query of a next link is used, on the same path: a link never sends the token
to another host. Pages are bounded (`MAX_SIGNAL_PAGES`), and a next link that repeats
or an empty page ends the walk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .._coerce import text, whole_number
from .._error_types import APIResponseError
from ..signals import Signals, parse_signals
from ._common import read_json

if TYPE_CHECKING:
    from .._client import SmartcarClient

__all__ = ["MAX_SIGNAL_PAGES", "follow_signal_pages", "next_page_params"]

#: The most pages one signals read follows (a vehicle has about a hundred signals; the
#: published example pages them by ten).
MAX_SIGNAL_PAGES = 50


def next_page_params(payload: Mapping[str, Any], collected: int) -> dict[str, str] | None:
    """The query of the page after ``payload``, or None when it was the last.

    Examples:
        >>> next_page_params({"links": {"next": "/vehicles/v/signals?page=2&pageSize=10"}}, 10)
        {'page': '2', 'pageSize': '10'}
    """
    links = payload.get("links")
    next_link = text(links.get("next")) if isinstance(links, Mapping) else None
    if next_link:
        return dict(parse_qsl(urlsplit(next_link).query)) or None
    meta = payload.get("meta")
    if not isinstance(meta, Mapping):
        return None
    total = whole_number(meta.get("totalCount"))
    size = whole_number(meta.get("pageSize"))
    number = whole_number(meta.get("page")) or whole_number(meta.get("pageNumber"))
    if total is None or number is None or not size or collected >= total:
        return None
    return {"page": str(number + 1), "pageSize": str(size)}


async def follow_signal_pages(
    client: SmartcarClient, path: str, user_id: str, first: Signals
) -> Signals:
    """``first`` (the parsed first page), or every page parsed as one `Signals`.

    Raises:
        APIResponseError: a page without a ``data`` list, or more than
            `MAX_SIGNAL_PAGES` pages.
    """
    payload = first.raw
    data = list(payload.get("data") or ())
    asked: set[tuple[tuple[str, str], ...]] = set()
    pages = 1
    while (params := next_page_params(payload, len(data))) is not None:
        key = tuple(sorted(params.items()))
        if key in asked:
            break  # the API pointed back at a page already read
        asked.add(key)
        if pages >= MAX_SIGNAL_PAGES:
            raise APIResponseError(
                f"the signals of {path} span more than {MAX_SIGNAL_PAGES} pages; "
                "read them with client.request() if that is expected"
            )
        response, _ = await client.request(
            "GET", "vehicle", path, params=params, user_id=user_id, units=True
        )
        next_payload = read_json(response)
        page = next_payload.get("data") if isinstance(next_payload, Mapping) else None
        if not isinstance(page, list):
            raise APIResponseError(f"page {pages + 1} of {path} has no 'data' list")
        if not page:
            break
        data.extend(page)
        payload = next_payload
        pages += 1
    if pages == 1:
        return first
    merged = dict(first.raw)
    merged["data"] = data
    return parse_signals(merged)

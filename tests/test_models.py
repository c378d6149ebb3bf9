"""The converter (JSON:API in, attrs models out), timestamps, and paging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from _helpers import TIMEOUT
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smartcar_async import APIResponseError, AsyncPaginator, Page
from smartcar_async._models import (
    RAW,
    flatten_resource,
    parse_timestamp,
    related_id,
    snake_to_camel,
    structure,
    unwrap,
)
from smartcar_async._pagination import parse_page

pytestmark = pytest.mark.anyio

UTC = dt.timezone.utc


@attrs.frozen(kw_only=True)
class Owner:
    id: str
    display_name: str | None = None


@attrs.frozen(kw_only=True)
class Thing:
    id: str
    oem_updated_at: dt.datetime | None = None
    count: int = 0
    tags: tuple[str, ...] = ()
    owner: Owner | None = None
    raw: Mapping[str, Any] = RAW


@attrs.frozen(kw_only=True)
class Resource:
    id: str
    name: str
    created_at: dt.datetime | None = None
    raw: Mapping[str, Any] = RAW

    @classmethod
    def _flatten(cls, resource: Mapping[str, Any]) -> dict[str, Any]:
        return flatten_resource(resource)


# -- timestamps ------------------------------------------------------------------------

EXPECTED = dt.datetime(2025, 7, 9, 23, 36, 58, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1752104218, EXPECTED),
        (1752104218.5, EXPECTED.replace(microsecond=500000)),
        (1752104218549, EXPECTED.replace(microsecond=549000)),
        ("1752104218549", EXPECTED.replace(microsecond=549000)),
        (" 1752104218 ", EXPECTED),
        ("2025-07-09T23:36:58Z", EXPECTED),
        ("2025-07-09T23:36:58.549Z", EXPECTED.replace(microsecond=549000)),
        ("2025-07-10T01:36:58+02:00", EXPECTED),
        ("2025-07-09T23:36:58", EXPECTED),  # naive: taken as UTC
        (dt.datetime(2025, 7, 9, 23, 36, 58), EXPECTED),
        (0, dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_reads_seconds_milliseconds_and_iso(
    value: object, expected: dt.datetime
) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        "",
        "  ",
        "yesterday",
        "2025-13-45",
        "-",
        ".",
        "1.2.3",
        {},
        [],
        b"1",
        float("nan"),
        float("inf"),
        -float("inf"),
        10**400,
        -(10**400),
        "1" * 400,
        "\u00b2",
        "9" * 5000,
    ],
)
def test_parse_timestamp_gives_none_for_garbage(value: object) -> None:
    assert parse_timestamp(value) is None


@settings(max_examples=500, derandomize=True, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(),
        st.text(alphabet="0123456789.-²³¹٣ Zz:T+", max_size=30),
    )
)
@example(10**400)
@example("²")
def test_parse_timestamp_never_raises(value: object) -> None:
    parsed = parse_timestamp(value)
    assert parsed is None or parsed.tzinfo is not None


# -- the converter ---------------------------------------------------------------------


def test_structure_renames_converts_ignores_unknown_and_keeps_raw() -> None:
    data = {
        "id": "t1",
        "oemUpdatedAt": 1752104218549,
        "count": 3,
        "tags": ["a", "b"],
        "owner": {"id": "o1", "displayName": "Ada", "extra": 1},
        "somethingNew": {"nested": True},
    }
    thing = structure(data, Thing)
    assert thing.id == "t1"
    assert thing.oem_updated_at == EXPECTED.replace(microsecond=549000)
    assert thing.count == 3
    assert thing.tags == ("a", "b")
    assert thing.owner == Owner(id="o1", display_name="Ada")
    assert thing.raw is data
    assert "raw" not in repr(thing)
    assert "somethingNew" not in repr(thing)
    assert thing == structure(
        {
            "id": "t1",
            "oemUpdatedAt": 1752104218549,
            "count": 3,
            "tags": ["a", "b"],
            "owner": {"id": "o1", "displayName": "Ada"},
        },
        Thing,
    )


def test_models_are_frozen() -> None:
    thing = structure({"id": "t1"}, Thing)
    with pytest.raises(AttributeError):
        thing.id = "t2"  # type: ignore[misc]


def test_missing_optional_fields_take_defaults() -> None:
    thing = structure({"id": "t1"}, Thing)
    assert (thing.oem_updated_at, thing.count, thing.tags, thing.owner) == (None, 0, (), None)


def test_a_bad_timestamp_does_not_break_the_model() -> None:
    thing = structure({"id": "t1", "oemUpdatedAt": "not a time"}, Thing)
    assert thing.oem_updated_at is None


@pytest.mark.parametrize(
    "data",
    [
        {},  # required id missing
        {"id": {"nested": "object"}},  # an object where text belongs
        {"id": ["a"]},
        {"id": "t1", "count": "many"},
        {"id": "t1", "owner": "not an object"},
        ["not", "an", "object"],
        None,
    ],
)
def test_shape_mismatch_is_an_api_response_error(data: object) -> None:
    with pytest.raises(APIResponseError):
        structure(data, Thing)


def test_numbers_become_text_where_text_belongs() -> None:
    assert structure({"id": 42}, Thing).id == "42"


def test_json_api_resource_is_flattened() -> None:
    resource = {
        "id": "r1",
        "type": "thing",
        "attributes": {"name": "first"},
        "meta": {"createdAt": "2026-05-01T10:00:00.000Z", "name": "meta loses"},
        "relationships": {"owner": {"data": {"id": "o1", "type": "user"}}},
    }
    parsed = structure(unwrap({"data": resource}), Resource)
    assert parsed.id == "r1"
    assert parsed.name == "first"
    assert parsed.created_at == dt.datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert parsed.raw is resource
    assert related_id(resource, "owner") == "o1"
    assert related_id(resource, "vehicle") is None
    assert related_id({"relationships": {"owner": {"data": None}}}, "owner") is None
    assert related_id({"relationships": "garbage"}, "owner") is None


def test_unwrap_accepts_bare_and_wrapped_resources() -> None:
    assert unwrap({"data": {"id": "a"}}) == {"id": "a"}
    assert unwrap({"id": "a"}) == {"id": "a"}
    with pytest.raises(APIResponseError):
        unwrap(["a"])


def test_snake_to_camel() -> None:
    assert snake_to_camel("oem_updated_at") == "oemUpdatedAt"
    assert snake_to_camel("id") == "id"
    assert snake_to_camel("page_2_size") == "page2Size"


# -- pages -----------------------------------------------------------------------------


def collection(
    items: list[int], *, meta: dict[str, Any] | None = None, links: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"data": [{"n": n} for n in items]}
    if meta is not None:
        body["meta"] = meta
    if links is not None:
        body["links"] = links
    return body


def item(value: Any) -> int:
    return int(value["n"])


@pytest.mark.parametrize(
    ("meta", "links"),
    [
        (
            {"totalCount": 5, "pageNumber": 2, "pageSize": 2},
            {"next": "/x?page[number]=3", "prev": "/x?page[number]=1"},
        ),
        (
            {"totalCount": 5, "page": 2, "pageSize": 2},
            {"next": "/x?page[number]=3", "previous": "/x?page[number]=1"},
        ),
        ({"totalCount": 5, "page": "2", "pageSize": "2"}, {}),
    ],
    ids=["pageNumber-prev", "page-previous", "page-as-text-no-links"],
)
def test_page_reads_every_spelling(meta: dict[str, Any], links: dict[str, Any]) -> None:
    page = parse_page(
        collection([3, 4], meta=meta, links=links), item, page_number=1, page_size=None
    )
    assert page.items == (3, 4)
    assert page.page_number == 2
    assert page.page_size == 2
    assert page.total_count == 5
    assert page.has_next
    assert list(page) == [3, 4]
    assert len(page) == 2


def test_page_without_meta_uses_what_was_asked() -> None:
    page = parse_page(collection([1, 2]), item, page_number=3, page_size=2)
    assert (page.page_number, page.page_size, page.total_count) == (3, 2, None)
    assert page.has_next  # full page, nothing says otherwise
    short = parse_page(collection([1]), item, page_number=3, page_size=2)
    assert not short.has_next
    unknown = parse_page(collection([1, 2]), item, page_number=1, page_size=None)
    assert not unknown.has_next


def test_page_links_and_totals_decide_has_next() -> None:
    last = parse_page(
        collection([5], meta={"totalCount": 5, "pageNumber": 3, "pageSize": 2}),
        item,
        page_number=3,
        page_size=2,
    )
    assert not last.has_next
    explicit_end = parse_page(
        collection([1, 2], meta={"totalCount": 99}, links={"next": None}),
        item,
        page_number=1,
        page_size=2,
    )
    assert not explicit_end.has_next
    empty = parse_page(collection([], links={"next": "/more"}), item, page_number=1, page_size=2)
    assert not empty.has_next


@pytest.mark.parametrize(
    "payload",
    [
        collection([1], meta={"pageNumber": "\u00b2", "page": "9" * 5000, "totalCount": "x"}),
        collection([1], meta=["not", "a", "mapping"], links="garbage"),  # type: ignore[arg-type]
        collection([1], meta={"pageNumber": True, "pageSize": -1.5}),
    ],
)
def test_page_tolerates_garbage_meta(payload: dict[str, Any]) -> None:
    page = parse_page(payload, item, page_number=4, page_size=None)
    assert page.page_number == 4
    assert page.items == (1,)


@pytest.mark.parametrize("payload", [{}, {"data": {"id": "a"}}, ["a"], None])
def test_page_needs_a_data_list(payload: object) -> None:
    with pytest.raises(APIResponseError):
        parse_page(payload, item, page_number=1, page_size=None)


class Pages:
    """A paged collection of ``total`` numbers, ``size`` a page; counts the fetches."""

    def __init__(
        self, total: int, size: int, *, spelling: str = "pageNumber", meta: bool = True
    ) -> None:
        self.total = total
        self.size = size
        self.spelling = spelling
        self.meta = meta
        self.fetched: list[int] = []

    async def fetch(self, number: int) -> Page[int]:
        await anyio.lowlevel.checkpoint()
        self.fetched.append(number)
        start = (number - 1) * self.size
        numbers = list(range(start, min(start + self.size, self.total)))
        meta = {"totalCount": self.total, self.spelling: number, "pageSize": self.size}
        links: dict[str, Any] = {}
        if start + self.size < self.total:
            links["next"] = f"/x?page[number]={number + 1}"
        body = collection(numbers, meta=meta if self.meta else None, links=links or None)
        return parse_page(body, item, page_number=number, page_size=self.size)


@pytest.mark.parametrize("spelling", ["pageNumber", "page"])
async def test_paginator_await_gives_the_first_page_only(spelling: str) -> None:
    pages = Pages(total=5, size=2, spelling=spelling)
    with anyio.fail_after(TIMEOUT):
        first = await AsyncPaginator(pages.fetch)
    assert first.items == (0, 1)
    assert first.total_count == 5
    assert pages.fetched == [1]


@pytest.mark.parametrize(("spelling", "meta"), [("pageNumber", True), ("page", True), ("-", False)])
async def test_paginator_walks_every_item_lazily(spelling: str, meta: bool) -> None:
    pages = Pages(total=5, size=2, spelling=spelling, meta=meta)
    seen: list[int] = []
    with anyio.fail_after(TIMEOUT):
        async for n in AsyncPaginator(pages.fetch):
            seen.append(n)
            # a page is fetched only when the loop reaches it
            assert pages.fetched[-1] == n // 2 + 1
    assert seen == [0, 1, 2, 3, 4]
    assert pages.fetched == [1, 2, 3]


async def test_paginator_to_list_with_a_limit_stops_fetching() -> None:
    pages = Pages(total=100, size=2)
    with anyio.fail_after(TIMEOUT):
        assert await AsyncPaginator(pages.fetch).to_list(limit=3) == [0, 1, 2]
        assert pages.fetched == [1, 2]
        assert await AsyncPaginator(pages.fetch, first_page=50).to_list() == [98, 99]


async def test_paginator_pages_stop_after_an_empty_page() -> None:
    fetched: list[int] = []

    async def fetch(number: int) -> Page[int]:
        await anyio.lowlevel.checkpoint()
        fetched.append(number)
        body = collection([1, 2] if number == 1 else [], links={"next": "/always"})
        return parse_page(body, item, page_number=number, page_size=2)

    with anyio.fail_after(TIMEOUT):
        pages = [page async for page in AsyncPaginator(fetch).pages()]
    assert [len(p) for p in pages] == [2, 0]
    assert fetched == [1, 2]


async def test_paginator_moves_forward_even_if_the_server_repeats_its_page_number() -> None:
    fetched: list[int] = []

    async def fetch(number: int) -> Page[int]:
        await anyio.lowlevel.checkpoint()
        fetched.append(number)
        # A server that pages correctly but always reports page 1 in meta.
        links = {"next": "/more" if number < 3 else None}
        body = collection([number * 10], meta={"pageNumber": 1}, links=links)
        return parse_page(body, item, page_number=number, page_size=1)

    with anyio.fail_after(TIMEOUT):
        items = await AsyncPaginator(fetch).to_list()
    assert items == [10, 20, 30]
    assert fetched == [1, 2, 3]


async def test_breaking_out_of_a_paginator_leaves_nothing_to_finalize() -> None:
    # pytest turns warnings into errors here: an async generator abandoned mid-loop
    # would warn (trio) when collected. The iterators are plain objects, so nothing does.
    import gc

    pages = Pages(total=100, size=2)
    with anyio.fail_after(TIMEOUT):
        async for n in AsyncPaginator(pages.fetch):
            if n == 2:
                break
        async for page in AsyncPaginator(pages.fetch).pages():
            assert page.page_number == 1
            break
    gc.collect()
    assert pages.fetched == [1, 2, 1]


@pytest.mark.parametrize(
    ("links", "number", "expected"),
    [
        ({"prev": "/p1"}, 2, True),
        ({"previous": "/p1"}, 2, True),
        ({"prev": None}, 2, False),
        ({"previous": None}, 3, False),
        ({}, 1, False),
        ({}, 2, True),
    ],
)
def test_page_reads_prev_and_previous(links: dict[str, Any], number: int, expected: bool) -> None:
    body = collection([1], meta={"pageNumber": number}, links=links)
    page = parse_page(body, item, page_number=number, page_size=1)
    assert page.has_previous is expected


@attrs.frozen(kw_only=True)
class Flags:
    enabled: bool | None = None


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), (False, False), ("false", False), ("TRUE", True)]
)
def test_booleans_are_read_strictly(value: object, expected: bool) -> None:
    assert structure({"enabled": value}, Flags).enabled is expected


@pytest.mark.parametrize("value", ["no", 1, [], {}])
def test_a_non_boolean_is_a_shape_error(value: object) -> None:
    with pytest.raises(APIResponseError):
        structure({"enabled": value}, Flags)

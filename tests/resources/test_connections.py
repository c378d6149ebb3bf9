"""``client.connections`` and ``client.users`` against a respx-mocked Vehicle API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import anyio
import httpx
import pytest
import respx
from resource_support import (
    USER_ID,
    VEHICLE_API,
    VEHICLE_ID,
    api_calls,
    assert_headers,
    connection_json,
    only_request,
    query_of,
)

from smartcar_async import NotFoundError, SmartcarClient
from smartcar_async.resources import Connection

pytestmark = pytest.mark.anyio


def collection(
    items: list[dict[str, Any]],
    *,
    number: int,
    size: int,
    total: int,
    older: bool = False,
) -> dict[str, Any]:
    """A collection in the newer spec's shape, or the older docs' (``page``, ``previous``)."""
    last = -(-total // size)
    links = {
        "self": f"/connections?page[number]={number}",
        "first": "/connections?page[number]=1",
        "next": f"/connections?page[number]={number + 1}" if number < last else None,
        "last": f"/connections?page[number]={last}",
    }
    previous = f"/connections?page[number]={number - 1}" if number > 1 else None
    if older:
        links["previous"] = previous
        meta = {"page": number, "pageSize": size, "totalCount": total}
    else:
        links["prev"] = previous
        meta = {
            "pageNumber": number,
            "pageSize": size,
            "totalCount": total,
            "orderBy": "createdAt",
            "orderDirection": "desc",
        }
    return {"data": items, "meta": meta, "links": links}


def check_connection(connection: Connection, index: int = 0) -> None:
    assert connection.id == f"conn-{index}"
    assert connection.user_id == f"user-{index}"
    assert connection.vehicle_id == f"veh-{index}"
    assert connection.permissions == ("read_vehicle_info", "control_security")
    assert connection.vehicle is not None
    assert connection.vehicle.make == "TESLA"
    assert connection.vehicle.model == "Model 3"
    assert connection.vehicle.year == 2022
    assert connection.vehicle.mode == "live"
    assert connection.vehicle.powertrain_type == "BEV"
    assert connection.created_at == dt.datetime(2026, 5, 1, 10, tzinfo=dt.timezone.utc)
    assert connection.updated_at == dt.datetime(2026, 5, 2, 11, 30, tzinfo=dt.timezone.utc)
    assert connection.raw["id"] == f"conn-{index}"


# -- list ---------------------------------------------------------------------------------


async def test_list_sends_default_filters_and_parses_first_page(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{VEHICLE_API}/connections").mock(
        return_value=httpx.Response(
            200, json=collection([connection_json(0)], number=1, size=10, total=1)
        )
    )
    with anyio.fail_after(5):
        page = await client.connections.list()
    request = only_request(router)
    assert request.method == "GET"
    assert request.url.path == "/v3/connections"
    assert query_of(request) == {"filter[vehicle.mode]": "live", "page[number]": "1"}
    assert_headers(request, user_id=None)
    assert page.total_count == 1
    assert page.page_number == 1
    assert page.page_size == 10
    assert not page.has_next
    check_connection(page.items[0])


async def test_list_sends_every_filter(client: SmartcarClient, router: respx.MockRouter) -> None:
    router.get(f"{VEHICLE_API}/connections").mock(
        return_value=httpx.Response(200, json=collection([], number=1, size=5, total=0))
    )
    with anyio.fail_after(5):
        page = await client.connections.list(
            user_id=USER_ID,
            vehicle_id=VEHICLE_ID,
            mode="simulated",
            external_user_id="ext 7&x",
            page_size=5,
        )
    assert query_of(only_request(router)) == {
        "filter[userId]": USER_ID,
        "filter[vehicleId]": VEHICLE_ID,
        "filter[vehicle.mode]": "simulated",
        "filter[user.externalId]": "ext 7&x",
        "page[size]": "5",
        "page[number]": "1",
    }
    assert page.items == ()
    # The user id is a filter here, never the sc-user-id header.
    assert_headers(only_request(router), user_id=None)


async def test_list_mode_none_sends_no_mode_filter(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{VEHICLE_API}/connections").mock(
        return_value=httpx.Response(200, json=collection([], number=1, size=10, total=0))
    )
    with anyio.fail_after(5):
        await client.connections.list(mode=None)
    assert query_of(only_request(router)) == {"page[number]": "1"}


@pytest.mark.parametrize(
    "kwargs",
    [{"user_id": ""}, {"vehicle_id": " "}, {"external_user_id": ""}, {"page_size": 0}],
)
async def test_list_refuses_empty_filters_before_any_request(
    client: SmartcarClient, router: respx.MockRouter, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        client.connections.list(**kwargs)
    assert not router.calls


def _paged_route(router: respx.MockRouter, *, older: bool = False) -> respx.Route:
    pages = {
        1: [connection_json(0), connection_json(1)],
        2: [connection_json(2), connection_json(3)],
        3: [connection_json(4)],
    }

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page[number]"])
        body = collection(pages[number], number=number, size=2, total=5, older=older)
        return httpx.Response(200, json=body)

    return router.get(f"{VEHICLE_API}/connections").mock(side_effect=answer)


@pytest.mark.parametrize("older", [False, True], ids=["pageNumber-prev", "page-previous"])
async def test_iterating_three_pages_is_lazy_and_ordered(
    client: SmartcarClient, router: respx.MockRouter, older: bool
) -> None:
    route = _paged_route(router, older=older)
    seen: list[str] = []
    with anyio.fail_after(5):
        iterator = aiter(client.connections.list(page_size=2))
        assert route.call_count == 0  # nothing is fetched before iteration starts
        for _ in range(2):
            seen.append((await anext(iterator)).id)
        assert route.call_count == 1  # page 2 only when the caller reaches it
        seen.append((await anext(iterator)).id)
        assert route.call_count == 2
        async for connection in iterator:
            seen.append(connection.id)
    assert seen == [f"conn-{i}" for i in range(5)]
    assert route.call_count == 3
    numbers = [request.url.params["page[number]"] for request in api_calls(router)]
    assert numbers == ["1", "2", "3"]
    assert all(request.url.params["page[size]"] == "2" for request in api_calls(router))


async def test_await_gives_the_first_page_with_total_count(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    route = _paged_route(router)
    with anyio.fail_after(5):
        page = await client.connections.list(page_size=2)
    assert route.call_count == 1
    assert page.total_count == 5
    assert page.has_next
    assert [c.id for c in page] == ["conn-0", "conn-1"]


async def test_paging_without_links_follows_total_count(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page[number]"])
        items = [connection_json(0), connection_json(1)] if number == 1 else [connection_json(2)]
        return httpx.Response(
            200, json={"data": items, "meta": {"page": number, "pageSize": 2, "totalCount": 3}}
        )

    route = router.get(f"{VEHICLE_API}/connections").mock(side_effect=answer)
    with anyio.fail_after(5):
        ids = [c.id async for c in client.connections.list(page_size=2)]
    assert ids == ["conn-0", "conn-1", "conn-2"]
    assert route.call_count == 2


async def test_list_page_fetches_one_page_and_works_raw(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    route = _paged_route(router)
    with anyio.fail_after(5):
        page = await client.connections.list_page(3, page_size=2)
        raw = await client.connections.with_raw_response.list_page(2, page_size=2)
    assert [c.id for c in page] == ["conn-4"]
    assert not page.has_next
    assert raw.status_code == 200
    assert [c.id for c in raw.parse()] == ["conn-2", "conn-3"]
    assert route.call_count == 2
    with pytest.raises(ValueError, match="page_number"):
        await client.connections.list_page(0)
    assert route.call_count == 2


# -- get / delete -------------------------------------------------------------------------


@pytest.mark.parametrize("wrapped", [True, False], ids=["data-wrapped", "bare"])
async def test_get_parses_a_connection_with_or_without_data(
    client: SmartcarClient, router: respx.MockRouter, wrapped: bool
) -> None:
    body = {"data": connection_json(0)} if wrapped else connection_json(0)
    router.get(f"{VEHICLE_API}/connections/conn-0").mock(
        return_value=httpx.Response(200, json=body, headers={"SC-Request-Id": "req-1"})
    )
    with anyio.fail_after(5):
        connection = await client.connections.get("conn-0")
    request = only_request(router)
    assert request.method == "GET"
    assert request.url.path == "/v3/connections/conn-0"
    assert request.url.query == b""
    assert_headers(request, user_id=None)
    check_connection(connection)


async def test_get_raw_response(client: SmartcarClient, router: respx.MockRouter) -> None:
    router.get(f"{VEHICLE_API}/connections/conn-0").mock(
        return_value=httpx.Response(
            200, json={"data": connection_json(0)}, headers={"SC-Request-Id": "req-1"}
        )
    )
    with anyio.fail_after(5):
        raw = await client.connections.with_raw_response.get("conn-0")
    assert raw.request_id == "req-1"
    check_connection(raw.parse())


async def test_get_unknown_connection_raises_not_found(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{VEHICLE_API}/connections/nope").mock(
        return_value=httpx.Response(
            404,
            json={"errors": [{"status": "404", "type": "RESOURCE_NOT_FOUND", "code": "PATH"}]},
        )
    )
    with anyio.fail_after(5), pytest.raises(NotFoundError) as caught:
        await client.connections.get("nope")
    assert caught.value.code == "PATH"


async def test_get_percent_encodes_the_id(client: SmartcarClient, router: respx.MockRouter) -> None:
    router.get(url__regex=r".*/connections/.*").mock(
        return_value=httpx.Response(200, json={"data": connection_json(0)})
    )
    with anyio.fail_after(5):
        await client.connections.get("a b?c#d")
    assert only_request(router).url.raw_path == b"/v3/connections/a%20b%3Fc%23d"


async def test_delete_sends_delete_and_returns_none(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.delete(f"{VEHICLE_API}/connections/conn-0").mock(return_value=httpx.Response(204))
    with anyio.fail_after(5):
        result = await client.connections.delete("conn-0")
    assert result is None
    request = only_request(router)
    assert request.method == "DELETE"
    assert request.url.path == "/v3/connections/conn-0"
    assert request.content == b""
    assert_headers(request, user_id=None)


# -- users --------------------------------------------------------------------------------


async def test_users_delete_sends_delete_without_sc_user_id(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.delete(f"{VEHICLE_API}/users/{USER_ID}").mock(return_value=httpx.Response(204))
    with anyio.fail_after(5):
        assert await client.users.delete(USER_ID) is None
    request = only_request(router)
    assert request.method == "DELETE"
    assert request.url.path == f"/v3/users/{USER_ID}"
    assert_headers(request, user_id=None)


@pytest.mark.parametrize("vehicle", ["absent", None], ids=["absent", "null"])
async def test_a_connection_without_vehicle_info_still_parses(
    client: SmartcarClient, router: respx.MockRouter, vehicle: Any
) -> None:
    body = connection_json(0)
    if vehicle == "absent":
        del body["attributes"]["vehicle"]
    else:
        body["attributes"]["vehicle"] = vehicle
    router.get(f"{VEHICLE_API}/connections/conn-0").mock(
        return_value=httpx.Response(200, json={"data": body})
    )
    with anyio.fail_after(5):
        connection = await client.connections.get("conn-0")
    assert connection.vehicle.make is None
    assert connection.vehicle_id == "veh-0"


async def test_a_connection_without_its_ids_is_an_api_response_error(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    from smartcar_async import APIResponseError

    body = connection_json(0)
    del body["relationships"]
    router.get(f"{VEHICLE_API}/connections/conn-0").mock(
        return_value=httpx.Response(200, json=body)
    )
    with anyio.fail_after(5), pytest.raises(APIResponseError):
        await client.connections.get("conn-0")

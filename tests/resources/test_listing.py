"""List endpoints as data: each resource's filters are declared once and drive both calls."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import httpx
import pytest
import respx

from smartcar_async import SmartcarClient
from smartcar_async.resources import (
    ConnectionFilters,
    Connections,
    SubscriptionFilters,
    Subscriptions,
    WebhookEndpoints,
    WebhookFilters,
)
from smartcar_async.resources._listing import Listing, Query
from smartcar_async.resources.connections import CONNECTIONS
from smartcar_async.resources.management import SUBSCRIPTIONS, WEBHOOKS

pytestmark = pytest.mark.anyio


def test_each_resource_declares_its_filters_once() -> None:
    assert CONNECTIONS.filters is ConnectionFilters
    assert WEBHOOKS.filters is WebhookFilters
    assert SUBSCRIPTIONS.filters is SubscriptionFilters
    assert CONNECTIONS.params({"user_id": "u1", "page_size": 5}) == {
        "filter[userId]": "u1",
        "filter[vehicle.mode]": "live",
        "page[size]": 5,
    }
    assert CONNECTIONS.params({"mode": None}) == {}
    assert WEBHOOKS.params({"is_enabled": False}) == {"filter[isEnabled]": "false"}
    assert SUBSCRIPTIONS.params({}) == {}


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        ({"user_id": ""}, ValueError),
        ({"page_size": 0}, ValueError),
        ({"is_enabled": "yes"}, ValueError),
        ({"colour": "red"}, TypeError),
    ],
)
def test_bad_filters_are_refused(filters: dict[str, Any], error: type[Exception]) -> None:
    listing = WEBHOOKS if "is_enabled" in filters else CONNECTIONS
    with pytest.raises(error):
        listing.params(filters)


def test_a_filter_without_a_query_is_a_declaration_error() -> None:
    class Broken(TypedDict, total=False):
        owner_id: str | None

    with pytest.raises(TypeError, match=r"Broken\.owner_id has no Query"):
        Listing("vehicle", "/things", dict, Broken)


def test_a_declared_filter_reaches_the_query_string() -> None:
    class ThingFilters(TypedDict, total=False):
        owner_id: Annotated[str | None, Query("filter[ownerId]", default="me")]
        page_size: int | None

    listing = Listing("vehicle", "/things", dict, ThingFilters)
    assert listing.params({}) == {"filter[ownerId]": "me"}
    assert listing.filter_names() == ("owner_id", "page_size")


@pytest.mark.parametrize("resource", [Connections, WebhookEndpoints, Subscriptions])
async def test_list_is_list_page_page_after_page(
    resource: type[Connections | WebhookEndpoints | Subscriptions],
    client: SmartcarClient,
    router: respx.MockRouter,
) -> None:
    listing = {Connections: CONNECTIONS, WebhookEndpoints: WEBHOOKS, Subscriptions: SUBSCRIPTIONS}[
        resource
    ]
    route = router.route(method="GET", path__regex=f"{listing.path}$").mock(
        return_value=httpx.Response(200, json={"data": [], "meta": {"pageNumber": 1}})
    )
    instance = resource(client)
    seen: list[tuple[int, dict[str, Any]]] = []
    real_page = instance.list_page

    async def spy(page_number: int = 1, **filters: Any) -> Any:
        seen.append((page_number, filters))
        return await real_page(page_number, **filters)

    instance.list_page = spy  # type: ignore[method-assign]
    assert await instance.list(page_size=7).to_list() == []
    assert seen == [(1, {"page_size": 7})]
    assert route.calls.last.request.url.params["page[size]"] == "7"


async def test_list_checks_filters_before_any_request(client: SmartcarClient) -> None:
    with pytest.raises(ValueError):
        client.connections.list(page_size=0)

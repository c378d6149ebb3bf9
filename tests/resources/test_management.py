"""``client.webhook_endpoints`` and ``client.subscriptions`` against a mocked Management API."""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import anyio
import httpx
import pytest
import respx
from resource_support import (
    MANAGEMENT_API,
    USER_ID,
    VEHICLE_ID,
    api_calls,
    assert_headers,
    body_of,
    only_request,
    query_of,
)

from smartcar_async import SmartcarClient, VehicleStateError
from smartcar_async.resources import SignalRef, Subscription, Webhook, WebhookEndpoints

pytestmark = pytest.mark.anyio

WEBHOOK_ID = "wh_1"


def webhook_json(index: int = 1) -> dict[str, Any]:
    """A webhook as the reference (§5, get-webhook) documents it."""
    return {
        "id": f"wh_{index}",
        "type": "webhook",
        "attributes": {
            "name": "fleet state",
            "callbackUri": "https://example.com/hooks/smartcar",
            "isEnabled": True,
            "triggers": [
                {
                    "group": "TractionBattery",
                    "name": "StateOfCharge",
                    "code": "tractionbattery-stateofcharge",
                }
            ],
            "data": [
                {
                    "group": "Odometer",
                    "name": "TraveledDistance",
                    "code": "odometer-traveleddistance",
                },
                {"group": "Closure", "name": "IsLocked", "code": "closure-islocked"},
            ],
            "errorCallbackUri": "https://example.com/hooks/errors",
            "autoSubscribe": False,
        },
        "links": {"self": f"/webhooks/wh_{index}"},
        "meta": {"createdAt": "2026-04-30T08:00:00Z"},
    }


def subscription_json(index: int = 1) -> dict[str, Any]:
    """A subscription as the reference (§5, get-subscription) documents it."""
    return {
        "type": "subscription",
        "id": f"sub_{index}",
        "attributes": {
            "vehicle": {
                "make": "VOLKSWAGEN",
                "model": "ID.4",
                "year": 2023,
                "mode": "simulated",
                "powertrainType": "BEV",
            }
        },
        "meta": {"createdAt": "2026-05-01T00:00:00Z", "updatedAt": "2026-05-03T00:00:00Z"},
        "relationships": {
            "webhook": {"data": {"type": "webhook", "id": WEBHOOK_ID}, "links": {"related": "x"}},
            "user": {"data": {"type": "user", "id": USER_ID}, "links": {"related": "x"}},
            "vehicle": {"data": {"type": "vehicle", "id": VEHICLE_ID}, "links": {"related": "x"}},
        },
        "links": {"self": f"/subscriptions/sub_{index}"},
    }


def check_webhook(hook: Webhook) -> None:
    assert hook.id == "wh_1"
    assert hook.name == "fleet state"
    assert hook.callback_uri == "https://example.com/hooks/smartcar"
    assert hook.is_enabled is True
    assert hook.triggers == (
        SignalRef(
            group="TractionBattery", name="StateOfCharge", code="tractionbattery-stateofcharge"
        ),
    )
    assert [ref.code for ref in hook.data] == ["odometer-traveleddistance", "closure-islocked"]
    assert hook.error_callback_uri == "https://example.com/hooks/errors"
    assert hook.auto_subscribe is False
    assert hook.created_at == dt.datetime(2026, 4, 30, 8, tzinfo=dt.timezone.utc)


def check_subscription(sub: Subscription) -> None:
    assert sub.id == "sub_1"
    assert sub.webhook_id == WEBHOOK_ID
    assert sub.user_id == USER_ID
    assert sub.vehicle_id == VEHICLE_ID
    assert sub.vehicle is not None
    assert (sub.vehicle.make, sub.vehicle.model, sub.vehicle.year) == ("VOLKSWAGEN", "ID.4", 2023)
    assert sub.vehicle.mode == "simulated"
    assert sub.vehicle.powertrain_type == "BEV"
    assert sub.created_at == dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    assert sub.updated_at == dt.datetime(2026, 5, 3, tzinfo=dt.timezone.utc)


# -- webhooks ------------------------------------------------------------------------------


async def test_webhooks_list_sends_filters_to_the_management_host(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{MANAGEMENT_API}/webhooks").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [webhook_json(1)],
                "meta": {"pageNumber": 1, "pageSize": 50, "totalCount": 1},
                "links": {"self": "/webhooks", "prev": None, "next": None},
            },
        )
    )
    with anyio.fail_after(5):
        hooks = [
            hook
            async for hook in client.webhook_endpoints.list(
                name="fleet",
                callback_uri="example.com",
                is_enabled=True,
                auto_subscribe=False,
                page_size=50,
            )
        ]
    request = only_request(router)
    assert request.method == "GET"
    assert request.url.host == "management.api.smartcar.com"
    assert request.url.path == "/v3/webhooks"
    assert query_of(request) == {
        "filter[name]": "fleet",
        "filter[callbackUri]": "example.com",
        "filter[isEnabled]": "true",
        "filter[autoSubscribe]": "false",
        "page[size]": "50",
        "page[number]": "1",
    }
    assert_headers(request, user_id=None)
    assert len(hooks) == 1
    check_webhook(hooks[0])


async def test_webhooks_list_without_filters(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{MANAGEMENT_API}/webhooks").mock(
        return_value=httpx.Response(200, json={"data": [], "meta": {"totalCount": 0}})
    )
    with anyio.fail_after(5):
        page = await client.webhook_endpoints.list()
    assert query_of(only_request(router)) == {"page[number]": "1"}
    assert page.total_count == 0


@pytest.mark.parametrize("kwargs", [{"is_enabled": "yes"}, {"name": ""}, {"page_size": -1}])
async def test_webhooks_list_validates_filters(
    client: SmartcarClient, router: respx.MockRouter, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        client.webhook_endpoints.list(**kwargs)
    assert not router.calls


@pytest.mark.parametrize("wrapped", [True, False], ids=["data-wrapped", "bare"])
async def test_webhooks_get(
    client: SmartcarClient, router: respx.MockRouter, wrapped: bool
) -> None:
    body = {"data": webhook_json(1)} if wrapped else webhook_json(1)
    router.get(f"{MANAGEMENT_API}/webhooks/wh_1").mock(return_value=httpx.Response(200, json=body))
    with anyio.fail_after(5):
        hook = await client.webhook_endpoints.get("wh_1")
    request = only_request(router)
    assert request.method == "GET"
    assert request.url.path == "/v3/webhooks/wh_1"
    assert_headers(request, user_id=None)
    check_webhook(hook)


async def test_webhook_triggers_given_as_codes_are_read(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    body = webhook_json(1)
    body["attributes"]["triggers"] = ["closure-islocked"]
    router.get(f"{MANAGEMENT_API}/webhooks/wh_1").mock(
        return_value=httpx.Response(200, json={"data": body})
    )
    with anyio.fail_after(5):
        hook = await client.webhook_endpoints.get("wh_1")
    assert hook.triggers == (SignalRef(code="closure-islocked"),)


async def test_the_old_name_client_webhooks_still_works_and_warns_once_per_client(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{MANAGEMENT_API}/webhooks/wh_1").mock(
        return_value=httpx.Response(200, json={"data": webhook_json(1)})
    )
    new_name = r"SmartcarClient\.webhooks is deprecated, use \.webhook_endpoints"
    with pytest.warns(DeprecationWarning, match=new_name):
        old = client.webhooks
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = client.webhooks  # the second read of the same client is silent
    assert old is again is client.webhook_endpoints
    with anyio.fail_after(5):
        check_webhook(await old.get("wh_1"))
    with pytest.warns(DeprecationWarning, match=new_name):
        derived = client.with_options().webhooks
    assert isinstance(derived, WebhookEndpoints)


def test_the_old_class_name_still_imports_and_warns() -> None:
    with pytest.warns(DeprecationWarning, match="use WebhookEndpoints"):
        from smartcar_async.resources import Webhooks
    assert Webhooks is WebhookEndpoints


# -- subscriptions -------------------------------------------------------------------------


async def test_subscriptions_list_filters_and_pages(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page[number]"])
        return httpx.Response(
            200,
            json={
                "data": [subscription_json(number)],
                "meta": {"page": number, "pageSize": 1, "totalCount": 2},
                "links": {"next": "/subscriptions?page[number]=2" if number == 1 else None},
            },
        )

    route = router.get(f"{MANAGEMENT_API}/subscriptions").mock(side_effect=answer)
    with anyio.fail_after(5):
        subs = await client.subscriptions.list(
            user_id=USER_ID,
            webhook_id=WEBHOOK_ID,
            vehicle_id=VEHICLE_ID,
            mode="simulated",
            page_size=1,
        ).to_list()
    assert [s.id for s in subs] == ["sub_1", "sub_2"]
    check_subscription(subs[0])
    assert route.call_count == 2
    first = api_calls(router)[0]
    assert query_of(first) == {
        "filter[userId]": USER_ID,
        "filter[webhookId]": WEBHOOK_ID,
        "filter[vehicleId]": VEHICLE_ID,
        "filter[vehicle.mode]": "simulated",
        "page[size]": "1",
        "page[number]": "1",
    }
    assert_headers(first, user_id=None)  # a filter, not sc-user-id


async def test_subscriptions_list_page_raw(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.get(f"{MANAGEMENT_API}/subscriptions").mock(
        return_value=httpx.Response(
            200, json={"data": [subscription_json(1)]}, headers={"SC-Request-Id": "r-7"}
        )
    )
    with anyio.fail_after(5):
        raw = await client.subscriptions.with_raw_response.list_page(4)
    assert raw.request_id == "r-7"
    assert query_of(only_request(router)) == {"page[number]": "4"}
    check_subscription(raw.parse().items[0])


@pytest.mark.parametrize("wrapped", [True, False], ids=["data-wrapped", "bare"])
async def test_subscriptions_get(
    client: SmartcarClient, router: respx.MockRouter, wrapped: bool
) -> None:
    body = {"data": subscription_json(1)} if wrapped else subscription_json(1)
    router.get(f"{MANAGEMENT_API}/subscriptions/sub_1").mock(
        return_value=httpx.Response(200, json=body)
    )
    with anyio.fail_after(5):
        sub = await client.subscriptions.get("sub_1")
    request = only_request(router)
    assert request.url.path == "/v3/subscriptions/sub_1"
    assert_headers(request, user_id=None)
    check_subscription(sub)


async def test_subscriptions_create_posts_attributes_and_reads_the_202(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.post(f"{MANAGEMENT_API}/subscriptions").mock(
        return_value=httpx.Response(
            202, json={"meta": {"message": "subscription creation in progress"}}
        )
    )
    with anyio.fail_after(5):
        result = await client.subscriptions.create(
            webhook_id=WEBHOOK_ID, vehicle_id=VEHICLE_ID, user_id=USER_ID
        )
    request = only_request(router)
    assert request.method == "POST"
    assert request.url.path == "/v3/subscriptions"
    assert body_of(request) == {
        "data": {
            "attributes": {"webhookId": WEBHOOK_ID, "vehicleId": VEHICLE_ID, "userId": USER_ID}
        }
    }
    assert_headers(request, user_id=None)
    assert result.message == "subscription creation in progress"
    assert result.status_code == 202
    assert (result.webhook_id, result.vehicle_id, result.user_id) == (
        WEBHOOK_ID,
        VEHICLE_ID,
        USER_ID,
    )
    assert result.subscription is None


@pytest.mark.parametrize(
    ("status", "body"),
    [(202, None), (201, {"data": subscription_json(1)})],
    ids=["202-empty", "201-resource"],
)
async def test_subscriptions_create_tolerates_other_answers(
    client: SmartcarClient, router: respx.MockRouter, status: int, body: Any
) -> None:
    response = httpx.Response(status) if body is None else httpx.Response(status, json=body)
    router.post(f"{MANAGEMENT_API}/subscriptions").mock(return_value=response)
    with anyio.fail_after(5):
        result = await client.subscriptions.create(
            webhook_id=WEBHOOK_ID, vehicle_id=VEHICLE_ID, user_id=USER_ID
        )
    assert result.message is None
    assert result.status_code == status
    if body is None:
        assert result.subscription is None
    else:
        assert result.subscription is not None
        check_subscription(result.subscription)


async def test_subscriptions_create_conflict_raises(
    client: SmartcarClient, router: respx.MockRouter
) -> None:
    router.post(f"{MANAGEMENT_API}/subscriptions").mock(
        return_value=httpx.Response(
            409, json={"errors": [{"status": "409", "type": "VEHICLE_STATE", "code": "CONFLICT"}]}
        )
    )
    with anyio.fail_after(5), pytest.raises(VehicleStateError):
        await client.subscriptions.create(
            webhook_id=WEBHOOK_ID, vehicle_id=VEHICLE_ID, user_id=USER_ID
        )


@pytest.mark.parametrize("field", ["webhook_id", "vehicle_id", "user_id"])
async def test_subscriptions_create_refuses_empty_ids(
    client: SmartcarClient, router: respx.MockRouter, field: str
) -> None:
    kwargs = {"webhook_id": WEBHOOK_ID, "vehicle_id": VEHICLE_ID, "user_id": USER_ID, field: ""}
    with pytest.raises(ValueError, match=field):
        await client.subscriptions.create(**kwargs)
    assert not router.calls


async def test_subscriptions_delete(client: SmartcarClient, router: respx.MockRouter) -> None:
    router.delete(f"{MANAGEMENT_API}/subscriptions/sub_1").mock(return_value=httpx.Response(204))
    with anyio.fail_after(5):
        assert await client.subscriptions.delete("sub_1") is None
    request = only_request(router)
    assert request.method == "DELETE"
    assert request.url.path == "/v3/subscriptions/sub_1"
    assert_headers(request, user_id=None)

"""``client.webhook_endpoints`` and ``client.subscriptions`` (Management API).

The Management API takes the same bearer application token and never ``sc-user-id``:
user ids here are filters or body fields, not the user the call acts for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from .._pagination import AsyncPaginator, Page
from .._paths import path_segment
from ._base import RawView, Resource, one_request
from ._common import check_filter, no_content, read_json
from ._listing import Listing, Query, flag, paginate, single
from ._types import (
    Subscription,
    SubscriptionRequest,
    Webhook,
    parse_subscription,
    parse_webhook,
)

if TYPE_CHECKING:
    import httpx
    from typing_extensions import Unpack


__all__ = ["SubscriptionFilters", "Subscriptions", "WebhookEndpoints", "WebhookFilters"]


class WebhookFilters(TypedDict, total=False):
    """The filters of `WebhookEndpoints.list` and `WebhookEndpoints.list_page`, all optional."""

    name: Annotated[str | None, Query("filter[name]")]
    callback_uri: Annotated[str | None, Query("filter[callbackUri]")]
    is_enabled: Annotated[bool | None, Query("filter[isEnabled]", check=flag)]
    auto_subscribe: Annotated[bool | None, Query("filter[autoSubscribe]", check=flag)]
    page_size: int | None


class SubscriptionFilters(TypedDict, total=False):
    """The filters of `Subscriptions.list` and `Subscriptions.list_page`, all optional."""

    user_id: Annotated[str | None, Query("filter[userId]")]
    webhook_id: Annotated[str | None, Query("filter[webhookId]")]
    vehicle_id: Annotated[str | None, Query("filter[vehicleId]")]
    mode: Annotated[str | None, Query("filter[vehicle.mode]")]
    page_size: int | None


WEBHOOKS = Listing("management", "/webhooks", parse_webhook, WebhookFilters)
SUBSCRIPTIONS = Listing("management", "/subscriptions", parse_subscription, SubscriptionFilters)
_read_webhook = single(parse_webhook)
_read_subscription = single(parse_subscription)


class WebhookEndpoints(Resource):
    """The application's webhooks as configured: where each delivers and what it sends
    (``/webhooks``, Management API). Read-only.

    ``client.webhook_endpoints``: it reads the configuration of the endpoints Smartcar
    delivers to; receiving the deliveries is the job of the `smartcar_async.webhooks`
    module (`smartcar_async.webhooks.WebhookReceiver`). ``client.webhooks`` is the
    deprecated old name of this resource.

    Examples:
        >>> async for hook in client.webhook_endpoints.list(is_enabled=True):
        ...     print(hook.name, hook.callback_uri)
    """

    if TYPE_CHECKING:  # the typed view; at run time the base property's RawView

        @property
        def with_raw_response(self) -> _RawWebhookEndpoints: ...

    def list(self, **filters: Unpack[WebhookFilters]) -> AsyncPaginator[Webhook]:
        """List webhooks; ``await`` for the first `Page`, ``async for`` for all.

        Args:
            **filters: any of `WebhookFilters`:
                ``name``: partial, case-insensitive match on the name (``filter[name]``).
                ``callback_uri``: partial, case-insensitive match (``filter[callbackUri]``).
                ``is_enabled``: only enabled (True) or disabled (False) webhooks.
                ``auto_subscribe``: only webhooks that do (True) or do not auto-subscribe.
                ``page_size``: webhooks per page (API default 50, maximum 100).

        Examples:
            >>> hooks = await client.webhook_endpoints.list(name="fleet").to_list()
        """
        return paginate(WEBHOOKS, self.list_page, filters)

    @one_request
    async def list_page(
        self, page_number: int = 1, **filters: Unpack[WebhookFilters]
    ) -> Page[Webhook]:
        """One page of `list`, by number; one request (works with ``with_raw_response``).

        Examples:
            >>> page = await client.webhook_endpoints.list_page(2, page_size=100)
        """
        return await WEBHOOKS.page(self._client, page_number, filters)

    @one_request
    async def get(self, webhook_id: str) -> Webhook:
        """One webhook by id.

        Examples:
            >>> hook = await client.webhook_endpoints.get(webhook_id)
            >>> [ref.code for ref in hook.triggers]
            ['tractionbattery-stateofcharge']
        """
        segment = path_segment(webhook_id, "webhook_id")
        return await self._client._call("GET", "management", f"/webhooks/{segment}", _read_webhook)


class Subscriptions(Resource):
    """Vehicles subscribed to webhooks (``/subscriptions``, Management API).

    A vehicle produces signal data only once it is subscribed to a webhook.

    Examples:
        >>> await client.subscriptions.create(
        ...     webhook_id=webhook_id, vehicle_id=vehicle_id, user_id=user_id
        ... )
    """

    if TYPE_CHECKING:  # the typed view; at run time the base property's RawView

        @property
        def with_raw_response(self) -> _RawSubscriptions: ...

    def list(self, **filters: Unpack[SubscriptionFilters]) -> AsyncPaginator[Subscription]:
        """List subscriptions; ``await`` for the first `Page`, ``async for`` for all.

        Args:
            **filters: any of `SubscriptionFilters`:
                ``user_id``: only this user's vehicles (``filter[userId]``).
                ``webhook_id``: only this webhook's subscriptions (``filter[webhookId]``).
                ``vehicle_id``: only this vehicle's subscriptions (``filter[vehicleId]``).
                ``mode``: ``"live"`` or ``"simulated"`` (``filter[vehicle.mode]``); none
                by default.
                ``page_size``: subscriptions per page (API default 25, maximum 100).

        Examples:
            >>> async for sub in client.subscriptions.list(webhook_id=webhook_id):
            ...     print(sub.vehicle_id)
        """
        return paginate(SUBSCRIPTIONS, self.list_page, filters)

    @one_request
    async def list_page(
        self, page_number: int = 1, **filters: Unpack[SubscriptionFilters]
    ) -> Page[Subscription]:
        """One page of `list`, by number; one request (works with ``with_raw_response``).

        Examples:
            >>> raw = await client.subscriptions.with_raw_response.list_page(1)
        """
        return await SUBSCRIPTIONS.page(self._client, page_number, filters)

    @one_request
    async def get(self, subscription_id: str) -> Subscription:
        """One subscription by id.

        Examples:
            >>> sub = await client.subscriptions.get(subscription_id)
            >>> sub.webhook_id, sub.vehicle.make
        """
        segment = path_segment(subscription_id, "subscription_id")
        return await self._client._call(
            "GET", "management", f"/subscriptions/{segment}", _read_subscription
        )

    @one_request
    async def create(
        self, *, webhook_id: str, vehicle_id: str, user_id: str
    ) -> SubscriptionRequest:
        """Subscribe a vehicle to a webhook (``POST /subscriptions``).

        The API accepts the request (``202``) and creates the subscription shortly
        after; `list` shows it once it exists. The body's attribute names
        (``webhookId``, ``vehicleId``, ``userId``) are inferred: the documentation
        does not list them.

        Raises:
            ValueError: an empty id (before any request).
            VehicleStateError: (409) presumably already subscribed.

        Examples:
            >>> request = await client.subscriptions.create(
            ...     webhook_id=webhook_id, vehicle_id=vehicle_id, user_id=user_id
            ... )
            >>> request.message
            'subscription creation in progress'
        """
        attributes = {
            "webhookId": check_filter(webhook_id, "webhook_id"),
            "vehicleId": check_filter(vehicle_id, "vehicle_id"),
            "userId": check_filter(user_id, "user_id"),
        }

        def parse(response: httpx.Response) -> SubscriptionRequest:
            return _subscription_request(response, webhook_id, vehicle_id, user_id)

        return await self._client._call(
            "POST", "management", "/subscriptions", parse, json={"data": {"attributes": attributes}}
        )

    @one_request
    async def delete(self, subscription_id: str) -> None:
        """Unsubscribe (``DELETE /subscriptions/{subscriptionId}``).

        Examples:
            >>> await client.subscriptions.delete(subscription_id)
        """
        segment = path_segment(subscription_id, "subscription_id")
        return await self._client._call(
            "DELETE", "management", f"/subscriptions/{segment}", no_content
        )


def _subscription_request(
    response: httpx.Response, webhook_id: str, vehicle_id: str, user_id: str
) -> SubscriptionRequest:
    payload: Any = read_json(response) if response.content.strip() else {}
    if not isinstance(payload, dict):
        payload = {}
    meta = payload.get("meta")
    message = meta.get("message") if isinstance(meta, dict) else None
    data = payload.get("data")
    # The documented answer is only a message; a subscription resource is read too.
    subscription = parse_subscription(data) if isinstance(data, dict) and "id" in data else None
    return SubscriptionRequest(
        message=message if isinstance(message, str) else None,
        webhook_id=webhook_id,
        vehicle_id=vehicle_id,
        user_id=user_id,
        status_code=response.status_code,
        subscription=subscription,
        raw=payload,
    )


if TYPE_CHECKING:

    class _RawWebhookEndpoints(WebhookEndpoints, RawView):
        """What type checkers see of ``WebhookEndpoints.with_raw_response``."""

        list: None  # type: ignore[assignment]  # not one request: refused

    class _RawSubscriptions(Subscriptions, RawView):
        """What type checkers see of ``Subscriptions.with_raw_response``."""

        list: None  # type: ignore[assignment]  # not one request: refused

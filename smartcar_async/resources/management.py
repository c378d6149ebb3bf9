"""``client.webhooks`` and ``client.subscriptions`` (Management API).

The Management API takes the same bearer application token and never ``sc-user-id``:
user ids here are filters or body fields, not the user the call acts for.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from .._models import unwrap
from .._pagination import AsyncPaginator, Page
from .._paths import path_segment
from ._base import Resource
from ._common import check_filter, check_page_size, fetch_page, no_content, read_json
from ._types import (
    Subscription,
    SubscriptionRequest,
    Webhook,
    parse_subscription,
    parse_webhook,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["Subscriptions", "Webhooks"]


def _parse_webhook_response(response: httpx.Response) -> Webhook:
    return parse_webhook(unwrap(read_json(response)))


def _parse_subscription_response(response: httpx.Response) -> Subscription:
    return parse_subscription(unwrap(read_json(response)))


def _flag(value: bool, name: str) -> str:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return "true" if value else "false"


class Webhooks(Resource):
    """The application's webhooks (``/webhooks``, Management API). Read-only.

    Examples:
        >>> async for hook in client.webhooks.list(is_enabled=True):
        ...     print(hook.name, hook.callback_uri)
    """

    def list(
        self,
        *,
        name: str | None = None,
        callback_uri: str | None = None,
        is_enabled: bool | None = None,
        auto_subscribe: bool | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[Webhook]:
        """List webhooks; ``await`` for the first `Page`, ``async for`` for all.

        Args:
            name: partial, case-insensitive match on the name (``filter[name]``).
            callback_uri: partial, case-insensitive match (``filter[callbackUri]``).
            is_enabled: only enabled (True) or disabled (False) webhooks.
            auto_subscribe: only webhooks that do (True) or do not auto-subscribe.
            page_size: webhooks per page (API default 50, maximum 100).

        Examples:
            >>> hooks = await client.webhooks.list(name="fleet").to_list()
        """
        params = _webhook_params(name, callback_uri, is_enabled, auto_subscribe, page_size)
        return AsyncPaginator(
            partial(
                fetch_page,
                self._client,
                "management",
                "/webhooks",
                parse_webhook,
                params,
                page_size,
            )
        )

    async def list_page(
        self,
        page_number: int = 1,
        *,
        name: str | None = None,
        callback_uri: str | None = None,
        is_enabled: bool | None = None,
        auto_subscribe: bool | None = None,
        page_size: int | None = None,
    ) -> Page[Webhook]:
        """One page of `list`, by number; one request (works with ``with_raw_response``).

        Examples:
            >>> page = await client.webhooks.list_page(2, page_size=100)
        """
        params = _webhook_params(name, callback_uri, is_enabled, auto_subscribe, page_size)
        return await fetch_page(
            self._client, "management", "/webhooks", parse_webhook, params, page_size, page_number
        )

    async def get(self, webhook_id: str) -> Webhook:
        """One webhook by id.

        Raises:
            ValueError: ``webhook_id`` is not a single path segment (before any request).
            NotFoundError: no such webhook.

        Examples:
            >>> hook = await client.webhooks.get(webhook_id)
            >>> [ref.code for ref in hook.triggers]
            ['tractionbattery-stateofcharge']
        """
        segment = path_segment(webhook_id, "webhook_id")
        return await self._client._call(
            "GET", "management", f"/webhooks/{segment}", _parse_webhook_response
        )


class Subscriptions(Resource):
    """Vehicles subscribed to webhooks (``/subscriptions``, Management API).

    A vehicle produces signal data only once it is subscribed to a webhook.

    Examples:
        >>> await client.subscriptions.create(
        ...     webhook_id=webhook_id, vehicle_id=vehicle_id, user_id=user_id
        ... )
    """

    def list(
        self,
        *,
        user_id: str | None = None,
        webhook_id: str | None = None,
        vehicle_id: str | None = None,
        mode: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[Subscription]:
        """List subscriptions; ``await`` for the first `Page`, ``async for`` for all.

        Args:
            user_id: only this user's vehicles (``filter[userId]``).
            webhook_id: only this webhook's subscriptions (``filter[webhookId]``).
            vehicle_id: only this vehicle's subscriptions (``filter[vehicleId]``).
            mode: ``"live"`` or ``"simulated"`` (``filter[vehicle.mode]``); None sends
                no mode filter.
            page_size: subscriptions per page (API default 25, maximum 100).

        Examples:
            >>> async for sub in client.subscriptions.list(webhook_id=webhook_id):
            ...     print(sub.vehicle_id)
        """
        params = _subscription_params(user_id, webhook_id, vehicle_id, mode, page_size)
        return AsyncPaginator(
            partial(
                fetch_page,
                self._client,
                "management",
                "/subscriptions",
                parse_subscription,
                params,
                page_size,
            )
        )

    async def list_page(
        self,
        page_number: int = 1,
        *,
        user_id: str | None = None,
        webhook_id: str | None = None,
        vehicle_id: str | None = None,
        mode: str | None = None,
        page_size: int | None = None,
    ) -> Page[Subscription]:
        """One page of `list`, by number; one request (works with ``with_raw_response``).

        Examples:
            >>> raw = await client.subscriptions.with_raw_response.list_page(1)
        """
        params = _subscription_params(user_id, webhook_id, vehicle_id, mode, page_size)
        return await fetch_page(
            self._client,
            "management",
            "/subscriptions",
            parse_subscription,
            params,
            page_size,
            page_number,
        )

    async def get(self, subscription_id: str) -> Subscription:
        """One subscription by id.

        Examples:
            >>> sub = await client.subscriptions.get(subscription_id)
            >>> sub.webhook_id, sub.vehicle.make
        """
        segment = path_segment(subscription_id, "subscription_id")
        return await self._client._call(
            "GET", "management", f"/subscriptions/{segment}", _parse_subscription_response
        )

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

    async def delete(self, subscription_id: str) -> None:
        """Unsubscribe (``DELETE /subscriptions/{subscriptionId}``).

        Examples:
            >>> await client.subscriptions.delete(subscription_id)
        """
        segment = path_segment(subscription_id, "subscription_id")
        await self._client._call("DELETE", "management", f"/subscriptions/{segment}", no_content)


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


def _webhook_params(
    name: str | None,
    callback_uri: str | None,
    is_enabled: bool | None,
    auto_subscribe: bool | None,
    page_size: int | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if name is not None:
        params["filter[name]"] = check_filter(name, "name")
    if callback_uri is not None:
        params["filter[callbackUri]"] = check_filter(callback_uri, "callback_uri")
    if is_enabled is not None:
        params["filter[isEnabled]"] = _flag(is_enabled, "is_enabled")
    if auto_subscribe is not None:
        params["filter[autoSubscribe]"] = _flag(auto_subscribe, "auto_subscribe")
    if page_size is not None:
        params["page[size]"] = check_page_size(page_size)
    return params


def _subscription_params(
    user_id: str | None,
    webhook_id: str | None,
    vehicle_id: str | None,
    mode: str | None,
    page_size: int | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if user_id is not None:
        params["filter[userId]"] = check_filter(user_id, "user_id")
    if webhook_id is not None:
        params["filter[webhookId]"] = check_filter(webhook_id, "webhook_id")
    if vehicle_id is not None:
        params["filter[vehicleId]"] = check_filter(vehicle_id, "vehicle_id")
    if mode is not None:
        params["filter[vehicle.mode]"] = check_filter(mode, "mode")
    if page_size is not None:
        params["page[size]"] = check_page_size(page_size)
    return params

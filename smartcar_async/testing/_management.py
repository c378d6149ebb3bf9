"""The Management API's routes: webhooks and subscriptions.

`ManagementHandlers` is a part of `EmulatorCore` (its base class), kept in its own
module so the core stays readable; the handlers are found by name like the core's own
(``_h_<route handler>``). What they use of the core is declared below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._commands import parse_attributes
from ._http import EmuRequest, EmuResponse, found, json_response
from ._http import api_error as _fail
from ._render import PageError, paginate, subscription_resource, webhook_resource
from ._signal_values import describe
from ._state import Connection, IdSource, State, Subscription, Vehicle

if TYPE_CHECKING:
    from ._routes import Route

__all__ = ["MODES", "ManagementHandlers"]

T = TypeVar("T")
#: A resource that belongs to one vehicle and is rendered beside it.
Owned = TypeVar("Owned", Connection, Subscription)

#: The vehicle modes a ``filter[vehicle.mode]`` may name.
MODES = ("live", "simulated")


class ManagementHandlers:
    """The Management API's handlers, as a base class of `EmulatorCore`."""

    # Provided by EmulatorCore.
    state: State
    ids: IdSource

    if TYPE_CHECKING:

        def wall(self) -> float: ...

        @staticmethod
        def _query(request: EmuRequest) -> dict[str, str]: ...

        @staticmethod
        def _json_body(request: EmuRequest) -> Any: ...

    def _collection(
        self,
        items: list[T],
        query: Mapping[str, str],
        path: str,
        default_size: int,
        render: Callable[[T], dict[str, Any]],
    ) -> dict[str, Any]:
        """One page of ``items`` as a JSON:API collection (``data``, ``meta``, ``links``)."""
        try:
            page, meta, links = paginate(items, query, path, default_size=default_size)
        except PageError as error:
            raise _fail(400, "VALIDATION", "PARAMETER", str(error)) from None
        return {"data": [render(item) for item in page], "meta": meta, "links": links}

    def _beside_vehicle(
        self, render: Callable[[Owned, Vehicle], dict[str, Any]]
    ) -> Callable[[Owned], dict[str, Any]]:
        """``render`` fed the item's own vehicle: one rule for list and get handlers.

        Examples:
            >>> render = self._beside_vehicle(connection_resource)
            >>> render(connection)["attributes"]["vehicle"]["make"]  # the connection's car
            'TESLA'
        """
        vehicles = self.state.vehicles
        return lambda item: render(item, vehicles[item.vehicle_id])

    def _get_owned(
        self, item: Owned, render: Callable[[Owned, Vehicle], dict[str, Any]]
    ) -> EmuResponse:
        """The get-by-id answer for a connection or subscription."""
        return json_response(200, {"data": self._beside_vehicle(render)(item)})

    # -- webhooks and subscriptions -----------------------------------------------------

    def _h_list_webhooks(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        query = self._query(request)
        name = query.get("filter[name]", "").lower()
        uri = query.get("filter[callbackUri]", "").lower()
        enabled = _bool_filter(query, "filter[isEnabled]")
        auto = _bool_filter(query, "filter[autoSubscribe]")
        selected = [
            w
            for w in self.state.webhooks.values()
            if name in w.name.lower()
            and uri in w.callback_uri.lower()
            and (enabled is None or w.is_enabled is enabled)
            and (auto is None or w.auto_subscribe is auto)
        ]
        return json_response(
            200,
            self._collection(
                selected, query, "/webhooks", 50, lambda w: webhook_resource(w, describe)
            ),
        )

    def _h_get_webhook(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        webhook = found(self.state.webhooks, params[0], "webhook")
        return json_response(200, {"data": webhook_resource(webhook, describe)})

    def _h_list_subscriptions(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        query = self._query(request)
        mode = query.get("filter[vehicle.mode]")
        if mode is not None and mode not in MODES:
            raise _fail(
                400, "VALIDATION", "PARAMETER", "filter[vehicle.mode] is live or simulated."
            )
        wanted = {
            "user_id": query.get("filter[userId]"),
            "webhook_id": query.get("filter[webhookId]"),
            "vehicle_id": query.get("filter[vehicleId]"),
        }
        vehicles = self.state.vehicles
        selected = [
            s
            for s in self.state.subscriptions.values()
            if all(v is None or getattr(s, k) == v for k, v in wanted.items())
            and (mode is None or vehicles[s.vehicle_id].mode == mode)
        ]
        return json_response(
            200,
            self._collection(
                selected,
                query,
                "/subscriptions",
                25,
                self._beside_vehicle(subscription_resource),
            ),
        )

    def _subscription(self, subscription_id: str) -> Subscription:
        return found(self.state.subscriptions, subscription_id, "subscription")

    def _h_get_subscription(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        return self._get_owned(self._subscription(params[0]), subscription_resource)

    def _h_create_subscription(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        attributes = parse_attributes(self._json_body(request))
        values = {}
        for key in ("webhookId", "vehicleId", "userId"):
            value = attributes.get(key)
            if not isinstance(value, str) or not value:
                raise _fail(400, "VALIDATION", "PARAMETER", f"attributes.{key} is required.")
            values[key] = value
        webhook_id, vehicle_id, user_id = values["webhookId"], values["vehicleId"], values["userId"]
        if webhook_id not in self.state.webhooks:
            raise _fail(404, "RESOURCE_NOT_FOUND", None, "No webhook has this id.")
        if (vehicle_id, user_id) not in self.state.pair_index:
            raise _fail(
                404,
                "RESOURCE_NOT_FOUND",
                "VEHICLE_NOT_FOUND",
                "No vehicle with this id is connected to this user.",
            )
        # The spec lists a 409 for this endpoint but no error type or body for it; rather
        # than invent one, subscribing again is accepted and changes nothing.
        if (webhook_id, vehicle_id) not in self.state.subscription_index:
            self.subscribe(webhook_id, vehicle_id, user_id)
        return json_response(202, {"meta": {"message": "subscription creation in progress"}})

    def subscribe(self, webhook_id: str, vehicle_id: str, user_id: str) -> Subscription:
        subscription = Subscription(self.ids.uuid(), self.wall(), webhook_id, vehicle_id, user_id)
        self.state.add_subscription(subscription)
        return subscription

    def _h_delete_subscription(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        self.state.remove_subscription(self._subscription(params[0]).id)
        return EmuResponse(204, b"", [])


def _bool_filter(query: Mapping[str, str], key: str) -> bool | None:
    raw = query.get(key)
    if raw is None:
        return None
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise _fail(400, "VALIDATION", "PARAMETER", f"{key} must be true or false.")

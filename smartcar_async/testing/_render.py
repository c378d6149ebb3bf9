"""State to JSON:API, in the shapes reference §3-§5 document.

Where the reference records a conflict, the documented variant is emitted: collection
``meta`` as ``page/pageSize/totalCount`` with a ``previous`` link (the published v3
example), ``GET /vehicles/{id}`` wrapped in ``data``, signal timestamps in epoch
milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from ._http import dumps
from ._state import Connection, SignalState, Subscription, Vehicle, Webhook, iso
from ._units import IMPERIAL, to_imperial

__all__ = [
    "PageError",
    "connection_resource",
    "page_param",
    "paginate",
    "signal_resource_bytes",
    "signal_resource_in",
    "signals_collection_bytes",
    "signals_page_bytes",
    "subscription_resource",
    "vehicle_resource",
    "webhook_resource",
]

T = TypeVar("T")

Describe = Callable[[str], tuple[str, str]]


def _q(segment: str) -> str:
    return quote(segment, safe="")


def vehicle_resource(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "id": vehicle.id,
        "type": "vehicle",
        "attributes": vehicle.attributes(),
        "links": {"self": f"/vehicles/{_q(vehicle.id)}"},
    }


def connection_resource(connection: Connection, vehicle: Vehicle) -> dict[str, Any]:
    vehicle_link = f"/vehicles/{_q(vehicle.id)}"
    return {
        "id": connection.id,
        "type": "connection",
        "attributes": {
            "permissions": list(connection.permissions),
            "vehicle": vehicle.attributes(),
        },
        "relationships": {
            "vehicle": {
                "data": {"id": vehicle.id, "type": "vehicle"},
                "links": {"related": vehicle_link},
            },
            "user": {"data": {"id": connection.user_id, "type": "user"}},
        },
        "meta": {"createdAt": iso(connection.created_at), "updatedAt": iso(connection.updated_at)},
        "links": {"self": f"/connections/{_q(connection.id)}"},
    }


def signal_resource(
    vehicle: Vehicle, code: str, signal: SignalState, describe: Describe
) -> dict[str, Any]:
    group, name = describe(code)
    attributes: dict[str, Any] = {"code": code, "name": name, "group": group}
    if signal.status == "SUCCESS":
        attributes["status"] = {"value": "SUCCESS"}
        attributes["body"] = signal.body
    else:
        status: dict[str, Any] = {"value": signal.status}
        if signal.error is not None:
            status["error"] = signal.error
        attributes["status"] = status
    vehicle_link = f"/vehicles/{_q(vehicle.id)}"
    return {
        "id": code,
        "type": "signal",
        "attributes": attributes,
        "meta": {"retrievedAt": signal.retrieved_at, "oemUpdatedAt": signal.oem_updated_at},
        "links": {"self": f"{vehicle_link}/signals/{_q(code)}", "vehicle": vehicle_link},
    }


def signal_resource_bytes(
    vehicle: Vehicle, code: str, signal: SignalState, describe: Describe
) -> bytes:
    """One signal's JSON, cached on the vehicle until the signal changes."""
    cached = vehicle.signal_json.get(code)
    if cached is None:
        cached = dumps(signal_resource(vehicle, code, signal, describe))
        vehicle.signal_json[code] = cached
    return cached


def signals_collection_bytes(
    vehicle: Vehicle, signals: Mapping[str, SignalState], describe: Describe
) -> bytes:
    """The ``GET /vehicles/{id}/signals`` body, assembled from cached per-signal JSON."""
    cached = vehicle.collection_json
    if cached is not None:
        return cached
    items = b",".join(
        signal_resource_bytes(vehicle, code, signal, describe) for code, signal in signals.items()
    )
    count = len(signals)
    base = f"/vehicles/{_q(vehicle.id)}/signals"
    tail = {
        "meta": {"page": 1, "pageSize": count, "totalCount": count},
        "links": {"self": base, "first": base, "previous": None, "next": None, "last": base},
        "included": {"vehicle": _included_vehicle(vehicle)},
    }
    cached = b'{"data":[' + items + b"]," + dumps(tail)[1:]
    vehicle.collection_json = cached
    return cached


def signal_resource_in(
    vehicle: Vehicle, code: str, signal: SignalState, describe: Describe, system: str
) -> dict[str, Any]:
    """One signal's resource in ``system`` (``metric`` or ``imperial``), uncached."""
    resource = signal_resource(vehicle, code, signal, describe)
    attributes = resource["attributes"]
    if system == IMPERIAL and isinstance(attributes.get("body"), Mapping):
        converted = to_imperial(attributes["body"])
        if converted is not None:
            attributes["body"] = converted
    return resource


def signals_page_bytes(
    vehicle: Vehicle,
    signals: Mapping[str, SignalState],
    describe: Describe,
    *,
    number: int,
    size: int,
    system: str,
) -> bytes:
    """One page of ``GET /vehicles/{id}/signals``, with the names of the published
    example: ``meta.page/pageSize/totalCount`` and ``links.previous/next`` as
    ``?page=N&pageSize=M``."""
    codes = list(signals)
    total = len(codes)
    last = max(1, math.ceil(total / size))
    chosen = codes[(number - 1) * size : number * size]
    base = f"/vehicles/{_q(vehicle.id)}/signals"

    def link(n: int) -> str:
        return f"{base}?page={n}&pageSize={size}"

    body = {
        "data": [
            signal_resource_in(vehicle, code, signals[code], describe, system) for code in chosen
        ],
        "meta": {"page": number, "pageSize": size, "totalCount": total},
        "links": {
            "self": link(number),
            "first": link(1),
            "previous": link(number - 1) if 1 < number <= last + 1 else None,
            "next": link(number + 1) if number < last else None,
            "last": link(last),
        },
        "included": {"vehicle": _included_vehicle(vehicle)},
    }
    return dumps(body)


def _included_vehicle(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "id": vehicle.id,
        "type": "vehicle",
        "attributes": {"make": vehicle.make, "model": vehicle.model, "year": vehicle.year},
        "links": {"self": f"/vehicles/{_q(vehicle.id)}"},
    }


def _descriptor(code: str, describe: Describe) -> dict[str, str]:
    group, name = describe(code)
    return {"group": group, "name": name, "code": code}


def webhook_resource(webhook: Webhook, describe: Describe) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "type": "webhook",
        "attributes": {
            "name": webhook.name,
            "callbackUri": webhook.callback_uri,
            "isEnabled": webhook.is_enabled,
            "triggers": [_descriptor(code, describe) for code in webhook.triggers],
            "data": [_descriptor(code, describe) for code in webhook.data],
            "errorCallbackUri": webhook.error_callback_uri,
            "autoSubscribe": webhook.auto_subscribe,
        },
        "links": {"self": f"/webhooks/{_q(webhook.id)}"},
        "meta": {"createdAt": iso(webhook.created_at)},
    }


def subscription_resource(subscription: Subscription, vehicle: Vehicle) -> dict[str, Any]:
    def related(kind: str, id_: str, link: str) -> dict[str, Any]:
        return {"data": {"type": kind, "id": id_}, "links": {"related": link}}

    return {
        "id": subscription.id,
        "type": "subscription",
        "attributes": {"vehicle": vehicle.attributes()},
        "meta": {
            "createdAt": iso(subscription.created_at),
            "updatedAt": iso(subscription.updated_at),
        },
        "relationships": {
            "webhook": related(
                "webhook", subscription.webhook_id, f"/webhooks/{_q(subscription.webhook_id)}"
            ),
            "user": related("user", subscription.user_id, f"/users/{_q(subscription.user_id)}"),
            "vehicle": related(
                "vehicle", subscription.vehicle_id, f"/vehicles/{_q(subscription.vehicle_id)}"
            ),
        },
        "links": {"self": f"/subscriptions/{_q(subscription.id)}"},
    }


class PageError(ValueError):
    """A ``page[...]`` parameter that is not a positive integer within bounds."""


def paginate(
    items: Sequence[T],
    query: Mapping[str, str],
    path: str,
    *,
    default_size: int,
    max_size: int = 100,
) -> tuple[Sequence[T], dict[str, Any], dict[str, Any]]:
    """Slice ``items`` by ``page[number]``/``page[size]``; return (page, meta, links).

    Links repeat the caller's filters, so following ``next`` keeps the same view.
    """
    number = page_param(query, "page[number]", 1, None)
    size = page_param(query, "page[size]", default_size, max_size)
    total = len(items)
    last = max(1, math.ceil(total / size))
    start = (number - 1) * size
    page = items[start : start + size]
    filters = "".join(
        f"{key}={quote(value, safe='')}&"
        for key, value in query.items()
        if key.startswith("filter[")
    )

    def link(n: int) -> str:
        return f"{path}?{filters}page[number]={n}&page[size]={size}"

    meta = {"page": number, "pageSize": size, "totalCount": total}
    links = {
        "self": link(number),
        "first": link(1),
        "previous": link(number - 1) if 1 < number <= last + 1 else None,
        "next": link(number + 1) if number < last else None,
        "last": link(last),
    }
    return page, meta, links


def page_param(query: Mapping[str, str], key: str, default: int, maximum: int | None) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PageError(f"{key} must be an integer, got {raw!r}") from None
    if value < 1 or (maximum is not None and value > maximum):
        bound = f"between 1 and {maximum}" if maximum is not None else "at least 1"
        raise PageError(f"{key} must be {bound}, got {value}")
    return value

"""The route table: which path reaches which handler, and each route's stable name.

One server serves the token endpoint, both APIs and Connect, told apart by path:

| prefix | API |
| --- | --- |
| ``/oauth2/token`` | token endpoint (IAM) |
| ``/v3/...`` | Vehicle API |
| ``/management/v3/...`` | Management API |
| ``/oauth/...`` | Connect (the owner's browser; no bearer token) |

A host starting with ``management.`` also sends ``/v3/...`` to the Management API, so
the real Smartcar URLs work under respx too. Route names (``"GET /vehicles/{id}/signals"``)
are what `EmulatorStats` counts and what fault rules match.
"""

from __future__ import annotations

from urllib.parse import unquote

import attrs

from ._commands import COMMANDS, SCHEDULE_KINDS

__all__ = ["ROUTES", "UNAUTHENTICATED", "Route", "match", "split_path"]

TOKEN, VEHICLE, MANAGEMENT, CONNECT = "token", "vehicle", "management", "connect"
#: APIs reached without a bearer token (and outside the API rate limits).
UNAUTHENTICATED = frozenset({TOKEN, CONNECT})


@attrs.frozen
class Route:
    """One endpoint: method, API, path pattern (None marks a parameter), handler name."""

    method: str
    api: str
    pattern: tuple[str | None, ...]
    name: str
    handler: str
    # Which parameter, if any, names the vehicle (for vehicle faults and rate limits).
    vehicle_param: int | None = None


def _route(method: str, api: str, template: str, handler: str) -> Route:
    parts = tuple(template.strip("/").split("/"))
    pattern = tuple(None if p.startswith("{") else p for p in parts)
    vehicle_param = 0 if parts[:2] == ("vehicles", "{id}") else None
    return Route(method, api, pattern, f"{method} {template}", handler, vehicle_param)


ROUTES: tuple[Route, ...] = (
    _route("POST", TOKEN, "/oauth2/token", "token"),
    _route("GET", CONNECT, "/oauth/authorize", "connect"),
    _route("GET", CONNECT, "/oauth/reauthenticate", "connect"),
    _route("GET", VEHICLE, "/connections", "list_connections"),
    _route("GET", VEHICLE, "/connections/{id}", "get_connection"),
    _route("DELETE", VEHICLE, "/connections/{id}", "delete_connection"),
    _route("DELETE", VEHICLE, "/users/{id}", "delete_user"),
    _route("GET", VEHICLE, "/vehicles/{id}", "get_vehicle"),
    _route("GET", VEHICLE, "/vehicles/{id}/signals", "list_signals"),
    _route("GET", VEHICLE, "/vehicles/{id}/signals/{code}", "get_signal"),
    *(
        _route("POST", VEHICLE, f"/vehicles/{{id}}/commands/{c.group}/{c.action}", "command")
        for c in COMMANDS
    ),
    *(
        _route("POST", VEHICLE, f"/vehicles/{{id}}/charge-schedules/{kind}", "create_schedule")
        for kind in SCHEDULE_KINDS
    ),
    _route("DELETE", VEHICLE, "/vehicles/{id}/charge-schedules/{scheduleId}", "delete_schedule"),
    _route("GET", MANAGEMENT, "/webhooks", "list_webhooks"),
    _route("GET", MANAGEMENT, "/webhooks/{id}", "get_webhook"),
    _route("GET", MANAGEMENT, "/subscriptions", "list_subscriptions"),
    _route("POST", MANAGEMENT, "/subscriptions", "create_subscription"),
    _route("GET", MANAGEMENT, "/subscriptions/{id}", "get_subscription"),
    _route("DELETE", MANAGEMENT, "/subscriptions/{id}", "delete_subscription"),
)

_INDEX: dict[tuple[str, str, int], list[Route]] = {}
for _r in ROUTES:
    _INDEX.setdefault((_r.method, _r.api, len(_r.pattern)), []).append(_r)


def split_path(path: str, host: str) -> tuple[str, list[str]] | None:
    """(api, decoded segments after the API prefix), or None for a path outside all three.

    Segments are split before they are decoded, so ``%2F`` inside an id stays inside it.
    """
    segments = path.split("/")
    if len(segments) < 2 or segments[0] != "":
        return None
    head = segments[1]
    if head == "v3":
        api = MANAGEMENT if host.startswith("management.") else VEHICLE
        rest = segments[2:]
    elif head == "management" and len(segments) > 2 and segments[2] == "v3":
        api, rest = MANAGEMENT, segments[3:]
    elif head == "oauth2":
        api, rest = TOKEN, segments[1:]
    elif head == "oauth":
        api, rest = CONNECT, segments[1:]
    else:
        return None
    return api, [unquote(s) if "%" in s else s for s in rest]


def match(method: str, path: str, host: str) -> tuple[Route, list[str]] | None:
    """The route and its parameters, in pattern order; None if nothing matches."""
    split = split_path(path, host)
    if split is None:
        return None
    api, segments = split
    for route in _INDEX.get((method, api, len(segments)), ()):
        params = []
        for want, got in zip(route.pattern, segments, strict=True):
            if want is None:
                if not got:
                    break
                params.append(got)
            elif want != got:
                break
        else:
            return route, params
    return None

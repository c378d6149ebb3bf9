"""The emulator's own request and response, independent of the way in.

The transport, the respx side effect and the ASGI app each translate to and from these
two small classes, so the state machine is written once and answers the same through
all three.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

import attrs

__all__ = [
    "ApiError",
    "BodyStream",
    "EmuRequest",
    "EmuResponse",
    "api_error",
    "default_error",
    "dumps",
    "error_body",
    "error_response",
    "found",
    "json_response",
    "oauth_error",
]

BodyStream = Callable[[], AsyncIterator[bytes]]

T = TypeVar("T")

_JSON = "application/json"


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes (what every response body is made of)."""
    return json.dumps(obj, separators=(",", ":")).encode()


@attrs.define(eq=False)
class EmuRequest:
    """One request as the emulator sees it.

    ``path`` is the raw, still percent-encoded path, so an encoded ``/`` inside an id
    stays inside that id; ``headers`` answers ``get`` with lowercase names.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    host: str = ""


class EmuResponse:
    """One answer: a status, headers, and either a body or a body stream.

    ``stream`` (a factory of async byte iterators) is for long-running commands, whose
    final body comes after a delay on the same response. ``drop`` asks the way in to
    break the connection instead of answering. ``headers`` add to the defaults: a body
    is ``application/json`` unless they name another content type.
    """

    __slots__ = ("body", "drop", "headers", "status", "stream")

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        *,
        stream: BodyStream | None = None,
        drop: bool = False,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = list(headers or ())
        # Merged, not replaced: a route adding one header cannot lose the JSON type
        # (aiohttp's json() refuses a body without it).
        has_type = any(name.lower() == "content-type" for name, _ in self.headers)
        if (body or stream is not None) and not has_type:
            self.headers.insert(0, ("content-type", _JSON))
        self.stream = stream
        self.drop = drop


def json_response(status: int, obj: Any) -> EmuResponse:
    """A JSON response."""
    return EmuResponse(status, dumps(obj))


# The error ``type`` each HTTP status carries when a caller gives only the status, and
# the resolution the docs pair with each type (reference §8.1/§8.2).
_DEFAULT_ERROR: dict[int, tuple[str, str | None]] = {
    400: ("VALIDATION", "BAD_REQUEST"),
    401: ("AUTHENTICATION", None),
    403: ("PERMISSION", None),
    404: ("RESOURCE_NOT_FOUND", "PATH"),
    409: ("VEHICLE_STATE", "UNREACHABLE"),
    429: ("RATE_LIMIT", "SMARTCAR_API"),
    430: ("BILLING", "VEHICLE_REQUEST_LIMIT"),
    500: ("SERVER", "INTERNAL"),
    501: ("COMPATIBILITY", "VEHICLE_NOT_CAPABLE"),
    502: ("UPSTREAM", "UNKNOWN_ISSUE"),
    504: ("UPSTREAM", "NO_RESPONSE"),
}

_RESOLUTION: dict[str, str | None] = {
    "AUTHENTICATION": "REAUTHENTICATE",
    "RATE_LIMIT": "RETRY_LATER",
    "VEHICLE_STATE": "RETRY_LATER",
    "SERVER": "RETRY_LATER",
    "UPSTREAM": "RETRY_LATER",
    "BILLING": "CONTACT_SUPPORT",
    "CONNECTED_SERVICES_ACCOUNT": "REAUTHENTICATE",
}


def default_error(status: int) -> tuple[str, str | None]:
    """The (type, code) an error with only a status gets."""
    if status in _DEFAULT_ERROR:
        return _DEFAULT_ERROR[status]
    return ("SERVER", "INTERNAL") if status >= 500 else ("VALIDATION", "BAD_REQUEST")


def _title(type_: str, code: str | None) -> str:
    return (code or type_).replace("_", " ").title()


def error_body(status: int, type_: str, code: str | None, detail: str) -> dict[str, Any]:
    """The v3 error envelope: one entry, ``status`` as a string (reference §8.1)."""
    return {
        "errors": [
            {
                "status": str(status),
                "type": type_,
                "code": code,
                "title": _title(type_, code),
                "detail": detail,
                "links": {
                    "about": "https://smartcar.com/docs/errors/api-errors/v3/"
                    + type_.lower().replace("_", "-")
                    + "-errors"
                },
                "resolution": {"type": _RESOLUTION.get(type_)},
            }
        ]
    }


def error_response(
    status: int,
    type_: str,
    code: str | None,
    detail: str,
    *,
    retry_after: int | None = None,
) -> EmuResponse:
    """A v3 error response, with ``Retry-After`` when given."""
    response = EmuResponse(status, dumps(error_body(status, type_, code, detail)))
    if retry_after is not None:
        response.headers.append(("retry-after", str(retry_after)))
    return response


def oauth_error(status: int, error: str, description: str) -> EmuResponse:
    """A token-endpoint error: OAuth ``{error, error_description}`` (reference §2)."""
    return EmuResponse(status, dumps({"error": error, "error_description": description}))


class ApiError(Exception):
    """Raised by a handler to answer with a finished error response."""

    def __init__(self, response: EmuResponse) -> None:
        super().__init__(response.status)
        self.response = response


def api_error(status: int, type_: str, code: str | None, detail: str) -> ApiError:
    """The `ApiError` of a v3 error; raise it from a handler."""
    return ApiError(error_response(status, type_, code, detail))


def found(items: Mapping[str, T], key: str, what: str) -> T:
    """``items[key]``, or the API's 404 for a ``what`` with no such id."""
    item = items.get(key)
    if item is None:
        raise api_error(404, "RESOURCE_NOT_FOUND", None, f"No {what} has this id.")
    return item

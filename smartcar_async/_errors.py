"""The error tree, and the parser that turns an error response into one of its classes.

```
SmartcarError
├── ConfigurationError            bad or missing settings
├── TokenError                    the token endpoint refused or failed
├── APIConnectionError            no response: connect or read failure
│   └── APITimeoutError
├── APIStatusError                any non-2xx answer from the API
│   ├── ValidationError 400           ├── ConnectedServicesAccountError 400
│   ├── AuthenticationError 401       ├── PermissionDeniedError 403
│   ├── NotFoundError 404             ├── VehicleStateError 409
│   ├── RateLimitError 429            ├── BillingError 430
│   ├── ServerError 5xx               ├── CompatibilityError 501
│   └── UpstreamError 502
├── APIResponseError              a 2xx whose body is not what the API documents
├── CommandFailedError            a 200/202 whose body says the command failed
├── InvalidRequestError           arguments the HTTP layer cannot turn into a request
├── ClientStateError              the client is closed, or used from another event loop
├── WebhookVerificationError      bad or missing SC-Signature
└── WebhookPayloadError           a webhook body that is not a Smartcar event
```

The class follows the error's ``type`` first and the HTTP status second, so a
``VEHICLE_STATE`` error is a `VehicleStateError` whatever status carried it.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._coerce import text_or_number, whole_number

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIConnectionError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BillingError",
    "ClientStateError",
    "CommandFailedError",
    "CompatibilityError",
    "ConfigurationError",
    "ConnectedServicesAccountError",
    "ErrorDetail",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "SmartcarError",
    "TokenError",
    "UpstreamError",
    "ValidationError",
    "VehicleStateError",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "error_from_response",
    "parse_error_body",
    "parse_retry_after",
]

# Bodies larger than this are not parsed as JSON: an error body is small, and a huge one
# (a proxy's HTML page, a runaway server) must not cost the caller a long parse.
_MAX_ERROR_BODY = 64 * 1024
_MAX_MESSAGE_TEXT = 300


class SmartcarError(Exception):
    """Base of every error the SDK raises on purpose.

    Examples:
        >>> try:
        ...     await client.vehicles.signals(vehicle_id, user_id=user_id)
        ... except smartcar_async.SmartcarError as exc:
        ...     log.warning("smartcar failed: %s", exc)
    """


class ConfigurationError(SmartcarError, ValueError):
    """Settings are missing or unsafe (no credentials, ``http://`` to a remote host...)."""


class TokenError(SmartcarError):
    """The token endpoint refused the client credentials or could not be reached.

    Attributes:
        error: the OAuth ``error`` code (``invalid_client``, ``invalid_request``...), if any.
        error_description: the endpoint's explanation, if any.
        status_code: the HTTP status of the token response, if there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        error_description: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.error_description = error_description
        self.status_code = status_code


class APIConnectionError(SmartcarError):
    """No response came back: the connection failed or broke.

    Attributes:
        method: the HTTP method of the request.
        url: the URL of the request (no query string).
    """

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or waiting for a pooled connection)."""


@attrs.frozen
class ErrorDetail:
    """One entry of an error response (the v3 ``errors[]`` list has one or more).

    Every field is optional because the API sends several shapes; missing ones are None.
    """

    type: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    status: int | None = None
    doc_url: str | None = None
    resolution: str | None = None
    suggested_user_message: str | None = None
    meta: Mapping[str, Any] | None = attrs.field(default=None, repr=False)


class APIStatusError(SmartcarError):
    """The API answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status.
        type: the error ``type`` (``VEHICLE_STATE``, ``RATE_LIMIT``...), if the body had one.
        code: the error ``code`` (``ASLEEP``, ``VEHICLE``...), if any.
        title: short title, if any.
        detail: the API's explanation, if any.
        doc_url: link to Smartcar's page about this error, if any.
        resolution: what to do (``RETRY_LATER``, ``REAUTHENTICATE``...), if any.
        request_id: the ``SC-Request-Id`` header, to quote to Smartcar support.
        retry_after: seconds to wait, from ``Retry-After``, if the response had it.
        errors: every error entry of the body (the first one fills the fields above).
        response: the `httpx.Response` (its body already read).

    Examples:
        >>> try:
        ...     await client.commands.lock(vehicle_id, user_id=user_id)
        ... except smartcar_async.VehicleStateError as exc:
        ...     print(exc.code, exc.request_id)   # ASLEEP 5f3c...
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: Sequence[ErrorDetail] = (),
        request_id: str | None = None,
        retry_after: float | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        first = self.errors[0] if self.errors else ErrorDetail()
        self.type = first.type
        self.code = first.code
        self.title = first.title
        self.detail = first.detail
        self.doc_url = first.doc_url
        self.resolution = first.resolution
        self.suggested_user_message = first.suggested_user_message
        self.request_id = request_id
        self.retry_after = retry_after
        self.response = response


class ValidationError(APIStatusError):
    """400 ``VALIDATION``: a parameter was missing or malformed."""


class ConnectedServicesAccountError(APIStatusError):
    """400 ``CONNECTED_SERVICES_ACCOUNT``: the owner's account with the maker needs attention."""


class AuthenticationError(APIStatusError):
    """401 ``AUTHENTICATION``: the token was refused, even after one refresh."""


class PermissionDeniedError(APIStatusError):
    """403 ``PERMISSION``: the connection lacks the permission this call needs."""


class NotFoundError(APIStatusError):
    """404 ``RESOURCE_NOT_FOUND``: no such vehicle, signal, connection or path."""


class VehicleStateError(APIStatusError):
    """409 ``VEHICLE_STATE``: the vehicle cannot do it now (asleep, unreachable, door open...)."""


class RateLimitError(APIStatusError):
    """429 ``RATE_LIMIT``: app-wide (``SMARTCAR_API``) or per-vehicle (``VEHICLE``).

    ``retry_after`` says how long to wait when the API said so.
    """


class BillingError(APIStatusError):
    """430 ``BILLING``: the plan's limits were reached."""


class ServerError(APIStatusError):
    """5xx ``SERVER``: Smartcar failed."""


class CompatibilityError(APIStatusError):
    """501 ``COMPATIBILITY``: the vehicle or make does not support this."""


class UpstreamError(APIStatusError):
    """502 ``UPSTREAM``: the vehicle maker's service failed or throttled."""


class APIResponseError(SmartcarError):
    """A 2xx response whose body is not what the API documents (not JSON, wrong shape),
    or any response whose body exceeds ``max_response_size``.

    Attributes:
        status_code: the HTTP status.
        request_id: the ``SC-Request-Id`` header, if any.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id


class CommandFailedError(SmartcarError):
    """A command was answered 200/202 but its body says it did not succeed.

    Attributes:
        status_code: the HTTP status (200 or 202).
        type / code / detail: from the body, when it carried an error.
        command_status: the execution's ``status.value`` (``FAILURE``...), if it had one.
        errors: every error entry found in the body.
        request_id: the ``SC-Request-Id`` header, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: Sequence[ErrorDetail] = (),
        command_status: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        first = self.errors[0] if self.errors else ErrorDetail()
        self.type = first.type
        self.code = first.code
        self.detail = first.detail
        self.command_status = command_status
        self.request_id = request_id


class InvalidRequestError(SmartcarError, ValueError):
    """The call's arguments could not be made into an HTTP request; nothing was sent.

    The SDK checks ids and bodies itself (`ValueError`); this covers whatever the HTTP
    layer still refuses (a query value too long for a URL, say).
    """


class ClientStateError(SmartcarError, RuntimeError):
    """The client cannot serve this call: it is closed, or belongs to another event loop.

    Raised by calls made after `SmartcarClient.aclose`, by calls still in flight when it
    ran, and by any use of a client from an event loop other than its first.
    """


class WebhookVerificationError(SmartcarError):
    """A webhook delivery's ``SC-Signature`` is missing, malformed or wrong."""


class WebhookPayloadError(SmartcarError, ValueError):
    """A webhook body is not JSON, or not shaped like any Smartcar event."""


_CLASS_BY_TYPE: dict[str, type[APIStatusError]] = {
    "VALIDATION": ValidationError,
    "CONNECTED_SERVICES_ACCOUNT": ConnectedServicesAccountError,
    "AUTHENTICATION": AuthenticationError,
    "PERMISSION": PermissionDeniedError,
    "RESOURCE_NOT_FOUND": NotFoundError,
    "VEHICLE_STATE": VehicleStateError,
    "RATE_LIMIT": RateLimitError,
    "BILLING": BillingError,
    "SERVER": ServerError,
    "COMPATIBILITY": CompatibilityError,
    "UPSTREAM": UpstreamError,
}

_CLASS_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: VehicleStateError,
    429: RateLimitError,
    430: BillingError,
    501: CompatibilityError,
    502: UpstreamError,
}


def error_class(status_code: int, error_type: str | None) -> type[APIStatusError]:
    """The class for an error: by its ``type`` when known, else by HTTP status."""
    if error_type is not None:
        by_type = _CLASS_BY_TYPE.get(error_type.upper())
        if by_type is not None:
            return by_type
    by_status = _CLASS_BY_STATUS.get(status_code)
    if by_status is not None:
        return by_status
    if status_code >= 500:
        return ServerError
    return APIStatusError


def _resolution(value: object) -> str | None:
    if isinstance(value, Mapping):
        return text_or_number(value.get("type"))
    return text_or_number(value)


def _doc_url(entry: Mapping[str, Any]) -> str | None:
    links = entry.get("links")
    if isinstance(links, Mapping):
        about = text_or_number(links.get("about"))
        if about:
            return about
    return text_or_number(entry.get("docURL")) or text_or_number(entry.get("docUrl"))


def _detail_from_entry(entry: Mapping[str, Any]) -> ErrorDetail:
    meta = entry.get("meta")
    return ErrorDetail(
        type=text_or_number(entry.get("type")),
        code=text_or_number(entry.get("code")),
        title=text_or_number(entry.get("title")),
        detail=text_or_number(entry.get("detail")) or text_or_number(entry.get("description")),
        status=whole_number(entry.get("status")) or whole_number(entry.get("statusCode")),
        doc_url=_doc_url(entry),
        resolution=_resolution(entry.get("resolution")),
        suggested_user_message=text_or_number(entry.get("suggestedUserMessage")),
        meta=meta if isinstance(meta, Mapping) else None,
    )


def details_from_json(body: object) -> list[ErrorDetail]:
    """Error entries from a decoded JSON body, in the order the design fixes.

    v3 ``errors[]`` envelope, then an ``error`` object, then a flat ``type``/``code``
    body, then OAuth ``error``/``error_description``. Returns ``[]`` when the body is
    none of these. Never raises.
    """
    if not isinstance(body, Mapping):
        return []
    errors = body.get("errors")
    if isinstance(errors, list):
        entries = [_detail_from_entry(e) for e in errors if isinstance(e, Mapping)]
        if entries:
            return entries
    error = body.get("error")
    if isinstance(error, Mapping):
        return [_detail_from_entry(error)]
    if "type" in body or "code" in body:
        return [_detail_from_entry(body)]
    if isinstance(error, str):
        return [
            ErrorDetail(
                code=error,
                detail=text_or_number(body.get("error_description")),
                doc_url=text_or_number(body.get("error_uri")),
            )
        ]
    return []


def parse_error_body(content: bytes) -> list[ErrorDetail]:
    """Error entries from a raw response body; text that is not JSON becomes a ``detail``.

    Never raises: an empty, binary, huge or oddly typed body gives ``[]`` or one entry
    holding a short excerpt of the text.
    """
    if not content:
        return []
    if len(content) > _MAX_ERROR_BODY:
        return [ErrorDetail(detail=_excerpt(content))]
    try:
        decoded = json.loads(content)
    except (ValueError, RecursionError):
        return [ErrorDetail(detail=_excerpt(content))]
    return details_from_json(decoded)


def _excerpt(content: bytes) -> str:
    text = content[:_MAX_MESSAGE_TEXT].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text + ("..." if len(content) > _MAX_MESSAGE_TEXT else "")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Negative, non-numeric or unparseable values give None; a date in the past gives 0.

    Examples:
        >>> parse_retry_after("2")
        2.0
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        now = time.time() if now is None else now
        return max(0.0, when.timestamp() - now)
    if seconds != seconds or seconds < 0 or seconds == float("inf"):  # NaN, negative, inf
        return None
    return seconds


def _message(status_code: int, details: Sequence[ErrorDetail], request_id: str | None) -> str:
    first = details[0] if details else ErrorDetail()
    label = ":".join(part for part in (first.type, first.code) if part)
    label = label[:_MAX_MESSAGE_TEXT]  # a runaway type or code must not bloat the message
    explanation = first.detail or first.title or ""
    text = f"{label} (HTTP {status_code})" if label else f"HTTP {status_code}"
    if explanation:
        text += f" - {explanation[:_MAX_MESSAGE_TEXT]}"
    if request_id:
        text += f" [request id {request_id}]"
    return text


def error_from_response(response: httpx.Response) -> APIStatusError:
    """Build the typed error for a non-2xx response whose body has been read.

    Examples:
        >>> error = error_from_response(response)
        >>> raise error
    """
    details = parse_error_body(response.content)
    request_id = response.headers.get("sc-request-id")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    first_type = details[0].type if details else None
    cls = error_class(response.status_code, first_type)
    return cls(
        _message(response.status_code, details, request_id),
        status_code=response.status_code,
        errors=details,
        request_id=request_id,
        retry_after=retry_after,
        response=response,
    )

"""The reading of error responses: the parser that turns an error response into one of
the classes of the error tree (defined, and imported from, `._error_types`).

The class follows the error's ``type`` first and the HTTP status second, so a
``VEHICLE_STATE`` error is a `VehicleStateError` whatever status carried it.
"""

from __future__ import annotations

import email.utils
import enum
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._coerce import text_or_number, whole_number
from ._error_types import (
    APIStatusError,
    AuthenticationError,
    BillingError,
    CompatibilityError,
    ConnectedServicesAccountError,
    ErrorDetail,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UpstreamError,
    ValidationError,
    VehicleStateError,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ErrorEnvelope",
    "ResponseKind",
    "UPSTREAM_RATE_LIMIT_WAIT",
    "classify_response",
    "describe_error",
    "details_from_json",
    "error_class",
    "error_from_response",
    "note_client_pause",
    "parse_error_body",
    "parse_retry_after",
    "read_error",
]

# Bodies larger than this are not parsed as JSON: an error body is small, and a huge one
# (a proxy's HTML page, a runaway server) must not cost the caller a long parse.
_MAX_ERROR_BODY = 64 * 1024
_MAX_MESSAGE_TEXT = 300


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


def _resolution(value: object) -> tuple[str | None, str | None]:
    """``(type, url)`` from ``{"type", "url"}`` or a bare string."""
    if isinstance(value, Mapping):
        return text_or_number(value.get("type")), text_or_number(value.get("url"))
    return text_or_number(value), None


def _detail(value: object) -> tuple[str | None, tuple[Any, ...]]:
    """``detail`` as text, and its entries when it is an array."""
    if not isinstance(value, list):
        return text_or_number(value), ()
    parts: list[str] = []
    for item in value:
        if isinstance(item, Mapping):
            # The v2 docs show entries like {"field": ..., "message": ...}.
            text = text_or_number(item.get("message")) or text_or_number(item.get("detail"))
            field = text_or_number(item.get("field"))
            if text is None:
                text = json.dumps(item, separators=(",", ":"), default=str)
            parts.append(f"{field}: {text}" if field else text)
        elif (text := text_or_number(item)) is not None:
            parts.append(text)
    return ("; ".join(parts) or None), tuple(value)


def _request_id(entry: Mapping[str, Any]) -> str | None:
    found = text_or_number(entry.get("requestId"))
    meta = entry.get("meta")
    if found is None and isinstance(meta, Mapping):
        found = text_or_number(meta.get("requestId"))
    return found


def _doc_url(entry: Mapping[str, Any]) -> str | None:
    links = entry.get("links")
    if isinstance(links, Mapping):
        about = text_or_number(links.get("about"))
        if about:
            return about
    return text_or_number(entry.get("docURL")) or text_or_number(entry.get("docUrl"))


def _detail_from_entry(entry: Mapping[str, Any]) -> ErrorDetail:
    meta = entry.get("meta")
    detail, detail_items = _detail(entry.get("detail"))
    resolution, resolution_url = _resolution(entry.get("resolution"))
    return ErrorDetail(
        type=text_or_number(entry.get("type")),
        code=text_or_number(entry.get("code")),
        title=text_or_number(entry.get("title")),
        detail=detail or text_or_number(entry.get("description")),
        status=whole_number(entry.get("status")) or whole_number(entry.get("statusCode")),
        doc_url=_doc_url(entry),
        resolution=resolution,
        suggested_user_message=text_or_number(entry.get("suggestedUserMessage")),
        meta=meta if isinstance(meta, Mapping) else None,
        resolution_url=resolution_url,
        request_id=_request_id(entry),
        detail_items=detail_items,
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
    """Error entries from a raw response body; text that is not JSON, or JSON in no
    shape the readers know, becomes a ``detail``.

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
    details = details_from_json(decoded)
    if details or not decoded:
        return details
    # JSON in no shape the readers know (``{"message": ...}`` from a gateway, a string
    # for ``errors``): its text is all there is to go on, as for a body that is not JSON.
    return [ErrorDetail(detail=_excerpt(content))]


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


def describe_error(
    status_code: int,
    details: Sequence[ErrorDetail],
    request_id: str | None,
    *,
    prefix: str = "",
    command_status: str | None = None,
) -> str:
    """The one-line message of an error: ``TYPE:CODE (HTTP n) - detail [request id]``.

    Examples:
        >>> describe_error(409, [ErrorDetail(type="VEHICLE_STATE", code="ASLEEP")], "r1")
        'VEHICLE_STATE:ASLEEP (HTTP 409) [request id r1]'
    """
    first = details[0] if details else ErrorDetail()
    label = ":".join(part for part in (first.type, first.code) if part)
    label = label[:_MAX_MESSAGE_TEXT]  # a runaway type or code must not bloat the message
    explanation = first.detail or first.title or ""
    where = (
        f"status {command_status}, HTTP {status_code}" if command_status else f"HTTP {status_code}"
    )
    text = f"{label} ({where})" if label else where
    if prefix:
        text = f"{prefix}: {text}"
    if explanation:
        text += f" - {explanation[:_MAX_MESSAGE_TEXT]}"
    request_id = request_id or first.request_id
    if request_id:  # a body's runaway requestId must not bloat the message either
        text += f" [request id {request_id[:_MAX_MESSAGE_TEXT]}]"
    return text


class ResponseKind(enum.Enum):
    """What kind of answer a response is, for the pipeline's retry and throttle.

    The one classification of responses in the SDK; `classify_response` makes it.
    """

    #: ``429 RATE_LIMIT:SMARTCAR_API``: the application's bucket is empty; the whole
    #: client pauses.
    APP_RATE_LIMIT = "app_rate_limit"
    #: ``429 RATE_LIMIT:VEHICLE``: this vehicle's throttle; wait its ``Retry-After``.
    VEHICLE_RATE_LIMIT = "vehicle_rate_limit"
    #: ``502 UPSTREAM:RATE_LIMIT``: the maker throttled this vehicle for a longer period.
    UPSTREAM_RATE_LIMIT = "upstream_rate_limit"
    #: Anything else (success or another error).
    OTHER = "other"


@attrs.frozen
class ErrorEnvelope:
    """Everything an error response says, read once.

    Attributes:
        status_code: the HTTP status.
        details: every error entry of the body, in order.
        request_id: ``SC-Request-Id``, else the first entry's ``requestId``.
        retry_after: seconds from ``Retry-After``, if any.
        kind: the response's `ResponseKind`.
        client_pause: for an app-wide 429, how long the client stays paused after it
            (set by the pipeline's throttle); None otherwise.
    """

    status_code: int
    details: tuple[ErrorDetail, ...]
    request_id: str | None
    retry_after: float | None
    kind: ResponseKind
    client_pause: float | None = None

    @property
    def wait_hint(self) -> float | None:
        """How long to wait before trying again: ``Retry-After``, else the client's
        pause, else for ``UPSTREAM:RATE_LIMIT`` the docs' 30-minute polling interval."""
        if self.retry_after is not None:
            return self.retry_after
        if self.client_pause is not None:
            return self.client_pause
        if self.kind is ResponseKind.UPSTREAM_RATE_LIMIT:
            return UPSTREAM_RATE_LIMIT_WAIT
        return None


#: The ``retry_after`` hint of a ``502 UPSTREAM:RATE_LIMIT`` without ``Retry-After``:
#: the maker blocks the vehicle "for a longer period", and Smartcar's usage-limits page
#: recommends polling each vehicle once every 30 minutes for the best coverage.
UPSTREAM_RATE_LIMIT_WAIT = 1800.0

# The parsed envelope is kept on the response (in its extensions, which httpx leaves to
# the caller) so the throttle, the retry and the error all read the body once.
_ENVELOPE_KEY = "smartcar_async.error_envelope"
# Statuses whose kind depends on the body; the rest never need it parsed.
_LIMIT_STATUSES = frozenset({429, 502})


def _kind(status_code: int, details: Sequence[ErrorDetail]) -> ResponseKind:
    if status_code not in _LIMIT_STATUSES or not details:
        return ResponseKind.OTHER
    first = details[0]
    error_type = (first.type or "").upper()
    code = (first.code or "").upper()
    if status_code == 429 and error_type == "RATE_LIMIT":
        if code == "SMARTCAR_API":
            return ResponseKind.APP_RATE_LIMIT
        if code == "VEHICLE":
            return ResponseKind.VEHICLE_RATE_LIMIT
    if status_code == 502 and error_type == "UPSTREAM" and code == "RATE_LIMIT":
        return ResponseKind.UPSTREAM_RATE_LIMIT
    return ResponseKind.OTHER


def read_error(response: httpx.Response) -> ErrorEnvelope:
    """The `ErrorEnvelope` of a response whose body has been read (parsed once, cached).

    Examples:
        >>> envelope = read_error(response)
        >>> envelope.kind is ResponseKind.APP_RATE_LIMIT
        True
    """
    cached = response.extensions.get(_ENVELOPE_KEY)
    if isinstance(cached, ErrorEnvelope):
        return cached
    details = tuple(parse_error_body(response.content))
    first_request_id = details[0].request_id if details else None
    envelope = ErrorEnvelope(
        status_code=response.status_code,
        details=details,
        request_id=response.headers.get("sc-request-id") or first_request_id,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        kind=_kind(response.status_code, details),
    )
    response.extensions[_ENVELOPE_KEY] = envelope
    return envelope


def note_client_pause(response: httpx.Response, pause: float) -> None:
    """Record on an app-wide 429 how long the client is paused after it (the throttle
    calls this), so the error raised from it carries that as ``retry_after``."""
    response.extensions[_ENVELOPE_KEY] = attrs.evolve(read_error(response), client_pause=pause)


def classify_response(response: httpx.Response) -> ResponseKind:
    """The `ResponseKind` of a response; reads the body only for a 429 or a 502.

    Examples:
        >>> classify_response(response)
        <ResponseKind.VEHICLE_RATE_LIMIT: 'vehicle_rate_limit'>
    """
    if response.status_code not in _LIMIT_STATUSES:
        return ResponseKind.OTHER
    return read_error(response).kind


def error_from_response(response: httpx.Response) -> APIStatusError:
    """Build the typed error for a non-2xx response whose body has been read.

    Examples:
        >>> error = error_from_response(response)
        >>> raise error
    """
    envelope = read_error(response)
    details = envelope.details
    first_type = details[0].type if details else None
    cls = error_class(response.status_code, first_type)
    return cls(
        describe_error(response.status_code, details, envelope.request_id),
        status_code=response.status_code,
        errors=details,
        request_id=envelope.request_id,
        retry_after=envelope.wait_hint,
        response=response,
    )

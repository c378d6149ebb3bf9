"""The error tree: every exception the SDK raises, and what each carries.

Kept apart from the reading of error responses (`smartcar_async._errors`). The one
home of these classes: the package imports them from here, users from `smartcar_async`.

```
SmartcarError
├── ConfigurationError            bad or missing settings
├── TokenError                    the token endpoint refused the credentials or failed
│   └── TokenConnectionError      ...could not be reached (also an APIConnectionError)
├── APIConnectionError            no response: connect or read failure
│   ├── APITimeoutError
│   └── TokenConnectionError      (the same class: both a TokenError and a connection error)
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

A token-endpoint outage is a `TokenConnectionError`, so ``except APIConnectionError``
(answer 502/503) catches it while ``except TokenError`` still sees every token failure;
a refusal (``invalid_client``...) is a plain `TokenError` (fix the credentials).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import httpx


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


class TokenConnectionError(TokenError, APIConnectionError):
    """The token endpoint could not be reached: no answer, so no token (an outage).

    Both a `TokenError` and an `APIConnectionError`: a web backend that answers 503 for
    connection errors does so for this too, while a refusal of the credentials stays a
    plain `TokenError`.

    Examples:
        >>> try:
        ...     await client.vehicles.signals(vehicle_id, user_id=user_id)
        ... except smartcar_async.APIConnectionError:  # Smartcar unreachable, token or API
        ...     return Response(status_code=503)
        ... except smartcar_async.TokenError:  # credentials refused: a configuration bug
        ...     raise
    """

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.method = "POST"
        self.url = url


@attrs.frozen
class ErrorDetail:
    """One entry of an error response (the v3 ``errors[]`` list has one or more).

    Every field is optional because the API sends several shapes; missing ones are None.

    Attributes:
        type: the error type (``VEHICLE_STATE``...).
        code: the error code (``ASLEEP``...).
        title: a short title (v3 envelope).
        detail: the explanation: ``detail``, else ``description``. A ``detail`` sent as
            an array is joined into this text; its entries are in ``detail_items``.
        detail_items: the entries of a ``detail`` array, as sent (empty otherwise).
        status: the HTTP status the body states (``status`` or ``statusCode``).
        doc_url: Smartcar's page on this error (``links.about`` or ``docURL``).
        resolution: what to do (``RETRY_LATER``, ``REAUTHENTICATE``...).
        resolution_url: where to do it, when the API gives a URL (``resolution.url``).
        suggested_user_message: text Smartcar suggests showing the vehicle's owner.
        request_id: the body's ``requestId`` (or ``meta.requestId``), if any.
        meta: the entry's ``meta`` object, as sent.
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
    resolution_url: str | None = None
    request_id: str | None = None
    detail_items: tuple[Any, ...] = attrs.field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data (``meta`` included), e.g. for an error response.

        Every field came from the response's JSON, so a plain copy is JSON-ready.
        """
        data = attrs.asdict(self)
        data["detail_items"] = list(self.detail_items)
        return data


class _ErrorEntryFields:
    """The fields an error takes from the response's error entries.

    Shared by `APIStatusError` and `CommandFailedError`, which both surface the first
    entry of ``errors[]`` as attributes, so the two cannot drift apart.
    """

    def _take_errors(
        self, status_code: int, errors: Sequence[ErrorDetail], request_id: str | None
    ) -> ErrorDetail:
        """Set the entry-derived fields and return the first entry (empty when none)."""
        self.status_code = status_code
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        first = self.errors[0] if self.errors else ErrorDetail()
        self.type = first.type
        self.code = first.code
        self.detail = first.detail
        self.doc_url = first.doc_url
        self.resolution = first.resolution
        self.resolution_url = first.resolution_url
        self.suggested_user_message = first.suggested_user_message
        self.request_id = request_id or first.request_id
        return first


class APIStatusError(_ErrorEntryFields, SmartcarError):
    """The API answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status.
        type: the error ``type`` (``VEHICLE_STATE``, ``RATE_LIMIT``...), if the body had one.
        code: the error ``code`` (``ASLEEP``, ``VEHICLE``...), if any.
        title: short title, if any.
        detail: the API's explanation, if any (a ``detail`` array joined into text; its
            entries are in ``errors[0].detail_items``).
        doc_url: link to Smartcar's page about this error, if any.
        resolution: what to do (``RETRY_LATER``, ``REAUTHENTICATE``...), if any.
        resolution_url: where to do it, if the API gave a URL.
        suggested_user_message: text Smartcar suggests showing the vehicle's owner.
        request_id: the ``SC-Request-Id`` header, else the body's ``requestId``: quote
            it to Smartcar support.
        retry_after: seconds to wait, from ``Retry-After``, if the response had it (or,
            for a call the SDK stopped waiting for, how long the client stays paused).
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
        first = self._take_errors(status_code, errors, request_id)
        self.title = first.title
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


class CommandFailedError(_ErrorEntryFields, SmartcarError):
    """A command was answered 200/202 but its body says it did not succeed.

    Attributes:
        status_code: the HTTP status (200 or 202).
        type: the body's first error type, when it carried one; likewise ``code``,
            ``detail``, ``doc_url``, ``resolution``, ``resolution_url`` and
            ``suggested_user_message``.
        command_status: the execution's ``status.value`` (``FAILURE``...), if it had one.
        errors: every error entry found in the body.
        request_id: the ``SC-Request-Id`` header, else the body's ``requestId``.
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
        self._take_errors(status_code, errors, request_id)
        self.command_status = command_status


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

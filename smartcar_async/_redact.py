"""Credentials masked in everything an SDK error exposes or chains.

Error trackers serialise an exception with its ``__cause__``/``__context__`` chain and
the objects hanging off it: an `APIStatusError`'s ``response.request.headers`` held the
live bearer token, and a `TokenError`'s cause held the token request, whose body is
``client_secret=...``. `redact` runs once on every error leaving the SDK (the request
path and the token manager): it swaps each httpx request found on the chain for a copy
with credentials masked, and masks the known secrets in the errors' own text, which may
quote what a server sent back (an ``error_description`` that echoes the form, say).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import httpx

from ._error_types import ErrorDetail, SmartcarError

__all__ = ["MASK", "mask_text", "redact", "secrets_of"]

#: What a credential is replaced with.
MASK = "[masked]"

# Form fields of the token request that carry a credential.
_SECRET_FIELDS = frozenset({"client_secret", "client_assertion", "password", "refresh_token"})
# Headers that carry a credential, whatever their scheme.
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie")
# Shorter strings are not masked in free text: "[masked]" everywhere a 2-letter
# "secret" occurs would garble messages and protect nothing.
_MIN_SECRET = 6


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by `MASK`.

    Examples:
        >>> mask_text("bad client_secret=s3cr3t-value", ["s3cr3t-value"])
        'bad client_secret=[masked]'
    """
    for secret in secrets:
        if len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, MASK)
    return text


def secrets_of(request: httpx.Request) -> list[str]:
    """The credential values a request carries: header values, their tokens, form secrets."""
    found: list[str] = []
    for name in _SECRET_HEADERS:
        value = request.headers.get(name)
        if value:
            found.append(value)
            _scheme, _, credential = value.partition(" ")
            if credential:
                found.append(credential)
    if _is_form(request):
        found += [v for k, v in parse_qsl(_body(request).decode("latin-1")) if k in _SECRET_FIELDS]
    return found


def redact(error: BaseException, secrets: Iterable[str] = ()) -> BaseException:
    """Mask credentials in ``error`` and every exception it chains; return ``error``.

    Each httpx request reachable from the chain (an httpx error's ``request``, a
    response's ``request``) is replaced by a copy whose credential headers and form
    secrets read `MASK`; the SDK errors' messages, text attributes and error entries
    have ``secrets`` (and the credentials found on those requests) masked.

    Examples:
        >>> try:
        ...     ...
        ... except SmartcarError as exc:
        ...     raise redact(exc, [client_secret])
    """
    chain = _chain(error)
    known = [s for s in secrets if s]
    for exc in chain:
        for request in _requests_of(exc):
            known += secrets_of(request)
    known = sorted(set(known), key=len, reverse=True)  # longest first: "Bearer x" before "x"
    for exc in chain:
        _mask_requests(exc)
        if isinstance(exc, SmartcarError) and known:
            _mask_fields(exc, known)
    return error


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or any(exc is s for s in seen):
            continue
        seen.append(exc)
        pending += [exc.__cause__, exc.__context__]
    return seen


def _request_of(exc: BaseException) -> httpx.Request | None:
    """The request an httpx error carries, if any."""
    if isinstance(exc, httpx.RequestError):
        with contextlib.suppress(RuntimeError):  # an httpx error raised without one
            return exc.request
    return None


def _response_of(exc: BaseException) -> httpx.Response | None:
    """The response an error carries (`APIStatusError`, ``httpx.HTTPStatusError``)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, httpx.Response):
        return None
    try:
        response.request  # noqa: B018 - raises RuntimeError when it has none
    except RuntimeError:
        return None
    return response


def _requests_of(exc: BaseException) -> list[httpx.Request]:
    request, response = _request_of(exc), _response_of(exc)
    found = [request] if request is not None else []
    return found + ([response.request] if response is not None else [])


def _mask_requests(exc: BaseException) -> None:
    request, response = _request_of(exc), _response_of(exc)
    if request is not None:
        exc.request = _masked(request)  # type: ignore[attr-defined]
    if response is not None:
        response.request = _masked(response.request)


def _masked(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` with credential headers and form secrets masked."""
    if request.extensions.get(_MASKED):
        return request
    headers = httpx.Headers(request.headers)
    for name in _SECRET_HEADERS:
        if name in headers:
            headers[name] = MASK
    content = _body(request)
    if _is_form(request):
        pairs = parse_qsl(content.decode("latin-1"), keep_blank_values=True)
        content = urlencode([(k, MASK if k in _SECRET_FIELDS else v) for k, v in pairs]).encode()
        headers["content-length"] = str(len(content))
    extensions = {**request.extensions, _MASKED: True}
    return httpx.Request(
        request.method, request.url, headers=headers, content=content, extensions=extensions
    )


_MASKED = "smartcar_async.masked"


def _is_form(request: httpx.Request) -> bool:
    content_type = str(request.headers.get("content-type", ""))
    return content_type.startswith("application/x-www-form-urlencoded")


def _body(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:  # a streamed upload: nothing the SDK sends, never read
        return b""


def _mask_fields(exc: SmartcarError, secrets: list[str]) -> None:
    exc.args = tuple(mask_text(a, secrets) if isinstance(a, str) else a for a in exc.args)
    for name, value in list(vars(exc).items()):
        if isinstance(value, str):
            setattr(exc, name, mask_text(value, secrets))
        elif isinstance(value, tuple) and value and isinstance(value[0], ErrorDetail):
            setattr(exc, name, tuple(_mask_detail(d, secrets) for d in value))


def _mask_detail(detail: ErrorDetail, secrets: list[str]) -> ErrorDetail:
    changes: dict[str, Any] = {
        field.name: mask_text(value, secrets)
        for field in attrs.fields(ErrorDetail)
        if isinstance(value := getattr(detail, field.name), str)
    }
    return attrs.evolve(detail, **changes)

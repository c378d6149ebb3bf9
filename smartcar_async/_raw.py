"""`RawResponse`: the HTTP details of a call, with its parsed result on demand."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

__all__ = ["RawResponse"]

T = TypeVar("T")


class RawResponse(Generic[T]):
    """What ``client.<resource>.with_raw_response.<method>(...)`` returns.

    Attributes:
        http_response: the `httpx.Response` (body read).
        status_code: its HTTP status.
        headers: its headers.
        request_id: the ``SC-Request-Id`` header, if any.
        elapsed: time from sending the last attempt to its response.
        retries: retries the SDK took for this call.

    Examples:
        >>> raw = await client.vehicles.with_raw_response.signals(vid, user_id=uid)
        >>> raw.request_id, raw.retries
        ('5f3c...', 0)
        >>> signals = raw.parse()
    """

    __slots__ = ("_parse", "_parsed", "http_response", "retries")

    def __init__(
        self, http_response: httpx.Response, parse: Callable[[], T], *, retries: int
    ) -> None:
        self.http_response = http_response
        self.retries = retries
        self._parse = parse
        self._parsed: tuple[T] | None = None

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        request_id: str | None = self.http_response.headers.get("sc-request-id")
        return request_id

    @property
    def elapsed(self) -> _dt.timedelta:
        return self.http_response.elapsed

    def parse(self) -> T:
        """The model the method returns normally (parsed once, then cached)."""
        if self._parsed is None:
            self._parsed = (self._parse(),)
        return self._parsed[0]

    def __repr__(self) -> str:
        return (
            f"<RawResponse [{self.status_code}] request_id={self.request_id!r} "
            f"retries={self.retries}>"
        )

"""The `httpx.AsyncClient` the SDK makes for itself when it is not given one.

It is httpx's own client (user middleware, respx, event hooks and transports behave as
with any `httpx.AsyncClient`) with one thing left out: cookies. Smartcar's APIs
authenticate every call with a bearer token and set no cookies, yet httpx runs its
cookie jar on every response (it wraps the request and the response in ``urllib``
adapters to ask the jar): about 16-20 µs per call for nothing. A client passed as
``http_client=`` keeps its own jar.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["ApiHttpClient"]


class _NoCookies(httpx.Cookies):
    """A cookie jar that stores and sends nothing, and skips the work of deciding so."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class ApiHttpClient(httpx.AsyncClient):
    """`httpx.AsyncClient` without cookie handling, for the SDK's own use.

    Examples:
        >>> http = ApiHttpClient(transport=default_transport(DEFAULT_LIMITS))
        >>> len(http.cookies)
        0
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()

    # httpx reads ``self.cookies`` on every request (to merge) and response (to store).
    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty: the API sets no cookies, so none are kept or sent."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError(
            "the SmartcarClient's own HTTP client keeps no cookies; pass your own "
            "httpx.AsyncClient as http_client= if you need them"
        )

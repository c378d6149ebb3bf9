"""The `httpx.AsyncClient` the SDK makes for itself when it is not given one.

`http_client_for` makes it (its transport, and a proxy per host for ``proxy=`` and
``trust_env=``) unless the caller brings an ``http_client`` (used as is) or a
``transport`` (wrapped as is); proxy settings apply only to the client made here.

It is httpx's own client (user middleware, respx, event hooks and transports behave as
with any `httpx.AsyncClient`) with one thing left out: cookies. Smartcar's APIs
authenticate every call with a bearer token and set no cookies, yet httpx runs its
cookie jar on every response (it wraps the request and the response in ``urllib``
adapters to ask the jar): about 16-20 µs per call for nothing. A client passed as
``http_client=`` keeps its own jar.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from ._config import DEFAULT_LIMITS, proxy_from_environment
from ._error_types import ConfigurationError
from ._pool import PoolSizer
from ._transport import default_transport

__all__ = ["ApiHttpClient", "http_client_for"]


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


def http_client_for(
    urls: Sequence[str],
    *,
    http_client: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    timeout: httpx.Timeout,
    limits: httpx.Limits,
    verify: ssl.SSLContext | str | bool,
    http2: bool,
    proxy: str | None,
    trust_env: bool,
) -> tuple[httpx.AsyncClient, PoolSizer]:
    """The client to send through (``http_client`` itself, or a new one) and the sizer
    of its pool (one that may grow only for a pool the SDK sized itself).

    Raises:
        ConfigurationError: ``http_client`` is not an ``httpx.AsyncClient``, or a proxy
            setting comes with a client or transport of the caller's.
    """
    if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
        raise ConfigurationError(
            f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}"
        )
    if (proxy is not None or trust_env) and (http_client or transport) is not None:
        raise ConfigurationError(
            "proxy= and trust_env= configure the SDK's own HTTP client: with "
            "http_client= or transport=, set the proxy on those instead"
        )
    if http_client is not None:
        return http_client, PoolSizer(None, growable=False)  # a user's: theirs to size
    pool = PoolSizer(transport, growable=False)
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    if transport is None:
        transport, mounts = _transports(
            urls,
            proxy=proxy,
            trust_env=trust_env,
            build=lambda p: default_transport(limits, verify=verify, http2=http2, proxy=p),
        )
        # The SDK chose this pool's size, so a larger fan-out may grow it; with a mount
        # per host (proxies) calls may not use this one: left alone then.
        if not mounts:
            pool = PoolSizer(transport, growable=limits is DEFAULT_LIMITS)
    client = ApiHttpClient(
        transport=transport, mounts=mounts, timeout=timeout, follow_redirects=False, trust_env=False
    )
    return client, pool


def _transports(
    urls: Sequence[str],
    *,
    proxy: str | None,
    trust_env: bool,
    build: Callable[[str | None], httpx.AsyncBaseTransport],
) -> tuple[httpx.AsyncBaseTransport, dict[str, httpx.AsyncBaseTransport]]:
    """The default transport and per-host mounts for ``proxy``/``trust_env``.

    One transport when every base URL gets the same proxy (the usual case); otherwise
    a mount per host, so ``NO_PROXY`` can exempt one host and not the others.
    """
    if proxy is not None or not trust_env:
        return build(proxy), {}
    chosen = {url: proxy_from_environment(url) for url in urls}
    if len(set(chosen.values())) == 1:
        return build(next(iter(chosen.values()))), {}
    by_proxy: dict[str | None, httpx.AsyncBaseTransport] = {}
    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    for url, choice in chosen.items():
        if choice not in by_proxy:
            by_proxy[choice] = build(choice)
        parts = httpx.URL(url)
        mounts[f"all://{parts.netloc.decode('ascii')}"] = by_proxy[choice]
    return build(None), mounts

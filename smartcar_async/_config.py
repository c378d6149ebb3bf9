"""Defaults, environment variables, and the checks on base URLs.

| variable | meaning | default |
| --- | --- | --- |
| ``SMARTCAR_CLIENT_ID`` | the application's v3 API-credential client id | (none) |
| ``SMARTCAR_CLIENT_SECRET`` | its client secret | (none) |
| ``SMARTCAR_TOKEN_URL`` | the token endpoint | ``https://iam.smartcar.com/oauth2/token`` |
| ``SMARTCAR_VEHICLE_API_URL`` | the Vehicle API base | ``https://vehicle.api.smartcar.com/v3`` |
| ``SMARTCAR_MANAGEMENT_API_URL`` | Management API | ``https://management.api.smartcar.com/v3`` |
| ``SMARTCAR_LOG`` | ``debug`` or ``info`` turns on logging to stderr | (off) |
| ``SMARTCAR_APPLICATION_ID`` | the application id, Connect's ``client_id`` (CLI) | (none) |
| ``SMARTCAR_REDIRECT_URI`` | a registered Connect redirect URI (CLI) | (none) |
| ``SMARTCAR_CONNECT_URL`` | Connect's origin (CLI) | ``https://connect.smartcar.com`` |

The official SDKs' origin variable ``SMARTCAR_VEHICLE_API_V3_ORIGIN`` (an origin without
``/v3``) is honoured too when ``SMARTCAR_VEHICLE_API_URL`` is not set.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from ._error_types import ConfigurationError

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "DEFAULT_LIMITS",
    "DEFAULT_MANAGEMENT_API_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_URL",
    "DEFAULT_VEHICLE_API_URL",
    "ENV_APPLICATION_ID",
    "ENV_CLIENT_ID",
    "ENV_CLIENT_SECRET",
    "ENV_CONNECT_URL",
    "ENV_LOG",
    "ENV_MANAGEMENT_API_URL",
    "ENV_REDIRECT_URI",
    "ENV_TOKEN_URL",
    "ENV_VEHICLE_API_URL",
    "READ_TIMEOUT",
    "check_base_url",
    "proxy_from_environment",
    "resolve_urls",
]

ENV_CLIENT_ID = "SMARTCAR_CLIENT_ID"
ENV_CLIENT_SECRET = "SMARTCAR_CLIENT_SECRET"
ENV_TOKEN_URL = "SMARTCAR_TOKEN_URL"
ENV_VEHICLE_API_URL = "SMARTCAR_VEHICLE_API_URL"
ENV_MANAGEMENT_API_URL = "SMARTCAR_MANAGEMENT_API_URL"
ENV_OFFICIAL_VEHICLE_ORIGIN = "SMARTCAR_VEHICLE_API_V3_ORIGIN"
ENV_LOG = "SMARTCAR_LOG"
ENV_APPLICATION_ID = "SMARTCAR_APPLICATION_ID"
ENV_REDIRECT_URI = "SMARTCAR_REDIRECT_URI"
ENV_CONNECT_URL = "SMARTCAR_CONNECT_URL"

DEFAULT_TOKEN_URL = "https://iam.smartcar.com/oauth2/token"
DEFAULT_VEHICLE_API_URL = "https://vehicle.api.smartcar.com/v3"
DEFAULT_MANAGEMENT_API_URL = "https://management.api.smartcar.com/v3"

#: Smartcar's integration guide tells apps to expect a response within 300 s (3-45 s on
#: average; "Make requests to Smartcar"), and both official SDKs wait 310 s. No source
#: gives reads a shorter bound, so reads wait as long as commands.
READ_TIMEOUT = 310.0

#: Reads and management calls. The pool timeout is long on purpose: a fleet job with
#: more tasks than connections queues for a connection, and that wait is not a failure.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=READ_TIMEOUT, write=30.0, pool=300.0)

#: Commands: a long-running command's connection stays open until the final result is
#: streamed on it, within the same 300 s the guide documents.
DEFAULT_COMMAND_TIMEOUT = httpx.Timeout(connect=10.0, read=READ_TIMEOUT, write=30.0, pool=300.0)

#: Enough connections for a fan-out of a few hundred requests in flight.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=512, max_keepalive_connections=512, keepalive_expiry=30.0
)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, name: str) -> str:
    """Return ``url`` without a trailing slash, or raise `ConfigurationError`.

    Plain ``http://`` is allowed only to loopback (an emulator on this machine): the
    token request carries the client secret, and every call carries a bearer token.

    Examples:
        >>> check_base_url("http://127.0.0.1:8080/v3/", name="vehicle_api_url")
        'http://127.0.0.1:8080/v3'
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{name} must be an http(s) URL with a host, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{name} uses http:// to a non-loopback host ({parts.hostname}); "
            "use https://, or http:// only to 127.0.0.1/localhost"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must not have a query or fragment, got {url!r}")
    return url.rstrip("/")


def resolve_urls(
    token_url: str | None,
    vehicle_api_url: str | None,
    management_api_url: str | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, str, str]:
    """The three base URLs: argument, else environment variable, else default; checked."""
    env = os.environ if environ is None else environ
    official_origin = env.get(ENV_OFFICIAL_VEHICLE_ORIGIN)
    vehicle_default = (
        official_origin.rstrip("/") + "/v3" if official_origin else DEFAULT_VEHICLE_API_URL
    )
    return (
        check_base_url(token_url or env.get(ENV_TOKEN_URL) or DEFAULT_TOKEN_URL, name="token_url"),
        check_base_url(
            vehicle_api_url or env.get(ENV_VEHICLE_API_URL) or vehicle_default,
            name="vehicle_api_url",
        ),
        check_base_url(
            management_api_url or env.get(ENV_MANAGEMENT_API_URL) or DEFAULT_MANAGEMENT_API_URL,
            name="management_api_url",
        ),
    )


def proxy_from_environment(url: str) -> str | None:
    """The proxy the environment sets for ``url``, or None.

    Reads ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` (either case) for the URL's
    scheme and honours ``NO_PROXY``, as curl and httpx do. Only used when the client is
    built with ``trust_env=True``.

    Examples:
        >>> proxy_from_environment("https://vehicle.api.smartcar.com/v3")  # none set
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if _bypassed(parts.hostname or "", proxies.get("no", "")):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``host``: ``*``, the host, or a domain it is under."""
    host = host.lower().strip("[]")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower().lstrip(".")
        if entry.count(":") == 1:  # host:port (a bare IPv6 address has more colons)
            entry = entry.partition(":")[0]
        entry = entry.strip("[]")
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False

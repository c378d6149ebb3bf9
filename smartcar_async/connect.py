"""Smartcar Connect: send a vehicle owner to Connect, and read the redirect that comes back.

Every ``user_id`` the API needs comes from Connect. Your backend sends the owner to
`authorization_url` with a fresh `new_state` kept in the owner's session; Connect asks
the owner to log in and grant access, then redirects the browser to your
``redirect_uri`` with ``user_id`` and ``state`` (or ``error`` and
``error_description``). `parse_redirect` checks the state and returns a
`ConnectResult`, or raises `ConnectError` / `ConnectStateError`. When a connection
needs the owner again (``CONNECTED_SERVICES_ACCOUNT:AUTHENTICATION_FAILED``),
`reauthentication_url` starts the shorter re-authentication flow.

No client, no network: everything here is string work.

Two different ids, easy to mix up:

* the **application id** (a UUID, "Application ID" in the dashboard) is Connect's
  ``client_id``: it goes into the URL the owner's browser opens;
* the **API credential client id** (``client_...``) and its secret are what
  `smartcar_async.SmartcarClient` sends to the token endpoint. They never go into a URL.

Examples:
    >>> import smartcar_async as sc
    >>> state = sc.connect.new_state()                 # keep it in the owner's session
    >>> url = sc.connect.authorization_url(
    ...     client_id=APPLICATION_ID,
    ...     redirect_uri="https://app.example.com/callback",
    ...     scope=["read_vehicle_info", "required:read_battery"],
    ...     state=state,
    ... )
    >>> # ... the owner comes back to /callback?user_id=...&state=...
    >>> result = sc.connect.parse_redirect(request_url, expected_state=state)
    >>> result.user_id
    '725146a3-69f4-46c8-965d-54b3b6f81eb7'
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Final, Literal, TypedDict
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import attrs

from ._config import check_base_url
from ._error_types import ConfigurationError, SmartcarError

__all__ = [
    "CONNECT_ERROR_CODES",
    "CONNECT_URL",
    "ApprovalPrompt",
    "ConnectError",
    "ConnectResult",
    "ConnectSettings",
    "ConnectStateError",
    "Mode",
    "ReauthenticationResponseType",
    "authorization_url",
    "new_state",
    "parse_redirect",
    "reauthentication_url",
]

#: Where Connect lives. Pass another ``connect_url`` for the emulator.
CONNECT_URL: Final = "https://connect.smartcar.com"

Mode = Literal["live", "simulated", "test"]
ApprovalPrompt = Literal["auto", "force"]
ReauthenticationResponseType = Literal["vehicle_id", "none"]


class ConnectSettings(TypedDict):
    """An application's Connect settings, ready for ``**`` into `authorization_url`.

    `smartcar_async.testing.SmartcarEmulator.connect_kwargs` returns one.

    Examples:
        >>> settings: ConnectSettings = {"client_id": APPLICATION_ID,
        ...     "redirect_uri": "https://app.example.com/callback", "connect_url": CONNECT_URL}
        >>> authorization_url(**settings, state=new_state())
    """

    client_id: str
    redirect_uri: str
    connect_url: str


_MODES: Final = ("live", "simulated", "test")
_APPROVAL_PROMPTS: Final = ("auto", "force")
_REAUTH_RESPONSE_TYPES: Final = ("vehicle_id", "none")
_AUTHORIZE_PATH: Final = "/oauth/authorize"
_REAUTHENTICATE_PATH: Final = "/oauth/reauthenticate"

#: The error codes Smartcar's "Connect errors" pages document. Others are still
#: reported (as `ConnectError.code`), since Connect may add codes.
CONNECT_ERROR_CODES: Final = frozenset(
    {
        "access_denied",
        "configuration_error",
        "invalid_subscription",
        "no_vehicles",
        "server_error",
        "user_manually_returned_to_application",
        "vehicle_incompatible",
    }
)

# A permission name, optionally marked required (``required:read_odometer``).
_PERMISSION = re.compile(r"(required:)?[a-z][a-z0-9_]*")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
# Flag names and values go into one space-separated ``name:value`` list.
_FLAG_PART = re.compile(r"[^\s:]+")
# 256 bits: far beyond guessing, and 43 URL-safe characters.
_STATE_BYTES = 32


# -- building URLs ------------------------------------------------------------------------


def _application_id(client_id: str) -> str:
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigurationError("client_id (the application id) must be a non-empty string")
    if client_id.startswith("client_"):
        raise ConfigurationError(
            "Connect's client_id is the application id (a UUID, 'Application ID' in the "
            f"Smartcar dashboard), not the API credential client id {client_id[:12]}...: "
            "that one and its secret go to SmartcarClient for tokens and never into a "
            "Connect URL. Connect answers '400: Invalid parameter client_id' otherwise."
        )
    if client_id != client_id.strip():
        raise ConfigurationError("client_id has leading or trailing whitespace")
    return client_id


def _redirect_uri(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri) if isinstance(redirect_uri, str) else None
    if parts is None or not parts.scheme or "://" not in redirect_uri:
        raise ConfigurationError(
            f"redirect_uri must be an absolute URI registered in the dashboard, got "
            f"{redirect_uri!r}"
        )
    if parts.fragment or redirect_uri.endswith("#"):
        # OAuth 2.0 (RFC 6749 §3.1.2): a redirection endpoint has no fragment.
        raise ConfigurationError(f"redirect_uri must not have a #fragment, got {redirect_uri!r}")
    return redirect_uri


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _scope(scope: str | Iterable[str]) -> str:
    # A bare string is read as Connect writes it, space-separated; iterating it would
    # send one permission per character.
    permissions = scope.split() if isinstance(scope, str) else list(scope)
    if not permissions:
        raise ConfigurationError(
            "scope is empty; list the permissions, or pass scope=None to use the ones "
            "configured in the dashboard"
        )
    for permission in permissions:
        if not isinstance(permission, str) or not _PERMISSION.fullmatch(permission):
            raise ConfigurationError(
                f"not a permission name: {permission!r} (e.g. 'read_odometer', "
                "'required:read_battery')"
            )
    return " ".join(dict.fromkeys(permissions))


def _flag_value(value: str | bool | int) -> str:
    if isinstance(value, bool):  # before int: True is an int
        return "true" if value else "false"
    return str(value)


def _flags(flags: Mapping[str, str | bool | int]) -> str:
    pairs = []
    for name, value in flags.items():
        text = _flag_value(value)
        if not _FLAG_PART.fullmatch(str(name)) or not _FLAG_PART.fullmatch(text):
            raise ConfigurationError(
                f"flag {name!r}={value!r}: names and values cannot be empty or contain "
                "spaces or ':' (Connect reads flags as 'name:value name:value')"
            )
        pairs.append(f"{name}:{text}")
    return " ".join(pairs)


def _country(country: str) -> str:
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        raise ConfigurationError(
            f"country is a two-letter ISO 3166-1 code such as 'US' or 'DE', got {country!r}"
        )
    return country.upper()


def _base(connect_url: str) -> str:
    base = check_base_url(connect_url, name="connect_url")
    # Accept the full authorize URL too: people copy it from the docs.
    for path in (_AUTHORIZE_PATH, _REAUTHENTICATE_PATH):
        if base.endswith(path):
            return base[: -len(path)]
    return base


def _url(base: str, path: str, query: dict[str, str]) -> str:
    # %20 rather than '+' for spaces: every parser reads %20 as a space.
    return f"{base}{path}?{urlencode(query, quote_via=quote)}"


def authorization_url(
    *,
    client_id: str,
    redirect_uri: str,
    scope: str | Iterable[str] | None = None,
    state: str | None = None,
    mode: Mode = "live",
    approval_prompt: ApprovalPrompt = "auto",
    make: str | None = None,
    single_select: bool | None = None,
    single_select_vin: str | None = None,
    flags: Mapping[str, str | bool | int] | None = None,
    country: str | None = None,
    external_id: str | None = None,
    connect_url: str = CONNECT_URL,
) -> str:
    """The Connect URL that starts onboarding an owner (``/oauth/authorize``).

    Args:
        client_id: the application id (a UUID from the dashboard), not the ``client_...``
            API credential id: that one raises `smartcar_async.ConfigurationError`.
        redirect_uri: where Connect sends the owner back; it must be registered in the
            dashboard.
        scope: permissions such as ``["read_vehicle_info", "required:read_battery"]``
            (``required:`` makes the owner unable to uncheck one); a string is read as
            space-separated. None uses the permissions configured in the dashboard.
        state: an unguessable value tied to the owner's session (`new_state`), returned
            in the redirect; `parse_redirect` checks it. Always send one.
        mode: ``live`` (real vehicles), ``simulated`` (the dashboard's vehicle
            simulator) or ``test``.
        approval_prompt: ``auto`` shows the grant screen only when the owner has not
            already approved these permissions; ``force`` always shows it.
        make: skip the brand selector (e.g. ``"TESLA"``).
        single_select: let the owner pick only one vehicle.
        single_select_vin: only the vehicle with this VIN (implies ``single_select``;
            takes precedence over ``make``).
        flags: feature flags, sent as ``name:value`` pairs (booleans as true/false).
        country: the owner's country, a two-letter ISO code (``"DE"``).
        external_id: your own id for the owner; Smartcar stores it with the user.
        connect_url: Connect's origin (the emulator's, in tests).

    Returns:
        The URL to redirect the owner's browser to.

    Raises:
        ConfigurationError: a value Connect would refuse (or that is surely a mistake).

    Examples:
        >>> authorization_url(client_id="8229df9f-91a0-4ff0-a1ae-a1f38ee24d07",
        ...                   redirect_uri="https://example.com/home",
        ...                   scope=["read_odometer"], state="0facda3319")
        'https://connect.smartcar.com/oauth/authorize?response_type=code&client_id=8229df9f-...'
    """
    query = {
        "response_type": "code",
        "client_id": _application_id(client_id),
        "redirect_uri": _redirect_uri(redirect_uri),
    }
    if scope is not None:
        query["scope"] = _scope(scope)
    if state is not None:
        query["state"] = _text("state", state)
    query["approval_prompt"] = _choice("approval_prompt", approval_prompt, _APPROVAL_PROMPTS)
    query["mode"] = _choice("mode", mode, _MODES)
    if make is not None:
        query["make"] = _text("make", make)
    if single_select_vin is not None:
        if single_select is False:
            raise ConfigurationError(
                "single_select_vin needs single_select=True (or leave single_select out)"
            )
        single_select = True
    if single_select is not None:
        query["single_select"] = "true" if single_select else "false"
    if single_select_vin is not None:
        query["single_select_vin"] = _text("single_select_vin", single_select_vin)
    if flags:
        query["flags"] = _flags(flags)
    if country is not None:
        query["country"] = _country(country)
    if external_id is not None:
        query["external_id"] = _text("external_id", external_id)
    return _url(_base(connect_url), _AUTHORIZE_PATH, query)


def reauthentication_url(
    *,
    client_id: str,
    vehicle_id: str,
    redirect_uri: str | None = None,
    state: str | None = None,
    response_type: ReauthenticationResponseType = "vehicle_id",
    external_id: str | None = None,
    connect_url: str = CONNECT_URL,
) -> str:
    """The Connect URL that re-authenticates one vehicle (``/oauth/reauthenticate``).

    Send the owner here when the API answers ``CONNECTED_SERVICES_ACCOUNT`` /
    ``AUTHENTICATION_FAILED`` (the owner changed the password of their car-maker account).
    The redirect carries ``vehicle_id`` (and ``external_id``) instead of ``user_id``;
    `parse_redirect` reads both kinds.

    Args:
        client_id: the application id (not the ``client_...`` API credential id).
        vehicle_id: the vehicle to re-authenticate.
        redirect_uri: where Connect sends the owner back; required with
            ``response_type="vehicle_id"``. With ``"none"`` and no URI, the flow ends
            on a Smartcar-hosted page.
        state: as for `authorization_url`.
        response_type: ``vehicle_id`` (redirect back to you) or ``none``.
        external_id: your own id for the owner; replaces the stored one.
        connect_url: Connect's origin.

    Examples:
        >>> reauthentication_url(client_id=APPLICATION_ID, vehicle_id=vehicle_id,
        ...                      redirect_uri="https://app.example.com/callback",
        ...                      state=new_state())
        'https://connect.smartcar.com/oauth/reauthenticate?response_type=vehicle_id&...'
    """
    query = {
        "response_type": _choice("response_type", response_type, _REAUTH_RESPONSE_TYPES),
        "client_id": _application_id(client_id),
        "vehicle_id": _text("vehicle_id", vehicle_id),
    }
    if redirect_uri is not None:
        query["redirect_uri"] = _redirect_uri(redirect_uri)
    elif response_type == "vehicle_id":
        raise ConfigurationError("redirect_uri is required with response_type='vehicle_id'")
    if state is not None:
        query["state"] = _text("state", state)
    if external_id is not None:
        query["external_id"] = _text("external_id", external_id)
    return _url(_base(connect_url), _REAUTHENTICATE_PATH, query)


def new_state() -> str:
    """A fresh ``state``: 256 random bits as 43 URL-safe characters.

    Keep it in the owner's session (a signed cookie, a server-side session) before
    redirecting, and give it to `parse_redirect` when the owner comes back.

    Examples:
        >>> len(new_state())
        43
    """
    return secrets.token_urlsafe(_STATE_BYTES)


# -- reading the redirect -----------------------------------------------------------------


@attrs.frozen
class ConnectResult:
    """What a successful Connect redirect carries.

    Attributes:
        user_id: the owner's Smartcar user id (``sc-user-id`` on API calls); None after
            a re-authentication, which answers with ``vehicle_id``.
        vehicle_id: the re-authenticated vehicle, when the redirect names one.
        external_id: your own id for the owner, when the redirect carries it.
        state: the state, already checked against the expected one.
        code: an authorization code, when the redirect carries one (API v3 does not
            use it).
    """

    user_id: str | None
    vehicle_id: str | None = None
    external_id: str | None = None
    state: str = attrs.field(default="", repr=False)
    code: str | None = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, str | None]:
        """The fields as a JSON-ready dict."""
        return attrs.asdict(self)


class ConnectError(SmartcarError):
    """Connect sent the owner back with ``error=...`` instead of access.

    `code` says what happened; tell the owner what to do (see the Connect guide), and
    offer to start again where that helps. Extra fields are set when Connect sends them
    for the code (None otherwise).

    Attributes:
        code: ``access_denied``, ``vehicle_incompatible``, ``no_vehicles``,
            ``invalid_subscription``, ``configuration_error``, ``server_error``,
            ``user_manually_returned_to_application``, or a newer one; None when the
            redirect carries neither an error nor an id.
        description: Connect's ``error_description`` (English).
        make, model, year, vin: the incompatible vehicle (``vehicle_incompatible``).
        status_code, error_message: the error page the owner saw
            (``configuration_error``).
        state: the redirect's state.
        params: every query field of the redirect.

    Examples:
        >>> try:
        ...     result = parse_redirect(url, expected_state=state)
        ... except ConnectError as error:
        ...     if error.code == "access_denied":
        ...         return show("You chose not to connect; connect again?")
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        description: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.description = description
        self.params: Mapping[str, str] = dict(params or {})
        get = self.params.get
        self.state = get("state")
        self.make = get("make")
        self.model = get("model")
        self.year = _int_or_none(get("year"))
        self.vin = get("vin")
        self.status_code = _int_or_none(get("status_code"))
        self.error_message = get("error_message")


class ConnectStateError(ConnectError):
    """The redirect's ``state`` is missing or is not the one this session sent.

    The request did not come from a Connect flow this owner started (a forged link,
    a replayed redirect, or an expired session): answer 400 and grant nothing.
    """


def _int_or_none(text: str | None) -> int | None:
    # Only ASCII digits: str.isdigit() accepts '²', which int() refuses.
    return int(text) if text and text.isascii() and text.isdigit() else None


# Fields whose duplication would make the answer ambiguous.
_SINGLE: Final = ("state", "user_id", "userId", "vehicle_id", "error")


def _mapping_pairs(query: Mapping[str, object]) -> list[tuple[str, str]]:
    # A multi-dict's items() gives one value per key: ask for every value, so a
    # repeated field is refused as it is in a query string.
    multi_items = getattr(query, "multi_items", None)  # Starlette's QueryParams
    getlist = getattr(query, "getlist", None)  # werkzeug's MultiDict, Django's QueryDict
    if callable(multi_items):
        pairs = list(multi_items())
    elif callable(getlist):
        pairs = [(key, value) for key in query for value in getlist(key)]
    else:
        pairs = list(query.items())
    for key, value in pairs:
        if not isinstance(value, str):
            # A parse_qs() dict holds lists: str() of one would fail as a forged state.
            raise TypeError(
                f"the value of {key!r} is a {type(value).__name__}; query values must be "
                "strings (pass request.query_params, or a dict of str)"
            )
    return [(str(key), value) for key, value in pairs]


def _query(url_or_query: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(url_or_query, Mapping):
        pairs = _mapping_pairs(url_or_query)
    elif isinstance(url_or_query, str):
        text = url_or_query.split("#", 1)[0]
        if "?" in text:
            text = text.split("?", 1)[1]
        elif "://" in text:
            text = ""  # a URL without a query
        pairs = parse_qsl(text, keep_blank_values=True)
    else:
        raise TypeError(f"expected a URL, a query string or a mapping, got {url_or_query!r}")
    query: dict[str, str] = {}
    for key, value in pairs:
        if key in query and key in _SINGLE and query[key] != value:
            raise ConnectError(
                f"the Connect redirect carries {key!r} twice; refusing an ambiguous answer",
                params=dict(pairs),
            )
        query.setdefault(key, value)
    return query


def _check_state(query: Mapping[str, str], expected_state: str | None) -> str:
    if expected_state is None or expected_state == "":
        # What session.pop(key, None) gives once the session expired: refuse, do not crash.
        raise ConnectStateError(
            "no Connect state was expected: none is stored for this session (it expired, "
            "or the flow was not started here); refusing the redirect",
            params=query,
        )
    if not isinstance(expected_state, str):
        raise ConfigurationError(
            "expected_state must be the state you sent to Connect (new_state()), "
            f"got {type(expected_state).__name__}"
        )
    got = query.get("state")
    # repr() and a cap: the text is whatever the request said, and it goes into logs.
    reported = f" (it reports error={query['error'][:64]!r})" if "error" in query else ""
    if got is None:
        raise ConnectStateError(
            f"the Connect redirect has no state{reported}; it was not started by this session",
            params=query,
        )
    if not hmac.compare_digest(got.encode(), expected_state.encode()):
        raise ConnectStateError(
            f"the Connect redirect's state does not match this session's{reported}; "
            "refusing it (a forged link, a replayed redirect, or an expired session)",
            params=query,
        )
    return got


def parse_redirect(
    url_or_query: str | Mapping[str, str], *, expected_state: str | None
) -> ConnectResult:
    """Check and read the redirect Connect sent the owner back with.

    The state is checked first (in constant time), then an ``error`` raises, then the
    ids are read: ``user_id`` (or ``userId``) after onboarding, ``vehicle_id`` after a
    re-authentication.

    Args:
        url_or_query: the full callback URL (``str(request.url)``), its query string,
            or the parsed query (``request.query_params``, or a dict of str).
        expected_state: the state you stored before redirecting to Connect; None or
            ``""`` (nothing stored, e.g. the session expired) raises `ConnectStateError`.

    Returns:
        The `ConnectResult`.

    Raises:
        ConnectStateError: the state is missing or different, or none was expected.
        ConnectError: Connect reports an error (``.code``), the redirect carries no id,
            or it carries ``state``, ``user_id``, ``vehicle_id`` or ``error`` twice
            with different values.
        TypeError: a mapping whose values are not strings (a ``parse_qs()`` dict).

    Examples:
        >>> parse_redirect("https://app.example.com/cb?code=x&user_id=u-1&state=s",
        ...                expected_state="s").user_id
        'u-1'
    """
    query = _query(url_or_query)
    state = _check_state(query, expected_state)
    error = query.get("error")
    if error is not None:
        description = query.get("error_description") or None
        raise ConnectError(
            f"Connect: {error}" + (f": {description}" if description else ""),
            code=error,
            description=description,
            params=query,
        )
    user_id = query.get("user_id") or query.get("userId") or None
    vehicle_id = query.get("vehicle_id") or None
    if user_id is None and vehicle_id is None:
        hint = (
            " It carries only an authorization code: that is the v2 flow. With API v3 "
            "the redirect names the owner by user_id; check the Connect URL's client_id "
            "is the application id."
            if query.get("code")
            else ""
        )
        raise ConnectError(
            "the Connect redirect carries neither user_id, vehicle_id nor error." + hint,
            params=query,
        )
    return ConnectResult(
        user_id=user_id,
        vehicle_id=vehicle_id,
        external_id=query.get("external_id") or None,
        state=state,
        code=query.get("code") or None,
    )

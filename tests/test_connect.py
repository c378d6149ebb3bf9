"""smartcar_async.connect: Connect URLs, state, and reading the redirect (no network)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smartcar_async as sc
from smartcar_async.connect import (
    CONNECT_ERROR_CODES,
    authorization_url,
    new_state,
    parse_redirect,
    reauthentication_url,
)

APP_ID = "8229df9f-91a0-4ff0-a1ae-a1f38ee24d07"
REDIRECT = "https://app.example.com/callback"


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# -- authorization_url ------------------------------------------------------------------------


def test_authorization_url_carries_the_documented_parameters() -> None:
    url = sc.connect.authorization_url(
        client_id=APP_ID,
        redirect_uri=REDIRECT,
        scope=["read_vehicle_info", "required:read_battery"],
        state="s-1",
        mode="simulated",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.path) == (
        "https",
        "connect.smartcar.com",
        "/oauth/authorize",
    )
    assert _query(url) == {
        "response_type": ["code"],
        "client_id": [APP_ID],
        "redirect_uri": [REDIRECT],
        "scope": ["read_vehicle_info required:read_battery"],
        "state": ["s-1"],
        "approval_prompt": ["auto"],
        "mode": ["simulated"],
    }
    # Spaces as %20, which every parser reads as a space ('+' is form-only).
    assert "scope=read_vehicle_info%20required%3Aread_battery" in url


def test_authorization_url_optional_parameters() -> None:
    url = authorization_url(
        client_id=APP_ID,
        redirect_uri=REDIRECT,
        approval_prompt="force",
        make="TESLA",
        single_select_vin="0SCAUDI012FE3B132",
        flags={"country": "DE", "beta": True, "tries": 3},
        country="de",
        external_id="customer-42",
    )
    query = _query(url)
    assert "scope" not in query  # None: the dashboard's permissions
    assert "state" not in query
    assert query["approval_prompt"] == ["force"]
    assert query["make"] == ["TESLA"]
    assert query["single_select"] == ["true"]  # implied by the VIN
    assert query["single_select_vin"] == ["0SCAUDI012FE3B132"]
    assert query["flags"] == ["country:DE beta:true tries:3"]
    assert query["country"] == ["DE"]
    assert query["external_id"] == ["customer-42"]


def test_a_scope_string_is_space_separated_and_duplicates_go() -> None:
    url = authorization_url(
        client_id=APP_ID, redirect_uri=REDIRECT, scope="read_odometer  read_vin read_odometer"
    )
    assert _query(url)["scope"] == ["read_odometer read_vin"]


def test_the_connect_url_may_be_the_emulator_and_may_include_the_path() -> None:
    for base in ("http://127.0.0.1:8765", "http://127.0.0.1:8765/oauth/authorize"):
        url = authorization_url(client_id=APP_ID, redirect_uri=REDIRECT, connect_url=base)
        assert url.startswith("http://127.0.0.1:8765/oauth/authorize?")


def test_an_api_credential_client_id_is_refused_with_the_difference_explained() -> None:
    with pytest.raises(sc.ConfigurationError) as caught:
        authorization_url(client_id="client_0123456789abcdef", redirect_uri=REDIRECT)
    message = str(caught.value)
    assert "application id" in message
    assert "SmartcarClient" in message
    assert "0123456789abcdef" not in message  # only a prefix of the id is shown


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"mode": "sandbox"}, "mode must be one of live, simulated, test"),
        ({"approval_prompt": "always"}, "approval_prompt must be one of auto, force"),
        ({"scope": []}, "scope is empty"),
        ({"scope": ["read odometer"]}, "not a permission name"),
        ({"scope": ["READ_ODOMETER"]}, "not a permission name"),
        ({"country": "USA"}, "two-letter"),
        ({"flags": {"a b": "x"}}, "flag"),
        ({"flags": {"a": "x:y"}}, "flag"),
        ({"single_select": False, "single_select_vin": "VIN"}, "single_select"),
        ({"state": ""}, "state must be a non-empty string"),
        ({"client_id": ""}, "client_id"),
        ({"client_id": f" {APP_ID}"}, "whitespace"),
        ({"redirect_uri": "/callback"}, "absolute URI"),
        ({"redirect_uri": "https://app.example.com/cb#x"}, "fragment"),
        ({"connect_url": "http://connect.example.com"}, "http://"),
    ],
)
def test_values_connect_would_refuse_raise_configuration_error(
    kwargs: dict[str, object], fragment: str
) -> None:
    arguments: dict[str, object] = {"client_id": APP_ID, "redirect_uri": REDIRECT, **kwargs}
    with pytest.raises(sc.ConfigurationError, match=fragment):
        authorization_url(**arguments)  # type: ignore[arg-type]


def test_a_mobile_custom_scheme_redirect_is_accepted() -> None:
    uri = f"sc{APP_ID}://exchange"
    assert _query(authorization_url(client_id=APP_ID, redirect_uri=uri))["redirect_uri"] == [uri]


# -- reauthentication_url ---------------------------------------------------------------------


def test_reauthentication_url() -> None:
    url = reauthentication_url(
        client_id=APP_ID,
        vehicle_id="sc4a1b01e5-0497",
        redirect_uri=REDIRECT,
        state="s",
        external_id="customer-1",
    )
    assert urlsplit(url).path == "/oauth/reauthenticate"
    assert _query(url) == {
        "response_type": ["vehicle_id"],
        "client_id": [APP_ID],
        "vehicle_id": ["sc4a1b01e5-0497"],
        "redirect_uri": [REDIRECT],
        "state": ["s"],
        "external_id": ["customer-1"],
    }


def test_reauthentication_rules() -> None:
    with pytest.raises(sc.ConfigurationError, match="redirect_uri is required"):
        reauthentication_url(client_id=APP_ID, vehicle_id="v")
    # response_type=none may end on Smartcar's own page.
    url = reauthentication_url(client_id=APP_ID, vehicle_id="v", response_type="none")
    assert "redirect_uri" not in _query(url)
    with pytest.raises(sc.ConfigurationError, match="response_type"):
        reauthentication_url(client_id=APP_ID, vehicle_id="v", response_type="code")  # type: ignore[arg-type]
    with pytest.raises(sc.ConfigurationError, match="application id"):
        reauthentication_url(client_id="client_x", vehicle_id="v", redirect_uri=REDIRECT)


# -- new_state --------------------------------------------------------------------------------


def test_new_state_is_url_safe_and_fresh() -> None:
    states = {new_state() for _ in range(100)}
    assert len(states) == 100
    for state in states:
        assert len(state) == 43
        assert state.replace("-", "").replace("_", "").isalnum()


# -- parse_redirect ---------------------------------------------------------------------------


def test_parse_redirect_reads_the_user_id() -> None:
    result = sc.connect.parse_redirect(
        "https://app.example.com/cb?code=x&user_id=u-1&state=s", expected_state="s"
    )
    assert isinstance(result, sc.ConnectResult)
    assert (result.user_id, result.vehicle_id, result.code, result.state) == ("u-1", None, "x", "s")
    assert result.to_dict()["user_id"] == "u-1"


@pytest.mark.parametrize(
    "given",
    [
        "user_id=u-1&state=s",
        "?userId=u-1&state=s",  # the camelCase some pages show
        "https://app.example.com/cb?userId=u-1&state=s#frag",
        {"user_id": "u-1", "state": "s"},
    ],
)
def test_parse_redirect_accepts_a_url_a_query_or_a_mapping(given: object) -> None:
    assert parse_redirect(given, expected_state="s").user_id == "u-1"  # type: ignore[arg-type]


def test_parse_redirect_reads_a_reauthentication() -> None:
    result = parse_redirect(
        "https://app.example.com/cb?vehicle_id=v-1&external_id=c-9&state=s", expected_state="s"
    )
    assert (result.user_id, result.vehicle_id, result.external_id) == (None, "v-1", "c-9")


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com/cb?user_id=u-1&state=other",
        "https://app.example.com/cb?user_id=u-1",
        "https://app.example.com/cb?user_id=u-1&state=",
        "https://app.example.com/cb?error=access_denied&state=other",
    ],
)
def test_a_missing_or_different_state_raises(url: str) -> None:
    with pytest.raises(sc.ConnectStateError) as caught:
        parse_redirect(url, expected_state="s")
    assert isinstance(caught.value, sc.SmartcarError)
    if "error=" in url:
        assert "access_denied" in str(caught.value)  # the reason is not lost


def test_a_forged_error_text_stays_one_short_line_in_the_message() -> None:
    forged = "access_denied\nINFO admin logged in" + "x" * 500
    with pytest.raises(sc.ConnectStateError) as caught:
        parse_redirect({"error": forged, "state": "other"}, expected_state="s")
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 300


def test_the_state_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from smartcar_async import connect

    calls = []
    original = hmac.compare_digest

    def compare(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(connect.hmac, "compare_digest", compare)
    parse_redirect("user_id=u&state=s", expected_state="s")
    assert calls == [(b"s", b"s")]


@pytest.mark.parametrize("stored", [None, ""])
def test_no_stored_state_is_a_state_error(stored: str | None) -> None:
    # session.pop(key, None) once the session expired: a refused redirect, not a crash.
    with pytest.raises(sc.ConnectStateError, match=r"no Connect state was expected.*expired"):
        parse_redirect("user_id=u&state=", expected_state=stored)


def test_a_non_str_expected_state_is_a_configuration_error() -> None:
    with pytest.raises(sc.ConfigurationError, match="expected_state"):
        parse_redirect("user_id=u&state=s", expected_state=b"s")  # type: ignore[arg-type]


def test_access_denied_raises_a_typed_connect_error() -> None:
    url = (
        "https://example.com/home?error=access_denied"
        "&error_description=User+denied+access+to+application.&state=s"
    )
    with pytest.raises(sc.ConnectError) as caught:
        parse_redirect(url, expected_state="s")
    error = caught.value
    assert isinstance(error, sc.SmartcarError)
    assert not isinstance(error, sc.ConnectStateError)
    assert error.code == "access_denied"
    assert error.description == "User denied access to application."
    assert error.state == "s"
    assert "access_denied" in str(error)


def test_vehicle_incompatible_carries_the_vehicle() -> None:
    url = (
        "https://example.com/cb?error=vehicle_incompatible"
        "&error_description=The+user%E2%80%99s+vehicle+is+not+compatible."
        "&make=AUDI&model=A4&year=2019&vin=0SCAUDI012FE3B132&state=s"
    )
    with pytest.raises(sc.ConnectError) as caught:
        parse_redirect(url, expected_state="s")
    error = caught.value
    assert (error.code, error.make, error.model, error.year, error.vin) == (
        "vehicle_incompatible",
        "AUDI",
        "A4",
        2019,
        "0SCAUDI012FE3B132",
    )
    assert error.params["make"] == "AUDI"


def test_configuration_error_carries_the_page_the_owner_saw() -> None:
    url = (
        "https://example.com/callback?error=configuration_error"
        "&error_description=There%20has%20been%20an%20error.&status_code=400"
        "&error_message=You%20have%20entered%20a%20test%20mode%20VIN.&state=s"
    )
    with pytest.raises(sc.ConnectError) as caught:
        parse_redirect(url, expected_state="s")
    assert caught.value.status_code == 400
    assert caught.value.error_message == "You have entered a test mode VIN."
    assert caught.value.year is None


@pytest.mark.parametrize("code", sorted(CONNECT_ERROR_CODES | {"some_future_code"}))
def test_every_error_code_raises_connect_error_with_its_code(code: str) -> None:
    with pytest.raises(sc.ConnectError) as caught:
        parse_redirect(f"error={code}&error_description=d&state=s", expected_state="s")
    assert caught.value.code == code


def test_a_redirect_without_an_id_or_error_raises() -> None:
    with pytest.raises(sc.ConnectError, match="neither user_id") as caught:
        parse_redirect("state=s", expected_state="s")
    assert caught.value.code is None
    with pytest.raises(sc.ConnectError, match="v2 flow"):
        parse_redirect("code=abc&state=s", expected_state="s")


def test_a_duplicated_user_id_is_refused() -> None:
    with pytest.raises(sc.ConnectError, match="twice"):
        parse_redirect("user_id=a&user_id=b&state=s", expected_state="s")
    # The same value twice is harmless.
    assert parse_redirect("user_id=a&user_id=a&state=s", expected_state="s").user_id == "a"


class _MultiItems(Mapping[str, str]):
    """Starlette's QueryParams in small: items() gives one value per key."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._first = dict(reversed(pairs))

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


class _GetList(_MultiItems):
    """werkzeug's MultiDict in small: every value through getlist()."""

    multi_items = None  # type: ignore[assignment]

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._pairs if k == key]


@pytest.mark.parametrize("multi", [_MultiItems, _GetList])
def test_a_duplicated_user_id_in_a_multi_dict_is_refused(multi: type[_MultiItems]) -> None:
    query = multi([("state", "s"), ("user_id", "a"), ("user_id", "b")])
    assert query["user_id"] == "a"  # what items() alone would have let through
    with pytest.raises(sc.ConnectError, match="'user_id' twice"):
        parse_redirect(query, expected_state="s")
    same = multi([("state", "s"), ("user_id", "a"), ("user_id", "a")])
    assert parse_redirect(same, expected_state="s").user_id == "a"


def test_a_duplicated_state_in_starlettes_query_params_is_refused() -> None:
    datastructures = pytest.importorskip("starlette.datastructures")
    query = datastructures.QueryParams("state=s&user_id=a&state=t")
    with pytest.raises(sc.ConnectError, match="'state' twice"):
        parse_redirect(query, expected_state="s")
    ok = datastructures.QueryParams("state=s&user_id=a")
    assert parse_redirect(ok, expected_state="s").user_id == "a"


def test_a_parse_qs_dict_is_a_type_error_naming_the_field() -> None:
    with pytest.raises(TypeError, match="'user_id' is a list; query values must be strings"):
        parse_redirect(parse_qs("user_id=u&state=s"), expected_state="s")  # type: ignore[arg-type]


def test_parse_redirect_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        parse_redirect(b"user_id=a&state=s", expected_state="s")  # type: ignore[arg-type]


def test_public_names_read_as_the_connect_module() -> None:
    assert sc.ConnectError.__module__ == "smartcar_async.connect"
    assert sc.connect.ConnectResult is sc.ConnectResult
    assert "ConnectStateError" in sc.connect.__all__


# -- properties -------------------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    str.strip
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(query=st.text(max_size=200), state=_TEXT)
def test_parse_redirect_raises_only_connect_errors(query: str, state: str) -> None:
    # Whatever a browser sends to /callback, the handler sees a result or a ConnectError.
    try:
        result = parse_redirect(query, expected_state=state)
    except sc.ConnectError:
        return
    assert result.state == state
    assert (result.user_id or result.vehicle_id) is not None


_KEYS = st.sampled_from(
    ["state", "user_id", "userId", "vehicle_id", "error", "error_description", "code",
     "make", "model", "year", "vin", "status_code", "error_message", "external_id", "x"]
)  # fmt: skip


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            _KEYS,
            st.one_of(st.sampled_from(["s", "2019", "²", "٣", ""]), st.text(max_size=8)),
        )
    )
)
def test_parse_redirect_raises_only_connect_errors_on_redirect_like_queries(
    pairs: list[tuple[str, str]],
) -> None:
    # The keys Connect uses, with odd values ('²' as a year...), in any combination.
    with contextlib.suppress(sc.ConnectError):
        parse_redirect(urlencode(pairs), expected_state="s")


@settings(max_examples=200, derandomize=True, deadline=None)
@given(state=_TEXT, user_id=_TEXT, external_id=_TEXT)
def test_values_survive_the_round_trip_through_a_url(
    state: str, user_id: str, external_id: str
) -> None:
    url = authorization_url(
        client_id=APP_ID, redirect_uri=REDIRECT, state=state, external_id=external_id
    )
    assert _query(url)["state"] == [state]
    assert _query(url)["external_id"] == [external_id]
    # What Connect sends back, encoded as the emulator does.
    back = f"{REDIRECT}?{urlencode({'user_id': user_id, 'state': state}, quote_via=quote)}"
    result = parse_redirect(back, expected_state=state)
    assert (result.user_id, result.state) == (user_id, state)

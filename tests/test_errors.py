"""The error tree and the error-body parser.

Five body shapes map to the right class with every field; the class follows ``type``
first and the status second; and no body at all (empty, binary, huge, wrong JSON types)
makes the parser raise anything but the error it is building.
"""

from __future__ import annotations

import email.utils
import json
from typing import Any

import anyio
import httpx
import pytest
from _helpers import TIMEOUT, Delivery, FakeSmartcar, Reply, make_client, read
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smartcar_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingError,
    CompatibilityError,
    ConfigurationError,
    ConnectedServicesAccountError,
    ErrorDetail,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SmartcarError,
    TokenError,
    UpstreamError,
    ValidationError,
    VehicleStateError,
)
from smartcar_async._errors import (
    ResponseKind,
    classify_response,
    error_from_response,
    parse_error_body,
    parse_retry_after,
    read_error,
)

pytestmark = pytest.mark.anyio

REQUEST = httpx.Request("GET", "https://vehicle.api.smartcar.com/v3/vehicles/v1/signals")


def response(
    status: int, body: Any = None, *, content: bytes | None = None, **headers: str
) -> httpx.Response:
    if body is not None:
        content = json.dumps(body).encode()
    return httpx.Response(status, content=content or b"", headers=headers, request=REQUEST)


# -- the tree --------------------------------------------------------------------------


def test_the_tree_has_the_documented_shape() -> None:
    for cls in (ConfigurationError, TokenError, APIConnectionError, APIStatusError):
        assert issubclass(cls, SmartcarError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(ConfigurationError, ValueError)
    status_classes = [
        ValidationError,
        ConnectedServicesAccountError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        VehicleStateError,
        RateLimitError,
        BillingError,
        ServerError,
        CompatibilityError,
        UpstreamError,
    ]
    for cls in status_classes:
        assert issubclass(cls, APIStatusError)
    assert SmartcarError.__module__ == "smartcar_async"
    assert APIStatusError.__module__ == "smartcar_async"


# -- acceptance 9: the five shapes -----------------------------------------------------


def test_v3_errors_envelope_fills_every_field() -> None:
    body = {
        "errors": [
            {
                "status": "409",
                "type": "VEHICLE_STATE",
                "code": "ASLEEP",
                "title": "Vehicle asleep",
                "detail": "The vehicle is asleep.",
                "links": {"about": "https://smartcar.com/docs/errors/api-errors/vehicle-state"},
                "resolution": {"type": "RETRY_LATER"},
                "suggestedUserMessage": "Wake the car up.",
                "meta": {"requestId": "ignored"},
            },
            {"status": "409", "type": "VEHICLE_STATE", "code": "DOOR_OPEN"},
        ]
    }
    error = error_from_response(
        response(409, body, **{"SC-Request-Id": "req-123", "Retry-After": "30"})
    )
    assert type(error) is VehicleStateError
    assert error.status_code == 409
    assert (error.type, error.code) == ("VEHICLE_STATE", "ASLEEP")
    assert error.title == "Vehicle asleep"
    assert error.detail == "The vehicle is asleep."
    assert error.doc_url == "https://smartcar.com/docs/errors/api-errors/vehicle-state"
    assert error.resolution == "RETRY_LATER"
    assert error.suggested_user_message == "Wake the car up."
    assert error.request_id == "req-123"
    assert error.retry_after == 30.0
    assert len(error.errors) == 2
    assert error.errors[0].status == 409
    assert error.errors[0].meta == {"requestId": "ignored"}
    assert error.errors[1].code == "DOOR_OPEN"
    assert error.response is not None
    assert error.response.status_code == 409
    text = str(error)
    assert "VEHICLE_STATE:ASLEEP" in text
    assert "409" in text
    assert "req-123" in text
    assert "The vehicle is asleep." in text


def test_error_object_shape() -> None:
    body = {
        "error": {
            "type": "VEHICLE_STATE",
            "code": "UNREACHABLE",
            "status": 409,
            "description": "The vehicle did not answer.",
            "docURL": "https://smartcar.com/docs/errors/unreachable",
            "resolution": {"type": "RETRY_LATER"},
        }
    }
    error = error_from_response(response(409, body, **{"sc-request-id": "req-9"}))
    assert type(error) is VehicleStateError
    assert (error.type, error.code) == ("VEHICLE_STATE", "UNREACHABLE")
    assert error.detail == "The vehicle did not answer."
    assert error.doc_url == "https://smartcar.com/docs/errors/unreachable"
    assert error.resolution == "RETRY_LATER"
    assert error.errors[0].status == 409
    assert error.request_id == "req-9"
    assert error.retry_after is None


def test_flat_type_code_shape_v2_style() -> None:
    body = {
        "type": "RATE_LIMIT",
        "code": "VEHICLE",
        "description": "Too many requests to this vehicle.",
        "docURL": "https://smartcar.com/docs/errors/rate-limit",
        "statusCode": 429,
        "requestId": "in-the-body",
        "resolution": {"type": "RETRY_LATER"},
        "suggestedUserMessage": "Try again later.",
    }
    error = error_from_response(
        response(429, body, **{"SC-Request-Id": "req-7", "Retry-After": "12"})
    )
    assert type(error) is RateLimitError
    assert (error.type, error.code) == ("RATE_LIMIT", "VEHICLE")
    assert error.detail == "Too many requests to this vehicle."
    assert error.doc_url == "https://smartcar.com/docs/errors/rate-limit"
    assert error.resolution == "RETRY_LATER"
    assert error.suggested_user_message == "Try again later."
    assert error.errors[0].status == 429
    assert error.retry_after == 12.0
    assert error.request_id == "req-7"


def test_oauth_shape() -> None:
    body = {
        "error": "invalid_token",
        "error_description": "The access token expired.",
        "error_uri": "https://smartcar.com/docs/auth",
    }
    error = error_from_response(response(401, body))
    assert type(error) is AuthenticationError
    assert error.type is None
    assert error.code == "invalid_token"
    assert error.detail == "The access token expired."
    assert error.doc_url == "https://smartcar.com/docs/auth"
    assert error.request_id is None
    assert "invalid_token" not in (error.title or "")


def test_plain_text_shape() -> None:
    error = error_from_response(
        response(502, content=b"<html>Bad   Gateway</html>\n", **{"SC-Request-Id": "r1"})
    )
    assert type(error) is UpstreamError
    assert error.type is None
    assert error.code is None
    assert error.detail == "<html>Bad Gateway</html>"
    assert error.request_id == "r1"
    assert "Bad Gateway" in str(error)


def test_shapes_are_tried_in_the_documented_order() -> None:
    both = {
        "errors": [{"type": "PERMISSION", "code": "FIRST"}],
        "error": {"type": "BILLING", "code": "SECOND"},
        "type": "VALIDATION",
    }
    assert type(error_from_response(response(400, both))) is PermissionDeniedError
    no_entries = {"errors": [], "error": {"type": "BILLING", "code": "SECOND"}}
    assert error_from_response(response(400, no_entries)).code == "SECOND"
    flat_over_oauth = {"type": "BILLING", "code": "LIMIT", "error": "ignored"}
    assert type(error_from_response(response(400, flat_over_oauth))) is BillingError


def test_v3_status_is_read_as_text_or_number() -> None:
    body = {"errors": [{"status": "501", "type": "COMPATIBILITY"}, {"status": 501}]}
    error = error_from_response(response(501, body))
    assert [e.status for e in error.errors] == [501, 501]


def test_fan_out_of_entries_skips_non_objects() -> None:
    body = {"errors": ["oops", 3, {"type": "SERVER", "code": "INTERNAL"}]}
    error = error_from_response(response(500, body))
    assert type(error) is ServerError
    assert [e.code for e in error.errors] == ["INTERNAL"]


# -- the class: type first, status second ----------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        (400, "VALIDATION", ValidationError),
        (400, "CONNECTED_SERVICES_ACCOUNT", ConnectedServicesAccountError),
        (401, "AUTHENTICATION", AuthenticationError),
        (403, "PERMISSION", PermissionDeniedError),
        (404, "RESOURCE_NOT_FOUND", NotFoundError),
        (409, "VEHICLE_STATE", VehicleStateError),
        (429, "RATE_LIMIT", RateLimitError),
        (430, "BILLING", BillingError),
        (500, "SERVER", ServerError),
        (501, "COMPATIBILITY", CompatibilityError),
        (502, "UPSTREAM", UpstreamError),
        # type wins over status
        (400, "VEHICLE_STATE", VehicleStateError),
        (500, "RATE_LIMIT", RateLimitError),
        (409, "COMPATIBILITY", CompatibilityError),
        (502, "RATE_LIMIT", RateLimitError),
        (403, "AUTHENTICATION", AuthenticationError),
        (400, "vehicle_state", VehicleStateError),  # case does not matter
        # unknown or missing type: the status decides
        (400, None, ValidationError),
        (401, None, AuthenticationError),
        (403, None, PermissionDeniedError),
        (404, "SOMETHING_NEW", NotFoundError),
        (409, None, VehicleStateError),
        (429, None, RateLimitError),
        (430, None, BillingError),
        (500, None, ServerError),
        (503, "SOMETHING_NEW", ServerError),
        (504, None, ServerError),
        (501, None, CompatibilityError),
        (502, None, UpstreamError),
        (408, None, APIStatusError),
        (418, "SOMETHING_NEW", APIStatusError),
    ],
)
def test_class_follows_type_then_status(
    status: int, error_type: str | None, expected: type[APIStatusError]
) -> None:
    body = {"errors": [{"type": error_type, "code": "X"}]} if error_type else {}
    error = error_from_response(response(status, body))
    assert type(error) is expected
    assert error.status_code == status


async def test_the_client_raises_the_parsed_error() -> None:
    fake = FakeSmartcar()
    body = {
        "errors": [{"status": "404", "type": "RESOURCE_NOT_FOUND", "code": "VEHICLE_NOT_FOUND"}]
    }
    fake.api_script = [Reply(404, json=body, headers={"SC-Request-Id": "req-404"})]
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            with pytest.raises(NotFoundError) as info:
                await read(client)
    assert info.value.code == "VEHICLE_NOT_FOUND"
    assert info.value.request_id == "req-404"


# -- Retry-After -----------------------------------------------------------------------

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("5", 5.0),
        (" 7 ", 7.0),
        ("2.5", 2.5),
        ("-1", None),
        ("-0.5", None),
        ("soon", None),
        ("5 seconds", None),
        ("nan", None),
        ("inf", None),
        ("1e400", None),
        (email.utils.formatdate(NOW + 42, usegmt=True), 42.0),
        (email.utils.formatdate(NOW - 3600, usegmt=True), 0.0),  # in the past
        ("Fri, 01 Jan 2100 00:00:00 GMT", 4102444800.0 - NOW),  # far future
        ("Fri, 32 Jan 2100 00:00:00 GMT", None),
        ("Mon, 99 Foo 2025 99:99:99 GMT", None),
        ("Fri, 01 Jan 99999 00:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_far_future_retry_after_is_beyond_any_cap() -> None:
    seconds = parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", now=NOW)
    assert seconds is not None
    assert seconds > RetryPolicy().retry_after_cap


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text())
@example("\x00")
@example("Mon, 1 Jan 0 0:0:0 +9999")
def test_parse_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or (seconds >= 0 and seconds != float("inf"))


# -- garbage bodies never break the parser ---------------------------------------------

ENTRY_KEYS = [
    "type",
    "code",
    "status",
    "statusCode",
    "detail",
    "description",
    "title",
    "links",
    "resolution",
    "docURL",
    "meta",
    "suggestedUserMessage",
    "requestId",
]
BODY_KEYS = [*ENTRY_KEYS, "errors", "error", "about", "error_description", "error_uri"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(BODY_KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10)
    | st.sampled_from(["\u00b2", "1" * 5000, "٣", " 12 ", "-3"])
)
entries = st.fixed_dictionaries({}, optional=dict.fromkeys(ENTRY_KEYS, scalars | json_values))
bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(entries, max_size=3).map(lambda e: json.dumps({"errors": e}).encode()),
    entries.map(lambda e: json.dumps({"error": e}).encode()),
    entries.map(lambda e: json.dumps(e).encode()),
    st.binary(max_size=200),
    st.just(b""),
    st.just(b"\xff\xfe\x00garbage"),
    st.just(b"[" * 100_000),
    st.just(b'{"errors": [' + b'{"detail": "x"},' * 20_000 + b"{}]}"),
    st.just(json.dumps({"errors": [{"detail": "x" * 100_000}]}).encode()),
    st.just(("{" + '"a":' * 10 + "1" + "}" * 10).encode()),
    st.just(b'{"errors": [{"status": "' + b"9" * 5000 + b'"}]}'),
    st.just(b'{"errors": [{"status": "\xc2\xb2"}]}'),
)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    status=st.sampled_from([400, 401, 403, 404, 408, 409, 418, 429, 430, 500, 501, 502, 503]),
    body=bodies,
    retry_after=st.none() | st.text(max_size=30),
)
@example(status=400, body=b'{"errors": [{"status": "\xc2\xb2"}]}', retry_after=None)
@example(status=500, body=b'{"errors": [{"status": "' + b"1" * 5000 + b'"}]}', retry_after=None)
@example(status=400, body=b'{"error": {"requestId": "' + b"1" * 5000 + b'"}}', retry_after=None)
@example(status=429, body=b"\x00\x01", retry_after="\u00b2")
def test_garbage_bodies_still_give_an_api_status_error(
    status: int, body: bytes, retry_after: str | None
) -> None:
    headers = {}
    if retry_after is not None and retry_after.isascii() and retry_after.isprintable():
        headers["Retry-After"] = retry_after
    error = error_from_response(response(status, content=body, **headers))
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert len(str(error)) < 2000
    repr(error)
    for value in (error.type, error.code, error.title, error.detail, error.doc_url):
        assert value is None or isinstance(value, str)
    assert all(isinstance(e, ErrorDetail) for e in error.errors)
    assert all(e.status is None or isinstance(e.status, int) for e in error.errors)
    # the pipeline classifies 429 and 502 bodies too
    for limit_status in (429, 502):
        assert isinstance(classify_response(response(limit_status, content=body)), ResponseKind)
    RetryPolicy().delay_after_response(response(429, content=body, **headers), 0, idempotent=True)


@pytest.mark.parametrize(
    "body",
    [b'{"errors": "boom"}', b'{"errors": ["boom"]}', b'{"message": "boom"}', b'"boom"'],
)
def test_json_no_reader_knows_keeps_an_excerpt(body: bytes) -> None:
    # As a body that is not JSON does: the text is all the caller has to go on.
    (detail,) = parse_error_body(body)
    assert detail.detail is not None
    assert "boom" in detail.detail
    assert str(error_from_response(response(500, content=body))).count("boom") == 1


@pytest.mark.parametrize("body", [b"{}", b"[]", b'""', b"null"])
def test_empty_json_gives_no_detail(body: bytes) -> None:
    assert parse_error_body(body) == []


def test_parse_error_body_bounds_huge_bodies() -> None:
    details = parse_error_body(b"x" * 1_000_000)
    assert len(details) == 1
    assert details[0].detail is not None
    assert len(details[0].detail) <= 303


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(status=st.sampled_from([400, 401, 404, 409, 429, 500, 501, 502]), body=bodies)
async def test_garbage_bodies_through_the_client_raise_api_status_errors(
    status: int, body: bytes
) -> None:
    fake = FakeSmartcar()

    async def garbage(request: httpx.Request, delivery: Delivery) -> Reply:
        return Reply(status, content=body)

    fake.api_handler = garbage
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, retry=RetryPolicy(max_retries=0)) as client:
            with pytest.raises(APIStatusError) as info:
                await read(client)
    assert info.value.status_code == status


# -- every field the API sends ---------------------------------------------------------


def test_request_id_comes_from_the_header_else_from_the_body() -> None:
    flat = {"type": "RATE_LIMIT", "code": "SMARTCAR_API", "requestId": "from-body"}
    assert error_from_response(response(429, flat)).request_id == "from-body"
    assert "from-body" in str(error_from_response(response(429, flat)))
    with_header = error_from_response(response(429, flat, **{"SC-Request-Id": "from-header"}))
    assert with_header.request_id == "from-header"
    v3_meta = {"errors": [{"type": "SERVER", "code": "INTERNAL", "meta": {"requestId": "m-1"}}]}
    assert error_from_response(response(500, v3_meta)).request_id == "m-1"


def test_detail_as_an_array_is_kept_and_readable() -> None:
    body = {
        "type": "VALIDATION",
        "code": "PARAMETER",
        "description": "A parameter is invalid.",
        "detail": [
            {"field": "percent", "message": "must be between 50 and 100"},
            "second entry",
            {"unexpected": 1},
        ],
    }
    error = error_from_response(response(400, body))
    assert error.detail == ('percent: must be between 50 and 100; second entry; {"unexpected":1}')
    assert error.errors[0].detail_items == tuple(body["detail"])
    assert error_from_response(response(400, {**body, "detail": []})).detail == (
        "A parameter is invalid."
    )


def test_resolution_type_and_url_doc_url_and_user_message() -> None:
    body = {
        "type": "CONNECTED_SERVICES_ACCOUNT",
        "code": "SUBSCRIPTION",
        "description": "The owner's subscription lapsed.",
        "docURL": "https://smartcar.com/docs/errors/api-errors/connected-services-account-errors",
        "statusCode": 400,
        "requestId": "r-5",
        "resolution": {"type": "CONTACT_SUPPORT", "url": "https://example.invalid/renew"},
        "suggestedUserMessage": "Renew your connected services subscription.",
    }
    error = error_from_response(response(400, body))
    assert type(error) is ConnectedServicesAccountError
    assert error.resolution == "CONTACT_SUPPORT"
    assert error.resolution_url == "https://example.invalid/renew"
    assert error.doc_url == body["docURL"]
    assert error.suggested_user_message == body["suggestedUserMessage"]
    assert error.request_id == "r-5"
    assert error.errors[0].status == 400
    string_resolution = error_from_response(response(400, {**body, "resolution": "RETRY_LATER"}))
    assert (string_resolution.resolution, string_resolution.resolution_url) == (
        "RETRY_LATER",
        None,
    )


def test_the_envelope_is_read_once_and_classified() -> None:
    app = response(429, {"errors": [{"type": "RATE_LIMIT", "code": "SMARTCAR_API"}]})
    vehicle = response(429, {"type": "RATE_LIMIT", "code": "VEHICLE"}, **{"Retry-After": "7"})
    upstream = response(502, {"error": {"type": "UPSTREAM", "code": "RATE_LIMIT"}})
    other = response(502, {"errors": [{"type": "UPSTREAM", "code": "NO_RESPONSE"}]})
    assert classify_response(app) is ResponseKind.APP_RATE_LIMIT
    assert classify_response(vehicle) is ResponseKind.VEHICLE_RATE_LIMIT
    assert classify_response(upstream) is ResponseKind.UPSTREAM_RATE_LIMIT
    assert classify_response(other) is ResponseKind.OTHER
    assert classify_response(response(200, {"type": "RATE_LIMIT", "code": "VEHICLE"})) is (
        ResponseKind.OTHER
    )
    assert read_error(vehicle) is read_error(vehicle)  # parsed once, then cached
    assert read_error(vehicle).retry_after == 7.0
    assert error_from_response(upstream).retry_after == 1800.0


def test_a_failed_command_carries_every_field() -> None:
    from smartcar_async import CommandFailedError
    from smartcar_async.resources.commands import parse_command_response

    body = {
        "type": "VEHICLE_STATE",
        "code": "UNREACHABLE",
        "description": "The vehicle did not answer.",
        "docURL": "https://smartcar.com/docs/errors/api-errors/vehicle-state-errors",
        "requestId": "cmd-1",
        "resolution": {"type": "RETRY_LATER", "url": "https://example.invalid/help"},
        "suggestedUserMessage": "Move the car somewhere with signal.",
        "detail": ["no cellular signal"],
    }
    with pytest.raises(CommandFailedError) as info:
        parse_command_response(response(202, body))
    error = info.value
    assert (error.type, error.code) == ("VEHICLE_STATE", "UNREACHABLE")
    assert error.request_id == "cmd-1"
    assert error.doc_url == body["docURL"]
    assert (error.resolution, error.resolution_url) == (
        "RETRY_LATER",
        "https://example.invalid/help",
    )
    assert error.suggested_user_message == body["suggestedUserMessage"]
    assert error.detail == "no cellular signal"
    assert "VEHICLE_STATE:UNREACHABLE (HTTP 202)" in str(error)
    assert "cmd-1" in str(error)

"""The lenient-JSON readers: each policy pinned, value by value."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from smartcar_async._coerce import (
    WrongType,
    require_bool,
    require_int,
    require_list,
    require_number,
    require_object,
    require_scalar,
    require_str,
    text,
    text_or_bytes,
    text_or_number,
    whole_number,
)


class _Text(str):
    pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", "a"), ("", ""), (_Text("t"), "t"), (3, None), (3.5, None), (True, None), (None, None)],
)
def test_text_takes_strings_only(value: object, expected: str | None) -> None:
    assert text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("E1", "E1"),
        (429, "429"),
        (3.5, "3.5"),
        (True, None),
        (False, None),
        (None, None),
        ([], None),
        ({"a": 1}, None),
    ],
)
def test_text_or_number_keeps_numbers_as_text_but_not_booleans(
    value: object, expected: str | None
) -> None:
    assert text_or_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("OK", "OK"), (b"OK", "OK"), (b"\xff", "\ufffd"), (7, None), (None, None)],
)
def test_text_or_bytes_decodes_bytes(value: object, expected: str | None) -> None:
    assert text_or_bytes(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        ("12", 12),
        (" 12 ", 12),
        (3.0, 3),
        (3.5, None),
        (True, None),
        (False, None),
        ("-1", None),
        ("1.0", None),
        ("²", None),  # isdigit() accepts it; int() would not
        ("٣", None),  # Arabic-Indic digit: not ASCII
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        ("", None),
        (None, None),
        ([1], None),
    ],
)
def test_whole_number_policy(value: object, expected: int | None) -> None:
    assert whole_number(value) == expected


def test_whole_number_of_a_huge_float_is_an_int() -> None:
    assert whole_number(1e20) == 100_000_000_000_000_000_000


@pytest.mark.parametrize("value", [1, 2.5, None])
def test_require_number_passes_numbers_and_null(value: object) -> None:
    assert require_number(value) == value


@pytest.mark.parametrize("value", [True, "1", [], {}])
def test_require_number_rejects_the_rest(value: object) -> None:
    with pytest.raises(WrongType):
        require_number(value)


@pytest.mark.parametrize(("value", "expected"), [(2, 2), (2.0, 2), (None, None)])
def test_require_int_takes_integral_numbers(value: object, expected: int | None) -> None:
    result = require_int(value)
    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize("value", [2.5, "2", True])
def test_require_int_rejects_fractions_text_and_booleans(value: object) -> None:
    with pytest.raises(WrongType):
        require_int(value)


@pytest.mark.parametrize(
    ("reader", "good", "bad"),
    [
        (require_str, "km", 3),
        (require_bool, True, 1),
        (require_scalar, "PARK", [1]),
        (require_object, {"a": 1}, [1]),
        (require_list, [1], "1"),
    ],
)
def test_require_readers(reader: Any, good: object, bad: object) -> None:
    assert reader(good) == good
    with pytest.raises(WrongType):
        reader(bad)


def test_require_readers_allow_null_except_object() -> None:
    assert require_str(None) is None
    assert require_bool(None) is None
    assert require_scalar(None) is None
    assert require_list(None) == ()
    with pytest.raises(WrongType):
        require_object(None)


def test_require_object_accepts_any_mapping() -> None:
    mapping = OrderedDict(a=1)
    assert require_object(mapping) is mapping


def test_require_str_turns_a_subclass_into_a_plain_str() -> None:
    value = require_str(_Text("x"))
    assert type(value) is str

"""Reading loosely typed JSON fields: one function per policy, one place for all of them.

The API is not strict about JSON types (a page number may come as ``"2"``, an error code
as a number), and the SDK reads such fields in two ways:

- *Lenient* readers never raise: they return the value in the wanted type when the
  policy in their name allows it, else None. Response envelopes, error bodies, webhook
  metadata and pagination use them, so a stray type never makes a response unreadable.
- *Require* readers raise `WrongType` when the value is not of the JSON type they want
  (null is always allowed). Signal body parsers use them: a body of the wrong shape is
  then kept untyped instead of being read half-right.

Every reader treats ``True``/``False`` as booleans, never as the numbers 1 and 0.

Examples:
    >>> whole_number("12"), whole_number(3.0), whole_number(True)
    (12, 3, None)
    >>> text_or_number(404), text_or_number(True)
    ('404', None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "WrongType",
    "require_bool",
    "require_int",
    "require_list",
    "require_number",
    "require_object",
    "require_scalar",
    "require_str",
    "text",
    "text_or_bytes",
    "text_or_number",
    "whole_number",
]

# Nineteen digits can exceed a 64-bit int; nothing the API counts comes near eighteen.
_MAX_DIGITS = 18


# ------------------------------------------------------------------------- lenient


def text(value: object) -> str | None:
    """``value`` if it is a JSON string, else None (numbers and booleans are not text).

    Examples:
        >>> text("Tesla"), text(3)
        ('Tesla', None)
    """
    return value if type(value) is str or isinstance(value, str) else None


def text_or_number(value: object) -> str | None:
    """A JSON string as is, a JSON number as its text; None for anything else.

    For identifiers and codes that some responses send as numbers. Booleans are not
    numbers here.

    Examples:
        >>> text_or_number("VEHICLE_STATE"), text_or_number(429), text_or_number(False)
        ('VEHICLE_STATE', '429', None)
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def text_or_bytes(value: object) -> str | None:
    """A string as is, bytes decoded as UTF-8 (bad bytes replaced); None otherwise.

    For replies of stores that hand back bytes (Redis without ``decode_responses``).

    Examples:
        >>> text_or_bytes(b"OK"), text_or_bytes(7)
        ('OK', None)
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return None


def whole_number(value: object) -> int | None:
    """An int from a JSON integer, an integral float or a string of ASCII digits.

    Anything else gives None: booleans, fractions, signs, non-ASCII digits (``"²"``)
    and strings of more than 18 digits.

    Examples:
        >>> whole_number(2), whole_number(2.0), whole_number(" 2 "), whole_number(2.5)
        (2, 2, 2, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS:
            return int(digits)
    return None


# ------------------------------------------------------------------------- require
#
# These run once per field of every signal of every read, so each tries the exact
# type first: decoded JSON holds exact builtins, and ``type(x) is int`` is several
# times cheaper than ``isinstance``. Subclasses still pass through the slower check.


class WrongType(Exception):
    """A JSON value that is not of the type its reader requires."""


def require_number(value: Any) -> Any:
    """``value`` if it is a JSON number or null, else `WrongType`.

    Examples:
        >>> require_number(80.5)
        80.5
    """
    kind = type(value)
    if kind is int or kind is float or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise WrongType


def require_int(value: Any) -> int | None:
    """A JSON integer (or integral float) as int, or None for null; else `WrongType`.

    Examples:
        >>> require_int(2.0)
        2
    """
    kind = type(value)
    if kind is int or value is None:
        return value  # type: ignore[no-any-return]
    if kind is float and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise WrongType


def require_str(value: Any) -> str | None:
    """A JSON string, or None for null; else `WrongType`.

    Examples:
        >>> require_str("km")
        'km'
    """
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise WrongType


def require_bool(value: Any) -> bool | None:
    """A JSON boolean, or None for null; else `WrongType`.

    Examples:
        >>> require_bool(True)
        True
    """
    if value is None or type(value) is bool:
        return value
    raise WrongType


_SCALARS = frozenset({str, bool, int, float})


def require_scalar(value: Any) -> Any:
    """A JSON string, number, boolean or null (not an array or object); else `WrongType`.

    Examples:
        >>> require_scalar("PARK")
        'PARK'
    """
    if value is None or type(value) in _SCALARS or isinstance(value, (str, int, float)):
        return value
    raise WrongType


def require_object(value: Any) -> Mapping[str, Any]:
    """A JSON object; anything else (null too) raises `WrongType`.

    Examples:
        >>> require_object({"row": 0})
        {'row': 0}
    """
    if isinstance(value, Mapping):
        return value
    raise WrongType


def require_list(value: Any) -> list[Any] | tuple[Any, ...]:
    """A JSON array, or ``()`` for null; else `WrongType`.

    Examples:
        >>> require_list(None)
        ()
    """
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return value
    raise WrongType

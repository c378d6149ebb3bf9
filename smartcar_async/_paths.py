"""Path safety: every id that goes into a URL path is checked here first.

An id is a single path segment: a vehicle id of ``../connections`` must never reach
another endpoint. Ids that fail the check raise `ValueError` before any request.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["MAX_ID_LENGTH", "path_segment", "user_id_header"]

# Characters left as they are in a segment; everything else is percent-encoded.
_SAFE = "-._~"

#: The longest id (vehicle, user, connection, webhook...) the SDK sends, in characters.
#: Smartcar's ids are 36-character UUIDs; the cap leaves room for other formats while
#: keeping every URL and header far below what HTTP libraries refuse (httpx rejects a
#: URL component of 65,536 characters with an error of its own).
MAX_ID_LENGTH = 256


def path_segment(value: object, name: str) -> str:
    """Return ``value`` as one safe, percent-encoded path segment.

    Raises:
        ValueError: ``value`` is not a non-empty string, is longer than `MAX_ID_LENGTH`,
            contains ``/``, ``\\`` or a control character, or is ``.`` / ``..``.

    Examples:
        >>> path_segment("4f2c-a1", "vehicle_id")
        '4f2c-a1'
        >>> path_segment("../connections", "vehicle_id")
        Traceback (most recent call last):
        ValueError: vehicle_id must be a single path segment, got '../connections'
    """
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    if not value or not value.strip():
        raise ValueError(f"{name} must not be empty")
    _check_length(value, name)
    if (
        value in (".", "..")
        or "/" in value
        or "\\" in value
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        raise ValueError(f"{name} must be a single path segment, got {value!r}")
    return quote(value, safe=_SAFE)


def user_id_header(value: object) -> str:
    """Return ``value`` as an ``sc-user-id`` header value, or raise `ValueError`.

    The id must survive as an HTTP header value: printable ASCII with no surrounding
    blanks. Anything else would be refused by the HTTP layer as a transport error on a
    real socket; this says what is wrong before anything is sent.

    Examples:
        >>> user_id_header("0f1e-2d3c")
        '0f1e-2d3c'
    """
    if not isinstance(value, str):
        raise ValueError(f"user_id must be a string, got {type(value).__name__}")
    _check_length(value, "user_id")
    # One C call each for a valid id; isprintable() rejects control characters, which
    # would split the header.
    if value and value.isascii() and value.isprintable() and value == value.strip():
        return value
    raise ValueError(
        f"user_id must be a non-empty printable ASCII id without surrounding blanks, got {value!r}"
    )


def _check_length(value: str, name: str) -> None:
    if len(value) > MAX_ID_LENGTH:
        # The id itself stays out of the message: it may be megabytes long.
        raise ValueError(
            f"{name} is {len(value)} characters long; ids have at most {MAX_ID_LENGTH}"
        )

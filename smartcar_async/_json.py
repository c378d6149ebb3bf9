"""Decoding JSON bodies: ``orjson`` when it is installed, the standard library otherwise.

``pip install 'smartcar-async[fast-json]'`` adds orjson, which decodes a signals body in
about two thirds of ``json.loads``'s time (measured in docs/performance.md). It is an
extra, never a requirement, and it never changes a result: a body orjson refuses but
the standard library accepts (``NaN``, integers beyond 64 bits) is decoded by
``json.loads``, and a body neither accepts raises ``json.JSONDecodeError`` (or
``RecursionError``), as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["FAST", "loads"]


def _load_fast() -> Callable[[bytes], Any] | None:
    try:
        import orjson
    except ImportError:
        return None
    fast: Callable[[bytes], Any] = orjson.loads
    return fast


_fast = _load_fast()

#: Whether bodies are decoded by orjson.
FAST = _fast is not None


def loads(content: bytes) -> Any:
    """The decoded JSON of ``content`` (UTF-8, or UTF-16/32 with a BOM, as httpx reads it).

    Examples:
        >>> loads(b'{"value": 80}')
        {'value': 80}
    """
    if _fast is not None:
        try:
            return _fast(content)
        except ValueError:  # orjson.JSONDecodeError: let the standard library decide
            pass
    return json.loads(content)

"""Body decoding: orjson when installed, never a different result from ``json.loads``."""

from __future__ import annotations

import json

import pytest

from smartcar_async import _json

CASES = [
    b'{"data": [{"type": "signal", "id": "x", "attributes": {"body": {"value": 80.5}}}]}',
    b'{"a": 1, "a": 2}',  # a repeated key: the last one wins
    b"[NaN, Infinity, -Infinity]",  # the standard library accepts these; orjson does not
    b"[123456789012345678901234567890, -0, 1e400]",  # beyond 64 bits; overflowing floats
    '{"name": "Zo\u00eb", "car": "\U0001f697", "escaped": "\\ud83d\\ude97"}'.encode(),
    '{"utf16": true}'.encode("utf-16"),  # a BOM: httpx's json() reads it too
]
BAD = [b"{bad", b"", b"\xff\xfe\xfa", b"[1,]", b"[" * 100_000]


@pytest.fixture(params=["orjson", "stdlib"])
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "orjson":
        assert _json.FAST, "orjson is in the test extra: the fast path must be tested"
    else:
        monkeypatch.setattr(_json, "_fast", None)
    return str(request.param)


@pytest.mark.parametrize("content", CASES)
def test_the_result_is_the_standard_librarys(decoder: str, content: bytes) -> None:
    got = _json.loads(content)
    want = json.loads(content)
    assert json.dumps(got) == json.dumps(want)
    assert type(got) is type(want)


@pytest.mark.parametrize("content", BAD)
def test_what_the_standard_library_refuses_is_refused_the_same_way(
    decoder: str, content: bytes
) -> None:
    try:
        json.loads(content)
    except (ValueError, RecursionError) as exc:
        expected: type[BaseException] = type(exc)
    with pytest.raises(expected):
        _json.loads(content)

"""Neither the client secret nor any access token ever shows up: not in logs (with
``SMARTCAR_LOG=debug``), not in a ``repr``/``str``, not in any raised error.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import anyio
import httpx
import pytest
from _helpers import (
    SECRET,
    TIMEOUT,
    FakeSmartcar,
    RecordingClock,
    Reply,
    lock,
    make_client,
    read,
    with_autojump,
)

import smartcar_async._logging as sdk_logging
from smartcar_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TokenError,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def debug_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``SMARTCAR_LOG=debug`` as a fresh process would see it; undone afterwards."""
    logger = logging.getLogger("smartcar_async")
    handlers, level = list(logger.handlers), logger.level
    monkeypatch.setenv("SMARTCAR_LOG", "debug")
    monkeypatch.setattr(sdk_logging, "_configured", False)
    yield
    for handler in logger.handlers:
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)


def secrets(fake: FakeSmartcar) -> list[str]:
    """What must never be shown: the client secret and every token issued."""
    assert fake.issued, "the test issued no token"
    return [SECRET, *fake.issued]


def assert_clean(text: str, fake: FakeSmartcar) -> None:
    for secret in secrets(fake):
        assert secret not in text, f"{secret!r} leaked into: {text[:500]!r}"


async def test_debug_logs_reprs_and_errors_never_show_secrets(
    debug_logging: None, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: the SDK's, httpx's, httpcore's
    clock = RecordingClock()
    fake = FakeSmartcar(clock)
    raised: list[BaseException] = []

    async def expect(error: type[Exception], call: object) -> None:
        with pytest.raises(error) as info:
            await with_autojump(clock, call)  # type: ignore[arg-type]
        raised.append(info.value)

    refused = Reply(401, json={"errors": [{"type": "AUTHENTICATION", "code": "UNAUTHORIZED"}]})
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake, clock=clock) as client:
            assert logging.getLogger("smartcar_async").isEnabledFor(logging.DEBUG)
            # tokens issued, used, refused, replayed; retries; each kind of error
            await read(client)
            fake.api_script = [refused, Reply(200, json={})]
            await read(client)
            fake.api_script = [refused, refused]
            await expect(AuthenticationError, lambda: read(client))
            fake.api_script = [Reply(503, json={})] * 3
            await expect(ServerError, lambda: read(client))
            fake.api_script = [httpx.ReadTimeout]
            await expect(APITimeoutError, lambda: lock(client))
            fake.api_script = [httpx.ConnectError] * 3
            await expect(APIConnectionError, lambda: read(client))
            fake.api_script = [Reply(429, json={}, headers={"Retry-After": "600"})]
            await expect(RateLimitError, lambda: read(client))
            fake.api_script = [Reply(400, content=b"plain text error")]
            await expect(APIStatusError, lambda: read(client))
            # the token endpoint refuses
            token = await client.tokens.get()
            await client.tokens.invalidate(token)
            fake.token_script = [
                Reply(401, json={"error": "invalid_client", "error_description": "no"})
            ]
            await expect(TokenError, lambda: read(client))
            fake.token_script = [httpx.ConnectError] * 3
            await expect(TokenError, lambda: read(client))
            fake.token_script = [Reply(500, content=b"oops")] * 3
            await expect(TokenError, lambda: read(client))
            derived = client.with_options(retry=RetryPolicy(max_retries=0))
            await read(derived)
            token = await client.tokens.get()
            shown = [
                repr(client),
                str(client),
                repr(derived),
                repr(client.tokens),
                str(client.tokens),
                repr(token),
                str(token),
                repr(client.tokens._credentials),
                str(client.tokens._credentials),
                repr(client.tokens._store),
                repr(client.retry),
            ]

    assert len(fake.issued) >= 4
    assert len(raised) == 9
    for error in raised:
        shown += [repr(error), str(error)]
        shown.append("".join(traceback.format_exception(error)))
    for text in shown:
        assert_clean(text, fake)

    records = [record.getMessage() for record in caplog.records]
    assert any("retry" in message for message in records)
    assert any("401" in message for message in records)
    assert any("token request" in message for message in records)
    assert_clean("\n".join(records), fake)
    stderr = capsys.readouterr().err  # what SMARTCAR_LOG=debug printed
    assert "smartcar_async" in stderr
    assert "token request" in stderr
    assert_clean(stderr, fake)


def test_smartcar_log_info_sets_info_level(
    debug_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTCAR_LOG", "info")
    make_client(FakeSmartcar())
    logger = logging.getLogger("smartcar_async")
    assert logger.level == logging.INFO
    assert logger.handlers


def test_logging_stays_off_without_smartcar_log(
    debug_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMARTCAR_LOG")
    before = list(logging.getLogger("smartcar_async").handlers)
    make_client(FakeSmartcar())
    assert logging.getLogger("smartcar_async").handlers == before


async def test_the_authorization_header_is_masked_in_header_reprs() -> None:
    fake = FakeSmartcar()
    seen: list[httpx.Request] = []

    async def api(request: httpx.Request, delivery: object) -> Reply:
        seen.append(request)
        return Reply(200, json={})

    fake.api_handler = api
    with anyio.fail_after(TIMEOUT):
        async with make_client(fake) as client:
            response, state = await read(client)
    assert_clean(repr(seen[0]), fake)
    assert_clean(repr(seen[0].headers), fake)
    assert_clean(repr(response), fake)
    assert_clean(repr(state), fake)

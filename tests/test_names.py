"""Names that do not collide, with the old spellings still working where users see them."""

from __future__ import annotations

import anyio
import pytest

import smartcar_async.testing as testing
import smartcar_async.webhooks as webhooks
from smartcar_async._asgi import serve_lifespan

pytestmark = pytest.mark.anyio


def test_the_emulators_event_has_its_own_name() -> None:
    assert testing.EmulatedEvent.__name__ == "EmulatedEvent"
    assert "EmulatedEvent" in testing.__all__
    assert testing.EmulatedEvent is not webhooks.WebhookEvent


def test_the_old_testing_name_still_imports() -> None:
    from smartcar_async.testing import WebhookEvent

    assert WebhookEvent is testing.EmulatedEvent


def test_receiver_and_emulator_answer_lifespan_with_one_function() -> None:
    import smartcar_async.testing._app as emulator_app

    assert webhooks.serve_lifespan is serve_lifespan  # type: ignore[attr-defined]
    assert emulator_app.serve_lifespan is serve_lifespan
    assert not hasattr(webhooks, "_lifespan")
    assert not hasattr(emulator_app, "_lifespan")


async def test_lifespan_acknowledges_startup_and_shutdown() -> None:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return incoming.pop(0)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    with anyio.fail_after(5):
        await serve_lifespan(receive, send)  # type: ignore[arg-type]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

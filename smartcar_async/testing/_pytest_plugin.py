"""pytest fixtures for testing code that calls Smartcar, registered through ``pytest11``.

Installed with the package; nothing to configure. Fixtures:

- ``smartcar_emulator_options``: the keyword arguments for the emulator
  (``{"vehicles": 10, "seed": 0}``); override it in your ``conftest.py`` to change them.
- ``smartcar_emulator``: a fresh `SmartcarEmulator` for each test.
- ``smartcar_client``: a `SmartcarClient` wired to it in-process (no sockets), on the
  emulator's clock, closed after the test.

Both are plain (synchronous) fixtures on purpose: a client binds to the event loop
that first uses it, not to the one it is created in, so the same fixtures serve
pytest-asyncio (any loop scope) and anyio's pytest plugin alike.

Examples:
    >>> async def test_battery(smartcar_client, smartcar_emulator):
    ...     car = smartcar_emulator.fleet()[0]
    ...     signals = await smartcar_client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    ...     assert signals.value("closure-islocked") is not None
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from .._client import SmartcarClient
from ._emulator import SmartcarEmulator

__all__ = ["smartcar_client", "smartcar_emulator", "smartcar_emulator_options"]


@pytest.fixture
def smartcar_emulator_options() -> dict[str, Any]:
    """Keyword arguments for the ``smartcar_emulator`` fixture; override to change."""
    return {"vehicles": 10, "seed": 0}


@pytest.fixture
def smartcar_emulator(smartcar_emulator_options: dict[str, Any]) -> SmartcarEmulator:
    """A fresh, seeded `SmartcarEmulator` for one test."""
    return SmartcarEmulator(**smartcar_emulator_options)


@pytest.fixture
def smartcar_client(smartcar_emulator: SmartcarEmulator) -> Iterator[SmartcarClient]:
    """A `SmartcarClient` talking to ``smartcar_emulator`` in-process; closed afterwards.

    It shares the emulator's clock: with a `VirtualClock` in the options, backoff and
    Retry-After waits are virtual too.
    """
    client = SmartcarClient(**smartcar_emulator.client_kwargs(), clock=smartcar_emulator.clock)
    yield client
    if not client.is_closed:
        # The in-process transport holds no sockets and no loop-bound state, so closing
        # it on a short-lived loop of its own is safe whichever plugin ran the test.
        anyio.run(client.aclose)

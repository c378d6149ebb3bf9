"""Names the CLI tests share (kept out of ``conftest.py`` so they import by a unique name)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

#: Bound on every CLI call, in seconds of wall time.
TIMEOUT = 20


@attrs.frozen
class Result:
    """What one run of the command did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Run = Callable[..., Awaitable[Result]]


SyncRun = Callable[..., Result]

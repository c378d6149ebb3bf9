"""Typed results narrow: what a type checker sees in a user's fan-out loop."""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

SNIPPET = """
import smartcar_async as sc
from smartcar_async.signals import STATE_OF_CHARGE


async def job(client: sc.SmartcarClient, connections: list[sc.Connection]) -> None:
    async with client.vehicles.signals_many(connections) as outcomes:
        async for outcome in outcomes:
            if outcome.ok:
                reveal_type(outcome.value)
                reveal_type(outcome.target)
                reveal_type(outcome.value.value(STATE_OF_CHARGE))
            else:
                reveal_type(outcome.error)
    handles = [client.vehicle("v", user_id="u")]
    async with client.commands.run_many("lock", handles) as results:
        async for result in results:
            reveal_type(result.target)
            if result.error is None:
                reveal_type(result.value)
"""


def test_outcomes_and_values_narrow(tmp_path: Path) -> None:
    module = tmp_path / "user_code.py"
    module.write_text(SNIPPET, encoding="utf-8")
    out, err, status = api.run(
        ["--strict", "--cache-dir", str(tmp_path / "cache"), "--hide-error-context", str(module)]
    )
    revealed = [
        line.split("Revealed type is ")[1] for line in out.splitlines() if "Revealed" in line
    ]
    assert status == 0, out + err
    # Module paths dropped: "smartcar_async.signals._signal.Signals" reads "Signals".
    short = [re.sub(r"[\w.]+\.(\w+)", r"\1", r.strip('"')) for r in revealed]
    assert short == [
        "Signals",  # not Signals | None after `if outcome.ok`
        "Connection",  # the targets' own type, not the union of every target kind
        "int | float | str | None",  # a JSON scalar (bool is an int to mypy)
        "Exception",
        "VehicleHandle",
        "CommandExecution | None",
    ]

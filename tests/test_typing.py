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


def _mypy(tmp_path: Path, source: str) -> tuple[str, str, int]:
    """Run ``mypy --strict`` over ``source`` as a user's module: (stdout, stderr, status)."""
    module = tmp_path / "user_code.py"
    module.write_text(source, encoding="utf-8")
    return api.run(
        ["--strict", "--cache-dir", str(tmp_path / "cache"), "--hide-error-context", str(module)]
    )


def _revealed(out: str) -> list[str]:
    """The revealed types, module paths dropped: "smartcar_async.signals._signal.Signals"
    reads "Signals"."""
    revealed = [
        line.split("Revealed type is ")[1] for line in out.splitlines() if "Revealed" in line
    ]
    return [re.sub(r"[\w.]+\.(\w+)", r"\1", r.strip('"')) for r in revealed]


def test_outcomes_and_values_narrow(tmp_path: Path) -> None:
    out, err, status = _mypy(tmp_path, SNIPPET)
    assert status == 0, out + err
    short = _revealed(out)
    assert short == [
        "Signals",  # not Signals | None after `if outcome.ok`
        "Connection",  # the targets' own type, not the union of every target kind
        "int | float | str | None",  # a JSON scalar (bool is an int to mypy)
        "Exception",
        "VehicleHandle",
        "CommandExecution | None",
    ]


RAW_SNIPPET = """
import smartcar_async as sc


async def job(client: sc.SmartcarClient, vid: str, uid: str) -> None:
    reveal_type((await client.vehicles.with_raw_response.signals(vid, user_id=uid)).parse())
    reveal_type((await client.vehicles.with_raw_response.get(vid)).parse())
    reveal_type((await client.vehicles.with_raw_response.signal(vid, "c", user_id=uid)).parse())
    car = client.vehicle(vid, user_id=uid)
    reveal_type((await car.with_raw_response.signals()).parse())
    reveal_type((await car.with_raw_response.delete_charge_schedule("s")).parse())
    reveal_type((await client.commands.with_raw_response.lock(vid, user_id=uid)).parse())
    reveal_type((await client.connections.with_raw_response.list_page(2, page_size=5)).parse())
    reveal_type((await client.connections.with_raw_response.delete("c")).parse())
    reveal_type((await client.webhook_endpoints.with_raw_response.get("w")).parse())
    reveal_type((await client.subscriptions.with_raw_response.list_page(1)).parse())
    reveal_type((await client.users.with_raw_response.delete(uid)).parse())
    await client.vehicles.with_raw_response.get(vid, user_id=uid)  # E: no such keyword
"""


def test_raw_response_parse_is_the_methods_model(tmp_path: Path) -> None:
    out, err, status = _mypy(tmp_path, RAW_SNIPPET)
    short = _revealed(out)
    assert short == [
        "Signals",
        "Vehicle",
        "Signal",
        "Signals",
        "CommandExecution | None",
        "CommandExecution",
        "Page[Connection]",
        "None",
        "Webhook",
        "Page[Subscription]",
        "None",
    ], out + err
    # The raw view keeps each method's signature: a wrong keyword is an error, not Any.
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, out + err
    assert len(errors) == 1, out + err
    assert '"user_id"' in errors[0], out + err


def test_every_one_request_method_has_a_typed_raw_view(tmp_path: Path) -> None:
    # A coroutine method added to a resource without `one_request` would show on the
    # typed view with its plain return type (and fail at run time): this finds it.
    import inspect

    import smartcar_async as sc

    owners = {
        "client.vehicles": sc.resources.Vehicles,
        "client.commands": sc.resources.Commands,
        "client.connections": sc.resources.Connections,
        "client.webhook_endpoints": sc.resources.WebhookEndpoints,
        "client.subscriptions": sc.resources.Subscriptions,
        "client.users": sc.resources.Users,
        "car": sc.VehicleHandle,
    }
    calls = [
        f"    reveal_type({expr}.with_raw_response.{name})"
        for expr, cls in owners.items()
        for name, member in inspect.getmembers(cls, inspect.iscoroutinefunction)
        if not name.startswith("_")
    ]
    source = (
        "import smartcar_async as sc\n\n\n"
        "def job(client: sc.SmartcarClient, car: sc.VehicleHandle) -> None:\n"
        + "\n".join(calls)
        + "\n"
    )
    out, err, _status = _mypy(tmp_path, source)
    revealed = [line for line in out.splitlines() if "Revealed" in line]
    assert len(revealed) == len(calls) > 20, out + err
    # Each reads "def (vehicle_id: str) -> Awaitable[RawResponse[Vehicle]]" and the like;
    # RawView.__getattr__'s fallback would read "def (*Any, **Any) -> ...[Any]]".
    untyped = [
        line
        for line in revealed
        if "RawResponse[" not in line or "*Any" in line or "RawResponse[Any]" in line
    ]
    assert untyped == [], "\n".join(untyped)


METHODS_SNIPPET = """
import asyncio

import smartcar_async as sc


async def job(client: sc.SmartcarClient, vid: str, uid: str) -> None:
    task = asyncio.create_task(client.vehicles.get(vid))
    reveal_type(task)
    await asyncio.gather(client.commands.lock(vid, user_id=uid), task)
    client.commands.lock(vid, user_id=uid)  # E: a forgotten await
    await sc.resources.Vehicles.get(123, vid)  # E: not a Vehicles
    client.connections.with_raw_response.list()  # E: pages; list_page is its raw form
    client.vehicles.with_raw_response.signals_many([])  # E: a fan-out
    client.commands.with_raw_response.run_many("lock", [])  # E: a fan-out
    client.vehicles.with_raw_response.gett(vid)  # E: no such method


def main(client: sc.SmartcarClient) -> None:
    asyncio.run(client.users.delete("u"))
"""


def test_methods_are_coroutines_and_raw_views_have_only_one_request_methods(
    tmp_path: Path,
) -> None:
    # A marked method is still a coroutine function to type checkers (tasks take it, a
    # forgotten await is flagged), and its raw view refuses what run time refuses.
    out, err, status = _mypy(tmp_path, METHODS_SNIPPET)
    assert _revealed(out) == ["Task[Vehicle]"], out + err
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, out + err
    lines = [int(line.split(":")[1]) for line in errors]
    assert lines == [11, 12, 13, 14, 15, 16], out + err
    assert "[unused-coroutine]" in errors[0], out + err


FAN_OUT_SNIPPET = """
import smartcar_async as sc


async def read(vehicle_id: str) -> int:
    return len(vehicle_id)


async def job(client: sc.SmartcarClient) -> None:
    fan = client.fan_out(["a", "b"], read, concurrency=2, max_rate=None, fail_fast=True)
    reveal_type(fan)
    client.fan_out(["a"], read, concurency=2)  # E: no such keyword
    client.fan_out(["a"], read, max_rate_limit_wait="60")  # E: not a float
    sc.FanOut(["a"], read, clock=client.clock, concurrency=1)
"""


def test_fan_out_options_are_typed_keywords(tmp_path: Path) -> None:
    # The options are declared once (FanOutOptions) for FanOut and client.fan_out: a
    # misspelt or mistyped one is still an error for the user's type checker.
    out, err, status = _mypy(tmp_path, FAN_OUT_SNIPPET)
    assert _revealed(out) == ["FanOut[str, int]"], out + err
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, out + err
    assert len(errors) == 2, out + err
    assert '"concurency"' in errors[0], out + err
    assert '"max_rate_limit_wait"' in errors[1], out + err


def test_the_deprecated_client_webhooks_is_flagged_for_type_checkers(tmp_path: Path) -> None:
    # Its type is the new resource's, and a checker that reports PEP 702 deprecations
    # flags the old name (the new one is not).
    source = """
import smartcar_async as sc


async def job(client: sc.SmartcarClient) -> None:
    reveal_type(client.webhooks)
    await client.webhook_endpoints.get("w")
"""
    module = tmp_path / "user_code.py"
    module.write_text(source, encoding="utf-8")
    out, err, _ = api.run(
        [
            "--strict",
            "--enable-error-code",
            "deprecated",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(module),
        ]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert _revealed(out) == ["WebhookEndpoints"], out
    assert len(errors) == 1, out + err
    assert "user_code.py:6:" in errors[0], out
    assert "[deprecated]" in errors[0], out

"""The command registry is the one list of commands: Python, handles, CLI and emulator agree."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, get_args

import pytest

import smartcar_async.resources
from smartcar_async import CommandName
from smartcar_async.cli._app import build_parser
from smartcar_async.cli._commands import COMMANDS as CLI_COMMANDS
from smartcar_async.resources import Commands, VehicleHandle
from smartcar_async.resources._command_registry import (
    COMMAND_SPECS,
    PERCENT,
    SCHEDULE_KINDS,
    CommandSpec,
)
from smartcar_async.testing._routes import ROUTES

SPECS = list(COMMAND_SPECS.values())


def _public_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in vars(cls).items()
        if inspect.iscoroutinefunction(member) and not name.startswith("_")
    }


def test_the_literal_names_every_command_once() -> None:
    assert list(get_args(CommandName)) == list(COMMAND_SPECS)


def test_commands_and_handles_have_a_method_per_spec() -> None:
    assert _public_methods(Commands) == set(COMMAND_SPECS)
    assert _public_methods(VehicleHandle) - {"get", "signals", "signal"} == set(COMMAND_SPECS)


def _keywords(method: Callable[..., Any]) -> set[str]:
    """The names a method takes, with ``**x: Unpack[SomeTypedDict]`` spelled out."""
    names = set()
    for parameter in inspect.signature(method).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            unpacked = re.fullmatch(r"Unpack\[(\w+)\]", str(parameter.annotation))
            assert unpacked, f"untyped **{parameter.name} on {method.__qualname__}"
            typed = getattr(smartcar_async.resources, unpacked[1])
            names |= typed.__required_keys__ | typed.__optional_keys__
        else:
            names.add(parameter.name)
    return names


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_methods_take_the_options_the_spec_declares(spec: CommandSpec) -> None:
    declared = {option.name for option in spec.options}
    on_resource = _keywords(getattr(Commands, spec.name))
    on_handle = _keywords(getattr(VehicleHandle, spec.name))
    assert on_resource - {"self", "vehicle_id", "user_id"} == declared
    assert on_handle - {"self"} == declared


def test_handles_send_through_the_public_commands_methods() -> None:
    for name in COMMAND_SPECS:
        source = inspect.getsource(getattr(VehicleHandle, name))
        assert f"self._client.commands.{name}(" in source, name
        assert "_send" not in source, name


def _spec_routes() -> set[tuple[str, str]]:
    routes = set()
    for spec in SPECS:
        kinds = SCHEDULE_KINDS if "{kind}" in spec.route.path else ("",)
        for kind in kinds:
            route = spec.route.path.replace("{kind}", kind)
            routes.add((spec.route.method, "/vehicles/{id}/" + route))
    return routes


def test_the_registry_and_the_emulator_serve_the_same_command_routes() -> None:
    emulated = {
        tuple(route.name.split(" ", 1))
        for route in ROUTES
        if route.handler in ("command", "create_schedule", "delete_schedule")
    }
    assert _spec_routes() == emulated


def test_prepared_requests_go_where_the_spec_says() -> None:
    samples = {
        "set_charge_limit": {"percent": 80},
        "set_destination": {"latitude": 1.0, "longitude": 2.0},
        "set_charge_schedule": {
            "kind": "daily",
            "latitude": 1.0,
            "longitude": 2.0,
            "start_time": "01:00",
            "stop_time": "02:00",
        },
        "delete_charge_schedule": {"schedule_id": "s1"},
    }
    for spec in SPECS:
        command = spec.prepare(**samples.get(spec.name, {}))
        expected = spec.route.path.replace("{kind}", "daily").replace("{scheduleId}", "s1")
        assert (command.method, command.suffix) == (spec.route.method, expected), spec.name


def test_commands_without_options_refuse_arguments() -> None:
    with pytest.raises(TypeError, match="lock takes no arguments"):
        COMMAND_SPECS["lock"].prepare(percent=80)


def test_the_cli_lists_every_command_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(CLI_COMMANDS) == [spec.name.replace("_", "-") for spec in SPECS]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["command", "--help"])
    listing = capsys.readouterr().out
    for spec in SPECS:
        assert spec.cli_name in listing
        assert spec.help[:30] in " ".join(listing.split())
        with pytest.raises(SystemExit):
            build_parser().parse_args(["command", spec.cli_name, "--help"])
        sub_help = capsys.readouterr().out
        for option in spec.options:
            assert (option.metavar or option.flag) in sub_help, (spec.name, option.name)


@pytest.mark.parametrize(("text", "ok"), [("50", True), ("100", True), ("49", False), ("x", False)])
def test_one_range_serves_python_and_cli(text: str, ok: bool) -> None:
    if ok:
        assert PERCENT.from_text(text) == int(text)
        assert PERCENT.check(int(text), "percent") == int(text)
    else:
        with pytest.raises(ValueError):
            PERCENT.from_text(text)

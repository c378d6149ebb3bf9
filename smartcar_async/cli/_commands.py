"""The API subcommands: ``token``, ``connections``, ``vehicle``, ``signals``, ``command``."""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from rich import box
from rich.table import Table
from rich.text import Text

from .._client import SmartcarClient
from .._config import ENV_CLIENT_ID, resolve_urls
from ..resources import CommandExecution, Connection, Vehicle
from ..resources._command_registry import COMMAND_SPECS, CommandSpec
from ..signals import Signal, Signals
from ._exit import ExitCode
from ._output import (
    Output,
    format_seconds,
    format_value,
    iso,
    jsonable,
    key_value_table,
    short_time,
)

__all__ = ["COMMANDS", "run_command", "run_connections", "run_signals", "run_token", "run_vehicle"]


def make_client(args: argparse.Namespace) -> SmartcarClient:
    """A client from the global options, falling back to the environment like the SDK.

    Raises:
        ConfigurationError: missing credentials or an unsafe URL.
    """
    token_url, vehicle_api_url, management_api_url = resolve_urls(
        args.token_url, args.vehicle_api_url, args.management_api_url
    )
    return SmartcarClient(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_url=token_url,
        vehicle_api_url=vehicle_api_url,
        management_api_url=management_api_url,
    )


def _client_id(args: argparse.Namespace) -> str:
    return str(args.client_id or os.environ.get(ENV_CLIENT_ID, ""))


# -- token -----------------------------------------------------------------------------------


async def run_token(args: argparse.Namespace, out: Output) -> int:
    """Fetch an application token; show its expiry (the token only with --show-token)."""
    client = make_client(args)
    async with client:
        token = await client.tokens.get()
        remaining = token.remaining(client.clock.now())
    expires_at = _wall_time_in(remaining)
    token_url = resolve_urls(args.token_url, args.vehicle_api_url, args.management_api_url)[0]
    result: dict[str, Any] = {
        "client_id": _client_id(args),
        "token_url": token_url,
        "token_type": "Bearer",
        "lifetime": token.lifetime,
        "expires_in": round(remaining, 3),
        "expires_at": expires_at,
    }
    if args.show_token:
        result["access_token"] = token.value
    if out.json_mode:
        out.json(result)
        return ExitCode.OK
    rows: list[tuple[str, object]] = [
        ("client id", result["client_id"]),
        ("token url", result["token_url"]),
        ("lifetime", format_seconds(token.lifetime)),
        ("expires at", f"{expires_at} (in {format_seconds(max(remaining, 0.0))})"),
        ("token", token.value if args.show_token else "hidden (--show-token prints it)"),
    ]
    out.print(key_value_table(rows, title="Application token"))
    return ExitCode.OK


def _wall_time_in(seconds: float) -> str:
    moment = _dt.datetime.fromtimestamp(time.time() + seconds, tz=_dt.timezone.utc)
    return iso(moment.replace(microsecond=0)) or ""


# -- connections -----------------------------------------------------------------------------


async def run_connections(args: argparse.Namespace, out: Output) -> int:
    """List connections, page by page, with a progress bar when there are several pages."""
    connections: list[Connection] = []
    limit: int | None = args.limit
    async with make_client(args) as client:
        listing = client.connections.list(
            user_id=args.user_id,
            vehicle_id=args.vehicle_id,
            mode=args.mode,
            page_size=args.page_size,
        )
        with out.progress() as progress:
            task = progress.add_task("listing connections", total=None, status="")
            async for page in listing.pages():
                connections.extend(page.items)
                total = page.total_count
                if limit is not None:
                    total = min(total, limit) if total is not None else limit
                progress.update(task, completed=len(connections), total=total)
                if limit is not None and len(connections) >= limit:
                    break
    if limit is not None:
        del connections[limit:]
    if out.json_mode:
        out.json(connections)
        return ExitCode.OK
    # Ids are what a user copies into the next command: never cut or folded. On a
    # narrow terminal the connection id (needed by no other subcommand) and then the
    # permission count give way.
    width = out.out.width
    wide = width >= 160
    table = Table(
        title=f"{len(connections):,} connections",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        caption=None if wide else "connection ids: widen the terminal, or --json",
        caption_justify="left",
    )
    table.add_column("vehicle", no_wrap=True, min_width=36)
    table.add_column("user", no_wrap=True, min_width=36)
    table.add_column("make, model, year")
    if width >= 130:
        table.add_column("permissions", justify="right")
    if wide:
        table.add_column("connection", no_wrap=True, min_width=36)
    for connection in connections:
        cells = [connection.vehicle_id, connection.user_id, _describe_vehicle(connection)]
        if width >= 130:
            cells.append(str(len(connection.permissions)))
        if wide:
            cells.append(connection.id)
        table.add_row(*cells)
    out.print(table)
    return ExitCode.OK


def _describe_vehicle(connection: Connection) -> str:
    info = connection.vehicle
    if info is None:
        return "—"
    text = " ".join(str(p) for p in (info.make, info.model, info.year) if p) or "—"
    extras = [p for p in (info.powertrain_type, None if info.mode == "live" else info.mode) if p]
    return f"{text} ({', '.join(extras)})" if extras else text


# -- vehicle ---------------------------------------------------------------------------------


async def run_vehicle(args: argparse.Namespace, out: Output) -> int:
    """Show one vehicle (make, model, year, mode, powertrain)."""
    async with make_client(args) as client:
        vehicle: Vehicle = await client.vehicles.get(args.vehicle_id)
    if out.json_mode:
        out.json(vehicle)
        return ExitCode.OK
    rows: list[tuple[str, object]] = [
        ("id", vehicle.id),
        ("make", vehicle.make),
        ("model", vehicle.model),
        ("year", vehicle.year),
        ("mode", vehicle.mode),
        ("powertrain", vehicle.powertrain_type),
    ]
    out.print(key_value_table(rows, title="Vehicle"))
    return ExitCode.OK


# -- signals ---------------------------------------------------------------------------------


def signal_json(signal: Signal) -> dict[str, Any]:
    """One signal as the CLI prints it with ``--json``: the API's body, unparsed."""
    source = signal.raw.get("attributes", signal.raw)
    body = source.get("body") if hasattr(source, "get") else None
    return {
        "code": signal.code,
        "name": signal.full_name,
        "status": signal.status,
        "body": jsonable(body),
        "error": jsonable(signal.error),
        "retrieved_at": iso(signal.retrieved_at),
        "oem_updated_at": iso(signal.oem_updated_at),
    }


def _signal_value(signal: Signal) -> str:
    body = signal.body
    if body is None:
        return "—"
    value = getattr(body, "value", None)
    if value is not None and not callable(value):
        unit = getattr(body, "unit", None)
        text = format_value(value)
        return f"{text} {unit}" if unit else text
    data = signal_json(signal)["body"]
    text = format_value(data)
    return text if len(text) <= 60 else text[:59] + "…"


def _status_cell(signal: Signal) -> Text:
    if signal.ok:
        return Text("ok", style="green")
    label = signal.status
    if signal.error is not None:
        reason = ":".join(part for part in (signal.error.type, signal.error.code) if part)
        if reason:
            label += f" ({reason})"
    return Text(label, style="red")


async def run_signals(args: argparse.Namespace, out: Output) -> int:
    """Show a vehicle's signals, or one signal with ``--code``."""
    async with make_client(args) as client:
        with out.progress() as progress:
            progress.add_task("reading signals", total=None, status="")
            if args.code:
                signal = await client.vehicles.signal(
                    args.vehicle_id, args.code, user_id=args.user_id
                )
                signals = Signals([signal])
            else:
                signal = None
                signals = await client.vehicles.signals(args.vehicle_id, user_id=args.user_id)
    if out.json_mode:
        if signal is not None:
            out.json(signal_json(signal))
        else:
            out.json(
                {
                    "vehicle": jsonable(signals.vehicle),
                    "signals": [signal_json(s) for s in signals.values()],
                }
            )
        return ExitCode.OK
    title = f"{len(signals)} signals of {args.vehicle_id}"
    if signals.vehicle is not None:
        v = signals.vehicle
        title += " (" + " ".join(str(p) for p in (v.make, v.model, v.year) if p) + ")"
    table = Table(title=title, title_justify="left")
    table.add_column("signal", overflow="fold")
    table.add_column("value", overflow="fold", min_width=24)
    table.add_column("status")
    table.add_column("updated by the vehicle", no_wrap=True)
    for signal in sorted(signals.values(), key=lambda s: s.code):
        table.add_row(
            signal.full_name or signal.code,
            _signal_value(signal),
            _status_cell(signal),
            short_time(signal.oem_updated_at),
        )
    out.print(table)
    return ExitCode.OK


# -- command ---------------------------------------------------------------------------------

#: The ``command`` subcommands by their CLI name (``set-charge-limit``): the registry's.
COMMANDS: dict[str, CommandSpec] = {spec.cli_name: spec for spec in COMMAND_SPECS.values()}


def command_arguments(spec: CommandSpec, args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the `Commands` method, from the parsed options."""
    arguments: dict[str, Any] = {}
    for option in spec.options:
        value = getattr(args, option.name, None)
        if value is not None:
            arguments[option.name] = option.combine(value) if option.repeated else value
    return arguments


async def run_command(args: argparse.Namespace, out: Output) -> int:
    """Send one command to one vehicle and show its execution."""
    spec = COMMANDS[args.command_name]
    arguments = command_arguments(spec, args)
    async with make_client(args) as client:
        send: Callable[..., Awaitable[CommandExecution | None]] = getattr(
            client.commands, spec.name
        )
        with out.progress() as progress:
            progress.add_task(f"{args.command_name} {args.vehicle_id}", total=None, status="")
            started = anyio.current_time()
            execution = await send(args.vehicle_id, user_id=args.user_id, **arguments)
            took = anyio.current_time() - started
    if execution is None:  # a 204: the API confirmed without a body
        if out.json_mode:
            out.json(None)
        else:
            out.print(f"{args.command_name}: done (the API sent no execution)")
        return ExitCode.OK
    if out.json_mode:
        out.json(execution)
        return ExitCode.OK
    rows: list[tuple[str, object]] = [
        ("command", execution.command_type or args.command_name),
        ("vehicle", args.vehicle_id),
        ("status", execution.status),
        ("execution id", execution.id),
        ("mode", execution.execution_mode),
        ("executed at", execution.executed_at),
        ("parameters", dict(execution.parameters) if execution.parameters else None),
        ("took", format_seconds(took)),
    ]
    out.print(key_value_table(rows, title="Command"))
    return ExitCode.OK

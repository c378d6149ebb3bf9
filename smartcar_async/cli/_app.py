"""The argument parser, the dispatch to subcommands, and the mapping of errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import textwrap
import traceback
import warnings
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import partial
from typing import TextIO

import anyio

from .._config import (
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_MANAGEMENT_API_URL,
    ENV_TOKEN_URL,
    ENV_VEHICLE_API_URL,
)
from .._experimental import ExperimentalWarning
from .._version import __version__
from ..resources._command_registry import CommandSpec
from ._commands import (
    COMMANDS,
    run_command,
    run_connections,
    run_signals,
    run_token,
    run_vehicle,
)
from ._exit import ExitCode, describe, exit_code_for, leaf_errors
from ._output import Output

__all__ = ["build_parser", "dispatch", "run"]

Handler = Callable[[argparse.Namespace, Output], Awaitable[int]]

_EPILOG = """\
exit codes:
  0    success
  1    the API answered with an error (4xx/5xx, a failed command)
  2    usage: bad arguments
  3    configuration: missing or bad credentials or URLs, a port in use
  4    token: the token endpoint refused the credentials or answered an error
  5    connection: no answer from the API or the token endpoint
  70   internal error (a bug; rerun with --debug)
  130  interrupted (Ctrl-C)
  141  stdout was closed early (piped into head, say)

environment:
  SMARTCAR_CLIENT_ID, SMARTCAR_CLIENT_SECRET    the credentials
  SMARTCAR_TOKEN_URL, SMARTCAR_VEHICLE_API_URL, SMARTCAR_MANAGEMENT_API_URL
                                                where the APIs are (default: Smartcar's)
  SMARTCAR_LOG=debug|info                       SDK logging on stderr
  SMARTCAR_APPLICATION_ID, SMARTCAR_REDIRECT_URI, SMARTCAR_CONNECT_URL
                                                connect-url: Connect's settings

try it without an account:  smartcar-async demo
"""


# -- argument types -----------------------------------------------------------------------------


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _number(text: str, accept: Callable[[float], bool], requirement: str) -> float:
    """``text`` as a finite number that ``accept`` takes, else a usage error that says
    the ``requirement``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"{requirement}, got {text}")
    return value


def _port(text: str) -> int:
    value = _int_at_least(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return value


def _not_negative(text: str) -> float:
    return _number(text, lambda v: v >= 0, "must be a number of at least 0")


def _positive(text: str) -> float:
    return _number(text, lambda v: v > 0, "must be a number above 0")


def _cli_type(from_text: Callable[[str], object], label: str) -> Callable[[str], object]:
    """An argparse type from a registry reader: its ValueError becomes a usage error."""

    def parse(text: str) -> object:
        try:
            return from_text(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = label
    return parse


def _add_command_options(parser: argparse.ArgumentParser, spec: CommandSpec) -> None:
    for option in spec.options:
        kind = _cli_type(option.from_text, option.name)
        if option.positional:
            parser.add_argument(option.name, metavar=option.metavar, type=kind, help=option.help)
            continue
        parser.add_argument(
            option.flag,
            dest=option.name,
            metavar=option.metavar,
            type=kind,
            required=option.required,
            action="append" if option.repeated else "store",
            help=option.help,
        )


# -- the parser ---------------------------------------------------------------------------------


# The credential options: flag, metavar, the environment variable it defaults to, and a
# note for the help.
_CREDENTIAL_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("--client-id", "ID", ENV_CLIENT_ID, ""),
    (
        "--client-secret",
        "SECRET",
        ENV_CLIENT_SECRET,
        " (prefer the variable: arguments show in ps)",
    ),
    ("--token-url", "URL", ENV_TOKEN_URL, ""),
    ("--vehicle-api-url", "URL", ENV_VEHICLE_API_URL, ""),
    ("--management-api-url", "URL", ENV_MANAGEMENT_API_URL, ""),
)
# The output switches every command takes, and their help.
_SWITCHES: tuple[tuple[str, str], ...] = (
    ("--json", "print the result as JSON on stdout (and nothing else there)"),
    ("--debug", "SDK debug logging, and tracebacks on errors"),
)


def _add_global_options(
    parser: argparse.ArgumentParser, *, top: bool, credentials: bool = True
) -> None:
    """The options every subcommand takes, before or after the subcommand's name.

    Only the top-level ``--help`` lists them: a subcommand accepts them too but keeps
    its own help short (one line points to the top). Subparsers default them to
    SUPPRESS, so a value given before the subcommand is not overwritten. Commands that
    make their own emulator (``demo``) take no credentials.
    """

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    def shown(text: str) -> str:
        return text if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options") if top else parser
    for flag, metavar, variable, note in _CREDENTIAL_OPTIONS if credentials else ():
        group.add_argument(
            flag, metavar=metavar, default=default(None), help=shown(f"default: ${variable}{note}")
        )
    for flag, text in _SWITCHES:
        group.add_argument(flag, action="store_true", default=default(False), help=shown(text))


class _LineFormatter(argparse.HelpFormatter):
    """Wraps each line of a description or epilog on its own, never at a hyphen."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            textwrap.fill(
                line, width, initial_indent=indent, subsequent_indent=indent,
                break_on_hyphens=False,
            )
            for line in text.splitlines()
        )  # fmt: skip


_SUB_EPILOG = """\
global options (--json, --debug{credentials}) go before or after the command;
smartcar-async --help lists them, the exit codes and the environment variables"""


def _subparser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help: str,
    description: str | None = None,
    *,
    credentials: bool = True,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=_SUB_EPILOG.format(credentials=", --client-id..." if credentials else ""),
        formatter_class=_LineFormatter,
    )
    _add_global_options(parser, top=False, credentials=credentials)
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``smartcar-async`` argument parser."""
    from ._demo import DemoOptions

    parser = argparse.ArgumentParser(
        prog="smartcar-async",
        description="Smartcar's vehicle API v3 from a shell: tokens, connections, "
        "vehicles, signals, commands, and an emulator to try them on.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    token = _subparser(
        subparsers,
        "token",
        run_token,
        "fetch an application token and show when it expires",
        "Fetch an application token (client credentials) and show when it expires. "
        "The token itself is printed only with --show-token.",
    )
    token.add_argument("--show-token", action="store_true", help="print the token itself")

    connections = _subparser(
        subparsers, "connections", run_connections, "list the vehicles users have connected"
    )
    connections.add_argument("--user-id", metavar="ID", help="only this user's connections")
    connections.add_argument("--vehicle-id", metavar="ID", help="only this vehicle's connections")
    connections.add_argument(
        "--mode",
        choices=("live", "simulated"),
        default="live",
        help="live or simulated vehicles (default: live)",
    )
    connections.add_argument(
        "--page-size", metavar="N", type=_int_at_least(1), default=100, help="default: 100"
    )
    connections.add_argument(
        "--limit", metavar="N", type=_int_at_least(1), help="stop after N connections"
    )

    vehicle = _subparser(
        subparsers, "vehicle", run_vehicle, "show a vehicle (make, model, year, powertrain)"
    )
    vehicle.add_argument("vehicle_id", metavar="VEHICLE_ID")

    signals = _subparser(
        subparsers, "signals", run_signals, "read a vehicle's signals (or one, with --code)"
    )
    signals.add_argument("vehicle_id", metavar="VEHICLE_ID")
    signals.add_argument(
        "--user-id", metavar="ID", required=True, help="the user who connected the vehicle"
    )
    signals.add_argument(
        "--code", metavar="CODE", help="one signal, e.g. tractionbattery-stateofcharge"
    )

    command = _subparser(
        subparsers,
        "command",
        _no_handler,
        "send a command to a vehicle",
        "Send a command to a vehicle. Commands are never re-sent after they may have "
        "reached the vehicle.",
    )
    names = command.add_subparsers(dest="command_name", metavar="NAME", required=True)
    for name, spec in COMMANDS.items():
        one = _subparser(names, name, run_command, spec.help)
        one.add_argument("vehicle_id", metavar="VEHICLE_ID")
        one.add_argument(
            "--user-id", metavar="ID", required=True, help="the user who connected the vehicle"
        )
        _add_command_options(one, spec)

    connect_url = _subparser(
        subparsers,
        "connect-url",
        _connect_url_handler,
        "print the Smartcar Connect URL that onboards a vehicle owner",
        "Print the Smartcar Connect URL that onboards a vehicle owner (or, with "
        "--reauthenticate, re-authenticates a vehicle). Needs the application id and a "
        "registered redirect URI, not the API credentials.",
    )
    from ._connect import add_connect_url_arguments

    add_connect_url_arguments(connect_url)

    emulator = _subparser(
        subparsers, "emulator", _no_handler, "run the emulator", credentials=False
    )
    emulator_commands = emulator.add_subparsers(
        dest="emulator_command", metavar="ACTION", required=True
    )
    serve = _subparser(
        emulator_commands,
        "serve",
        _serve_handler,
        "serve the emulator on 127.0.0.1 until Ctrl-C",
        "Serve a seeded emulator of the v3 API on 127.0.0.1 and print the environment "
        "variables that point the SDK and this CLI at it. Ctrl-C stops it.",
        credentials=False,
    )
    serve.add_argument(
        "--port", type=_port, default=8765, help="default: 8765; 0 picks a free port"
    )
    serve.add_argument(
        "--vehicles", type=_int_at_least(0), default=10, help="fleet size (default: 10)"
    )
    serve.add_argument("--seed", type=int, default=1, help="fleet seed (default: 1)")
    serve.add_argument(
        "--token-lifetime",
        type=_positive,
        default=3600.0,
        metavar="SECONDS",
        help="token lifetime (default: 3600)",
    )

    demo_defaults = DemoOptions()
    demo = _subparser(
        subparsers,
        "demo",
        _demo_handler,
        "a fleet job against the emulator, with trouble, and its summary",
        "Serve the emulator on loopback with a seeded fleet and realistic trouble "
        "(asleep vehicles, per-vehicle and app-wide 429s, a short-lived token), list every "
        "connection, read every vehicle's signals with bounded concurrency, lock the "
        "unlocked ones, and summarise. It makes its own credentials: it takes none.",
        credentials=False,
    )
    demo.add_argument(
        "--vehicles",
        type=_int_at_least(1),
        default=demo_defaults.vehicles,
        help=f"fleet size (default: {demo_defaults.vehicles})",
    )
    demo.add_argument(
        "--concurrency",
        type=_int_at_least(1),
        default=demo_defaults.concurrency,
        help=f"requests in flight at most (default: {demo_defaults.concurrency})",
    )
    demo.add_argument("--seed", type=int, default=demo_defaults.seed, help="default: 1")
    demo.add_argument(
        "--bucket-speed",
        type=_not_negative,
        default=demo_defaults.bucket_speed,
        metavar="TIMES",
        help="how many times faster than Smartcar's documented app-wide bucket (120 "
        "requests, 2 more per minute) the emulator's bucket refills; the client paces "
        f"itself to it; 0 turns it off (default: {demo_defaults.bucket_speed:g})",
    )
    return parser


async def _no_handler(args: argparse.Namespace, out: Output) -> int:  # pragma: no cover
    raise AssertionError("argparse requires a subcommand here")


async def _connect_url_handler(args: argparse.Namespace, out: Output) -> int:
    from ._connect import run_connect_url

    return await run_connect_url(args, out)


async def _serve_handler(args: argparse.Namespace, out: Output) -> int:
    from ._serve import serve_emulator

    return await serve_emulator(args, out)


async def _demo_handler(args: argparse.Namespace, out: Output) -> int:
    from ._demo import DemoOptions, run_demo
    from ._report import render_summary

    options = DemoOptions(
        vehicles=args.vehicles,
        concurrency=args.concurrency,
        seed=args.seed,
        bucket_speed=args.bucket_speed,
    )
    summary = await run_demo(options, out)
    if out.json_mode:
        out.json(summary)
    else:
        out.print(render_summary(summary))
    return ExitCode.OK


# -- running ------------------------------------------------------------------------------------


async def dispatch(args: argparse.Namespace, out: Output) -> int:
    """Run the parsed command in the current event loop; returns its exit code."""
    handler: Handler = args.handler
    return await handler(args, out)


@contextlib.contextmanager
def _sdk_logging(out: Output, debug: bool) -> Iterator[None]:
    """SDK log records on stderr through rich, so they do not tear the progress bars.

    Warnings (an app-wide rate limit, a failed token refresh) always show; everything
    with --debug. ``SMARTCAR_LOG`` keeps its own handler when it is set.
    """
    from rich.logging import RichHandler

    from .._logging import logger, setup_from_environment

    setup_from_environment()
    if logger.handlers:
        yield
        return
    level = logging.DEBUG if debug else logging.WARNING
    handler = RichHandler(console=out.err, show_path=False, show_time=debug, markup=False)
    handler.setLevel(level)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@contextlib.contextmanager
def _experimental_notes(out: Output) -> Iterator[None]:
    """An `ExperimentalWarning` as a one-line note: Python's own form names a line
    inside the event loop, since the SDK points warnings past its own frames."""
    with warnings.catch_warnings():  # restores showwarning on the way out
        show = warnings.showwarning

        def note(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if issubclass(category, ExperimentalWarning):
                out.note(f"warning: {message}")
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = note
        yield


def _parse(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    stdout: TextIO | None,
    stderr: TextIO | None,
) -> argparse.Namespace | int:
    # argparse prints help and usage errors on sys.stdout/sys.stderr itself.
    try:
        with (
            contextlib.redirect_stdout(stdout if stdout is not None else sys.stdout),
            contextlib.redirect_stderr(stderr if stderr is not None else sys.stderr),
        ):
            return parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version (0) or a usage error (2)
        code = exit.code
        return code if isinstance(code, int) else (ExitCode.OK if code is None else ExitCode.USAGE)


def run(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Parse ``argv``, run the command in its own event loop, return the exit code.

    Errors are printed on stderr without a traceback (with one under ``--debug``).
    """
    parser = build_parser()
    parsed = _parse(parser, argv, stdout, stderr)
    if isinstance(parsed, int):
        return parsed
    args = parsed
    out = Output(json_mode=args.json, stdout=stdout, stderr=stderr)
    serving = args.command == "emulator"
    with _sdk_logging(out, args.debug), _experimental_notes(out):
        try:
            return int(anyio.run(partial(dispatch, args, out), backend="asyncio"))
        except KeyboardInterrupt:
            if serving:  # Ctrl-C is how a server is meant to stop
                out.note("emulator stopped")
                return ExitCode.OK
            out.error("interrupted")
            return ExitCode.INTERRUPTED
        except Exception as exc:
            return _report_error(exc, out, debug=args.debug)
        except BaseException as exc:
            # A task group may wrap Ctrl-C in a BaseExceptionGroup; anything else
            # (SystemExit, a group of those) is not ours to swallow.
            if any(isinstance(e, KeyboardInterrupt) for e in leaf_errors(exc)):
                out.error("interrupted")
                return ExitCode.INTERRUPTED
            raise


def _stdout_closed(out: Output) -> int:
    """The reader of stdout went away (``| head``): stop quietly, as other tools do."""
    # Point stdout at /dev/null so the interpreter's final flush does not fail again.
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fileno = out.stdout.fileno()  # a stream without a descriptor: nothing to redirect
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fileno)
        finally:
            os.close(devnull)
    return ExitCode.STDOUT_CLOSED


def _report_error(exc: BaseException, out: Output, *, debug: bool) -> int:
    errors = list(leaf_errors(exc))
    if any(isinstance(e, BrokenPipeError) for e in errors):
        return _stdout_closed(out)
    if any(isinstance(e, KeyboardInterrupt) for e in errors):
        out.error("interrupted")
        return ExitCode.INTERRUPTED
    if debug:
        out.stderr.write("".join(traceback.format_exception(exc)))
        out.stderr.flush()
    code = exit_code_for(errors[0])
    for error in errors:
        message, hint = describe(error)
        out.error(message, hint)
    return code

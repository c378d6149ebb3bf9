"""Exit codes, and the mapping from an exception to a code and a one-paragraph message."""

from __future__ import annotations

import enum
from collections.abc import Iterator

from .._config import ENV_CLIENT_ID, ENV_CLIENT_SECRET
from .._error_types import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    CommandFailedError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    SmartcarError,
    TokenConnectionError,
    TokenError,
    VehicleStateError,
)

__all__ = ["CLIError", "ExitCode", "describe", "exit_code_for", "leaf_errors"]


class ExitCode(enum.IntEnum):
    """What the process exit status means; scripts branch on these."""

    OK = 0
    API_ERROR = 1  # the API answered with an error (4xx/5xx, a failed command, a bad body)
    USAGE = 2  # bad arguments (argparse's own code)
    CONFIGURATION = 3  # missing/bad credentials or URLs, a port in use, a missing extra
    TOKEN = 4  # the token endpoint refused the credentials or answered an error
    CONNECTION = 5  # no answer from the API or the token endpoint: refused, reset, timed out
    INTERNAL = 70  # a bug in the CLI or the SDK (EX_SOFTWARE); rerun with --debug
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    STDOUT_CLOSED = 141  # the reader of stdout went away, like a tool killed by SIGPIPE


class CLIError(Exception):
    """An error the CLI raises itself, with its exit code and an optional hint."""

    def __init__(self, message: str, code: ExitCode, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


def leaf_errors(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, or ``exc`` itself.

    Task groups (the fan-out's, the emulator server's) wrap what their tasks raise; the
    user should see the error, not the group.
    """
    # Duck-typed: BaseExceptionGroup is a builtin only from Python 3.11.
    inner = getattr(exc, "exceptions", None)
    if isinstance(inner, tuple) and inner and all(isinstance(e, BaseException) for e in inner):
        for error in inner:
            yield from leaf_errors(error)
    else:
        yield exc


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for an exception that ended a command."""
    if isinstance(exc, CLIError):
        return exc.code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    # ConfigurationError is a ValueError too: test it first.
    if isinstance(exc, ConfigurationError):
        return ExitCode.CONFIGURATION
    # A token-endpoint outage is an APIConnectionError too: test that first.
    if isinstance(exc, APIConnectionError):
        return ExitCode.CONNECTION
    if isinstance(exc, TokenError):
        return ExitCode.TOKEN
    if isinstance(exc, (APIStatusError, APIResponseError, CommandFailedError, SmartcarError)):
        return ExitCode.API_ERROR
    if isinstance(exc, ValueError):
        # The SDK raises ValueError for bad input before it sends anything (an id that
        # is not a path segment, a percent out of range): the user's mistake.
        return ExitCode.USAGE
    return ExitCode.INTERNAL


def describe(exc: BaseException) -> tuple[str, str | None]:
    """A message for ``exc`` (no traceback) and a hint on what to do, if there is one."""
    if isinstance(exc, CLIError):
        return str(exc), exc.hint
    if isinstance(exc, ConfigurationError):
        hint = None
        if "credentials" in str(exc):
            hint = (
                f"set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} (or pass --client-id and "
                "--client-secret); `smartcar-async emulator serve` prints a set to try"
            )
        return str(exc), hint
    if isinstance(exc, TokenConnectionError):
        return str(exc), "is the token endpoint (--token-url) reachable?"
    if isinstance(exc, TokenError):
        return str(exc), "check the client id and secret, and --token-url"
    if isinstance(exc, APIConnectionError):
        return str(exc), "is the API (or the emulator) reachable at the configured URL?"
    if isinstance(exc, APIStatusError):
        return _describe_status(exc), _status_hint(exc)
    if isinstance(exc, CommandFailedError):
        return str(exc), None
    if isinstance(exc, SmartcarError):
        return str(exc), None
    if isinstance(exc, ValueError):
        return str(exc), None
    return f"unexpected {type(exc).__name__}: {exc}", "rerun with --debug for the traceback"


def _describe_status(exc: APIStatusError) -> str:
    label = ":".join(part for part in (exc.type, exc.code) if part)
    text = f"{type(exc).__name__}: HTTP {exc.status_code}"
    if label:
        text += f" {label}"
    explanation = exc.detail or exc.title
    if explanation:
        text += f" - {explanation}"
    if exc.resolution:
        text += f" (resolution: {exc.resolution})"
    if exc.request_id:
        text += f" [request id {exc.request_id}]"
    return text


def _status_hint(exc: APIStatusError) -> str | None:
    if isinstance(exc, NotFoundError):
        return "check the id; for signals and commands --user-id must be the user who connected it"
    if isinstance(exc, PermissionDeniedError):
        return "the connection lacks the permission this call needs"
    if isinstance(exc, VehicleStateError):
        return "the vehicle cannot do this right now; try again later"
    return exc.doc_url

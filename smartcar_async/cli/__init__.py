"""The ``smartcar-async`` command: Smartcar's v3 API and its emulator from a shell.

Needs the ``cli`` extra (``pip install 'smartcar-async[cli]'``: rich and uvicorn).
``smartcar-async demo`` runs a fleet job against the emulator on loopback; the other
subcommands talk to whatever the credentials and URLs point at. See
``docs/guides/cli.md`` for every subcommand, the exit codes and the environment.

Examples:
    >>> from smartcar_async.cli import main
    >>> main(["demo", "--vehicles", "50", "--json"])
    0
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

# Exit code when the CLI's own dependencies are missing: a configuration problem.
_MISSING_EXTRA = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``smartcar-async`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    The console script passes the result to `sys.exit`; tests call it in-process.
    """
    try:
        from ._app import run
    except ImportError as exc:  # rich is an extra; say how to get it instead of a traceback
        if exc.name not in ("rich", "uvicorn") and not str(exc.name).startswith("rich."):
            raise
        print(
            f"error: the smartcar-async command needs {exc.name}: "
            "pip install 'smartcar-async[cli]'",
            file=sys.stderr,
        )
        return _MISSING_EXTRA
    return run(argv)

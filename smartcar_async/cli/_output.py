"""Where output goes: tables on stdout, JSON on stdout, progress and errors on stderr."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from typing import Any, TextIO

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from .._models import to_jsonable

__all__ = [
    "Output",
    "format_number",
    "format_seconds",
    "format_value",
    "iso",
    "jsonable",
    "key_value_table",
    "plural",
    "short_time",
]

# Piped output is read by grep and friends: never cut an id because the terminal is
# narrow, so without a terminal the width is generous unless COLUMNS says otherwise.
_PIPE_WIDTH = 200


def _width(stream: TextIO) -> int | None:
    if os.environ.get("COLUMNS"):
        return None  # rich reads COLUMNS itself
    isatty = getattr(stream, "isatty", None)
    try:
        terminal = bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        terminal = False
    return None if terminal else _PIPE_WIDTH


class Output:
    """The CLI's two streams.

    stdout carries the result only: a table, or with ``--json`` one JSON document and
    nothing else. stderr carries progress bars, notes and errors, so a pipe reading
    stdout never sees them.

    Args:
        json_mode: print results as JSON.
        stdout: the result stream (default ``sys.stdout`` at construction).
        stderr: the diagnostics stream (default ``sys.stderr`` at construction).
    """

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        import sys

        self.json_mode = json_mode
        self.stdout: TextIO = stdout if stdout is not None else sys.stdout
        self.stderr: TextIO = stderr if stderr is not None else sys.stderr
        self.out = Console(file=self.stdout, width=_width(self.stdout), highlight=False)
        # stderr keeps rich's own width: its lines are notes and logs, soft-wrapped.
        self.err = Console(file=self.stderr, highlight=False, stderr=True)

    # -- results (stdout) ------------------------------------------------------------------

    def json(self, data: object) -> None:
        """Print ``data`` as one JSON document on stdout."""
        self.stdout.write(json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n")
        self.stdout.flush()

    def print(self, *renderables: RenderableType) -> None:
        """Print tables or text on stdout."""
        self.out.print(*renderables)

    def line(self, text: str) -> None:
        """Print one line on stdout exactly as given (no wrapping, no markup)."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    # -- diagnostics (stderr) --------------------------------------------------------------

    def note(self, text: str | Text) -> None:
        """A line for the human on stderr (progress of a long job, what to try next)."""
        self.err.print(text if isinstance(text, Text) else Text(text), soft_wrap=True)

    def error(self, message: str, hint: str | None = None) -> None:
        """An error on stderr, without a traceback."""
        text = Text("error: ", style="bold red")
        text.append(message)
        self.err.print(text, soft_wrap=True)
        if hint:
            self.err.print(Text("hint: ", style="yellow") + Text(hint), soft_wrap=True)

    def progress(self, *, transient: bool = True) -> Progress:
        """A progress display on stderr; silent when stderr is not a terminal (CI, pipes)."""
        return Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            # At 80 columns the counts and the time must stay whole: the bar is short,
            # and only the status text gives way (cut with an ellipsis).
            BarColumn(bar_width=10),
            MofNCompleteColumn(table_column=Column(no_wrap=True, min_width=11)),
            TextColumn(
                "{task.fields[status]}",
                table_column=Column(no_wrap=True, overflow="ellipsis", max_width=20),
            ),
            TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=7, max_width=7)),
            console=self.err,
            transient=transient,
            disable=not self.err.is_terminal,
        )


# -- formatting ------------------------------------------------------------------------------


def iso(value: _dt.datetime | None) -> str | None:
    """An aware datetime as ISO 8601 (UTC as ``Z``), or None."""
    return None if value is None else _iso_text(value)


def short_time(value: _dt.datetime | None) -> str:
    """``2026-05-01 09:30:12Z``: a timestamp for a table cell, to the second, in UTC."""
    if value is None:
        return "—"
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def plural(count: int, noun: str) -> str:
    """``1 page``, ``10 pages``: a count and its noun, in the number's form."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def format_number(value: float | int | None, digits: int = 1) -> str:
    """``1,234`` or ``12.5``; an em dash for nothing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def format_seconds(seconds: float) -> str:
    """``850 ms``, ``2.4 s``, ``3 min 20 s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_value(value: object) -> str:
    """A signal value or field for a table cell."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # no thousands separator: years, ids and codes are ints too
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return str(int(value)) if value.is_integer() else repr(round(value, 3))
    if isinstance(value, _dt.datetime):
        return iso(value) or "—"
    if isinstance(value, str):
        return value
    return json.dumps(jsonable(value), ensure_ascii=False, separators=(", ", ": "))


def key_value_table(rows: list[tuple[str, object]], *, title: str | None = None) -> Table:
    """A two-column table of labels and values."""
    table = Table(title=title, show_header=False, title_justify="left", box=None, padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, format_value(value))
    return table


def jsonable(value: object) -> Any:
    """``value`` made JSON-ready for output: `to_jsonable`, with UTC written as ``Z``.

    Models lose their ``raw`` field (the JSON they came from, already represented by
    the other fields).
    """
    return to_jsonable(value, timestamp=_iso_text)


def _iso_text(value: _dt.datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text

"""MkDocs hooks: fail the build on an include marker that the snippets extension would skip.

``pymdownx.snippets`` with ``check_paths: true`` fails the build when an include names a
missing file, but a marker it does not recognise at all is left in the page as text. A
code formatter run over Markdown turns ``--8<-- "file.py"`` inside a Python fence into
``--8 < --"file.py"``, so the include silently disappears. This hook finds such lines.

Keep includes out of the formatter's reach with ``<!-- fmt: off -->`` / ``<!-- fmt: on -->``
around the fence.

Examples:
    >>> mangled_include_markers('```python\\n--8 < --"docs/app.py"\\n```\\n')
    [(2, '--8 < --"docs/app.py"')]
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["mangled_include_markers", "on_page_markdown"]

# Anything that looks like a scissors marker, with or without stray spaces.
_LOOSE = re.compile(r"^[ \t]*;*-+[ \t]*8[ \t]*<[ \t]*-+")
# What pymdownx.snippets accepts: an inline include or a bare block marker.
_VALID = re.compile(r"""^[ \t]*;*-+8<-+(?:[ \t]+(?:"(?:\\"|[^"])+?"|'(?:\\'|[^'])+?'))?[ \t]*$""")


def mangled_include_markers(markdown: str) -> list[tuple[int, str]]:
    """Lines (1-based number, text) that look like include markers but are not valid ones."""
    return [
        (number, line.strip())
        for number, line in enumerate(markdown.splitlines(), start=1)
        if _LOOSE.match(line) and not _VALID.match(line)
    ]


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """The MkDocs hook: raise on the first page with a mangled include marker."""
    from mkdocs.exceptions import PluginError

    bad = mangled_include_markers(markdown)
    if bad:
        where = ", ".join(f"line {number}: {text}" for number, text in bad)
        raise PluginError(
            f"{page.file.src_path}: include marker not recognised by pymdownx.snippets "
            f'({where}); write it as --8<-- "path" and keep formatters off it'
        )
    return markdown

"""The docs build fails on an include that would vanish from the page."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mkdocs_hooks", ROOT / "tools" / "mkdocs_hooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = load_hooks()


def test_no_page_has_a_mangled_include_marker() -> None:
    pages = sorted((ROOT / "docs").rglob("*.md"))
    assert pages
    found = {
        str(page.relative_to(ROOT)): bad
        for page in pages
        if (bad := hooks.mangled_include_markers(page.read_text(encoding="utf-8")))
    }
    assert found == {}


@pytest.mark.parametrize(
    "line",
    [
        '--8 < --"docs/examples/webhook_app.py"',  # what ruff format makes of an include
        '--8<--"examples/app.py"',
        '-- 8<-- "examples/app.py"',
        "--8<-- examples/app.py",
    ],
)
def test_mangled_markers_are_found(line: str) -> None:
    assert hooks.mangled_include_markers(f"text\n```python\n{line}\n```\n") == [(3, line)]


@pytest.mark.parametrize(
    "line", ['--8<-- "examples/app.py"', "--8<-- 'a b.py'", "--8<--", ';--8<-- "x.py"', "- 8 items"]
)
def test_valid_markers_and_prose_pass(line: str) -> None:
    assert hooks.mangled_include_markers(line) == []


def build_site(tmp_path: Path, page: str) -> None:
    """Build a one-page site with the project's own Markdown extensions and hooks."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    project = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(page, encoding="utf-8")
    (tmp_path / "included.py").write_text("ANSWER = 42\n", encoding="utf-8")
    config = {
        "site_name": "t",
        "docs_dir": str(docs),
        "site_dir": str(tmp_path / "site"),
        "strict": True,
        "hooks": [str(ROOT / hook) for hook in project["hooks"]],
        "markdown_extensions": [
            {"pymdownx.snippets": {**ext["pymdownx.snippets"], "base_path": [str(tmp_path)]}}
            if isinstance(ext, dict) and "pymdownx.snippets" in ext
            else ext
            for ext in project["markdown_extensions"]
        ],
    }
    config_file = tmp_path / "mkdocs.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    build(load_config(str(config_file)))


def test_a_good_include_builds(tmp_path: Path) -> None:
    build_site(tmp_path, '# t\n\n```python\n--8<-- "included.py"\n```\n')
    assert "ANSWER" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "include", ['--8<-- "missing.py"', '--8 < --"included.py"'], ids=["missing", "mangled"]
)
def test_a_broken_include_fails_the_build(
    tmp_path: Path, include: str, caplog: pytest.LogCaptureFixture
) -> None:
    from mkdocs.exceptions import Abort
    from pymdownx.snippets import SnippetMissingError

    with pytest.raises((Abort, SnippetMissingError)):
        build_site(tmp_path, f"# t\n\n```python\n{include}\n```\n")
    assert include.split('"')[1] in caplog.text


def test_install_commands_name_a_source_that_exists() -> None:
    """The package is on no index yet: every ``pip install`` of it names a checkout, a
    wheel or a Git URL, never the bare project name."""
    # One pip command (up to a shell separator or a comment), naming the bare project.
    command = re.compile(r"pip install [^\n`&;#|]*")
    bare = re.compile(r"""(?:^|\s)["']?smartcar-async(?:\[[\w,]+\])?["']?(?=\s|$)(?!\s*@)""")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = [
        f"{page.relative_to(ROOT)}: {match.group(0)}"
        for page in pages
        if page.name != "changelog.md"
        for match in command.finditer(page.read_text(encoding="utf-8"))
        if bare.search(match.group(0))
    ]
    assert found == []

"""Every Python block of README.md and docs/ runs, against the emulator.

The blocks of one page run in order in one namespace, as a reader would type them into
an async REPL: top-level ``await``, ``async with`` and ``async for`` work, and a
top-level ``anyio.run(main)`` (or ``asyncio.run(main())``) becomes ``await main()`` so
that the page's blocks share the test's event loop. The namespace starts with what a
page may assume without defining: ``sc``, a ``client`` and an ``emulator`` serving a
seeded fleet on loopback (``SMARTCAR_*`` variables point at it, so ``sc.SmartcarClient()``
works too), and ``vehicle_id``, ``user_id``, ``connection_id`` of one of its vehicles.

A block that cannot run here says why, on the line before its fence::

    <!-- doc-test: skip (needs a real Smartcar account) -->

Include markers (``--8<-- "path"``) are expanded as the docs build expands them.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

import smartcar_async as sc
from smartcar_async.cli._serve import emulator_environment
from smartcar_async.testing import SmartcarEmulator

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.M | re.S)
SKIP = re.compile(r"<!--\s*doc-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
INCLUDE = re.compile(r"""^[ \t]*-+8<-+[ \t]+["'](?P<path>[^"']+)["'][ \t]*$""", re.M)
TIMEOUT = 60


@attrs.frozen
class Block:
    page: str
    line: int
    source: str
    skip: str | None


def pages() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in found if "```python" in p.read_text(encoding="utf-8")]


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        # The marker sits on the line before the fence (an ``fmt: off`` may come between).
        marker = next((ln for ln in reversed(before[-3:]) if ln.startswith("<!--")), "")
        skip = SKIP.match(marker)
        if "doc-test" in marker and skip is None:
            raise ValueError(f"{page}: malformed marker {marker!r}; write {SKIP.pattern}")
        source = INCLUDE.sub(
            lambda m: (ROOT / m.group("path")).read_text(encoding="utf-8"), match.group(1)
        )
        blocks.append(
            Block(
                page=str(page.relative_to(ROOT)),
                line=text.count("\n", 0, match.start()) + 1,
                source=source,
                skip=skip.group("reason") if skip else None,
            )
        )
    return blocks


class _RunToAwait(ast.NodeTransformer):
    """``anyio.run(f, *args)`` / ``trio.run(f, *args)`` / ``asyncio.run(f(...))`` at the
    top level become ``await f(*args)``: the page already runs in an event loop."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        node.body = [self._rewrite(statement) for statement in node.body]
        return node

    @staticmethod
    def _rewrite(statement: ast.stmt) -> ast.stmt:
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            return statement
        call = statement.value
        func = call.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr == "run"
            and isinstance(func.value, ast.Name)
            and func.value.id in ("anyio", "trio", "asyncio")
            and call.args
        ):
            return statement
        if func.value.id == "asyncio":
            awaited: ast.expr = call.args[0]
        else:
            awaited = ast.Call(func=call.args[0], args=call.args[1:], keywords=[])
        return ast.copy_location(ast.Expr(value=ast.Await(value=awaited)), statement)


async def run_block(block: Block, namespace: dict[str, Any]) -> None:
    tree = ast.fix_missing_locations(_RunToAwait().visit(ast.parse(block.source)))
    filename = f"{block.page}:{block.line}"
    code = compile(tree, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    before = set(namespace)
    result = eval(code, namespace)
    if result is not None:
        await result
    # A block that shows a test (``async def test_...():``) has it run, as pytest would.
    for name in sorted(set(namespace) - before):
        test = namespace[name]
        if (
            name.startswith("test_")
            and inspect.iscoroutinefunction(test)
            and not inspect.signature(test).parameters
        ):
            await test()


def page_ids() -> Iterator[Any]:
    for page in pages():
        yield pytest.param(page, id=str(page.relative_to(ROOT)))


@pytest.fixture
def anyio_backend() -> str:
    # The pages' blocks run on asyncio: a few use asyncio itself, and the client and the
    # emulator are tested on both backends elsewhere.
    return "asyncio"


@pytest.mark.parametrize("page", list(page_ids()))
async def test_the_python_blocks_of_a_page_run(
    page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocks = blocks_of(page)
    runnable = [b for b in blocks if b.skip is None]
    if not runnable:
        reasons = "; ".join(sorted({b.skip or "" for b in blocks}))
        pytest.skip(f"every block of this page is marked: {reasons}")
    emulator = SmartcarEmulator(vehicles=5, seed=1)
    # A car that can do every command the docs show (charge schedules included).
    car = emulator.add_vehicle("Tesla", "Model 3", 2024, "BEV")
    webhook_id = emulator.add_webhook(data=["tractionbattery-stateofcharge"])
    emulator.subscribe(webhook_id, car.vehicle_id)
    body = emulator.vehicle_state_event(car.vehicle_id).render("delivery-1", 1_780_000_000.0)
    monkeypatch.chdir(tmp_path)
    async with emulator.serve() as base_url:
        kwargs = emulator.client_kwargs(base_url=base_url)
        # What `smartcar-async emulator serve` tells a reader to export.
        for name, value in emulator_environment(emulator, base_url).items():
            monkeypatch.setenv(name, value)
        async with sc.SmartcarClient(**kwargs) as client:
            namespace: dict[str, Any] = {
                "__name__": "doc_block",
                "sc": sc,
                "smartcar_async": sc,
                "client": client,
                "emulator": emulator,
                "car": car,
                "vehicle_id": car.vehicle_id,
                "user_id": car.user_id,
                "connection_id": car.connection_id,
                "vid": car.vehicle_id,
                "vehicle_ids": [entry.vehicle_id for entry in emulator.fleet()],
                "webhook_id": webhook_id,
                "hook_id": webhook_id,
                "amt": emulator.management_token,
                # A webhook delivery, as a receiver gets it.
                "body": body,
                "headers": {"sc-signature": emulator.sign(body)},
                "management_token": emulator.management_token,
                "os": os,
            }
            try:
                for block in runnable:
                    with anyio.fail_after(TIMEOUT):
                        try:
                            await run_block(block, namespace)
                        except Exception as exc:
                            raise AssertionError(
                                f"{block.page}:{block.line} failed: {type(exc).__name__}: {exc}"
                            ) from exc
            finally:
                # A page may make clients of its own (``client = sc.SmartcarClient(...)``)
                # and leave them to the reader's program: close them as it would.
                for value in list(namespace.values()):
                    if isinstance(value, sc.SmartcarClient) and not value.is_closed:
                        await value.aclose()

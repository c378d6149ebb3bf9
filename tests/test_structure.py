"""The package's shape: no import cycles, small functions, modules of a readable size.

Read from the source with `ast`, so nothing is imported or run:

- an import cycle is a loop among the modules' imports, at module level or inside a
  function (``if TYPE_CHECKING:`` blocks do not count: they never run);
- cyclomatic complexity is counted per function the way radon counts it: 1, plus one
  for each ``if``/``elif``, conditional expression, ``assert``, loop (and its ``else``),
  ``except`` and ``else`` of a ``try``, comprehension and its ``if`` clauses, ``case``
  other than ``case _``, and each extra operand of ``and``/``or``; a nested function
  counts on its own (radon's ``cc`` gives the same numbers);
- a module's size is its number of lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "smartcar_async"
MAX_COMPLEXITY = 15
MAX_LINES = 700


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


# ---------------------------------------------------------------------------- imports


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _runtime_imports(ast.Module(body=node.orelse, type_ignores=[]))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            yield from _runtime_imports(node)


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        is_package = MODULES[module].name == "__init__.py"
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    for alias in node.names:
        submodule = f"{target}.{alias.name}"
        yield submodule if submodule in MODULES else target


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports when it runs."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {
            target
            for node in _runtime_imports(tree)
            for target in _imported(module, node)
            if target in MODULES and target != module
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports_it_should() -> None:
    graph = import_graph()
    assert "smartcar_async._errors" in graph["smartcar_async._client"]
    assert "smartcar_async.signals._parse" in graph["smartcar_async.signals"]
    # TYPE_CHECKING imports never run: resources may name the client in annotations.
    assert "smartcar_async._client" not in graph["smartcar_async.resources.vehicles"]


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(import_graph()) == []


def test_core_never_imports_testing_or_cli() -> None:
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith(("smartcar_async.testing", "smartcar_async.cli")):
            continue
        leaks = {
            t for t in targets if t.startswith(("smartcar_async.testing", "smartcar_async.cli"))
        }
        assert not leaks, (module, leaks)


def test_resources_never_import_the_client_when_they_run() -> None:
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("smartcar_async.resources"):
            assert "smartcar_async._client" not in targets, module


# ------------------------------------------------------------------------- complexity


class _Complexity(ast.NodeVisitor):
    def __init__(self) -> None:
        self.score = 1

    def _nested(self, node: ast.AST) -> None:
        pass  # a nested function or class is measured on its own

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _nested

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, (ast.If, ast.IfExp, ast.Assert)):
            self.score += 1
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            self.score += 1 + bool(node.orelse)
        elif isinstance(node, ast.Try):
            self.score += len(node.handlers) + bool(node.orelse)
        elif isinstance(node, ast.BoolOp):
            self.score += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            self.score += 1 + len(node.ifs)
        elif isinstance(node, ast.match_case):
            wildcard = isinstance(node.pattern, ast.MatchAs) and node.pattern.pattern is None
            self.score += not wildcard
        super().generic_visit(node)


def complexity(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Cyclomatic complexity of one function's own body."""
    visitor = _Complexity()
    for statement in function.body:
        visitor.visit(statement)
    return visitor.score


def _functions() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{module}:{node.lineno} {node.name}", node


def test_complexity_counts_what_it_should() -> None:
    source = """
def f(x, items):
    if x and items or not x:
        return [i for i in items if i]
    for i in items:
        try:
            pass
        except ValueError:
            pass
    else:
        pass
    def inner():
        if x:
            pass
    return 1 if x else 2
"""
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    # 1 + if 1 + and/or 2 + comprehension 2 + for-else 2 + except 1 + conditional 1
    assert complexity(function) == 10


def test_no_function_is_too_complex() -> None:
    too_complex = {
        name: score
        for name, function in _functions()
        if (score := complexity(function)) > MAX_COMPLEXITY
    }
    assert too_complex == {}, f"split these (limit {MAX_COMPLEXITY}): {too_complex}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_too_long(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines (limit {MAX_LINES}): split it"

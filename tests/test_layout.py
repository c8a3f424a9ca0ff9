"""The package's layout holds: layers import downwards only, no cycle, no long function."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dfs_async"

LAYERS = {
    "_errors": 0,
    "_version": 0,
    "_config": 0,
    "_platforms": 0,
    "_wire": 1,
    "_governance": 2,
    "_http": 3,
    "_records": 4,
    "_sweep": 5,
    "testing": 6,
    "visibility": 6,
    "_cli": 7,
}
"""Data-flow order (README, Architecture): a module imports only from its own layer or lower.
The CLI and the visibility report may also import the public package (`dfs_async`), as a
user's script would."""

LONGEST = 80
"""Lines of code in one function, its docstring not counted."""


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every dfs_async module ``name`` imports (TYPE_CHECKING imports included)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("dfs_async"):
                for alias in node.names:  # "from . import x" may name a module
                    yield f"{target}.{alias.name}", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dfs_async"):
                    yield alias.name, node.lineno


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = {
        m for m, _ in modules() if layer(m) not in LAYERS and layer(m) not in (None, "__main__")
    }
    assert not unplaced


def test_layers_import_only_downwards() -> None:
    upward = []
    for name, path in modules():
        here = layer(name)
        if here not in LAYERS:
            continue  # the package root and __main__ re-export everything
        for target, line in imports(name, path):
            there = layer(target)
            if there not in LAYERS:  # a name the package root re-exports
                if here not in ("_cli", "visibility"):
                    upward.append(f"{name}:{line} imports the public package")
            elif there != here and LAYERS.get(there, 99) > LAYERS[here]:
                upward.append(f"{name}:{line} imports {target}")
    assert upward == []


def test_no_import_cycle() -> None:
    names = dict(modules())
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        graph[name] = set()
        for target, _ in imports(name, path):
            # "from . import x" names a module or a name; keep the longest module it can be.
            while target not in names and "." in target:
                target = target.rsplit(".", 1)[0]
            # A module importing a name its package's __init__ re-exports is not a cycle.
            if target != name and target in names and not name.startswith(target + "."):
                graph[name].add(target)
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(node) :], node]))
        if node in done:
            return
        for nxt in sorted(graph[node]):
            if not nxt.startswith(node + "."):
                visit(nxt, [*path, node])
        done.add(node)

    for name in sorted(graph):
        if layer(name) is not None:  # the root re-exports; its edges point down by design
            visit(name, [])


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    assert node.end_lineno is not None
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        assert first.end_lineno is not None
        lines -= first.end_lineno - first.lineno + 1  # a public entry point's docs
    return lines


def test_no_function_is_longer_than_80_lines() -> None:
    long = []
    for name, path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if (n := code_lines(node)) > LONGEST:
                long.append(f"{name}.{node.name}: {n} lines")
    assert long == []


def test_no_private_name_of_another_library_is_used() -> None:
    # A rename inside a dependency must fail loudly at import, never quietly change behaviour.
    used = []
    for name, path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        libraries = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                libraries |= {
                    (alias.asname or alias.name).split(".")[0]
                    for alias in node.names
                    if not alias.name.startswith("dfs_async")
                }
            elif isinstance(node, ast.ImportFrom) and not node.level:
                if (node.module or "").startswith("dfs_async"):
                    continue
                used += [
                    f"{name}: from {node.module} import {a.name}"
                    for a in node.names
                    if private(a.name)
                ]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in libraries
                and private(node.attr)
            ):
                used.append(f"{name}:{node.lineno}: {node.value.id}.{node.attr}")
    assert used == []


def private(attribute: str) -> bool:
    return attribute.startswith("_") and not attribute.endswith("__")

"""Every runtime dependency in pyproject.toml earns its place: the package imports it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_modules() -> set[str]:
    """Top-level names of every module that some file of the package imports."""
    found: set[str] = set()
    for path in (REPO / "dfs_async").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def runtime_dependencies() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0] for spec in project["dependencies"]]


def test_the_package_imports_every_runtime_dependency() -> None:
    by_distribution: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for distribution in distributions:
            by_distribution.setdefault(distribution.lower().replace("_", "-"), set()).add(module)
    imported = imported_modules()
    modules = {
        name: by_distribution.get(name.lower().replace("_", "-")) for name in runtime_dependencies()
    }
    assert all(modules.values()), f"not installed: {[n for n, m in modules.items() if not m]}"
    unused = [name for name, provided in modules.items() if not provided or not provided & imported]
    assert not unused, f"runtime dependencies dfs_async never imports: {unused}"

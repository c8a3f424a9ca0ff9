"""The public surface: every exported name imports, has a docstring, and the README names it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import dfs_async
import dfs_async.testing

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

# Names whose values are data or aliases, not objects with their own docstring.
NOT_DOCUMENTABLE = {"__version__", "DEFAULT_COSTS", "PLATFORMS", "Platform"}


@pytest.mark.parametrize("name", dfs_async.__all__)
def test_exported_name_is_documented(name: str) -> None:
    obj = getattr(dfs_async, name)
    if name not in NOT_DOCUMENTABLE:
        assert inspect.getdoc(obj), f"{name} has no docstring"
    if name != "__version__":
        assert f"`{name}" in README or f"{name}(" in README or f" {name}" in README, (
            f"README.md does not mention {name}"
        )


@pytest.mark.parametrize("name", dfs_async.testing.__all__)
def test_testing_name_is_documented(name: str) -> None:
    assert inspect.getdoc(getattr(dfs_async.testing, name))
    assert name in README


def test_all_is_unique_and_complete() -> None:
    # Order is ruff's (RUF022); here only that nothing is listed twice or left out.
    assert len(set(dfs_async.__all__)) == len(dfs_async.__all__)
    # Subpackages appear as attributes once imported anywhere in the process.
    public = {n for n in vars(dfs_async) if not n.startswith("_")} - {"testing", "visibility"}
    assert public <= set(dfs_async.__all__) | {"annotations"}


def test_py_typed_is_shipped() -> None:
    assert (Path(dfs_async.__file__).parent / "py.typed").exists()

"""The public surface of dfs_async.visibility: sorted, documented, shown under its own name."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import dfs_async.visibility as visibility


def test_all_is_sorted_and_unique() -> None:
    assert list(visibility.__all__) == sorted(set(visibility.__all__))


@pytest.mark.parametrize("name", visibility.__all__)
def test_name_is_documented_and_public(name: str) -> None:
    obj = getattr(visibility, name)
    assert inspect.getdoc(obj), f"{name} has no docstring"
    assert obj.__module__ == "dfs_async.visibility"


def test_scoring_needs_no_plotting_library() -> None:
    """``import dfs_async.visibility`` and scoring never import matplotlib (the extra)."""
    code = (
        "import sys, dfs_async, dfs_async.visibility as v; "
        "v.Matcher(v.parse_brands({'brands': {'a': {'names': ['A']}}})).find('A'); "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

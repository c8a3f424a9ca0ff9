"""The README's visibility section: its TOML is the config the loader reads, its Python runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import msgspec

from dfs_async.visibility import parse_brands

from ._fixtures import record

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
SECTION = README.split("## Visibility report", 1)[1].split("\n## ", 1)[0]


def block(language: str) -> str:
    (found,) = re.findall(rf"```{language}\n(.*?)```", SECTION, re.S)
    return str(found)


def test_the_toml_example_is_a_valid_config() -> None:
    config = parse_brands(tomllib.loads(block("toml")))
    assert [b.key for b in config.brands] == ["acme", "globex"]


def test_the_python_example_runs(tmp_path: Path) -> None:
    (tmp_path / "brands.toml").write_text(block("toml"), encoding="utf-8")
    lines = [record(f"p{i}", "Acme and Globex" if i % 2 else "Globex") for i in range(6)]
    (tmp_path / "results.jsonl").write_bytes(b"\n".join(msgspec.json.encode(r) for r in lines))
    done = subprocess.run(
        [sys.executable, "-c", block("python")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=True,
    )
    assert done.stdout.splitlines()[0].startswith("Acme         3/6 [")

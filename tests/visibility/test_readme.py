"""The README's visibility section: its TOML is the config the loader reads (its Python runs
against the emulator in tests/test_readme.py, like every block of the README)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from dfs_async.visibility import parse_brands

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
SECTION = README.split("## Visibility report", 1)[1].split("\n## ", 1)[0]


def block(language: str) -> str:
    (found,) = re.findall(rf"```{language}\n(.*?)```", SECTION, re.S)
    return str(found)


def test_the_toml_example_is_a_valid_config() -> None:
    config = parse_brands(tomllib.loads(block("toml")))
    assert [b.key for b in config.brands] == ["acme", "globex"]

"""Every ```python block of the README runs as pasted, against the emulator.

Each block runs alone in a fresh interpreter, as a user would paste it into ``python -m
asyncio`` (top-level ``await`` allowed), with only the environment `dfs-async emulate` tells a
shell to set: the emulator's credentials and ``DATAFORSEO_BASE_URL`` (and a Redis for the block
that shares governance).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dfs_async.testing import EmulatorProcess, RedisServer

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

RUNNER = """
import ast, asyncio, sys
source = open(sys.argv[1], encoding="utf-8").read()
code = compile(source, "README block", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
async def main() -> None:
    result = eval(code, {"__name__": "__main__"})
    if result is not None:
        await result
asyncio.run(main())
"""


def blocks() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


@pytest.fixture(scope="module")
def environment() -> Iterator[dict[str, str]]:
    with (
        EmulatorProcess(latency=(0.0, 0.05), standard_delay=(0.1, 0.3), seed=2) as emu,
        RedisServer() as redis,
    ):
        yield {
            **os.environ,
            "DATAFORSEO_LOGIN": emu.login,
            "DATAFORSEO_PASSWORD": emu.password,
            "DATAFORSEO_BASE_URL": emu.base_url,
            "DFS_REDIS_URL": redis.url,
        }


def test_the_readme_has_python_blocks() -> None:
    assert len(blocks()) >= 6


@pytest.mark.parametrize(("line", "source"), blocks(), ids=[f"line{n}" for n, _ in blocks()])
def test_a_readme_block_runs_as_pasted(
    line: int, source: str, environment: dict[str, str], tmp_path: Path
) -> None:
    block = tmp_path / "block.py"
    block.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(block)],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"README line {line}:\n{done.stderr[-3000:]}"

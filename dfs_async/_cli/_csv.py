"""Prompts from a CSV file, the way analysts keep them: a header row, a prompt column, an
optional ``id`` column, and every other column carried as the row's metadata (never sent)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from .._sweep._items import PromptItem

ID_COLUMN: Final = "id"
_BOM: Final = "\ufeff"

Problem = Callable[[int, str], None]
"""Called with a line number and what is wrong there."""


def csv_rows(
    lines: Iterable[bytes], column: str, problem: Problem
) -> Iterator[tuple[int, PromptItem]]:
    """Each row with a prompt as a `PromptItem`, with the line it starts on; ``problem`` hears
    of every bad row.

    A row whose cells are all empty is skipped, like a blank line; a row with a different
    number of cells than the header, or an empty prompt, is a problem (with its line number).
    """
    source = _decoded(lines, problem)
    reader = csv.reader(source, strict=False)
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    if column not in header:
        shown = ", ".join(repr(name) for name in header)
        problem(
            1,
            f"no {column!r} column (the header row has {shown}); name the prompts' column "
            "with --prompt-column",
        )
        return
    at = header.index(column)
    id_at = header.index(ID_COLUMN) if ID_COLUMN in header and column != ID_COLUMN else None
    others = [(i, name) for i, name in enumerate(header) if i not in (at, id_at)]
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem(start, f"not CSV: {exc}")
            return
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problem(start, f"{len(row)} cells, but the header row has {len(header)}")
            continue
        prompt = row[at].strip()
        if not prompt:
            problem(start, f"the {column!r} cell is empty")
            continue
        row_id = row[id_at].strip() if id_at is not None else ""
        metadata = {name: row[i] for i, name in others} or None
        yield start, PromptItem(prompt, row_id or None, metadata)


def _decoded(lines: Iterable[bytes], problem: Problem) -> Iterator[str]:
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem(
                number,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1});"
                " save the file as UTF-8",
            )
            line = raw.decode("utf-8", "replace")
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]  # an editor's byte order mark, not part of the header
        yield line

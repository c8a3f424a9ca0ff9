"""The report's tables as one value, and how a cell shows a value (CSV and page alike)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._config import BrandConfig
from ._metrics import FORMULAS, Row
from ._score import DrillAnswer


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Every table of a visibility report (rows are dicts keyed by column name)."""

    snapshots: tuple[str, ...]
    configs: tuple[BrandConfig, ...]
    brands: list[Row]
    overall: list[Row]
    domains: list[Row]
    costs: list[Row]
    diff: list[Row]
    domain_changes: list[Row]
    candidates: list[Row] | None
    """None unless asked for."""
    drilldown: list[DrillAnswer] = field(default_factory=list)
    entity_names: tuple[tuple[str, ...], ...] = ()
    """Brand then product names, per snapshot (a `DrillAnswer` mention's index is into these)."""
    by: str | None = None
    formulas: Mapping[str, str] = field(default_factory=lambda: dict(FORMULAS))

    @property
    def answers(self) -> int:
        """Answered calls over every snapshot."""
        return sum(int(str(r["answers"])) for r in self.costs)

    @property
    def failed(self) -> int:
        """Calls without an answer over every snapshot."""
        return sum(int(str(r["failed"])) for r in self.costs)


def format_cell(value: object) -> str:
    """The text a table cell shows for ``value``, identical in the CSV and on the page."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

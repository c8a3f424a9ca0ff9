"""The page's charts: rate axes fit the data and read in percent, like the page's numbers."""

from __future__ import annotations

import re

import pytest

from dfs_async.visibility import _charts
from dfs_async.visibility._metrics import Row

pytest.importorskip("matplotlib")


@pytest.mark.parametrize(
    ("highest", "end"),
    [(0.0, 0.1), (0.04, 0.1), (0.1, 0.1), (0.1000001, 0.2), (0.23, 0.3), (0.7, 0.7), (1.0, 1.0)],
)
def test_a_rate_axis_ends_at_the_highest_whisker_rounded_up_to_a_tenth(
    highest: float, end: float
) -> None:
    assert _charts.axis_end(highest) == end


def ticks(svg: str) -> list[str]:
    """The tick labels of the chart's axes, as the SVG holds them (text stays text)."""
    return re.findall(r">(\d+(?:\.\d+)?%)<", svg)


def test_mention_rates_of_a_few_percent_fill_the_chart_in_percent() -> None:
    rows: list[Row] = [
        {
            "brand": b,
            "engine": e,
            "mention_rate": r,
            "mention_rate_lo": r / 2,
            "mention_rate_hi": r + 0.08,
        }
        for b, r in (("Acme", 0.12), ("Globex", 0.03))
        for e in ("chat_gpt", "claude")
    ]
    labels = ticks(_charts.mention_rates(rows, ["Acme", "Globex"], ["chat_gpt", "claude"]))
    assert labels[0] == "0%" and labels[-1] == "20%"  # the highest whisker is at 20 %
    assert "100%" not in labels


def test_share_of_voice_reads_in_percent_to_100() -> None:
    rows: list[Row] = [
        {"brand": "Acme", "engine": "claude", "share_of_voice": 0.6},
        {"brand": "Globex", "engine": "claude", "share_of_voice": 0.4},
    ]
    labels = ticks(_charts.share_of_voice(rows, ["Acme", "Globex"], ["claude"]))
    assert labels[0] == "0%" and labels[-1] == "100%"

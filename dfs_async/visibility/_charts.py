"""The page's charts: matplotlib figures rendered as inline SVG (the ``report`` extra).

No pyplot: each chart is a bare `matplotlib.figure.Figure`, so nothing global changes in the
caller's process. The SVG is stripped of its prolog, DOCTYPE and metadata, so the only URLs
left in it are XML namespaces; text stays text (``svg.fonttype = none``), so the page is small
and its numbers can be read back.
"""

from __future__ import annotations

import importlib.util
import io
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from ._metrics import Row

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OWNER_COLOURS: Final = {"primary": "#d62728", "competitor": "#ff7f0e", "": "#7f7f7f"}
ENGINE_COLOURS: Final = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22")
_PROLOG: Final = re.compile(r"^.*?(?=<svg)", re.S)
_METADATA: Final = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def available() -> bool:
    """True when matplotlib (the ``report`` extra) is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    rcParams["svg.fonttype"] = "none"
    rcParams["svg.hashsalt"] = "dfs_async"  # stable element ids: the same data, the same page
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None})
    return _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1))


def _f(value: object) -> float:
    return float(str(value)) if value is not None else 0.0


def mention_rates(rows: Sequence[Row], brands: Sequence[str], engines: Sequence[str]) -> str:
    """Mention rate per brand, one bar per engine, whiskers at the 95 % Wilson bounds."""
    fig, ax = _figure(9, 0.45 * len(brands) * max(1, len(engines)) ** 0.5 + 1.4)
    cell = {(str(r["brand"]), str(r["engine"])): r for r in rows}
    height = 0.8 / max(1, len(engines))
    top = 0.0
    for j, engine in enumerate(engines):
        ys, xs, lo, hi = [], [], [], []
        for i, brand in enumerate(brands):
            row = cell.get((brand, engine))
            if row is None or row["mention_rate"] is None:
                continue
            rate = _f(row["mention_rate"])
            ys.append(i + (j - (len(engines) - 1) / 2) * height)
            xs.append(rate)
            lo.append(rate - _f(row["mention_rate_lo"]))
            hi.append(_f(row["mention_rate_hi"]) - rate)
            top = max(top, _f(row["mention_rate_hi"]))
        colour = ENGINE_COLOURS[j % len(ENGINE_COLOURS)]
        ax.barh(ys, xs, height=height, color=colour, label=engine, xerr=[lo, hi], capsize=2)
    ax.set_yticks(range(len(brands)), list(brands))
    ax.invert_yaxis()
    ax.set_xlim(0, axis_end(top))
    _percent(ax)
    ax.set_xlabel("mention rate (answers naming the brand / answers), 95% Wilson interval")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return _svg(fig)


def axis_end(highest: float) -> float:
    """Where a rate axis ends: the highest whisker rounded up to a tenth, 0.1 to 1. Rates of a
    few percent would be slivers on an axis to 100 %."""
    return min(1.0, max(0.1, math.ceil(round(highest * 10, 6)) / 10))


def _percent(ax: Axes, axis: str = "x") -> None:
    """Ticks of a 0–1 axis read as whole percentages, like the page's numbers (steps of 1, 2
    or 5 times a power of ten: never 2.5 %)."""
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(steps=[1, 2, 5, 10]))
    target.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def share_of_voice(rows: Sequence[Row], brands: Sequence[str], engines: Sequence[str]) -> str:
    """Per engine, a 100 % bar split between the tracked brands."""
    from matplotlib import colormaps

    fig, ax = _figure(9, 0.5 * len(engines) + 1.8)
    cell = {(str(r["brand"]), str(r["engine"])): _f(r["share_of_voice"]) for r in rows}
    left = [0.0] * len(engines)
    palette = colormaps["tab20"]
    for i, brand in enumerate(brands):
        widths = [cell.get((brand, e), 0.0) for e in engines]
        ax.barh(range(len(engines)), widths, left=left, color=palette(i % 20), label=brand)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(range(len(engines)), list(engines))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    _percent(ax)
    ax.set_xlabel("share of voice (brand's mentions / all tracked brands' mentions)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncols=6, fontsize="x-small")
    return _svg(fig)


def heatmap(rows: Sequence[Row], brands: Sequence[str], engines: Sequence[str]) -> str:
    """Brand × engine mention rates as coloured cells, each labelled with its rate."""
    fig, ax = _figure(1.6 * len(engines) + 2.5, 0.38 * len(brands) + 1.2)
    cell = {(str(r["brand"]), str(r["engine"])): r for r in rows}
    grid = [
        [_f(cell[b, e]["mention_rate"]) if (b, e) in cell else 0.0 for e in engines] for b in brands
    ]
    # Vector cells (pcolormesh), not an embedded bitmap (imshow).
    ax.pcolormesh(grid, cmap="Blues", vmin=0, vmax=1, edgecolors="white", linewidth=1)
    for i, brand in enumerate(brands):
        for j, engine in enumerate(engines):
            row = cell.get((brand, engine))
            if row is None or row["mention_rate"] is None:
                continue
            value = _f(row["mention_rate"])
            label = f"{100 * value:.0f}%" + ("*" if row["too_small"] else "")
            ax.text(
                j + 0.5,
                i + 0.5,
                label,
                ha="center",
                va="center",
                color="white" if value > 0.55 else "black",
                fontsize="small",
            )
    ax.set_xticks([j + 0.5 for j in range(len(engines))], list(engines))
    ax.set_yticks([i + 0.5 for i in range(len(brands))], list(brands))
    ax.invert_yaxis()
    ax.xaxis.tick_top()
    return _svg(fig)


def top_domains(rows: Sequence[Row], top: int = 15) -> str:
    """The domains cited by most answers (all engines), coloured by owner."""
    fig, ax = _figure(9, 0.32 * min(top, len(rows)) + 1.2)
    shown = list(rows[:top])
    ax.barh(
        range(len(shown)),
        [_f(r["used_rate"]) for r in shown],
        color=[OWNER_COLOURS.get(str(r["owner"]), OWNER_COLOURS[""]) for r in shown],
    )
    ax.set_yticks(range(len(shown)), [str(r["domain"]) for r in shown])
    ax.invert_yaxis()
    ax.set_xlim(0, axis_end(max((_f(r["used_rate"]) for r in shown), default=0.0)))
    _percent(ax)
    ax.set_xlabel(
        "used rate (answers citing the domain / answers); red: yours, orange: a competitor's"
    )
    return _svg(fig)


def trends(rows: Sequence[Row], brands: Sequence[str], snapshots: Sequence[str]) -> str:
    """Mention rate over snapshots per brand (all engines), with its bootstrap interval."""
    fig, ax = _figure(9, 4)
    x = list(range(len(snapshots)))
    top = 0.0
    for i, brand in enumerate(brands):
        by = {str(r["snapshot"]): r for r in rows if r["brand"] == brand}
        points = [by.get(s) for s in snapshots]
        ys = [_f(p["mention_rate"]) if p else float("nan") for p in points]
        lo = [_f(p["mention_rate_lo"]) if p else float("nan") for p in points]
        hi = [_f(p["mention_rate_hi"]) if p else float("nan") for p in points]
        line = ax.plot(x, ys, marker="o", label=brand)[0]
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.12)
        top = max([top, *(h for h in hi if not math.isnan(h))])
        del i
    ax.set_xticks(x, list(snapshots))
    ax.set_ylim(0, axis_end(top))
    _percent(ax, "y")
    ax.set_ylabel("mention rate, all engines (95% bootstrap over prompts)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=6, fontsize="x-small")
    return _svg(fig)

"""Charts for Part 2: each category's share of service users, with its 95% interval,
beside the area's share from Census 2021.

Matplotlib is used through its object API on the Agg canvas (no pyplot, no global
backend switch, safe in a server). The two series differ by marker shape and fill as
well as colour, and a legend names them, so nothing depends on colour. Every chart
comes with an alt text that states the numbers in words.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from eqia.outputs import atomic_write
from eqia.render.view import pct

#: Dots per inch of the PNG: sharp in print at the width the documents use (15 cm).
DPI = 150
WIDTH_IN = 6.3
LABEL_WIDTH = 32  # characters before a category name wraps

SERVICE_COLOUR = "#1f4e79"  # dark blue: 9:1 contrast on white
BASELINE_COLOUR = "#b35806"  # dark orange: 4.9:1 on white


def alt_text(chart: dict, name: str | None = None, area: str | None = None) -> str:
    """The chart in words: what it compares, and its largest difference in figures."""
    name = name or chart.get("title") or "characteristic"
    area = area or chart.get("area") or "the area"
    who = _population(chart, area)
    cats = chart["categories"]
    pairs = [(c, s, b) for c, s, b in zip(cats, chart["service"], chart["baseline"], strict=True)
             if s is not None and b is not None]
    text = (f"Chart comparing the share of service users in each {name.lower()} category "
            f"({len(cats)} categor{'y' if len(cats) == 1 else 'ies'}) with the share of {who}, Census 2021. "
            "Service shares are shown with 95% intervals.")
    if pairs:
        cat, s, b = max(pairs, key=lambda p: round(abs(p[1] - p[2]), 6))
        text += (f" Largest difference: {cat} {pct(s)} of service users vs {pct(b)} of "
                 f"{who}.")
    return text + " The table gives every figure."


def _population(chart: dict, area: str) -> str:
    """The population the chart's diamonds are, e.g. "Maidstone's population aged 65 and
    over" (``chart["population"]``), or the area's residents."""
    return chart.get("population") or f"{area} residents"


def _short(area: str, width: int = 14) -> str:
    return area if len(area) <= width else area[: width - 1].rstrip() + "\u2026"


def wrap_label(label: str) -> str:
    return "\n".join(textwrap.wrap(label, LABEL_WIDTH)) or label


def chart_png(chart: dict, path: str | Path, name: str | None = None,
              area: str | None = None, dpi: int = DPI) -> tuple[Path, str]:
    """Draw ``chart`` (the context's ``part2[i].chart``) to ``path``; return (path, alt text)."""
    path = Path(path)
    area = area or chart.get("area") or "Area"
    name = name or chart.get("title") or ""
    cats = list(chart["categories"])
    labels = [wrap_label(c) for c in cats]
    extra_lines = sum(lab.count("\n") for lab in labels)
    height = 1.35 + 0.4 * len(cats) + 0.13 * extra_lines

    fig = Figure(figsize=(WIDTH_IN, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    # The plot, and beside it a column with each row's two figures: small groups sit
    # close together near 0% when one group is most of the population, and the numbers
    # keep them readable.
    ax, numbers = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [4.2, 1.1]})
    ys = list(range(len(cats)))[::-1]  # first category at the top, as in the table

    service = [s if s is not None else float("nan") for s in chart["service"]]
    lo = [max(0.0, s - (low if low is not None else s))
          for s, low in zip(service, chart["ci_low"], strict=True)]
    hi = [max(0.0, (high if high is not None else s) - s)
          for s, high in zip(service, chart["ci_high"], strict=True)]
    baseline = [b if b is not None else float("nan") for b in chart["baseline"]]

    points = ax.errorbar(service, [y + 0.12 for y in ys], xerr=[lo, hi], fmt="o", color=SERVICE_COLOUR,
                ecolor=SERVICE_COLOUR, elinewidth=1.6, capsize=4, markersize=7,
                label="Service users (with 95% interval)", zorder=3)
    diamonds = ax.scatter(baseline, [y - 0.12 for y in ys], marker="D", s=42, facecolors="white",
               edgecolors=BASELINE_COLOUR, linewidths=1.8,
               label="\n".join(textwrap.wrap(
                   f"{_population(chart, area)} (Census 2021)", 48)), zorder=4)

    ax.set_yticks(ys, labels, fontsize=9)
    ax.set_ylim(-0.7, len(cats) - 0.3)
    top = max([v for v in service + baseline + [h + s for h, s in zip(hi, service, strict=True)]
               if v == v] or [0.1])
    ax.set_xlim(0, min(1.0, top * 1.12 + 0.01))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(axis="x", labelsize=9)
    ax.set_xlabel("Share of people with a recorded value", fontsize=9)
    ax.grid(axis="x", color="#d0d0d0", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if name:
        ax.set_title(name, fontsize=10, loc="left", fontweight="bold")
    numbers.set_axis_off()
    numbers.set_xlim(0, 1)
    numbers.set_title(f"Service / {_short(area)}", fontsize=8.5, loc="left")
    for y, s, b in zip(ys, chart["service"], chart["baseline"], strict=True):
        numbers.text(0.02, y, f"{pct(s)} / {pct(b)}", va="center", ha="left", fontsize=8.5)
    fig.legend([points, diamonds], [points.get_label(), diamonds.get_label()],
               loc="outside lower center", ncol=2, frameon=False, fontsize=8.5)
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=dpi))
    return path, alt_text(chart, name, area)

"""The annual report's trend charts: each category's share of the known, one bar per
period (newest darkest), and the population's share as a marked line. A hidden share is
labelled "not shown", never drawn as zero. The alt text comes with the chart's spec
(``eqia.documents.report``)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from eqia.render.charts import BASELINE_COLOUR, WIDTH_IN, wrap_label
from eqia.words import percent

#: Bar colours by period, oldest to newest: lighter to darker blue, so that the order
#: reads in greyscale too. The population's share is a line in the EqIA charts' colour.
PERIOD_COLOURS = ("#9ecae1", "#4292c6", "#2171b5", "#08306b")
EDGE = "#08306b"


def render_charts(context: dict) -> dict[str, bytes]:
    """PNG bytes for every characteristic's trend chart, keyed by its id."""
    return {c["id"]: trend_chart_png(c["chart"])
            for s in context["services"] for c in s["characteristics"] if c["chart"]}


def _colours(n: int) -> list[str]:
    if n == 2:
        return [PERIOD_COLOURS[0], PERIOD_COLOURS[-1]]
    return [PERIOD_COLOURS[max(0, len(PERIOD_COLOURS) - n + j)] for j in range(n)]


def trend_chart_png(spec: dict, dpi: int = 150) -> bytes:
    """The chart of ``spec`` (categories, periods, series, baseline, area) as PNG bytes."""
    cats, periods = spec["categories"], spec["periods"]
    colours = _colours(len(periods))
    labels = [wrap_label(str(c)) for c in cats]
    extra = sum(lab.count("\n") for lab in labels)
    fig = Figure(figsize=(WIDTH_IN, 1.1 + len(cats) * (0.17 * len(periods) + 0.14)
                          + 0.1 * extra), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    values = [v for p in periods for v in spec["series"][p] if v is not None]
    values += [b for b in spec["baseline"] if b is not None]
    top = max([*values, 0.01])
    xmax = top * 1.22 if top < 0.8 else 1.12
    _bars(ax, spec, colours, xmax)
    has_base = any(b is not None for b in spec["baseline"])
    for i, b in enumerate(spec["baseline"]):
        if b is not None:
            ax.plot([b, b], [i - 0.46, i + 0.46], color=BASELINE_COLOUR, linewidth=2.4,
                    zorder=3)
    _axes(ax, labels, xmax)
    handles = [Patch(facecolor=colours[j], edgecolor=EDGE, label=p)
               for j, p in enumerate(periods)]
    if has_base:
        handles.append(Line2D([0], [0], color=BASELINE_COLOUR, linewidth=2.4,
                              label=f"{spec['area']} population (Census 2021)"))
    fig.legend(handles=handles, fontsize=7, loc="upper center", ncol=len(handles),
               frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _bars(ax, spec: dict, colours: list[str], xmax: float) -> None:
    """One labelled bar per category and period; "not shown" where a share is hidden."""
    periods = spec["periods"]
    n_p = len(periods)
    bar_h = 0.8 / n_p
    for j, p in enumerate(periods):
        for i, v in enumerate(spec["series"][p]):
            y = i + (j - (n_p - 1) / 2) * bar_h
            if v is None:
                ax.text(xmax * 0.01, y, f"{p}: not shown (small number)", va="center",
                        fontsize=7, color="#333333")
                continue
            ax.barh(y, v, height=bar_h * 0.9, color=colours[j], edgecolor=EDGE,
                    linewidth=0.4)
            ax.text(v + xmax * 0.01, y, percent(v), va="center", fontsize=7,
                    color="#1f1f1f", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6,
                          "alpha": 0.85})


def _axes(ax, labels: list[str], xmax: float) -> None:
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # top to bottom; room for "not shown" labels too
    ax.set_xlim(0, xmax)
    ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= min(1.0, xmax)])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("Share of service users with a known value", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)

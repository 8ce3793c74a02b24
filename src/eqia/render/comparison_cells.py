"""The words of one comparison row, as a table on a screen shows them: the share with its
interval, the ratio with its interval, the flag with its strength and p-value, and whether
missing data could explain the flag.

``eqia compare`` prints them on the terminal and ``eqia serve`` shows them on its
comparison page: one home below both skins, so the two always say the same. A cell with
no figure is empty (``eqia.words.EMPTY``), as in every data table. A cell may hold line
breaks; a web page shows them as spaces or lines, the terminal as lines.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from eqia.analysis.stats import p_text
from eqia.judgement.findings import one_in
from eqia.words import EMPTY, percent

#: How each flag is marked, in words (never by colour alone). The terminal colours these.
FLAG_MARKS = {
    "under": "▼ UNDER",
    "over": "▲ OVER",
    "none": "none",
    "too_few": "too few",
    "no_census_category": "no census\ncategory",
    "outside_ages": "outside\nthe ages",
}


def number(x: float, fmt: str = "{:.2f}") -> str:
    """A figure in ``fmt``; empty where there is none."""
    return EMPTY if pd.isna(x) else fmt.format(x)


def share_cell(row: pd.Series) -> str:
    """The service's share and its 95% interval: "12.3%\\n(10.1-14.8)"."""
    if pd.isna(row["service_share"]):
        return EMPTY
    return (f"{percent(row['service_share'], blank=EMPTY)}\n({100 * row['ci_low']:.1f}-"
            f"{100 * row['ci_high']:.1f})")


def ratio_cell(row: pd.Series) -> str:
    """The ratio of the service's share to the population's, and its interval."""
    if pd.isna(row["ratio"]):
        return EMPTY
    return f"{row['ratio']:.2f}\n({number(row['ratio_low'])}-{number(row['ratio_high'])})"


def flag_cell(row: pd.Series, marks: Mapping[str, str] = FLAG_MARKS) -> str:
    """The flag, its strength and its family-wise p-value; for a group with no flag, its
    screening signal (its own 95% test) where it has one. ``marks``: how each flag is
    written (the terminal passes them with colours)."""
    flag = marks.get(row["flag"], str(row["flag"]))
    if row["flag"] in ("under", "over"):
        flag += f"\n{row['strength']}"
    elif row["flag"] == "none" and row["signal_95"] in ("under", "over"):
        flag += f"\n(signal {'▼' if row['signal_95'] == 'under' else '▲'} {row['strength']})"
    if pd.notna(row["p_adjusted"]):
        flag += f"\n{p_text(row['p_adjusted'])}"
    return flag


def missing_cell(row: pd.Series) -> str:
    """Whether missing data could explain a flag, with its tipping point."""
    explain = row["missing_could_explain"]
    if row["flag"] not in ("under", "over") or explain is None or pd.isna(explain):
        return EMPTY
    tip = row["tipping_share"]
    if pd.isna(tip):
        return "no: holds\nwhatever" if row["unknown"] + row["invalid"] else EMPTY
    need = f"{'≤ ' if row['flag'] == 'over' else ''}{one_in(tip)}"
    return f"could explain\n(if {need})" if explain else f"unlikely\n(needs {need})"

"""``eqia report``'s tidy table (``eqia.documents.tidy``): every published category
figure, for BI tools. Read from the same protected tables as the documents, so a figure
they hide is empty here too, with ``suppressed`` true."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eqia.documents.report.model import RAG_TEXT, AnnualReport
from eqia.documents.tidy import TIDY_KEYS
from eqia.render.view import flag_words

#: The measures of ``report_tidy``, after ``TIDY_KEYS``.
REPORT_COLUMNS = (
    "count", "share_of_known", "suppressed", "people", "recorded", "recorded_share",
    "completeness_rating", "change_pp", "p_adjusted", "significant_change",
    "baseline_share", "ci_low", "ci_high", "compared_with_population",
)
#: Decimal places, as the report's workbook shows them (shares there in per cent):
#: never more precise than the published tables.
ROUNDING = {"change_pp": 1, "p_adjusted": 4, "baseline_share": 3, "ci_low": 3, "ci_high": 3}


def report_tidy(report: AnnualReport) -> pd.DataFrame:
    """Every published category figure of the report: service x characteristic x
    category x period, with the characteristic's completeness for that period and, for
    the latest period, the change since the previous one and the comparison with the
    population (as the report's tables show them). Total rows are left out (``recorded``
    is the total), so summing ``count`` never double counts."""
    rows = []
    for s in report.services:
        area = s.comparison.area.name if s.comparison is not None else report.config.area
        comp = s.completeness.set_index(["characteristic", "period"])
        for sec in s.sections:
            t = sec.table
            changes = sec.changes.set_index("category") if len(sec.changes) else None
            pop = sec.population.set_index("category") if len(sec.population) else None
            latest = sec.periods[-1] if sec.periods else None
            for cat in sec.counts.index:
                if cat not in t.values.index:
                    continue
                for p in sec.periods:
                    rows.append((area, s.name, p, sec.key, str(cat),
                                 *_published(t, cat, p),
                                 *_completeness(comp, sec.key, p),
                                 *_change(changes, cat, p == latest),
                                 *_population(pop, cat, p == latest)))
    frame = pd.DataFrame(rows, columns=[*TIDY_KEYS, *REPORT_COLUMNS])
    share_places = report.policy.share_decimals + 2  # the policy's per-cent places, as 0-1
    frame = frame.round({**ROUNDING, "share_of_known": share_places,
                         "recorded_share": share_places})
    for col in ("count", "people", "recorded"):
        frame[col] = frame[col].astype("Int64")
    for col in ("suppressed", "significant_change"):
        frame[col] = frame[col].astype("boolean")
    return frame


def _number(value) -> float:
    return np.nan if value is None or pd.isna(value) else float(value)


def _published(t, cat, period) -> tuple:
    """count (None where hidden), share of known (0-1; NaN where it or its total is
    hidden), suppressed."""
    count = t.value(cat, period)
    return count, _number(t.shares.at[cat, period]) / 100, bool(t.suppressed.at[cat, period])


def _completeness(comp: pd.DataFrame, key: str, period: str) -> tuple:
    """people, recorded (as published; None where hidden), their share, the rating."""
    if (key, period) not in comp.index:
        return None, None, np.nan, ""
    r = comp.loc[(key, period)]
    if not bool(r["collected"]):
        return None, None, np.nan, ""
    return (_count(r["people"]), _count(r["recorded"]), _number(r["share"]),
            RAG_TEXT.get(r["rag"], ""))


def _count(text) -> int | None:
    """A published count as shown ("1,235") as a number; None for the marker."""
    try:
        return int(str(text).replace(",", "").strip())
    except ValueError:
        return None


def _change(changes: pd.DataFrame | None, cat, latest: bool) -> tuple:
    if not latest or changes is None or cat not in changes.index:
        return np.nan, np.nan, None
    ch = changes.loc[cat]
    tested = pd.notna(ch["p_value"])
    return (_number(ch["change_pp"]), _number(ch["p_adjusted"]),
            bool(ch["significant"]) if tested else None)


def _population(pop: pd.DataFrame | None, cat, latest: bool) -> tuple:
    if not latest or pop is None or cat not in pop.index:
        return np.nan, np.nan, np.nan, ""
    r = pop.loc[cat]
    return (_number(r["baseline_share"]), _number(r["ci_low"]), _number(r["ci_high"]),
            flag_words(r["flag"], bool(r["hidden"])))

"""The latest period against the census, as the report may show it, and notes on
categories that one period's extract has and another's lacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eqia.analysis.stats import share_interval
from eqia.disclosure.engine import (
    ProtectedTable,
    direction_is_safe,
)
from eqia.disclosure.published import UNSAID

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    from eqia.analysis.comparison import Comparison


#: A category with nobody in one period is noted when, at its share in another period,
#: at least this many people would be expected: too many for the zero to be chance
#: (the chance of none when 5 are expected is under 1%).
CATEGORY_GAP_EXPECTED = 5


def category_set_notes(service: str, name: str, table: ProtectedTable, labels: list[str],
                        note) -> None:
    """A category recorded in one period's extract and absent from another's, when the
    absence is unlikely to be chance: the extracts may use different category sets (a
    new code, a list changed), so the change between them may not be real. Worked out
    from the published figures, so the note shows nothing the tables do not."""
    values = table.values
    total = table.policy.total_label
    if total not in values.index or len(labels) < 2:
        return
    for cat in values.index:
        if cat == total:
            continue
        for p in labels:
            k, n = values.at[cat, p], values.at[total, p]
            if pd.isna(k) or pd.isna(n) or k != 0 or not n:
                continue
            for q in labels:
                kq, nq = values.at[cat, q], values.at[total, q]
                if q == p or pd.isna(kq) or pd.isna(nq) or not nq or not kq:
                    continue
                if kq / nq * n >= CATEGORY_GAP_EXPECTED:
                    note("categories-differ",
                         f"{service}: no one is recorded as '{cat}' ({name.lower()}) in "
                         f"{p}, but {table.share_text(cat, q)} of those recorded are in "
                         f"{q}. Check that both extracts offer this category before "
                         "reading the change between them.")
                    break


def population_rows(key: str, comparison: Comparison | None, table: ProtectedTable,
                latest: str | None) -> pd.DataFrame:
    """Latest period vs the census: shares and flags; intervals from the published counts.

    Flags are the true comparison's (publishing changes no finding). Where a count is
    hidden its finding says only its direction, and only where that cannot narrow the
    count to one value (``disclosure.direction_is_safe``; otherwise ``UNSAID``); nor
    whether missing data or age could explain it.
    """
    cols = ["category", "baseline_share", "flag", "ci_low", "ci_high", "missing_could_explain",
            "tipping_share", "hidden", "estimated", "robust_to_age"]
    if comparison is None or latest is None or latest not in table.values.columns:
        return pd.DataFrame(columns=cols)
    r = comparison.results.get(key)
    if r is None or r.status not in ("compared", "no_known"):
        return pd.DataFrame(columns=cols)
    rows = comparison.headline(key)
    rows = rows[rows["category"] != ""]
    total = table.policy.total_label
    values = table.values[latest]
    n = values.get(total, pd.NA)
    ranges = table.log[table.log["column"] == latest].set_index("row")[["lower", "upper"]]
    out = []
    for _, row in rows.iterrows():
        cat = row["category"]
        if cat not in values.index:
            continue
        k = values[cat]
        flag, hidden = row["flag"], pd.isna(k)
        explain = row.get("missing_could_explain")
        explain = None if explain is None or pd.isna(explain) or hidden else bool(explain)
        tip = np.nan if hidden else row.get("tipping_share", np.nan)
        lo = hi = np.nan
        if hidden:
            lower, upper = ranges.loc[cat]
            if not direction_is_safe(flag, int(row["service_count"]), lower, upper,
                                     row["expected"]):
                flag = UNSAID
        elif pd.notna(n) and n:
            rules = comparison.rules
            lo, hi, _ = share_interval(float(k), float(n), rules.level,
                                       rules.exact_binomial_below)
        out.append((cat, row["baseline_share"], flag, lo, hi, explain, tip, hidden,
                    bool(row.get("baseline_estimated")),
                    None if hidden else row.get("robust_to_age")))
    return pd.DataFrame(out, columns=cols)

"""A comparison as a publishable document may show it, under the one disclosure policy.

Every publishable EqIA is drafted from this copy, never from the true comparison, so
that its tables, charts, sentences, suggested-rating reasons and action rows all show the
same protected figures:

* each characteristic's category counts go through ``disclosure.protect_table`` (the
  same protection as the annual report's tables: small counts hidden or marked, and, for
  the threshold rule, whatever else would let a reader work them out from the total);
* a hidden count has no share, interval, ratio or flag (a flag narrows what the count
  could be) and is flagged ``hidden``, so no sentence or reason names the group;
* a small group that is not compared (no census category, outside the eligible ages) is
  counted with the people not recorded, not shown as a hidden row;
* under the NHS rule, shares, intervals and ratios are worked out from the rounded
  counts, and the counts of unknown and invalid values are rounded too.

It never changes the comparison it is given. The ``log`` holds true values: internal only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from eqia.compare import STATUS_FLAGS, CharacteristicResult, Comparison
from eqia.disclosure import DisclosurePolicy, protect_table
from eqia.rules import Rules
from eqia.stats import share_interval

HIDDEN = "hidden"
#: Columns blanked for a hidden count.
_BLANKED = ["service_count", "service_share", "ci_low", "ci_high", "ci_low_strong",
            "ci_high_strong", "expected", "ratio", "ratio_low", "ratio_high", "difference_pp",
            "ratio_low_strong", "ratio_high_strong", "p_value", "p_adjusted", "tipping_share",
            "missing_could_explain"]
#: Columns that would give the true count back under rounding: recomputed or blanked.
#: (A p-value, like an interval's limit, is a monotone function of the count it tests.)
_FROM_TRUE_COUNTS = ["expected", "ratio_low", "ratio_high", "ratio_low_strong",
                     "ratio_high_strong", "p_value", "p_adjusted"]
_COUNTS = ("rows", "known", "unknown", "not_stated", "not_known", "invalid")
_NOT_COMPARED = ("no_census_category", "outside_ages")


def publish_comparison(comparison: Comparison, policy: DisclosurePolicy
                       ) -> tuple[Comparison, pd.DataFrame]:
    """(the comparison as it may be published, the internal log of what was hidden)."""
    table = comparison.table.copy()
    table["flag"] = table["flag"].astype(object)
    logs = []
    hidden: dict[str, set[str]] = {}
    folded: dict[str, int] = {}
    for key in table["characteristic"].unique():
        rows = table.index[(table["characteristic"] == key) & (table["category"] != "")
                           & table["service_count"].notna()]
        # A small group that is not compared (no census category, outside the ages) is
        # counted with the people not recorded rather than shown and hidden: hiding it would
        # mean hiding a compared group too, to stop it being worked out from the total.
        small = [i for i in rows if table.at[i, "flag"] in _NOT_COMPARED
                 and policy.is_small(int(table.at[i, "service_count"]))]
        if small:
            folded[key] = int(table.loc[small].drop_duplicates("category")["service_count"].sum())
            hidden[key] = set(table.loc[small, "category"])
            table = table.drop(index=small)
            rows = rows.difference(small)
        if not len(rows):
            continue
        counts = (table.loc[rows].drop_duplicates("category")
                  .set_index("category")["service_count"].astype("int64").rename("service"))
        protected = protect_table(counts.to_frame(), policy, table_name=f"EqIA | {key}",
                                  row_totals=False, col_totals=True)
        logs.append(protected.log)
        hidden[key] = hidden.get(key, set()) | set(
            protected.suppressed.index[protected.suppressed["service"]])
        _apply(table, rows, protected, policy, comparison.rules)
    results = {k: _published_result(r, policy, hidden.get(k, set()), folded.get(k, 0))
               for k, r in comparison.results.items()}
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
    return dataclasses.replace(comparison, table=table, results=results), log


def _apply(table: pd.DataFrame, rows: pd.Index, protected, policy: DisclosurePolicy,
           rules: Rules) -> None:
    values = protected.values["service"]
    hidden = protected.suppressed["service"]
    compared = [i for i in rows if table.at[i, "flag"] not in STATUS_FLAGS]
    # The true number compared (known, in a category the baseline has), before rounding.
    n_true = int(table.loc[compared].drop_duplicates("category")["service_count"].sum())
    for i in rows:
        category = table.at[i, "category"]
        if hidden[category]:
            table.loc[i, _BLANKED] = np.nan
            table.at[i, "flag"] = HIDDEN
            table.at[i, "strength"] = ""
            table.at[i, "signal_95"] = ""
            continue
        if policy.method != "nhs":
            continue  # the threshold rule publishes true counts where it shows them
        table.at[i, "service_count"] = float(values[category])
    if policy.method != "nhs" or not compared:
        return
    # Shares of the rounded total of the categories compared, as the NHS rule asks.
    shown = [i for i in compared if table.at[i, "flag"] != HIDDEN]
    n = policy.rounded(n_true)
    for i in shown:
        o = table.at[i, "service_count"]
        share = o / n if n else np.nan
        limits = [np.nan] * 4
        if n:
            limits = [x for level in (rules.level, rules.strong_level)
                      for x in share_interval(o, n, level, rules.exact_binomial_below)[:2]]
        expected_share = table.at[i, "expected_share"]
        table.loc[i, ["service_share", "ci_low", "ci_high", "ci_low_strong",
                      "ci_high_strong"]] = [share, *limits]
        table.at[i, "ratio"] = share / expected_share if expected_share else np.nan
        table.at[i, "difference_pp"] = 100 * (share - table.at[i, "baseline_share"])
        table.loc[i, _FROM_TRUE_COUNTS] = np.nan


def _published_result(r: CharacteristicResult, policy: DisclosurePolicy, hidden: set[str],
                      folded: int = 0) -> CharacteristicResult:
    """The counts a sentence may quote: records, known and one 'not recorded' figure.

    Unknown and invalid are merged (with records and known published, the split could give
    a small count back by subtraction); groups hidden in the table are not named; under
    the NHS rule every count is rounded.
    """
    r = dataclasses.replace(r, unknown=r.unknown + r.invalid + folded, invalid=0,
                            known=r.known - folded, not_stated=0, not_known=0,
                            no_census_categories={k: v for k, v in r.no_census_categories.items()
                                                  if k not in hidden},
                            outside_ages={k: v for k, v in r.outside_ages.items()
                                          if k not in hidden})
    if policy.method != "nhs":
        return r
    return dataclasses.replace(r, **{c: policy.rounded(getattr(r, c)) for c in _COUNTS},
                               no_census_categories={k: policy.rounded(v) for k, v in
                                                     r.no_census_categories.items()},
                               outside_ages={k: policy.rounded(v) for k, v in
                                             r.outside_ages.items()})

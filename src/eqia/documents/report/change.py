"""Whether a group's share changed between two periods: the two-proportion test, and the
same test on published (protected) figures, where rounding must never make a change look
significant. Parameters come from ``rules.yaml`` (``min_expected``, ``level``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as st

from eqia.analysis.stats import holm
from eqia.disclosure.engine import (
    DisclosurePolicy,
    ProtectedTable,
)
from eqia.documents.report.model import CHANGE_COLUMNS
from eqia.settings.rules import Rules, default_rules

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    pass


def change_method(rules: Rules) -> str:
    """How changes between periods are tested, with the rules' parameters."""
    return (
        "Change in a category's share between two periods: two-sided test of two proportions "
        "(share of people with a known value), Pearson's chi-squared test on the 2x2 table "
        "without continuity correction (scipy.stats.chi2_contingency, correction=False; the "
        "same as the pooled two-proportion z-test), or Fisher's exact test "
        f"(scipy.stats.fisher_exact) when any expected count is below {rules.min_expected:g}. "
        "p-values are adjusted with Holm's method across the categories of each "
        "characteristic, and a change is called significant when the adjusted p-value is "
        f"below {1 - rules.level:.2g}. The two periods are treated as independent samples; "
        "people using the service in both years make the test slightly conservative."
    )




def two_proportion_test(k1: int, n1: int, k2: int, n2: int, min_expected: float | None = None
                        ) -> tuple[float, str]:
    """Two-sided p-value for "the share k1/n1 equals k2/n2", and the test's name.

    Pearson's chi-squared on the 2x2 table without Yates' correction is the pooled
    two-proportion z-test (z squared = chi-squared); Fisher's exact test replaces it when
    an expected count is under ``min_expected`` (the rules' ``min_expected``). NaN when
    there is nothing to test.
    """
    if min_expected is None:
        min_expected = default_rules().min_expected
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]], dtype=float)
    if n1 <= 0 or n2 <= 0 or (table < 0).any():
        return float("nan"), ""
    if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
        return float("nan"), "not tested: no one, or everyone, in the category in both periods"
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if (expected < min_expected).any():
        return float(st.fisher_exact(table.astype(int)).pvalue), "Fisher's exact test"
    res = st.chi2_contingency(table, correction=False)
    return float(res.pvalue), "chi-squared test"


def possible_counts(shown: int, policy: DisclosurePolicy) -> tuple[int, int]:
    """The true counts a published figure can stand for: itself, or under the NHS rule
    every count that rounds to it (nearest ``rounding_base``, halves up, never 1 to
    ``nhs_small_max``, which are shown as the marker)."""
    return policy.possible(int(shown))


def published_change_test(k1: int, n1: int, k2: int, n2: int, policy: DisclosurePolicy,
                          min_expected: float | None = None) -> tuple[float, str]:
    """``two_proportion_test`` on published figures: when they are rounded, the largest
    p-value over every set of true counts they could stand for (so rounding can never
    make a change look significant), worked out from the published figures alone."""
    if min_expected is None:
        min_expected = default_rules().min_expected
    ranges = [possible_counts(x, policy) for x in (k1, n1, k2, n2)]
    if all(lo == hi for lo, hi in ranges):
        return two_proportion_test(k1, n1, k2, n2, min_expected)
    grid = np.array(np.meshgrid(*[np.arange(lo, hi + 1) for lo, hi in ranges],
                                indexing="ij")).reshape(4, -1).astype(float)
    a, n, c, m = grid
    ok = (a <= n) & (c <= m) & (n > 0) & (m > 0)
    a, n, c, m = a[ok], n[ok], c[ok], m[ok]
    if not len(a):
        return two_proportion_test(k1, n1, k2, n2, min_expected)
    col1, col2, total = a + c, (n - a) + (m - c), n + m
    if (col1 == 0).any() or (col2 == 0).any():
        return float("nan"), "not tested: no one, or everyone, in the category in both periods"
    expected_min = np.minimum.reduce([n * col1, n * col2, m * col1, m * col2]) / total
    small = expected_min < min_expected
    pooled = col1 / total
    se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(c / m - a / n) / se
    p = np.where(se > 0, _erfc(z / np.sqrt(2)), 1.0)
    test = "chi-squared test"
    if small.any():
        test = "Fisher's exact test" if small.all() else "chi-squared or Fisher's exact test"
        p = p.copy()
        for i in np.nonzero(small)[0]:
            p[i] = st.fisher_exact(np.array([[a[i], n[i] - a[i]], [c[i], m[i] - c[i]]],
                                            dtype=int)).pvalue
    return float(min(1.0, p.max())), test


def _erfc(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfc

    return erfc(x)


def change_table(key: str, table: ProtectedTable, before: str, after: str,
                 rules: Rules | None = None) -> pd.DataFrame:
    """Each category's share of the known in two periods, from the figures as shown.

    A category whose count is hidden in either period is not tested. Under the NHS
    rule's rounding the p-value is the largest the true counts could give
    (``published_change_test``). Significant: Holm-adjusted p below 1 - the rules'
    ``level``.
    """
    rules = rules or default_rules()
    values = table.values
    total = table.policy.total_label
    rows = [r for r in values.index if r != total]
    n1 = values.at[total, before] if total in values.index else values[before].sum()
    n2 = values.at[total, after] if total in values.index else values[after].sum()
    out = []
    for cat in rows:
        k1, k2 = values.at[cat, before], values.at[cat, after]
        hidden = pd.isna(k1) or pd.isna(k2) or pd.isna(n1) or pd.isna(n2)
        if hidden:
            out.append((key, cat, before, after, k1, n1, k2, n2, np.nan, np.nan, np.nan,
                        np.nan, np.nan, "not tested: a figure is hidden", False))
            continue
        k1, k2, n1i, n2i = int(k1), int(k2), int(n1), int(n2)
        s1 = k1 / n1i if n1i else np.nan
        s2 = k2 / n2i if n2i else np.nan
        p, test = published_change_test(k1, n1i, k2, n2i, table.policy, rules.min_expected)
        out.append((key, cat, before, after, k1, n1i, k2, n2i, s1, s2, 100 * (s2 - s1), p,
                    np.nan, test, False))
    frame = pd.DataFrame(out, columns=CHANGE_COLUMNS)
    frame["p_adjusted"] = holm(frame["p_value"].astype(float))
    frame["significant"] = (frame["p_adjusted"] < 1 - rules.level).fillna(False).astype(bool)
    return frame

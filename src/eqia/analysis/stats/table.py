"""A characteristic's comparison table: expected counts, each category's test, the
family-wise rule across categories (Holm by default), flags and tipping points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from eqia.analysis.stats.intervals import (
    STRENGTH_NONE,
    as_floats,
    binomial_p,
    is_scalar,
    level_label,
    poisson_p,
    ratio_interval,
    scalar_or_array,
    share_interval,
)
from eqia.settings.rules import Rules, load_rules

#: Columns of ``compare_table``, in order.
TABLE_COLUMNS = [
    "category",
    "service_count",
    "service_share",
    "ci_low",
    "ci_high",
    "ci_low_strong",
    "ci_high_strong",
    "baseline_share",
    "expected",
    "expected_share",
    "ratio",
    "ratio_low",
    "ratio_high",
    "ratio_low_strong",
    "ratio_high_strong",
    "ratio_method",
    "difference_pp",
    "p_value",
    "p_adjusted",
    "flag",
    "signal_95",
    "strength",
    "flag_reason",
    "tipping_share",
    "missing_could_explain",
]


def holm(p_values: Any) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values: sorted ascending, the j-th (from 0) times
    (m - j), made non-decreasing, capped at 1. NaN is left out of m and stays NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def bonferroni(p_values: Any) -> np.ndarray:
    """Bonferroni adjusted p-values: m p, capped at 1 (NaN left out of m)."""
    p = np.asarray(p_values, dtype=float)
    return np.minimum(1.0, np.count_nonzero(~np.isnan(p)) * p)


def family_wise(p_values: Any, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """(adjusted p-values, the per-test level each is judged at) for one characteristic.

    A category is flagged when its adjusted p-value is below ``1 - rules.level`` (for
    ``strong_level``, below ``1 - rules.strong_level``). The per-test level is the one
    its own, unadjusted p-value had to pass: alpha / (m - j) for Holm's j-th smallest
    (from 0), alpha / m for Bonferroni, 1 - strong_level, or alpha for ``none``. The
    tipping point re-tests a flag at that level. A table of exactly two categories, both
    tested, is one question (m = 1) for Holm and Bonferroni.
    """
    p = np.asarray(p_values, dtype=float)
    alpha = 1 - rules.level
    tested = ~np.isnan(p)
    m = int(np.count_nonzero(tested))
    level = np.full(p.shape, np.nan)
    if len(p) == 2 and m == 2 and rules.family_wise in ("holm", "bonferroni"):
        # Two categories that make up everyone (female / male, disabled / not) are one
        # question asked twice: fewer of one is more of the other (for crude rows the two
        # tests are the same test). Counting it twice would halve the level for nothing.
        level[:] = alpha
        return p.copy(), level
    if rules.family_wise == "holm":
        order = np.flatnonzero(tested)[np.argsort(p[tested], kind="stable")]
        level[order] = alpha / (m - np.arange(m))
        return holm(p), level
    if rules.family_wise == "bonferroni":
        level[tested] = alpha / m
        return bonferroni(p), level
    level[tested] = 1 - rules.strong_level if rules.family_wise == "strong_level" else alpha
    return p.copy(), level


def expected_crude(n: Any, share: Any) -> Any:
    """Expected count if the service's N known users matched the area: N x area share."""
    scalar = is_scalar(n, share)
    out = np.asarray(n, dtype=float) * np.asarray(share, dtype=float)
    return scalar_or_array(out, scalar)


def expected_standardised(
    n_by_band: Mapping[str, float], share_by_band: Mapping[str, float]
) -> float:
    """Indirectly standardised expected count: sum over age bands of n_band x share_g_band.

    ``n_by_band``: the service's users with a known value, per age band;
    ``share_by_band``: the area's share of the group within each band. Every band in
    ``n_by_band`` with people in it needs a share (a KeyError names the missing band):
    silently dropping a band would understate the expected count.
    """
    total = 0.0
    for band, n in n_by_band.items():
        if not n:
            continue
        if band not in share_by_band:
            raise KeyError(f"no area share for age band {band!r}")
        total += float(n) * float(share_by_band[band])
    return total


def flag_alpha(rules: Rules) -> float:
    """The level an adjusted p-value must be below for the headline flag."""
    return 1 - (rules.strong_level if rules.family_wise == "strong_level" else rules.level)


def decide(ratio: Any, p: Any, alpha: Any, expected: Any, rules: Rules) -> Any:
    """under / over / none / too_few from a ratio, a p-value and the level it must pass.

    ``too_few``: expected count below ``rules.min_expected`` (or no ratio: N = 0).
    ``under``: p < alpha and ratio < ``under_ratio``; ``over``: p < alpha and ratio >
    ``over_ratio``; ``none`` otherwise. A p-value exactly at alpha (an interval touching the
    baseline) or a ratio exactly at a threshold is ``none``. The tests are two-sided and
    each is the inversion of its row's interval, so p < alpha with a ratio below 1 means
    the interval lies wholly below 1.
    """
    scalar = is_scalar(ratio, p, alpha, expected)
    r, p, alpha, e = as_floats(ratio, p, alpha, expected)
    too_few = ~(e >= rules.min_expected) | ~np.isfinite(r)
    hit = ~too_few & (p < alpha)
    under = hit & (r < rules.under_ratio)
    over = hit & (r > rules.over_ratio)
    flag = np.select([too_few, under, over], ["too_few", "under", "over"], "none").astype(object)
    return scalar_or_array(flag, scalar)


def row_p(observed: Any, n: Any, expected: Any, standardised: bool, rules: Rules) -> Any:
    """Each row's two-sided p-value: binomial against E/N for crude rows, Poisson against E
    for age-adjusted ones (the methods of the row's intervals)."""
    o, n, e = as_floats(observed, n, expected)
    if standardised:
        return poisson_p(o, e, rules.byar_min_observed)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, e / n, np.nan)
    return binomial_p(o, n, share, rules.exact_binomial_below)


def tipping_point(
    observed: Any,
    n: Any,
    unknown: Any,
    expected: Any,
    flag: Any,
    alpha: Any,
    standardised: bool,
    rules: Rules,
) -> tuple[np.ndarray, np.ndarray]:
    """What share of the unknowns would have to be in the group for the flag to go?

    With x of the U unknowns in the group, the group is re-tested as O + x of N + U
    against E' = E (N + U) / N (for a standardised E, the unknowns are taken to share the
    knowns' age mix), at ``alpha``, the level its own flag was judged at. An ``under``
    flag goes once x is large enough; ``tipping_share`` is the smallest x / U that
    removes it. An ``over`` flag goes when x is small enough; ``tipping_share`` is the
    largest x / U at which it is gone. NaN where the row is not flagged, there are no
    unknowns, or no x in 0..U removes the flag.

    ``missing_could_explain`` (True/False for flagged rows, None otherwise) applies the
    plausibility rule: under, tipping share at most ``tipping_plausible_factor`` times the
    larger of the group's known share O/N and expected share E/N; over, at least the
    smaller of the two divided by the factor.
    """
    o, n, u, e, alpha = as_floats(observed, n, unknown, expected, alpha)
    flag = np.broadcast_to(np.asarray(flag, dtype=object), o.shape)
    u = np.where(np.isfinite(u) & (u > 0), np.floor(u), 0.0)
    flagged = np.isin(flag, ("under", "over")) & (n > 0)
    tip = np.full(o.shape, np.nan)
    could = np.zeros(o.shape, dtype=bool)
    rows = np.flatnonzero(flagged & (u > 0))  # the search runs on these rows alone
    if len(rows):
        t, c = _tipping(o.flat[rows], n.flat[rows], u.flat[rows], e.flat[rows],
                        flag.flat[rows], alpha.flat[rows], standardised, rules)
        tip.flat[rows] = t
        could.flat[rows] = c
    explain = np.array([bool(c) if f else None for c, f in
                        zip(could.ravel(), flagged.ravel(), strict=True)],
                       dtype=object).reshape(o.shape)
    return tip, explain


def _tipping(o: np.ndarray, n: np.ndarray, u: np.ndarray, e: np.ndarray, flag: np.ndarray,
             alpha: np.ndarray, standardised: bool, rules: Rules
             ) -> tuple[np.ndarray, np.ndarray]:
    """``tipping_point`` for flagged rows with unknowns (1-d arrays, n > 0, u > 0)."""
    under = flag == "under"
    e_all = e * (n + u) / n

    def holds(x: np.ndarray) -> np.ndarray:
        o2 = o + x
        p = row_p(o2, n + u, e_all, standardised, rules)
        return decide(o2 / e_all, p, alpha, e_all, rules) == flag

    # Under: the flag holds at x = 0 (every unknown outside the group); is it gone by
    # x = U? Over: it holds at x = U; is it gone at x = 0? Bisect for the integer boundary,
    # keeping holds(lo) != holds(hi) with lo < hi.
    zero = np.zeros_like(o)
    gone_at_0, gone_at_u = ~holds(zero), ~holds(u)
    live = np.where(under, gone_at_u, gone_at_0)
    lo, hi = zero, u.copy()
    while True:
        step = live & (hi - lo > 1)
        if not step.any():
            break
        mid = np.floor((lo + hi) / 2)
        h = holds(mid)
        up = step & np.where(under, h, ~h)  # the boundary lies above mid
        lo = np.where(up, mid, lo)
        hi = np.where(step & ~up, mid, hi)
    # Under: the smallest x without the flag. Over: the largest x without it (U if the
    # flag is gone even with every unknown in the group).
    x = np.where(under, np.where(gone_at_0, 0.0, hi), np.where(gone_at_u, u, lo))
    tip = np.where(live, x / u, np.nan)
    known, expected = o / n, e / n
    k = rules.tipping_plausible_factor
    could = np.where(under, tip <= k * np.maximum(known, expected),
                     tip >= np.minimum(known, expected) / k) & live
    return tip, could


def compare_table(
    df: pd.DataFrame, rules: Rules | None = None, standardised: bool = False
) -> pd.DataFrame:
    """One characteristic's categories compared with the baseline, one row per category.

    ``df`` columns: ``category, observed, n, unknown, baseline_share`` and, for
    ``standardised`` (age-adjusted) rows, ``expected`` (indirectly standardised; NaN means
    crude N x share). The rows are one family for the family-wise flag, or, with a
    ``family`` column, one per value of it (many tables at once, e.g. in a simulation). Crude rows: E = N x baseline_share, and binomial methods (Wilson /
    score test, exact binomial below ``rules.exact_binomial_below``), the ratio's limits
    being the share's divided by the baseline share. Standardised rows: Poisson methods
    (Byar / exact), the share's limits being the ratio's times E/N (within 0-1).

    Returns ``TABLE_COLUMNS``: shares are fractions (0-1); intervals at ``rules.level``
    and, ``_strong``, at ``rules.strong_level``; ``p_value`` each category's own
    two-sided test, ``p_adjusted`` the family-wise one across the table's tested
    categories (``rules.family_wise``); ``flag`` read from ``p_adjusted``, ``signal_95``
    from ``p_value`` at ``rules.level``; ``strength`` "99.8%" when a signal's p-value is
    also below 1 - strong_level; ``tipping_share``/``missing_could_explain`` for flags.
    ``expected_share`` = E/N; ``difference_pp`` = 100 (O - E)/N.
    """
    rules = rules or load_rules()
    o = df["observed"].to_numpy(dtype=float)
    n = df["n"].to_numpy(dtype=float)
    u = df["unknown"].to_numpy(dtype=float) if "unknown" in df else np.zeros_like(o)
    share = df["baseline_share"].to_numpy(dtype=float)
    e = _expected(df, n, share, standardised)
    with np.errstate(divide="ignore", invalid="ignore"):
        service_share = np.where(n > 0, o / n, np.nan)
        expected_share = np.where(n > 0, e / n, np.nan)
        ratio = np.where(e > 0, o / e, np.nan)
    limits, method = _limits(o, n, e, share, expected_share, standardised, rules)

    tested = (e >= rules.min_expected) & np.isfinite(ratio)
    p = np.where(tested, row_p(o, n, e, standardised, rules), np.nan)
    p_adj, per_test = _family_wise(df, p, rules)
    flag = decide(ratio, p_adj, flag_alpha(rules), e, rules)
    signal = decide(ratio, p, 1 - rules.level, e, rules)
    strength = _strength(signal, p, rules)
    signal = np.where(signal == "too_few", "", signal)
    if rules.missing_sensitivity:
        tip, explain = tipping_point(o, n, u, e, flag, per_test, standardised, rules)
    else:
        tip = np.full(len(o), np.nan)
        explain = np.full(len(o), None, dtype=object)

    lo, hi, r_lo, r_hi = limits[""]
    lo_s, hi_s, r_lo_s, r_hi_s = limits["_strong"]
    out = pd.DataFrame(
        {
            "category": df["category"].to_numpy(),
            "service_count": o,
            "service_share": service_share,
            "ci_low": lo,
            "ci_high": hi,
            "ci_low_strong": lo_s,
            "ci_high_strong": hi_s,
            "baseline_share": share,
            "expected": e,
            "expected_share": expected_share,
            "ratio": ratio,
            "ratio_low": r_lo,
            "ratio_high": r_hi,
            "ratio_low_strong": r_lo_s,
            "ratio_high_strong": r_hi_s,
            "ratio_method": pd.array(method, dtype=object),
            "difference_pp": 100 * (service_share - expected_share),
            "p_value": p,
            "p_adjusted": p_adj,
            "flag": pd.array(flag, dtype=object),
            "signal_95": pd.array(signal, dtype=object),
            "strength": pd.array(strength, dtype=object),
            "flag_reason": pd.array(_reasons(n, flag, e, rules), dtype=object),
            "tipping_share": tip,
            "missing_could_explain": pd.array(explain, dtype=object),
        }
    )
    return out[TABLE_COLUMNS]


def _expected(df: pd.DataFrame, n: np.ndarray, share: np.ndarray,
              standardised: bool) -> np.ndarray:
    """Expected counts: N x share, or the age-standardised ones where given (0 when no
    one is known)."""
    e = expected_crude(n, share)
    if standardised and "expected" in df:
        given = df["expected"].to_numpy(dtype=float)
        e = np.where(np.isfinite(given), given, e)
    return np.where(n > 0, e, 0.0)


def _limits(o: np.ndarray, n: np.ndarray, e: np.ndarray, share: np.ndarray,
            expected_share: np.ndarray, standardised: bool,
            rules: Rules) -> tuple[dict[str, tuple], np.ndarray]:
    """The share's and the ratio's limits at ``rules.level`` ("") and ``strong_level``
    ("_strong"), and each row's method: binomial on the share for crude rows (the ratio's
    limits follow), Poisson on the ratio for standardised ones (the share's follow,
    within 0-1)."""
    limits = {}
    for name, level in (("", rules.level), ("_strong", rules.strong_level)):
        with np.errstate(divide="ignore", invalid="ignore"):
            if standardised:
                r_lo, r_hi, method = ratio_interval(o, e, level, rules.byar_min_observed)
                lo = np.clip(r_lo * expected_share, 0.0, 1.0)
                hi = np.clip(r_hi * expected_share, 0.0, 1.0)
                r_lo, r_hi = lo / expected_share, hi / expected_share
            else:
                lo, hi, method = share_interval(o, n, level, rules.exact_binomial_below)
                r_lo = np.where(share > 0, lo / share, np.nan)
                r_hi = np.where(share > 0, hi / share, np.nan)
        limits[name] = (lo, hi, np.where(e > 0, r_lo, np.nan), np.where(e > 0, r_hi, np.nan))
    return limits, np.where(e > 0, method, "")


def _family_wise(df: pd.DataFrame, p: np.ndarray,
                 rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values and each test's own level, across the whole table or, with a
    ``family`` column, within each family."""
    if "family" not in df:
        return family_wise(p, rules)
    p_adj, per_test = np.full_like(p, np.nan), np.full_like(p, np.nan)
    for rows in df.groupby("family", sort=False).indices.values():
        p_adj[rows], per_test[rows] = family_wise(p[rows], rules)
    return p_adj, per_test


def _strength(signal: np.ndarray, p: np.ndarray, rules: Rules) -> np.ndarray:
    """"99.8%" where a signal's p-value is below 1 - strong_level, "95%" for the other
    signals, else ``STRENGTH_NONE``."""
    signalled = np.isin(signal, ("under", "over"))
    return np.select(
        [signalled & (p < 1 - rules.strong_level), signalled],
        [level_label(rules.strong_level), level_label(rules.level)],
        STRENGTH_NONE,
    ).astype(object)


def _reasons(n: np.ndarray, flag: np.ndarray, e: np.ndarray, rules: Rules) -> np.ndarray:
    """Why a row is not compared: no one known, or too few expected to test."""
    too_few = [f"expected count {x:.1f} is below {rules.min_expected:g}" for x in e]
    return np.where(n <= 0, "no one has a known value",
                    np.where(flag == "too_few", too_few, ""))

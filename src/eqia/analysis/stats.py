"""The statistics of representation: shares, intervals, tests, ratios, flags, goodness of fit.

Public-health indicator practice (PHE/UKHSA Fingertips), with each row's interval and
test from one method so that they can never disagree:

* crude rows (the service's share against the area's share) are binomial: the Wilson
  score interval with the score test it inverts, or, for small counts, the
  Clopper-Pearson interval with the exact test it inverts; the ratio's interval is the
  share's interval divided by the area's share;
* age-adjusted rows (observed against an indirectly standardised expected count) are
  Poisson, as Fingertips treats standardised ratios: Byar's limits with Byar's test, or
  exact Poisson limits with the exact test; the share's interval is the ratio's interval
  times the expected share.

Each category's own test gives a screening signal (``signal_95``); the headline flag
holds the chance of any false flag across a characteristic's categories (Holm by
default); and a flag's tipping point says what share of the people with an unknown value
would have to be in the group for the flag to go. Flags are neutral (``under``/``over``:
fewer/more than expected, never better/worse).

Every function is pure and takes numbers or numpy arrays (broadcast together), so a
whole table is computed at once. Nothing here reads files, prints or decides what a
difference means for a service: that is ``assess``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from eqia.settings.rules import Rules, load_rules

#: Flag values, in the order they are explained to readers.
FLAGS = ("under", "over", "none", "too_few")

#: ``strength`` of a signal: its 99.8% interval excludes the baseline too / only its 95%
#: interval does / no signal. (The labels follow the rules' levels, e.g. "99.8%", "95%".)
STRENGTH_NONE = ""

WILSON = "Wilson score"
EXACT_BINOMIAL = "exact binomial"
BYAR = "Byar"
EXACT = "exact Poisson"

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


def _level_label(level: float) -> str:
    return f"{100 * level:.10g}%"


def _z(level: float) -> float:
    """Two-sided standard normal quantile, e.g. 1.959964 for 95%."""
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    return float(special.ndtri(0.5 + level / 2))


def _scalar_or_array(x: np.ndarray, scalar: bool) -> Any:
    return x.item() if scalar else x


def _is_scalar(*args: Any) -> bool:
    return all(np.ndim(a) == 0 for a in args)


def _floats(*args: Any) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args)))


# --- Intervals -----------------------------------------------------------------------


def wilson_interval(k: Any, n: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval for a proportion k/n, without continuity correction.

    The interval Fingertips uses for proportions (Wilson 1927; Newcombe 1998, method 3),
    identical to ``scipy.stats.binomtest(k, n).proportion_ci(level, method="wilson")``
    but vectorised and defined for non-integer counts. ``n == 0`` gives NaN.
    """
    scalar = _is_scalar(k, n)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # The formula gives exactly 0 at k = 0 and 1 at k = n; keep them exact after rounding.
    lo = np.where((n > 0) & (k <= 0), 0.0, lo)
    hi = np.where((n > 0) & (k >= n), 1.0, hi)
    return _scalar_or_array(lo, scalar), _scalar_or_array(hi, scalar)


def poisson_count_interval(
    observed: Any, level: float = 0.95, byar_min_observed: int = 10
) -> tuple[Any, Any, Any]:
    """Confidence limits for a Poisson count O: Byar's method for O >= 10, exact below.

    Byar's approximation (Breslow & Day 1987, as PHE Fingertips and PHEindicatormethods):
        lower = O (1 - 1/(9 O) - z / (3 sqrt O))^3
        upper = (O + 1) (1 - 1/(9 (O + 1)) + z / (3 sqrt(O + 1)))^3
    Exact limits from the chi-square distribution (Garwood 1936):
        lower = chi2.ppf(a/2, 2 O) / 2  (0 when O = 0),  upper = chi2.ppf(1 - a/2, 2 O + 2) / 2
    Returns (lower, upper, method).
    """
    from scipy import stats as st  # here, not at the top: it takes 0.4 s to load
    scalar = _is_scalar(observed)
    o = np.asarray(observed, dtype=float)
    alpha = 1 - level
    z = _z(level)
    byar = o >= byar_min_observed
    with np.errstate(divide="ignore", invalid="ignore"):
        o1 = o + 1
        b_lo = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        b_hi = o1 * (1 - 1 / (9 * o1) + z / (3 * np.sqrt(o1))) ** 3
        e_lo = np.where(o > 0, st.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        e_hi = st.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
    lo = np.where(byar, b_lo, e_lo)
    hi = np.where(byar, b_hi, e_hi)
    bad = ~np.isfinite(o) | (o < 0)
    lo = np.where(bad, np.nan, lo)
    hi = np.where(bad, np.nan, hi)
    method = np.where(bad, "", np.where(byar, BYAR, EXACT)).astype(object)
    return (
        _scalar_or_array(lo, scalar),
        _scalar_or_array(hi, scalar),
        _scalar_or_array(method, scalar),
    )


def ratio_interval(
    observed: Any, expected: Any, level: float = 0.95, byar_min_observed: int = 10
) -> tuple[Any, Any, Any]:
    """Limits of the ratio O/E, treating E as fixed: the count's limits divided by E.

    Method is "Byar" when O >= ``byar_min_observed`` and "exact Poisson" below (the
    Fingertips rule for indirectly standardised ratios). E <= 0 gives NaN limits.
    """
    scalar = _is_scalar(observed, expected)
    lo, hi, method = poisson_count_interval(
        np.asarray(observed, dtype=float), level, byar_min_observed
    )
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_lo = np.where(e > 0, lo / e, np.nan)
        r_hi = np.where(e > 0, hi / e, np.nan)
    method = np.broadcast_to(method, r_lo.shape).astype(object)
    return (
        _scalar_or_array(r_lo, scalar),
        _scalar_or_array(r_hi, scalar),
        _scalar_or_array(method, scalar),
    )


def clopper_pearson_interval(k: Any, n: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Clopper-Pearson (exact binomial) interval for k/n, vectorised.

    The limits solve P(X >= k | p_low) = P(X <= k | p_high) = (1 - level)/2: quantiles of
    the beta distribution (``scipy.special.betaincinv``), the closed form of the root that
    ``scipy.stats.binomtest(k, n).proportion_ci(level, method="exact")`` searches for.
    0 at k = 0, 1 at k = n; ``n == 0`` gives NaN.
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = _is_scalar(k, n)
    k, n = _floats(k, n)
    a = (1 - level) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(k > 0, special.betaincinv(k, n - k + 1, a), 0.0)
        hi = np.where(k < n, special.betaincinv(k + 1, n - k, 1 - a), 1.0)
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    return _scalar_or_array(lo, scalar), _scalar_or_array(hi, scalar)


def _exact_binomial(k: Any, n: Any, exact_below: int) -> np.ndarray:
    """Where the exact binomial replaces Wilson: fewer than ``exact_below`` people in the
    group or outside it (the score approximation is poor for small counts)."""
    k, n = _floats(k, n)
    return np.minimum(k, n - k) < exact_below


def share_interval(
    k: Any, n: Any, level: float = 0.95, exact_below: int = 10
) -> tuple[Any, Any, Any]:
    """Interval of a share k/n: Wilson, or Clopper-Pearson where ``min(k, n - k)`` is below
    ``exact_below``. Returns (lower, upper, method)."""
    scalar = _is_scalar(k, n)
    k, n = _floats(k, n)
    exact = _exact_binomial(k, n, exact_below)
    lo, hi = (np.asarray(x, dtype=float) for x in wilson_interval(k, n, level))
    if exact.any():
        e_lo, e_hi = clopper_pearson_interval(k[exact], n[exact], level)
        lo, hi = lo.copy(), hi.copy()
        lo[exact], hi[exact] = e_lo, e_hi
    method = np.where(exact, EXACT_BINOMIAL, WILSON).astype(object)
    return (
        _scalar_or_array(lo, scalar),
        _scalar_or_array(hi, scalar),
        _scalar_or_array(method, scalar),
    )


# --- Tests: each the inversion of its interval ------------------------------------------
# From scipy.special (the functions scipy.stats' distributions call), to test whole
# tables, and the tipping point's repeated re-tests, at once.


def score_test_p(k: Any, n: Any, share: Any) -> Any:
    """Two-sided p-value of the score test of a proportion: z = (k - n p0) / sqrt(n p0 q0).

    The Wilson interval at level 1 - a is exactly the set of p0 this test does not reject
    at a, so the test and the interval agree on every row (as statsmodels'
    ``proportions_ztest(k, n, p0, prop_var=p0)``). NaN where n = 0; where p0 is 0 or 1,
    1 if k equals n p0 (nothing else is possible then) and 0 otherwise.
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = _is_scalar(k, n, share)
    k, n, p0 = _floats(k, n, share)
    var = n * p0 * (1 - p0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(k - n * p0) / np.sqrt(var)
        p = np.where(var > 0, 2 * special.ndtr(-z), np.where(k == n * p0, 1.0, 0.0))
    p = np.where((n > 0) & np.isfinite(p0), np.minimum(p, 1.0), np.nan)
    return _scalar_or_array(p, scalar)


def exact_binomial_p(k: Any, n: Any, share: Any) -> Any:
    """Two-sided exact binomial p-value, twice the smaller tail (the "central" test).

    min(1, 2 min(P(X <= k), P(X >= k))) for X ~ Binomial(n, p0) (``scipy.special.bdtr``,
    ``bdtrc``). It is the test the Clopper-Pearson interval inverts, so it rejects p0 at a
    exactly when the interval at 1 - a excludes p0. (``scipy.stats.binomtest``'s
    two-sided p-value sums the outcomes no more likely than k instead, and can disagree
    with the interval.)
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = _is_scalar(k, n, share)
    k, n, p0 = _floats(k, n, share)
    ok = (n > 0) & np.isfinite(p0)
    ki = np.where(ok, np.floor(k), 0).astype(np.int64)
    ni = np.where(ok, n, 0).astype(np.int64)
    with np.errstate(invalid="ignore"):
        lower = special.bdtr(ki, ni, np.where(ok, p0, 0.5))
        upper = special.bdtrc(ki - 1, ni, np.where(ok, p0, 0.5))
    p = np.where(ok, np.minimum(1.0, 2 * np.minimum(lower, upper)), np.nan)
    return _scalar_or_array(p, scalar)


def _by_method(use_first: np.ndarray, first, second, *args: np.ndarray) -> np.ndarray:
    """``first(*args)`` where ``use_first``, ``second(*args)`` elsewhere, each worked out
    only on its own rows."""
    out = np.full(use_first.shape, np.nan)
    for mask, fn in ((use_first, first), (~use_first, second)):
        if mask.any():
            out[mask] = fn(*(a[mask] for a in args))
    return out


def binomial_p(k: Any, n: Any, share: Any, exact_below: int = 10) -> Any:
    """Two-sided p-value of k/n against a share p0, by the method ``share_interval`` uses
    for the same row (score test, or exact below ``exact_below``)."""
    scalar = _is_scalar(k, n, share)
    k, n, p0 = _floats(k, n, share)
    p = _by_method(_exact_binomial(k, n, exact_below), exact_binomial_p, score_test_p, k, n, p0)
    return _scalar_or_array(p, scalar)


def byar_p(observed: Any, expected: Any) -> Any:
    """Two-sided p-value of Byar's test of O against a Poisson mean E.

    The inversion of Byar's limits (Breslow & Day 1987; Rothman & Boice 1979):
        O above E:  z = 3 sqrt(O) (1 - 1/(9 O) - (E / O)^(1/3))
        O below E:  z = 3 sqrt(O + 1) ((E / (O + 1))^(1/3) - 1 + 1/(9 (O + 1)))
    p = min(1, 2 min(Phi(-z_above), Phi(-z_below))): E lies outside Byar's interval at
    1 - a exactly when p < a. Needs O > 0 (Byar is used from 10 observed).
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = _is_scalar(observed, expected)
    o, e = _floats(observed, expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        o1 = o + 1
        z_above = 3 * np.sqrt(o) * (1 - 1 / (9 * o) - np.cbrt(e / o))
        z_below = 3 * np.sqrt(o1) * (np.cbrt(e / o1) - 1 + 1 / (9 * o1))
        p = np.minimum(1.0, 2 * np.minimum(special.ndtr(-z_above), special.ndtr(-z_below)))
    p = np.where((o > 0) & (e > 0), p, np.nan)
    return _scalar_or_array(p, scalar)


def exact_poisson_p(observed: Any, expected: Any) -> Any:
    """Two-sided exact Poisson p-value, twice the smaller tail (``scipy.special.pdtr``,
    ``pdtrc``): the test the exact (Garwood) limits invert, as statsmodels'
    ``test_poisson(..., method="exact-c")``."""
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = _is_scalar(observed, expected)
    o, e = _floats(observed, expected)
    ok = (e > 0) & (o >= 0)
    with np.errstate(invalid="ignore"):
        lower = special.pdtr(np.floor(o), np.where(ok, e, 1.0))
        upper = np.where(o > 0, special.pdtrc(np.floor(o) - 1, np.where(ok, e, 1.0)), 1.0)
    p = np.where(ok, np.minimum(1.0, 2 * np.minimum(lower, upper)), np.nan)
    return _scalar_or_array(p, scalar)


def poisson_p(observed: Any, expected: Any, byar_min_observed: int = 10) -> Any:
    """Two-sided p-value of O against E by the method ``ratio_interval`` uses for the same
    row (Byar from ``byar_min_observed`` observed, exact below)."""
    scalar = _is_scalar(observed, expected)
    o, e = _floats(observed, expected)
    p = _by_method(o >= byar_min_observed, byar_p, exact_poisson_p, o, e)
    return _scalar_or_array(p, scalar)


# --- Many categories at once ---------------------------------------------------------------


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


# --- Expected counts -------------------------------------------------------------------


def expected_crude(n: Any, share: Any) -> Any:
    """Expected count if the service's N known users matched the area: N x area share."""
    scalar = _is_scalar(n, share)
    out = np.asarray(n, dtype=float) * np.asarray(share, dtype=float)
    return _scalar_or_array(out, scalar)


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


# --- Flags -----------------------------------------------------------------------------


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
    scalar = _is_scalar(ratio, p, alpha, expected)
    r, p, alpha, e = _floats(ratio, p, alpha, expected)
    too_few = ~(e >= rules.min_expected) | ~np.isfinite(r)
    hit = ~too_few & (p < alpha)
    under = hit & (r < rules.under_ratio)
    over = hit & (r > rules.over_ratio)
    flag = np.select([too_few, under, over], ["too_few", "under", "over"], "none").astype(object)
    return _scalar_or_array(flag, scalar)


def row_p(observed: Any, n: Any, expected: Any, standardised: bool, rules: Rules) -> Any:
    """Each row's two-sided p-value: binomial against E/N for crude rows, Poisson against E
    for age-adjusted ones (the methods of the row's intervals)."""
    o, n, e = _floats(observed, n, expected)
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
    o, n, u, e, alpha = _floats(observed, n, unknown, expected, alpha)
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


# --- Goodness of fit ---------------------------------------------------------------------


def goodness_of_fit(
    observed: Any, expected_shares: Any, rules: Rules | None = None, seed: int | None = None
) -> dict[str, Any]:
    """Does the service's mix across all categories differ from the expected mix?

    Pearson's chi-square (``scipy.stats.chisquare``) on k - 1 degrees of freedom when
    every expected count is at least ``rules.gof_min_expected``; otherwise a Monte Carlo
    p-value: ``rules.gof_draws`` multinomial samples of N from the expected shares
    (numpy Generator, seed ``rules.gof_seed`` unless ``seed`` is given),
    p = (1 + #{X2_sim >= X2_obs}) / (1 + draws), as R's chisq.test(simulate.p.value).
    Effect size Cohen's w = sqrt(X2 / N) (0.1 small, 0.3 medium, 0.5 large).
    Categories with an expected share of 0 and no one observed are left out; one with
    people observed but an expected share of 0 makes the statistic infinite (p = 0).
    """
    from scipy import stats as st  # here, not at the top: it takes 0.4 s to load
    rules = rules or load_rules()
    obs = np.asarray(observed, dtype=float)
    shares = np.asarray(expected_shares, dtype=float)
    keep = (shares > 0) | (obs > 0)
    obs, shares = obs[keep], shares[keep]
    n = float(obs.sum())
    k = len(obs)
    result: dict[str, Any] = {
        "statistic": np.nan,
        "p_value": np.nan,
        "dof": max(k - 1, 0),
        "method": "",
        "cohen_w": np.nan,
        "n": n,
        "categories": k,
    }
    if k < 2 or n <= 0 or shares.sum() <= 0:
        result["method"] = "not tested: fewer than two categories or no one with a known value"
        return result
    shares = shares / shares.sum()
    expected = n * shares
    if np.any(obs[shares == 0] > 0):
        result.update(
            statistic=np.inf,
            p_value=0.0,
            cohen_w=np.inf,
            method="not tested: people in a category the census gives none in",
        )
        return result
    stat = float(st.chisquare(obs, expected).statistic)
    result["statistic"] = stat
    result["cohen_w"] = float(np.sqrt(stat / n))
    if np.all(expected >= rules.gof_min_expected):
        result["p_value"] = float(st.chi2.sf(stat, k - 1))
        result["method"] = "Pearson chi-square"
        return result
    seed = rules.gof_seed if seed is None else seed
    p_value = monte_carlo_p_value(obs, shares, rules.gof_draws, seed)
    result["p_value"] = p_value
    result["method"] = f"Monte Carlo, {rules.gof_draws} draws, seed {seed}"
    return result


def monte_carlo_p_value(observed: np.ndarray, shares: np.ndarray, draws: int, seed: int) -> float:
    """P(X2 >= observed X2) under the multinomial null, by simulation (see goodness_of_fit)."""
    n = int(round(float(np.sum(observed))))
    expected = n * shares
    stat = float(np.sum((observed - expected) ** 2 / expected))
    rng = np.random.default_rng(seed)
    exceed = 0
    batch = 5000
    done = 0
    tol = abs(stat) * np.finfo(float).eps * 100  # ties that differ only by rounding
    while done < draws:
        size = min(batch, draws - done)
        sims = rng.multinomial(n, shares, size=size)
        sim_stat = np.sum((sims - expected) ** 2 / expected, axis=1)
        exceed += int(np.sum(sim_stat >= stat - tol))
        done += size
    return (exceed + 1) / (draws + 1)


# --- The table -----------------------------------------------------------------------------


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
    e = expected_crude(n, share)
    if standardised and "expected" in df:
        given = df["expected"].to_numpy(dtype=float)
        e = np.where(np.isfinite(given), given, e)
    e = np.where(n > 0, e, 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        service_share = np.where(n > 0, o / n, np.nan)
        expected_share = np.where(n > 0, e / n, np.nan)
        ratio = np.where(e > 0, o / e, np.nan)
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
    method = np.where(e > 0, method, "")

    tested = (e >= rules.min_expected) & np.isfinite(ratio)
    p = np.where(tested, row_p(o, n, e, standardised, rules), np.nan)
    if "family" in df:
        p_adj, per_test = np.full_like(p, np.nan), np.full_like(p, np.nan)
        for rows in df.groupby("family", sort=False).indices.values():
            p_adj[rows], per_test[rows] = family_wise(p[rows], rules)
    else:
        p_adj, per_test = family_wise(p, rules)
    alpha = 1 - rules.level
    flag = decide(ratio, p_adj, flag_alpha(rules), e, rules)
    signal = decide(ratio, p, alpha, e, rules)
    strength = np.select(
        [np.isin(signal, ("under", "over")) & (p < 1 - rules.strong_level),
         np.isin(signal, ("under", "over"))],
        [_level_label(rules.strong_level), _level_label(rules.level)],
        STRENGTH_NONE,
    ).astype(object)
    signal = np.where(signal == "too_few", "", signal)

    reason = np.where(
        n <= 0,
        "no one has a known value",
        np.where(
            flag == "too_few",
            [f"expected count {x:.1f} is below {rules.min_expected:g}" for x in e],
            "",
        ),
    )
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
            "flag_reason": pd.array(reason, dtype=object),
            "tipping_share": tip,
            "missing_could_explain": pd.array(explain, dtype=object),
        }
    )
    return out[TABLE_COLUMNS]


# --- Words for the outputs -------------------------------------------------------------------

#: How each ``family_wise`` rule is described in the method text.
_FAMILY_TEXT = {
    "holm": "Holm's step-down method across the characteristic's tested categories",
    "bonferroni": "Bonferroni's correction across the characteristic's tested categories",
    "strong_level": "the stricter {sl} level for every category",
    "none": "each category on its own at {lv} (no allowance for the number of categories)",
}


def family_text(rules: Rules) -> str:
    """The family-wise rule in a few words, e.g. for a footnote."""
    return _FAMILY_TEXT[rules.family_wise].format(
        lv=_level_label(rules.level), sl=_level_label(rules.strong_level))


def p_text(p: float) -> str:
    """A p-value as documents print it: "p = 0.012", "p < 0.001"."""
    if p is None or p != p:
        return "p not worked out"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def method_text(rules: Rules | None = None) -> str:
    """How the comparison was made, with its parameters, for reports and csv footers."""
    r = rules or load_rules()
    lv, sl = _level_label(r.level), _level_label(r.strong_level)
    alpha = 1 - r.level
    return (
        f"Shares are of people with a known value. The expected count is what the service "
        f"would have if its users matched the area's Census 2021 population: the number with "
        f"a known value times the area's share (crude), or, where the census gives the "
        f"characteristic by age, the sum over age bands of the service's users in the band "
        f"times the area's share in that band (indirectly standardised for age); where both "
        f"are given, the flag is read from the age-adjusted rows (age_adjusted true) and the "
        f"crude rows are shown beside them. The representation ratio is observed / expected. "
        f"Crude rows are compared by binomial methods: the share's {lv} and {sl} intervals by "
        f"Wilson's score method with the score test, or, when fewer than "
        f"{r.exact_binomial_below} people are in the group or outside it, the exact "
        f"(Clopper-Pearson) interval with the exact binomial test; the ratio's limits are the "
        f"share's divided by the area's share. Age-adjusted rows are compared by Poisson "
        f"methods, as PHE/UKHSA Fingertips: Byar's limits and test when at least "
        f"{r.byar_min_observed} people are observed, exact Poisson limits and test otherwise; "
        f"the share's limits are the ratio's times the expected share. Each test is the one "
        f"its interval inverts, so a row's intervals and p-value never disagree. A category's "
        f"own test at {lv} gives a screening signal (signal_95). The flag allows for the "
        f"number of categories compared, using {family_text(r)} (the chance of any false "
        f"flag in a characteristic held at {100 * alpha:.10g}%): a group is flagged 'under' "
        f"when the ratio is below {r.under_ratio:g} and its adjusted p-value is below the "
        f"level, 'over' when the ratio is above {r.over_ratio:g} (the four-fifths rule and "
        f"its reciprocal); 'too_few' when fewer than {r.min_expected:g} people are expected. "
        f"Strength {sl} means the {sl} interval also excludes the baseline. Flags say fewer "
        f"or more than expected, not better or worse. "
        + (
            "For each flag, the tipping point is the share of the people whose value is "
            "unknown who would have to be in the group for the flag to go (re-tested at the "
            "level the flag was judged at); missing data could explain the flag when that "
            f"share is at most {r.tipping_plausible_factor:g} times the larger of the "
            "group's share among the recorded and its expected share (for 'over' flags, at "
            f"least the smaller divided by {r.tipping_plausible_factor:g}). "
            if r.missing_sensitivity
            else ""
        )
        + f"Each characteristic's overall mix is tested with Pearson's chi-square test, or "
        f"a Monte Carlo test ({r.gof_draws} draws, seed {r.gof_seed}) when any expected "
        f"count is below {r.gof_min_expected:g}; the effect size is Cohen's "
        f"w = sqrt(chi-square / N)."
    )


__all__ = [
    "BYAR",
    "EXACT",
    "EXACT_BINOMIAL",
    "FLAGS",
    "TABLE_COLUMNS",
    "WILSON",
    "binomial_p",
    "bonferroni",
    "byar_p",
    "clopper_pearson_interval",
    "compare_table",
    "decide",
    "exact_binomial_p",
    "exact_poisson_p",
    "expected_crude",
    "expected_standardised",
    "family_text",
    "family_wise",
    "flag_alpha",
    "goodness_of_fit",
    "holm",
    "method_text",
    "monte_carlo_p_value",
    "p_text",
    "poisson_count_interval",
    "poisson_p",
    "ratio_interval",
    "row_p",
    "score_test_p",
    "share_interval",
    "tipping_point",
    "wilson_interval",
]

"""Intervals for a share, a count and a ratio, and the tests that invert them.

The tests use scipy.special (the functions scipy.stats' distributions call), to test
whole tables, and the tipping point's repeated re-tests, at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Flag values, in the order they are explained to readers.
FLAGS = ("under", "over", "none", "too_few")


#: ``strength`` of a signal: its 99.8% interval excludes the baseline too / only its 95%
#: interval does / no signal. (The labels follow the rules' levels, e.g. "99.8%", "95%".)
STRENGTH_NONE = ""


WILSON = "Wilson score"


EXACT_BINOMIAL = "exact binomial"


BYAR = "Byar"


EXACT = "exact Poisson"


def level_label(level: float) -> str:
    return f"{100 * level:.10g}%"


def _z(level: float) -> float:
    """Two-sided standard normal quantile, e.g. 1.959964 for 95%."""
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    return float(special.ndtri(0.5 + level / 2))


def scalar_or_array(x: np.ndarray, scalar: bool) -> Any:
    return x.item() if scalar else x


def is_scalar(*args: Any) -> bool:
    return all(np.ndim(a) == 0 for a in args)


def as_floats(*args: Any) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args)))


def wilson_interval(k: Any, n: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval for a proportion k/n, without continuity correction.

    The interval Fingertips uses for proportions (Wilson 1927; Newcombe 1998, method 3),
    identical to ``scipy.stats.binomtest(k, n).proportion_ci(level, method="wilson")``
    but vectorised and defined for non-integer counts. ``n == 0`` gives NaN.
    """
    scalar = is_scalar(k, n)
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
    return scalar_or_array(lo, scalar), scalar_or_array(hi, scalar)


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
    scalar = is_scalar(observed)
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
        scalar_or_array(lo, scalar),
        scalar_or_array(hi, scalar),
        scalar_or_array(method, scalar),
    )


def ratio_interval(
    observed: Any, expected: Any, level: float = 0.95, byar_min_observed: int = 10
) -> tuple[Any, Any, Any]:
    """Limits of the ratio O/E, treating E as fixed: the count's limits divided by E.

    Method is "Byar" when O >= ``byar_min_observed`` and "exact Poisson" below (the
    Fingertips rule for indirectly standardised ratios). E <= 0 gives NaN limits.
    """
    scalar = is_scalar(observed, expected)
    lo, hi, method = poisson_count_interval(
        np.asarray(observed, dtype=float), level, byar_min_observed
    )
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_lo = np.where(e > 0, lo / e, np.nan)
        r_hi = np.where(e > 0, hi / e, np.nan)
    method = np.broadcast_to(method, r_lo.shape).astype(object)
    return (
        scalar_or_array(r_lo, scalar),
        scalar_or_array(r_hi, scalar),
        scalar_or_array(method, scalar),
    )


def clopper_pearson_interval(k: Any, n: Any, level: float = 0.95) -> tuple[Any, Any]:
    """Clopper-Pearson (exact binomial) interval for k/n, vectorised.

    The limits solve P(X >= k | p_low) = P(X <= k | p_high) = (1 - level)/2: quantiles of
    the beta distribution (``scipy.special.betaincinv``), the closed form of the root that
    ``scipy.stats.binomtest(k, n).proportion_ci(level, method="exact")`` searches for.
    0 at k = 0, 1 at k = n; ``n == 0`` gives NaN.
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = is_scalar(k, n)
    k, n = as_floats(k, n)
    a = (1 - level) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(k > 0, special.betaincinv(k, n - k + 1, a), 0.0)
        hi = np.where(k < n, special.betaincinv(k + 1, n - k, 1 - a), 1.0)
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    return scalar_or_array(lo, scalar), scalar_or_array(hi, scalar)


def _exact_binomial(k: Any, n: Any, exact_below: int) -> np.ndarray:
    """Where the exact binomial replaces Wilson: fewer than ``exact_below`` people in the
    group or outside it (the score approximation is poor for small counts)."""
    k, n = as_floats(k, n)
    return np.minimum(k, n - k) < exact_below


def share_interval(
    k: Any, n: Any, level: float = 0.95, exact_below: int = 10
) -> tuple[Any, Any, Any]:
    """Interval of a share k/n: Wilson, or Clopper-Pearson where ``min(k, n - k)`` is below
    ``exact_below``. Returns (lower, upper, method)."""
    scalar = is_scalar(k, n)
    k, n = as_floats(k, n)
    exact = _exact_binomial(k, n, exact_below)
    lo, hi = (np.asarray(x, dtype=float) for x in wilson_interval(k, n, level))
    if exact.any():
        e_lo, e_hi = clopper_pearson_interval(k[exact], n[exact], level)
        lo, hi = lo.copy(), hi.copy()
        lo[exact], hi[exact] = e_lo, e_hi
    method = np.where(exact, EXACT_BINOMIAL, WILSON).astype(object)
    return (
        scalar_or_array(lo, scalar),
        scalar_or_array(hi, scalar),
        scalar_or_array(method, scalar),
    )


def score_test_p(k: Any, n: Any, share: Any) -> Any:
    """Two-sided p-value of the score test of a proportion: z = (k - n p0) / sqrt(n p0 q0).

    The Wilson interval at level 1 - a is exactly the set of p0 this test does not reject
    at a, so the test and the interval agree on every row (as statsmodels'
    ``proportions_ztest(k, n, p0, prop_var=p0)``). NaN where n = 0; where p0 is 0 or 1,
    1 if k equals n p0 (nothing else is possible then) and 0 otherwise.
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = is_scalar(k, n, share)
    k, n, p0 = as_floats(k, n, share)
    var = n * p0 * (1 - p0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(k - n * p0) / np.sqrt(var)
        p = np.where(var > 0, 2 * special.ndtr(-z), np.where(k == n * p0, 1.0, 0.0))
    p = np.where((n > 0) & np.isfinite(p0), np.minimum(p, 1.0), np.nan)
    return scalar_or_array(p, scalar)


def exact_binomial_p(k: Any, n: Any, share: Any) -> Any:
    """Two-sided exact binomial p-value, twice the smaller tail (the "central" test).

    min(1, 2 min(P(X <= k), P(X >= k))) for X ~ Binomial(n, p0) (``scipy.special.bdtr``,
    ``bdtrc``). It is the test the Clopper-Pearson interval inverts, so it rejects p0 at a
    exactly when the interval at 1 - a excludes p0. (``scipy.stats.binomtest``'s
    two-sided p-value sums the outcomes no more likely than k instead, and can disagree
    with the interval.)
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = is_scalar(k, n, share)
    k, n, p0 = as_floats(k, n, share)
    ok = (n > 0) & np.isfinite(p0)
    ki = np.where(ok, np.floor(k), 0).astype(np.int64)
    ni = np.where(ok, n, 0).astype(np.int64)
    with np.errstate(invalid="ignore"):
        lower = special.bdtr(ki, ni, np.where(ok, p0, 0.5))
        upper = special.bdtrc(ki - 1, ni, np.where(ok, p0, 0.5))
    p = np.where(ok, np.minimum(1.0, 2 * np.minimum(lower, upper)), np.nan)
    return scalar_or_array(p, scalar)


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
    scalar = is_scalar(k, n, share)
    k, n, p0 = as_floats(k, n, share)
    p = _by_method(_exact_binomial(k, n, exact_below), exact_binomial_p, score_test_p, k, n, p0)
    return scalar_or_array(p, scalar)


def byar_p(observed: Any, expected: Any) -> Any:
    """Two-sided p-value of Byar's test of O against a Poisson mean E.

    The inversion of Byar's limits (Breslow & Day 1987; Rothman & Boice 1979):
        O above E:  z = 3 sqrt(O) (1 - 1/(9 O) - (E / O)^(1/3))
        O below E:  z = 3 sqrt(O + 1) ((E / (O + 1))^(1/3) - 1 + 1/(9 (O + 1)))
    p = min(1, 2 min(Phi(-z_above), Phi(-z_below))): E lies outside Byar's interval at
    1 - a exactly when p < a. Needs O > 0 (Byar is used from 10 observed).
    """
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = is_scalar(observed, expected)
    o, e = as_floats(observed, expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        o1 = o + 1
        z_above = 3 * np.sqrt(o) * (1 - 1 / (9 * o) - np.cbrt(e / o))
        z_below = 3 * np.sqrt(o1) * (np.cbrt(e / o1) - 1 + 1 / (9 * o1))
        p = np.minimum(1.0, 2 * np.minimum(special.ndtr(-z_above), special.ndtr(-z_below)))
    p = np.where((o > 0) & (e > 0), p, np.nan)
    return scalar_or_array(p, scalar)


def exact_poisson_p(observed: Any, expected: Any) -> Any:
    """Two-sided exact Poisson p-value, twice the smaller tail (``scipy.special.pdtr``,
    ``pdtrc``): the test the exact (Garwood) limits invert, as statsmodels'
    ``test_poisson(..., method="exact-c")``."""
    from scipy import special  # here, not at the top: scipy takes 0.4 s to load
    scalar = is_scalar(observed, expected)
    o, e = as_floats(observed, expected)
    ok = (e > 0) & (o >= 0)
    with np.errstate(invalid="ignore"):
        lower = special.pdtr(np.floor(o), np.where(ok, e, 1.0))
        upper = np.where(o > 0, special.pdtrc(np.floor(o) - 1, np.where(ok, e, 1.0)), 1.0)
    p = np.where(ok, np.minimum(1.0, 2 * np.minimum(lower, upper)), np.nan)
    return scalar_or_array(p, scalar)


def poisson_p(observed: Any, expected: Any, byar_min_observed: int = 10) -> Any:
    """Two-sided p-value of O against E by the method ``ratio_interval`` uses for the same
    row (Byar from ``byar_min_observed`` observed, exact below)."""
    scalar = is_scalar(observed, expected)
    o, e = as_floats(observed, expected)
    p = _by_method(o >= byar_min_observed, byar_p, exact_poisson_p, o, e)
    return scalar_or_array(p, scalar)

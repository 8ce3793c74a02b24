"""The statistics of representation: shares, intervals, ratios, flags, goodness of fit.

Public-health indicator practice (PHE/UKHSA Fingertips): for each category of a
characteristic, the service's share with a Wilson score interval; an expected count
(crude or indirectly standardised for age); the representation ratio observed/expected
with Byar's or exact Poisson limits at two levels; a neutral flag (``under``/``over``:
fewer/more than expected, never better/worse); and a check of whether the flag survives
any allocation of the people whose value is unknown.

Every function is pure and takes numbers or numpy arrays (broadcast together), so a
whole table is computed at once. Nothing here reads files, prints or decides what a
difference means for a service: that is ``assess``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from eqia.rules import Rules, load_rules

#: Flag values, in the order they are explained to readers.
FLAGS = ("under", "over", "none", "too_few")

#: ``strength`` of a flag: its 99.8% interval excludes 1 too / only its 95% interval does /
#: no flag. (The labels follow the rules' levels, e.g. "99.8%" and "95%".)
STRENGTH_NONE = ""

BYAR = "Byar"
EXACT = "exact Poisson"

#: Columns of ``compare_table``, in order.
TABLE_COLUMNS = [
    "category",
    "service_count",
    "service_share",
    "ci_low",
    "ci_high",
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
    "flag",
    "strength",
    "flag_reason",
    "flag_unknown_out",
    "flag_unknown_in",
    "robust_to_missing",
]


def _level_label(level: float) -> str:
    return f"{100 * level:.10g}%"


def _z(level: float) -> float:
    """Two-sided standard normal quantile, e.g. 1.959964 for 95%."""
    from scipy import stats as st  # here, not at the top: it takes 0.4 s to load
    return float(st.norm.ppf(0.5 + level / 2))


def _scalar_or_array(x: np.ndarray, scalar: bool) -> Any:
    return x.item() if scalar else x


def _is_scalar(*args: Any) -> bool:
    return all(np.ndim(a) == 0 for a in args)


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


def classify(
    ratio: Any,
    lo: Any,
    hi: Any,
    lo_strong: Any,
    hi_strong: Any,
    expected: Any,
    rules: Rules,
) -> tuple[Any, Any]:
    """Neutral flag and its strength from a ratio and its two intervals.

    ``too_few``: expected count below ``rules.min_expected`` (or not a number: N = 0).
    ``under``: the ``level`` interval lies wholly below 1 (hi < 1) and ratio < under_ratio.
    ``over``: it lies wholly above 1 (lo > 1) and ratio > over_ratio.
    ``none``: otherwise. An interval touching 1, or a ratio exactly at a threshold, is
    ``none``. ``strength`` of an under/over flag is e.g. "99.8%" when the strong interval
    also excludes 1, "95%" otherwise; "" for none and too_few.
    """
    scalar = _is_scalar(ratio, lo, hi, lo_strong, hi_strong, expected)
    r, lo, hi, lo_s, hi_s, e = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (ratio, lo, hi, lo_strong, hi_strong, expected))
    )
    too_few = ~(e >= rules.min_expected) | ~np.isfinite(r)
    under = ~too_few & (hi < 1) & (r < rules.under_ratio)
    over = ~too_few & (lo > 1) & (r > rules.over_ratio)
    flag = np.select([too_few, under, over], ["too_few", "under", "over"], "none").astype(object)
    strong = (under & (hi_s < 1)) | (over & (lo_s > 1))
    strength = np.select(
        [strong, under | over],
        [_level_label(rules.strong_level), _level_label(rules.level)],
        STRENGTH_NONE,
    ).astype(object)
    return _scalar_or_array(flag, scalar), _scalar_or_array(strength, scalar)


def flag_counts(observed: Any, expected: Any, rules: Rules) -> tuple[Any, Any]:
    """(flag, strength) straight from observed and expected counts."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(e > 0, o / e, np.nan)
    lo, hi, _ = ratio_interval(o, e, rules.level, rules.byar_min_observed)
    lo_s, hi_s, _ = ratio_interval(o, e, rules.strong_level, rules.byar_min_observed)
    flag, strength = classify(ratio, lo, hi, lo_s, hi_s, e, rules)
    if _is_scalar(observed, expected):
        return np.asarray(flag).item(), np.asarray(strength).item()
    return flag, strength


def missing_sensitivity(
    observed: Any, n: Any, unknown: Any, expected: Any, rules: Rules
) -> tuple[Any, Any, Any]:
    """Does the flag survive the unknowns being allocated wholly out of or into the group?

    With U unknowns the group's share could lie anywhere from O/(N+U) to (O+U)/(N+U).
    Both extremes are re-tested against E' = E (N+U)/N, the expected count for N+U
    people (for a standardised E this assumes the unknowns share the knowns' age mix):
    out: O' = O; in: O' = O + U. Returns (robust, flag_out, flag_in); robust is False
    when either alternative flag differs from the flag itself, and NaN when N = 0.
    """
    scalar = _is_scalar(observed, n, unknown, expected)
    o, n, u, e = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (observed, n, unknown, expected))
    )
    u = np.where(np.isfinite(u) & (u > 0), u, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_all = np.where(n > 0, e * (n + u) / n, np.nan)
    flag = np.asarray(flag_counts(o, e, rules)[0])
    flag_out = np.asarray(flag_counts(o, e_all, rules)[0])
    flag_in = np.asarray(flag_counts(o + u, e_all, rules)[0])
    same = (flag_out == flag) & (flag_in == flag)
    robust = np.array(
        [bool(s) if k > 0 else None for s, k in zip(same.ravel(), n.ravel(), strict=True)],
        dtype=object,
    ).reshape(same.shape)
    return (
        _scalar_or_array(robust, scalar),
        _scalar_or_array(np.asarray(flag_out), scalar),
        _scalar_or_array(np.asarray(flag_in), scalar),
    )


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


def compare_table(df: pd.DataFrame, rules: Rules | None = None) -> pd.DataFrame:
    """One characteristic's categories compared with the baseline, one row per category.

    ``df`` columns: ``category, observed, n, unknown, baseline_share`` and optionally
    ``expected`` (e.g. indirectly standardised; missing or NaN means crude N x share).
    Returns ``TABLE_COLUMNS``: shares are fractions (0-1); ``ci_low/ci_high`` the Wilson
    interval of the service share at ``rules.level``; ``ratio_low/high`` at
    ``rules.level``, ``ratio_low/high_strong`` at ``rules.strong_level``;
    ``expected_share`` = E/N; ``difference_pp`` = 100 (O - E)/N, the service share minus
    the expected share in percentage points (for crude E, minus the baseline share).
    """
    rules = rules or load_rules()
    o = df["observed"].to_numpy(dtype=float)
    n = df["n"].to_numpy(dtype=float)
    u = df["unknown"].to_numpy(dtype=float) if "unknown" in df else np.zeros_like(o)
    share = df["baseline_share"].to_numpy(dtype=float)
    crude = expected_crude(n, share)
    e = df["expected"].to_numpy(dtype=float) if "expected" in df else crude
    e = np.where(np.isfinite(e), e, crude)
    e = np.where(n > 0, e, 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        service_share = np.where(n > 0, o / n, np.nan)
        expected_share = np.where(n > 0, e / n, np.nan)
        ratio = np.where(e > 0, o / e, np.nan)
    ci_low, ci_high = wilson_interval(o, n, rules.level)
    r_lo, r_hi, method = ratio_interval(o, e, rules.level, rules.byar_min_observed)
    r_lo_s, r_hi_s, _ = ratio_interval(o, e, rules.strong_level, rules.byar_min_observed)
    flag, strength = classify(ratio, r_lo, r_hi, r_lo_s, r_hi_s, e, rules)
    method = np.where(e > 0, method, "")

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
        robust, flag_out, flag_in = missing_sensitivity(o, n, u, e, rules)
    else:
        robust = np.full(len(o), None, dtype=object)
        flag_out = flag_in = np.full(len(o), "", dtype=object)

    out = pd.DataFrame(
        {
            "category": df["category"].to_numpy(),
            "service_count": o,
            "service_share": service_share,
            "ci_low": ci_low,
            "ci_high": ci_high,
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
            "flag": pd.array(flag, dtype=object),
            "strength": pd.array(strength, dtype=object),
            "flag_reason": pd.array(reason, dtype=object),
            "flag_unknown_out": pd.array(flag_out, dtype=object),
            "flag_unknown_in": pd.array(flag_in, dtype=object),
            "robust_to_missing": pd.array(robust, dtype=object),
        }
    )
    return out[TABLE_COLUMNS]


# --- Words for the outputs -------------------------------------------------------------------


def method_text(rules: Rules | None = None) -> str:
    """How the comparison was made, with its parameters, for reports and csv footers."""
    r = rules or load_rules()
    lv, sl = _level_label(r.level), _level_label(r.strong_level)
    return (
        f"Shares are of people with a known value; their {lv} confidence intervals use "
        f"Wilson's score method. The expected count is what the service would have if its "
        f"users matched the area's Census 2021 population: the number with a known value "
        f"times the area's share (crude), or, where the census gives the characteristic by "
        f"age, the sum over age bands of the service's users in the band times the area's "
        f"share in that band (indirectly standardised for age); where both are given, the "
        f"flag is read from the age-adjusted rows (age_adjusted true) and the crude rows "
        f"are shown beside them. The representation ratio is "
        f"observed / expected, with {lv} and {sl} confidence limits by Byar's method when "
        f"at least {r.byar_min_observed} people are observed and exact Poisson limits "
        f"otherwise (as PHE/UKHSA Fingertips). A group is flagged 'under' when the ratio is "
        f"below {r.under_ratio:g} and its {lv} interval lies wholly below 1, 'over' when "
        f"the ratio is above {r.over_ratio:g} and its interval lies wholly above 1 (the "
        f"four-fifths rule and its reciprocal); 'too_few' when fewer than "
        f"{r.min_expected:g} people are expected. Flags are marked {sl} when the {sl} "
        f"interval also excludes 1, which guards against chance findings when many groups "
        f"are compared. Flags say fewer or more than expected, not better or worse. "
        + (
            "Each flag is re-tested with the people whose value is unknown counted wholly "
            "outside and wholly inside the group; a flag that changes is marked not robust "
            "to missing data. "
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
    "FLAGS",
    "TABLE_COLUMNS",
    "classify",
    "compare_table",
    "expected_crude",
    "expected_standardised",
    "flag_counts",
    "goodness_of_fit",
    "method_text",
    "missing_sensitivity",
    "monte_carlo_p_value",
    "poisson_count_interval",
    "ratio_interval",
    "wilson_interval",
]

"""Goodness of fit of a service's whole profile to its population's (chi-square, or Monte Carlo when expected counts are small)."""

from __future__ import annotations

from typing import Any

import numpy as np

from eqia.settings.rules import Rules, load_rules


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

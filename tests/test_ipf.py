"""Iterative proportional fitting against answers worked out without it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eqia.census.ipf import fit


def test_a_2x2_table_is_fitted_to_the_answer_worked_out_by_hand():
    # Seed [[1, 2], [3, 4]]; rows must add to 10 and 20, columns to 12 and 18.
    # The fit keeps the seed's odds ratio (1 x 4) / (2 x 3) = 2/3, so with x the
    # top-left cell: x (8 + x) / ((10 - x)(12 - x)) = 2/3, i.e. x^2 + 68 x - 240 = 0,
    # x = -34 + sqrt(1396) = 3.36308...
    x = -34 + math.sqrt(1396)
    got = fit(np.array([[1.0, 2.0], [3.0, 4.0]]),
              [((0,), np.array([10.0, 20.0])), ((1,), np.array([12.0, 18.0]))])
    assert got.converged
    assert got.table == pytest.approx(np.array([[x, 10 - x], [12 - x, 8 + x]]), abs=1e-8)
    assert x == pytest.approx(3.36308, abs=1e-5)


def test_the_fit_has_both_margins_and_the_seeds_odds_ratios():
    # The IPF solution is the unique table with the target margins whose ratio to the
    # seed is a product row factor x column factor (Bishop, Fienberg and Holland 1975).
    rng = np.random.default_rng(3)
    seed = rng.uniform(1, 50, size=(6, 9))
    rows = rng.uniform(10, 100, size=6)
    cols = rng.uniform(10, 100, size=9)
    cols *= rows.sum() / cols.sum()
    got = fit(seed, [((0,), rows), ((1,), cols)], tol=1e-12)
    assert got.converged and got.iterations < 1000
    assert got.table.sum(axis=1) == pytest.approx(rows, rel=1e-10)
    assert got.table.sum(axis=0) == pytest.approx(cols, rel=1e-10)
    ratio = np.log(got.table / seed)
    # Rank one on the log scale: every interaction contrast is 0.
    contrast = ratio - ratio.mean(axis=0) - ratio.mean(axis=1, keepdims=True) + ratio.mean()
    assert np.abs(contrast).max() < 1e-9


def test_a_margin_of_two_axes_is_fitted_in_a_three_way_table():
    rng = np.random.default_rng(11)
    seed = rng.uniform(1, 10, size=(3, 4, 2))
    ab = rng.uniform(5, 20, size=(3, 4))
    c = np.array([0.3, 0.7]) * ab.sum()
    got = fit(seed, [((0, 1), ab), ((2,), c)], tol=1e-12)
    assert got.converged
    assert got.table.sum(axis=2) == pytest.approx(ab, rel=1e-10)
    assert got.table.sum(axis=(0, 1)) == pytest.approx(c, rel=1e-10)


def test_a_target_the_seed_cannot_reach_is_reported_not_hidden():
    # The second row is all 0 in the seed, so it can never hold the 1 asked of it.
    got = fit(np.array([[1.0, 1.0], [0.0, 0.0]]),
              [((0,), np.array([1.0, 1.0])), ((1,), np.array([1.0, 1.0]))], max_iter=50)
    assert not got.converged
    assert got.max_error >= 1.0 - 1e-9


def test_margins_with_different_totals_are_refused():
    with pytest.raises(ValueError, match="totals differ"):
        fit(np.ones((2, 2)), [((0,), np.array([1.0, 2.0])), ((1,), np.array([1.0, 1.0]))])

"""Iterative proportional fitting: a seed table scaled until it has the margins asked for.

Where the census publishes a crossing only for England and Wales (religion by age), an
area's own crossing is estimated by fitting the national table (the seed) to the area's
published one-way counts (its religion, its ages). The fitted table keeps the seed's
odds ratios, i.e. how strongly religion and age go together nationally, and has exactly
the area's margins (Deming and Stephan 1940; Bishop, Fienberg and Holland 1975, ch. 3).
It is an estimate, and every output that uses one says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fit:
    table: np.ndarray
    iterations: int
    converged: bool
    max_error: float  # the largest |fitted margin - target| over every margin cell


def fit(
    seed: np.ndarray,
    margins: Sequence[tuple[tuple[int, ...], np.ndarray]],
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> Fit:
    """Scale ``seed`` until, for each ``(axes, target)``, summing over the other axes gives
    ``target`` (shape: those axes of the seed). Each pass rescales every margin in turn.

    Stops when every margin is within ``tol`` of its target, relative to the table's
    total. Targets must share one total (rescale them first: published tables differ
    by a few people). A cell that is 0 in the seed stays 0, so a target cell whose
    seed cells are all 0 cannot be met: the fit then reports ``converged=False``.
    """
    table = np.asarray(seed, dtype=float).copy()
    if (table < 0).any():
        raise ValueError("the seed has a negative cell")
    targets = [(tuple(axes), np.asarray(t, dtype=float)) for axes, t in margins]
    totals = [t.sum() for _, t in targets]
    if not np.allclose(totals, totals[0], rtol=1e-12, atol=0):
        raise ValueError(f"the margins' totals differ: {totals}")
    scale = max(totals[0], 1e-300)

    def current(axes: tuple[int, ...]) -> np.ndarray:
        other = tuple(i for i in range(table.ndim) if i not in axes)
        return table.sum(axis=other, keepdims=True)

    def shaped(axes: tuple[int, ...], target: np.ndarray) -> np.ndarray:
        shape = [table.shape[i] if i in axes else 1 for i in range(table.ndim)]
        return target.reshape(shape)

    error = np.inf
    for iteration in range(1, max_iter + 1):
        for axes, target in targets:
            have = current(axes)
            want = shaped(axes, target)
            with np.errstate(divide="ignore", invalid="ignore"):
                table *= np.where(have > 0, want / have, 0.0)
        error = max(float(np.abs(current(a) - shaped(a, t)).max()) for a, t in targets)
        if error <= tol * scale:
            return Fit(table, iteration, True, error)
    return Fit(table, max_iter, False, error)


__all__ = ["Fit", "fit"]

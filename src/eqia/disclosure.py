"""Small-number protection for publication: suppression, rounding and its audit log.

Every publishable table and every publishable sentence goes through one
``DisclosurePolicy`` (defaults in ``data/disclosure.yaml``):

* ``threshold``: counts from 1 to ``threshold - 1`` are hidden (primary suppression),
  then more cells are hidden (secondary suppression) until no hidden cell can be
  worked out from what is published. Totals are published as true sums; a total below
  the threshold is hidden like any other count.
* ``nhs``: the NHS Digital rule. 0 stays 0, 1 to 7 is shown as ``*``, everything else
  is rounded to the nearest 5; totals are rounded on their own, from the true totals,
  and percentages are worked out from the rounded figures.
* ``none``: internal use. Nothing is hidden, and documents carry
  ``NOT_FOR_PUBLICATION`` on every page.

What the threshold method guarantees: take everything a reader can see (the published
cells, the published totals, and the fact that a hidden cell is never a zero when zeros
are shown) and ask for the smallest and largest value each hidden cell, or hidden
total, could take. The two differ by at least ``min_range`` (1 by default: at least two
whole numbers remain possible). This is checked by linear programming for every hidden
cell, not assumed from the "two hidden cells in every line" rule, which is not enough
on its own. The constraints of a two-way table with its margins are totally
unimodular, so the bounds found are whole numbers and the check is exact. Readers are
not told which hidden cells are the small ones (the marker, and the words prose uses
for a hidden cell, are the same for all), so the check assumes no upper limit on them.

This module never changes the counts it is given and never prints. Its ``log`` names
the true values of hidden cells: it is for the council's own records and must never be
published.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields, replace
from functools import partial
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from eqia.errors import ConfigError, InputError
from eqia.yamlfile import read_yaml_doc, safe_load

METHODS = ("threshold", "nhs", "none")

#: The label renderers put on every page of a document made with method ``none``.
NOT_FOR_PUBLICATION = (
    "NOT FOR PUBLICATION - internal use only: small numbers are not suppressed."
)

#: Columns of ``ProtectedTable.log``: one row per hidden cell. ``value`` is the true
#: count; ``lower`` and ``upper`` the range a reader could work out for it from the
#: published table (threshold method only; ``upper`` may be infinite).
LOG_COLUMNS = ["table", "row", "column", "value", "reason", "protects", "lower", "upper"]

_TOL = 1e-6


@dataclass(frozen=True)
class DisclosurePolicy:
    """How small numbers are protected; see ``data/disclosure.yaml`` for each setting."""

    method: str = "threshold"
    threshold: int = 10
    suppress_zero: bool = False
    min_range: int = 1
    nhs_small_max: int = 7
    rounding_base: int = 5
    marker: str = "*"
    total_label: str = "Total"
    share_decimals: int = 1
    prose_small: str = "fewer than {limit}"
    prose_hidden_share: str = "share not shown"
    prose_hidden_count: str = "a number not shown"

    @property
    def publishable(self) -> bool:
        return self.method != "none"

    @property
    def page_label(self) -> str | None:
        """What to print on every page: ``NOT_FOR_PUBLICATION`` for internal output."""
        return None if self.publishable else NOT_FOR_PUBLICATION

    @property
    def smallest_shown(self) -> int:
        """The smallest non-zero count that is published as it is (or rounded)."""
        if self.method == "threshold":
            return self.threshold
        if self.method == "nhs":
            return self.nhs_small_max + 1
        return 1

    @property
    def footnote(self) -> str:
        """One sentence for under a published table, saying what the marker means."""
        if self.method == "threshold":
            zero = " (including 0)" if self.suppress_zero else ""
            return (f"{self.marker} = a number hidden to protect privacy: fewer than "
                    f"{self.threshold}{zero}, or hidden so that a smaller number cannot be "
                    "worked out from the totals.")
        if self.method == "nhs":
            return (f"{self.marker} = 1 to {self.nhs_small_max}. Other figures are rounded "
                    f"to the nearest {self.rounding_base}, and totals are rounded on their "
                    "own, so figures may not add up to the totals. Percentages are worked "
                    "out from the rounded figures.")
        return NOT_FOR_PUBLICATION

    def is_small(self, n: int) -> bool:
        """Whether a count is hidden on its own (primary suppression, or the NHS marker)."""
        if self.method == "threshold":
            return n < self.threshold and (n > 0 or self.suppress_zero)
        if self.method == "nhs":
            return 0 < n <= self.nhs_small_max
        return False

    def rounded(self, n: int) -> int:
        """The NHS rule's rounding (nearest ``rounding_base``, halves up); others: ``n``."""
        if self.method != "nhs" or n == 0:
            return n
        b = self.rounding_base
        return (2 * n + b) // (2 * b) * b


#: A hidden count's flag in words: a flag would narrow what the count could be.
HIDDEN_FLAG_TEXT = "Not shown (small number)"

#: The policy for internal output: nothing hidden.
INTERNAL = DisclosurePolicy(method="none")


# --- loading ------------------------------------------------------------------------


def load_policy(path: str | Path | None = None, **overrides: object) -> DisclosurePolicy:
    """Packaged defaults, then a user's YAML file, then explicit overrides (None ignored).

    The user's file holds the same keys as ``data/disclosure.yaml``, at the top level
    or under ``disclosure:``.
    """
    text = files("eqia").joinpath("data/disclosure.yaml").read_text(encoding="utf-8")
    values = dict(safe_load(text))
    source = str(path) if path is not None else None
    doc, under = None, ()
    if path is not None:
        doc = read_yaml_doc(path, "the disclosure policy file", code="bad-disclosure-policy")
        user = doc.data or {}
        if isinstance(user, dict) and set(user) == {"disclosure"}:
            user, under = user["disclosure"] or {}, ("disclosure",)
        if not isinstance(user, dict):
            raise ConfigError("The disclosure policy file must hold settings as key: value",
                              code="bad-disclosure-policy", file=source,
                              hint="See eqia/data/disclosure.yaml for the settings.")
        values.update(user)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return _validated(values, source)
    except ConfigError as exc:  # name the line of a setting the file gave
        if doc is not None and exc.column and exc.column not in overrides:
            exc.line = doc.lines.get((*under, exc.column))
        raise


def _validated(values: dict, source: str | None) -> DisclosurePolicy:
    names = {f.name for f in fields(DisclosurePolicy)}

    def bad(message: str, key: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, code="bad-disclosure-policy", file=source,
                           column=key, value=values.get(key), hint=hint)

    for key in values:
        if key not in names:
            raise bad(f"'{key}' is not a disclosure setting", key,
                      "Known settings: " + ", ".join(sorted(names)) + ".")
    if values.get("method") not in METHODS:
        raise bad("method must be threshold, nhs or none", "method")
    minimum = {"threshold": 1, "min_range": 1, "nhs_small_max": 0, "rounding_base": 1,
               "share_decimals": 0}
    for key, low in minimum.items():
        v = values.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise bad(f"{key} must be a whole number, at least {low}", key)
    if values["share_decimals"] > 4:
        raise bad("share_decimals must be at most 4", "share_decimals")
    if not isinstance(values.get("suppress_zero"), bool):
        raise bad("suppress_zero must be true or false", "suppress_zero")
    for key in ("marker", "total_label", "prose_small", "prose_hidden_share",
                "prose_hidden_count"):
        v = values.get(key)
        if not isinstance(v, str) or not v.strip():
            raise bad(f"{key} must be some text", key)
    try:
        values["prose_small"].format(limit=10)
    except (KeyError, IndexError, ValueError) as exc:
        raise bad("prose_small may only use the placeholder {limit}", "prose_small") from exc
    return replace(DisclosurePolicy(), **values)


# --- single figures in prose ----------------------------------------------------------


def publish_count(n: int, policy: DisclosurePolicy) -> str:
    """A count as a sentence may show it: "1,235", or "fewer than 10" when hidden.

    This hides small numbers only. A figure that a table hides by secondary
    suppression must not be quoted either: take it from ``ProtectedTable.count_text``.
    """
    n = _whole(n)
    if policy.is_small(n):
        return policy.prose_small.format(limit=policy.smallest_shown)
    return f"{policy.rounded(n):,}"


def publish_share(n: int, total: int, policy: DisclosurePolicy) -> str:
    """``n`` as a percentage of ``total``, as a sentence may show it.

    Hidden when ``n`` or ``total`` is hidden; under the NHS rule it is worked out from
    the rounded figures. "-" when the total is zero.
    """
    n, total = _whole(n), _whole(total)
    if policy.is_small(n) or policy.is_small(total):
        return policy.prose_hidden_share
    shown_total = policy.rounded(total)
    if shown_total == 0:
        return "-"
    return f"{100 * policy.rounded(n) / shown_total:.{policy.share_decimals}f}%"


def count_formatter(policy: DisclosurePolicy) -> Callable[[int], str]:
    """``publish_count`` bound to a policy, for code that takes a count formatter."""
    return partial(publish_count, policy=policy)


def _whole(n: object) -> int:
    value = int(n)  # type: ignore[call-overload]
    if value != n or value < 0:
        raise ValueError(f"a count must be a whole number, at least 0 (got {n!r})")
    return value


# --- tables ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtectedTable:
    """A table made safe to publish, and the internal record of what was hidden.

    Every frame except ``log`` has the shape of ``display``: the table with its totals
    row (last) and totals column (last) when they were asked for.

    display         strings ready to print: "1,235", or the marker where hidden
    values          the published numbers (nullable Int64; <NA> where hidden):
                    rounded under the NHS rule, true counts otherwise
    shares          percentage of the column total (float, ``share_decimals`` places;
                    NaN where the cell or its total is hidden, or the total is 0)
    shares_display  the shares as strings: "22.2%", the marker, or "-"
    suppressed      True where the figure is hidden
    log             INTERNAL ONLY, never publish: one row per hidden cell, with its
                    true value and why it is hidden (``LOG_COLUMNS``)
    """

    table_name: str
    policy: DisclosurePolicy
    display: pd.DataFrame
    values: pd.DataFrame
    shares: pd.DataFrame
    shares_display: pd.DataFrame
    suppressed: pd.DataFrame
    log: pd.DataFrame

    def count_text(self, row: Hashable, column: Hashable) -> str:
        """One cell as a sentence may quote it, consistent with the table.

        Under the threshold method every hidden cell reads the same
        (``prose_hidden_count``): "fewer than 10" for some of them would tell readers
        which hidden cells are small, and with that some could be worked out.
        """
        if self.suppressed.loc[row, column]:
            if self.policy.method == "threshold":
                return self.policy.prose_hidden_count
            return self.policy.prose_small.format(limit=self.policy.smallest_shown)
        return f"{int(self.values.loc[row, column]):,}"

    def share_text(self, row: Hashable, column: Hashable) -> str:
        """One cell's share of its column total as a sentence may quote it."""
        share = self.shares.loc[row, column]
        if pd.isna(share):
            return "-" if self.shares_display.loc[row, column] == "-" else \
                self.policy.prose_hidden_share
        return f"{share:.{self.policy.share_decimals}f}%"


def protect_table(
    counts: pd.DataFrame | pd.Series,
    policy: DisclosurePolicy,
    *,
    table_name: str,
    row_totals: bool = True,
    col_totals: bool = True,
) -> ProtectedTable:
    """Protect a table of counts (rows: categories; columns: services, years...).

    ``row_totals`` adds a totals column (each row's total), ``col_totals`` a totals
    row (each column's total) and, with both, the grand total in the corner. A table
    with one column is its own row total, so no totals column is added to it (and a
    table with one row gets no totals row). Shares are of each column's total, so
    they need ``col_totals`` (or a single row); otherwise they are all NaN.
    """
    if isinstance(counts, pd.Series):
        counts = counts.to_frame()
    true = _checked_counts(counts, table_name)
    n_rows, n_cols = true.shape
    add_total_col = row_totals and n_cols > 1
    add_total_row = col_totals and n_rows > 1

    ext = true
    index, columns = list(counts.index), list(counts.columns)
    if add_total_col:
        ext = np.hstack([ext, ext.sum(axis=1, keepdims=True)])
        columns.append(policy.total_label)
    if add_total_row:
        ext = np.vstack([ext, ext.sum(axis=0, keepdims=True)])
        index.append(policy.total_label)

    reasons: dict[tuple[int, int], tuple[str, str | None]] = {}
    bounds: dict[tuple[int, int], tuple[float, float]] = {}
    if policy.method == "nhs":
        published = np.vectorize(policy.rounded, otypes=[np.int64])(ext) if ext.size \
            else ext.copy()
        mask = (ext > 0) & (ext <= policy.nhs_small_max)
        for cell in zip(*np.nonzero(mask), strict=True):
            reasons[cell] = (f"primary: 1 to {policy.nhs_small_max} (NHS rule)", None)
    elif policy.method == "threshold":
        published = ext.copy()
        mask = (ext < policy.threshold) & ((ext > 0) | policy.suppress_zero)
        for cell in zip(*np.nonzero(mask), strict=True):
            reasons[cell] = (f"primary: below {policy.threshold}" if ext[cell] else
                             "primary: zero", None)
        protector = _Protector(ext, n_rows, n_cols, add_total_col, add_total_row, policy)
        bounds = protector.protect(mask, reasons, index, columns)
    else:
        published = ext.copy()
        mask = np.zeros(ext.shape, dtype=bool)

    frame = partial(pd.DataFrame, index=pd.Index(index, name=counts.index.name),
                    columns=pd.Index(columns, name=counts.columns.name))
    text = np.array([[policy.marker if m else f"{v:,}" for v, m in zip(r, mr, strict=True)]
                     for r, mr in zip(published.tolist(), mask.tolist(), strict=True)],
                    dtype=object).reshape(ext.shape)
    values = frame(published).astype("Int64").mask(frame(mask))

    denominator_row = n_rows if add_total_row else (0 if col_totals and n_rows == 1 else None)
    shares = np.full(ext.shape, np.nan)
    share_text = np.full(ext.shape, "-", dtype=object)
    if denominator_row is not None and ext.size:
        denom = published[denominator_row].astype(float)
        hidden = mask | mask[denominator_row]
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(denom > 0, 100 * published / denom, np.nan)
        shares = np.where(hidden, np.nan, np.round(raw, policy.share_decimals))
        for cell in np.ndindex(ext.shape):
            if hidden[cell]:
                share_text[cell] = policy.marker
            elif not np.isnan(shares[cell]):
                share_text[cell] = f"{shares[cell]:.{policy.share_decimals}f}%"

    log_rows = []
    for cell in zip(*np.nonzero(mask), strict=True):
        reason, protects = reasons[cell]
        lower, upper = bounds.get(cell, (np.nan, np.nan))
        log_rows.append((table_name, index[cell[0]], columns[cell[1]], int(ext[cell]),
                         reason, protects, lower, upper))
    log = pd.DataFrame(log_rows, columns=LOG_COLUMNS).astype(
        {"value": "int64", "lower": "float64", "upper": "float64"})

    return ProtectedTable(
        table_name=table_name,
        policy=policy,
        display=frame(text),
        values=values,
        shares=frame(shares),
        shares_display=frame(share_text),
        suppressed=frame(mask),
        log=log,
    )


def _checked_counts(counts: pd.DataFrame, table_name: str) -> np.ndarray:
    try:
        arr = counts.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Table '{table_name}' must hold counts (whole numbers)",
                         code="invalid-counts",
                         hint="Pass a table of whole, non-negative numbers.") from exc
    bad = np.isnan(arr) | (arr < 0) | (arr != np.floor(arr))
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise InputError(
            f"Table '{table_name}' must hold whole, non-negative counts; row "
            f"'{counts.index[i]}' does not", code="invalid-counts",
            column=str(counts.columns[j]), value=counts.iat[i, j],
            hint="Fill gaps with 0 and check the counts were not averaged or rounded.")
    return arr.astype(np.int64)


class _Protector:
    """Secondary suppression for the threshold method, in the table with its totals.

    Cells are addressed in the extended table: rows ``0..R-1`` and columns ``0..C-1``
    are the counts, row ``R`` the column totals, column ``C`` the row totals. Each row
    of the extended table adds up to its entry in column ``C`` (when there is one), and
    each column to its entry in row ``R``: these are the equations a reader can use.
    """

    def __init__(self, ext: np.ndarray, n_rows: int, n_cols: int, total_col: bool,
                 total_row: bool, policy: DisclosurePolicy) -> None:
        self.ext = ext
        self.R, self.C = n_rows, n_cols
        self.rows_add_up, self.cols_add_up = total_col, total_row
        self.min_range = policy.min_range
        # A hidden cell is never zero when zeros are shown, and a reader knows it.
        self.lower = 0 if policy.suppress_zero else 1
        is_total = np.zeros(ext.shape, dtype=bool)
        is_total[n_rows:, :] = True
        is_total[:, n_cols:] = True
        # Hiding a total costs more than hiding every count (tau-argus does the same).
        self.cost = np.where(is_total, ext + (int(ext.sum()) + 1), ext).astype(float)

    def part(self, cell: tuple[int, int]) -> np.ndarray:
        """Which counts a cell of the extended table adds up."""
        i, j = cell
        part = np.zeros((self.R, self.C), dtype=bool)
        part[i if i < self.R else slice(None), j if j < self.C else slice(None)] = True
        return part

    def range_of(self, mask: np.ndarray, cell: tuple[int, int]) -> tuple[float, float]:
        """Smallest and largest value of a hidden cell, given all that is published."""
        hidden = mask[: self.R, : self.C]
        var_index = -np.ones((self.R, self.C), dtype=int)
        var_index[hidden] = np.arange(int(hidden.sum()))
        n_vars = int(hidden.sum())
        counts = self.ext[: self.R, : self.C]
        rows, rhs = [], []
        for t in zip(*np.nonzero(~mask), strict=True):
            if t[0] < self.R and t[1] < self.C:
                continue  # a published count: a constant, not an equation
            part = self.part(t)
            if not (part & hidden).any():
                continue
            coef = np.zeros(n_vars)
            coef[var_index[part & hidden]] = 1.0
            rows.append(coef)
            rhs.append(self.ext[t] - counts[part & ~hidden].sum())
        target = self.part(cell)
        objective = np.zeros(n_vars)
        objective[var_index[target & hidden]] = 1.0
        offset = float(counts[target & ~hidden].sum())
        a_eq = np.array(rows) if rows else None
        b_eq = np.array(rhs, dtype=float) if rows else None
        out = []
        for sign in (1.0, -1.0):
            res = linprog(sign * objective, A_eq=a_eq, b_eq=b_eq,
                          bounds=(self.lower, None), method="highs")
            if res.status == 3:
                out.append(np.inf)
            elif res.status != 0:
                raise RuntimeError(f"suppression check failed: {res.message}")
            else:
                out.append(round(sign * res.fun, 6) + offset)
        return out[0], out[1]

    def protect(self, mask: np.ndarray, reasons: dict, index: list, columns: list
                ) -> dict[tuple[int, int], tuple[float, float]]:
        """Add secondary suppressions to ``mask`` (in place) until no hidden cell is
        disclosed; return each hidden cell's range.

        Hiding more never narrows the range of a cell already hidden (it only removes
        constraints), so a cell found safe stays safe and is checked once.
        """
        pending = deque(zip(*np.nonzero(mask), strict=True))
        while pending:
            cell = pending[0]
            lo, hi = self.range_of(mask, cell)
            if hi - lo >= self.min_range - _TOL:
                pending.popleft()
                continue
            protects = f"{index[cell[0]]} / {columns[cell[1]]}"
            for new, why in self.choose(mask, cell):
                mask[new] = True
                reasons[new] = (f"secondary: protects {why}", protects)
                pending.append(new)
        result = {}
        for cell in zip(*np.nonzero(mask), strict=True):
            lo, hi = self.range_of(mask, cell)
            if hi - lo < self.min_range - _TOL:  # pragma: no cover - guarded by the loop
                raise RuntimeError("secondary suppression left a hidden cell disclosed")
            result[cell] = (lo, hi)
        return result

    def choose(self, mask: np.ndarray, cell: tuple[int, int]
               ) -> list[tuple[tuple[int, int], str]]:
        """The cheapest cells to hide next to protect ``cell``.

        With both kinds of totals: the cheapest rectangle through ``cell`` (the
        hypercube method), whose other three corners are hidden or can be; a reader can
        then add to two corners and take from the other two without changing a total.
        With one kind: the cheapest other cell in the same line. Cost: total cells
        last, then the smallest value. Zeros are never hidden to protect another cell
        when zeros are shown, because readers could then not rule out zero.
        """
        a, b = cell
        can_hide = ~mask & (self.ext > 0)
        cost = np.where(mask, 0.0, np.where(can_hide, self.cost, np.inf))
        options: list[tuple[float, list[tuple[tuple[int, int], str]]]] = []
        if self.rows_add_up and self.cols_add_up:
            grid = cost[:, [b]] + cost[[a], :] + cost
            grid[a, :] = np.inf
            grid[:, b] = np.inf
            grid[grid == 0] = np.inf  # adds nothing new
            if np.isfinite(grid).any():
                m, k = np.unravel_index(int(np.argmin(grid)), grid.shape)
                options.append((grid[m, k], [((a, k), "row total"), ((m, b), "column total"),
                                             ((m, k), "row and column totals")]))
        elif self.rows_add_up or self.cols_add_up:
            line = cost[a, :].copy() if self.rows_add_up else cost[:, b].copy()
            line[b if self.rows_add_up else a] = np.inf
            line[line == 0] = np.inf
            if np.isfinite(line).any():
                k = int(np.argmin(line))
                options.append((line[k], [((a, k), "row total") if self.rows_add_up
                                          else ((k, b), "column total")]))
        if not options:
            # Last resort: the cheapest cell that can be hidden, in this cell's lines
            # first. Hiding everything always ends the search.
            near = np.full(cost.shape, np.inf)
            near[a, :] = cost[a, :]
            near[:, b] = cost[:, b]
            near[near == 0] = np.inf
            pool = near if np.isfinite(near).any() else np.where(can_hide, cost, np.inf)
            if not np.isfinite(pool).any():
                raise RuntimeError("no cell left to hide")
            k = np.unravel_index(int(np.argmin(pool)), pool.shape)
            options.append((pool[k], [((int(k[0]), int(k[1])), "totals")]))
        _, cells = options[0]
        return [((int(c[0]), int(c[1])), why) for c, why in cells if not mask[c]]

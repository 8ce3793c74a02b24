"""Small-number protection for publication: suppression, rounding and its audit log.

Every figure a publishable document shows comes out of one protection step, under one
``DisclosurePolicy`` (defaults in ``data/disclosure.yaml``): documents are drafted from
the ``ProtectedTable`` it returns (a figure is either shown or hidden there), never from
true counts, so tables, sentences, charts and alt text cannot disagree or leak.

* ``threshold``: counts from 1 to ``threshold - 1`` are hidden (primary suppression),
  then more figures are hidden (secondary suppression) until no hidden figure can be
  worked out from what is published. Shown figures are true.
* ``nhs``: the NHS Digital rule. 0 stays 0, 1 to 7 is shown as ``*``, everything else
  is rounded to the nearest 5 (totals on their own, from the true totals), and
  percentages are worked out from the rounded figures. In the rare case where the
  rounded figures would still pin a ``*`` down, a larger figure is hidden too, shown
  as ``secondary_marker`` so that ``*`` keeps meaning 1 to 7.
* ``none``: internal use. Nothing is hidden, and documents carry
  ``NOT_FOR_PUBLICATION`` on every page.

What is guaranteed. A table is a set of figures, each the sum of some of its *parts*
(a category is one part; a total, a broad ethnic group or "not recorded" add up
several), and tables can share a figure (every characteristic's table has the same
number of people). A reader knows every published figure (exactly, or to within the
rounding), that each figure adds up its parts, that shared figures are equal, that no
part is negative and that a hidden figure is not a zero when zeros are shown. For every
hidden figure eqia asks a linear program for the smallest and largest value it could
take given all that, and hides more until

* the two differ by at least ``min_range`` (at least two whole numbers remain), and
* under ``threshold``, the largest is at least the threshold: a reader can never tell
  that a hidden figure, or a total of hidden figures, is small ("these two add up to
  3" is as disclosive as "this is 3").

The figures of a table and its totals form at most two nested (laminar) families, whose
constraint matrix is totally unimodular, so the bounds found are whole numbers and the
check is exact. Readers are not told which hidden figures are the small ones under
``threshold`` (the marker, and the words prose uses for a hidden figure, are the same
for all).

This module never changes the counts it is given and never prints. A table's ``log``
names the true values of hidden figures: it is for the council's own records and must
never be published.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from eqia.disclosure.protector import Protector, choose_in_line, choose_rectangle
from eqia.errors import InputError
from eqia.settings.disclosure import DisclosurePolicy

#: Columns of ``ProtectedTable.log``: one row per hidden figure. ``value`` is the true
#: count; ``lower`` and ``upper`` the range a reader could work out for it from
#: everything published (``upper`` may be infinite).
LOG_COLUMNS = ["table", "row", "column", "value", "reason", "protects", "lower", "upper"]



#: Added to the flag of a group whose figures are hidden: the finding stands, its
#: figures are not shown.
HIDDEN_FLAG_TEXT = "figures not shown, to protect privacy"


def direction_is_safe(flag: str, true: int, lower: float, upper: float,
                      expected: float) -> bool:
    """Whether saying that a hidden count is fewer than, more than or in line with
    ``expected`` leaves a reader at least two possible values for it.

    ``lower``/``upper``: what the reader can work out for it from the published figures
    (``ProtectedTable.log``). With the number compared and the population share shown,
    "fewer than expected" tells a reader the count is at most some value, "more" at least
    some value, and "in line" that it lies between two values around the expected count
    (any test of a count against a fixed expectation behaves so). The true count is in
    that set, so a neighbour of it is too, where the neighbour is still in the reader's
    range (and, for "in line", on the side of the expected count). Only the direction
    may be said: the strength of the evidence and whether missing data could explain a
    difference each narrow the count to an interval that can be a single value.
    """
    if flag == "under":
        return lower <= true - 1
    if flag == "over":
        return upper >= true + 1
    if flag == "none":
        if abs(true - expected) < 1:
            return lower <= true - 1 or upper >= true + 1
        step = 1 if expected > true else -1
        return lower <= true + step <= upper
    return True  # too few to test, or not compared: says nothing about the count


# --- protected tables -----------------------------------------------------------------


@dataclass(frozen=True)
class ProtectedTable:
    """A table made safe to publish, and the internal record of what was hidden.

    Every frame except ``log`` has the shape of ``display``: for ``protect_table`` the
    table with its totals row (last) and totals column (last) when they were asked for;
    for ``protect_lines`` one row per line.

    display         strings ready to print: "1,235", or a marker where hidden
    values          the published numbers (nullable Int64; <NA> where hidden):
                    rounded under the NHS rule, true counts otherwise
    shares          percentage of the line's denominator (the column total for
                    ``protect_table``; float, ``share_decimals`` places; NaN where the
                    figure or its denominator is hidden, or the denominator is 0)
    shares_display  the shares as strings: "22.2%", the marker, or "-"
    suppressed      True where the figure is hidden
    log             INTERNAL ONLY, never publish: one row per hidden figure, with its
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

    def lines(self, labels: Sequence[Hashable]) -> ProtectedTable:
        """The same table with only these rows (and their log), for display."""
        labels = list(labels)
        log = self.log[self.log["row"].isin(labels)].reset_index(drop=True)
        return replace(self, display=self.display.loc[labels], values=self.values.loc[labels],
                       shares=self.shares.loc[labels],
                       shares_display=self.shares_display.loc[labels],
                       suppressed=self.suppressed.loc[labels], log=log)

    def value(self, row: Hashable, column: Hashable) -> int | None:
        """The published number, or None where it is hidden."""
        v = self.values.loc[row, column]
        return None if pd.isna(v) else int(v)

    def count_text(self, row: Hashable, column: Hashable) -> str:
        """One figure as a sentence may quote it, consistent with the table.

        Under the threshold method every hidden figure reads the same
        (``prose_hidden_count``): "fewer than 10" for some of them would tell readers
        which hidden figures are small, and with that some could be worked out.
        """
        if self.suppressed.loc[row, column]:
            if self.policy.method == "nhs" and self.display.loc[row, column] == \
                    self.policy.marker:
                return self.policy.prose_small.format(limit=self.policy.smallest_shown)
            return self.policy.prose_hidden_count
        return f"{int(self.values.loc[row, column]):,}"

    def share_text(self, row: Hashable, column: Hashable) -> str:
        """One figure's share of its denominator as a sentence may quote it."""
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
    index, columns = list(counts.index), list(counts.columns)
    if add_total_col:
        columns.append(policy.total_label)
    if add_total_row:
        index.append(policy.total_label)
    shape = (len(index), len(columns))
    # Every figure of the extended table, as the counts it adds up.
    parts = np.zeros((*shape, n_rows, n_cols), dtype=bool)
    for i, j in np.ndindex(shape):
        parts[i, j, i if i < n_rows else slice(None), j if j < n_cols else slice(None)] = True
    parts = parts.reshape(shape[0] * shape[1], n_rows * n_cols)
    ext = parts.astype(np.int64) @ true.reshape(-1)
    level = np.zeros(shape, dtype=int)
    level[n_rows:, :] = 1
    level[:, n_cols:] = 1
    chooser = None
    if add_total_col and add_total_row:
        chooser = partial(choose_rectangle, shape=shape, n_rows=n_rows, n_cols=n_cols)
    elif add_total_col or add_total_row:
        chooser = partial(choose_in_line, shape=shape, by_row=add_total_col)
    cells = [(i, j) for i, j in np.ndindex(shape)]
    names = [(index[i], columns[j]) for i, j in cells]
    hidden, reasons, protects, bounds = Protector(
        parts, ext, level.reshape(-1), policy, chooser=chooser,
        labels=[f"{r} / {c}" for r, c in names]).run()

    share_of = [(shape[0] - 1) * shape[1] + j if add_total_row else
                (j if col_totals and n_rows == 1 else None) for _, j in cells]
    return _table(table_name, policy, ext, hidden, reasons, protects, bounds, names,
                  share_of, pd.Index(index, name=counts.index.name),
                  pd.Index(columns, name=counts.columns.name))


@dataclass(frozen=True)
class Line:
    """One figure of a table protected with ``protect_lines``: the sum of some parts.

    ``level`` orders what is hidden first to protect another figure: 0 for a category,
    1 for a subtotal (a broad group), 2 for a total (the number of people, and the
    number recorded: every share is a share of it); higher levels are hidden only when
    nothing lower will do.
    ``share_of`` names the line whose figure is this line's share's denominator.
    """

    label: Hashable
    parts: tuple[Hashable, ...]
    level: int = 0
    share_of: Hashable | None = None


def protect_lines(
    blocks: Mapping[str, tuple[pd.DataFrame, Sequence[Line]]],
    policy: DisclosurePolicy,
    *,
    shared: Sequence[Hashable] = (),
) -> dict[str, ProtectedTable]:
    """Protect several tables together, each a list of ``Line`` over its parts.

    ``blocks`` maps a table's name to (true counts of its parts, one row per part and a
    column per period or service; its lines). Lines whose label is in ``shared`` are the
    same published figure in every table of a column where they are equal (the number
    of people, in every characteristic's table; a table of counts can give different
    numbers per characteristic), as are two lines of one table adding up the same
    parts: they are hidden or shown together. Columns are
    protected one at a time: no figure adds up across columns.
    """
    columns = list(dict.fromkeys(c for frame, _ in blocks.values() for c in frame.columns))
    found: dict[tuple[str, Hashable, Hashable], tuple] = {}
    for col in columns:
        found.update(_protect_column(blocks, col, policy, shared))
    return {n: _assemble(n, frame, lines, found, policy)
            for n, (frame, lines) in blocks.items()}


def _protect_column(blocks: Mapping[str, tuple[pd.DataFrame, Sequence[Line]]], col: Hashable,
                    policy: DisclosurePolicy, shared: Sequence[Hashable]) -> dict:
    """One column of every table protected together: each line as a row of parts over
    all the tables' parts, linked where it is the same published figure. Returns, per
    (table, line, column), (true value, hidden, reason, what it protects, bounds)."""
    names = [n for n, (frame, _) in blocks.items() if col in frame.columns]
    offsets = np.cumsum([0] + [len(blocks[n][0]) for n in names])
    parts, values, levels, keys = [], [], [], []
    for n, offset in zip(names, offsets, strict=False):
        frame, lines = blocks[n]
        true = _checked_counts(frame[[col]], n)[:, 0]
        where = {p: k for k, p in enumerate(frame.index)}
        for line in lines:
            row = np.zeros(offsets[-1], dtype=bool)
            picked = [where[p] for p in line.parts]
            row[[offset + k for k in picked]] = True
            parts.append(row)
            values.append(int(true[picked].sum()))
            levels.append(line.level)
            keys.append((n, line.label))
    parts_m = np.array(parts, dtype=bool).reshape(len(parts), offsets[-1])
    links = _same_figures(keys, parts_m, shared)
    for a, b in links:
        if values[a] != values[b]:
            raise ValueError(f"'{keys[b][1]}' differs between tables: "
                             f"{values[a]} and {values[b]}")
    hidden, reasons, protects, bounds = Protector(
        parts_m, np.array(values, dtype=np.int64), np.array(levels), policy,
        links=links, labels=[label for _, label in keys]).run()
    return {(*key, col): (values[k], hidden[k], reasons.get(k), protects.get(k),
                          bounds.get(k, (np.nan, np.nan))) for k, key in enumerate(keys)}


def _assemble(n: str, frame: pd.DataFrame, lines: Sequence[Line], found: dict,
              policy: DisclosurePolicy) -> ProtectedTable:
    """Table ``n`` from what protecting each column ``found`` for its cells."""
    cols = list(frame.columns)
    cells = [(line.label, c) for line in lines for c in cols]
    got = [found[(n, *cell)] for cell in cells]
    position = {line.label: r for r, line in enumerate(lines)}
    share_of = [None if line.share_of is None else position[line.share_of] * len(cols) + c
                for line in lines for c in range(len(cols))]
    hidden = np.array([g[1] for g in got], dtype=bool)
    return _table(
        n, policy, np.array([g[0] for g in got], dtype=np.int64), hidden,
        {k: g[2] for k, g in enumerate(got) if g[2] is not None},
        {k: g[3] for k, g in enumerate(got) if g[3] is not None},
        {k: g[4] for k, g in enumerate(got) if hidden[k]},
        cells, share_of, pd.Index([line.label for line in lines], name=frame.index.name),
        pd.Index(cols, name=frame.columns.name))


def _same_figures(keys: list[tuple[str, Hashable]], parts: np.ndarray,
                  shared: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Pairs of lines that are one published figure: a shared label in every table, and
    lines of one table adding up the same parts (a table's only category and its total)."""
    first: dict[object, int] = {}
    root = list(range(len(keys)))

    def find(k: int) -> int:
        while root[k] != k:
            k = root[k]
        return k

    for k, (n, label) in enumerate(keys):
        for key in ((n, parts[k].tobytes()), ("shared", label) if label in shared else None):
            if key is not None:
                root[find(k)] = find(first.setdefault(key, k))
    return [(find(k), k) for k in range(len(keys)) if find(k) != k]


def _table(name: str, policy: DisclosurePolicy, true: np.ndarray, hidden: np.ndarray,
           reasons: dict, protects: dict, bounds: dict, names: list, share_of: list,
           index: pd.Index, columns: pd.Index) -> ProtectedTable:
    """The ProtectedTable of flat figures (row-major over ``index`` x ``columns``)."""
    shape = (len(index), len(columns))
    published = np.array([policy.rounded(int(v)) for v in true], dtype=np.int64)
    primary = np.array([policy.is_small(int(v)) for v in true], dtype=bool)
    text = [policy.marker if h and (p or policy.method != "nhs") else
            policy.secondary_marker if h else f"{v:,}"
            for v, h, p in zip(published, hidden, primary, strict=True)]
    shares = np.full(len(true), np.nan)
    share_text = np.full(len(true), "-", dtype=object)
    for k, d in enumerate(share_of):
        if d is None:
            continue
        if hidden[k] or hidden[d]:
            share_text[k] = policy.marker
        elif published[d] > 0:
            shares[k] = round(100 * published[k] / published[d], policy.share_decimals)
            share_text[k] = f"{shares[k]:.{policy.share_decimals}f}%"
    frame = partial(pd.DataFrame, index=index, columns=columns)
    log = pd.DataFrame(
        [(name, *names[k], int(true[k]), reasons[k], protects.get(k), *bounds[k])
         for k in np.nonzero(hidden)[0]], columns=LOG_COLUMNS,
    ).astype({"value": "int64", "lower": "float64", "upper": "float64"})
    return ProtectedTable(
        table_name=name,
        policy=policy,
        display=frame(np.array(text, dtype=object).reshape(shape)),
        values=frame(published.reshape(shape)).astype("Int64").mask(frame(hidden.reshape(shape))),
        shares=frame(shares.reshape(shape)),
        shares_display=frame(share_text.reshape(shape)),
        suppressed=frame(hidden.reshape(shape)),
        log=log,
    )


def _checked_counts(counts: pd.DataFrame, table_name: str) -> np.ndarray:
    try:
        arr = counts.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(f"Table '{table_name}' must hold counts (whole numbers)",
                         code="bad-count",
                         hint="Pass a table of whole, non-negative numbers.") from exc
    bad = np.isnan(arr) | (arr < 0) | (arr != np.floor(arr))
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise InputError(
            f"Table '{table_name}' must hold whole, non-negative counts; row "
            f"'{counts.index[i]}' does not", code="bad-count",
            column=str(counts.columns[j]), value=counts.iat[i, j],
            hint="Fill gaps with 0 and check the counts were not averaged or rounded.")
    return arr.astype(np.int64)


# --- the protection step ----------------------------------------------------------------












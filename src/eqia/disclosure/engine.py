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

from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.errors import InputError
from eqia.settings.disclosure import policy_settings

#: The label renderers put on every page of a document made with method ``none``.
NOT_FOR_PUBLICATION = (
    "NOT FOR PUBLICATION - internal use only: small numbers are not suppressed."
)

#: Columns of ``ProtectedTable.log``: one row per hidden figure. ``value`` is the true
#: count; ``lower`` and ``upper`` the range a reader could work out for it from
#: everything published (``upper`` may be infinite).
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
    secondary_marker: str = "[c]"
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

    def note(self, shown: Sequence[pd.DataFrame]) -> str:
        """``footnote``, and what ``secondary_marker`` means where one of the ``shown``
        tables (as printed) has it."""
        used = any((t == self.secondary_marker).any().any() for t in shown)
        if self.method != "nhs" or not used:
            return self.footnote
        return (f"{self.footnote} {self.secondary_marker} = a larger number hidden so that a "
                f"{self.marker} cannot be worked out.")

    @property
    def footnote(self) -> str:
        """One sentence for under a published table, saying what the marker means."""
        if self.method == "threshold":
            zero = " (including 0)" if self.suppress_zero else ""
            return (f"{self.marker} = a number hidden to protect privacy: fewer than "
                    f"{self.threshold}{zero}, or hidden so that a smaller number cannot be "
                    "worked out from other figures.")
        if self.method == "nhs":
            return (f"{self.marker} = 1 to {self.nhs_small_max}. "
                    f"Other figures are rounded to the nearest {self.rounding_base}, and totals "
                    "are rounded on their own, so figures may not add up to the totals. "
                    "Percentages are worked out from the rounded figures.")
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

    def possible(self, shown: int) -> tuple[int, int]:
        """The true counts a published figure can stand for: itself, or under the NHS
        rule every count that rounds to it (never 1 to ``nhs_small_max``)."""
        if self.method != "nhs" or shown == 0:
            return shown, shown
        b = self.rounding_base
        return max(shown - b // 2, self.nhs_small_max + 1), shown + (b - 1) // 2


#: Added to the flag of a group whose figures are hidden: the finding stands, its
#: figures are not shown.
HIDDEN_FLAG_TEXT = "figures not shown, to protect privacy"

#: The policy for internal output: nothing hidden.
INTERNAL = DisclosurePolicy(method="none")


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


# --- loading ------------------------------------------------------------------------


def load_policy(path: str | Path | None = None, **overrides: object) -> DisclosurePolicy:
    """Packaged defaults, then a user's YAML file, then explicit overrides (None ignored).

    The user's file holds the same keys as ``data/disclosure.yaml``, at the top level
    or under ``disclosure:``. Values below ``eqia.settings.disclosure.MINIMUMS`` are a
    ``ConfigError``.
    """
    return DisclosurePolicy(**policy_settings(path, **overrides))


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
        chooser = partial(_choose_rectangle, shape=shape, n_rows=n_rows, n_cols=n_cols)
    elif add_total_col or add_total_row:
        chooser = partial(_choose_in_line, shape=shape, by_row=add_total_col)
    cells = [(i, j) for i, j in np.ndindex(shape)]
    names = [(index[i], columns[j]) for i, j in cells]
    hidden, reasons, protects, bounds = _Protector(
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
        hidden, reasons, protects, bounds = _Protector(
            parts_m, np.array(values, dtype=np.int64), np.array(levels), policy,
            links=links, labels=[label for _, label in keys]).run()
        for k, key in enumerate(keys):
            found[(*key, col)] = (values[k], hidden[k], reasons.get(k), protects.get(k),
                                  bounds.get(k, (np.nan, np.nan)))
    out = {}
    for n, (frame, lines) in blocks.items():
        cols = list(frame.columns)
        cells = [(line.label, c) for line in lines for c in cols]
        got = [found[(n, *cell)] for cell in cells]
        position = {line.label: r for r, line in enumerate(lines)}
        share_of = [None if line.share_of is None else position[line.share_of] * len(cols) + c
                    for line in lines for c in range(len(cols))]
        hidden = np.array([g[1] for g in got], dtype=bool)
        out[n] = _table(
            n, policy, np.array([g[0] for g in got], dtype=np.int64), hidden,
            {k: g[2] for k, g in enumerate(got) if g[2] is not None},
            {k: g[3] for k, g in enumerate(got) if g[3] is not None},
            {k: g[4] for k, g in enumerate(got) if hidden[k]},
            cells, share_of, pd.Index([line.label for line in lines], name=frame.index.name),
            pd.Index(cols, name=frame.columns.name))
    return out


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

#: A chooser: (protector, hidden, figure to protect) -> [(figure to hide, why)].
Chooser = Callable[["_Protector", np.ndarray, int], list[tuple[int, str]]]


class _Protector:
    """Primary and secondary suppression over figures that add up parts.

    ``parts[i]`` says which parts figure ``i`` adds up; ``true[i]`` is its true value;
    ``level[i]`` how reluctant we are to hide it (totals last); ``links`` pairs figures
    that are the same number in two tables. ``chooser`` picks what to hide next to
    protect a figure (a table with both kinds of totals uses rectangles); by default the
    cheapest figure that, hidden, protects it.
    """

    def __init__(self, parts: np.ndarray, true: np.ndarray, level: np.ndarray,
                 policy: DisclosurePolicy, *, links: Sequence[tuple[int, int]] = (),
                 labels: Sequence[Hashable] | None = None, chooser: Chooser | None = None
                 ) -> None:
        self.parts, self.true, self.level, self.policy = parts, true, level, policy
        self.links = list(links)
        self.labels = list(labels) if labels is not None else list(range(len(true)))
        self.primary = np.array([policy.is_small(int(v)) for v in true], dtype=bool)
        self.shown = np.array([policy.rounded(int(v)) for v in true], dtype=np.int64)
        #: Under the NHS rule, the true values each shown figure can stand for.
        self.rounding = tuple(np.array([policy.possible(int(v))[k] for v in self.shown],
                                       dtype=float) for k in (0, 1))
        big = int(true.sum()) + 1
        # Hiding a total costs more than hiding every count (tau-argus does the same).
        self.cost = (true + big * level).astype(float)
        self.chooser = chooser or _choose_cheapest
        #: Ranges already worked out, by (what is hidden, figure): hiding only grows, and
        #: the same state is asked about again (the final check, trial choices).
        self.solved: dict[tuple[bytes, int], tuple[float, float, set[int]]] = {}
        # Figures that are one published number (a shared figure in several tables).
        self.same = {i: {i} for i in range(len(true))}
        for a, b in self.links:
            group = self.same[a] | self.same[b]
            for k in group:
                self.same[k] = group

    def run(self) -> tuple[np.ndarray, dict, dict, dict]:
        """(hidden, reason per hidden figure, what each secondary one protects, ranges)."""
        p = self.policy
        hidden = self.primary.copy()
        reasons: dict[int, str] = {}
        protects: dict[int, Hashable] = {}
        for i in np.nonzero(hidden)[0]:
            reasons[i] = (f"primary: 1 to {p.nhs_small_max} (NHS rule)" if p.method == "nhs"
                          else f"primary: below {p.threshold}" if self.true[i] else
                          "primary: zero")
        if not p.publishable or not hidden.any():
            return hidden, reasons, protects, {}
        # Totals first: what protects a total often protects its parts too.
        pending = deque(sorted((i for i in np.nonzero(hidden)[0] if self.needs(i)),
                               key=lambda i: (-self.level[i], i)))
        while pending:
            t = pending[0]
            if self.safe(hidden, t):
                pending.popleft()
                continue
            chosen = self.chooser(self, hidden, t)
            if not chosen:
                raise RuntimeError("no figure left to hide")  # pragma: no cover
            for new, why in chosen:
                for k in self.same[new]:
                    if hidden[k]:
                        continue
                    hidden[k] = True
                    reasons[k] = f"secondary: protects {why}"
                    protects[k] = self.labels[t]
                    if self.needs(k):
                        pending.append(k)
        bounds = {}
        for i in np.nonzero(hidden)[0]:
            bounds[i] = self.range_of(hidden, i)
            if self.needs(i) and not self.ok(i, *bounds[i]):  # pragma: no cover - loop guards
                raise RuntimeError("secondary suppression left a hidden figure disclosed")
        return hidden, reasons, protects, bounds

    def needs(self, i: int) -> bool:
        """Whether a hidden figure must be protected (under the NHS rule only the 1 to
        7s: a hidden larger figure is only there to protect one)."""
        return self.policy.method != "nhs" or bool(self.primary[i])

    def ok(self, i: int, lo: float, hi: float) -> bool:
        p = self.policy
        wide = hi - lo >= p.min_range - _TOL
        return wide and (p.method != "threshold" or hi >= p.threshold - _TOL)

    def safe(self, hidden: np.ndarray, i: int) -> bool:
        return self.ok(i, *self.range_of(hidden, i))

    def known(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What a reader knows of each figure: the smallest and largest it can be."""
        p = self.policy
        if p.method == "nhs":
            lo, hi = self.rounding
            lo = np.where(hidden, np.where(self.primary, 1, p.nhs_small_max + 1), lo)
            hi = np.where(hidden, np.where(self.primary, p.nhs_small_max, np.inf), hi)
            return lo, hi
        lower = 0 if p.suppress_zero else 1
        return (np.where(hidden, lower, self.true).astype(float),
                np.where(hidden, np.inf, self.true).astype(float))

    def component(self, hidden: np.ndarray, t: int) -> np.ndarray:
        """The parts a reader can link to figure ``t`` through what is published (when
        the number of people is shown, one characteristic's table)."""
        lo, hi = self.known(hidden)
        exact = lo == hi
        says = exact | np.isfinite(hi) | (lo > 0)  # a hidden figure >= 0 says nothing
        touches = np.vstack([self.parts[says]] + [
            self.parts[[x]] | self.parts[[y]]
            for x, y in self.links if not (exact[x] and exact[y])])
        near = self.parts[t].copy()
        while True:
            grown = touches[touches[:, near].any(axis=1)].any(axis=0) | near
            if (grown == near).all():
                return near
            near = grown

    def range_of(self, hidden: np.ndarray, t: int) -> tuple[float, float]:
        """Smallest and largest value of figure ``t``, given all that is published."""
        lo, hi, _ = self.solve(hidden, t)
        return lo, hi

    def solve(self, hidden: np.ndarray, t: int) -> tuple[float, float, set[int]]:
        """(smallest, largest) value of figure ``t`` given all that is published, and
        the published figures that bind them (those with a non-zero dual value: hiding
        one of them is what can widen the range).

        Only the parts connected to ``t`` through what a reader knows are in the linear
        program (a characteristic's table, when the number of people is shown).
        """
        key = (hidden.tobytes(), t)
        if key not in self.solved:
            self.solved[key] = self._solve(hidden, t)
        return self.solved[key]

    def _solve(self, hidden: np.ndarray, t: int) -> tuple[float, float, set[int]]:
        from scipy.optimize import linprog  # here, not at the top: it takes 1 s to load

        lo, hi = self.known(hidden)
        exact = lo == hi
        says = exact | np.isfinite(hi) | (lo > 0)  # a hidden figure >= 0 says nothing
        near = self.component(hidden, t)
        a = self.parts[:, near].astype(float)
        keep = says & self.parts[:, near].any(axis=1)
        eq = np.nonzero(keep & exact)[0]
        ub = np.nonzero(keep & ~exact & np.isfinite(hi))[0]
        lb = np.nonzero(keep & ~exact & (lo > 0))[0]
        links = [(x, y) for x, y in self.links
                 if not (exact[x] and exact[y]) and self.parts[[x, y]][:, near].any()]
        a_eq = np.vstack([a[eq]] + [a[[x]] - a[[y]] for x, y in links])
        b_eq = np.concatenate([lo[eq], np.zeros(len(links))])
        a_ub = np.vstack([a[ub], -a[lb]])
        b_ub = np.concatenate([hi[ub], -lo[lb]])
        out, binding = [], set()
        for sign in (1.0, -1.0):
            res = linprog(sign * a[t], A_eq=a_eq if len(a_eq) else None,
                          b_eq=b_eq if len(a_eq) else None,
                          A_ub=a_ub if len(a_ub) else None,
                          b_ub=b_ub if len(a_ub) else None,
                          bounds=(0, None), method="highs")
            if res.status == 3:
                out.append(np.inf)
                continue
            if res.status != 0:
                raise RuntimeError(f"suppression check failed: {res.message}")
            out.append(round(sign * res.fun, 6))
            duals = np.concatenate([
                np.abs(res.eqlin.marginals[:len(eq)]) if len(a_eq) else [],
                np.abs(res.ineqlin.marginals) if len(a_ub) else []])
            rows = np.concatenate([eq, ub, lb]).astype(int)
            binding |= {int(k) for k, d in zip(rows, duals, strict=True) if d > _TOL}
        return out[0], out[1], binding - {t}

    def can_hide(self, hidden: np.ndarray) -> np.ndarray:
        """Figures that may be hidden to protect another: shown, and not a zero (a
        hidden zero, where zeros are shown, would tell readers hidden figures can be 0;
        under the NHS rule a zero is exact and the markers mean 1 or more)."""
        ok = ~hidden & (self.true > 0) if not (self.policy.method == "threshold"
                                               and self.policy.suppress_zero) else ~hidden
        return ok

    def related(self, hidden: np.ndarray, t: int) -> np.ndarray:
        """Figures a reader can link to ``t``: hiding any other cannot protect it."""
        return (self.parts & self.component(hidden, t)).any(axis=1)


def _choose_cheapest(pr: _Protector, hidden: np.ndarray, t: int) -> list[tuple[int, str]]:
    """The cheapest figure, or pair, among those that bind ``t``'s range (or, when none
    can be hidden, those a reader can link to it) that, hidden, protects ``t``; failing
    that, the cheapest of them (and the loop asks again, with what binds it then)."""
    can = pr.can_hide(hidden)
    _, _, binding = pr.solve(hidden, t)

    def cheapest(ks) -> list[int]:
        return sorted((int(k) for k in ks if can[k]), key=lambda k: (pr.cost[k], k))

    related = cheapest(np.nonzero(pr.related(hidden, t))[0])
    pool = cheapest(binding) or related
    few = list(dict.fromkeys(pool[:_PAIRS_AMONG] + related[:_PAIRS_AMONG]))
    options = [(pr.cost[k], (k,)) for k in pool]
    options += [(pr.cost[a] + pr.cost[b], (a, b)) for n, a in enumerate(few) for b in few[n + 1:]]
    for _, ks in sorted(options, key=lambda o: (o[0], o[1])):
        trial = hidden.copy()
        trial[[j for k in ks for j in pr.same[k]]] = True
        if pr.safe(trial, t):
            return [(int(k), "totals") for k in ks]
    pool = pool or sorted(np.nonzero(can)[0], key=lambda k: (pr.cost[k], k))
    return [(int(pool[0]), "totals")] if pool else []


#: Pairs of figures to hide are looked for among this many of the cheapest that bind,
#: and this many of the cheapest a reader can link.
_PAIRS_AMONG = 4


def _choose_in_line(pr: _Protector, hidden: np.ndarray, t: int, *, shape: tuple[int, int],
                    by_row: bool) -> list[tuple[int, str]]:
    """One kind of totals: the cheapest other cell in the same line."""
    i, j = divmod(t, shape[1])
    cost = np.where(pr.can_hide(hidden), pr.cost, np.inf).reshape(shape)
    line = cost[i, :].copy() if by_row else cost[:, j].copy()
    line[j if by_row else i] = np.inf
    if np.isfinite(line).any():
        k = int(np.argmin(line))
        cell = i * shape[1] + k if by_row else k * shape[1] + j
        return [(cell, "row total" if by_row else "column total")]
    return _choose_cheapest(pr, hidden, t)


def _choose_rectangle(pr: _Protector, hidden: np.ndarray, t: int, *, shape: tuple[int, int],
                      n_rows: int, n_cols: int) -> list[tuple[int, str]]:
    """Both kinds of totals: the cheapest rectangle through ``t`` (the hypercube method)
    whose other three corners are hidden or can be; a reader can then add to two
    corners and take from the other two without changing a total. Cost: total cells
    last, then the smallest value."""
    a, b = divmod(t, shape[1])
    mask = hidden.reshape(shape)
    cost = np.where(hidden, 0.0, np.where(pr.can_hide(hidden), pr.cost, np.inf)).reshape(shape)
    grid = cost[:, [b]] + cost[[a], :] + cost
    grid[a, :] = np.inf
    grid[:, b] = np.inf
    grid[grid == 0] = np.inf  # adds nothing new
    if not np.isfinite(grid).any():
        return _choose_cheapest(pr, hidden, t)
    m, k = np.unravel_index(int(np.argmin(grid)), grid.shape)
    corners = [((a, k), "row total"), ((m, b), "column total"), ((m, k), "row and column totals")]
    return [(int(r * shape[1] + c), why) for (r, c), why in corners if not mask[r, c]]

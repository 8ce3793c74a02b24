"""A comparison's figures as a document may show them: the EqIA's one protection step.

``publish(comparison, policy)`` runs every figure an EqIA screening document can show
through ``disclosure.protect_lines`` at once, and the document (tables, sentences,
suggested-rating reasons, action rows, charts and alt text) is drafted from what it
returns, never from the true comparison. Under ``INTERNAL`` nothing is hidden, so
internal and published documents come from the same code.

What is protected together, for each characteristic (one table of lines):

* each category's count, and the number compared (the denominator of every share);
* the number of people with nothing recorded (unknown and invalid values, and any
  small group that is not compared, such as sex 'Other' or ages outside the service's:
  hiding such a group on its own would mean hiding a compared group too), the number
  recorded, and the number of people, which every characteristic shares;
* for ethnicity, the broad groups and the detailed categories in one table, so that
  no detailed category can be worked out from its broad group (or the reverse); people
  recorded with a broad group only are a part no line shows;
* the number of rows in each extract, which add up to the number of people.

Shares, intervals, ratios and differences are worked out from the published figures
(under the NHS rule, from the rounded ones) and shown only where the count and its
denominator are. Flags, their strength and whether missing data could explain them
are the true comparison's, so ratings and findings never change with the policy: a
finding about a group whose figures are hidden still stands, and says they are hidden.

It never changes the comparison it is given. ``Published.log`` holds true values:
internal only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eqia.analysis.comparison import STATUS_FLAGS, Comparison
from eqia.analysis.stats import share_interval
from eqia.disclosure.engine import Line, ProtectedTable, direction_is_safe, protect_lines
from eqia.settings import characteristics as chars
from eqia.settings.disclosure import INTERNAL, DisclosurePolicy
from eqia.settings.rules import Rules

#: Line labels of the figures every characteristic's table has besides its categories.
PEOPLE = "People"
RECORDED = "Recorded"
COMPARED = "Compared"
NOT_RECORDED = "Not recorded"
#: Ethnicity's detailed categories: their own recorded and not-recorded figures.
DETAIL_RECORDED = "Recorded (detailed)"
DETAIL_NOT_RECORDED = "Not recorded (detailed)"
_SPECIAL = (PEOPLE, RECORDED, COMPARED, NOT_RECORDED, DETAIL_RECORDED, DETAIL_NOT_RECORDED)
#: The column of every table (one service).
SERVICE = "service"
#: The table of extracts (rows per extract file).
EXTRACTS = "extracts"

#: What a sentence says in place of a hidden group's figures.
HIDDEN_FIGURES = "its figures are not shown, to protect people's privacy"
#: ``flag`` of a hidden group whose finding cannot be said without narrowing its count
#: to one value (``disclosure.direction_is_safe``): the rating still counts it.
UNSAID = "unsaid"

_NOT_COMPARED = ("no_census_category", "outside_ages")
#: Columns worked out from the counts: recomputed from the published figures, or blanked.
_FROM_COUNTS = ["service_count", "service_share", "ci_low", "ci_high", "ratio",
                "difference_pp"]
#: Columns that could give a rounded count back (NHS rule) or a hidden one: blanked there.
_INTERVALS = ["expected", "ratio_low", "ratio_high", "ratio_low_strong", "ratio_high_strong",
              "ci_low_strong", "ci_high_strong", "p_value", "p_adjusted", "tipping_share",
              "missing_could_explain"]
#: Per-characteristic counts repeated on every row: published once, in the table.
_REPEATED = ["unknown", "not_stated", "not_known", "invalid"]


@dataclass(frozen=True)
class Published:
    """The figures of a screening document, protected; the true comparison for decisions.

    comparison  the TRUE comparison: ratings and findings are worked out from it, and
                no figure of it may be printed
    policy      the disclosure policy
    table       ``comparison.table`` as shown: counts, shares, intervals, ratios and
                differences protected (NaN where hidden); flags as they are; ``hidden``
                True where the count is hidden; small groups not compared left out
    tables      per characteristic key (ethnicity holds its detail too), and
                ``EXTRACTS``: the protected lines (column ``SERVICE``)
    log         INTERNAL ONLY, never publish: the true values of hidden figures
    """

    comparison: Comparison
    policy: DisclosurePolicy
    table: pd.DataFrame
    tables: dict[str, ProtectedTable]
    log: pd.DataFrame

    def headline(self, key: str) -> pd.DataFrame:
        t = self.table
        return t[(t["characteristic"] == key) & t["headline"]]

    def _table(self, key: str) -> ProtectedTable | None:
        return self.tables.get("ethnicity" if key == chars.ETHNICITY_DETAILED else key)

    def count(self, key: str, line: str) -> str:
        """A figure as a sentence may quote it: "1,235", or words where it is hidden."""
        t = self._table(key)
        return t.count_text(_line(key, line), SERVICE) if t is not None else "-"

    def value(self, key: str, line: str) -> int | None:
        """A published figure, or None where it is hidden (or there is none)."""
        t = self._table(key)
        return t.value(_line(key, line), SERVICE) if t is not None else None

    def recorded_share(self, key: str) -> float | None:
        """The share of people with a value recorded, from the published figures."""
        recorded, people = self.value(key, RECORDED), self.value(key, PEOPLE)
        return recorded / people if recorded is not None and people else None

    def share_text(self, share: float | None, digits: int = 0) -> str:
        """A share (0-1) as a percentage, or the policy's words where it is hidden."""
        if share is None:
            return self.policy.prose_hidden_share
        return f"{100 * share:.{digits}f}%"

    def people(self) -> str:
        """The number of people as a table shows it ("3,012", or the marker)."""
        return self.tables[EXTRACTS].display.at[PEOPLE, SERVICE]

    def extracts(self) -> list[tuple[str, str]]:
        """(name, number of rows as a table shows it) per extract."""
        t = self.tables[EXTRACTS]
        return [(str(n), t.display.at[n, SERVICE]) for n in t.display.index if n != PEOPLE]

    def not_compared(self, key: str, flag: str) -> dict[str, str]:
        """Groups shown but not compared (no census category, outside the ages), with
        their figures as a sentence may quote them."""
        rows = self.headline(key)
        rows = rows[rows["flag"] == flag]
        return {c: self.count(key, c) for c in rows["category"]}

    def row(self, key: str, category: str) -> pd.Series:
        """A group's headline row as shown."""
        rows = self.headline(key)
        return rows[rows["category"] == category].iloc[0]

    def is_hidden(self, key: str, category: str) -> bool:
        """Whether a group's figures are hidden (its count, or its share because the
        number it is a share of is hidden); its finding may still be said."""
        row = self.row(key, category)
        return bool(row["hidden"]) or pd.isna(row["service_share"])

    def says_finding(self, key: str, category: str) -> bool:
        """Whether a group's finding may be said (see ``UNSAID``)."""
        return self.row(key, category)["flag"] != UNSAID

    def ratio_text(self, key: str, category: str) -> str:
        """"ratio 0.56", or that the figures are hidden."""
        row = self.row(key, category)
        if row["hidden"] or pd.isna(row["ratio"]):
            return "figures not shown, to protect privacy"
        return f"ratio {row['ratio']:.2f}"


def _line(key: str, line: str) -> str:
    if key == chars.ETHNICITY_DETAILED:
        return {RECORDED: DETAIL_RECORDED, NOT_RECORDED: DETAIL_NOT_RECORDED}.get(line, line)
    return line


def publish(comparison: Comparison, policy: DisclosurePolicy = INTERNAL,
            extracts: list[tuple[str, int]] | None = None) -> Published:
    """Every figure of ``comparison`` a document may show, protected together.

    ``extracts``: (name, rows) of each extract the comparison's profile was made from
    (default: one, the comparison's source).
    """
    extracts = extracts or [(comparison.source, comparison.rows)]
    blocks: dict[str, tuple[pd.DataFrame, list[Line]]] = {}
    folded: dict[str, set[str]] = {}
    for key, r in comparison.results.items():
        if key == chars.ETHNICITY_DETAILED or r.status == "not_collected":
            continue
        frame, lines, small = _block(comparison, key, policy)
        if key == "ethnicity" and _collected(comparison, chars.ETHNICITY_DETAILED):
            frame, lines, small_d = _with_detail(comparison, frame, lines, policy)
            folded[chars.ETHNICITY_DETAILED] = small_d
        blocks[key] = (frame, lines)
        folded[key] = small
    names = [str(n) for n, _ in extracts]
    if len(set(names)) < len(names):
        names = [f"{n} ({i})" for i, n in enumerate(names, start=1)]
    frame = pd.DataFrame({SERVICE: [rows for _, rows in extracts]}, index=names)
    blocks[EXTRACTS] = (frame, [*(Line(n, (n,)) for n in names),
                                Line(PEOPLE, tuple(names), level=2)])
    tables = protect_lines(blocks, policy, shared=[PEOPLE])
    table = _shown_rows(comparison, tables, folded, policy)
    logs = [t.log for t in tables.values() if len(t.log)]
    log = pd.concat(logs, ignore_index=True) if logs else pd.DataFrame()
    return Published(comparison, policy, table, tables, log)


def _collected(comparison: Comparison, key: str) -> bool:
    r = comparison.results.get(key)
    return r is not None and r.status != "not_collected"


def counted_as_not_recorded(counts: pd.DataFrame, not_compared: Iterable[str],
                            policy: DisclosurePolicy) -> list[str]:
    """The small groups not compared with the population that are counted with the people
    not recorded, rather than hidden: hiding one would mean hiding a compared group too.

    ``counts``: a row per group, a column per table it is in (one service, or one period
    each); ``not_compared``: the groups with no census category (given by
    ``analysis.profile.no_census_category``) or outside the ages compared. A group goes
    when every figure of it is small under ``policy`` or zero, and one at least is small."""
    groups = [c for c in not_compared if c in counts.index]
    small = counts.loc[groups].map(lambda n: policy.is_small(int(n)))
    zero = counts.loc[groups] == 0
    return [c for c in groups if (small.loc[c] | zero.loc[c]).all() and small.loc[c].any()]


def _block(comparison: Comparison, key: str, policy: DisclosurePolicy
           ) -> tuple[pd.DataFrame, list[Line], set[str]]:
    """One characteristic's parts (true counts) and lines; and the small groups not
    compared that are counted with the people not recorded."""
    r = comparison.results[key]
    rows = comparison.headline(key)
    rows = rows[(rows["category"] != "") & rows["service_count"].notna()]
    rows = rows.drop_duplicates("category")
    counts = dict(zip(rows["category"], rows["service_count"].astype(int), strict=True))
    flags = dict(zip(rows["category"], rows["flag"], strict=True))
    compared = [c for c in counts if flags[c] not in STATUS_FLAGS]
    other = [c for c in counts if flags[c] in _NOT_COMPARED]
    small = set(counted_as_not_recorded(pd.DataFrame({SERVICE: counts}), other, policy))
    other = [c for c in other if c not in small]
    clash = set(counts) & set(_SPECIAL)
    if clash:
        raise ValueError(f"A category is named like a total: {sorted(clash)}")
    parts = {c: counts[c] for c in compared + other}
    missing = r.unknown + r.invalid + sum(counts[c] for c in small)
    if not parts and r.known:  # no category rows (no census figure): one recorded part
        parts[RECORDED] = r.known - sum(counts[c] for c in small)
    parts[NOT_RECORDED] = missing
    known = tuple(p for p in parts if p != NOT_RECORDED)
    denominator = COMPARED if other else RECORDED
    lines = [Line(c, (c,), share_of=denominator) for c in compared]
    lines += [Line(c, (c,)) for c in other]
    lines.append(Line(NOT_RECORDED, (NOT_RECORDED,)))
    if other:
        lines.append(Line(COMPARED, tuple(compared), level=2))
    if RECORDED not in parts:
        lines.append(Line(RECORDED, known, level=2))
    else:
        lines.append(Line(RECORDED, (RECORDED,), level=2))
    lines.append(Line(PEOPLE, tuple(parts), level=2))
    frame = pd.DataFrame({SERVICE: list(parts.values())}, index=list(parts))
    return frame, lines, small


def _with_detail(comparison: Comparison, frame: pd.DataFrame, lines: list[Line],
                 policy: DisclosurePolicy) -> tuple[pd.DataFrame, list[Line], set[str]]:
    """Ethnicity's table with its detailed categories in it.

    Each broad group adds up its detailed categories and a part no line shows: the
    people recorded with the broad group only (and any small detailed group not
    compared). The detailed "not recorded" adds up the broad one and those parts.
    """
    detail, _, small = _block(comparison, chars.ETHNICITY_DETAILED, policy)
    group_of = {c.label: c.group for c in chars.get("ethnicity").categories}
    drows = comparison.headline(chars.ETHNICITY_DETAILED)
    flags = dict(zip(drows["category"], drows["flag"], strict=False))
    cats = [c for c in detail.index if c not in (NOT_RECORDED, RECORDED)]
    broad = [ln.label for ln in lines if ln.level == 0 and ln.label != NOT_RECORDED]
    if any(group_of.get(c) not in broad for c in cats):
        raise ValueError("a detailed ethnic group's broad group is not in the table")
    parts: dict[str, int] = {}
    expand: dict[str, tuple[str, ...]] = {}
    for g in broad:
        mine = [c for c in cats if group_of[c] == g]
        only = f"{g} (broad group only)"
        parts.update({c: int(detail.at[c, SERVICE]) for c in mine})
        parts[only] = int(frame.at[g, SERVICE]) - sum(parts[c] for c in mine)
        if parts[only] < 0:
            raise ValueError(f"detailed ethnic groups add up to more than '{g}'")
        expand[g] = (*mine, only)
    parts[NOT_RECORDED] = int(frame.at[NOT_RECORDED, SERVICE])
    only_parts = tuple(expand[g][-1] for g in broad)
    if parts[NOT_RECORDED] + sum(parts[p] for p in only_parts) != \
            int(detail.at[NOT_RECORDED, SERVICE]):
        raise ValueError("detailed ethnicity's unknowns do not match the broad groups'")

    def expanded(ln: Line) -> Line:
        if ln.label in expand:  # a broad group: a subtotal now
            return Line(ln.label, expand[ln.label], 1, ln.share_of)
        return Line(ln.label, tuple(q for p in ln.parts for q in expand.get(p, (p,))),
                    ln.level, ln.share_of)

    compared = [c for c in cats if flags.get(c) not in STATUS_FLAGS]
    out = [expanded(ln) for ln in lines]
    out += [Line(c, (c,), share_of=DETAIL_RECORDED if c in compared else None) for c in cats]
    out += [Line(DETAIL_RECORDED, tuple(compared), level=2),
            Line(DETAIL_NOT_RECORDED, (NOT_RECORDED, *only_parts), level=1)]
    return pd.DataFrame({SERVICE: list(parts.values())}, index=list(parts)), out, small


def _shown_rows(comparison: Comparison, tables: dict[str, ProtectedTable],
                folded: dict[str, set[str]], policy: DisclosurePolicy) -> pd.DataFrame:
    """``comparison.table`` with every figure as published."""
    table = comparison.table.reset_index(drop=True)
    # Worked on as plain lists, row by row, and put back once: quicker than pandas
    # setting cells one at a time.
    cols = {c: table[c].astype(object).tolist() for c in table.columns}
    cols["hidden"] = [False] * len(table)
    blank = [c for c in _FROM_COUNTS + _INTERVALS if c in cols]
    keep = [True] * len(table)
    for key in dict.fromkeys(cols["characteristic"]):
        t = tables.get("ethnicity" if key == chars.ETHNICITY_DETAILED else key)
        if t is None:
            continue
        own = [i for i, k in enumerate(cols["characteristic"]) if k == key]
        denominator = COMPARED if COMPARED in t.values.index and \
            key != chars.ETHNICITY_DETAILED else _line(key, RECORDED)
        n = t.value(denominator, SERVICE) if denominator in t.values.index else None
        ranges = t.log.set_index("row")[["lower", "upper"]]
        for i in own:
            if policy.publishable:
                for c in _REPEATED:
                    cols[c][i] = np.nan
            cat = cols["category"][i]
            if cat == "":
                continue
            if cat in folded.get(key, set()):
                keep[i] = False
                continue
            k = t.value(cat, SERVICE)
            if k is None:
                _hide(cols, i, ranges.loc[cat], blank)
            else:
                _show(cols, i, k, n, blank, policy, comparison.rules)
    out = pd.DataFrame(cols)
    for c in table.columns:  # numbers stay numbers
        if c not in ("flag", "strength", "signal_95", "missing_could_explain") and \
                pd.api.types.is_numeric_dtype(table[c].dtype):
            out[c] = pd.to_numeric(out[c])
    return out[keep].reset_index(drop=True)


def _hide(cols: dict[str, list], i: int, limits: pd.Series, blank: list[str]) -> None:
    """Row ``i``'s figure is hidden: nothing worked out from it is shown. The finding
    stands without its figures; only its direction may be said, and only where saying it
    does not narrow the count down (``direction_is_safe``)."""
    lower, upper = limits
    if not direction_is_safe(cols["flag"][i], int(cols["service_count"][i]),
                             lower, upper, cols["expected"][i]):
        cols["flag"][i] = UNSAID
    for c in blank:
        cols[c][i] = np.nan
    cols["strength"][i], cols["signal_95"][i] = "", ""
    cols["hidden"][i] = True


def _show(cols: dict[str, list], i: int, k: int, n: int | None, blank: list[str],
          policy: DisclosurePolicy, rules: Rules) -> None:
    """Row ``i``'s figure as published, ``k`` of ``n``. True counts keep what was worked
    out from them; rounded ones (the NHS rule) get their share, interval, ratio and
    difference worked out again from the rounded figures, and no strong interval."""
    cols["service_count"][i] = float(k)
    if cols["flag"][i] in STATUS_FLAGS:
        return
    if n is None or n == 0:
        for c in blank[1:]:
            cols[c][i] = np.nan
        return
    if policy.method != "nhs":
        return  # true counts are shown: everything worked out from them holds
    share = k / n
    expected_share = cols["expected_share"][i]
    cols["service_share"][i] = share
    cols["ci_low"][i], cols["ci_high"][i], _ = share_interval(
        k, n, rules.level, rules.exact_binomial_below)
    cols["ratio"][i] = share / expected_share if expected_share else np.nan
    cols["difference_pp"][i] = 100 * (share - expected_share)
    for c in _INTERVALS:
        cols[c][i] = np.nan

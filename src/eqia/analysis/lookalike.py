"""Columns left unused that look like a characteristic the extract seems not to collect.

A provider's ``Marital`` or ``Relationship status`` column is not a name eqia knows, so
without a mapping line marriage and civil partnership would be reported "not collected"
although the data is there. ``lookalikes`` finds such columns, by their name (spelt like
a name the registry lists, as ``eqia map suggest`` matches them, or holding a word only
that characteristic's names use) or by their values (most of them categories of that
characteristic's vocabulary, at least two different ones). Values alone are not enough
when they fit several characteristics (Yes / No fits disability, carers and more): the
name must then agree; and a name alone is not enough when the values are read and none
is a category of it ("Relationship to client": Son, Daughter). It reads counts of
values, never a record, and says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache

import pandas as pd

from eqia.analysis.suggest import _looks_free, match_columns
from eqia.read.columns import plan_columns
from eqia.read.mapping import MappingFile, lookup_for
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import normalise

#: Share of a column's non-blank rows whose value must be a category of the
#: characteristic for the values alone to suggest it; and how many different categories.
VALUE_SHARE = 0.8
MIN_CATEGORIES = 2
#: Words shorter than this ("sex" aside, which is a name eqia knows) say too little.
MIN_WORD = 4
#: Words of the registry's names that other columns of a social care extract use too
#: ("Referral Date", "Care Package", "Referral Origin"): no evidence on their own.
GENERIC_WORDS = frozenset({
    "activity", "assessment", "background", "band", "bracket", "care", "considers", "date",
    "description", "equality", "given", "indicator", "leave", "origin", "other", "patient",
    "provides", "range", "recently", "referral", "responsibilities", "same", "start",
    "stated", "system", "themselves", "years",
})
#: Values quoted in a warning, to show why (categories eqia recognises, never free text).
EXAMPLES = 3


@dataclass(frozen=True)
class Lookalike:
    """An unused ``column`` that looks like characteristic ``key``, and why."""

    column: str
    key: str
    why: str


@cache
def _distinct_words() -> dict[str, frozenset[str]]:
    """Characteristic key -> the words of its names (column names and its own name)
    that no other characteristic's names use: 'marital', 'religion', 'pregnancy'."""
    words: dict[str, set[str]] = {}
    for char in chars.vocabulary():
        names = (*char.columns, *char.dob_columns, *char.band_columns, char.name)
        words[char.key] = {w for n in names for w in re.split(r"[^a-z]+", normalise(n))
                           if len(w) >= MIN_WORD and w not in GENERIC_WORDS}
    return {k: frozenset(w for w in ws if not any(w in o for j, o in words.items() if j != k))
            for k, ws in words.items()}


def _by_name(column: str, missing: Collection[str]) -> str | None:
    words = set(re.split(r"[^a-z]+", normalise(column)))
    for key in missing:
        if words & _distinct_words().get(key, frozenset()):
            return key
    return None


def _by_values(counts: pd.Series, key: str, mapping: MappingFile) -> tuple[float, list[str]]:
    """(share of non-blank rows that are categories of ``key``, the values that are)."""
    lookup = lookup_for(chars.get(key), mapping.values.get(key))
    recognised = 0
    total = 0
    categories: dict[str, str] = {}
    for value, n in counts.items():
        text = normalise(str(value))
        if not text:
            continue
        total += int(n)
        kind, label = lookup.codes.get(text, ("", ""))
        if kind in ("category", "group"):
            recognised += int(n)
            categories.setdefault(label, str(value))
    return (recognised / total if total else 0.0), list(categories.values())


def unused_columns(columns: list[str], mapping: MappingFile, source: str) -> list[str]:
    """The columns no characteristic, ID, service or period is read from, nor ignored: if
    there are none, nothing can look like a characteristic (and no values need reading)."""
    plan = plan_columns(columns, mapping, source)
    used = {*plan.columns.values(), plan.id_column, plan.service_column, plan.period_column,
            *mapping.ignore}
    return [c for c in columns if c not in used]


def lookalikes(
    columns: list[str],
    mapping: MappingFile,
    missing: Collection[str],
    values: Callable[[str], pd.Series] | None = None,
    source: str = "the extract",
) -> list[Lookalike]:
    """Unused columns that look like one of the ``missing`` characteristics (keys the
    extract has no column for). ``values(column)``: its counts by value, where the file
    was read (a large file streamed is judged by its column names alone); asked only of
    the columns left unused."""
    missing = [k for k in chars.keys() if k in set(missing)]
    if not missing:
        return []
    matches, unused = match_columns(columns, mapping, source)
    found: dict[str, Lookalike] = {}
    for m in matches:  # a missing key's match is by spelling: the plan found no column
        if m.key in missing:
            found[m.column] = Lookalike(m.column, m.key, m.why.removesuffix(": check"))
    for column in unused:
        counts = values(column) if values is not None else None
        named = _by_name(column, missing)
        if counts is not None and _looks_free(counts):
            continue
        seen = {} if counts is None else {k: _by_values(counts, k, mapping) for k in missing}
        fits = {k: v for k, v in seen.items()
                if v[0] >= VALUE_SHARE and len(v[1]) >= MIN_CATEGORIES}
        if named is not None and (counts is None or named == "age" or seen[named][1]):
            key = named  # named so, and (where read) some of its values are its categories
            # (ages and dates of birth have none: their name is the evidence)
        elif len(fits) == 1:
            key = next(iter(fits))  # values that fit this characteristic and no other
        else:
            continue
        name = chars.display_name(key).lower()
        if key in fits:
            share, examples = fits[key]
            shown = ", ".join(f"'{v}'" for v in examples[:EXAMPLES])
            why = (f"{share:.0%} of its filled rows hold categories of {name} ({shown}"
                   f"{', ...' if len(examples) > EXAMPLES else ''})")
        else:
            why = f"its name is like the names eqia knows for {name}"
        found.setdefault(column, Lookalike(column, key, why))
    order = {k: i for i, k in enumerate(chars.keys())}
    return sorted(found.values(), key=lambda f: (order[f.key], columns.index(f.column)))


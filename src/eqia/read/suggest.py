"""A draft mapping file from extracts: which column is which, and what each local code
most likely means, for the officer to check and keep.

``suggest`` reads the extracts as every command does, matches each column (by the names
eqia knows, else the closest of them by spelling), and lists every value of a coded
column that eqia does not recognise, in full, with its count and the standard category
whose spelling is closest (``difflib``). ``draft_yaml`` writes that as a commented
mapping file. It never reads ID, date-of-birth or other columns' values: a draft holds
the values of coded columns (sex, ethnicity, religion...) only.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from eqia.read.extract import profiles_from_table
from eqia.read.files import (
    Table,
    is_aggregated,
    known_columns,
    plan_columns,
    read_table,
    row_with_known_names,
)
from eqia.read.mapping import UNKNOWN_TARGETS, Lookup, MappingFile, lookup_for
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import normalise

#: How alike (difflib's ratio, 0 to 1) a column name must be to a known name to be
#: proposed: "Ethnic Grp" is 0.91 like "ethnic group"; "Notes" like nothing.
COLUMN_CUTOFF = 0.8
#: How alike a value must be to a known spelling for its category to be proposed; and,
#: when either is a short code (4 characters or fewer), how alike: codes of a few
#: letters are alike by chance ("Jedi" is 75% like "jewi", Jewish).
VALUE_CUTOFF = 0.6
SHORT_CUTOFF = 0.9

#: A coded column holds a few values, each many times. More values than this seen only
#: once, in most of its rows, is free text or IDs: not listed in a draft.
FREE_TEXT_SINGLES = 20

MAPPING_KEYS = {"id": "the person ID", "service": "the service"}


@dataclass(frozen=True)
class ColumnMatch:
    """A column of the extract and what it holds (a ``columns:`` key of a mapping)."""

    key: str  # a characteristic key, id or service
    column: str
    why: str


@dataclass(frozen=True)
class ValueMatch:
    """A value eqia does not recognise, with its count and the closest standard meaning."""

    key: str
    value: str  # exactly as in the extract
    count: int
    means: str | None  # a category or group label, not_known / not_stated; None: no match
    like: str = ""  # the known spelling it is closest to
    score: float = 0.0


@dataclass
class Suggestion:
    sources: list[str]
    columns: list[ColumnMatch] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # columns no characteristic matched
    values: list[ValueMatch] = field(default_factory=list)
    header_row: int | None = None  # where the header was found, when not row 1
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)
    counts_only: bool = False  # every file a table of counts: no columns to name
    base: MappingFile = field(default_factory=MappingFile)  # the mapping it starts from


def _known_names() -> dict[str, tuple[str, str]]:
    """Normalised column name -> (mapping key, the name as eqia lists it)."""
    voc = chars.vocabulary()
    names: dict[str, tuple[str, str]] = {}
    for char in voc:
        for n in (*char.columns, *char.dob_columns, *char.band_columns):
            names.setdefault(normalise(n), (char.key, n))
    for key, listed in (("id", voc.id_columns), ("service", voc.service_columns)):
        for n in listed:
            names.setdefault(normalise(n), (key, n))
    return names


def _label(key: str) -> str:
    return MAPPING_KEYS.get(key) or chars.display_name(key).lower()


def match_columns(columns: Sequence[str], mapping: MappingFile,
                  source: str) -> tuple[list[ColumnMatch], list[str]]:
    """Each column eqia would use and why, then the closest spellings for the rest; and
    the columns left over."""
    plan = plan_columns(list(columns), mapping, source)
    named = {**mapping.columns, "id": mapping.id_column, "service": mapping.service_column}
    found = {**plan.columns, "id": plan.id_column, "service": plan.service_column}
    matches = [ColumnMatch(key, col, "named in the mapping file" if named.get(key) else
                           f"'{col}' is a name eqia knows for {_label(key)}")
               for key, col in found.items() if col]
    taken = {m.key for m in matches}
    used = {m.column for m in matches} | set(mapping.ignore)
    if plan.period_column:
        used.add(plan.period_column)
    known = _known_names()
    unused = []
    for col in columns:
        if col in used:
            continue
        close = difflib.get_close_matches(normalise(col), known, n=1, cutoff=COLUMN_CUTOFF)
        key, name = known[close[0]] if close else (None, "")
        if key is None or key in taken:
            unused.append(col)
            continue
        ratio = difflib.SequenceMatcher(None, normalise(col), close[0]).ratio()
        matches.append(ColumnMatch(key, col, f"spelt like '{name}', a name for {_label(key)} "
                                   f"({ratio:.0%} alike): check"))
        taken.add(key)
    order = [*chars.keys(), "id", "service"]
    return sorted(matches, key=lambda m: order.index(m.key)), unused


def closest(value: str, lookup: Lookup) -> tuple[str | None, str, float]:
    """(what the value most likely means, the known spelling it is like, how alike)."""
    key = normalise(value)
    close = difflib.get_close_matches(key, lookup.codes, n=1, cutoff=VALUE_CUTOFF)
    if not close:
        return None, "", 0.0
    ratio = difflib.SequenceMatcher(None, key, close[0]).ratio()
    if min(len(key), len(close[0])) <= 4 and ratio < SHORT_CUTOFF:
        return None, "", 0.0
    return lookup.codes[close[0]][1], close[0], ratio


def suggest(paths: Sequence[str | Path], mapping: MappingFile | None = None,
            sheet: str | None = None) -> Suggestion:
    """Match columns and list unrecognised values across ``paths`` (one mapping for all)."""
    mapping = mapping or MappingFile()
    result = Suggestion(sources=[Path(p).name for p in paths], sheet=sheet or mapping.sheet,
                        base=mapping)
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[str, ColumnMatch] = {}
    unused: list[str] = []
    aggregated = 0
    for path in paths:
        table = _read(path, mapping, sheet)
        if table.layout.header_row > 1 and result.header_row is None:
            result.header_row = table.layout.header_row
        if is_aggregated(list(table.data.columns)):
            aggregated += 1
            profile = next(iter(profiles_from_table(table, mapping, split=False).values()))
            for key in chars.keys():
                if key != "age" and profile.is_collected(key):
                    for r in profile.invalid_values(key).itertuples():
                        counts[(key, str(r.value))] += int(r.count)
            continue
        matches, rest = match_columns(list(table.data.columns), mapping, table.name)
        for m in matches:
            if m.key not in first:
                first[m.key] = m
            elif first[m.key].column != m.column:
                result.notes.append(f"{table.name} holds {_label(m.key)} in '{m.column}', "
                                    f"not '{first[m.key].column}': one mapping names one "
                                    "column; give such files their own mapping.")
        unused += [c for c in rest if c not in unused]
        for m in matches:
            if m.key in ("id", "service", "age"):
                continue  # never their values: IDs, dates of birth
            found = table.data[m.column].value_counts(sort=False)
            if _looks_free(found):
                result.notes.append(
                    f"Column '{m.column}' ({_label(m.key)}) of {table.name} holds mostly "
                    "values that appear only once, like free text or IDs: they are not "
                    "listed. Check that it is the right column.")
                continue
            lookup = lookup_for(chars.get(m.key), mapping.values.get(m.key))
            for value, n in found.items():
                text = str(value)
                if normalise(text) and normalise(text) not in lookup.codes:
                    counts[(m.key, text)] += int(n)
    result.counts_only = aggregated == len(paths)
    result.columns = list(first.values())
    result.unused = [c for c in unused if c not in {m.column for m in result.columns}]
    lookups = {key: lookup_for(chars.get(key), mapping.values.get(key))
               for key in {k for k, _ in counts}}
    order = chars.keys()
    for (key, value), n in sorted(counts.items(),
                                  key=lambda kv: (order.index(kv[0][0]), -kv[1], kv[0][1])):
        means, like, score = closest(value, lookups[key])
        result.values.append(ValueMatch(key, value, n, means, like, score))
    return result


def _read(path: str | Path, mapping: MappingFile, sheet: str | None) -> Table:
    """The extract as every command reads it; but when no column is recognised and a
    lower row holds names eqia knows (a title as wide as the data above it), from there."""
    table = read_table(path, sheet=sheet, mapping=mapping)
    columns = list(table.data.columns)
    if (mapping.header_row is not None or is_aggregated(columns)
            or plan_columns(columns, mapping, table.name).columns):
        return table
    lower = row_with_known_names(table.data, known_columns(mapping), table.layout.header_row)
    if lower is None:
        return table
    return read_table(path, sheet=sheet, mapping=replace(mapping, header_row=lower[0]))


def _looks_free(found: pd.Series) -> bool:
    """Whether a column's values (counts by value) look like free text or IDs rather than
    codes: more than ``FREE_TEXT_SINGLES`` values seen once, in most of its rows."""
    singles = int((found == 1).sum())
    return singles > FREE_TEXT_SINGLES and singles > found.sum() / 2


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def draft_yaml(s: Suggestion) -> str:
    """The suggestion as a mapping file, every line commented with why."""
    lines = [
        "# Draft mapping written by `eqia map suggest` from: " + ", ".join(s.sources) + ".",
        "# Check every line: eqia matched columns by their names and proposed each code's",
        "# meaning by its spelling alone. Change what is wrong, then use the file:",
        f"#   eqia profile {s.sources[0]} --map THIS-FILE.yaml",
        "# It lists values of coded columns only (never IDs or dates of birth).",
    ]
    base = s.base
    if base.path:
        lines.append(f"# It starts from {base.path}: all that file says is kept here.")
    lines += [f"# Note: {n}" for n in s.notes]
    if base.dayfirst is not None:
        lines.append(f"dayfirst: {'true' if base.dayfirst else 'false'}")
    if base.ignore:
        lines.append("ignore_columns: [" + ", ".join(_quoted(c) for c in base.ignore) + "]")
    if s.sheet:
        lines += [f"sheet: {_quoted(s.sheet)}"]
    if s.header_row:
        lines += [f"header_row: {s.header_row}    # the column names are on row "
                  f"{s.header_row}; the rows above are a title"]
    lines += ["", "columns:"]
    for m in s.columns:
        lines.append(f"  {m.key}: {_quoted(m.column)}    # {m.why}")
    if s.counts_only:
        lines.append("  # Tables of counts (characteristic, category, count): no columns to name.")
    elif not s.columns:
        lines.append("  # No column was recognised: name each characteristic's column, e.g.")
        lines.append("  # ethnicity: \"Ethnic Group\"")
    if s.unused:
        lines.append("  # Not used (give one a line above if it holds a characteristic): "
                     + ", ".join(_quoted(c) for c in s.unused))
    lines += ["", "values:"]
    if not s.values and not base.values:
        lines.append("  # Every value was recognised: nothing to map.")
    for key in chars.keys():
        new = [v for v in s.values if v.key == key]
        kept = base.values.get(key) or {}
        if not (new or kept):
            continue
        char = chars.get(key)
        lines.append(f"  {key}:")
        for code, target in kept.items():
            means = target if target in UNKNOWN_TARGETS else _quoted(target)
            lines.append(f"    {_quoted(code)}: {means}    # from {Path(base.path or '').name}")
        if not new:
            continue
        for v in new:
            unit = ("person", "people") if s.counts_only else ("row", "rows")
            rows = f"{v.count:,} {unit[v.count != 1]}"
            if v.means is None:
                lines.append(f"    # {_quoted(v.value)}:    # {rows}; no close match: write "
                             "its standard category, not_known or not_stated, and remove the #")
            else:
                means = v.means if v.means in UNKNOWN_TARGETS else _quoted(v.means)
                lines.append(f"    {_quoted(v.value)}: {means}    # {rows}; closest: "
                             f"'{v.like}' ({v.score:.0%} alike)")
        lines.append(f"    # {char.name}: the standard categories are")
        lines += [f"    #   {c.label}" for c in (*char.groups, *char.categories)]
        lines.append("    #   or not_known (not asked, not recorded) / not_stated (declined)")
    return "\n".join(lines) + "\n"

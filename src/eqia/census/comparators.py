"""Comparator populations a user supplies (a CSV of category and count or share), as Baselines.

The file is read by the same strict reader as extracts (``read.files.read_supplied_csv``):
a badly quoted or ragged row is an error naming the row, never a guess.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eqia.agebands import parse_band
from eqia.census.baselines import Baseline, _check_key, _frame
from eqia.errors import InputError
from eqia.read.files import read_supplied_csv
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import normalise

COMPARATOR_HINT = "Write it as CSV: category,count (or category,share), one category a row."


def comparator_from_file(path: str | Path, characteristic_key: str) -> Baseline:
    """A non-census comparator population from a CSV of ``category,count`` or
    ``category,share`` (e.g. the eligible population in a needs assessment).

    Categories must be eqia's standard categories (case and punctuation do not matter;
    for ethnicity, the 5 groups or the 19 detailed categories; for age, band labels).
    "Not stated"/"Unknown" rows are counted as unknown. Categories the file leaves out
    count as 0. With shares only, ``count`` is NaN and ``total`` is 0.
    """
    char = _check_key(characteristic_key)
    path = Path(path)
    table = read_supplied_csv(path, ("category", "count", "share"), hint=COMPARATOR_HINT)
    raw = table.data
    columns = {normalise(c): c for c in raw.columns}
    value_col = next((columns[c] for c in ("count", "share") if c in columns), None)
    if "category" not in columns or value_col is None:
        raise InputError(
            "A comparator file needs a 'category' column and a 'count' or 'share' column",
            code="missing-column", file=str(path),
            hint=COMPARATOR_HINT,
        )
    kind = normalise(value_col)
    cat_col = columns["category"]

    standard, allowed, groups = _categories(characteristic_key, char, raw[cat_col])
    values, unknown, bad = _summed(raw, cat_col, value_col, standard, allowed, groups,
                                   str(path), table.layout.first_line)
    if bad:
        raise InputError(
            f"{len(bad)} categor{'y is' if len(bad) == 1 else 'ies are'} not standard "
            f"{chars.display_name(characteristic_key).lower()} categories",
            code="unknown-category", file=str(path), column=cat_col,
            details=[f"'{b}'" for b in bad[:10]],
            hint="Use these categories: " + "; ".join(standard) if standard
            else "Use age bands such as 0-17, 18-64, 65+.",
        )
    missing = [c for c in standard if c not in set(allowed.values()) | set(groups.values())
               or values[c] == 0]
    caveats = [f"Comparator population from {path.name}, not the census."]
    if kind == "share":
        frame = _shares(values, str(path), value_col)
        caveats.append("The file gives shares only, so the population's size is not known.")
        unknown_count, total = 0, 0
    else:
        frame = _frame(list(values), [int(round(v)) for v in values.values()])
        unknown_count = int(round(unknown))
        total = int(frame["count"].sum()) + unknown_count
    if missing and characteristic_key != "age":
        caveats.append("Not in the file, taken as 0: " + "; ".join(missing) + ".")
    return Baseline(
        area=None, characteristic=characteristic_key, table=None,
        base=f"comparator population ({path.name})", counts=frame, unknown=unknown_count,
        total=total, caveats=caveats, source=str(path), title=path.stem,
    )


def _shares(values: dict[str, float], source: str, column: str) -> pd.DataFrame:
    """Shares (fractions, or percentages when they add up to about 100) as fractions of
    the known population; refused unless they add up to 1 within 0.02."""
    total_share = sum(values.values())
    if total_share > 1.5:  # percentages
        values = {k: v / 100 for k, v in values.items()}
        total_share /= 100
    if abs(total_share - 1) > 0.02:
        raise InputError(
            f"The shares add up to {total_share:.3f}, not 1",
            code="bad-shares", file=source, column=column,
            hint="Give shares of the known population that add up to 1 (or 100%).",
        )
    return pd.DataFrame({"category": list(values), "count": float("nan"),
                         "share": [v / total_share for v in values.values()]})


def _categories(key: str, char: chars.Characteristic, given: pd.Series
                ) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(standard categories, normalised label -> category, detailed -> its group) that a
    comparator of ``key`` may use; for age, the bands the file itself gives."""
    if key == "age":
        allowed: dict[str, str] = {}
        for value in given:
            band = parse_band(value)
            if band is not None:
                allowed[normalise(value)] = band.label
        return list(dict.fromkeys(allowed.values())), allowed, {}
    if key == "ethnicity":
        standard = [g.label for g in char.groups]
        groups = {normalise(c.label): c.group for c in char.categories if c.group}
        return standard, {normalise(label): label for label in standard}, groups
    standard = [c.label for c in char.categories if c.in_census or not char.census_table]
    return standard, {normalise(label): label for label in standard}, {}


def _summed(raw: pd.DataFrame, cat_col: str, value_col: str, standard: list[str],
            allowed: dict[str, str], groups: dict[str, str], source: str, first_line: int
            ) -> tuple[dict[str, float], float, list[str]]:
    """(each standard category's count or share, the unknown's, categories not known)."""
    unknown_words = {w for values in chars.vocabulary().unknowns.values() for w in values}
    unknown_words |= {"not answered", "unknown"}
    values: dict[str, float] = dict.fromkeys(standard, 0.0)
    unknown = 0.0
    bad: list[str] = []
    for i, (cat, value) in enumerate(zip(raw[cat_col], raw[value_col], strict=True),
                                      start=first_line):
        try:
            number = float(str(value).replace(",", "").replace("%", "").strip())
        except ValueError:
            raise InputError(f"'{value}' is not a number", code="bad-number", file=source,
                             row=i, column=value_col,
                             hint=f"Give each {normalise(value_col)} as a number.") from None
        key = normalise(cat)
        if key in allowed:
            values[allowed[key]] += number
        elif key in groups:
            values[groups[key]] += number
        elif key in unknown_words:
            unknown += number
        else:
            bad.append(str(cat))
    return values, unknown, bad

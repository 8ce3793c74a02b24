"""Extract file -> Profile: the public entry point for reading service data.

``profile_file`` reads a record-level or an aggregated extract and returns its
``Profile``; ``profile_services`` splits it by service (and period) first. Large
record-level CSV and Parquet files go through the streaming path in ``streaming``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.errors import InputError
from eqia.read.counts import Profile, ValueCounts, build_profile, read_dates_as
from eqia.read.files import (
    TOTAL_PATTERN,
    ColumnPlan,
    Table,
    is_aggregated,
    known_columns,
    no_characteristics_error,
    plan_columns,
    read_table,
)
from eqia.read.mapping import MappingFile, load_mapping, lookup_for, map_categories, text_matches
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import normalise
from eqia.settings.standard_codes import classification_notes

#: Characteristics counted by age too: those the census crosses with age, so that
#: expected counts can be age-standardised (``age_crossings``; detailed ethnic groups are
#: counted with the ethnicity column).
AGE_CROSSED = chars.age_crossed()


def profile_file(
    path: str | Path,
    mapping: str | Path | MappingFile | None = None,
    as_of: dt.date | None = None,
    sheet: str | None = None,
    age_bands: str | None = None,
    allow_duplicates: bool = False,
    streaming: bool | None = None,
    progress: Callable[[float], None] | None = None,
    by_age: bool = True,
) -> Profile:
    """Profile a whole extract (all services in it together)."""
    groups = profile_services(
        path, mapping, as_of, sheet, age_bands, allow_duplicates, split=False,
        streaming=streaming, progress=progress, by_age=by_age,
    )
    return next(iter(groups.values()))


def profile_services(
    path: str | Path,
    mapping: str | Path | MappingFile | None = None,
    as_of: dt.date | None = None,
    sheet: str | None = None,
    age_bands: str | None = None,
    allow_duplicates: bool = False,
    split: bool = True,
    streaming: bool | None = None,
    progress: Callable[[float], None] | None = None,
    by_age: bool = True,
) -> dict[tuple[str | None, str | None], Profile]:
    """Profiles keyed by (service, period); one key ``(None, None)`` when not split.

    ``streaming``: count a record-level CSV/Parquet file in one pass without loading it
    (``None``: only when it is large). ``progress`` is called with the fraction read.
    ``by_age``: count the characteristics the census crosses with age by age too
    (``AGE_CROSSED``, for age standardisation); the costliest part of a large count, so
    callers that compare nothing with the census (profile, audit) leave it out.
    """
    mf = mapping if isinstance(mapping, MappingFile) else load_mapping(mapping)
    if not isinstance(path, (str, Path)):  # a DatabaseSource: counted in its engine
        from eqia.read import engines

        return engines.profile_services(path, mf, as_of, age_bands, allow_duplicates, split,
                                        by_age)
    from eqia.read import streaming as st  # imports profile: not at module level

    crossed = AGE_CROSSED if by_age else ()
    if sheet is None and st.wanted(path, streaming):
        parts = st.stream_value_counts(path, mf, allow_duplicates, split, progress=progress,
                                       crossed=crossed)
        if parts is not None:  # None: aggregated, or unreadable (read_table says why)
            return profiles_from_counts(parts, mf, as_of, age_bands)
    table = read_table(path, sheet=sheet, mapping=mf)
    return profiles_from_table(table, mf, as_of, age_bands, allow_duplicates, split, crossed)


def profiles_from_counts(
    parts: dict[tuple[str | None, str | None], ValueCounts],
    mapping: MappingFile,
    as_of: dt.date | None = None,
    age_bands: str | None = None,
) -> dict[tuple[str | None, str | None], Profile]:
    """One file's parts -> profiles, its dates of birth read one way for them all."""
    dates = read_dates_as(parts.values(), mapping.dayfirst, as_of)
    profiles = {}
    for key, vc in parts.items():
        profile = build_profile(vc, mapping.values, as_of=as_of, age_bands=age_bands,
                                dates=dates)
        profile.notes.extend(classification_notes(
            {k: values.index for k, values in vc.values.items()}))
        profiles[key] = profile
    return profiles


def profiles_from_table(
    table: Table,
    mapping: MappingFile,
    as_of: dt.date | None = None,
    age_bands: str | None = None,
    allow_duplicates: bool = False,
    split: bool = True,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> dict[tuple[str | None, str | None], Profile]:
    columns = list(table.data.columns)
    if is_aggregated(columns):
        parts = aggregated_value_counts(table, split=split, user_values=mapping.values)
    else:
        plan = plan_columns(columns, mapping, table.name)
        if not plan.columns:
            raise no_characteristics_error(table.name, columns, table.layout.header_row,
                                           table.data, known_columns())
        wide = wide_counts_error(table, plan)
        if wide is not None:
            raise wide
        parts = record_value_counts(table, plan, allow_duplicates, split=split, crossed=crossed)
    return profiles_from_counts(parts, mapping, as_of, age_bands)


# ---------------------------------------------------------------------------
# Record level: one row per person


def record_value_counts(
    table: Table, plan: ColumnPlan, allow_duplicates: bool = False, split: bool = True,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> dict[tuple[str | None, str | None], ValueCounts]:
    df = table.data
    duplicates = check_duplicate_ids(df, plan.id_column, table.name, allow_duplicates,
                                     table.layout.first_line)
    reading = table.layout.notes()
    if split and (plan.service_column or plan.period_column):
        keys = [c for c in (plan.service_column, plan.period_column) if c]
        out = {}
        for values, part in df.groupby(keys, sort=True):
            values = values if isinstance(values, tuple) else (values,)
            service = str(values[0]) if plan.service_column else None
            period = str(values[-1]) if plan.period_column else None
            out[(service, period)] = _frame_counts(part, plan, table.name, duplicates=0,
                                                    service=service, period=period,
                                                    crossed=crossed, reading=reading)
        return out
    return {(None, None): _frame_counts(df, plan, table.name, duplicates, crossed=crossed,
                                        reading=reading, set_aside=table.layout.set_aside())}


def _frame_counts(
    df: pd.DataFrame, plan: ColumnPlan, source: str, duplicates: int,
    service: str | None = None, period: str | None = None,
    crossed: tuple[str, ...] = AGE_CROSSED, reading: Sequence[str] = (),
    set_aside: dict[str, int] | None = None,
) -> ValueCounts:
    values = {key: df[col].value_counts(sort=False, dropna=False) for key, col in plan.columns.items()}
    pairs = {}
    age_col = plan.columns.get("age")
    if age_col is not None:
        for key in crossed:
            if key in plan.columns:
                pairs[key] = df.groupby([age_col, plan.columns[key]], sort=False).size()
    notes = [*reading, *plan.notes]
    if duplicates:
        notes.append(duplicate_ids_note(duplicates, plan.id_column))
    return ValueCounts(
        source=source, shape="records", rows=len(df), columns=dict(plan.columns),
        values=values, pairs=pairs, age_hint=plan.age_hint, notes=notes,
        duplicates=duplicates, service=service, period=period, set_aside=set_aside or {},
    )


def check_duplicate_ids(
    df: pd.DataFrame, id_column: str | None, source: str, allow: bool, first_line: int = 2,
) -> int:
    """Count rows whose person ID was already seen; an error unless allowed.

    ``first_line``: the file's line of the first data row (row labels count from it)."""
    if id_column is None:
        return 0
    ids = df[id_column].astype(str).str.strip()
    present = ids != ""
    dup = ids[present].duplicated(keep="first")
    n = int(dup.sum())
    if n and not allow:
        rows = [int(i) + first_line for i in dup[dup].index[:5]]
        raise duplicate_ids_error(n, rows, source, id_column)
    return n


def _rows_repeat(n: int) -> str:
    return f"{n:,} row repeats" if n == 1 else f"{n:,} rows repeat"


def duplicate_ids_error(n: int, rows: list[int], source: str, id_column: str) -> InputError:
    """``n`` rows repeat an ID; ``rows``: the first repeats' line numbers (header = 1)."""
    return InputError(
        f"{_rows_repeat(n)} a person ID that appears earlier in the file",
        code="duplicate-ids",
        file=source,
        column=id_column,
        row=rows[0],
        details=["First repeated rows: " + ", ".join(map(str, rows))],
        hint="An extract should have one row per person. Remove the repeats, or pass "
        "--allow-duplicates to count every row (e.g. for an extract of contacts).",
    )


def duplicate_ids_note(n: int, id_column: str | None) -> str:
    return (
        f"{_rows_repeat(n)} a person ID already seen in column '{id_column}'; "
        "every row was counted (--allow-duplicates)."
    )


# ---------------------------------------------------------------------------
# Aggregated: characteristic, category, count


def _characteristic_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for char in chars.vocabulary():
        for n in (char.key, char.name, char.grid_label, *char.columns, *char.band_columns):
            names.setdefault(normalise(n), char.key)
    names[normalise("ethnicity_detailed")] = "ethnicity"
    names[normalise("gender")] = "sex"
    names[normalise("race")] = "ethnicity"
    return names


#: The most people one row of counts may hold (beyond it, a slip such as 1e20).
MAX_COUNT = 10**9
#: A count as people write it: 1234, 1,234 or 1234.0 (Excel's way of writing a number).
COUNT_PATTERN = r"^[0-9]{1,3}(,[0-9]{3})*(\.0+)?$|^[0-9]+(\.0+)?$"
#: A category that stands for everyone: a total row (besides ``TOTAL_PATTERN``).
ALL_PATTERN = r"^\s*(?i:all( people| persons| categories| groups)?)\s*$"
LONG_LAYOUT = """characteristic,category,count,service
ethnicity,White: English/Welsh/Scottish/Northern Irish/British,120,Service A
ethnicity,White: English/Welsh/Scottish/Northern Irish/British,95,Service B
ethnicity,Asian/Asian British: Indian,7,Service A"""


def parse_counts(text: pd.Series, source: str, column: str, first_line: int) -> pd.Series:
    """Counts of people from text: whole numbers 0 to ``MAX_COUNT``; anything else
    (blank, text, negative, fractional, infinite, huge) stops with the first bad row."""
    text = text.astype(str).str.strip()
    ok = text_matches(text, COUNT_PATTERN)
    digits = text.str.replace(",", "", regex=False).str.replace(r"\.0+$", "", regex=True)
    ok &= (digits.str.len() <= 10).to_numpy()
    counts = pd.to_numeric(digits.where(ok, "0")).astype("int64")
    ok &= (counts <= MAX_COUNT).to_numpy()
    if ok.all():
        return counts
    bad = np.flatnonzero(~ok)
    value = text.iloc[bad[0]]
    raise InputError(
        _count_problem(value),
        code="bad-count",
        file=source,
        row=int(text.index[bad[0]]) + first_line,
        column=column,
        value=value,
        details=[f"{len(bad):,} rows have a count that is not a whole number from 0 to "
                 f"{MAX_COUNT:,}"] if len(bad) > 1 else [],
        hint=f"A count is a whole number of people from 0 to {MAX_COUNT:,}. Fix it (a blank "
        "count should be 0), then run again.",
    )


def _count_problem(value: str) -> str:
    if value == "":
        return "A count is blank"
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        return "A count must be a whole number of people, not text"
    if number != number or number in (float("inf"), float("-inf")):
        return "A count must be a whole number of people, not infinite or 'not a number'"
    if number < 0:
        return "A count cannot be negative"
    if number != int(number):
        return "A count must be a whole number of people, not a fraction"
    return f"A count must be at most {MAX_COUNT:,} people in one row"


def wide_counts_error(table: Table, plan: ColumnPlan) -> InputError | None:
    """A table of counts with a column per service or group (``Ethnicity, Service A,
    Service B``) would be read as one person per row: the error that says so, or None.

    Wide: no person ID, every column that is not a characteristic's holds only counts,
    and no category repeats down the characteristic's column."""
    df = table.data
    if plan.id_column is not None or not plan.columns:
        return None
    used = set(plan.columns.values())
    others = [c for c in df.columns if c not in used]
    if not others:
        return None
    for c in used:
        text = df[c].astype(str).str.strip()
        if text[text != ""].duplicated().any():  # a category twice: people, not counts
            return None
    for c in others:
        text = df[c].astype(str).str.strip()
        if not (text_matches(text, COUNT_PATTERN) | (text == "").to_numpy()).all():
            return None
    return InputError(
        "This looks like a table of counts with a column per service or group (a wide "
        "layout); read as it is, each row would be one person",
        code="wide-counts",
        file=table.name,
        details=["Columns: " + ", ".join(map(str, df.columns))],
        hint="Give the counts one per row, with the columns characteristic, category and "
        "count (and service, if there are several), like this:\n" + LONG_LAYOUT
        + "\nOr give the extract itself, one row per person.",
    )


def aggregated_value_counts(
    table: Table, split: bool = True, user_values: dict[str, dict[str, str]] | None = None,
) -> dict[tuple[str | None, str | None], ValueCounts]:
    """Counts in the long layout (characteristic, category, count; perhaps service and
    period) -> ValueCounts. Total rows are set aside: a category or characteristic saying
    Total or All, or an unrecognised category whose count is the sum of the others."""
    df = table.data
    cols = {normalise(c): c for c in df.columns}
    ccol, kcol, ncol = cols["characteristic"], cols["category"], cols["count"]
    scol = cols.get("service") if split else None
    pcol = cols.get("period") if split else None
    names = _characteristic_names()
    first_line = table.layout.first_line

    labelled = (text_matches(df[kcol].astype(str), TOTAL_PATTERN)
                | text_matches(df[kcol].astype(str), ALL_PATTERN)
                | text_matches(df[ccol].astype(str), TOTAL_PATTERN))
    df = df[~labelled]
    counts = parse_counts(df[ncol], table.name, ncol, first_line)
    keys = df[ccol].map(lambda v: names.get(normalise(v)))
    if keys.isna().any():
        i = keys.index[keys.isna().to_numpy()][0]
        raise InputError(
            "The characteristic is not one eqia knows",
            code="unknown-characteristic",
            file=table.name,
            row=int(i) + first_line,
            column=ccol,
            value=df.at[i, ccol],
            hint="Use one of: " + ", ".join(chars.keys()) + ".",
        )
    frame = pd.DataFrame({
        "key": keys, "category": df[kcol], "count": counts,
        "service": df[scol].astype(str) if scol else None,
        "period": df[pcol].astype(str) if pcol else None,
    })
    total = _sum_of_others(frame, user_values or {})
    frame = frame[~total]
    layout = replace(table.layout, total=int(labelled.sum() + total.sum()))
    out = {}
    group_cols = [c for c, on in (("service", scol), ("period", pcol)) if on]
    parts = frame.groupby(group_cols, sort=True) if group_cols else [((), frame)]
    for gkey, part in parts:
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        service = str(gkey[0]) if scol else None
        period = str(gkey[-1]) if pcol else None
        values = {}
        inputs = {}
        for key, rows in part.groupby("key", sort=False):
            series = rows.groupby("category", sort=False)["count"].sum()
            values[str(key)] = series
            inputs[str(key)] = int(series.sum())
        out[(service, period)] = ValueCounts(
            source=table.name, shape="aggregated", rows=max(inputs.values(), default=0),
            columns={k: kcol for k in values}, values=values, inputs=inputs,
            service=service, period=period, notes=layout.notes(),
            set_aside=layout.set_aside() if not group_cols else {},
        )
    return out


def _sum_of_others(frame: pd.DataFrame, user_values: dict[str, dict[str, str]]) -> np.ndarray:
    """Rows whose category eqia does not recognise and whose count is the sum of the
    other rows of its characteristic (and service and period), with two or more others."""
    found = np.zeros(len(frame), dtype=bool)
    by = ["key"] + [c for c in ("service", "period") if frame[c].notna().any()]
    for _, rows in frame.dropna(subset=["key"]).groupby(by, sort=False):
        if len(rows) < 3:
            continue
        key = str(rows["key"].iloc[0])
        lookup = lookup_for(chars.get(key), user_values.get(key))
        kinds = map_categories(pd.Index(rows["category"]), lookup)["kind"].to_numpy()
        total = int(rows["count"].sum())
        for i, (kind, n) in enumerate(zip(kinds, rows["count"], strict=True)):
            if kind == "invalid" and 2 * int(n) == total and n > 0:
                found[frame.index.get_loc(rows.index[i])] = True
    return found

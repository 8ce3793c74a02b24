"""Extract file -> Profile: the public entry point for reading service data.

``profile_file`` reads a record-level or an aggregated extract and returns its
``Profile``; ``profile_services`` splits it by service (and period) first. Large
record-level CSV and Parquet files go through the streaming path in ``streaming``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from eqia import characteristics as chars
from eqia.characteristics import normalise
from eqia.counts import Profile, ValueCounts, build_profile
from eqia.errors import InputError
from eqia.ingest import (
    ColumnPlan,
    Table,
    is_aggregated,
    no_characteristics_error,
    plan_columns,
    read_table,
)
from eqia.mapping import MappingFile, load_mapping

#: Characteristics counted by age too: those the census crosses with age, so that
#: expected counts can be age-standardised (``age_crossings``; detailed ethnic groups are
#: counted with the ethnicity column).
AGE_CROSSED = ("sex", "ethnicity", "religion", "marriage_civil_partnership")


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
    from eqia import streaming as st  # imports profile: not at module level

    crossed = AGE_CROSSED if by_age else ()
    if sheet is None and st.wanted(path, streaming):
        parts = st.stream_value_counts(path, mf, allow_duplicates, split, progress=progress,
                                       crossed=crossed)
        if parts is not None:  # None: aggregated, or unreadable (read_table says why)
            return {
                key: build_profile(vc, mf.values, as_of=as_of, age_bands=age_bands)
                for key, vc in parts.items()
            }
    table = read_table(path, sheet=sheet)
    return profiles_from_table(table, mf, as_of, age_bands, allow_duplicates, split, crossed)


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
        parts = aggregated_value_counts(table, split=split)
    else:
        plan = plan_columns(columns, mapping, table.name)
        if not plan.columns:
            raise no_characteristics_error(table.name, columns)
        parts = record_value_counts(table, plan, allow_duplicates, split=split, crossed=crossed)
    return {
        key: build_profile(vc, mapping.values, as_of=as_of, age_bands=age_bands)
        for key, vc in parts.items()
    }


# ---------------------------------------------------------------------------
# Record level: one row per person


def record_value_counts(
    table: Table, plan: ColumnPlan, allow_duplicates: bool = False, split: bool = True,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> dict[tuple[str | None, str | None], ValueCounts]:
    df = table.data
    duplicates = check_duplicate_ids(df, plan.id_column, table.name, allow_duplicates)
    if split and (plan.service_column or plan.period_column):
        keys = [c for c in (plan.service_column, plan.period_column) if c]
        out = {}
        for values, part in df.groupby(keys, sort=True):
            values = values if isinstance(values, tuple) else (values,)
            service = str(values[0]) if plan.service_column else None
            period = str(values[-1]) if plan.period_column else None
            out[(service, period)] = _frame_counts(part, plan, table.name, duplicates=0,
                                                    service=service, period=period,
                                                    crossed=crossed)
        return out
    return {(None, None): _frame_counts(df, plan, table.name, duplicates, crossed=crossed)}


def _frame_counts(
    df: pd.DataFrame, plan: ColumnPlan, source: str, duplicates: int,
    service: str | None = None, period: str | None = None,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> ValueCounts:
    values = {key: df[col].value_counts(sort=False, dropna=False) for key, col in plan.columns.items()}
    pairs = {}
    age_col = plan.columns.get("age")
    if age_col is not None:
        for key in crossed:
            if key in plan.columns:
                pairs[key] = df.groupby([age_col, plan.columns[key]], sort=False).size()
    notes = list(plan.notes)
    if duplicates:
        notes.append(duplicate_ids_note(duplicates, plan.id_column))
    return ValueCounts(
        source=source, shape="records", rows=len(df), columns=dict(plan.columns),
        values=values, pairs=pairs, age_hint=plan.age_hint, notes=notes,
        duplicates=duplicates, service=service, period=period,
    )


def check_duplicate_ids(
    df: pd.DataFrame, id_column: str | None, source: str, allow: bool
) -> int:
    """Count rows whose person ID was already seen; an error unless allowed."""
    if id_column is None:
        return 0
    ids = df[id_column].astype(str).str.strip()
    present = ids != ""
    dup = ids[present].duplicated(keep="first")
    n = int(dup.sum())
    if n and not allow:
        rows = [int(i) + 2 for i in dup[dup].index[:5]]  # +2: header row, 1-based
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


def aggregated_value_counts(
    table: Table, split: bool = True
) -> dict[tuple[str | None, str | None], ValueCounts]:
    df = table.data
    cols = {normalise(c): c for c in df.columns}
    ccol, kcol, ncol = cols["characteristic"], cols["category"], cols["count"]
    scol = cols.get("service") if split else None
    pcol = cols.get("period") if split else None
    names = _characteristic_names()

    counts = pd.to_numeric(df[ncol].str.replace(",", "").str.strip(), errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts != counts.round())
    if bad.any():
        i = int(bad[bad].index[0])
        raise InputError(
            "A count must be a whole number, 0 or more",
            code="bad-count",
            file=table.name,
            row=i + 2,
            column=ncol,
            value=df.at[i, ncol],
            details=[f"{int(bad.sum())} row(s) have a count that is not a whole number "
                     "0 or more"] if bad.sum() > 1 else [],
            hint="Fix the count (blank counts should be 0), then run again.",
        )
    keys = df[ccol].map(lambda v: names.get(normalise(v)))
    if keys.isna().any():
        i = int(keys[keys.isna()].index[0])
        raise InputError(
            "The characteristic is not one eqia knows",
            code="unknown-characteristic",
            file=table.name,
            row=i + 2,
            column=ccol,
            value=df.at[i, ccol],
            hint="Use one of: " + ", ".join(chars.keys()) + ".",
        )
    frame = pd.DataFrame({
        "key": keys, "category": df[kcol], "count": counts.astype("int64"),
        "service": df[scol].astype(str) if scol else None,
        "period": df[pcol].astype(str) if pcol else None,
    })
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
            service=service, period=period,
        )
    return out

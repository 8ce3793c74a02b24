"""Record-level extracts (one row per person) -> ValueCounts, and the duplicate-ID check."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from eqia.errors import InputError
from eqia.read.columns import ColumnPlan
from eqia.read.counts import ValueCounts
from eqia.read.files import Table
from eqia.settings import characteristics as chars

#: Characteristics counted by age too: those the census crosses with age, so that
#: expected counts can be age-standardised (``age_crossings``; detailed ethnic groups are
#: counted with the ethnicity column).
AGE_CROSSED = chars.age_crossed()


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

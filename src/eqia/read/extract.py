"""Extract file -> ValueCounts: the one place that decides how a file is read.

A large record-level CSV or Parquet file is counted in one pass without loading it
(``streaming``); anything else is read into memory (``files.read_table``) and counted
as records (``records``) or, when it holds counts already, as aggregated counts
(``aggregated``). Every caller (profile, compare, screen, audit, report, progress bars)
asks here, so they cannot choose differently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from eqia.read import streaming as st
from eqia.read.aggregated import aggregated_value_counts, wide_counts_error
from eqia.read.columns import is_aggregated, known_columns, plan_columns
from eqia.read.counts import Parts
from eqia.read.files import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    Table,
    no_characteristics_error,
    read_table,
)
from eqia.read.mapping import MappingFile
from eqia.read.records import AGE_CROSSED, record_value_counts

#: Files at least this big are streamed when ``streaming=None`` (auto).
STREAM_THRESHOLD = 50 * 2**20


def streams(path: object, streaming: bool | None = None, sheet: str | None = None) -> bool:
    """Whether this file is counted in one pass without loading it: a CSV or Parquet
    file (not a sheet of a workbook), asked for (``True``) or large (``None``). An
    aggregated file is still read in memory (``value_counts`` finds out from its header)."""
    if not isinstance(path, str | Path) or sheet is not None or streaming is False:
        return False
    p = Path(path)
    if p.suffix.lower() not in CSV_SUFFIXES | PARQUET_SUFFIXES or not p.is_file():
        return False
    return streaming is True or p.stat().st_size >= STREAM_THRESHOLD


def value_counts(
    path: str | Path,
    mapping: MappingFile,
    sheet: str | None = None,
    allow_duplicates: bool = False,
    split: bool = True,
    streaming: bool | None = None,
    progress: Callable[[float], None] | None = None,
    crossed: tuple[str, ...] = AGE_CROSSED,
    as_of: dt.date | None = None,
) -> Parts:
    """The file's ValueCounts per (service, period), read the way ``streams`` chooses.

    ``progress`` is called with the fraction read (streamed files only). A table in a
    database (``engines.DatabaseSource``) is counted in its engine, ages as of ``as_of``."""
    if not isinstance(path, str | Path):
        from eqia.read import engines  # sqlglot and the drivers only when a database is used

        return engines.source_value_counts(path, mapping, as_of, allow_duplicates, split,
                                           crossed)
    if streams(path, streaming, sheet):
        parts = st.stream_value_counts(path, mapping, allow_duplicates, split,
                                       progress=progress, crossed=crossed)
        if parts is not None:  # None: aggregated, or unreadable (read_table says why)
            return parts
    table = read_table(path, sheet=sheet, mapping=mapping)
    return table_value_counts(table, mapping, allow_duplicates, split, crossed)


def table_value_counts(
    table: Table,
    mapping: MappingFile,
    allow_duplicates: bool = False,
    split: bool = True,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> Parts:
    """A table read in memory -> ValueCounts: aggregated counts, or one row per person."""
    columns = list(table.data.columns)
    if is_aggregated(columns):
        return aggregated_value_counts(table, split=split, user_values=mapping.values)
    plan = plan_columns(columns, mapping, table.name)
    if not plan.columns:
        raise no_characteristics_error(table.name, columns, table.layout.header_row,
                                       table.data, known_columns())
    wide = wide_counts_error(table, plan)
    if wide is not None:
        raise wide
    return record_value_counts(table, plan, allow_duplicates, split=split, crossed=crossed)

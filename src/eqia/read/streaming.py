"""Large extracts -> ``ValueCounts`` in one pass and bounded memory, without loading them.

DuckDB scans a record-level CSV or Parquet file once: a single query gives, per
characteristic column, every distinct raw value and its count, the (age value, sex value)
pairs and the rows per service and period (columns with few values are counted together
and their counts summed apart afterwards), while a 64-bit hash of each person ID is
collected on the way (``IdHashes``) to find repeated IDs. Only those distinct values and
hashes reach Python; the rows never do. The result is exactly what
``records.record_value_counts`` makes from the same file read in memory (the tests hold
the two paths to the last count), so ``build_profile`` cannot tell them apart.

Text is made as ``ingest`` makes it: blank cells are ``""``, spaces inside cells are kept,
Windows-1252 files are read by DuckDB as Latin-1 and each distinct value re-decoded, and
files DuckDB cannot decode are counted by pandas in chunks instead (``scan_pandas``, also
bounded memory).
Nothing here prints: progress goes to the ``progress`` callback (a fraction, 0 to 1).

The same query also counts what is not a person (blank and total rows, as ``ingest``
sets them aside) and rows of the wrong length, and its rows are reconciled with the
file's own count of them (its lines, counted from the bytes in a thread during the scan);
when they differ, the file is read again row by row (``csvcheck``), which names the
malformed row, so that a stray quote or a ragged row stops this path exactly as it stops
the in-memory one.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from eqia.read.aggregated import wide_counts_error
from eqia.read.columns import ColumnPlan, is_aggregated, plan_columns
from eqia.read.counts import Parts
from eqia.read.csvcheck import count_lines
from eqia.read.files import Table, _after_lines, decode, no_characteristics_error
from eqia.read.mapping import MappingFile
from eqia.read.records import AGE_CROSSED
from eqia.read.scan import (
    MEMORY_LIMIT,
    SAMPLE_BYTES,
    SAMPLE_ROWS,
    THREADS,
    Job,
    Progress,
    Source,
    inspect,
)
from eqia.read.scan_duckdb import InBackground, duckdb_counts
from eqia.read.scan_pandas import pandas_counts


def _refuse_wide_counts(src: Source, plan: ColumnPlan) -> None:
    """``aggregated.wide_counts_error`` on the first rows (a table of counts is small)."""
    with open(src.path, "rb") as f:
        text = decode(f.read(SAMPLE_BYTES), src.encoding or "utf-8", errors="ignore")
    try:
        rows = pd.read_csv(io.StringIO(_after_lines(text, src.skip)), dtype=str,
                           keep_default_na=False, sep=src.delimiter, nrows=SAMPLE_ROWS,
                           index_col=False, usecols=range(len(src.columns)))
    except (pd.errors.ParserError, ValueError):
        return  # not a table of counts: the counting query says what is wrong, if anything
    rows.columns = src.columns
    error = wide_counts_error(Table(str(src.path), rows), plan)
    if error is not None:
        raise error


def stream_value_counts(
    path: str | Path,
    mapping: MappingFile,
    allow_duplicates: bool = False,
    split: bool = True,
    progress: Progress | None = None,
    memory_limit: str = MEMORY_LIMIT,
    threads: int = THREADS,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> Parts | None:
    """What ``profile.record_value_counts`` gives for this file, counted in one pass.

    Returns ``None`` for files this path does not count (aggregated counts, or a file
    that is not a readable table): read those with ``ingest.read_table``. Raises the same
    InputErrors as the in-memory path (no characteristics, duplicate IDs, bad rows).
    """
    src = inspect(path, mapping)
    if src is None or is_aggregated(src.columns):
        return None
    plan = plan_columns(src.columns, mapping, src.name)
    if not plan.columns:
        raise no_characteristics_error(src.name, src.columns, src.skip + 1)
    if plan.id_column is None and src.kind == "csv":
        _refuse_wide_counts(src, plan)
    job = Job(src, plan, split, crossed, mapping)
    parts: Parts | None = None
    if src.kind == "parquet" or src.encoding in ("utf-8", "utf-8-sig", "cp1252"):
        # The file's own count of lines, worked out while DuckDB starts and scans.
        lines = InBackground(count_lines, src.path) if src.kind == "csv" else None
        parts = duckdb_counts(job, allow_duplicates, progress, memory_limit, threads, lines)
    if parts is None:  # an encoding DuckDB cannot read (or a file it misreads): pandas
        parts = job.assemble(*pandas_counts(job, allow_duplicates, progress))
    if progress is not None:
        progress(1.0)
    return parts


# ---------------------------------------------------------------------------
# What to count: the grouping sets, shared by both readers


# ---------------------------------------------------------------------------
# DuckDB: one query, one pass


# ---------------------------------------------------------------------------
# pandas, chunk by chunk: for encodings DuckDB cannot read









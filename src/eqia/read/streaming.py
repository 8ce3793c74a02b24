"""Large extracts -> ``ValueCounts`` in one pass and bounded memory, without loading them.

DuckDB scans a record-level CSV or Parquet file once: a single query gives, per
characteristic column, every distinct raw value and its count, the (age value, sex value)
pairs and the rows per service and period (columns with few values are counted together
and their counts summed apart afterwards), while a 64-bit hash of each person ID is
collected on the way (``_IdHashes``) to find repeated IDs. Only those distinct values and
hashes reach Python; the rows never do. The result is exactly what
``profile.record_value_counts`` makes from the same file read in memory (the tests hold
the two paths to the last count), so ``build_profile`` cannot tell them apart.

Text is made as ``ingest`` makes it: blank cells are ``""``, spaces inside cells are kept,
Windows-1252 files are read by DuckDB as Latin-1 and each distinct value re-decoded, and
files DuckDB cannot decode are counted by pandas in chunks instead (also bounded memory).
Nothing here prints: progress goes to the ``progress`` callback (a fraction, 0 to 1).

The same query also counts what is not a person (blank and total rows, as ``ingest``
sets them aside) and rows of the wrong length, and its rows are reconciled with the
file's own count of them (its lines, counted from the bytes in a thread during the scan);
when they differ, the file is read again row by row (``csvcheck``), which names the
malformed row, so that a stray quote or a ragged row stops this path exactly as it stops
the in-memory one.
"""

from __future__ import annotations

import codecs
import io
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eqia.errors import InputError
from eqia.read.counts import ValueCounts
from eqia.read.csvcheck import Records, check_file, count_lines
from eqia.read.extract import (
    AGE_CROSSED,
    duplicate_ids_error,
    duplicate_ids_note,
    wide_counts_error,
)
from eqia.read.files import (
    BLANK_PATTERN,
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    SUPPORTED,
    TOTAL_PATTERN,
    ColumnPlan,
    CsvHeader,
    Layout,
    Table,
    _after_lines,
    decode,
    detect_encoding,
    encoding_note,
    is_aggregated,
    known_columns,
    no_characteristics_error,
    plan_columns,
    read_header,
    read_table,
    reading_mismatch,
    rows_set_aside,
)
from eqia.read.mapping import MappingFile

#: Files at least this big are streamed when ``streaming=None`` (auto).
STREAM_THRESHOLD = 50 * 2**20
#: DuckDB's memory budget; beyond it, its aggregation spills to a temporary folder.
MEMORY_LIMIT = "1GB"
THREADS = 2
SAMPLE_BYTES = 1 << 20
#: Rows of the first MiB whose distinct values are counted, to size the grouping sets.
SAMPLE_ROWS = 2000
#: Columns with few distinct values are counted together, in one aggregate (DuckDB then
#: fills fewer hash tables per row: about 0.1 s less at 10 million rows), while the
#: product of their sampled distinct counts (each + 1, for values not in the sample)
#: stays under this. A sample that misleads costs time, never a count.
COMBINE_LIMIT = 1024
CHUNK_ROWS = 200_000
#: What Python's ``str.strip()`` removes (person IDs are compared stripped, as in memory).
WHITESPACE = (
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

Parts = dict[tuple[str | None, str | None], ValueCounts]
Progress = Callable[[float], None]


def wanted(path: str | Path, streaming: bool | None = None) -> bool:
    """Whether to stream this file: a CSV or Parquet file, and large when ``None``."""
    p = Path(path)
    if streaming is False or p.suffix.lower() not in CSV_SUFFIXES | PARQUET_SUFFIXES:
        return False
    if not p.is_file():
        return False
    return streaming is True or p.stat().st_size >= STREAM_THRESHOLD


@dataclass
class Source:
    """A file's header, read cheaply: what DuckDB needs to scan the rest."""

    path: Path
    kind: str  # "csv" or "parquet"
    columns: list[str]  # as ingest names them (pandas' names, stripped)
    raw_columns: list[str] = field(default_factory=list)  # parquet: names in the file
    encoding: str | None = None
    delimiter: str = ","
    distinct: dict[str, int] = field(default_factory=dict)  # in the first rows; CSV only
    skip: int = 0  # CSV: lines above the header (a title)
    header_lines: int = 1  # CSV: lines the header takes

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def header(self) -> CsvHeader:
        return CsvHeader(self.delimiter, self.skip, self.columns, self.header_lines)


def inspect(path: str | Path, mapping: MappingFile | None = None) -> Source | None:
    """Read the header and sniff encoding and delimiter from the first MiB; a title
    above the header is found as in memory (``ingest.read_header``).

    ``None`` when the file is anything but a readable header (empty, binary, damaged):
    the in-memory reader then says what is wrong in its own words.
    """
    p = Path(path)
    if p.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(p)
        except Exception:  # noqa: BLE001 - read_table reports it properly
            return None
        index = {c for c in (schema.pandas_metadata or {}).get("index_columns", [])
                 if isinstance(c, str)}
        raw = [n for n in schema.names if n not in index]
        return Source(p, "parquet", [str(c).strip() for c in raw], raw_columns=raw)
    with open(p, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    if not sample.strip():
        return None
    encoding = detect_encoding(sample)
    text = decode(sample, encoding, errors="ignore")
    if "\x00" in text[:4096]:
        return None
    head = text[: text.rfind("\n") + 1] if len(sample) == SAMPLE_BYTES else text
    try:
        header = read_header(head or text, p.name, mapping.header_row if mapping else None,
                             known_columns(mapping))
    except InputError as exc:
        if exc.code == "empty-file":
            return None
        raise
    rest = _after_lines(head or text, header.skip)
    return Source(p, "csv", header.columns, encoding=encoding, delimiter=header.delimiter,
                  distinct=_sample_distinct(rest, header.delimiter, header.columns),
                  skip=header.skip, header_lines=header.lines)


def _refuse_wide_counts(src: Source, plan: ColumnPlan) -> None:
    """``profile.wide_counts_error`` on the first rows (a table of counts is small)."""
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


def _sample_distinct(text: str, delimiter: str, columns: list[str]) -> dict[str, int]:
    """Distinct values per column in the first ``SAMPLE_ROWS`` rows: an estimate."""
    import csv

    seen: list[set[str]] = [set() for _ in columns]
    try:
        rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        next(rows, None)  # the header
        for _, row in zip(range(SAMPLE_ROWS), rows, strict=False):
            for values, value in zip(seen, row, strict=False):
                values.add(value)
    except csv.Error:
        return {}
    return {c: len(v) for c, v in zip(columns, seen, strict=True)}


def _combined(columns: list[str], distinct: dict[str, int]) -> list[tuple[str, ...]]:
    """The columns in groups to count together (see ``COMBINE_LIMIT``)."""
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 1
    for column in columns:
        values = distinct.get(column, COMBINE_LIMIT) + 1
        if values > COMBINE_LIMIT // 4:  # many values, or not known: counted alone
            groups.append((column,))
            continue
        if current and size * values > COMBINE_LIMIT:
            groups.append(tuple(current))
            current, size = [], 1
        current.append(column)
        size *= values
    return groups + ([tuple(current)] if current else [])


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
    job = _Job(src, plan, split, crossed, mapping)
    parts: Parts | None = None
    if src.kind == "parquet" or src.encoding in ("utf-8", "utf-8-sig", "cp1252"):
        # The file's own count of lines, worked out while DuckDB starts and scans.
        lines = _InBackground(count_lines, src.path) if src.kind == "csv" else None
        parts = _duckdb_counts(job, allow_duplicates, progress, memory_limit, threads, lines)
    if parts is None:  # an encoding DuckDB cannot read (or a file it misreads): pandas
        parts = job.assemble(*_pandas_counts(job, allow_duplicates, progress))
    if progress is not None:
        progress(1.0)
    return parts


# ---------------------------------------------------------------------------
# What to count: the grouping sets, shared by both readers


@dataclass
class _Grouped:
    """Counts per grouping set: set -> frame of its columns' text values and ``n``.

    ``duplicates`` may still be being worked out (the ID hashes sorted in a thread while
    the counts are assembled): ``count_duplicates`` waits for it, and raises the
    duplicate-ID error when repeats are not allowed.
    """

    sets: dict[tuple[str, ...], pd.DataFrame]
    duplicates: int | Callable[[], int]
    #: Rows in the whole file: ``people``, rows that are not (``blank``, ``total``: see
    #: ``_Reader.kind``) and rows of the wrong length (``short``, ``extra``: padded CSV).
    tally: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Every row the reader gave: people, blank rows and total rows."""
        return sum(self.tally.get(k, 0) for k in ("people", "blank", "total"))

    def count_duplicates(self) -> int:
        if callable(self.duplicates):
            self.duplicates = self.duplicates()
        return self.duplicates


class _Job:
    """The columns to read and the sets to count them in, for one file and plan."""

    def __init__(self, src: Source, plan: ColumnPlan, split: bool,
                 crossed: tuple[str, ...] = AGE_CROSSED,
                 mapping: MappingFile | None = None) -> None:
        self.src, self.plan, self.mapping = src, plan, mapping
        keys = [plan.service_column, plan.period_column] if split else []
        self.keys = tuple(c for c in keys if c)
        age = plan.columns.get("age")
        self.pairs = {k: (age, plan.columns[k]) for k in crossed
                      if age is not None and k in plan.columns}
        covered = {c for pair in self.pairs.values() for c in pair}
        singles = [c for c in dict.fromkeys(plan.columns.values()) if c not in covered]
        self.sets: list[tuple[str, ...]] = [self.keys]  # rows per part (or in all)
        self.sets += [self.keys + pair for pair in dict.fromkeys(self.pairs.values())]
        others = [c for c in singles if c not in self.keys]
        self.sets += [self.keys + group for group in _combined(others, src.distinct)]
        self.sets += [self.keys + (c,) for c in singles if c in self.keys]
        self.counted = list(dict.fromkeys(c for s in self.sets for c in s))
        if len(self.sets) != len(set(self.sets)):  # a column that is also a split key
            self.sets = list(dict.fromkeys(self.sets))

    def position(self, column: str) -> int:
        return self.src.columns.index(column)

    def assemble(self, grouped: _Grouped, layout: Layout) -> Parts:
        """The ValueCounts per (service, period), as ``record_value_counts`` makes them."""
        plan, nkeys = self.plan, len(self.keys)
        reading = layout.notes()
        out: dict[tuple[str, ...], dict[str, Any]] = {}
        for s in self.sets:
            frame = grouped.sets[s]
            if nkeys:
                parts: Iterator[tuple[Any, pd.DataFrame]] = iter(
                    frame.groupby(list(self.keys), sort=False))
            else:
                parts = iter([((), frame)])
            for key, part in parts:
                key = key if isinstance(key, tuple) else (key,)
                got = out.setdefault(key, {"marginals": {}, "pairs": {}, "rows": 0})
                if s == self.keys:
                    got["rows"] = int(part["n"].sum())
                    continue
                for col in s[nkeys:]:
                    got["marginals"][col] = _series(part, [col])
                if s[nkeys:] in self.pairs.values():
                    got["pairs"][s[nkeys:]] = _series(part, list(s[nkeys:]))
        result: Parts = {}
        all_duplicates = grouped.count_duplicates()
        for key in sorted(out):
            got = out[key]
            values = {k: got["marginals"][c].rename_axis(c) for k, c in plan.columns.items()}
            pairs = {k: got["pairs"][pair] for k, pair in self.pairs.items()}
            split = bool(nkeys)
            service = str(key[0]) if split and plan.service_column in self.keys else None
            period = str(key[-1]) if split and plan.period_column in self.keys else None
            duplicates = 0 if split else all_duplicates
            notes = [*reading, *plan.notes]
            if duplicates:
                notes.append(duplicate_ids_note(duplicates, plan.id_column))
            result[(service, period)] = ValueCounts(
                source=self.src.name, shape="records", rows=got["rows"],
                columns=dict(plan.columns), values=values, pairs=pairs,
                age_hint=plan.age_hint, notes=notes, duplicates=duplicates,
                service=service, period=period,
                set_aside={} if split else layout.set_aside(),
            )
        if not result or sum(vc.rows for vc in result.values()) == 0:
            read_table(self.src.path, mapping=self.mapping)  # no rows: the in-memory error
        return result


def _series(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Counts summed by these columns' text (NULL and "" were one value all along)."""
    s = frame.groupby(columns, sort=True)["n"].sum().astype("int64")
    if isinstance(s.index, pd.MultiIndex):
        s.index = s.index.set_levels([lv.astype(object) for lv in s.index.levels])
    else:
        s.index = s.index.astype(object)
    return s.rename("count")


# ---------------------------------------------------------------------------
# DuckDB: one query, one pass


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: What DuckDB reads as NULL: a text no extract holds, so that only the padding of a
#: short row is NULL (an empty value is ''), and short rows can be told apart.
NULL_TEXT = "\x01eqia:padding\x02"


class _Reader:
    """The DuckDB source expression and how each column becomes ingest's text.

    ``padded`` (CSV): one column more than the header, and short rows padded with NULL,
    so that the counting query also counts rows with too few values (a NULL in the last
    column) or too many (a value in the extra column), which DuckDB would otherwise refuse
    without saying which, or (a separator at the end of a row) silently drop. DuckDB
    cannot pad rows in parallel where a quoted value holds a line break: then the file,
    checked row by row first, is read unpadded.
    """

    def __init__(self, job: _Job, duck_encoding: str | None, padded: bool = True) -> None:
        src = job.src
        self.src = src
        self.padded = padded and src.kind == "csv"
        width = len(src.columns)
        if src.kind == "parquet":
            self.relation = f"read_parquet({_sql_text(str(src.path))})"
            self.expr = {c: _ident(src.raw_columns[job.position(c)]) for c in src.columns}
        else:
            spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width + self.padded))
            padding = (f"null_padding=true, parallel=true, nullstr={_sql_text(NULL_TEXT)}, "
                       if self.padded else "")
            self.relation = (
                f"read_csv({_sql_text(str(src.path))}, header=true, skip={src.skip}, "
                f"auto_detect=false, delim={_sql_text(src.delimiter)}, quote='\"', "
                f"escape='\"', {padding}encoding={_sql_text(duck_encoding or 'utf-8')}, "
                f"columns={{{spec}}})"
            )
            self.expr = {c: f"c{i}" for i, c in enumerate(src.columns)}
        self.short = f"c{width - 1} IS NULL" if self.padded else "false"
        self.extra = f"c{width} IS NOT NULL" if self.padded else "false"
        self.redecode = duck_encoding == "latin-1" and src.encoding == "cp1252"

    @staticmethod
    def _blank(text: str) -> str:
        return (f"({text} IS NULL OR {text} = '' OR ((ord({text}) <= 32 OR ord({text}) >= 127)"
                f" AND regexp_full_match({text}, {_sql_text(BLANK_PATTERN)})))")

    @staticmethod
    def _if_first(first: str, then: str, otherwise: str) -> str:
        """``then`` for rows whose first cell is blank or starts with a space, a letter
        that is not ASCII, or one a total's label starts with (G, O, S, T), else
        ``otherwise``: people's rows are passed by their first letter alone (DuckDB works
        out a CASE's branch only for the rows that take it)."""
        return (f"CASE WHEN {first} IS NULL OR ord({first}) <= 32 OR ord({first}) >= 127 OR "
                f"ord({first}) IN (71, 79, 83, 84, 103, 111, 115, 116) THEN {then} "
                f"ELSE {otherwise} END")

    def kind(self) -> str:
        """0 for a person's row, 1 for a blank row, 2 for a total row (as
        ``ingest.rows_set_aside``: every cell blank; Total in the first cell)."""
        texts = [self.id_raw(c) for c in self.src.columns]
        blank = " AND ".join(map(self._blank, texts))
        total = f"regexp_full_match({texts[0]}, {_sql_text(TOTAL_PATTERN)})"
        return self._if_first(texts[0], f"(CASE WHEN {blank} THEN 1 WHEN {total} THEN 2 "
                                        "ELSE 0 END)", "0")

    def first_cell(self) -> str:
        """The first column's text, as ``f0``: what ``maybe_aside`` looks at first."""
        return f", {self.id_raw(self.src.columns[0])} AS f0"

    def maybe_aside(self, counted: dict[str, str]) -> str:
        """Whether a row could be blank or a total row (``kind`` > 0): its first cell
        (``f0``) says Total, or it and the counted columns (``counted``: column -> its
        name in the query) are blank. Rows it takes that are people after all (a blank ID
        and blank characteristics, but other columns filled) cost a second, exact query,
        never a wrong count."""
        texts = ["f0", *map(self.as_text, counted.values())]
        exact = (f"(regexp_full_match(f0, {_sql_text(TOTAL_PATTERN)}) OR "
                 f"({' AND '.join(map(self._blank, texts))}))")
        return self._if_first("f0", exact, "false")

    def id_raw(self, column: str) -> str:
        """A column's text as it is in the file (unstripped); the person ID's, say."""
        return self.as_text(self.expr[column])

    def as_text(self, expression: str) -> str:
        """A column (or its name in a query) as text: Parquet columns may be numbers."""
        return f"CAST({expression} AS VARCHAR)" if self.src.kind == "parquet" else expression

    def person_id(self, column: str) -> str:
        """The person ID stripped as Python strips it; NULL when blank, and on a row that
        is not a person's (a blank or total row)."""
        text = f"nullif(trim({self.id_raw(column)}, {_sql_text(WHITESPACE)}), '')"
        return f"CASE WHEN {self.kind()} = 0 THEN {text} END"

    @staticmethod
    def hash_of(raw: str) -> str:
        """A 64-bit hash of the text ``raw`` stripped as Python strips it (NULL when
        blank), cheap for the usual ID.

        Trimming with Python's whole whitespace set is slow, so it is skipped when the
        first and last characters are printable ASCII, as they are in nearly every ID.
        """
        stripped = f"trim({raw}, {_sql_text(WHITESPACE)})"
        return (
            f"CASE WHEN ord({raw}) BETWEEN 33 AND 126 AND ord(reverse({raw})) BETWEEN 33 AND 126 "
            f"THEN hash({raw}) WHEN {stripped} <> '' THEN hash({stripped}) END"
        )

    def texts(self, values: Any) -> Any:
        """ingest's text for distinct values (a pyarrow array) from this source.

        UTF-8 text stays in Arrow (a pandas Arrow-string array): turning ~100,000
        distinct (date of birth, sex) pairs into Python strings costs more than counting."""
        if self.src.kind == "parquet":
            return _parquet_texts(values)
        if not self.redecode:
            import pyarrow.compute as pc

            return pd.array(pc.fill_null(values, ""), dtype=pd.ArrowDtype(values.type))
        out = ["" if v is None else v for v in values.to_pylist()]
        return [v.encode("latin-1").decode("cp1252") for v in out]


def _parquet_texts(values: Any) -> list[str]:
    """As ``ingest.read_parquet`` turns a column into text: dates ISO, missing blank.

    Applied to the distinct values of a column (with a null among them exactly when the
    column has one), so pandas picks the same dtype as for the whole column.
    """
    import pyarrow as pa

    s = pa.table({"v": values}).to_pandas()["v"]
    if pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.strftime("%Y-%m-%d")
    return list(s.astype(object).where(s.notna(), "").astype(str))


_ENCODING_ERROR = re.compile(r"not (utf-8|latin-1) encoded|invalid unicode", re.I)


def _duckdb_counts(
    job: _Job, allow: bool, progress: Progress | None, memory_limit: str, threads: int,
    lines: Callable[[], tuple[int, int]] | None = None,
) -> Parts | None:
    """Count with DuckDB; ``None`` when it cannot decode the file, or its count of rows
    is not the file's own (then pandas reads it)."""
    import duckdb

    src = job.src
    encoding = "latin-1" if src.encoding == "cp1252" else "utf-8"
    tmp = tempfile.mkdtemp(prefix="eqia-duckdb-")
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 "temp_directory": tmp})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar_print = false")  # library code never prints
        con.execute(f"SET enable_progress_bar = {'true' if progress else 'false'}")
        ids = _IdHashes.register(con) if job.plan.id_column is not None else None
        read = _duckdb_read(con, job, encoding, allow, progress, ids, lines)
        # Assembled while the connection is open: a repeated ID hash is checked on the IDs.
        return None if read is None else job.assemble(*read)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _duckdb_read(
    con: Any, job: _Job, encoding: str, allow: bool, progress: Progress | None,
    ids: _IdHashes | None, lines: Callable[[], tuple[int, int]] | None = None,
) -> tuple[_Grouped, Layout] | None:
    """The counting query, and its rows reconciled with the file's own count of them.

    A CSV's lines are counted from its bytes (``csvcheck.count_lines``; ``lines`` waits for
    the count, begun in a thread before DuckDB): when every row is one line, as in nearly
    every extract, that is the
    file's count of rows. When it is not (a blank line, a value holding a line break,
    rows of the wrong length) or DuckDB refuses the file, the file is read again row by
    row (``csvcheck``), which names a malformed row, and DuckDB's count must equal that
    reading's. ``None`` when DuckDB cannot decode the file or misreads it: pandas then
    reads it instead.
    """
    import duckdb

    src = job.src
    if lines is None and src.kind == "csv":
        lines = _InBackground(count_lines, src.path)
    try:
        grouped = _duckdb_query(con, _Reader(job, encoding), job, allow, progress, ids)
    except duckdb.Error as exc:
        if _ENCODING_ERROR.search(str(exc)):
            return None
        if src.kind == "parquet" or "Out of Memory" in str(exc):
            raise _unreadable(src, str(exc)) from exc
        records = _check(src)  # names the malformed row, if there is one
        try:  # well formed: values with line breaks, say, which DuckDB reads unpadded
            grouped = _duckdb_query(con, _Reader(job, encoding, padded=False), job, allow,
                                    None, ids)
        except duckdb.Error:
            return None
        return _reconciled(src, grouped, records)
    tally = grouped.tally
    if src.kind == "parquet":
        import pyarrow.parquet as pq

        expected = pq.ParquetFile(src.path).metadata.num_rows
        if grouped.rows != expected:
            raise reading_mismatch(src.name, grouped.rows, expected)
        return grouped, Layout(blank=tally["blank"], total=tally["total"])
    if not (tally["short"] or tally["extra"]):
        total, empty_at_end = lines()
        if total == src.skip + src.header_lines + grouped.rows + empty_at_end:
            return grouped, _layout(src, tally, empty_at_end)
    return _reconciled(src, grouped, _check(src))


def _layout(src: Source, tally: dict[str, int], empty: int, trailing: bool = False) -> Layout:
    return Layout(header_row=src.skip + 1, blank=tally["blank"] + empty, total=tally["total"],
                  trailing=src.delimiter if trailing else None,
                  encoding_note=encoding_note(src.encoding))


def _check(src: Source) -> Records:
    """The file read row by row (``csvcheck``): raises for a malformed row. Undecodable
    bytes do not matter here (separators, quotes and line breaks are ASCII)."""
    with open(src.path, encoding=src.encoding, errors="replace", newline="") as f:
        return check_file(f, src.header, src.name)


def _reconciled(src: Source, grouped: _Grouped, records: Records) -> tuple[_Grouped, Layout] | None:
    """DuckDB's rows against the row-by-row reading's (DuckDB skips empty lines)."""
    if grouped.rows != records.count - records.empty:
        return None
    return grouped, _layout(src, grouped.tally, records.empty, records.trailing)


class _IdHashes:
    """Collects the 64-bit hash of every person ID as DuckDB's scan goes by.

    A Python function registered in DuckDB (``eqia_person_id``) is applied to the hashed
    ID of each row inside the counting query: it copies each batch of hashes (8 bytes a
    row) into room set aside before the scan and hands the batch back unchanged. After the
    query the hashes are sorted
    (numpy) and neighbours compared. This costs far less than the 10-million-group hash
    aggregate DuckDB would otherwise build in the same pass (measured: about 0.9 against
    1.8 CPU-seconds at 10 million rows). Repeated hashes are then confirmed on the IDs
    themselves, so the count stays exact.
    """

    NAME = "eqia_person_id"

    def __init__(self) -> None:
        self.batches: list[Any] = []
        self.buffer: np.ndarray | None = None
        self.filled = 0
        self._lock = threading.Lock()

    def reserve(self, rows: int) -> None:
        """Room for about ``rows`` hashes, set aside before the scan (not yet touched).

        Filled as DuckDB goes by, this costs far less than one fresh 80 MB array after the
        query, when the kernel must first find memory that DuckDB has just let go of.
        """
        self.batches, self.filled = [], 0
        # Capped (256 MiB of address space): past it, batches are kept as they come.
        self.buffer = np.empty(min(max(rows, 0), 1 << 25), dtype=np.uint64)

    @classmethod
    def register(cls, con: Any) -> _IdHashes | None:
        """The collector, registered on ``con``; ``None`` where DuckDB cannot do that."""
        import duckdb

        ids = cls()
        try:
            maker = getattr(duckdb, "sqltype", None) or duckdb.type  # DuckDB 2 / 1
            ubigint = maker("UBIGINT")
            con.create_function(cls.NAME, ids._keep, [ubigint], ubigint, type="arrow",
                                side_effects=True, null_handling="special")
        except Exception:  # noqa: BLE001 - an older DuckDB: count IDs in a second query
            return None
        return ids

    def _keep(self, hashes: Any) -> Any:
        for chunk in getattr(hashes, "chunks", [hashes]):
            values = (chunk.drop_null() if chunk.null_count else chunk).to_numpy()
            with self._lock:  # DuckDB calls this from each of its threads
                start = self.filled
                if self.buffer is not None and start + len(values) <= len(self.buffer):
                    self.buffer[start:start + len(values)] = values
                    self.filled = start + len(values)
                else:
                    self.batches.append(values)
        return hashes

    def repeats(self, expected: int) -> int | None:
        """Rows whose hash was seen before; ``None`` if not every row's hash came by."""
        batches, self.batches = self.batches, []
        kept = self.buffer[:self.filled] if self.buffer is not None else np.empty(0, np.uint64)
        self.buffer, self.filled = None, 0
        if len(kept) + sum(len(b) for b in batches) != expected:
            return None
        if expected < 2:
            return 0
        hashes = np.concatenate([kept, *batches]) if batches else kept  # writable
        hashes.sort()
        return int(np.count_nonzero(hashes[1:] == hashes[:-1]))


def _duckdb_query(
    con: Any, reader: _Reader, job: _Job, allow: bool, progress: Progress | None,
    ids: _IdHashes | None,
) -> _Grouped:
    import pyarrow as pa

    src = job.src
    cols = job.counted
    alias = {c: f"k{i}" for i, c in enumerate(cols)}
    select = [f"{reader.expr[c]} AS {alias[c]}" for c in cols]
    id_col = job.plan.id_column
    sets = [tuple(alias[c] for c in s) for s in job.sets]
    names = [alias[c] for c in cols]
    id_raw = reader.id_raw(id_col) if id_col is not None and ids is not None else None
    for aside in (False, True):
        if ids is not None and id_raw is not None:
            ids.reserve(_most_rows(src, len(reader.expr)))
        sql, gid = _counting_sql(select, reader, names, sets, id_raw, aside, alias)
        table = _run(con, sql, progress if not aside else None, src.path.stat().st_size)
        g = table.column("g").to_numpy()
        n = table.column("n").to_numpy()
        first = g == gid[sets[0]]
        tally = {"people": int(n[first].sum())}
        for k in ("blank", "total", "short", "extra"):
            tally[k] = int(table.column(k).filter(pa.array(first)).to_numpy().sum())
        if aside or not tally["blank"]:  # unfiltered, "blank" counts rows to set aside
            break
    repeats: Callable[[], int | None] = lambda: None  # noqa: E731
    if id_col is not None and ids is not None:
        rows_with_id = int(table.column("ids").filter(pa.array(first)).to_numpy().sum())
        repeats = _InBackground(ids.repeats, rows_with_id)  # numpy sorts without the GIL

    def duplicates() -> int:
        if id_col is None:
            return 0
        count = repeats()
        if count is None or count:  # hashes can collide: count again on the IDs
            count = _exact_duplicates(con, reader, id_col)
        if count and not allow:
            rows = _first_repeats_duckdb(con, reader, id_col)
            raise duplicate_ids_error(count, rows, src.name, id_col)
        return count

    grouped: dict[tuple[str, ...], pd.DataFrame] = {}
    for s, s_alias in zip(job.sets, sets, strict=False):
        mask = (g == gid[s_alias]) & (n > 0)  # n = 0: values of blank and total rows only
        keep = pa.array(mask)
        frame = {c: reader.texts(table.column(alias[c]).filter(keep)) for c in s}
        grouped[s] = pd.DataFrame({**frame, "n": n[mask]}, columns=[*s, "n"])
    return _Grouped(grouped, duplicates, tally)


class _InBackground:
    """``func(*args)`` running in a thread; calling this waits for its result (or raises
    its error in the caller's thread)."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self._box: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._work, args=(func, *args),
                                       name="eqia-worker", daemon=True)
        self.thread.start()

    def _work(self, func: Callable[..., Any], *args: Any) -> None:
        try:
            self._box["value"] = func(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the waiter
            self._box["error"] = exc

    def __call__(self) -> Any:
        self.thread.join()
        if "error" in self._box:
            raise self._box["error"]
        return self._box["value"]


def _most_rows(src: Any, columns: int) -> int:
    """The most rows the file can hold: Parquet says; a CSV row has at least a separator
    per column and a character of ID."""
    if src.kind == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(src.path).metadata.num_rows
    return src.path.stat().st_size // (columns + 1)


def _counting_sql(
    select: list[str], reader: _Reader, names: list[str], sets: list[tuple[str, ...]],
    id_raw: str | None, aside: bool = False, counted: dict[str, str] | None = None,
) -> tuple[str, dict[tuple[str, ...], int]]:
    """The one counting query, and the ``g`` that marks each set's rows in its result.

    Each set's rows carry its columns' values (the others NULL) and ``n``. The first set
    (the rows per part) also carries, for the whole file, the rows with too few or too
    many values (``short``, ``extra``) and, unless ``aside``, how many rows could be
    blank or total rows (``blank``: ``_Reader.maybe_aside`` over ``counted``, column ->
    alias). Such rows are rare in a large extract; where there are any, the query runs
    again with ``aside``: then ``n`` counts people only, and the first set carries
    ``blank`` and ``total`` rows apart (``_Reader.kind``).

    With ``id_raw`` (the person ID's text), every person's hashed ID goes through
    ``_IdHashes``, and the first set carries ``ids``, how many people have an ID. DuckDB 2
    streams one scan into every branch of a UNION ALL over a common table expression, so
    each set gets only its own aggregates and the hashing runs in the first branch alone;
    older versions would scan or store the file once per branch, so they get the same
    counts from GROUPING SETS.
    """
    import duckdb

    if aside:
        kind, people, pid = f", {reader.kind()} AS x", "count(*) FILTER (WHERE x = 0) AS n", (
            "CASE WHEN x = 0 THEN raw_id END")
        tallies = ("count(*) FILTER (WHERE x = 1) AS blank, "
                   "count(*) FILTER (WHERE x = 2) AS total, ")
    else:
        kind, people, pid = "", "count(*) AS n", "raw_id"
        tallies = (f"count(*) FILTER (WHERE {reader.maybe_aside(counted or {})}) AS blank, "
                   "0 AS total, ")
    tallies += "count(*) FILTER (WHERE s) AS short, count(*) FILTER (WHERE e) AS extra"
    rows = (f"SELECT {', '.join(select)}{kind}, {reader.short} AS s, {reader.extra} AS e"
            f"{f', {id_raw} AS raw_id' if id_raw else ''}{reader.first_cell()} "
            f"FROM {reader.relation}")
    if int(duckdb.__version__.split(".")[0]) >= 2:
        ids = f"count({_IdHashes.NAME}({_Reader.hash_of(pid)}))" if id_raw else "NULL"
        nulls = "NULL AS blank, NULL AS total, NULL AS short, NULL AS extra"
        branches = []
        for i, s in enumerate(sets):
            values = "".join(f"{n if n in s else 'NULL'} AS {n}, " for n in names)
            by = f" GROUP BY {', '.join(s)}" if s else ""
            branches.append(f"SELECT {i} AS g, {values}{people}, "
                            f"{ids if i == 0 else 'NULL'} AS ids, "
                            f"{tallies if i == 0 else nulls} FROM t{by}")
        sql = f"WITH t AS ({rows}) " + " UNION ALL ".join(branches)
        return sql, {s: i for i, s in enumerate(sets)}
    hashed = f", {_IdHashes.NAME}({_Reader.hash_of(pid)}) AS pid" if id_raw else ""
    gid = {s: sum(1 << (len(names) - 1 - i) for i, n in enumerate(names) if n not in s)
           for s in sets}
    sql = (
        f"SELECT GROUPING({', '.join(names)}) AS g, {''.join(n + ', ' for n in names)}"
        f"{people}, {'count(pid)' if id_raw else 'NULL'} AS ids, {tallies} "
        f"FROM (SELECT *{hashed} FROM ({rows})) "
        f"GROUP BY GROUPING SETS ({', '.join('(' + ', '.join(s) + ')' for s in sets)})"
    )
    return sql, gid


def _bytes_read() -> int | None:
    """Bytes this process has read so far (Linux), or None where that is not known."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _run(con: Any, sql: str, progress: Progress | None, size: int = 0) -> Any:
    """Run a query (in a worker thread when progress is wanted) and fetch it as Arrow.

    Progress is the share of the file's bytes read where the system tells (DuckDB's own
    estimate stalls early on GROUPING SETS queries), else DuckDB's estimate.
    """
    if progress is None:
        return _fetch(con.sql(sql))
    start = _bytes_read()
    query = _InBackground(lambda: _fetch(con.sql(sql)))
    while query.thread.is_alive():
        query.thread.join(0.2)
        now = _bytes_read()
        if start is not None and now is not None and size:
            progress(min((now - start) / size, 0.99))
        elif (done := con.query_progress()) >= 0:
            progress(min(done / 100.0, 0.99))
    return query()


def _fetch(relation: Any) -> Any:
    """A query's result as an Arrow table (DuckDB 2 hands back a batch reader)."""
    to_table = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    return to_table()


def _exact_duplicates(con: Any, reader: _Reader, id_col: str) -> int:
    got = con.sql(
        "SELECT CAST(coalesce(sum(n - 1), 0) AS BIGINT) FROM (SELECT count(*) AS n FROM "
        f"(SELECT {reader.person_id(id_col)} AS pid FROM {reader.relation}) "
        "WHERE pid IS NOT NULL GROUP BY pid HAVING count(*) > 1)"
    ).fetchall()
    return int(got[0][0]) if got else 0


def _first_repeats_duckdb(con: Any, reader: _Reader, id_col: str, limit: int = 5) -> list[int]:
    """Line numbers (header = 1) of the first rows whose ID was seen earlier."""
    import pyarrow.compute as pc

    repeated = _fetch(con.sql(
        f"SELECT pid FROM (SELECT {reader.person_id(id_col)} AS pid FROM {reader.relation}) "
        "WHERE pid IS NOT NULL GROUP BY pid HAVING count(*) > 1"
    )).column("pid").combine_chunks()
    relation = con.sql(f"SELECT {reader.person_id(id_col)} AS pid FROM {reader.relation}")
    to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    stream = to_reader(100_000)

    def batches() -> Iterator[tuple[int, list[int], list[str]]]:
        start = 0
        for batch in stream:
            ids = batch.column(0)
            hits = pc.indices_nonzero(pc.fill_null(pc.is_in(ids, value_set=repeated), False))
            yield start, hits.to_pylist(), pc.take(ids, hits).to_pylist()
            start += batch.num_rows

    return _repeats(batches(), limit, reader.src.header.first_line)[1]


def _repeats(
    batches: Iterator[tuple[int, list[int], list[str]]], limit: int | None,
    first_line: int = 2,
) -> tuple[int, list[int]]:
    """From candidate (row, id) in file order: rows repeating an earlier ID, and their
    lines (``first_line``: the first data row's)."""
    seen: set[str] = set()
    n, rows = 0, []
    for start, positions, ids in batches:
        for pos, pid in zip(positions, ids, strict=True):
            if pid in seen:
                n += 1
                if len(rows) < (limit or 5):
                    rows.append(start + pos + first_line)
                if limit is not None and len(rows) >= limit:
                    return n, rows
            else:
                seen.add(pid)
    return n, rows


def _unreadable(src: Source, message: str) -> InputError:
    """DuckDB's error on a Parquet file, or memory running out (a CSV's errors are the
    row-by-row reading's: ``_check``)."""
    if "Out of Memory" in message:
        return InputError(
            "There was not enough memory to count this file",
            code="out-of-memory",
            file=src.name,
            hint="Close other programs and run again, or split the extract into smaller files.",
        )
    first = message.splitlines()[0] if message else ""
    return InputError(
        f"The Parquet file could not be read: {first}",
        code="unreadable-file",
        file=src.name,
        hint=f"Export the extract again as {SUPPORTED}.",
    )


# ---------------------------------------------------------------------------
# pandas, chunk by chunk: for encodings DuckDB cannot read


def _whole_file_encoding(path: Path, guess: str) -> str:
    """``ingest.detect_encoding`` over the whole file, read in blocks (a UTF-8 byte-order
    mark can be followed by text that is not UTF-8 after the first MiB)."""
    if guess == "utf-16":  # marked by a byte-order mark: nothing to guess
        return guess
    for encoding in ("utf-8-sig" if guess == "utf-8-sig" else "utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while block := f.read(1 << 22):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _pandas_counts(
    job: _Job, allow: bool, progress: Progress | None
) -> tuple[_Grouped, Layout]:
    """Count with pandas, chunk by chunk, after the file is checked row by row; the rows
    pandas gives must be the check's (pandas gives empty lines as blank rows)."""
    src, plan = job.src, job.plan
    encoding = _whole_file_encoding(src.path, src.encoding or "utf-8")
    with open(src.path, encoding=encoding, newline="") as f:
        records = check_file(f, src.header, src.name)
    size = max(src.path.stat().st_size, 1)
    id_col = plan.id_column
    acc: dict[tuple[str, ...], pd.Series | None] = {s: None for s in job.sets}
    hashes: list[np.ndarray] = []
    tally = {"people": 0, "blank": 0, "total": 0}

    for raw, chunk in _chunks(src, encoding, records.trailing):
        blank, total = rows_set_aside(chunk)
        tally["blank"] += int(blank.sum())
        tally["total"] += int(total.sum())
        chunk = chunk[~(blank | total)]
        tally["people"] += len(chunk)
        for s in job.sets:
            if s:
                got = chunk.groupby(list(s), sort=False).size()
            else:
                got = pd.Series([len(chunk)], index=pd.Index([0]))
            prev = acc[s]
            acc[s] = got if prev is None else prev.add(got, fill_value=0)
        if id_col is not None:
            ids = chunk[id_col].astype(str).str.strip()
            present = ids[ids != ""].to_numpy(dtype=object)
            hashes.append(pd.util.hash_array(present))
        if progress is not None:
            progress(min(raw.tell() / size, 1.0))
    read = sum(tally.values())
    if read != records.count:
        raise reading_mismatch(src.name, read, records.count)

    grouped = {}
    for s, series in acc.items():
        if series is None:
            series = pd.Series([], dtype="int64")
        if s:
            frame = series.rename("n").reset_index()
            frame.columns = [*s, "n"]
        else:
            frame = pd.DataFrame({"n": [int(series.sum())]})
        frame["n"] = frame["n"].astype("int64")
        grouped[s] = frame[frame["n"] > 0] if s else frame

    duplicates = 0
    if id_col is not None and hashes:
        everything = np.sort(np.concatenate(hashes))
        repeated = np.unique(everything[1:][everything[1:] == everything[:-1]])
        if len(repeated):  # confirm on the IDs themselves (a hash can collide)
            candidates = _id_candidates(src, encoding, id_col, records.trailing, repeated)
            duplicates, rows = _repeats(candidates, None, src.header.first_line)
            if duplicates and not allow:
                raise duplicate_ids_error(duplicates, rows, src.name, id_col)
    layout = Layout(header_row=src.skip + 1, blank=tally["blank"], total=tally["total"],
                    trailing=src.delimiter if records.trailing else None,
                    encoding_note=encoding_note(encoding))
    return _Grouped(grouped, duplicates, tally), layout


def _chunks(src: Source, encoding: str, trailing: bool) -> Iterator[tuple[Any, pd.DataFrame]]:
    """(raw file, chunk of every column) with columns named as ingest names them, and
    a row for each record (empty lines too), as ``ingest.read_csv`` reads them."""
    with open(src.path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        reader = pd.read_csv(text, dtype=str, keep_default_na=False, sep=src.delimiter,
                             skiprows=src.skip, skip_blank_lines=False, index_col=False,
                             usecols=range(len(src.columns)) if trailing else None,
                             chunksize=CHUNK_ROWS)
        for chunk in reader:
            chunk.columns = src.columns
            yield raw, chunk


def _id_candidates(
    src: Source, encoding: str, id_col: str, trailing: bool, repeated: np.ndarray
) -> Iterator[tuple[int, list[int], list[str]]]:
    start = 0
    for _, chunk in _chunks(src, encoding, trailing):
        blank, total = rows_set_aside(chunk)
        ids = chunk[id_col].astype(str).str.strip()
        present = (ids != "").to_numpy() & ~(blank | total)
        hashed = np.zeros(len(ids), dtype=np.uint64)
        hashed[present] = pd.util.hash_array(ids[present].to_numpy(dtype=object))
        hits = np.flatnonzero(present & np.isin(hashed, repeated))
        yield start, hits.tolist(), ids.iloc[hits].tolist()
        start += len(chunk)

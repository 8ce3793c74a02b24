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

from eqia.counts import ValueCounts
from eqia.errors import InputError
from eqia.ingest import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    SUPPORTED,
    ColumnPlan,
    _sniff_delimiter,
    detect_encoding,
    is_aggregated,
    no_characteristics_error,
    plan_columns,
    read_table,
)
from eqia.mapping import MappingFile
from eqia.profile import AGE_CROSSED, duplicate_ids_error, duplicate_ids_note

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

    @property
    def name(self) -> str:
        return self.path.name


def inspect(path: str | Path) -> Source | None:
    """Read the header and sniff encoding and delimiter from the first MiB.

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
    text = sample.decode(encoding, errors="ignore")
    if "\x00" in text[:4096]:
        return None
    delimiter = _sniff_delimiter(text)
    head = text[: text.rfind("\n") + 1] if len(sample) == SAMPLE_BYTES else text
    try:
        header = pd.read_csv(io.StringIO(head or text), nrows=0, dtype=str,
                             keep_default_na=False, sep=delimiter, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    columns = [str(c).strip() for c in header.columns]
    return Source(p, "csv", columns, encoding=encoding, delimiter=delimiter,
                  distinct=_sample_distinct(head or text, delimiter, columns))


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
    src = inspect(path)
    if src is None or is_aggregated(src.columns):
        return None
    plan = plan_columns(src.columns, mapping, src.name)
    if not plan.columns:
        raise no_characteristics_error(src.name, src.columns)
    job = _Job(src, plan, split, crossed)
    parts: Parts | None = None
    if src.kind == "parquet" or src.encoding in ("utf-8", "utf-8-sig", "cp1252"):
        parts = _duckdb_counts(job, allow_duplicates, progress, memory_limit, threads)
    if parts is None:  # an encoding DuckDB cannot read: pandas, chunk by chunk
        parts = job.assemble(_pandas_counts(job, allow_duplicates, progress))
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

    def count_duplicates(self) -> int:
        if callable(self.duplicates):
            self.duplicates = self.duplicates()
        return self.duplicates


class _Job:
    """The columns to read and the sets to count them in, for one file and plan."""

    def __init__(self, src: Source, plan: ColumnPlan, split: bool,
                 crossed: tuple[str, ...] = AGE_CROSSED) -> None:
        self.src, self.plan = src, plan
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

    def assemble(self, grouped: _Grouped) -> Parts:
        """The ValueCounts per (service, period), as ``record_value_counts`` makes them."""
        plan, nkeys = self.plan, len(self.keys)
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
            notes = list(plan.notes)
            if duplicates:
                notes.append(duplicate_ids_note(duplicates, plan.id_column))
            result[(service, period)] = ValueCounts(
                source=self.src.name, shape="records", rows=got["rows"],
                columns=dict(plan.columns), values=values, pairs=pairs,
                age_hint=plan.age_hint, notes=notes, duplicates=duplicates,
                service=service, period=period,
            )
        if not result or sum(vc.rows for vc in result.values()) == 0:
            read_table(self.src.path)  # no rows: raises the in-memory path's error
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


class _Reader:
    """The DuckDB source expression and how each column becomes ingest's text."""

    def __init__(self, job: _Job, duck_encoding: str | None, lenient: bool = False) -> None:
        src = job.src
        self.src = src
        if src.kind == "parquet":
            self.relation = f"read_parquet({_sql_text(str(src.path))})"
            self.expr = {c: _ident(src.raw_columns[job.position(c)]) for c in src.columns}
        else:
            spec = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(src.columns)))
            # Short rows (pandas pads them with blanks) need null padding, which DuckDB
            # cannot do in parallel: only the second try, after a failed first, is lenient.
            padding = "null_padding=true, parallel=false, " if lenient else ""
            self.relation = (
                f"read_csv({_sql_text(str(src.path))}, header=true, auto_detect=false, "
                f"delim={_sql_text(src.delimiter)}, quote='\"', escape='\"', {padding}"
                f"encoding={_sql_text(duck_encoding or 'utf-8')}, columns={{{spec}}})"
            )
            if lenient and len(src.columns) > 1:  # pandas skips lines of only spaces
                rest = " AND ".join(f"c{i} IS NULL" for i in range(1, len(src.columns)))
                self.relation = (f"(SELECT * FROM {self.relation} WHERE NOT "
                                 f"(c0 IS NOT NULL AND trim(c0, ' \t') = '' AND {rest}))")
            self.expr = {c: f"c{i}" for i, c in enumerate(src.columns)}
        self.redecode = duck_encoding == "latin-1" and src.encoding == "cp1252"

    def id_raw(self, column: str) -> str:
        """The person ID as text, as it is in the file (unstripped)."""
        text = self.expr[column]
        return f"CAST({text} AS VARCHAR)" if self.src.kind == "parquet" else text

    def id_text(self, column: str) -> str:
        """The person ID stripped as Python strips it; NULL when blank."""
        return f"nullif(trim({self.id_raw(column)}, {_sql_text(WHITESPACE)}), '')"

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
_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _duckdb_counts(
    job: _Job, allow: bool, progress: Progress | None, memory_limit: str, threads: int
) -> Parts | None:
    """Count with DuckDB; ``None`` when it cannot decode the file (use pandas)."""
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
        grouped = _duckdb_read(con, job, encoding, allow, progress, ids)
        # Assembled while the connection is open: a repeated ID hash is checked on the IDs.
        return None if grouped is None else job.assemble(grouped)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _duckdb_read(
    con: Any, job: _Job, encoding: str, allow: bool, progress: Progress | None,
    ids: _IdHashes | None,
) -> _Grouped | None:
    """The counting query with the strict CSV reader, else the lenient one; ``None``
    when DuckDB cannot decode the file."""
    import duckdb

    src = job.src
    try:
        return _duckdb_query(con, _Reader(job, encoding), job, allow, progress, ids)
    except duckdb.Error as exc:
        if _ENCODING_ERROR.search(str(exc)):
            return None
        if src.kind == "parquet":
            raise _unreadable(src, str(exc)) from exc
    try:  # short rows, or something else the strict reader refused
        return _duckdb_query(con, _Reader(job, encoding, lenient=True), job, allow, None, ids)
    except duckdb.Error as exc:
        if _ENCODING_ERROR.search(str(exc)):
            return None
        raise _unreadable(src, str(exc)) from exc


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
    id_raw = None
    if id_col is not None and ids is not None:
        ids.reserve(_most_rows(src, len(reader.expr)))
        id_raw = reader.id_raw(id_col)
    sql, gid = _counting_sql(select, reader.relation, names, sets, id_raw)
    table = _run(con, sql, progress, src.path.stat().st_size)
    g = table.column("g").to_numpy()
    n = table.column("n").to_numpy()
    repeats: Callable[[], int | None] = lambda: None  # noqa: E731
    if id_col is not None and ids is not None:
        rows_with_id = int(table.column("ids").to_numpy()[g == gid[sets[0]]].sum())
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
        mask = g == gid[s_alias]
        keep = pa.array(mask)
        frame = {c: reader.texts(table.column(alias[c]).filter(keep)) for c in s}
        grouped[s] = pd.DataFrame({**frame, "n": n[mask]}, columns=[*s, "n"])
    return _Grouped(grouped, duplicates)


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
    select: list[str], relation: str, names: list[str], sets: list[tuple[str, ...]],
    id_raw: str | None,
) -> tuple[str, dict[tuple[str, ...], int]]:
    """The one counting query, and the ``g`` that marks each set's rows in its result.

    Each set's rows carry its columns' values (the others NULL) and ``n``. With
    ``id_raw`` (the person ID's text), every row's hashed ID also goes through
    ``_IdHashes``, and the first set (the rows per part) carries ``ids``, how many rows
    have an ID. DuckDB 2 streams one scan into every branch of a UNION ALL over a common
    table expression, so each set gets only its own aggregates and the hashing runs in
    the first branch alone; older versions would scan or store the file once per
    branch, so they get the same counts from GROUPING SETS.
    """
    import duckdb

    if int(duckdb.__version__.split(".")[0]) >= 2:
        pid = [f"{id_raw} AS pid"] if id_raw else []
        ids = f"count({_IdHashes.NAME}({_Reader.hash_of('pid')}))" if id_raw else "NULL"
        branches = []
        for i, s in enumerate(sets):
            values = "".join(f"{n if n in s else 'NULL'} AS {n}, " for n in names)
            by = f" GROUP BY {', '.join(s)}" if s else ""
            branches.append(f"SELECT {i} AS g, {values}count(*) AS n, "
                            f"{ids if i == 0 else 'NULL'} AS ids FROM t{by}")
        sql = (f"WITH t AS (SELECT {', '.join(select + pid)} FROM {relation}) "
               + " UNION ALL ".join(branches))
        return sql, {s: i for i, s in enumerate(sets)}
    pid = [f"{_IdHashes.NAME}({_Reader.hash_of(id_raw)}) AS pid"] if id_raw else []
    gid = {s: sum(1 << (len(names) - 1 - i) for i, n in enumerate(names) if n not in s)
           for s in sets}
    sql = (
        f"SELECT GROUPING({', '.join(names)}) AS g, {''.join(n + ', ' for n in names)}"
        f"count(*) AS n, {'count(pid)' if id_raw else 'NULL'} AS ids "
        f"FROM (SELECT {', '.join(select + pid)} FROM {relation}) "
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
        f"(SELECT {reader.id_text(id_col)} AS pid FROM {reader.relation}) "
        "WHERE pid IS NOT NULL GROUP BY pid HAVING count(*) > 1)"
    ).fetchall()
    return int(got[0][0]) if got else 0


def _first_repeats_duckdb(con: Any, reader: _Reader, id_col: str, limit: int = 5) -> list[int]:
    """Line numbers (header = 1) of the first rows whose ID was seen earlier."""
    import pyarrow.compute as pc

    repeated = _fetch(con.sql(
        f"SELECT pid FROM (SELECT {reader.id_text(id_col)} AS pid FROM {reader.relation}) "
        "WHERE pid IS NOT NULL GROUP BY pid HAVING count(*) > 1"
    )).column("pid").combine_chunks()
    relation = con.sql(f"SELECT {reader.id_text(id_col)} AS pid FROM {reader.relation}")
    to_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    stream = to_reader(100_000)

    def batches() -> Iterator[tuple[int, list[int], list[str]]]:
        start = 0
        for batch in stream:
            ids = batch.column(0)
            hits = pc.indices_nonzero(pc.fill_null(pc.is_in(ids, value_set=repeated), False))
            yield start, hits.to_pylist(), pc.take(ids, hits).to_pylist()
            start += batch.num_rows

    return _repeats(batches(), limit)[1]


def _repeats(
    batches: Iterator[tuple[int, list[int], list[str]]], limit: int | None
) -> tuple[int, list[int]]:
    """From candidate (row, id) in file order: rows repeating an earlier ID, and lines."""
    seen: set[str] = set()
    n, rows = 0, []
    for start, positions, ids in batches:
        for pos, pid in zip(positions, ids, strict=True):
            if pid in seen:
                n += 1
                if len(rows) < (limit or 5):
                    rows.append(start + pos + 2)  # +2: header row, 1-based
                if limit is not None and len(rows) >= limit:
                    return n, rows
            else:
                seen.add(pid)
    return n, rows


def _unreadable(src: Source, message: str) -> InputError:
    """DuckDB's error without the row it quotes (extracts hold personal data)."""
    if "Out of Memory" in message:
        return InputError(
            "There was not enough memory to count this file",
            code="out-of-memory",
            file=src.name,
            hint="Close other programs and run again, or split the extract into smaller files.",
        )
    line = _LINE.search(message)
    what = "Parquet" if src.kind == "parquet" else "CSV"
    first = message.splitlines()[0] if message else ""
    if "Expected Number of Columns" in message or "Found:" in message:
        first = "a row has more columns than the header"
    elif "Original Line" in message or line:
        first = "a row could not be split into columns"
    return InputError(
        f"The {what} file could not be read: {first}",
        code="unreadable-file",
        file=src.name,
        row=int(line.group(1)) if line else None,
        hint="Check that every row has the same number of columns (quotes around values "
        "that contain commas)." if what == "CSV" else f"Export the extract again as {SUPPORTED}.",
    )


# ---------------------------------------------------------------------------
# pandas, chunk by chunk: for encodings DuckDB cannot read


def _whole_file_encoding(path: Path, guess: str) -> str:
    """``ingest.detect_encoding`` over the whole file, read in blocks."""
    if guess in ("utf-8-sig", "utf-16"):  # marked by a byte-order mark: nothing to guess
        return guess
    for encoding in ("utf-8", "cp1252"):
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


def _pandas_counts(job: _Job, allow: bool, progress: Progress | None) -> _Grouped:
    src, plan = job.src, job.plan
    encoding = _whole_file_encoding(src.path, src.encoding or "utf-8")
    size = max(src.path.stat().st_size, 1)
    id_col = plan.id_column
    wanted_cols = list(dict.fromkeys([*job.counted, *([id_col] if id_col else [])]))
    positions = sorted({job.position(c) for c in wanted_cols})
    acc: dict[tuple[str, ...], pd.Series | None] = {s: None for s in job.sets}
    hashes: list[np.ndarray] = []

    for raw, chunk in _chunks(src, encoding, positions):
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
        grouped[s] = frame

    duplicates = 0
    if id_col is not None and hashes:
        everything = np.sort(np.concatenate(hashes))
        repeated = np.unique(everything[1:][everything[1:] == everything[:-1]])
        if len(repeated):  # confirm on the IDs themselves (a hash can collide)
            duplicates, rows = _repeats(_id_candidates(src, encoding, id_col, job, repeated), None)
            if duplicates and not allow:
                raise duplicate_ids_error(duplicates, rows, src.name, id_col)
    return _Grouped(grouped, duplicates)


def _chunks(
    src: Source, encoding: str, positions: list[int]
) -> Iterator[tuple[Any, pd.DataFrame]]:
    """(raw file, chunk) with columns named as ingest names them."""
    names = [src.columns[i] for i in positions]
    with open(src.path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            reader = pd.read_csv(text, dtype=str, keep_default_na=False, sep=src.delimiter,
                                 skip_blank_lines=True, usecols=positions,
                                 chunksize=CHUNK_ROWS)
            for chunk in reader:
                chunk.columns = names
                yield raw, chunk
        except pd.errors.ParserError as exc:
            raise InputError(
                f"The CSV file could not be read: {exc}",
                code="unreadable-file",
                file=src.name,
                hint="Check that every row has the same number of columns (quotes around "
                "values that contain commas).",
            ) from exc


def _id_candidates(
    src: Source, encoding: str, id_col: str, job: _Job, repeated: np.ndarray
) -> Iterator[tuple[int, list[int], list[str]]]:
    start = 0
    for _, chunk in _chunks(src, encoding, [job.position(id_col)]):
        ids = chunk[id_col].astype(str).str.strip()
        present = (ids != "").to_numpy()
        hashed = np.zeros(len(ids), dtype=np.uint64)
        hashed[present] = pd.util.hash_array(ids[present].to_numpy(dtype=object))
        hits = np.flatnonzero(present & np.isin(hashed, repeated))
        yield start, hits.tolist(), ids.iloc[hits].tolist()
        start += len(chunk)

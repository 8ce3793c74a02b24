"""DuckDB scans a large CSV or Parquet file once: every grouping set's counts in one query.

A 64-bit hash of each person ID is collected on the way (``IdHashes``) to find repeated
IDs; only the distinct values and the hashes reach Python, never the rows. Windows-1252
files are read as Latin-1 and each distinct value re-decoded; a file DuckDB cannot read
gives ``None``, and ``scan_pandas`` counts it instead.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from eqia.read.counts import Parts
from eqia.read.csvcheck import count_lines
from eqia.read.files import (
    BLANK_PATTERN,
    TOTAL_PATTERN,
    Layout,
    reading_mismatch,
)
from eqia.read.records import duplicate_ids_error
from eqia.read.scan import (
    WHITESPACE,
    Grouped,
    Job,
    Progress,
    layout_of,
    recheck_rows,
    reconciled,
    repeats,
    unreadable_error,
)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: What DuckDB reads as NULL: a text no extract holds, so that only the padding of a
#: short row is NULL (an empty value is ''), and short rows can be told apart.
NULL_TEXT = "\x01eqia:padding\x02"


class Reader:
    """The DuckDB source expression and how each column becomes ingest's text.

    ``padded`` (CSV): one column more than the header, and short rows padded with NULL,
    so that the counting query also counts rows with too few values (a NULL in the last
    column) or too many (a value in the extra column), which DuckDB would otherwise refuse
    without saying which, or (a separator at the end of a row) silently drop. DuckDB
    cannot pad rows in parallel where a quoted value holds a line break: then the file,
    checked row by row first, is read unpadded.
    """

    def __init__(self, job: Job, duck_encoding: str | None, padded: bool = True) -> None:
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


def duckdb_counts(
    job: Job, allow: bool, progress: Progress | None, memory_limit: str, threads: int,
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
        ids = IdHashes.register(con, tmp) if job.plan.id_column is not None else None
        read = _duckdb_read(con, job, encoding, allow, progress, ids, lines)
        # Assembled while the connection is open: a repeated ID hash is checked on the IDs.
        return None if read is None else job.assemble(*read)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _duckdb_read(
    con: Any, job: Job, encoding: str, allow: bool, progress: Progress | None,
    ids: IdHashes | None, lines: Callable[[], tuple[int, int]] | None = None,
) -> tuple[Grouped, Layout] | None:
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
        lines = InBackground(count_lines, src.path)
    try:
        grouped = _duckdb_query(con, Reader(job, encoding), job, allow, progress, ids)
    except duckdb.Error as exc:
        if _ENCODING_ERROR.search(str(exc)):
            return None
        if src.kind == "parquet" or "Out of Memory" in str(exc):
            raise unreadable_error(src, str(exc)) from exc
        records = recheck_rows(src)  # names the malformed row, if there is one
        try:  # well formed: values with line breaks, say, which DuckDB reads unpadded
            grouped = _duckdb_query(con, Reader(job, encoding, padded=False), job, allow,
                                    None, ids)
        except duckdb.Error:
            return None
        return reconciled(src, grouped, records)
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
            return grouped, layout_of(src, tally, empty_at_end)
    return reconciled(src, grouped, recheck_rows(src))


class IdHashes:
    """Collects the 64-bit hash of every person ID as DuckDB's scan goes by.

    A Python function registered in DuckDB (``eqia_person_id``) is applied to the hashed
    ID of each row inside the counting query: it copies each batch of hashes (8 bytes a
    row) into room set aside before the scan and hands the batch back unchanged. After the
    query the hashes are sorted
    (numpy) and neighbours compared. This costs far less than the 10-million-group hash
    aggregate DuckDB would otherwise build in the same pass (measured: about 0.9 against
    1.8 CPU-seconds at 10 million rows). Repeated hashes are then confirmed on the IDs
    themselves, so the count stays exact.

    Memory is bounded: at most ``RUN`` hashes are held at once (128 MiB). Beyond that each
    full room is sorted and written to a temporary file (a sorted run, with where each of
    ``PARTS`` ranges of hash values starts in it), and repeats are counted range by range
    over all the runs, so 100 million rows need no more memory than 16 million.
    """

    NAME = "eqia_person_id"
    #: Hashes held in memory at most (8 bytes each); more are sorted and spilled.
    RUN = 1 << 24
    #: Ranges of hash values (by their top bits) that spilled runs are read back by.
    PARTS = 1 << 10

    def __init__(self, folder: str | None = None) -> None:
        self.folder = folder  # for spilled runs (None: the system's temporary folder)
        self.buffer: np.ndarray | None = None
        self.filled = 0
        self.runs: list[tuple[Any, np.ndarray]] = []  # (file, where each range starts)
        self._lock = threading.Lock()

    def reserve(self, rows: int) -> None:
        """Room for about ``rows`` hashes (at most ``RUN``), set aside before the scan
        (not yet touched).

        Filled as DuckDB goes by, this costs far less than one fresh 80 MB array after the
        query, when the kernel must first find memory that DuckDB has just let go of.
        """
        self._close_runs()
        self.filled = 0
        self.buffer = np.empty(min(max(rows, 1), self.RUN), dtype=np.uint64)

    @classmethod
    def register(cls, con: Any, folder: str | None = None) -> IdHashes | None:
        """The collector, registered on ``con``; ``None`` where DuckDB cannot do that."""
        import duckdb

        ids = cls(folder)
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
                self._put(values)
        return hashes

    def _put(self, values: np.ndarray) -> None:
        if self.buffer is None:
            self.reserve(len(values))
        assert self.buffer is not None
        while len(values):
            room = len(self.buffer) - self.filled
            if not room:
                if len(self.buffer) < self.RUN:  # reserved too little: grow up to RUN
                    grown = np.empty(min(2 * len(self.buffer), self.RUN), dtype=np.uint64)
                    grown[:self.filled] = self.buffer[:self.filled]
                    self.buffer = grown
                else:
                    self._spill()
                continue
            take = values[:room]
            self.buffer[self.filled:self.filled + len(take)] = take
            self.filled += len(take)
            values = values[room:]

    def _spill(self) -> None:
        """The room, sorted, as one more run in a temporary file."""
        import tempfile

        assert self.buffer is not None
        run = self.buffer[:self.filled]
        run.sort()
        f = tempfile.TemporaryFile(prefix="eqia-ids-", dir=self.folder)
        run.tofile(f)
        self.runs.append((f, self._starts(run)))
        self.filled = 0

    def _starts(self, run: np.ndarray) -> np.ndarray:
        """Where each of the ``PARTS`` ranges of hash values starts in a sorted run, and
        its end."""
        shift = np.uint64(64 - (self.PARTS - 1).bit_length())
        bounds = np.arange(1, self.PARTS, dtype=np.uint64) << shift
        return np.concatenate([[0], np.searchsorted(run, bounds), [len(run)]])

    def repeats(self, expected: int) -> int | None:
        """Rows whose hash was seen before; ``None`` if not every row's hash came by."""
        kept = self.buffer[:self.filled] if self.buffer is not None else np.empty(0, np.uint64)
        self.buffer = None
        try:
            if len(kept) + sum(int(starts[-1]) for _, starts in self.runs) != expected:
                return None
            if expected < 2:
                return 0
            kept.sort()
            if not self.runs:
                return _repeated(kept)
            return self._repeats_over_runs(kept)
        finally:
            self._close_runs()

    def _repeats_over_runs(self, kept: np.ndarray) -> int:
        """Repeats over the spilled runs and the room's last hashes, a few ranges of hash
        values at a time (each read back from every run), so that memory stays bounded."""
        starts = [s for _, s in self.runs] + [self._starts(kept)]
        sizes = sum(np.diff(s) for s in starts)
        found, first = 0, 0
        while first < self.PARTS:
            last, held = first, 0
            while last < self.PARTS and (last == first or held + sizes[last] <= self.RUN):
                held += int(sizes[last])
                last += 1
            pieces = [kept[starts[-1][first]:starts[-1][last]]]
            for (f, s) in self.runs:
                count = int(s[last] - s[first])
                if count:
                    f.seek(int(s[first]) * 8)
                    pieces.append(np.fromfile(f, dtype=np.uint64, count=count))
            part = np.concatenate(pieces)
            part.sort()
            found += _repeated(part)
            first = last
        return found

    def _close_runs(self) -> None:
        for f, _ in self.runs:
            f.close()
        self.runs = []


def _repeated(sorted_hashes: np.ndarray) -> int:
    """Values equal to the one before them in a sorted array."""
    return int(np.count_nonzero(sorted_hashes[1:] == sorted_hashes[:-1]))


def _duckdb_query(
    con: Any, reader: Reader, job: Job, allow: bool, progress: Progress | None,
    ids: IdHashes | None,
) -> Grouped:
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
        repeats = InBackground(ids.repeats, rows_with_id)  # numpy sorts without the GIL

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
    return Grouped(grouped, duplicates, tally)


class InBackground:
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
    select: list[str], reader: Reader, names: list[str], sets: list[tuple[str, ...]],
    id_raw: str | None, aside: bool = False, counted: dict[str, str] | None = None,
) -> tuple[str, dict[tuple[str, ...], int]]:
    """The one counting query, and the ``g`` that marks each set's rows in its result.

    Each set's rows carry its columns' values (the others NULL) and ``n``. The first set
    (the rows per part) also carries, for the whole file, the rows with too few or too
    many values (``short``, ``extra``) and, unless ``aside``, how many rows could be
    blank or total rows (``blank``: ``Reader.maybe_aside`` over ``counted``, column ->
    alias). Such rows are rare in a large extract; where there are any, the query runs
    again with ``aside``: then ``n`` counts people only, and the first set carries
    ``blank`` and ``total`` rows apart (``Reader.kind``).

    With ``id_raw`` (the person ID's text), every person's hashed ID goes through
    ``IdHashes``, and the first set carries ``ids``, how many people have an ID. DuckDB 2
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
        ids = f"count({IdHashes.NAME}({Reader.hash_of(pid)}))" if id_raw else "NULL"
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
    hashed = f", {IdHashes.NAME}({Reader.hash_of(pid)}) AS pid" if id_raw else ""
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
    query = InBackground(lambda: _fetch(con.sql(sql)))
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


def _exact_duplicates(con: Any, reader: Reader, id_col: str) -> int:
    got = con.sql(
        "SELECT CAST(coalesce(sum(n - 1), 0) AS BIGINT) FROM (SELECT count(*) AS n FROM "
        f"(SELECT {reader.person_id(id_col)} AS pid FROM {reader.relation}) "
        "WHERE pid IS NOT NULL GROUP BY pid HAVING count(*) > 1)"
    ).fetchall()
    return int(got[0][0]) if got else 0


def _first_repeats_duckdb(con: Any, reader: Reader, id_col: str, limit: int = 5) -> list[int]:
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

    return repeats(batches(), limit, reader.src.header.first_line)[1]

"""What a one-pass count of a large file needs, whichever engine scans it.

A file's header read cheaply (``Source``, ``inspect``), the grouping sets to count
(``Job``: columns with few values counted together, split apart afterwards) and their
counts (``Grouped``), and the reconciliation of the rows counted with the file's own
count of them (``reconciled``): when they differ, the file is read again row by row
(``recheck_rows``), which names the malformed row. ``scan_duckdb`` and ``scan_pandas``
both fill a ``Grouped`` for a ``Job``, so they cannot count differently.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from eqia.errors import InputError
from eqia.read.columns import ColumnPlan, known_columns
from eqia.read.counts import Parts, ValueCounts
from eqia.read.csvcheck import CsvHeader, Records, check_file
from eqia.read.files import (
    PARQUET_SUFFIXES,
    SUPPORTED,
    Layout,
    _after_lines,
    decode,
    detect_encoding,
    encoding_note,
    read_header,
    read_table,
)
from eqia.read.mapping import MappingFile
from eqia.read.records import AGE_CROSSED, duplicate_ids_note

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


Progress = Callable[[float], None]


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


def combined_sets(columns: list[str], distinct: dict[str, int]) -> list[tuple[str, ...]]:
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


@dataclass
class Grouped:
    """Counts per grouping set: set -> frame of its columns' text values and ``n``.

    ``duplicates`` may still be being worked out (the ID hashes sorted in a thread while
    the counts are assembled): ``count_duplicates`` waits for it, and raises the
    duplicate-ID error when repeats are not allowed.
    """

    sets: dict[tuple[str, ...], pd.DataFrame]
    duplicates: int | Callable[[], int]
    #: Rows in the whole file: ``people``, rows that are not (``blank``, ``total``: see
    #: ``Reader.kind``) and rows of the wrong length (``short``, ``extra``: padded CSV).
    tally: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Every row the reader gave: people, blank rows and total rows."""
        return sum(self.tally.get(k, 0) for k in ("people", "blank", "total"))

    def count_duplicates(self) -> int:
        if callable(self.duplicates):
            self.duplicates = self.duplicates()
        return self.duplicates


class Job:
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
        self.sets += [self.keys + group for group in combined_sets(others, src.distinct)]
        self.sets += [self.keys + (c,) for c in singles if c in self.keys]
        self.counted = list(dict.fromkeys(c for s in self.sets for c in s))
        if len(self.sets) != len(set(self.sets)):  # a column that is also a split key
            self.sets = list(dict.fromkeys(self.sets))

    def position(self, column: str) -> int:
        return self.src.columns.index(column)

    def assemble(self, grouped: Grouped, layout: Layout) -> Parts:
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


def layout_of(src: Source, tally: dict[str, int], empty: int, trailing: bool = False) -> Layout:
    return Layout(header_row=src.skip + 1, blank=tally["blank"] + empty, total=tally["total"],
                  trailing=src.delimiter if trailing else None,
                  encoding_note=encoding_note(src.encoding))


def recheck_rows(src: Source) -> Records:
    """The file read row by row (``csvcheck``): raises for a malformed row. Undecodable
    bytes do not matter here (separators, quotes and line breaks are ASCII)."""
    with open(src.path, encoding=src.encoding, errors="replace", newline="") as f:
        return check_file(f, src.header, src.name)


def reconciled(src: Source, grouped: Grouped, records: Records) -> tuple[Grouped, Layout] | None:
    """DuckDB's rows against the row-by-row reading's (DuckDB skips empty lines)."""
    if grouped.rows != records.count - records.empty:
        return None
    return grouped, layout_of(src, grouped.tally, records.empty, records.trailing)


def repeats(
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


def unreadable_error(src: Source, message: str) -> InputError:
    """DuckDB's error on a Parquet file, or memory running out (a CSV's errors are the
    row-by-row reading's: ``recheck_rows``)."""
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

"""The fallback scan: pandas counts a large CSV in chunks (bounded memory) when DuckDB
cannot decode it, with the same grouping sets and the same checks as ``scan_duckdb``."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eqia.read.csvcheck import check_file
from eqia.read.files import (
    Layout,
    encoding_note,
    reading_mismatch,
    rows_set_aside,
)
from eqia.read.records import duplicate_ids_error
from eqia.read.scan import (
    CHUNK_ROWS,
    Grouped,
    Job,
    Progress,
    Source,
    repeats,
)


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


def pandas_counts(
    job: Job, allow: bool, progress: Progress | None
) -> tuple[Grouped, Layout]:
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
            duplicates, rows = repeats(candidates, None, src.header.first_line)
            if duplicates and not allow:
                raise duplicate_ids_error(duplicates, rows, src.name, id_col)
    layout = Layout(header_row=src.skip + 1, blank=tally["blank"], total=tally["total"],
                    trailing=src.delimiter if records.trailing else None,
                    encoding_note=encoding_note(encoding))
    return Grouped(grouped, duplicates, tally), layout


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

"""The audit's work: find the extracts, count known, unknown and invalid records per
service and characteristic, rate each known share (``eqia.settings.thresholds``), and
compare with a previous audit. The rules it keeps are in ``eqia.documents.audit``."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eqia.analysis.profiling import profile_services
from eqia.errors import EqiaError, UsageError
from eqia.read.files import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES
from eqia.read.mapping import MappingFile, load_mapping
from eqia.read.same import same_extract_error, same_files
from eqia.settings.thresholds import Thresholds, load_thresholds
from eqia.words import EMPTY, percent_down, signed

#: The columns of ``eqia audit --format csv``, in this order.
CSV_COLUMNS = [
    "service", "characteristic", "records", "known", "unknown", "invalid", "known_share", "rag",
]
#: Why a record is unknown. ``not_collected``: the extract has no column for it at all.
UNKNOWN_REASONS = ("not_stated", "not_known", "blank", "not_collected")
SUMMARY_COLUMNS = [
    *CSV_COLUMNS,
    *(f"unknown_{r}" for r in UNKNOWN_REASONS),
    "status", "required", "previous_known_share", "previous_rag", "previous_status", "change_pp",
]
INVALID_COLUMNS = ["service", "characteristic", "value", "reason", "count"]
INVALID_SUMMARY_COLUMNS = ["service", "characteristic", "reason", "count", "distinct_values"]
#: On every sheet of a workbook that lists invalid values (``--list-invalid-values``).
PERSONAL_DATA = "INTERNAL – lists invalid values from the extracts: personal data"
FILE_COLUMNS = ["audit", "file", "status", "services", "records", "shape", "code", "reason",
                "message"]
GAP_COLUMNS = ["service", "characteristic", "status", "records", "known", "known_share", "rag",
               "previous_known_share", "change_pp", "required"]
NOT_COLLECTED = "not collected"

#: Files in a folder that are read as extracts. Others in the folder (a README.pdf) are
#: listed as skipped; ``.xls`` is included so that the user is told it cannot be read.
EXTRACT_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES | {".xls"}

#: ``progress(files_done, files_total, file_name)``; ``files_done`` counts part of a file
#: as a fraction while a large file is streamed.
AuditProgress = Callable[[float, int, str], None]


# ---------------------------------------------------------------------------
# Finding the extracts


def find_extracts(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """(files to read, files skipped): files as given; folders' extract files, sorted.

    A path that does not exist is kept, so that reading it reports it, and so is a file
    given twice (``each_file_once`` refuses it). Hidden files and Excel's ``~$`` lock files
    in a folder are ignored; other non-extract files are skipped.
    """
    found: list[Path] = []
    skipped: list[Path] = []
    for given in paths:
        if not isinstance(given, str | Path):  # a table in a database (read.engines)
            found.append(given)
            continue
        p = Path(given)
        if not p.is_dir():
            found.append(p)
            continue
        for child in sorted(p.iterdir(), key=lambda c: c.name.casefold()):
            if not child.is_file() or child.name.startswith((".", "~$")):
                continue
            (found if child.suffix.lower() in EXTRACT_SUFFIXES else skipped).append(child)
    return found, skipped


# ---------------------------------------------------------------------------
# Counting


def service_key(name: str) -> str:
    """Services match across files and periods by name, ignoring case and spacing."""
    return " ".join(str(name).split()).casefold()


@dataclass
class _CharTally:
    collected: bool = False
    known: int = 0
    invalid: int = 0
    unknown: Counter = field(default_factory=Counter)
    invalid_values: Counter = field(default_factory=Counter)  # (value, reason) -> count


@dataclass
class _ServiceTally:
    name: str
    rows: int = 0
    files: list[str] = field(default_factory=list)
    shapes: set[str] = field(default_factory=set)
    chars: dict[str, _CharTally] = field(default_factory=dict)


@dataclass
class _Collected:
    services: dict[str, _ServiceTally]
    files: list[dict]
    notes: list[tuple[str, str]]


def _add_profile(tally: _ServiceTally, profile: Any, audited: Sequence[str], source: str) -> None:
    """Add one profile's counts: one pass over its tidy counts, not one query per number."""
    tally.rows += profile.rows
    tally.shapes.add(profile.shape)
    if source not in tally.files:
        tally.files.append(source)
    counts = profile.counts
    mine = counts[counts["characteristic"].isin(audited)]
    totals = mine.groupby(["characteristic", "kind", "reason"], sort=False)["count"].sum()
    for key in audited:
        t = tally.chars.setdefault(key, _CharTally())
        if not profile.is_collected(key):
            t.unknown["not_collected"] += profile.rows
        else:
            t.collected = True
    for (key, kind, reason), n in totals.items():
        t = tally.chars[key]
        if kind == "category":
            t.known += int(n)
        elif kind == "unknown":
            t.unknown[reason if reason in UNKNOWN_REASONS else "not_known"] += int(n)
        else:
            t.invalid += int(n)
    bad = mine[mine["kind"] == "invalid"]
    for key, value, reason, n in zip(bad["characteristic"], bad["value"], bad["reason"],
                                     bad["count"], strict=True):
        tally.chars[key].invalid_values[(str(value), str(reason))] += int(n)


def _file_failure(audit: str, path: Path, exc: BaseException) -> dict:
    if isinstance(exc, EqiaError):
        code, reason, message = exc.code, exc.message, exc.describe()
    elif isinstance(exc, OSError):
        code = "unreadable-file"
        reason = f"The file could not be opened ({exc.strerror or type(exc).__name__})"
        message = reason + ". Check that it is not open in another program and that you may read it."
    else:  # a bug, or a file no reader expected; its text may hold data, so only its type
        code = "unexpected-error"
        reason = f"Unexpected error while reading ({type(exc).__name__})"
        message = reason + ". This may be a bug in eqia: please report it with the file's format."
    return {"audit": audit, "file": str(path), "status": "not read", "services": "",
            "records": 0, "shape": "", "code": code, "reason": reason, "message": message}


#: An audit of at least this many files reads them side by side, on up to
#: ``READERS`` processes (each reads whole files; what is counted, and the order it is
#: added in, is as one process gives). Fewer files are not worth the start-up (about
#: 0.5 s a process).
PARALLEL_FROM = 8
READERS = min(2, os.cpu_count() or 1)


def _read_one(path: Path, audit: str, mapping: MappingFile, as_of: dt.date | None,
              allow_duplicates: bool, progress: Callable[[float], None] | None = None,
              ) -> tuple[dict | None, dict | None]:
    """One file's profiles by (service, period), or the row saying why it was not read."""
    try:
        return profile_services(path, mapping, as_of=as_of, allow_duplicates=allow_duplicates,
                                progress=progress, by_age=False), None
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the audit
        return None, _file_failure(audit, path, exc)


def _read_all(
    paths: list[Path], audit: str, mapping: MappingFile, as_of: dt.date | None,
    allow_duplicates: bool, progress: AuditProgress | None, done: int, total: int,
) -> Iterator[tuple[Path, dict | None, dict | None]]:
    """``_read_one`` for each file, in the order given: on several processes when there
    are many files (tables in a database are counted by their engine, in this one)."""
    context = _fork_context() if READERS > 1 and len(paths) >= PARALLEL_FROM else None
    if context is None or not all(isinstance(p, Path) for p in paths):
        for i, path in enumerate(paths):
            tick = None
            if progress is not None:
                progress(float(done + i), total, path.name)

                def tick(frac: float, _base: int = done + i, _name: str = path.name) -> None:
                    progress(_base + min(max(frac, 0.0), 1.0), total, _name)

            yield path, *_read_one(path, audit, mapping, as_of, allow_duplicates, tick)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(READERS, mp_context=context) as pool:
        jobs = [pool.submit(_read_one, p, audit, mapping, as_of, allow_duplicates)
                for p in paths]
        for i, (path, job) in enumerate(zip(paths, jobs, strict=True)):
            if progress is not None:
                progress(float(done + i), total, path.name)
            yield path, *job.result()


def _fork_context() -> Any:
    """multiprocessing's "fork", where the system has it and this process runs no other
    thread of Python's (a copy of a process whose other threads hold a lock can hang);
    else ``None``, and files are read here, one after another. Not "spawn": it imports
    the caller's main module again, which breaks a user's script that does not guard it
    with ``if __name__ == "__main__"``."""
    import multiprocessing
    import threading

    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def _collect(
    paths: list[Path], audit: str, mapping: MappingFile, audited: Sequence[str],
    as_of: dt.date | None, allow_duplicates: bool, progress: AuditProgress | None,
    done: int, total: int,
) -> _Collected:
    services: dict[str, _ServiceTally] = {}
    file_rows: list[dict] = []
    notes: list[tuple[str, str]] = []
    for path, parts, failure in _read_all(paths, audit, mapping, as_of, allow_duplicates,
                                          progress, done, total):
        if parts is None:
            file_rows.append(failure)
            continue
        names = []
        rows = 0
        shape = ""
        for (service, _period), profile in parts.items():
            if service is None:
                name = path.stem
            elif not str(service).strip():
                name = f"{path.stem} (service blank)"
            else:
                name = " ".join(str(service).split())
            tally = services.setdefault(service_key(name), _ServiceTally(name=name))
            _add_profile(tally, profile, audited, path.name)
            names.append(name)
            rows += profile.rows
            shape = profile.shape
            notes.extend((str(path), n) for n in profile.notes)
        file_rows.append({"audit": audit, "file": str(path), "status": "read",
                          "services": "; ".join(dict.fromkeys(names)), "records": rows,
                          "shape": shape, "code": "", "reason": "", "message": ""})
    if progress is not None:
        progress(float(done + len(paths)), total, "")
    return _Collected(services, file_rows, list(dict.fromkeys(notes)))


def _summary(collected: _Collected, th: Thresholds) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    invalid = []
    for _, tally in sorted(collected.services.items()):
        for key in th.audited:
            t = tally.chars.get(key, _CharTally())
            unknown = {r: int(t.unknown.get(r, 0)) for r in UNKNOWN_REASONS}
            if not t.collected:
                unknown["not_collected"] = tally.rows
            records = t.known + sum(unknown.values()) + t.invalid
            rows.append({
                "service": tally.name, "characteristic": key, "records": records,
                "known": t.known, "unknown": sum(unknown.values()), "invalid": t.invalid,
                "known_share": t.known / records if records else 0.0,
                "rag": th.rag(key, t.known, records),
                **{f"unknown_{r}": n for r, n in unknown.items()},
                "status": "collected" if t.collected else NOT_COLLECTED,
                "required": th.is_required(key, t.collected),
            })
            for (value, reason), n in t.invalid_values.items():
                invalid.append((tally.name, key, value, reason, int(n)))
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-4])
    for col in ("records", "known", "unknown", "invalid", *(f"unknown_{r}" for r in UNKNOWN_REASONS)):
        summary[col] = summary[col].astype("int64")
    summary["known_share"] = summary["known_share"].astype(float)
    summary["required"] = summary["required"].astype(bool)
    inv = pd.DataFrame(invalid, columns=INVALID_COLUMNS)
    if len(inv):
        order = {k: i for i, k in enumerate(th.audited)}
        inv = (inv.assign(_o=inv["characteristic"].map(order), _s=inv["service"].str.casefold())
               .sort_values(["_s", "_o", "count", "value"], ascending=[True, True, False, True])
               .drop(columns=["_o", "_s"]).reset_index(drop=True))
    inv["count"] = inv["count"].astype("int64")
    return summary, inv


# ---------------------------------------------------------------------------
# The result


@dataclass
class AuditResult:
    """What an audit found. The tables are the contract every output reads.

    ``summary``: one row per service x audited characteristic, ``SUMMARY_COLUMNS``
    (``known_share`` a fraction 0-1, ``change_pp`` in percentage points).
    ``invalid_values``: raw invalid values and their counts, ``INVALID_COLUMNS``
    (record-level data, for internal use only: they are the extracts' own text; see
    ``invalid_summary`` for the counts by reason). ``files``: every file looked
    at, read or not (``FILE_COLUMNS``). ``failures``: (file, message) for each file not
    read, current or previous.
    """

    summary: pd.DataFrame
    invalid_values: pd.DataFrame
    files: pd.DataFrame
    thresholds: Thresholds
    as_of: dt.date
    previous_given: bool = False
    previous_services: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failures(self) -> list[tuple[str, str]]:
        bad = self.files[self.files["status"] == "not read"]
        return list(zip(bad["file"], bad["message"], strict=True))

    @property
    def services(self) -> list[str]:
        return list(dict.fromkeys(self.summary["service"]))

    @property
    def missing_services(self) -> list[str]:
        """Services in the previous audit with no extract this time."""
        now = {service_key(s) for s in self.services}
        return [s for s in self.previous_services if service_key(s) not in now]

    def csv_table(self) -> pd.DataFrame:
        return self.summary[CSV_COLUMNS]

    def invalid_summary(self) -> pd.DataFrame:
        """Invalid values counted by service, characteristic and reason (how many records,
        how many distinct values): what outputs show unless the values are asked for."""
        inv = self.invalid_values
        if not len(inv):
            return pd.DataFrame(columns=INVALID_SUMMARY_COLUMNS)
        order = {k: i for i, k in enumerate(self.thresholds.audited)}
        out = (inv.groupby(["service", "characteristic", "reason"], sort=False)
               .agg(count=("count", "sum"), distinct_values=("value", "nunique"))
               .reset_index())
        out = (out.assign(_s=out["service"].str.casefold(), _o=out["characteristic"].map(order))
               .sort_values(["_s", "_o", "count", "reason"], ascending=[True, True, False, True])
               .drop(columns=["_s", "_o"]).reset_index(drop=True))
        return out[INVALID_SUMMARY_COLUMNS].astype({"count": "int64", "distinct_values": "int64"})

    def changes(self) -> pd.DataFrame:
        """Known share now and last time, for services in both audits."""
        cols = ["service", "characteristic", "previous_known_share", "known_share", "change_pp",
                "previous_rag", "rag"]
        if not self.previous_given:
            return pd.DataFrame(columns=cols)
        prev = {service_key(s) for s in self.previous_services}
        rows = self.summary[self.summary["service"].map(service_key).isin(prev)]
        return rows[cols].reset_index(drop=True)

    def grid(self) -> pd.DataFrame:
        """Services (rows, worst first) x characteristics (columns): known shares."""
        g = self.summary.pivot(index="service", columns="characteristic", values="known_share")
        g = g[[k for k in self.thresholds.audited if k in g.columns]]
        return g.loc[service_order(self)]


def service_order(result: AuditResult) -> list[str]:
    """Worst first: most red cells, then the lowest average known share, then by name."""
    s = result.summary
    if not len(s):
        return []
    by = s.groupby("service", sort=False).agg(
        reds=("rag", lambda r: int((r == "red").sum())), mean=("known_share", "mean"))
    by["name"] = [n.casefold() for n in by.index]
    by = by.sort_values(["reds", "mean", "name"], ascending=[False, True, True])
    return list(by.index)


def audit_paths(
    paths: Iterable[str | Path] | str | Path,
    previous: Iterable[str | Path] | str | Path | None = None,
    mapping: str | Path | MappingFile | None = None,
    thresholds: str | Path | Thresholds | None = None,
    as_of: dt.date | None = None,
    progress: AuditProgress | None = None,
    allow_duplicates: bool = False,
) -> AuditResult:
    """Audit the completeness of equality data in extracts (files or folders of files).

    ``previous``: last time's extracts, matched by service name (case-insensitively).
    Extracts of one service in several files (e.g. two providers) are added together.
    A file that cannot be read is listed in ``failures`` and the rest are still audited;
    a mapping or thresholds file that is wrong raises ``ConfigError`` (nothing to audit
    against). Reads each file whole, many files on two processes (``_read_all``).
    """
    as_of = as_of or dt.date.today()
    th = thresholds if isinstance(thresholds, Thresholds) else load_thresholds(thresholds)
    mf = mapping if isinstance(mapping, MappingFile) else load_mapping(mapping)
    current, skipped = find_extracts(_as_list(paths))
    before, skipped_before = find_extracts(_as_list(previous)) if previous is not None else ([], [])
    each_file_once(current)
    each_file_once(before)
    if not current:
        raise UsageError(
            "No extract files were found", code="no-extracts",
            details=[f"Skipped (not CSV, XLSX or Parquet): {p}" for p in skipped[:10]],
            hint="Give extract files or folders holding .csv, .xlsx or .parquet files.",
        )
    total = len(current) + len(before)
    now = _collect(current, "current", mf, th.audited, as_of, allow_duplicates, progress, 0, total)
    summary, invalid = _summary(now, th)
    previous_services: list[str] = []
    file_rows = list(now.files)
    if previous is not None:
        then = _collect(before, "previous", mf, th.audited, as_of, allow_duplicates, progress,
                        len(current), total)
        prev_summary, _ = _summary(then, th)
        previous_services = list(dict.fromkeys(prev_summary["service"]))
        file_rows += then.files
        summary = _with_previous(summary, prev_summary)
    else:
        summary["previous_known_share"] = float("nan")
        summary["previous_rag"] = ""
        summary["previous_status"] = ""
        summary["change_pp"] = float("nan")
    summary = summary[SUMMARY_COLUMNS]
    return AuditResult(
        summary=summary,
        invalid_values=invalid,
        files=pd.DataFrame(file_rows, columns=FILE_COLUMNS),
        thresholds=th,
        as_of=as_of,
        previous_given=previous is not None,
        previous_services=previous_services,
        skipped=[str(p) for p in (*skipped, *skipped_before)],
        notes=now.notes,
    )


def each_file_once(paths: list[Path]) -> None:
    """Refuse the same extract twice (given twice, as a file and in its folder, by a link,
    or a copy with the same contents): its records would be counted twice."""
    files = [p for p in paths if isinstance(p, Path)]
    for path, first in zip(files, same_files(files), strict=True):
        if first is not None:
            raise same_extract_error(path, first)
    tables = [p for p in paths if not isinstance(p, Path)]  # tables in a database
    for i, table in enumerate(tables):
        if table in tables[:i]:
            raise UsageError("The same table is given twice: its records would be counted "
                             "twice", code="duplicate-extract", file=str(table),
                             hint="Give each table once.")


def _as_list(paths: Iterable[str | Path] | str | Path) -> list[str | Path]:
    if isinstance(paths, str | Path):
        return [paths]
    return list(paths)


def _with_previous(summary: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    p = prev[["service", "characteristic", "known_share", "rag", "status"]].rename(
        columns={"known_share": "previous_known_share", "rag": "previous_rag",
                 "status": "previous_status"})
    p = p.assign(_k=p["service"].map(service_key)).drop(columns="service")
    out = summary.assign(_k=summary["service"].map(service_key)).merge(
        p, on=["_k", "characteristic"], how="left").drop(columns="_k")
    out["previous_rag"] = out["previous_rag"].fillna("")
    out["previous_status"] = out["previous_status"].fillna("")
    out["change_pp"] = 100 * (out["known_share"] - out["previous_known_share"])
    return out


# ---------------------------------------------------------------------------
# Reading the result


def worst_gaps(result: AuditResult, n: int = 10) -> pd.DataFrame:
    """The ``n`` service x characteristic gaps most worth chasing (amber or red).

    Required characteristics first; then the lowest known share; then the service
    with the most records (more people affected).
    """
    s = result.summary[result.summary["rag"] != "green"]
    s = s.sort_values(["required", "known_share", "records", "service"],
                      ascending=[False, True, False, True], kind="stable")
    return s[GAP_COLUMNS].head(n).reset_index(drop=True)


def below(result: AuditResult, pct: float) -> pd.DataFrame:
    """Required characteristics whose known share is below ``pct`` percent (exactly)."""
    if isinstance(pct, bool) or not 0 <= pct <= 100:
        raise UsageError(f"'{pct}' is not a percentage", code="bad-fail-under",
                         hint="Give --fail-under as a number from 0 to 100, e.g. 80.")
    cut = Fraction(str(pct))
    s = result.summary[result.summary["required"]]
    low = np.array([Fraction(100 * int(k), int(r)) < cut if r else True
                    for k, r in zip(s["known"], s["records"], strict=True)], dtype=bool)
    return s[low][GAP_COLUMNS].reset_index(drop=True)


#: A known share as the audit shows it: rounded down (``eqia.words.percent_down``).
share_text = percent_down


def change_text(change_pp: float, digits: int = 1) -> str:
    """Signed, in percentage points; a change that rounds to nothing is shown as 0."""
    return signed(change_pp, digits, " pp", blank=EMPTY)

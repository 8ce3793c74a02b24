"""The audit's work: find the extracts, count known, unknown and invalid records per
service and characteristic, rate each known share (``eqia.settings.thresholds``), and
compare with a previous audit. The rules it keeps are in ``eqia.documents.audit``."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eqia.analysis.lookalike import Lookalike, lookalikes, unused_columns
from eqia.analysis.profiling import profile_services
from eqia.errors import EqiaError, ErrorCode, InputError, UsageError
from eqia.read.files import CSV_SUFFIXES, EXCEL_SUFFIXES, PARQUET_SUFFIXES
from eqia.read.mapping import MappingFile, load_mapping
from eqia.read.providers import Providers, load_providers
from eqia.read.same import same_extract_error, same_files
from eqia.settings import characteristics as chars
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
    "status", "required", "lookalike",
    "previous_known_share", "previous_rag", "previous_status", "change_pp",
]
INVALID_COLUMNS = ["service", "characteristic", "value", "reason", "count"]
INVALID_SUMMARY_COLUMNS = ["service", "characteristic", "reason", "count", "distinct_values"]
#: On every sheet of a workbook that lists invalid values (``--list-invalid-values``).
PERSONAL_DATA = "INTERNAL – lists invalid values from the extracts: personal data"
FILE_COLUMNS = ["audit", "file", "status", "provider", "mapping", "services", "records", "shape",
                "code", "reason", "message"]
GAP_COLUMNS = ["service", "characteristic", "status", "records", "known", "known_share", "rag",
               "previous_known_share", "change_pp", "required", "lookalike"]
#: What the audit warns about (``AuditResult.warnings``): an unused column that looks like
#: a characteristic counted as not collected, a mapped column a file lacks, a provider's
#: pattern that matches no file.
WARNING_COLUMNS = ["audit", "file", "characteristic", "column", "message"]
#: How the files sheet names the mapping of a file read without one.
NO_MAPPING = "none (column names eqia knows)"
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
    lookalikes: list[str] = field(default_factory=list)  # unused columns that look like it


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
    warnings: list[dict] = field(default_factory=list)


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


def _mapping_label(mapping: MappingFile) -> str:
    return mapping.path or NO_MAPPING


def _profile(path: Path, mapping: MappingFile, as_of: dt.date | None, allow_duplicates: bool,
             progress: Callable[[float], None] | None,
             ) -> tuple[dict, MappingFile, list[tuple[str, str]]]:
    """The file's profiles per service; a column the mapping names for a characteristic
    that this file lacks makes that characteristic not collected here, not the whole file
    unread (one mapping may serve files that hold different characteristics). Returns the
    mapping as used and the (characteristic, column) pairs dropped, for the warnings."""
    dropped: list[tuple[str, str]] = []
    while True:
        try:
            return profile_services(path, mapping, as_of=as_of,
                                    allow_duplicates=allow_duplicates, progress=progress,
                                    by_age=False), mapping, dropped
        except InputError as exc:
            keys = [k for k, c in mapping.columns.items() if c == exc.column]
            if exc.code != ErrorCode.MISSING_COLUMN or not keys:
                raise
            dropped += [(k, exc.column) for k in keys]
            mapping = replace(mapping, columns={k: c for k, c in mapping.columns.items()
                                                if k not in keys})


def _dropped_warning(audit: str, path: Path, mapping: MappingFile, key: str, column: str,
                     parts: dict) -> dict:
    instead = next((p.columns[key] for p in parts.values() if key in p.columns), None)
    name = chars.display_name(key)
    then = (f"{name} was read from its column '{instead}' (a name eqia knows) instead"
            if instead else f"{name} is counted as not collected for its records")
    return {"audit": audit, "file": str(path), "characteristic": key, "column": column,
            "message": f"The mapping file {Path(mapping.path or '').name} names column "
                       f"'{column}' for {name.lower()}, but {path.name} has no such column: "
                       f"{then}. If this provider's files differ, give them their own mapping "
                       "(--providers)."}


def _lookalikes(path: Path, mapping: MappingFile, parts: dict,
                audited: Sequence[str]) -> list[Lookalike]:
    """Unused columns of a file (not a table in a database, not a table of counts) that
    look like an audited characteristic none of its profiles collects."""
    from eqia.read.columns import is_aggregated
    from eqia.read.extract import streams
    from eqia.read.files import read_table
    from eqia.read.scan import inspect

    profiles = list(parts.values())
    missing = [k for k in audited if not any(p.is_collected(k) for p in profiles)]
    if not missing or not isinstance(path, Path) or any(p.shape != "records" for p in profiles):
        return []
    try:
        if path.suffix.lower() in CSV_SUFFIXES | PARQUET_SUFFIXES:  # the header first: cheap
            src = inspect(path, mapping)
            if src is None or not unused_columns(src.columns, mapping, path.name):
                return []
            if streams(path):  # too big to read again: names alone
                return lookalikes(src.columns, mapping, missing, source=path.name)
        table = read_table(path, mapping=mapping)
    except (EqiaError, OSError):  # read once already: nothing more to say than the audit's
        return []
    columns = [str(c) for c in table.data.columns]
    if is_aggregated(columns):
        return []
    return lookalikes(columns, mapping, missing, lambda c: table.data[c].value_counts(sort=False),
                      source=path.name)


def _lookalike_warning(audit: str, path: Path, mapping: MappingFile, found: Lookalike) -> dict:
    name = chars.display_name(found.key)
    where = (f"the mapping file {Path(mapping.path).name}" if mapping.path
             else "a mapping file (--map, or the provider's in --providers)")
    return {"audit": audit, "file": str(path), "characteristic": found.key,
            "column": found.column,
            "message": f"Column '{found.column}' of {path.name} is not used, but looks like "
                       f"{name.lower()}: {found.why}. {name} is counted as not collected for "
                       f"this file's records. If the column holds it, add the line "
                       f"{found.key}: \"{found.column}\" under columns: in {where} "
                       f"(`eqia map suggest {path.name}` drafts it, with any local codes)."}


#: An audit of at least this many files reads them side by side, on up to
#: ``READERS`` processes (each reads whole files; what is counted, and the order it is
#: added in, is as one process gives). Fewer files are not worth the start-up (about
#: 0.5 s a process).
PARALLEL_FROM = 8
READERS = min(2, os.cpu_count() or 1)


def _read_one(path: Path, audit: str, mapping: MappingFile, as_of: dt.date | None,
              allow_duplicates: bool, progress: Callable[[float], None] | None = None,
              ) -> tuple[tuple | None, dict | None]:
    """What ``_profile`` gives for one file, or the row saying why it was not read."""
    try:
        return _profile(path, mapping, as_of, allow_duplicates, progress), None
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the audit
        return None, _file_failure(audit, path, exc)


def _read_all(
    paths: list[Path], audit: str, mappings: list[MappingFile], as_of: dt.date | None,
    allow_duplicates: bool, progress: AuditProgress | None, done: int, total: int,
) -> Iterator[tuple[Path, tuple | None, dict | None]]:
    """``_read_one`` for each file with its mapping, in the order given: on several
    processes when there are many files (tables in a database are counted by their
    engine, in this one)."""
    context = _fork_context() if READERS > 1 and len(paths) >= PARALLEL_FROM else None
    if context is None or not all(isinstance(p, Path) for p in paths):
        for i, path in enumerate(paths):
            tick = None
            if progress is not None:
                progress(float(done + i), total, path.name)

                def tick(frac: float, _base: int = done + i, _name: str = path.name) -> None:
                    progress(_base + min(max(frac, 0.0), 1.0), total, _name)

            yield path, *_read_one(path, audit, mappings[i], as_of, allow_duplicates, tick)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(READERS, mp_context=context) as pool:
        jobs = [pool.submit(_read_one, p, audit, m, as_of, allow_duplicates)
                for p, m in zip(paths, mappings, strict=True)]
        for i, (path, job) in enumerate(zip(paths, jobs, strict=True)):
            if progress is not None:
                progress(float(done + i), total, path.name)
            yield path, *job.result()


def _fork_context() -> Any:
    """multiprocessing's "fork", where the system has it and this process runs no other
    thread, Python's or a library's (a copy of a process whose other threads hold a lock
    can hang: Python 3.12+ warns of it); else ``None``, and files are read here, one after
    another. Not "spawn": it imports the caller's main module again, which breaks a user's
    script that does not guard it with ``if __name__ == "__main__"``."""
    import multiprocessing
    import threading

    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    try:  # the system's threads (DuckDB's, Arrow's, a maths library's), where it lists them
        if len(os.listdir("/proc/self/task")) > 1:
            return None
    except OSError:
        return None  # threads cannot be counted here: reading one file at a time is safe
    return multiprocessing.get_context("fork")


def _collect(
    paths: list[Path], audit: str, mapping: MappingFile, audited: Sequence[str],
    as_of: dt.date | None, allow_duplicates: bool, progress: AuditProgress | None,
    done: int, total: int, providers: Providers | None = None,
) -> _Collected:
    services: dict[str, _ServiceTally] = {}
    file_rows: list[dict] = []
    notes: list[tuple[str, str]] = []
    warnings: list[dict] = []
    providers = providers or Providers()
    chosen = [providers.choose(path) for path in paths]
    mappings = [c.mapping if c is not None else mapping for c in chosen]
    read = _read_all(paths, audit, mappings, as_of, allow_duplicates, progress, done, total)
    for (path, got, failure), provider, mf in zip(read, chosen, mappings, strict=True):
        how = {"provider": provider.name if provider is not None else "",
               "mapping": _mapping_label(mf)}
        if got is None:
            file_rows.append({**failure, **how})
            continue
        parts, used, dropped = got
        warnings += [_dropped_warning(audit, path, mf, k, c, parts) for k, c in dropped]
        # last time's files are not mapped again: only this audit's columns are worth a look
        found = _lookalikes(path, used, parts, audited) if audit == "current" else []
        warnings += [_lookalike_warning(audit, path, mf, f) for f in found]
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
            for f in found:
                if f.column not in tally.chars[f.key].lookalikes:
                    tally.chars[f.key].lookalikes.append(f.column)
            names.append(name)
            rows += profile.rows
            shape = profile.shape
            notes.extend((str(path), n) for n in profile.notes)
        file_rows.append({"audit": audit, "file": str(path), "status": "read", **how,
                          "services": "; ".join(dict.fromkeys(names)), "records": rows,
                          "shape": shape, "code": "", "reason": "", "message": ""})
    if progress is not None:
        progress(float(done + len(paths)), total, "")
    return _Collected(services, file_rows, list(dict.fromkeys(notes)), warnings)


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
                "lookalike": "" if t.collected else "; ".join(t.lookalikes),
            })
            for (value, reason), n in t.invalid_values.items():
                invalid.append((tally.name, key, value, reason, int(n)))
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-4])
    summary["lookalike"] = summary["lookalike"].astype(str)
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
    at, read or not, with the provider and mapping it was read with (``FILE_COLUMNS``).
    ``failures``: (file, message) for each file not read, current or previous.
    ``warnings``: what was read but may be wrong (``WARNING_COLUMNS``).
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
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNING_COLUMNS))

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


def grid_keys(result: AuditResult) -> list[str]:
    """The grid's characteristics: those some service collects, those required, and those
    a column seems to hold (``lookalike``); the rest are "not collected by any service"."""
    th = result.thresholds
    s = result.summary
    shown = set(s.loc[(s["status"] == "collected") | (s["lookalike"] != ""), "characteristic"])
    return [k for k in th.audited if k in shown or (th.required and k in th.required)]


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
    providers: str | Path | Providers | None = None,
    excuse: Iterable[str] = (),
) -> AuditResult:
    """Audit the completeness of equality data in extracts (files or folders of files).

    ``previous``: last time's extracts, matched by service name (case-insensitively).
    Extracts of one service in several files (e.g. two providers) are added together.
    A file that cannot be read is listed in ``failures`` and the rest are still audited;
    a mapping, providers or thresholds file that is wrong raises ``ConfigError`` (nothing
    to audit against). Reads each file whole, many files on two processes (``_read_all``).

    ``providers``: which mapping (and Excel sheet, header row) reads which provider's
    files, by file-name pattern (``eqia.read.providers``); ``mapping`` reads the others.
    ``excuse``: characteristics a service need not collect (``Thresholds.excused``).
    """
    as_of = as_of or dt.date.today()
    th = thresholds if isinstance(thresholds, Thresholds) else load_thresholds(thresholds)
    th = excusing(th, excuse)
    mf = mapping if isinstance(mapping, MappingFile) else load_mapping(mapping)
    pv = providers if isinstance(providers, Providers) else load_providers(providers)
    current, skipped = find_extracts(_as_list(paths))
    before, skipped_before = find_extracts(_as_list(previous)) if previous is not None else ([], [])
    each_file_once(current)
    each_file_once(before)
    for path in (*current, *before):  # two providers for one file: before reading any
        pv.choose(path)
    if not current:
        raise UsageError(
            "No extract files were found", code="no-extracts",
            details=[f"Skipped (not CSV, XLSX or Parquet): {p}" for p in skipped[:10]],
            hint="Give extract files or folders holding .csv, .xlsx or .parquet files.",
        )
    total = len(current) + len(before)
    now = _collect(current, "current", mf, th.audited, as_of, allow_duplicates, progress, 0,
                   total, pv)
    summary, invalid = _summary(now, th)
    previous_services: list[str] = []
    then_warnings: list[dict] = []
    file_rows = list(now.files)
    if previous is not None:
        then = _collect(before, "previous", mf, th.audited, as_of, allow_duplicates, progress,
                        len(current), total, pv)
        prev_summary, _ = _summary(then, th)
        previous_services = list(dict.fromkeys(prev_summary["service"]))
        file_rows += then.files
        then_warnings = then.warnings
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
        warnings=pd.DataFrame([*_unmatched(pv, current), *now.warnings, *then_warnings],
                              columns=WARNING_COLUMNS),
    )


def excusing(th: Thresholds, keys: Iterable[str]) -> Thresholds:
    """``th`` with ``keys`` excused too (``eqia audit --excuse``): characteristic keys,
    as in the thresholds file; an error naming the keys for one eqia does not know."""
    keys = list(keys)
    for key in keys:
        if key not in chars.keys():
            raise UsageError(f"--excuse '{key}' is not a characteristic eqia knows",
                             code=ErrorCode.UNKNOWN_CHARACTERISTIC, value=key,
                             hint="Use one of: " + ", ".join(chars.keys()) + ".")
    if not keys:
        return th
    return replace(th, excused=tuple(dict.fromkeys((*th.excused, *keys))))


def _unmatched(providers: Providers, paths: list[Path]) -> list[dict]:
    return [{"audit": "current", "file": "", "characteristic": "", "column": "",
             "message": f"No file matches provider {p.name}'s pattern "
                        f"({', '.join(p.patterns)}) in {Path(providers.source or '').name}: "
                        "check the pattern, or whether the provider sent an extract."}
            for p in providers.unmatched(paths)]


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
    """Required characteristics collected whose known share is below ``pct`` percent
    (exactly). Those not collected at all are ``uncollected``."""
    if isinstance(pct, bool) or not 0 <= pct <= 100:
        raise UsageError(f"'{pct}' is not a percentage", code="bad-fail-under",
                         hint="Give --fail-under as a number from 0 to 100, e.g. 80.")
    cut = Fraction(str(pct))
    s = result.summary[result.summary["required"]
                       & (result.summary["status"] != NOT_COLLECTED)]
    low = np.array([Fraction(100 * int(k), int(r)) < cut if r else True
                    for k, r in zip(s["known"], s["records"], strict=True)], dtype=bool)
    return s[low][GAP_COLUMNS].reset_index(drop=True)


def uncollected(result: AuditResult) -> pd.DataFrame:
    """Services that do not collect a characteristic they must (``Thresholds.must_collect``:
    required and not excused): ``--fail-under`` fails on these whatever its percentage."""
    s = result.summary
    must = s["characteristic"].map(result.thresholds.must_collect).astype(bool)
    return s[(s["status"] == NOT_COLLECTED) & must][GAP_COLUMNS].reset_index(drop=True)


#: A known share as the audit shows it: rounded down (``eqia.words.percent_down``).
share_text = percent_down


def change_text(change_pp: float, digits: int = 1) -> str:
    """Signed, in percentage points; a change that rounds to nothing is shown as 0."""
    return signed(change_pp, digits, " pp", blank=EMPTY)

"""Completeness across services and periods: how much equality data is known, and why not.

An equality lead gets extracts from many teams and providers. ``audit_paths`` reads
them one file at a time (through ``profile.profile_services``, so large files are
streamed), and for every service x characteristic counts the records whose value is
known, unknown (blank, not stated, not known; or not collected at all) and invalid,
rates the known share green / amber / red against the council's thresholds
(``data/thresholds.yaml``) and compares it with a previous audit.

Default thresholds: green at 90% known or more, amber from 70%, red below. The measure
is the "valid and complete" idea of NHS Digital's Data Quality Maturity Index (DQMI);
the two cut-offs are judgements, explained in ``data/thresholds.yaml``: at 90% known a
group's share can be off by at most 10 percentage points even if every unknown record
belonged to it; below 70% that bound is wider than most groups an EqIA looks at.

Rules this module keeps:

* every record of a service is counted for every audited characteristic:
  ``records = known + unknown + invalid``, where a file that has no column for a
  characteristic adds its records to ``unknown`` (reason ``not_collected``);
* a file that cannot be read is never counted as empty or skipped silently: it is listed
  in ``AuditResult.failures`` with the reason, and the other files are still audited;
* outputs hold aggregate counts only, never a record: invalid values are counted by
  service, characteristic and reason (``invalid_summary``); the values themselves
  (``invalid_values``, in full, never cut short or merged) reach the workbook only when
  asked for (``eqia audit --list-invalid-values``), which marks it as personal data,
  and never the narrative;
* nothing here prints or exits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eqia.errors import ConfigError, EqiaError, UsageError
from eqia.outputs import atomic_write
from eqia.read.extract import profile_services
from eqia.read.files import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    PARQUET_SUFFIXES,
    same_extract_error,
    same_files,
)
from eqia.read.mapping import MappingFile, load_mapping
from eqia.settings import characteristics as chars
from eqia.settings.schema import Choice, Fields, ListOf, MapOf, Number, validate
from eqia.settings.yamlfile import YamlDoc, parse_yaml_doc, read_yaml_doc
from eqia.spreadsheet import cell_value, save_workbook, write_frame

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
RAGS = ("green", "amber", "red")
RAG_LABELS = {"green": "Green", "amber": "Amber", "red": "Red"}
NOT_COLLECTED = "not collected"

#: Files in a folder that are read as extracts. Others in the folder (a README.pdf) are
#: listed as skipped; ``.xls`` is included so that the user is told it cannot be read.
EXTRACT_SUFFIXES = CSV_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES | {".xls"}

#: ``progress(files_done, files_total, file_name)``; ``files_done`` counts part of a file
#: as a fraction while a large file is streamed.
AuditProgress = Callable[[float, int, str], None]


# ---------------------------------------------------------------------------
# Thresholds


@dataclass(frozen=True)
class Thresholds:
    """Green and amber cut-offs (percent known), what is audited and what is required.

    The meaning of each setting is documented in ``data/thresholds.yaml``.
    """

    green: Fraction
    amber: Fraction
    characteristics: dict[str, tuple[Fraction, Fraction]] = field(default_factory=dict)
    audited: tuple[str, ...] = ()
    required: tuple[str, ...] | None = None
    source: str = "eqia defaults"

    def cutoffs(self, key: str) -> tuple[Fraction, Fraction]:
        """(green, amber) for a characteristic, in percent."""
        return self.characteristics.get(key, (self.green, self.amber))

    def rag(self, key: str, known: int, records: int) -> str:
        """Rated exactly (no rounding): 90% known is green, 89.99% amber."""
        green, amber = self.cutoffs(key)
        if records <= 0:
            return "red"
        share = Fraction(100 * known, records)
        if share >= green:
            return "green"
        if share >= amber:
            return "amber"
        return "red"

    def is_required(self, key: str, collected: bool) -> bool:
        if self.required is None:
            return collected
        return key in self.required


THRESHOLD_KEYS = ("green", "amber", "characteristics", "audited", "required")
_PERCENT = Number(min=0, max=100, words="a percentage from 0 to 100, e.g. 90", empty_ok=False)
_KEYS = ListOf(item=Choice(options=tuple(chars.keys()), noun="a characteristic eqia knows"),
               single=True,
               hint="e.g. [age, sex, ethnicity]. Use: " + ", ".join(chars.keys()) + ".")
#: Everything a thresholds file may hold (the defaults are in ``data/thresholds.yaml``).
THRESHOLD_SCHEMA = Fields(noun="setting", fields={
    "green": _PERCENT,
    "amber": _PERCENT,
    "characteristics": MapOf(
        key=Choice(options=tuple(chars.keys()), noun="a characteristic eqia knows"),
        value=Fields(noun="setting", fields={"green": _PERCENT, "amber": _PERCENT}),
        hint="e.g.\ncharacteristics:\n  religion: {green: 80, amber: 60}"),
    "audited": replace(_KEYS, empty_ok=False),
    "required": _KEYS,
})
assert set(THRESHOLD_KEYS) == set(THRESHOLD_SCHEMA.fields)


def _thresholds_doc(doc: YamlDoc) -> dict:
    return validate(doc, THRESHOLD_SCHEMA, "bad-thresholds",
                    hint="The settings are explained in eqia's data/thresholds.yaml.")


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """The packaged thresholds, with a council's file (only the keys it changes) on top."""
    raw = _thresholds_doc(parse_yaml_doc(
        files("eqia").joinpath("data/thresholds.yaml").read_text(encoding="utf-8"),
        "eqia/data/thresholds.yaml", "eqia's thresholds file"))
    source = "eqia defaults"
    doc = None
    if path is not None:
        doc = read_yaml_doc(path, "the thresholds file",
                            missing_hint="Check the path given to --thresholds.")
        raw = {**raw, **_thresholds_doc(doc)}
        source = doc.source

    def order(green: Any, amber: Any, at: tuple, example: str) -> tuple[Fraction, Fraction]:
        g, a = Fraction(str(green)), Fraction(str(amber))
        if a > g:
            raise ConfigError(f"amber must not be above green{f' for {at[-1]}' if at else ''}",
                              code="bad-thresholds", file=source,
                              line=doc.line(at) if doc else None,
                              setting=doc.label(at) if doc and at else None,
                              hint="amber is the lowest share that is not red, e.g. "
                                   f"{example}.")
        return g, a

    green, amber = order(raw["green"], raw["amber"], (), "green: 90, amber: 70")
    per = {key: order(cut.get("green", green), cut.get("amber", amber),
                      ("characteristics", key), f"{key}: {{green: 80, amber: 60}}")
           for key, cut in (raw.get("characteristics") or {}).items()}
    audited = tuple(dict.fromkeys(raw["audited"]))
    required = raw.get("required")
    req = None if required is None else tuple(dict.fromkeys(required))
    if req is not None:
        audited = (*audited, *(k for k in req if k not in audited))
    return Thresholds(green=green, amber=amber, characteristics=per, audited=audited,
                      required=req, source=source)


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


def _collect(
    paths: list[Path], audit: str, mapping: MappingFile, audited: Sequence[str],
    as_of: dt.date | None, allow_duplicates: bool, progress: AuditProgress | None,
    done: int, total: int,
) -> _Collected:
    services: dict[str, _ServiceTally] = {}
    file_rows: list[dict] = []
    notes: list[tuple[str, str]] = []
    for i, path in enumerate(paths):
        tick = None
        if progress is not None:
            progress(float(done + i), total, path.name)

            def tick(frac: float, _base: int = done + i, _name: str = path.name) -> None:
                progress(_base + min(max(frac, 0.0), 1.0), total, _name)

        try:
            parts = profile_services(path, mapping, as_of=as_of,
                                     allow_duplicates=allow_duplicates, progress=tick,
                                     by_age=False)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the audit
            file_rows.append(_file_failure(audit, path, exc))
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
    against). Reads one file at a time.
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
    for path, first in zip(paths, same_files(paths), strict=True):
        if first is not None:
            raise same_extract_error(path, first)


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


def share_text(known: int, records: int, digits: int = 1) -> str:
    """A known share as text, rounded DOWN so that "90.0%" always meets a 90% threshold."""
    if records <= 0:
        return "–"
    scale = 10**digits
    value = math.floor(Fraction(100 * scale * int(known), int(records))) / scale
    return f"{value:.{digits}f}%"


def change_text(change_pp: float, digits: int = 1) -> str:
    """Signed, in percentage points; a change that rounds to nothing is shown as 0."""
    if change_pp is None or change_pp != change_pp:
        return ""
    value = round(float(change_pp), digits)
    if value == 0:
        return f"{0:.{digits}f} pp"
    return f"{value:+.{digits}f} pp".replace("-", "−")


def characteristic_name(key: str) -> str:
    return chars.display_name(key)


def _subject(key: str) -> str:
    """A characteristic as the subject of "... is recorded for 80% of users"."""
    return chars.recorded(key)[:1].upper() + chars.recorded(key)[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------------------
# Documents: the narrative's content, as blocks shared by the .docx and the HTML


def _share_sentence(row: pd.Series) -> str:
    """"Religion is recorded for 30% of OPPD users, up from 22%." (whole percent, down)."""
    now = share_text(row["known"], row["records"], 0)
    text = f"{_subject(row['characteristic'])} is recorded for {now} of {row['service']} users"
    prev = row["previous_known_share"]
    if prev == prev and prev is not None:
        before = f"{math.floor(round(prev * 100, 9))}%"
        if before == now:
            text += f", the same as last time ({before})"
        elif row["previous_status"] == NOT_COLLECTED:
            text += ", up from 0% (not collected last time)"
        elif row["change_pp"] > 0:
            text += f", up from {before}"
        else:
            text += f", down from {before}"
    return text + "."


def narrative(result: AuditResult) -> list[dict]:
    """The short narrative for an annual report, as blocks: ``{"kind": "h1"|"h2"|"p"|"ul",
    "text": str, "items": [str]}``. Shares and counts of services only: no raw codes."""
    s = result.summary
    th = result.thresholds
    blocks: list[dict] = []

    def h(level: int, text: str) -> None:
        blocks.append({"kind": f"h{level}", "text": text, "items": []})

    def p(text: str) -> None:
        blocks.append({"kind": "p", "text": text, "items": []})

    def ul(items: list[str]) -> None:
        if items:
            blocks.append({"kind": "ul", "text": "", "items": items})

    services = result.services
    read = result.files[(result.files["audit"] == "current") & (result.files["status"] == "read")]
    h(1, f"Equality data completeness: services as at {_date_text(result.as_of)}")
    p(f"This audit looks at how often services record the protected characteristics of the "
      f"people they serve. It covers {len(services)} service{'s' if len(services) != 1 else ''} "
      f"from {len(read)} extract file{'s' if len(read) != 1 else ''}. A characteristic is "
      f"green when at least {_pct(th.green)} of records hold a known value, amber from "
      f"{_pct(th.amber)}, and red below that" + (" (some characteristics have their own "
                                                   "thresholds)." if th.characteristics else "."))
    p("The detailed workbook (audit.xlsx) is for internal use: it counts invalid values by "
      "service and reason, and lists the values themselves only when asked to, as personal "
      "data. This narrative gives shares only.")
    counts = s["rag"].value_counts()
    collected = s[s["status"] == "collected"]
    h(2, "Summary")
    n_red, n_nc = int(counts.get("red", 0)), int((s["status"] == NOT_COLLECTED).sum())
    p(f"Of {len(s)} service and characteristic pairs, {int(counts.get('green', 0))} are green, "
      f"{int(counts.get('amber', 0))} amber and {n_red} red"
      + (f" ({n_nc} of them because the service does not collect the characteristic at "
         "all)." if n_nc else "."))
    if len(collected):
        overall = []
        for key in th.audited:
            rows = collected[collected["characteristic"] == key]
            if len(rows):
                overall.append(f"{_lower(_subject(key))} "
                               f"{share_text(int(rows['known'].sum()), int(rows['records'].sum()), 0)}")
        p("Across the services that collect them, the shares of records with a known value "
          "are: " + _join(overall) + ".")
    if result.previous_given:
        ch = s.dropna(subset=["change_pp"])
        up = int((ch["change_pp"] >= 1).sum())
        down = int((ch["change_pp"] <= -1).sum())
        p(f"Since the previous audit, recording improved by at least one percentage point for "
          f"{up} pair{'s' if up != 1 else ''} and fell by at least one point for {down} "
          f"pair{'s' if down != 1 else ''}.")
        if result.missing_services:
            p("No extract was received this time from: " + _join(result.missing_services) + ".")
    gaps = worst_gaps(result)
    if len(gaps):
        h(2, "Gaps to chase")
        items = []
        missing: dict[str, list[str]] = {}
        for _, g in gaps.iterrows():
            row = s[(s["service"] == g["service"]) & (s["characteristic"] == g["characteristic"])].iloc[0]
            if g["status"] == NOT_COLLECTED:
                if g["service"] not in missing:
                    missing[g["service"]] = []
                    items.append(g["service"])  # placeholder, one sentence per service
                missing[g["service"]].append(_lower(_subject(g["characteristic"])))
            else:
                items.append(_share_sentence(row))
        ul([f"{i} does not record {_join(missing[i])}." if i in missing else i
             for i in items])
    h(2, "By service")
    for name in service_order(result):
        rows = s[s["service"] == name]
        h(3, name)
        good = rows[(rows["rag"] == "green")]
        sentences = []
        if len(good):
            sentences.append(
                _join([f"{_lower(_subject(r['characteristic']))} "
                       f"({share_text(r['known'], r['records'], 0)})"
                       for _, r in good.iterrows()]).capitalize()
                + (" are" if len(good) > 1 else " is") + " recorded well.")
        for _, r in rows[(rows["rag"] != "green") & (rows["status"] == "collected")].iterrows():
            sentences.append(_share_sentence(r))
        missing = rows[rows["status"] == NOT_COLLECTED]
        if len(missing):
            sentences.append(f"{name} does not record "
                             + _join([_lower(_subject(k))
                                      for k in missing["characteristic"]]) + ".")
        p(" ".join(sentences))
    failed = result.files[result.files["status"] == "not read"]
    if len(failed):
        h(2, "Files not read")
        p(f"{len(failed)} file{'s' if len(failed) != 1 else ''} could not be read; the figures "
          "above do not include any records from:")
        ul([f"{Path(f).name} ({a}): {r}" for f, a, r in
            zip(failed["file"], failed["audit"], failed["reason"], strict=True)])
    return blocks


def _date_text(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"  # not %-d: Windows' strftime has no such code


def _pct(x: Fraction) -> str:
    return f"{float(x):g}%"


# ---------------------------------------------------------------------------
# Writing the documents

WORKBOOK, PAGE, NARRATIVE_DOCX, NARRATIVE_HTML, CSV_FILE = (
    "audit.xlsx", "audit.html", "audit_narrative.docx", "audit_narrative.html", "audit.csv",
)
FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
FONTS = {"green": "006100", "amber": "7A5500", "red": "9C0006"}


def write_outputs(result: AuditResult, folder: str | Path,
                  list_invalid_values: bool = False) -> list[Path]:
    """Write the csv, the workbook, the HTML heatmap and the narrative (.docx and .html),
    all moved into place together (``eqia.outputs.Staged``). Only the workbook ever
    lists invalid values, and only with ``list_invalid_values``."""
    from eqia.outputs import Staged

    names = [CSV_FILE, WORKBOOK, PAGE, NARRATIVE_DOCX, NARRATIVE_HTML]
    with Staged(folder) as stage:
        stage.write_text(CSV_FILE, csv_text(result))
        write_workbook(result, stage.path(WORKBOOK), list_invalid_values)
        stage.write_text(PAGE, render_page(result))
        write_narrative_docx(result, stage.path(NARRATIVE_DOCX))
        stage.write_text(NARRATIVE_HTML, render_narrative_html(result))
    return [Path(folder) / n for n in names]


def csv_text(result: AuditResult) -> str:
    """``audit.csv`` and ``eqia audit --format csv``: ``CSV_COLUMNS``."""
    from eqia.spreadsheet import to_csv

    return to_csv(result.csv_table(), float_format="%.6f")


def _header(ws: Any, columns: list[str], widths: dict[str, int] | None = None) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws.append([cell_value(c) for c in columns])
    for i, name in enumerate(columns, start=1):
        ws.cell(row=1, column=i).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(
            name, max(12, len(name) + 2))


def _frame_sheet(wb: Any, title: str, frame: pd.DataFrame, pct_cols: Sequence[str] = (),
                 widths: dict[str, int] | None = None, empty: str = "") -> Any:
    ws = wb.create_sheet(title)
    cols = list(frame.columns)
    _header(ws, cols, widths)
    write_frame(ws, frame, start_row=2, header=False)
    for name in pct_cols:
        j = cols.index(name) + 1
        for r in range(2, ws.max_row + 1):
            ws.cell(row=r, column=j).number_format = "0.0%"
    if not len(frame) and empty:
        ws.cell(row=2, column=1, value=empty)
    ws.freeze_panes = "A2"
    if len(frame):
        ws.auto_filter.ref = ws.dimensions
    return ws


def write_workbook(result: AuditResult, path: str | Path,
                   list_invalid_values: bool = False) -> None:
    """Summary grid (conditional formatting, frozen header row and column), detail,
    invalid values (counted by reason; listed one by one with ``list_invalid_values``,
    which marks every sheet as personal data), change, and files."""
    from openpyxl import Workbook
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    th = result.thresholds
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    keys = list(th.audited)
    _header(ws, ["Service", *(characteristic_name(k) for k in keys)], {"Service": 32})
    s = result.summary.set_index(["service", "characteristic"])
    for name in service_order(result):
        values: list[Any] = [cell_value(name)]
        for k in keys:
            r = s.loc[(name, k)]
            values.append(NOT_COLLECTED if r["status"] == NOT_COLLECTED else float(r["known_share"]))
        ws.append(values)
    last = ws.max_row
    for j, key in enumerate(keys, start=2):
        col = get_column_letter(j)
        green, amber = th.cutoffs(key)
        g, a = float(green) / 100, float(amber) / 100
        # Shown with its RAG as text too (number format), so colour is never the only cue.
        fmt = f'[>={g}]0.0%" green";[>={a}]0.0%" amber";0.0%" red"'
        for r in range(2, last + 1):
            cell = ws.cell(row=r, column=j)
            cell.alignment = Alignment(horizontal="right")
            if isinstance(cell.value, float):
                cell.number_format = fmt
        if last >= 2:
            ref = f"{col}2:{col}{last}"
            top = f"{col}2"
            for rag, formula in (
                ("red", f"ISTEXT({top})"),
                ("green", f"AND(ISNUMBER({top}),{top}>={g})"),
                ("amber", f"AND(ISNUMBER({top}),{top}>={a})"),
                ("red", f"ISNUMBER({top})"),
            ):
                ws.conditional_formatting.add(ref, FormulaRule(
                    formula=[formula], stopIfTrue=True,
                    fill=PatternFill(start_color=FILLS[rag], end_color=FILLS[rag], fill_type="solid"),
                    font=Font(color=FONTS[rag])))
        ws.column_dimensions[col].width = max(14, min(len(characteristic_name(key)) + 2, 22))
    ws.freeze_panes = "B2"
    ws.cell(row=last + 2, column=1, value=(
        f"Share of records with a known value, as at {result.as_of.isoformat()}. "
        f"Thresholds: {th.source}. Rounded down to 0.1%."))
    _frame_sheet(wb, "Detail", result.summary, pct_cols=["known_share", "previous_known_share"],
                 widths={"service": 32, "characteristic": 28})
    invalid = result.invalid_values if list_invalid_values else result.invalid_summary()
    inv = _frame_sheet(wb, "Invalid values", invalid,
                       widths={"service": 32, "characteristic": 28, "value": 40, "reason": 36,
                               "distinct_values": 16},
                       empty="No invalid values.")
    inv.sheet_properties.tabColor = "9C0006"
    changes = result.changes()
    _frame_sheet(wb, "Change", changes, pct_cols=["previous_known_share", "known_share"],
                 widths={"service": 32, "characteristic": 28},
                 empty="No previous audit given." if not result.previous_given else
                 "No service is in both audits.")
    files_ws = _frame_sheet(wb, "Files", result.files.drop(columns=["reason"]),
                            widths={"file": 48, "services": 32, "message": 80})
    row = files_ws.max_row + 2
    bad = result.files[result.files["status"] == "not read"]
    files_ws.cell(row=row, column=1, value=(
        f"Files not read: {len(bad)}. Their records are not in any figure."
        if len(bad) else "Files not read: none. Every file was read."))
    for p in result.skipped:
        row += 1
        files_ws.cell(row=row, column=1,
                      value=cell_value(f"Skipped (not an extract format): {p}"))
    wb.properties.title = "Equality data completeness audit"
    if list_invalid_values:
        wb.properties.keywords = PERSONAL_DATA
        for sheet in wb.worksheets:
            sheet.oddHeader.center.text = sheet.oddFooter.center.text = PERSONAL_DATA
    atomic_write(path, lambda p: save_workbook(wb, p))


# -- HTML ---------------------------------------------------------------------


def _render(name: str, ctx: dict) -> str:
    """eqia's own template, in the same sandbox as every other document."""
    from eqia.render import _jinja

    return _jinja.render_text(_jinja.environment(None, autoescape=True), name, ctx)


def page_context(result: AuditResult) -> dict:
    """What the HTML heatmap shows: plain values, no DataFrames."""
    th = result.thresholds
    s = result.summary.set_index(["service", "characteristic"])
    collected = set(result.summary.loc[result.summary["status"] == "collected",
                                       "characteristic"])
    keys = [k for k in th.audited if k in collected or (th.required and k in th.required)]
    nobody = [characteristic_name(k) for k in th.audited if k not in keys]
    rows = []
    for name in service_order(result):
        cells = []
        for k in keys:
            r = s.loc[(name, k)]
            nc = r["status"] == NOT_COLLECTED
            unchanged_nc = nc and r["previous_status"] == NOT_COLLECTED
            cells.append({
                "rag": r["rag"], "rag_label": RAG_LABELS[r["rag"]],
                "share": NOT_COLLECTED.capitalize() if nc else share_text(r["known"], r["records"]),
                "change": "" if unchanged_nc else change_text(r["change_pp"]),
                "title": (f"{int(r['known']):,} of {int(r['records']):,} records known; "
                          f"{int(r['unknown']):,} unknown; {int(r['invalid']):,} invalid"),
            })
        rows.append({"service": name, "cells": cells})
    gaps = []
    for _, g in worst_gaps(result).iterrows():
        gaps.append({
            "service": g["service"], "characteristic": characteristic_name(g["characteristic"]),
            "share": (NOT_COLLECTED.capitalize() if g["status"] == NOT_COLLECTED
                      else share_text(g["known"], g["records"])),
            "rag_label": RAG_LABELS[g["rag"]], "rag": g["rag"],
            "change": change_text(g["change_pp"]), "records": f"{int(g['records']):,}",
        })
    detail = []
    for _, r in result.summary.iterrows():
        detail.append({
            "service": r["service"], "characteristic": characteristic_name(r["characteristic"]),
            "records": f"{int(r['records']):,}", "known": f"{int(r['known']):,}",
            "not_stated": f"{int(r['unknown_not_stated']):,}",
            "not_known": f"{int(r['unknown_not_known']):,}",
            "blank": f"{int(r['unknown_blank']):,}",
            "not_collected": f"{int(r['unknown_not_collected']):,}",
            "invalid": f"{int(r['invalid']):,}",
            "share": share_text(r["known"], r["records"]), "rag_label": RAG_LABELS[r["rag"]],
            "rag": r["rag"], "change": change_text(r["change_pp"]),
        })
    failed = result.files[result.files["status"] == "not read"]
    return {
        "title": "Equality data completeness audit",
        "as_of": result.as_of.isoformat(),
        "as_of_text": _date_text(result.as_of),
        "characteristics": [characteristic_name(k) for k in keys],
        "not_collected_anywhere": nobody,
        "defaults": th.source == "eqia defaults",
        "thresholds": [{"characteristic": characteristic_name(k),
                        "green": _pct(th.cutoffs(k)[0]), "amber": _pct(th.cutoffs(k)[1])}
                       for k in th.audited],
        "threshold_source": th.source,
        "rows": rows,
        "gaps": gaps,
        "detail": detail,
        "previous_given": result.previous_given,
        "missing_services": result.missing_services,
        "failures": [{"file": f, "audit": a, "message": m}
                     for f, a, m in zip(failed["file"], failed["audit"], failed["message"],
                                        strict=True)],
        "skipped": list(result.skipped),
    }


def render_page(result: AuditResult) -> str:
    return _render("audit.html.j2", page_context(result))


def render_narrative_html(result: AuditResult) -> str:
    return _render("audit_narrative.html.j2", {
        "title": "Equality data completeness", "blocks": narrative(result),
    })


def write_narrative_docx(result: AuditResult, path: str | Path) -> None:
    """The narrative with Word's own Heading styles (navigable, and read by screen readers)."""
    from docx import Document
    from docx.shared import Cm, Pt, RGBColor

    from eqia.documents.report import _page_number, _set_language

    doc = Document()
    doc.core_properties.title = "Equality data completeness"
    doc.core_properties.language = "en-GB"
    _set_language(doc, "en-GB")
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(11)
    for name, size in (("Heading 1", 16), ("Heading 2", 13), ("Heading 3", 12), ("Footer", 9)):
        doc.styles[name].font.name = "Arial"
        doc.styles[name].font.size = Pt(size)
        if name != "Footer":
            doc.styles[name].font.color.rgb = RGBColor(0x08, 0x30, 0x6B)
    footer = section.footer.paragraphs[0]
    footer.text = (f"Equality data completeness, as at {_date_text(result.as_of)} – "
                   "shares only")
    _page_number(section.footer.add_paragraph(), Pt(9))
    for block in narrative(result):
        kind = block["kind"]
        if kind.startswith("h"):
            doc.add_heading(block["text"], level=int(kind[1:]))
        elif kind == "p":
            doc.add_paragraph(block["text"])
        else:
            for item in block["items"]:
                doc.add_paragraph(item, style="List Bullet")
    atomic_write(path, lambda p: doc.save(str(p)))

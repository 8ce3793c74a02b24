"""What each of the audit's outputs shows, and writing them all together: the csv, the
workbook (``eqia.render.audit_xlsx``), the HTML heatmap (``audit.html.j2``) and the
narrative in Word (``eqia.render.audit_docx``) and HTML (``audit_narrative.html.j2``).
Only the workbook ever lists invalid values, and only when asked to."""

from __future__ import annotations

from pathlib import Path

import eqia.render._jinja as _jinja
from eqia.documents.audit.collect import (
    NOT_COLLECTED,
    PERSONAL_DATA,
    AuditResult,
    change_text,
    service_order,
    share_text,
    worst_gaps,
)
from eqia.documents.audit.narrative import characteristic_name, date_text, narrative
from eqia.documents.tidy import audit_tidy
from eqia.outputs import Staged
from eqia.render import audit_docx, audit_xlsx
from eqia.render.tidy import tidy_bytes
from eqia.settings.thresholds import DEFAULT_SOURCE, RAG_LABELS
from eqia.spreadsheet import to_csv
from eqia.words import count, percentage

WORKBOOK, PAGE, NARRATIVE_DOCX, NARRATIVE_HTML, CSV_FILE = (
    "audit.xlsx", "audit.html", "audit_narrative.docx", "audit_narrative.html", "audit.csv",
)
NARRATIVE_TITLE = "Equality data completeness"


def write_outputs(result: AuditResult, folder: str | Path,
                  list_invalid_values: bool = False, tidy: tuple[str, ...] = ()) -> list[Path]:
    """Write the csv, the workbook, the HTML heatmap and the narrative (.docx and .html),
    and the tidy table in each of the ``tidy`` formats also asked for (``audit.parquet``,
    ``audit.json``), all moved into place together (``eqia.outputs.Staged``). Only the
    workbook ever lists invalid values, and only with ``list_invalid_values``."""
    more = [f"audit.{f}" for f in tidy if f != "csv"]
    names = [CSV_FILE, *more, WORKBOOK, PAGE, NARRATIVE_DOCX, NARRATIVE_HTML]
    blocks = narrative(result)
    with Staged(folder) as stage:
        stage.write_text(CSV_FILE, csv_text(result))
        for name in more:
            stage.path(name).write_bytes(tidy_bytes(audit_tidy(result), name.split(".")[-1]))
        audit_xlsx.write(workbook_spec(result, list_invalid_values), stage.path(WORKBOOK))
        stage.write_text(PAGE, _jinja.render_own("audit.html.j2", page_context(result)))
        audit_docx.write(blocks, NARRATIVE_TITLE,
                         f"{NARRATIVE_TITLE}, as at {date_text(result.as_of)} – shares only",
                         stage.path(NARRATIVE_DOCX))
        stage.write_text(NARRATIVE_HTML, _jinja.render_own(
            "audit_narrative.html.j2", {"title": NARRATIVE_TITLE, "blocks": blocks}))
    return [Path(folder) / n for n in names]


def csv_text(result: AuditResult) -> str:
    """``audit.csv`` and ``eqia audit --format csv``: the tidy keys, then ``CSV_COLUMNS``."""
    return to_csv(audit_tidy(result), float_format="%.6f")


def workbook_spec(result: AuditResult, list_invalid_values: bool = False) -> dict:
    """What ``audit.xlsx`` holds: the summary grid (services worst first), detail, invalid
    values (counted by reason; listed one by one with ``list_invalid_values``, which
    marks every sheet as personal data), change, and files."""
    th = result.thresholds
    keys = list(th.audited)
    s = result.summary.set_index(["service", "characteristic"])
    rows = []
    for name in service_order(result):
        values: list = [name]
        for k in keys:
            r = s.loc[(name, k)]
            values.append(NOT_COLLECTED if r["status"] == NOT_COLLECTED
                          else float(r["known_share"]))
        rows.append(values)
    bad = result.files[result.files["status"] == "not read"]
    narrow = {"service": 32, "characteristic": 28}
    return {
        "title": "Equality data completeness audit",
        "summary": {
            "columns": ["Service", *(characteristic_name(k) for k in keys)],
            "rows": rows,
            "cutoffs": [(float(th.cutoffs(k)[0]) / 100, float(th.cutoffs(k)[1]) / 100)
                        for k in keys],
            "widths": [max(14, min(len(characteristic_name(k)) + 2, 22)) for k in keys],
            "note": (f"Share of records with a known value, as at {result.as_of.isoformat()}. "
                     f"Thresholds: {th.source}. Rounded down to 0.1%."),
        },
        "sheets": [
            {"title": "Detail", "frame": result.summary, "widths": narrow,
             "pct_cols": ["known_share", "previous_known_share"]},
            {"title": "Invalid values", "tab_color": "9C0006",
             "frame": (result.invalid_values if list_invalid_values
                       else result.invalid_summary()),
             "widths": {**narrow, "value": 40, "reason": 36, "distinct_values": 16},
             "empty": "No invalid values."},
            {"title": "Change", "frame": result.changes(), "widths": narrow,
             "pct_cols": ["previous_known_share", "known_share"],
             "empty": ("No previous audit given." if not result.previous_given
                       else "No service is in both audits.")},
            {"title": "Files", "frame": result.files.drop(columns=["reason"]),
             "widths": {"file": 48, "services": 32, "message": 80},
             "notes": [f"Files not read: {len(bad)}. Their records are not in any figure."
                       if len(bad) else "Files not read: none. Every file was read.",
                       *(f"Skipped (not an extract format): {p}" for p in result.skipped)]},
        ],
        "personal_data": PERSONAL_DATA if list_invalid_values else None,
    }


def page_context(result: AuditResult) -> dict:
    """What the HTML heatmap shows: plain values, no DataFrames."""
    th = result.thresholds
    collected = set(result.summary.loc[result.summary["status"] == "collected",
                                       "characteristic"])
    keys = [k for k in th.audited if k in collected or (th.required and k in th.required)]
    failed = result.files[result.files["status"] == "not read"]
    return {
        "title": "Equality data completeness audit",
        "as_of": result.as_of.isoformat(),
        "as_of_text": date_text(result.as_of),
        "characteristics": [characteristic_name(k) for k in keys],
        "not_collected_anywhere": [characteristic_name(k) for k in th.audited if k not in keys],
        "defaults": th.source == DEFAULT_SOURCE,
        "thresholds": [{"characteristic": characteristic_name(k),
                        "green": percentage(th.cutoffs(k)[0]),
                        "amber": percentage(th.cutoffs(k)[1])} for k in th.audited],
        "threshold_source": th.source,
        "rows": _grid(result, keys),
        "gaps": [_gap(g) for _, g in worst_gaps(result).iterrows()],
        "detail": [_detail(r) for _, r in result.summary.iterrows()],
        "previous_given": result.previous_given,
        "missing_services": result.missing_services,
        "failures": [{"file": f, "audit": a, "message": m}
                     for f, a, m in zip(failed["file"], failed["audit"], failed["message"],
                                        strict=True)],
        "skipped": list(result.skipped),
    }


def _share(r) -> str:
    return (NOT_COLLECTED.capitalize() if r["status"] == NOT_COLLECTED
            else share_text(r["known"], r["records"]))


def _grid(result: AuditResult, keys: list[str]) -> list[dict]:
    """Services (worst first) x characteristics: share, rating and change in each cell."""
    s = result.summary.set_index(["service", "characteristic"])
    rows = []
    for name in service_order(result):
        cells = []
        for k in keys:
            r = s.loc[(name, k)]
            unchanged_nc = (r["status"] == NOT_COLLECTED
                            and r["previous_status"] == NOT_COLLECTED)
            cells.append({
                "rag": r["rag"], "rag_label": RAG_LABELS[r["rag"]], "share": _share(r),
                "change": "" if unchanged_nc else change_text(r["change_pp"]),
                "title": (f"{count(r['known'])} of {count(r['records'])} records known; "
                          f"{count(r['unknown'])} unknown; {count(r['invalid'])} invalid"),
            })
        rows.append({"service": name, "cells": cells})
    return rows


def _gap(g) -> dict:
    return {
        "service": g["service"], "characteristic": characteristic_name(g["characteristic"]),
        "share": _share(g), "rag_label": RAG_LABELS[g["rag"]], "rag": g["rag"],
        "change": change_text(g["change_pp"]), "records": count(g["records"]),
    }


def _detail(r) -> dict:
    return {
        "service": r["service"], "characteristic": characteristic_name(r["characteristic"]),
        "records": count(r["records"]), "known": count(r["known"]),
        "not_stated": count(r["unknown_not_stated"]),
        "not_known": count(r["unknown_not_known"]),
        "blank": count(r["unknown_blank"]),
        "not_collected": count(r["unknown_not_collected"]),
        "invalid": count(r["invalid"]),
        "share": share_text(r["known"], r["records"]), "rag_label": RAG_LABELS[r["rag"]],
        "rag": r["rag"], "change": change_text(r["change_pp"]),
    }

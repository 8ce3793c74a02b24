"""The audit's short narrative for an annual report, as blocks (``{"kind": "h1"|"h2"|"h3"|
"p"|"ul", "text", "items"}``) that the Word and HTML writers share: shares and counts of
services only, never a raw value."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from eqia.documents.audit.collect import (
    NOT_COLLECTED,
    AuditResult,
    service_order,
    share_text,
    worst_gaps,
)
from eqia.settings import characteristics as chars
from eqia.words import join_and, percentage


def characteristic_name(key: str) -> str:
    return chars.display_name(key)


def _subject(key: str) -> str:
    """A characteristic as the subject of "... is recorded for 80% of users"."""
    return chars.recorded(key)[:1].upper() + chars.recorded(key)[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


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
    """The short narrative for an annual report, as blocks: ``{"kind": "h1"|"h2"|"h3"|"p"|
    "ul", "text": str, "items": [str]}``. Shares and counts of services only: no raw codes."""
    return [*_introduction(result), *_summary(result), *_gaps(result),
            *_by_service(result), *_files_not_read(result)]


def _h(level: int, text: str) -> dict:
    return {"kind": f"h{level}", "text": text, "items": []}


def _p(text: str) -> dict:
    return {"kind": "p", "text": text, "items": []}


def _ul(items: list[str]) -> list[dict]:
    return [{"kind": "ul", "text": "", "items": items}] if items else []


def _introduction(result: AuditResult) -> list[dict]:
    th = result.thresholds
    services = result.services
    read = result.files[(result.files["audit"] == "current") & (result.files["status"] == "read")]
    return [
        _h(1, f"Equality data completeness: services as at {date_text(result.as_of)}"),
        _p(f"This audit looks at how often services record the protected characteristics of "
           f"the people they serve. It covers {len(services)} "
           f"service{'s' if len(services) != 1 else ''} from {len(read)} extract "
           f"file{'s' if len(read) != 1 else ''}. A characteristic is green when at least "
           f"{percentage(th.green)} of records hold a known value, amber from "
           f"{percentage(th.amber)}, and red below that"
           + (" (some characteristics have their own thresholds)." if th.characteristics
              else ".")),
        _p("The detailed workbook (audit.xlsx) is for internal use: it counts invalid values by "
           "service and reason, and lists the values themselves only when asked to, as "
           "personal data. This narrative gives shares only."),
    ]


def _summary(result: AuditResult) -> list[dict]:
    s = result.summary
    counts = s["rag"].value_counts()
    collected = s[s["status"] == "collected"]
    n_red, n_nc = int(counts.get("red", 0)), int((s["status"] == NOT_COLLECTED).sum())
    blocks = [_h(2, "Summary"), _p(
        f"Of {len(s)} service and characteristic pairs, {int(counts.get('green', 0))} are "
        f"green, {int(counts.get('amber', 0))} amber and {n_red} red"
        + (f" ({n_nc} of them because the service does not collect the characteristic at "
           "all)." if n_nc else "."))]
    if len(collected):
        overall = []
        for key in result.thresholds.audited:
            rows = collected[collected["characteristic"] == key]
            if len(rows):
                overall.append(f"{_lower(_subject(key))} "
                               + share_text(int(rows["known"].sum()),
                                            int(rows["records"].sum()), 0))
        blocks.append(_p("Across the services that collect them, the shares of records with "
                         "a known value are: " + join_and(overall) + "."))
    if result.previous_given:
        ch = s.dropna(subset=["change_pp"])
        up = int((ch["change_pp"] >= 1).sum())
        down = int((ch["change_pp"] <= -1).sum())
        blocks.append(_p(
            f"Since the previous audit, recording improved by at least one percentage point "
            f"for {up} pair{'s' if up != 1 else ''} and fell by at least one point for "
            f"{down} pair{'s' if down != 1 else ''}."))
        if result.missing_services:
            blocks.append(_p("No extract was received this time from: "
                             + join_and(result.missing_services) + "."))
    return blocks


def _gaps(result: AuditResult) -> list[dict]:
    """The worst gaps: a sentence each, and one per service for what it does not collect."""
    s = result.summary
    gaps = worst_gaps(result)
    if not len(gaps):
        return []
    items = []
    missing: dict[str, list[str]] = {}
    for _, g in gaps.iterrows():
        row = s[(s["service"] == g["service"])
                & (s["characteristic"] == g["characteristic"])].iloc[0]
        if g["status"] == NOT_COLLECTED:
            if g["service"] not in missing:
                missing[g["service"]] = []
                items.append(g["service"])  # placeholder, one sentence per service
            missing[g["service"]].append(_lower(_subject(g["characteristic"])))
        else:
            items.append(_share_sentence(row))
    return [_h(2, "Gaps to chase"),
            *_ul([f"{i} does not record {join_and(missing[i])}." if i in missing else i
                  for i in items])]


def _by_service(result: AuditResult) -> list[dict]:
    s = result.summary
    blocks = [_h(2, "By service")]
    for name in service_order(result):
        rows = s[s["service"] == name]
        blocks.append(_h(3, name))
        good = rows[(rows["rag"] == "green")]
        sentences = []
        if len(good):
            sentences.append(
                join_and([f"{_lower(_subject(r['characteristic']))} "
                          f"({share_text(r['known'], r['records'], 0)})"
                          for _, r in good.iterrows()]).capitalize()
                + (" are" if len(good) > 1 else " is") + " recorded well.")
        for _, r in rows[(rows["rag"] != "green") & (rows["status"] == "collected")].iterrows():
            sentences.append(_share_sentence(r))
        missing = rows[rows["status"] == NOT_COLLECTED]
        if len(missing):
            sentences.append(f"{name} does not record "
                             + join_and([_lower(_subject(k))
                                         for k in missing["characteristic"]]) + ".")
        blocks.append(_p(" ".join(sentences)))
    return blocks


def _files_not_read(result: AuditResult) -> list[dict]:
    failed = result.files[result.files["status"] == "not read"]
    if not len(failed):
        return []
    return [_h(2, "Files not read"),
            _p(f"{len(failed)} file{'s' if len(failed) != 1 else ''} could not be read; the "
               "figures above do not include any records from:"),
            *_ul([f"{Path(f).name} ({a}): {r}" for f, a, r in
                  zip(failed["file"], failed["audit"], failed["reason"], strict=True)])]


def date_text(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"  # not %-d: Windows' strftime has no such code


# ---------------------------------------------------------------------------
# Writing the documents

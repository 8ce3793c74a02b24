"""What the documents show: the plain context every writer fills in (tables, chart specs,
narrative blocks, method), and the tables of the spreadsheet. Published figures only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from eqia import __version__
from eqia.analysis.stats import p_text
from eqia.disclosure.engine import (
    ProtectedTable,
)
from eqia.documents.report.change import change_method
from eqia.documents.report.completeness import completeness_method
from eqia.documents.report.model import RAG_TEXT, AnnualReport, CharacteristicSection, ServiceReport
from eqia.documents.report.sentences import area_phrase, subject
from eqia.render.view import FLAG_TEXT, flag_words
from eqia.settings import characteristics as chars
from eqia.settings.report import NARRATIVE_SECTIONS, ReportConfig
from eqia.words import BLANK, EMPTY, percent, signed

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    pass


PUBLISH_METHOD = (
    "In this published version every count is protected under one rule before anything "
    "is worked out from it: shares, changes in share and their tests use the published "
    "counts. Where counts are rounded, each change's p-value is the largest that any true "
    "counts consistent with the rounded ones could give, so rounding cannot make a change "
    "look significant. Comparisons with the population are worked out from the true "
    "counts, so publishing changes no finding; for a group whose count is hidden the "
    "finding says only whether it is above or below the population's share, and only "
    "where that cannot narrow its count down to one value. Completeness ratings are "
    "worked out from the true figures too, and shown where the share is. The number of "
    "people, the number with a characteristic recorded and the number without it are "
    "protected together with the characteristic's table. A small group with no census "
    "category (such as sex 'Other') is counted with the people whose characteristic is not "
    "recorded, so that no other group has to be hidden to protect it."
)




def _blocks(text: str) -> list[dict]:
    """Narrative text -> paragraphs and bullet lists ("- item" lines; blank line = break)."""
    blocks: list[dict] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            blocks.append({"kind": "p", "text": " ".join(para), "items": []})
            para.clear()
        if items:
            blocks.append({"kind": "ul", "text": "", "items": list(items)})
            items.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith(("- ", "* ", "• ")):
            if para:
                flush()
            items.append(line[2:].strip())
        elif items and raw.startswith((" ", "\t")):
            items[-1] += " " + line
        else:
            if items:
                flush()
            para.append(line)
    flush()
    return blocks


def _cell(table: ProtectedTable, row, col) -> str:
    """"1,235 (45.2%)" as the table may show it."""
    count = table.display.at[row, col]
    share = table.shares_display.at[row, col]
    if count == table.policy.marker:
        return count
    if share in ("-", table.policy.marker):
        return count
    return f"{count} ({share})"


def _characteristic_table(sec: CharacteristicSection, area: str, latest: str | None) -> dict:
    t = sec.table
    total = t.policy.total_label
    columns = ["Category", *[f"{p}: number (% of known)" for p in sec.periods]]
    has_change = len(sec.changes) > 0
    if has_change:
        columns += ["Change (percentage points)", "Significant change?"]
    has_pop = len(sec.population) > 0
    if has_pop:
        columns += [f"{area} population %", f"Compared with population ({latest})"]
    changes = sec.changes.set_index("category") if has_change else None
    pop = sec.population.set_index("category") if has_pop else None
    rows = []
    for cat in t.display.index:
        is_total = cat == total and total not in sec.counts.index
        label = "Total recorded" if is_total else str(cat)
        row = [label, *[_cell(t, cat, p) if not is_total else t.display.at[cat, p]
                        for p in sec.periods]]
        if has_change:
            if is_total or cat not in changes.index:
                row += ["", ""]
            else:
                ch = changes.loc[cat]
                if pd.isna(ch["p_value"]):
                    row += [signed(ch["change_pp"]), "Not tested"]
                else:
                    row += [signed(ch["change_pp"]),
                            ("Yes" if ch["significant"] else "No") + f" ({p_text(ch['p_adjusted'])})"]
        if has_pop:
            if is_total or cat not in pop.index:
                row += ["", "" if is_total else FLAG_TEXT["no_census_category"]]
            else:
                pr = pop.loc[cat]
                row += [percent(pr["baseline_share"], trim=True),
                        flag_words(pr["flag"], bool(pr["hidden"]))]
        rows.append(row)
    return {"columns": columns, "rows": rows, "total_row": total in t.display.index}


def _chart_spec(sec: CharacteristicSection, area: str) -> dict | None:
    """Share of the known by period for each category (published shares), with the
    population's share: what the trend chart draws and its alt text says."""
    t = sec.table
    cats = [c for c in t.shares.index if c != t.policy.total_label]
    if not cats or not sec.periods:
        return None
    pop = sec.population.set_index("category") if len(sec.population) else None
    series = {p: [None if pd.isna(t.shares.at[c, p]) else float(t.shares.at[c, p]) / 100
                  for c in cats] for p in sec.periods}
    if all(v is None for vals in series.values() for v in vals):
        return None
    baseline = [float(pop.at[c, "baseline_share"]) if pop is not None and c in pop.index
                and pd.notna(pop.at[c, "baseline_share"]) else None for c in cats]
    parts = []
    for i, c in enumerate(cats):
        vals = ", ".join(f"{p} {percent(series[p][i], trim=True) if series[p][i] is not None else 'not shown'}"
                         for p in sec.periods)
        base = f"; {area} {percent(baseline[i], trim=True)}" if baseline[i] is not None else ""
        parts.append(f"{c}: {vals}{base}")
    periods = " and ".join(sec.periods) if len(sec.periods) <= 2 else \
        f"{sec.periods[0]} to {sec.periods[-1]}"
    alt = (f"Bar chart of the share of service users whose {subject(sec.key)} is recorded "
           f"in each category, {periods}"
           + (f", with the share of {sec.compared_with or area + chr(39) + 's population'} "
              "marked" if any(baseline) else "")
           + ". " + ". ".join(parts) + ".")
    return {"title": f"{sec.name}: share of service users by period", "categories": cats,
            "periods": sec.periods, "series": series, "baseline": baseline, "area": area,
            "alt": alt}


def _completeness_table(s: ServiceReport) -> dict:
    labels = [p.label for p in s.periods]
    latest = labels[-1] if labels else None
    columns = ["Characteristic", *[f"{p}: % recorded (number of people)" for p in labels]]
    if latest:
        columns.append(f"Rating ({latest})")
    rows = []
    comp = s.completeness
    for key in chars.keys():
        part = comp[comp["characteristic"] == key]
        if part.empty:
            continue
        row = [chars.display_name(key)]
        for p in labels:
            r = part[part["period"] == p]
            if r.empty or not bool(r["collected"].iloc[0]):
                row.append("Not collected")
            elif bool(r["hidden"].iloc[0]):
                row.append(f"Not shown (small number; {r['people'].iloc[0]} people)")
            else:
                r = r.iloc[0]
                row.append(f"{r['share_text']} ({r['recorded']} of {r['people']})")
        if latest:
            r = part[part["period"] == latest]
            if r.empty or not bool(r["collected"].iloc[0]):
                row.append("Not collected")
            else:
                row.append(RAG_TEXT.get(r["rag"].iloc[0], "Not shown"))
        rows.append(row)
    return {"columns": columns, "rows": rows, "total_row": False,
            "rag_columns": [len(columns) - 1] if latest else []}


def report_context(report: AnnualReport) -> dict:
    """The plain dict the templates fill in: aggregate, published figures only."""
    cfg = report.config
    area_name = cfg.area
    services = []
    for i, s in enumerate(report.services, start=1):
        if s.comparison is not None:
            area_name = s.comparison.area.name
        services.append(_service_context(i, s, cfg, area_name))
    footnote = report.policy.note(
        [sec.table.display for s in report.services for sec in s.sections]
        + [s.completeness[["people", "recorded"]] for s in report.services])
    return {
        "meta": {
            "title": cfg.title, "organisation": cfg.organisation,
            "period": cfg.period.label, "period_text": cfg.period.describe,
            "area": area_name, "classification": cfg.classification, "contact": cfg.contact,
            "generated": f"{report.generated.day} {report.generated:%B %Y}",
            "tool": f"eqia {__version__}",
            "mode": "publish" if report.publish else "internal",
            "not_for_publication": not report.publish,
            "banner": INTERNAL_BANNER if not report.publish else None,
            "footnote": footnote if report.publish else INTERNAL_BANNER,
            "language": "en-GB",
        },
        "narrative_before": _narrative(cfg, ("summary", "introduction", "policy_context",
                                             "achievements")),
        "narrative_after": _narrative(cfg, ("priorities", "challenges", "governance",
                                            "conclusion")),
        "key_findings": [{"service": s.name, "items": s.findings}
                         for s in report.services if s.findings],
        "services": services,
        "data_notes": [n.text for n in report.all_notes],
        "method": _method(report, area_name, footnote),
    }


def _service_context(i: int, s: ServiceReport, cfg: ReportConfig, area_name: str) -> dict:
    latest = s.latest.label if s.latest else None
    chars_out = []
    for sec in s.sections:
        chars_out.append({
            "key": sec.key, "name": sec.name, "id": f"s{i}-{sec.key}",
            "table": _characteristic_table(sec, area_name, latest),
            "chart": _chart_spec(sec, area_name),
            "findings": sec.findings,
            "caption": f"{s.name}: {sec.name.lower()} of service users by period"
                       + (f", compared with {sec.compared_with}"
                          if len(sec.population) and sec.compared_with else ""),
            "figure": f"{sec.name}: share of service users whose {subject(sec.key)} "
                      "is recorded, by period"
                      + (f", with the share of {sec.compared_with or area_name}"
                         if len(sec.population) else ""),
        })
    return {
        "name": s.name, "id": f"s{i}", "description": s.description,
        "ages": area_phrase(cfg, s.ages).split("population", 1)[1].strip()
                                        .removeprefix("aged ") or "all ages",
        "periods": [p.label for p in s.periods],
        "overview": [f"{p.label}: {s.totals.get(p.label, BLANK)} people" for p in s.periods],
        "completeness": _completeness_table(s),
        "findings": s.findings, "characteristics": chars_out,
        "notes": [n.text for n in s.notes],
    }


def _narrative(cfg: ReportConfig, keys: tuple[str, ...]) -> list[dict]:
    return [{"id": k, "heading": NARRATIVE_SECTIONS[k], "blocks": _blocks(cfg.narrative[k])}
            for k in keys if k in cfg.narrative]


def _method(report: AnnualReport, area_name: str, footnote: str) -> list[str]:
    """The method and sources section: every method with its parameters."""
    sources = [f"{s.name}, {p.label}: {', '.join(s.profiles[p.label].source.split(' + '))}"
               for s in report.services for p in s.periods]
    tables = sorted({r.table_id for s in report.services if s.comparison
                     for r in s.comparison.results.values() if r.table_id})
    method = [
        "Shares are of the people whose characteristic is recorded (a valid, known value); "
        "people whose value is not stated, not known or invalid are left out of the shares, "
        "and the completeness table shows how many people have each characteristic "
        "recorded.",
        f"Population shares: ONS Census 2021 ({', '.join(tables) or 'no tables'}), "
        f"{area_name}. Each table names the population it is compared with: the service's "
        "eligible ages where the census publishes the characteristic by age (sex, ethnic "
        "group, religion, legal partnership status; religion by age and the detailed ethnic "
        "groups by age are estimates), otherwise all ages or the census' own base (aged 16, "
        "or 5, and over), said as 'no age breakdown published'.",
        "Compared with population: " + (report.services[0].comparison.method
                                        if report.services and report.services[0].comparison
                                        else "not available."),
        change_method(report.rules),
        completeness_method(report.thresholds),
        "Ages are worked out at the end of each period (31 March for a financial year).",
        "Extracts used: " + "; ".join(sources) + "." if sources else "Extracts used: none.",
    ]
    if report.publish:
        method += [f"Small numbers: {footnote}", PUBLISH_METHOD]
    return method


#: Shown on every page of an internal report (docx header and footer, HTML banner).
INTERNAL_BANNER = "Internal – not for publication"


def _number(text: str, marker: str):
    """A published cell as a number for a spreadsheet ("1,235" -> 1235, "45.2%" -> 45.2);
    empty for the marker or "-" (a number column holds numbers only: ``_status`` says
    why one is empty)."""
    t = str(text).replace(",", "").rstrip("%").strip()
    if t in (marker, "-", ""):
        return EMPTY
    try:
        return int(t)
    except ValueError:
        try:
            return float(t)
        except ValueError:
            return text


#: The status column beside a figure of the workbook: why its number cell is empty.
SUPPRESSED, SHARE_SUPPRESSED = "suppressed", "share suppressed"


def _status(count: str, share: str, marker: str) -> str:
    if count == marker:
        return SUPPRESSED
    return SHARE_SUPPRESSED if share == marker else EMPTY


def publishable_tables(report: AnnualReport) -> dict[str, pd.DataFrame]:
    """Every table of the report as the documents show it, for the spreadsheet: numbers
    where shown, an empty cell where there is no figure or it is hidden, and a status
    column saying which are hidden (a number column never holds the marker, so Excel
    and BI tools read it as numbers). Sheet name -> table."""
    policy = report.policy
    tables: dict[str, pd.DataFrame] = {}
    area = report.config.area
    rows = [(s.name, f) for s in report.services for f in s.findings]
    tables["Key findings"] = pd.DataFrame(rows, columns=["Service", "Finding"])
    for i, s in enumerate(report.services, start=1):
        comp = s.completeness[s.completeness["collected"]]
        tables[f"S{i} completeness"] = pd.DataFrame({
            "Characteristic": comp["name"], "Period": comp["period"],
            "People": [_number(x, policy.marker) for x in comp["people"]],
            "Recorded": [_number(x, policy.marker) for x in comp["recorded"]],
            "% recorded": [round(100 * x, policy.share_decimals) if pd.notna(x) else
                           EMPTY for x in comp["share"]],
            "Status": [SUPPRESSED if bool(h) or policy.marker in (str(a), str(b)) else EMPTY
                       for a, b, h in zip(comp["people"], comp["recorded"], comp["hidden"],
                                          strict=True)],
            "Rating": comp["rag"].map(lambda r: RAG_TEXT.get(r, EMPTY)),
        })
        if s.comparison is not None:
            area = s.comparison.area.name
        for sec in s.sections:
            tables[f"S{i} {sec.name}"[:31]] = _characteristic_sheet(sec, policy, area)
    tables["Data notes"] = pd.DataFrame({"Note": [n.text for n in report.all_notes]})
    return tables


def _characteristic_sheet(sec: CharacteristicSection, policy, area: str) -> pd.DataFrame:
    t = sec.table
    cats = list(t.display.index)
    out = pd.DataFrame({"Category": [str(c) for c in cats]})
    for p in sec.periods:
        out[f"{p} number"] = [_number(x, policy.marker) for x in t.display[p]]
        out[f"{p} % of known"] = [_number(x, policy.marker) for x in t.shares_display[p]]
        out[f"{p} status"] = [_status(c, x, policy.marker)
                              for c, x in zip(t.display[p], t.shares_display[p], strict=True)]
    if len(sec.changes):
        ch = sec.changes.set_index("category")

        def change(c, col: str, digits: int):
            if c not in ch.index or pd.isna(ch.at[c, col]):
                return EMPTY
            return round(ch.at[c, col], digits)

        out["Change (points)"] = [change(c, "change_pp", 1) for c in cats]
        out["p (Holm)"] = [change(c, "p_adjusted", 4) for c in cats]
        out["Significant change"] = [("Yes" if ch.at[c, "significant"] else "No")
                                     if c in ch.index else EMPTY for c in cats]
    if len(sec.population):
        pop = sec.population.set_index("category")

        def val(c, col):
            if c not in pop.index or pd.isna(pop.at[c, col]):
                return EMPTY
            return round(100 * float(pop.at[c, col]), 1)

        latest = sec.periods[-1]
        out[f"{latest} 95% CI low %"] = [val(c, "ci_low") for c in cats]
        out[f"{latest} 95% CI high %"] = [val(c, "ci_high") for c in cats]
        out[f"{area} population %"] = [val(c, "baseline_share") for c in cats]
        out["Compared with population"] = [
            flag_words(pop.at[c, "flag"], bool(pop.at[c, "hidden"])) if c in pop.index
            else EMPTY for c in cats]
    return out

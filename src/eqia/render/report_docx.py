"""The annual report as an accessible Word document, from the report's plain context
(``eqia.documents.report.report_context``): real headings, repeated table header rows,
alt text on every chart, page numbers, title and language set."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.shared import Cm, Pt, RGBColor

from eqia.outputs import atomic_write
from eqia.render.docx import (
    a4_pages,
    add_blocks,
    cant_split,
    column_widths,
    describe_pictures,
    mark_header_rows,
    page_number,
    set_language,
    shade,
)

#: Cell fills for the completeness ratings (the rating is also written in the cell).
RAG_FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
HEADER_FILL = "DEEBF7"
BLUE = RGBColor(0x08, 0x30, 0x6B)


def write(context: dict, charts: dict[str, bytes], tables: dict, path: str | Path) -> Path:
    """Write the report to ``path`` (``tables`` are the spreadsheet's; not used here)."""
    meta = context["meta"]
    doc = Document()
    _styles(doc)
    _header_and_footer(doc, meta)
    _cover(doc, meta)
    for sec in context["narrative_before"]:
        _narrative(doc, sec)
    _key_findings(doc, context["key_findings"])
    alt_by_hash = _services(doc, context, charts)
    for sec in context["narrative_after"]:
        _narrative(doc, sec)
    doc.add_heading("Data notes", level=1)
    if context["data_notes"]:
        for n in context["data_notes"]:
            doc.add_paragraph(n, style="List Bullet")
    else:
        doc.add_paragraph("None: every service has an extract for every period.")
    doc.add_heading("Method and sources", level=1)
    for m in context["method"]:
        doc.add_paragraph(m)
    # The same accessibility post-processing as the EqIA documents.
    mark_header_rows(doc)
    describe_pictures(doc, alt_by_hash)
    _properties(doc, meta)
    atomic_write(path, lambda p: doc.save(str(p)))
    return Path(path)


def _styles(doc) -> None:
    a4_pages(doc)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    for name in ("Header", "Footer"):
        doc.styles[name].font.size = Pt(9)
    for name, size in (("Title", 24), ("Heading 1", 16), ("Heading 2", 13), ("Heading 3", 12)):
        style = doc.styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0x1F, 0x1F, 0x1F) if name == "Title" else BLUE


def _header_and_footer(doc, meta: dict) -> None:
    """The title, or the internal banner in dark red, on every page; page numbers."""
    section = doc.sections[0]
    label = meta["banner"] or f"{meta['title']} – {meta['organisation']}"
    for part in (section.header, section.footer):
        para = part.paragraphs[0]
        para.text = label
        para.runs[0].font.size = Pt(9)
        para.runs[0].bold = bool(meta["banner"])
        if meta["banner"]:
            para.runs[0].font.color.rgb = RGBColor(0x8B, 0x00, 0x00)
    page_number(section.footer.add_paragraph(), Pt(9))


def _cover(doc, meta: dict) -> None:
    doc.add_paragraph(meta["title"], style="Title")
    doc.add_paragraph(meta["organisation"], style="Subtitle")
    facts = [("Period", meta["period_text"]), ("Compared with", f"{meta['area']} (Census 2021)")]
    if meta["classification"]:
        facts.append(("Classification", meta["classification"]))
    if meta["contact"]:
        facts.append(("Contact", meta["contact"]))
    facts.append(("Produced", f"{meta['generated']} with {meta['tool']}"))
    for k, v in facts:
        p = doc.add_paragraph()
        p.add_run(f"{k}: ").bold = True
        p.add_run(v)
    if meta["banner"]:
        p = doc.add_paragraph()
        r = p.add_run(f"{meta['banner']}. Every figure is shown, including small numbers. "
                      "Run eqia report with --publish for the version to publish.")
        r.bold = True


def _narrative(doc, section: dict) -> None:
    doc.add_heading(section["heading"], level=1)
    add_blocks(doc, section["blocks"])


def _key_findings(doc, groups: list[dict]) -> None:
    doc.add_heading("Key findings", level=1)
    if not groups:
        doc.add_paragraph("No significant changes or differences from the population were "
                          "found, and every characteristic collected is well recorded.")
    for group in groups:
        doc.add_heading(group["service"], level=2)
        for f in group["items"]:
            doc.add_paragraph(f, style="List Bullet")


def _services(doc, context: dict, charts: dict[str, bytes]) -> dict[str, tuple[str, str]]:
    """Each service's section: overview, completeness table, then each characteristic's
    findings, table and chart. Returns each chart's alt text and title by its hash."""
    meta = context["meta"]
    alt_by_hash: dict[str, tuple[str, str]] = {}
    n_table = n_figure = 0
    for s in context["services"]:
        doc.add_heading(s["name"], level=1).paragraph_format.page_break_before = True
        if s["description"]:
            doc.add_paragraph(s["description"])
        doc.add_paragraph(f"Eligible ages: {s['ages']}. People using the service, by period:")
        for line in s["overview"] or ["No usable extract."]:
            doc.add_paragraph(line, style="List Bullet")
        for n in s["notes"]:
            doc.add_paragraph(f"Data note: {n}")
        doc.add_heading("Completeness of equality data", level=2)
        n_table += 1
        _table(doc, s["completeness"], f"Table {n_table}: {s['name']}: share of people with "
                                       "each characteristic recorded", meta)
        for c in s["characteristics"]:
            doc.add_heading(c["name"], level=2)
            for f in c["findings"]:
                doc.add_paragraph(f)
            n_table += 1
            _table(doc, c["table"], f"Table {n_table}: {c['caption']}", meta)
            if c["id"] in charts:
                n_figure += 1
                _figure(doc, charts[c["id"]], f"Figure {n_figure}: {c['figure']}")
                alt_by_hash[hashlib.sha1(charts[c["id"]]).hexdigest()] = (
                    c["chart"]["alt"], c["chart"]["title"])
    return alt_by_hash


def _figure(doc, png: bytes, caption: str) -> None:
    cap = doc.add_paragraph()
    cap.add_run(caption).bold = True
    cap.paragraph_format.keep_with_next = True
    cap.paragraph_format.space_before = Pt(10)
    doc.add_picture(io.BytesIO(png), width=Cm(15))


def _table(doc, spec: dict, caption: str, meta: dict) -> None:
    """A captioned table: shaded header row, rows kept whole, the total row bold, the
    rating cells coloured (their text says the rating too)."""
    cap = doc.add_paragraph()
    cap.add_run(caption).bold = True
    cap.paragraph_format.keep_with_next = True
    cols = spec["columns"]
    t = doc.add_table(rows=1, cols=len(cols))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    widths = column_widths(cols, spec["rows"], 17.0)
    for j, column in enumerate(t.columns):
        column.width = Cm(widths[j])
        for c in column.cells:
            c.width = Cm(widths[j])
    for cell, text in zip(t.rows[0].cells, cols, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        run.font.size = Pt(8.5)
        shade(cell, HEADER_FILL)
    for i, row in enumerate(spec["rows"]):
        new_row = t.add_row()
        cant_split(new_row)
        last = spec.get("total_row") and i == len(spec["rows"]) - 1
        for j, (cell, text) in enumerate(zip(new_row.cells, row, strict=True)):
            cell.width = Cm(widths[j])
            cell.text = ""
            run = cell.paragraphs[0].add_run(str(text))
            run.font.size = Pt(8.5)
            run.bold = bool(last)
            if j in spec.get("rag_columns", ()) and str(text).lower() in RAG_FILLS:
                shade(cell, RAG_FILLS[str(text).lower()])
    if meta["mode"] == "publish":
        note = doc.add_paragraph()
        run = note.add_run(meta["footnote"])
        run.font.size = Pt(8.5)
        run.italic = True


def _properties(doc, meta: dict) -> None:
    props = doc.core_properties
    props.title = meta["title"]
    props.subject = f"Annual equality report, {meta['organisation']}, {meta['period']}"
    props.author = meta["organisation"]
    props.language = meta["language"]
    props.keywords = "equality; diversity; Public Sector Equality Duty; annual report"
    props.comments = f"Produced with {meta['tool']} on {meta['generated']}"
    set_language(doc, meta["language"])

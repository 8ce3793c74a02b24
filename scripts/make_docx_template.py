"""Build templates/eqia_screening.docx, the Word template eqia screen fills in.

Run it after changing the layout (``python scripts/make_docx_template.py``) and commit
both this script and the .docx. The result is an ordinary Word document: a council can
open it, restyle it, move sections, add a logo, and pass its own copy with
``eqia screen --templates DIR``. The tags are docxtpl's Jinja2: ``{{ value }}``,
``{%p ... %}`` for paragraphs that repeat or are conditional, and ``{%tr ... %}`` for
table rows that repeat (see the context schema in ``eqia.render``).

Accessibility is built in: real Heading 1/2/3 styles; every table's first row is a
header row repeated on each page; en-GB language on every style; the header says
"INTERNAL – NOT FOR PUBLICATION" on every page of an internal document. The renderer
adds alt text to the charts and re-checks the header rows after rendering.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

OUT = Path(__file__).resolve().parent.parent / "templates" / "eqia_screening.docx"
FONT = "Arial"
TEXT = RGBColor(0x1A, 0x1A, 0x1A)
HEADING = RGBColor(0x1F, 0x3A, 0x5F)  # dark blue, 11:1 on white
HEADER_FILL = "E7E6E6"
TABLE_PT = 9


# --- styles ---------------------------------------------------------------------------

def set_language(doc, lang: str = "en-GB") -> None:
    """w:lang on the document defaults and every style, so spell-check and screen readers
    use British English."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    for el in rpr.findall(qn("w:lang")):
        rpr.remove(el)
    lang_el = OxmlElement("w:lang")
    for attr in ("w:val", "w:eastAsia", "w:bidi"):
        lang_el.set(qn(attr), lang)
    rpr.append(lang_el)
    for style in doc.styles:
        if style.type != 1:  # paragraph styles carry run properties too
            continue
        srpr = style.element.get_or_add_rPr()
        for el in srpr.findall(qn("w:lang")):
            srpr.remove(el)
        el = OxmlElement("w:lang")
        el.set(qn("w:val"), lang)
        srpr.append(el)
    settings = doc.settings.element
    theme = settings.find(qn("w:themeFontLang"))
    if theme is None:
        theme = OxmlElement("w:themeFontLang")
        settings.append(theme)
    theme.set(qn("w:val"), lang)


def set_styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(11)
    normal.font.color.rgb = TEXT
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    for level, size in ((1, 20), (2, 15), (3, 12.5)):
        h = doc.styles[f"Heading {level}"]
        h.font.name = FONT
        h.font.size = Pt(size)
        h.font.bold = True
        h.font.color.rgb = HEADING
        rfonts = h.element.rPr.rFonts
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            if rfonts.get(qn(attr)) is not None:
                del rfonts.attrib[qn(attr)]
        rfonts.set(qn("w:ascii"), FONT)
        rfonts.set(qn("w:hAnsi"), FONT)
        h.paragraph_format.space_before = Pt(14 if level < 3 else 10)
        h.paragraph_format.space_after = Pt(6)
        h.paragraph_format.keep_with_next = True
    for name in ("List Bullet",):
        doc.styles[name].font.name = FONT
    small = doc.styles.add_style("Table Text", 1)
    small.base_style = normal
    small.font.size = Pt(TABLE_PT)
    small.paragraph_format.space_after = Pt(2)
    small.paragraph_format.line_spacing = 1.0
    small.quick_style = True
    note = doc.styles.add_style("Note", 1)
    note.base_style = normal
    note.font.size = Pt(10)
    note.quick_style = True


# --- building blocks ------------------------------------------------------------------

def para(container, text: str = "", style: str | None = None, bold: bool = False,
         label: str | None = None, size: float | None = None, italic: bool = False):
    p = container.add_paragraph(style=style)
    if label:
        p.add_run(label).bold = True
    if text:
        run = p.add_run(text)
        run.bold = bold
        run.italic = italic
        if size:
            run.font.size = Pt(size)
    return p


def tag(container, text: str):
    """A paragraph holding only a docxtpl {%p %} tag (removed when rendered)."""
    return container.add_paragraph(text)


def paragraphs(container, expr: str, style: str | None = None) -> None:
    """Officer text, one Word paragraph per paragraph of the text."""
    tag(container, f"{{%p for para in {expr}|paras %}}")
    para(container, "{{ para }}", style=style)
    tag(container, "{%p endfor %}")


def shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def header_row(row) -> None:
    """Mark a row as the table's header row, repeated at the top of each page."""
    trpr = row._tr.get_or_add_trPr()
    for name in ("w:cantSplit", "w:tblHeader"):
        el = OxmlElement(name)
        el.set(qn("w:val"), "true")
        trpr.append(el)


def table(container, headers: list[str], widths_cm: list[float], rows: int = 0):
    t = container.add_table(rows=1 + rows, cols=len(headers))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.LEFT
    t.autofit = False
    tblpr = t._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)
    look = tblpr.find(qn("w:tblLook"))
    if look is None:
        look = OxmlElement("w:tblLook")
        tblpr.append(look)
    look.set(qn("w:firstRow"), "1")
    look.set(qn("w:firstColumn"), "0")
    look.set(qn("w:noVBand"), "1")
    look.set(qn("w:val"), "0420")
    for i, w in enumerate(widths_cm):
        t.columns[i].width = Cm(w)
        for cell in t.columns[i].cells:
            cell.width = Cm(w)
    hdr = t.rows[0]
    header_row(hdr)
    for cell, text in zip(hdr.cells, headers, strict=True):
        cell.paragraphs[0].style = "Table Text"
        cell.paragraphs[0].add_run(text).bold = True
        shade(cell, HEADER_FILL)
    return t


def cell_text(cell, text: str, bold: bool = False, italic: bool = False,
              first: bool = True, label: str | None = None):
    p = cell.paragraphs[0] if first else cell.add_paragraph()
    p.style = "Table Text"
    if label:
        p.add_run(label).bold = True
    if text:
        r = p.add_run(text)
        r.bold = bold
        r.italic = italic
    return p


def cant_split(row) -> None:
    """A row never breaks across pages."""
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def loop_rows(t, start: str, end: str = "{%tr endfor %}", keep_together: bool = False):
    """Turn the table's rows 1 and 3 into docxtpl row-loop tags around row 2.

    The repeated row never splits across pages; with ``keep_together`` its paragraphs
    keep with the next, so a short table stays on one page with the note after it.
    """
    t.rows[1].cells[0].paragraphs[0].text = start
    t.rows[3].cells[0].paragraphs[0].text = end
    row = t.rows[2]
    cant_split(row)
    if keep_together:
        for cell in row.cells:
            for p in cell.paragraphs:
                p.paragraph_format.keep_with_next = True
        for cell in t.rows[0].cells:
            for p in cell.paragraphs:
                p.paragraph_format.keep_with_next = True
    return row


def field(paragraph, instr: str) -> None:
    el = OxmlElement("w:fldSimple")
    el.set(qn("w:instr"), instr)
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    r.append(t)
    el.append(r)
    paragraph._p.append(el)


def page_setup(section, landscape: bool) -> None:
    a4_long, a4_short = Cm(29.7), Cm(21.0)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (a4_long, a4_short) if landscape else (
        a4_short, a4_long)
    margin = Cm(1.5) if landscape else Cm(2.0)
    section.left_margin = section.right_margin = margin
    section.top_margin = section.bottom_margin = Cm(1.8)
    section.header_distance = section.footer_distance = Cm(0.8)


# --- the document ---------------------------------------------------------------------

def build() -> Document:
    doc = Document()
    set_styles(doc)
    set_language(doc)

    first = doc.sections[0]
    page_setup(first, landscape=False)
    hp = first.header.paragraphs[0]
    hp.text = ""
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = hp.add_run('{% if meta.mode != "publish" %}INTERNAL – NOT FOR PUBLICATION{% endif %}')
    r.bold = True
    r.font.size = Pt(10)
    fp = first.footer.paragraphs[0]
    fp.text = ""
    r = fp.add_run("Drafted with {{ meta.tool }} on {{ meta.generated }}"
                   '{% if meta.mode != "publish" %} – internal: small numbers not suppressed'
                   "{% endif %}. Page ")
    r.font.size = Pt(8.5)
    field(fp, "PAGE")
    fp.add_run(" of ").font.size = Pt(8.5)
    field(fp, "NUMPAGES")

    # Title and header block -------------------------------------------------------
    doc.add_heading("Equality Analysis / Impact Assessment (EqIA)", level=1)
    para(doc, "{{ proposal.name }}", bold=True, size=13)
    para(doc, "Draft screening prepared from service data and Census 2021 by {{ meta.tool }} "
              "on {{ meta.generated }}. Ratings marked \u201cSuggested from data\u201d come from "
              "the data; the responsible officer confirms or changes them, and the officer's "
              "answer always takes precedence.", style="Note", italic=True)
    for label, expr in (
        ("Directorate: ", "{{ proposal.directorate|or_text }}"),
        ("Name of policy, procedure, project or service: ", "{{ proposal.name }}"),
        ("What is being assessed? ", "{{ proposal.assessed|or_text }}"),
        ("What is changing: ",
         "{{ proposal.change_text|or_text('Not stated in the proposal file') }}"),
        ("Responsible owner / senior officer: ", "{{ proposal.owner|or_text }}"),
        ("Date of initial screening: ", "{{ proposal.date_initial_screening|or_text }}"),
        ("Date of full EqIA: ", "{{ proposal.date_full_eqia_text }}"),
    ):
        para(doc, expr, label=label)

    doc.add_heading("Version history", level=2)
    t = table(doc, ["Version", "Author", "Date", "Comment"], [2.2, 4.3, 3.5, 7.0], rows=3)
    row = loop_rows(t, "{%tr for v in proposal.versions %}")
    for cell, expr in zip(row.cells, ["{{ v.version }}", "{{ v.author }}", "{{ v.date }}",
                                      "{{ v.comment }}"], strict=True):
        cell_text(cell, expr)

    # Screening grid (landscape) -----------------------------------------------------
    grid_section = doc.add_section(WD_SECTION.NEW_PAGE)
    page_setup(grid_section, landscape=True)
    doc.add_heading("Screening Grid", level=2)
    para(doc, "For each characteristic: the officer's answer where given (\u201cOfficer\u201d), "
              "and the rating the data suggests with its reasons (\u201cSuggested from data\u201d). "
              "Where the officer has not yet rated a characteristic, the suggestion is shown "
              "for the officer to confirm.", style="Note")
    t = table(doc, [
        "Characteristic",
        "Could this policy, procedure, project or service, or any proposed changes to it, "
        "affect this group less favourably than others in {{ meta.area }}? YES/NO – if yes, how?",
        "Assessment of potential impact: HIGH / MEDIUM / LOW / NONE / UNKNOWN "
        "(Positive or Negative)",
        "Provide details: a) Is internal action required? If yes, what? b) Is further "
        "assessment required? If yes, why? (Internal action must be in the action plan.)",
        "Could this policy, procedure, project or service promote equal opportunities for "
        "this group? YES/NO – explain how",
    ], [2.8, 5.0, 9.0, 5.1, 4.8], rows=3)
    row = loop_rows(t, "{%tr for row in grid %}")
    c0, c1, c2, c3, c4 = row.cells
    cell_text(c0, "{{ row.label }}", bold=True)
    cell_text(c1, "{{ row.show.affects }}")
    p = c2.paragraphs[0]
    p.text = "{%p if row.show.officer %}"
    cell_text(c2, "{{ row.show.officer }}", bold=True, first=False)
    c2.add_paragraph("{%p endif %}")
    cell_text(c2, "{{ row.show.suggested }}", first=False, label="{{ row.show.suggested_label }}: ")
    c2.add_paragraph("{%p for reason in row.show.reasons %}")
    cell_text(c2, "\u2013 {{ reason }}", first=False, italic=True)
    c2.add_paragraph("{%p endfor %}")
    cell_text(c3, "{{ row.show.internal_action }}")
    cell_text(c3, "{{ row.show.further_assessment }}", first=False)
    cell_text(c4, "{{ row.show.promotes }}")

    # Part 1 ------------------------------------------------------------------------
    body = doc.add_section(WD_SECTION.NEW_PAGE)
    page_setup(body, landscape=False)
    doc.add_heading("Part 1: Initial screening", level=2)
    for title, expr in (("Context", "proposal.context"), ("Aims and objectives", "proposal.aims"),
                        ("Beneficiaries", "proposal.beneficiaries")):
        doc.add_heading(title, level=3)
        paragraphs(doc, expr)

    # Part 2 ------------------------------------------------------------------------
    doc.add_heading("Part 2: Information and data", level=2)
    para(doc, "People using the service are compared with {{ meta.area }}'s population from "
              "Census 2021{% if meta.eligible_ages %}, for residents aged "
              "{{ meta.eligible_ages }} where the census allows{% endif %}. Shares are of "
              "people whose value is recorded; people with no recorded value are counted "
              "separately. The flag says in words whether a group is represented as expected.")
    tag(doc, "{%p if meta.focus %}")
    para(doc, "{{ meta.focus.explanation }}",
         label="Reading the differences for this proposal: ")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if meta.method_summary %}")
    para(doc, "{{ meta.method_summary }}", style="Note")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if meta.census_notes %}")
    para(doc, "", label="About the census figures (these apply to every characteristic "
                        "below):", style="Note").paragraph_format.keep_with_next = True
    tag(doc, "{%p for n in meta.census_notes %}")
    para(doc, "{{ n }}", style="List Bullet").runs[0].font.size = Pt(10)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for c in part2 %}")
    doc.add_heading("{{ c.name }}", level=3)
    para(doc, "{{ c.completeness }}").paragraph_format.keep_with_next = True
    tag(doc, "{%p if c.rows %}")
    para(doc, "{{ c.compared_with }}{% if c.age_adjusted %}; "
              "ratios allow for the service's age profile{% endif %}.",
         style="Note").paragraph_format.keep_with_next = True
    t = table(doc, ["Category", "Service users (n)", "Service share", "95% CI",
                    "{{ c.baseline_label }}", "Ratio", "Flag"],
              [4.1, 1.8, 1.6, 2.7, 1.7, 1.3, 3.8], rows=3)
    row = loop_rows(t, "{%tr for r in c.rows %}", keep_together=True)
    for cell, expr in zip(row.cells, [
        "{{ r.category }}", "{{ r.service_count|count }}", "{{ r.service_share|pct }}",
        "{{ r|ci }}", "{{ r.baseline_share|pct }}", "{{ r.ratio|ratio }}", "{{ r|flag_text }}",
    ], strict=True):
        cell_text(cell, expr)
    for cell in row.cells[1:6]:
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if c.unknown_rows %}")
    p = para(doc, "{% for u in c.unknown_rows %}{{ u.label }}: {{ u.count|count }}"
                  "{% if not loop.last %}; {% endif %}{% endfor %}.",
             label="Not included in the shares: ", style="Note")
    p.paragraph_format.space_before = Pt(4)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if c.chart_image %}")
    p = para(doc, "{{ c.chart_image }}")
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.keep_together = True
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for s in c.sentences %}")
    para(doc, "{{ s }}", style="List Bullet")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p if c.readings %}")
    para(doc, "", label="What the differences mean for this proposal:"
         ).paragraph_format.keep_with_next = True
    tag(doc, "{%p for s in c.readings %}")
    para(doc, "{{ s }}", style="List Bullet")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p if c.guidance %}")
    para(doc, "{{ c.guidance }}", label="Guidance: ")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for s in c.caveats %}")
    para(doc, "{{ s }}", label="Caveat: ", style="Note")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endfor %}")

    # Parts 3 and 4, judgement --------------------------------------------------------
    doc.add_heading("Part 3: Involvement and engagement", level=2)
    paragraphs(doc, "proposal.involvement")
    doc.add_heading("Part 4: Potential impact", level=2)
    paragraphs(doc, "proposal.potential_impact")

    doc.add_heading("Judgement", level=2)
    tag(doc, "{%p for o in judgement.option_list %}")
    p = para(doc, "{{ o.text }}", style="List Bullet")
    p.paragraph_format.keep_with_next = True
    r = p.add_run("{% if o.chosen %} – CHOSEN BY THE OFFICER{% endif %}"
                  "{% if o.suggested %} – SUGGESTED FROM DATA{% endif %}")
    r.bold = True
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p if judgement.officer_option %}")
    para(doc, "{{ judgement.officer_text|or_text('No reason given.') }}",
         label="Officer's judgement: ")
    tag(doc, "{%p else %}")
    para(doc, "The officer has not yet chosen an option.", label="Officer's judgement: ")
    tag(doc, "{%p endif %}")
    para(doc, "", label="Why the data suggests {{ judgement.suggested_text }}:")
    tag(doc, "{%p for reason in judgement.suggested_reasons %}")
    para(doc, "{{ reason }}", style="List Bullet")
    tag(doc, "{%p endfor %}")

    doc.add_heading("Action plan", level=2)
    para(doc, "Rows marked \u201cSuggested from data\u201d were drafted from the evidence in "
              "Part 2; the officer agrees an owner, timescale and cost.", style="Note")
    t = table(doc, ["Issue", "Action", "Expected outcome", "Owner", "Timescale", "Cost"],
              [4.2, 4.2, 3.0, 1.8, 2.0, 1.8], rows=3)
    row = loop_rows(t, "{%tr for a in action_plan %}")
    cell_text(row.cells[0], "{{ a.issue }}")
    cell_text(row.cells[0], "{{ a.source_text }}", italic=True, first=False)
    for cell, key in zip(row.cells[1:], ["action", "expected_outcome", "owner", "timescale",
                                         "cost"], strict=True):
        cell_text(cell, f"{{{{ a.{key}|or_text('To agree') }}}}")

    doc.add_heading("Monitoring and review", level=2)
    paragraphs(doc, "proposal.monitoring")

    doc.add_heading("Sign off", level=2)
    para(doc, "I have noted the content of the equality impact assessment and agree the "
              "actions to mitigate the adverse impact(s) that have been identified.")
    t = table(doc, ["Role", "Name", "Job title", "Signed", "Date"],
              [3.0, 3.6, 5.0, 2.8, 2.6], rows=2)
    for r in t.rows[1:]:
        cant_split(r)
        r.height = Cm(1.2)  # room to sign
    for cells, role, who in ((t.rows[1].cells, "Senior Officer", "senior"),
                             (t.rows[2].cells, "DMT Member", "dmt")):
        cell_text(cells[0], role, bold=True)
        cell_text(cells[1], f"{{{{ proposal.signoff.{who}_officer|or_text('') }}}}"
                  if who == "senior" else "{{ proposal.signoff.dmt_member|or_text('') }}")
        cell_text(cells[2], f"{{{{ proposal.signoff.{who}_job_title|or_text('') }}}}")
        cell_text(cells[3], "")
        cell_text(cells[4], f"{{{{ proposal.signoff.{who}_date|or_text('') }}}}")

    doc.add_heading("About this document", level=2)
    para(doc, "{{ meta.tool }}, {{ meta.generated }}.", label="Drafted with: ")
    para(doc, '{% if meta.mode != "publish" %}Internal – not for publication: small numbers '
              "are not suppressed.{% else %}For publication: small numbers are protected."
              "{% endif %}", label="Status: ")
    para(doc, "{{ meta.baseline_source }}", label="Population figures: ")
    para(doc, "{% for e in meta.extracts %}{{ e.name }} ({{ e.rows|count }} rows)"
              "{% if not loop.last %}; {% endif %}{% endfor %}.", label="Service data: ")
    tag(doc, "{%p if meta.eligible_ages %}")
    para(doc, "{{ meta.eligible_ages }}", label="Eligible ages: ")
    tag(doc, "{%p endif %}")
    para(doc, "", label="How the suggested ratings were worked out:")
    tag(doc, "{%p for rule in meta.rating_rules %}")
    para(doc, "{{ rule }}", style="List Bullet")
    tag(doc, "{%p endfor %}")
    para(doc, "{{ meta.method }}", label="Statistical method: ")

    props = doc.core_properties
    props.title = "Equality Impact Assessment"
    props.subject = "Equality Impact Assessment screening"
    props.author = "eqia"
    props.language = "en-GB"
    props.keywords = "EqIA; equality impact assessment; screening"
    props.comments = "Template for eqia screen; see scripts/make_docx_template.py."
    stamp = dt.datetime(2026, 1, 1)
    props.created = props.modified = stamp
    props.revision = 1
    return doc


def main(out: Path = OUT) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    build().save(out)
    sys.stdout.write(f"Wrote {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))

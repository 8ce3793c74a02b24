"""The Word document: docxtpl fills ``eqia_screening.docx``, then python-docx puts the
charts in and makes sure of what the public sector accessibility regulations need
whatever the template did.

Charts never reach the template as objects (a docxtpl ``InlineImage`` carries the live
template, which a template could render again outside the sandbox or save anywhere):
``c.chart_image`` is an inert marker string, unique to this render, and
``insert_charts`` replaces each marker left in the rendered document with the picture
and its alt text, in the same place and with the same width.

After rendering, every table's first row is a header row repeated on each page
(``w:tblHeader``), every chart has alt text (``wp:docPr`` ``descr`` and ``title``), and
the document's title and language (en-GB) are set in its properties and styles.

The Word helpers every eqia document shares (the EqIA, the annual report, the audit's
narrative) live here too: page numbers, language, A4 pages, shaded cells, rows that do
not split, column widths, and narrative blocks.
"""

from __future__ import annotations

import copy
import hashlib
import io
import re
import secrets
from pathlib import Path

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm
from docxtpl import DocxTemplate

import eqia.render._jinja as _jinja
from eqia.errors import TemplateError
from eqia.outputs import atomic_write

#: Width of a chart in the document.
CHART_WIDTH = Cm(14)
LANG = "en-GB"

_PIC = "{http://schemas.openxmlformats.org/drawingml/2006/picture}"


def render_docx(ctx: dict, out: str | Path, charts: dict[str, tuple[Path, str]],
                templates_dir: str | Path | None = None) -> Path:
    """Render the prepared context ``ctx`` to ``out``.

    ``charts`` maps a Part 2 key to (PNG path, alt text); see ``eqia.render.charts``.
    """
    where, data = _jinja.find_template(_jinja.DOCX_TEMPLATE, templates_dir)
    try:
        tpl = DocxTemplate(io.BytesIO(data))
    except Exception as exc:  # a corrupt or non-Word file
        raise TemplateError(f"Template {where} is not a Word document it can read: {exc}",
                            code="unreadable-file", file=where,
                            hint="Save it from Word as a .docx (Word Document).") from exc
    nonce = secrets.token_hex(8)
    pictures: dict[str, tuple[bytes, str, str]] = {}
    for i, c in enumerate(ctx["part2"]):
        found = charts.get(c["key"])
        if found:
            path, alt = found
            marker = f"EQIA-CHART-{nonce}-{i}"
            pictures[marker] = (Path(path).read_bytes(), alt, f"Chart: {c['name']}")
            c["chart_image"] = marker
            c["chart_alt"] = alt
    env = _jinja.environment(templates_dir, autoescape=True, text=False)
    try:
        tpl.render(ctx, jinja_env=env, autoescape=True)
    except _jinja.NotPlainData:
        raise
    except Exception as exc:
        raise _jinja.translate(exc, where, docx=True) from exc
    doc = tpl.docx
    insert_charts(doc, pictures, re.compile(rf"EQIA-CHART-{nonce}-\d+"))
    mark_header_rows(doc)
    set_properties(doc, ctx)
    return atomic_write(out, lambda p: doc.save(str(p)))


def write(ctx: dict, stage, basename: str, charts: dict[str, tuple[Path, str]],
          templates_dir: str | Path | None = None) -> None:
    """``basename.docx`` into the staged folder."""
    render_docx(ctx, stage.path(f"{basename}.docx"), charts, templates_dir)


def _story_parts(doc) -> list:
    """The body's part and each header's and footer's (each once)."""
    parts = [doc.part]
    for s in doc.sections:
        for hf in (s.header, s.footer, s.first_page_header, s.first_page_footer,
                   s.even_page_header, s.even_page_footer):
            if not hf.is_linked_to_previous and hf.part not in parts:
                parts.append(hf.part)
    return parts


def insert_charts(doc, pictures: dict[str, tuple[bytes, str, str]], marker: re.Pattern) -> None:
    """Replace each chart marker in the rendered text with its picture (``pictures``:
    marker -> (PNG bytes, alt text, title)), keeping the text around it and the run's
    formatting. A marker found nowhere leaves its chart out, as the template asked."""
    for part in _story_parts(doc):
        for t in list(part.element.iter(qn("w:t"))):
            text = t.text or ""
            if not marker.search(text):
                continue
            run = t.getparent()
            pieces: list = []
            at = 0
            for m in marker.finditer(text):
                pieces.append(text[at:m.start()])
                found = pictures.get(m.group(0))
                if found:
                    png, alt, title = found
                    inline = part.new_pic_inline(io.BytesIO(png), width=CHART_WIDTH)
                    describe(inline, alt, title)
                    pieces.append(inline)
                at = m.end()
            pieces.append(text[at:])
            _split_run(run, t, [p for p in pieces if not isinstance(p, str) or p])


def _split_run(run, t, pieces: list) -> None:
    """Put ``pieces`` (text, or a ``wp:inline`` picture) where ``t`` is in ``run``, each
    in a run of its own with the same formatting."""
    rpr = run.find(qn("w:rPr"))
    children = [c for c in run if c is not rpr]
    i = children.index(t)

    def new_run(contents: list):
        r = OxmlElement("w:r")
        if rpr is not None:
            r.append(copy.deepcopy(rpr))
        for c in contents:
            r.append(c)
        return r

    runs = [new_run(children[:i])] if children[:i] else []
    for piece in pieces:
        if isinstance(piece, str):
            el = OxmlElement("w:t")
            el.text = piece
            el.set(qn("xml:space"), "preserve")
        else:
            el = OxmlElement("w:drawing")
            el.append(piece)
        runs.append(new_run([el]))
    if children[i + 1:]:
        runs.append(new_run(children[i + 1:]))
    parent = run.getparent()
    at = parent.index(run)
    parent.remove(run)
    for k, r in enumerate(runs):
        parent.insert(at + k, r)


def describe(drawing, descr: str, title: str) -> None:
    """Alt text and title on a picture (its ``wp:docPr`` and ``pic:cNvPr``)."""
    for el in [*drawing.iter(qn("wp:docPr")), *drawing.iter(f"{_PIC}cNvPr")]:
        el.set("descr", descr)
        el.set("title", title)


def _all_tables(doc):
    return doc.element.body.iter(qn("w:tbl"))


def mark_header_rows(doc) -> None:
    """First row of every table (nested ones too) a header row repeated on each page."""
    for tbl in _all_tables(doc):
        first = tbl.find(qn("w:tr"))
        if first is None:
            continue
        trpr = first.find(qn("w:trPr"))
        if trpr is None:
            trpr = OxmlElement("w:trPr")
            tblpr_ex = first.find(qn("w:tblPrEx"))
            first.insert(1 if tblpr_ex is not None else 0, trpr)
        if trpr.find(qn("w:tblHeader")) is None:
            trpr.append(OxmlElement("w:tblHeader"))
        for el in trpr.findall(qn("w:tblHeader")):
            el.set(qn("w:val"), "true")


def describe_pictures(doc, alt_by_hash: dict[str, tuple[str, str]]) -> None:
    """Alt text on each picture, found by the image's bytes (its relationship target)."""
    for part in _story_parts(doc):
        for docpr in part.element.iter(qn("wp:docPr")):
            drawing = docpr.getparent()
            blip = next(drawing.iter(qn("a:blip")), None)
            if blip is None:
                continue
            rid = blip.get(qn("r:embed"))
            try:
                blob = part.related_parts[rid].blob
            except KeyError:
                continue
            found = alt_by_hash.get(hashlib.sha1(blob).hexdigest())
            if found:
                describe(drawing, *found)


def set_properties(doc, ctx: dict) -> None:
    props = doc.core_properties
    name = ctx["proposal"].get("name") or "Equality Impact Assessment"
    props.title = f"Equality Impact Assessment: {name}"
    props.subject = "Equality Impact Assessment screening"
    props.language = LANG
    props.author = ctx["proposal"].get("owner") or "eqia"
    props.keywords = "EqIA; equality impact assessment; screening"
    props.comments = f"Drafted with {ctx['meta'].get('tool', 'eqia')} on {ctx['meta'].get('generated', '')}"
    rpr = _default_rpr(doc)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), LANG)


def set_language(doc, language: str = LANG) -> None:
    """The document's default language for every script (``w:lang`` in the default run
    properties), where the document has default run properties."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault")) if defaults is not None else None
    rpr = rpr_default.find(qn("w:rPr")) if rpr_default is not None else None
    if rpr is None:
        return
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    for attr in ("w:val", "w:eastAsia", "w:bidi"):
        lang.set(qn(attr), language)


def page_number(para, size) -> None:
    """"Page N of M" as Word fields (updated by Word and LibreOffice when shown)."""
    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    def field(code: str) -> None:
        run = para.add_run()
        run.font.size = size
        for kind, text in (("begin", None), ("instr", code), ("separate", None),
                           ("text", "1"), ("end", None)):
            if kind == "instr":
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = f" {text} "
            elif kind == "text":
                el = OxmlElement("w:t")
                el.text = text
            else:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            run._r.append(el)

    run = para.add_run("Page ")
    run.font.size = size
    field("PAGE")
    run = para.add_run(" of ")
    run.font.size = size
    field("NUMPAGES")


def a4_pages(doc, margin_cm: float = 2.0) -> None:
    """A4 paper with the same margin all round."""
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(margin_cm))


def shade(cell, fill: str) -> None:
    """A table cell's background colour (hex, e.g. "C6EFCE")."""
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def cant_split(row) -> None:
    """Keep a table row on one page."""
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))


def column_widths(columns: list[str], rows: list[list], total: float) -> list[float]:
    """Widths (cm) of a table's columns at 8.5 pt: each at least as wide as its longest
    word (so that no word breaks), the rest shared in proportion to typical text, so
    that labels wrap in the first column rather than numbers in the others."""
    char_cm, pad_cm = 0.18, 0.4
    minimum, typical = [], []
    for j, head in enumerate(columns):
        texts = [str(r[j]) for r in rows]
        words = [len(w) for t in [head, *texts] for w in t.split()] or [4]
        minimum.append(max(words) * char_cm + pad_cm)
        lengths = sorted(len(t) for t in texts) or [6]
        typical.append(min(lengths[len(lengths) * 3 // 4], 40 if j == 0 else 18) * char_cm
                       + pad_cm)
    spare = total - sum(minimum)
    if spare <= 0:
        return [w * total / sum(minimum) for w in minimum]
    extra = [max(0.0, t - m) for t, m in zip(typical, minimum, strict=True)]
    if sum(extra) == 0:
        return [m + spare / len(minimum) for m in minimum]
    grow = min(1.0, spare / sum(extra))
    widths = [m + e * grow for m, e in zip(minimum, extra, strict=True)]
    left = total - sum(widths)
    return [w + left * w / sum(widths) for w in widths]


def add_blocks(doc, blocks: list[dict]) -> None:
    """Narrative blocks (``{"kind": "h1"|"h2"|"h3"|"p"|"ul", "text", "items"}``, as the
    audit's narrative and the report's sections make them) as Word headings,
    paragraphs and bulleted lists."""
    for block in blocks:
        kind = block["kind"]
        if kind.startswith("h"):
            doc.add_heading(block["text"], level=int(kind[1:]))
        elif kind == "p":
            doc.add_paragraph(block["text"])
        else:
            for item in block["items"]:
                doc.add_paragraph(item, style="List Bullet")


def _default_rpr(doc):
    """w:docDefaults/w:rPrDefault/w:rPr, created if the template lacks it."""
    styles = doc.styles.element
    node = styles
    for name in ("w:docDefaults", "w:rPrDefault", "w:rPr"):
        child = node.find(qn(name))
        if child is None:
            child = OxmlElement(name)
            node.insert(0, child)
        node = child
    return node

"""The Word document: docxtpl fills ``eqia_screening.docx``, then python-docx makes sure
of what the public sector accessibility regulations need whatever the template did.

After rendering, every table's first row is a header row repeated on each page
(``w:tblHeader``), every chart has alt text (``wp:docPr`` ``descr`` and ``title``, which
docxtpl's InlineImage leaves empty), and the document's title and language (en-GB) are
set in its properties and styles.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm
from docxtpl import DocxTemplate, InlineImage

from eqia.errors import TemplateError
from eqia.render import _jinja

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
                            code="template-unreadable", file=where,
                            hint="Save it from Word as a .docx (Word Document).") from exc
    alt_by_hash: dict[str, tuple[str, str]] = {}
    for c in ctx["part2"]:
        found = charts.get(c["key"])
        if found:
            path, alt = found
            png = Path(path).read_bytes()
            alt_by_hash[hashlib.sha1(png).hexdigest()] = (alt, f"Chart: {c['name']}")
            c["chart_image"] = InlineImage(tpl, io.BytesIO(png), width=CHART_WIDTH)
            c["chart_alt"] = alt
    env = _jinja.environment(templates_dir, autoescape=True, text=False)
    try:
        tpl.render(ctx, jinja_env=env, autoescape=True)
    except Exception as exc:
        raise _jinja.translate(exc, where, docx=True) from exc
    doc = tpl.docx
    mark_header_rows(doc)
    describe_pictures(doc, alt_by_hash)
    set_properties(doc, ctx)
    tpl.save(str(out))
    return Path(out)


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
    parts = [doc.part] + [s.header.part for s in doc.sections if s.header.is_linked_to_previous
                          is False] + [s.footer.part for s in doc.sections
                                       if s.footer.is_linked_to_previous is False]
    for part in parts:
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
            if not found:
                continue
            descr, title = found
            docpr.set("descr", descr)
            docpr.set("title", title)
            for cnv in drawing.iter(f"{_PIC}cNvPr"):
                cnv.set("descr", descr)
                cnv.set("title", title)


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

"""The audit's narrative as a Word document: Word's own Heading styles (navigable, and
read by screen readers), A4, Arial, page numbers, title and language set."""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.shared import Pt, RGBColor

from eqia.outputs import atomic_write
from eqia.render.docx import a4_pages, add_blocks, page_number, set_language


def write(blocks: list[dict], title: str, footer: str, path: str | Path) -> Path:
    """``blocks`` as ``eqia.render.docx.add_blocks`` takes them; ``footer`` on every page
    above the page number."""
    doc = Document()
    doc.core_properties.title = title
    doc.core_properties.language = "en-GB"
    set_language(doc, "en-GB")
    a4_pages(doc)
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(11)
    for name, size in (("Heading 1", 16), ("Heading 2", 13), ("Heading 3", 12), ("Footer", 9)):
        doc.styles[name].font.name = "Arial"
        doc.styles[name].font.size = Pt(size)
        if name != "Footer":
            doc.styles[name].font.color.rgb = RGBColor(0x08, 0x30, 0x6B)
    section = doc.sections[0]
    section.footer.paragraphs[0].text = footer
    page_number(section.footer.add_paragraph(), Pt(9))
    add_blocks(doc, blocks)
    atomic_write(path, lambda p: doc.save(str(p)))
    return Path(path)

"""Which writer writes which format, for each kind of document.

A new output format is one writer module (a ``write`` function of the kind's signature)
plus one line here; the commands offer every format registered.

* EqIA screening: ``write(ctx, stage, basename, charts, templates_dir)`` writes
  ``basename.<format>`` (and anything it needs beside it) into the ``Staged`` folder;
  ``ctx`` is the prepared context (``eqia.render.view.prepare``), ``charts`` maps a
  Part 2 key to (PNG path, alt text).
* Annual report: ``write(context, charts, tables, path)``; ``context`` is
  ``eqia.documents.report.report_context``'s, ``charts`` PNG bytes by chart id,
  ``tables`` the report's tables as published (sheet name -> DataFrame).
* Tidy tables (``eqia.documents.tidy``, for BI tools): ``write(frame, float_format)``
  gives the file's bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eqia.render import docx as screening_docx
from eqia.render import html, markdown, report_docx, report_html, report_xlsx, tidy


@dataclass(frozen=True)
class Writer:
    write: Callable[..., object]
    charts: bool = True  # whether it shows charts (they are drawn only when one does)


SCREENING: dict[str, Writer] = {
    "docx": Writer(screening_docx.write),
    "html": Writer(html.write),
    "md": Writer(markdown.write),
}
REPORT: dict[str, Writer] = {
    "docx": Writer(report_docx.write),
    "html": Writer(report_html.write),
    "xlsx": Writer(report_xlsx.write, charts=False),
}
TIDY: dict[str, Callable[..., bytes]] = tidy.WRITERS

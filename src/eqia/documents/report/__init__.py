"""The annual equality report's content: services over several periods, safe to publish.

``build_report(config, publish=...)`` profiles every service's extract for every period,
compares the latest period with the area's Census 2021 population (``compare``), tests
each category's change in share since the previous period, audits completeness, and
writes findings in plain English. ``write_report`` renders it with the writers registered
in ``eqia.render.formats.REPORT`` (.docx, .html, .xlsx).

The work is split by idea: ``build`` (extracts -> protected tables, per service),
``change`` (the change test), ``population`` (the census comparison as shown),
``completeness`` (the one completeness rating, ``eqia.settings.thresholds``),
``sentences`` (findings in words), ``context`` (what the documents show, as plain data).

Publication safety: every count and share that reaches a document, in a table, a chart
or a sentence, is read from the ``ProtectedTable``s that one call of
``disclosure.protect_lines`` makes for a service under one ``DisclosurePolicy``
(``INTERNAL`` when not publishing): each characteristic's categories, the number
recorded, the number not recorded and the number of people (the same figure in every
characteristic's table) are protected together, period by period, so no figure can be
worked out from the others. With ``--publish`` everything derived from the counts
(shares, changes, the change test, intervals) is worked out from the published
figures, so nothing shown can be used to recover a hidden or unrounded count. The
suppression log (true values of hidden cells) is only ever written under
``internal/``. Problems the report survives (a missing period, a period label that
does not parse, a characteristic collected one year and not the next) become data
notes, shown in the document and returned to the caller; nothing is dropped silently.
Nothing here prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from eqia.documents.report.build import build_report
from eqia.documents.report.change import (
    change_table,
    possible_counts,
    published_change_test,
    two_proportion_test,
)
from eqia.documents.report.context import publishable_tables, report_context
from eqia.documents.report.model import AnnualReport, CharacteristicSection, DataNote, ServiceReport
from eqia.documents.report.tidy import report_tidy
from eqia.outputs import Staged
from eqia.render.formats import REPORT, TIDY
from eqia.render.report_charts import render_charts
from eqia.spreadsheet import to_csv

__all__ = [
    "AnnualReport", "CharacteristicSection", "DataNote", "ServiceReport", "Written",
    "build_report", "change_table", "possible_counts", "publishable_tables",
    "published_change_test", "report_context", "report_tidy", "two_proportion_test",
    "write_report",
]


@dataclass
class Written:
    public: list  # files safe to publish (with --publish)
    internal: list  # files that must never be published (the suppression log)

    def __iter__(self):
        return iter(self.public + self.internal)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:60] or "report"


def write_report(report: AnnualReport, out_dir, formats=tuple(REPORT)) -> Written:
    """Write the report's files (``formats``: the documents' in ``REPORT``, and the tidy
    table's in ``TIDY``); the suppression log only ever goes under ``internal/``.

    All are written first and then moved into place together (``eqia.outputs.Staged``):
    a run that fails leaves the previous report as it was.
    """
    out = Path(out_dir)
    context = report_context(report)
    stem = _slug(report.config.title)
    wanted = [f for f in REPORT if f in formats]
    charts = render_charts(context) if any(REPORT[f].charts for f in wanted) else {}
    tables = publishable_tables(report) if wanted else {}
    public, internal = [], []
    with Staged(out) as stage:
        for fmt in wanted:
            REPORT[fmt].write(context, charts, tables, stage.path(f"{stem}.{fmt}"))
            public.append(out / f"{stem}.{fmt}")
        tidy = [f for f in TIDY if f in formats]
        frame = report_tidy(report) if tidy else None
        for fmt in tidy:
            stage.path(f"{stem}.{fmt}").write_bytes(TIDY[fmt](frame, None))
            public.append(out / f"{stem}.{fmt}")
        if report.publish:
            stage.write_text("internal/suppression_log.csv", to_csv(report.suppression_log()))
            internal.append(out / "internal" / "suppression_log.csv")
    return Written(public=public, internal=internal)

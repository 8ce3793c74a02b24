"""EqIA screening documents (.docx, .html, .md) from the screening context.

Public entry: ``render_all(context, out_dir, basename, templates_dir=None,
formats=("docx", "html", "md"))`` returns the paths written. Templates are found in
``templates_dir`` first (a council's own, ``eqia screen --templates DIR``), then in
eqia's packaged ``templates/``: ``eqia_screening.docx`` (docxtpl),
``eqia_screening.html.j2`` and ``eqia_screening.md.j2`` (Jinja2). All run in eqia's
sandbox (``eqia.render._jinja``: plain data only, no file outside the templates folder)
with ``StrictUndefined``: a missing value or an unsafe expression is a ``TemplateError``
naming the template, never a blank or a crash.

Every format is rendered to a temporary file first and moved into place only when all
of them have rendered (``eqia.outputs.Staged``), so an error never leaves a half-written
or mismatched set. Nothing here prints.

The context (built by ``eqia.documents.screening``; shares are fractions 0-1)::

    meta       tool, generated, mode ("internal"|"publish"), not_for_publication, area,
               baseline_source, extracts [{name, rows}], method, eligible_ages (str|None)
               [optional: area_code, rows, reconciliation, rating_rules [str],
               focus {primary ["over"|"under"], source "change"|"override"|"unstated",
               scope "services"|"employment"|"both", explanation}]
    proposal   directorate, name, assessed, owner, date_initial_screening, date_full_eqia,
               context, aims, beneficiaries, involvement, potential_impact, monitoring
               (str|None; blank lines separate paragraphs), versions [{version, author,
               date, comment}], signoff {senior_officer, senior_job_title, senior_date,
               dmt_member, dmt_job_title, dmt_date}
               [optional: change [{value, label, means}], change_text (str|None), scope]
    grid       ten rows in grid order: {key, label,
               affects {answer YES|NO|None, how, source}, rating {value, direction, source},
               suggested {rating, direction, reasons [str], readings [{reading
               "over"|"under"|None, label, primary, groups [str], text}]},
               officer {rating, direction},
               internal_action, further_assessment, promotes {answer, how}}
    part2      per characteristic: {key, name, base, table_id, available, status,
               completeness, sentences [str], guidance, caveats [str],
               rows [{category, service_count, service_share, ci_low, ci_high,
                      baseline_share, ratio, flag under|over|none|too_few|
                      no_census_category, hidden (True: the figures are protected and
                      shown as the marker; the flag still stands), strength
                      "95%"|"99.8%"|"", signal_95 under|over|none|"" (the group's own 95%
                      test: a screening signal), missing_could_explain True|False|None}],
               unknown_rows [{label, count}],
               chart {categories, service, ci_low, ci_high, baseline, area, title} | None,
               age_adjusted, readings [str] (both readings of the flags for the proposal,
               the main concern first)}
    judgement  suggested_option 1-3, suggested_text, suggested_reasons [str],
               officer_option 1-3|None, officer_text, options {n: text}
    action_plan [{issue, action, expected_outcome, owner, timescale, cost,
                  source "data"|"officer",
                  kind "mitigation"|"outreach"|"review"|"data_gap"|"officer"}]
               (review: a group whose figures, and finding, are not published)

Templates also get the derived fields described in ``eqia.render.view`` (``grid[i].show``,
``judgement.option_list``, ``meta.internal``, ``proposal.date_full_eqia_text``,
``action_plan[i].source_text``), ``part2[i].chart_alt`` (the chart's alt text) and
``part2[i].chart_image``, a string or None: a data URI in HTML, a relative path in
Markdown, and in Word a marker that eqia replaces with the picture after rendering,
and the filters ``pct``, ``count``, ``ci``, ``ratio``, ``flag_text``, ``paras``,
``or_text``, ``mdcell``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import eqia.render.charts as _charts
from eqia.errors import TemplateError, UsageError
from eqia.outputs import Staged
from eqia.render.formats import SCREENING
from eqia.render.view import prepare

#: The EqIA's formats, in the order they are written (``eqia.render.formats``).
FORMATS = tuple(SCREENING)

__all__ = ["FORMATS", "render_all", "prepare"]


def _make_charts(ctx: dict, folder: Path) -> dict[str, tuple[Path, str]]:
    made = {}
    area = ctx["meta"].get("area")
    for c in ctx["part2"]:
        if c.get("chart") and c["chart"].get("categories"):
            made[c["key"]] = _charts.chart_png(c["chart"], folder / f"{c['key']}.png",
                                               name=c["name"], area=area)
    return made


def render_all(
    context: dict,
    out_dir: str | Path,
    basename: str,
    templates_dir: str | Path | None = None,
    formats: Iterable[str] = FORMATS,
    extra: dict[str, Callable[[Path], object]] | None = None,
) -> list[Path]:
    """Write ``out_dir/basename.{docx,html,md}`` (those asked for) and return their paths.

    The Markdown file's charts go in ``out_dir/basename_charts/`` (returned too).
    ``extra`` maps more files of the same run (a name relative to ``out_dir``) to a
    function writing one to the path it is given; they are moved into place with the
    documents, or not at all.
    """
    wanted = _wanted(formats)
    if templates_dir is not None and not Path(templates_dir).is_dir():
        raise TemplateError("The templates folder does not exist", code="missing-file",
                            file=str(templates_dir),
                            hint="Give a folder holding your own templates.")
    out_dir = Path(out_dir)
    with _no_trace(out_dir), Staged(out_dir) as stage:
        charts = _make_charts(prepare(context), stage.scratch("charts"))
        for fmt in wanted:  # each writer fills in its own copy of the context
            SCREENING[fmt].write(prepare(context), stage, basename, charts, templates_dir)
        for name, write in (extra or {}).items():
            write(stage.path(name))
    return ([p for p in stage.written if p.is_file()]
            + [p for p in stage.written if p.is_dir()])


def _wanted(formats: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(f.lower() for f in formats))
    bad = [f for f in wanted if f not in SCREENING]
    if bad or not wanted:
        raise UsageError(f"Unknown format(s): {', '.join(bad) or '(none)'}", code="bad-format",
                         hint=f"Use any of {', '.join(SCREENING)}.")
    return wanted


@contextmanager
def _no_trace(out_dir: Path) -> Iterator[None]:
    """A failed run leaves no trace: not even the folders it made."""
    created = [p for p in [out_dir, *out_dir.parents] if not p.exists()]
    try:
        yield
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()
            except OSError:
                break
        raise

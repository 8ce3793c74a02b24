"""eqia from Python (a notebook, a script): the functions the commands call, nothing more.

Every result here is the one the command line prints for the same inputs: the commands
are a skin over these functions. Dates are explicit (``as_of``): a result must not drift
with the day it is run. Errors are the same typed exceptions (``eqia.errors``) whose
``str()`` is the message the command line shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eqia.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from eqia.analysis.comparison import Comparison
    from eqia.analysis.profile import Profile
    from eqia.documents.audit import AuditResult
    from eqia.documents.report import AnnualReport
    from eqia.documents.screening import Screening
    from eqia.read.mapping import MappingFile

__all__ = ["annual_report", "audit", "compare", "profile_file", "profile_frame", "screen"]

def _date(value: dt.date | str, name: str = "as_of") -> dt.date:
    """A date given as a date or as ``YYYY-MM-DD`` text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"{name} is not a date: {value!r}", code="bad-date", value=str(value),
                         hint=f"Give {name} as a date or as text like '2026-03-31'.") from None


def profile_frame(
    data: pd.DataFrame,
    mapping: str | Path | MappingFile | None = None,
    *,
    as_of: dt.date | str,
    name: str = "data frame",
    age_bands: str | None = None,
    allow_duplicates: bool = False,
) -> Profile:
    """Profile a pandas DataFrame already in memory, as ``eqia profile`` profiles a file.

    One row per person, or aggregated counts (a ``count`` column), exactly as in a file;
    values of any type are read as the text a CSV export would hold (dates as
    ``YYYY-MM-DD``, whole numbers without ``.0``). ``name`` is what messages call it.
    """
    from eqia.analysis.profiling import profiles_from_table
    from eqia.read.files import Table, frame_as_text
    from eqia.read.mapping import MappingFile, load_mapping

    mf = mapping if isinstance(mapping, MappingFile) else load_mapping(mapping)
    table = Table(path=name, data=frame_as_text(data))
    groups = profiles_from_table(table, mf, _date(as_of), age_bands, allow_duplicates,
                                 split=False)
    return next(iter(groups.values()))


def profile_file(
    path: str | Path,
    mapping: str | Path | MappingFile | None = None,
    *,
    as_of: dt.date | str,
    sheet: str | None = None,
    age_bands: str | None = None,
    allow_duplicates: bool = False,
) -> Profile:
    """Profile an extract file (CSV, XLSX or Parquet), as ``eqia profile`` does."""
    from eqia.analysis.profiling import profile_file as _profile_file

    return _profile_file(path, mapping, as_of=_date(as_of), sheet=sheet, age_bands=age_bands,
                         allow_duplicates=allow_duplicates)


def compare(
    profile: Profile,
    area: str,
    *,
    ages: str | None = None,
    rules: str | Path | None = None,
    data_date: dt.date | str | None = None,
) -> Comparison:
    """Compare a profile with an area's Census 2021 population, as ``eqia compare`` does.

    ``ages``: the service's eligible ages (``"65-"``, ``"18-64"``); the result's ``table``
    is the tidy DataFrame the command's CSV holds.
    """
    from eqia.analysis.compare import compare as _compare

    when = _date(data_date, "data_date") if data_date is not None else None
    return _compare(profile, area, ages=ages, rules=rules, data_date=when)


def screen(
    proposal: str | Path,
    *,
    out: str | Path | None = None,
    formats: Sequence[str] = ("docx", "html", "md"),
    publish: bool = False,
    policy: str | Path | None = None,
    rules: str | Path | None = None,
    assessment_rules: str | Path | None = None,
    templates: str | Path | None = None,
    today: dt.date | str | None = None,
) -> Screening:
    """Draft the screening document from a proposal file, as ``eqia screen`` does.

    With ``out`` the documents are written there (``formats``); without, only the result
    is returned (its ``context`` is what the templates receive). ``today``: the document's
    date (the day it is run when not given, as on the command line).
    """
    from eqia.documents.proposal import load_proposal
    from eqia.documents.screening import document_name, run_screening

    if policy is not None and not publish:
        raise UsageError("policy applies only with publish=True", code="option-mismatch",
                         hint="Pass publish=True, or leave out policy.")
    loaded = load_proposal(proposal)
    result = run_screening(loaded, publish=publish, rules_path=rules,
                           assessment_path=assessment_rules, policy_path=policy,
                           today=_date(today, "today") if today is not None else None)
    if out is not None:
        from eqia.render import render_all

        render_all(result.context, out, document_name(loaded), templates_dir=templates,
                   formats=formats)
    return result


def audit(
    paths: str | Path | Iterable[str | Path],
    *,
    as_of: dt.date | str,
    previous: str | Path | Iterable[str | Path] | None = None,
    mapping: str | Path | None = None,
    thresholds: str | Path | None = None,
) -> AuditResult:
    """Audit the completeness of equality data across extracts, as ``eqia audit`` does."""
    from eqia.documents.audit import audit_paths

    return audit_paths(paths, previous=previous, mapping=mapping, thresholds=thresholds,
                       as_of=_date(as_of))


def annual_report(
    config: str | Path,
    *,
    out: str | Path | None = None,
    formats: Sequence[str] = ("docx", "html", "xlsx"),
    publish: bool = False,
    today: dt.date | str | None = None,
) -> AnnualReport:
    """Build the annual equality report from its settings file, as ``eqia report`` does;
    with ``out``, write it there (``formats``)."""
    from eqia.documents.report import build_report, write_report
    from eqia.settings.report import load_report_config

    report = build_report(load_report_config(config), publish=publish,
                          today=_date(today, "today") if today is not None else None)
    if out is not None:
        write_report(report, out, formats=tuple(formats))
    return report

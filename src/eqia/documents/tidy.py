"""Tidy tables for BI tools (Power BI, Excel's Power Query, a web page): one definition of
the columns every command's long output starts with.

Every tidy table begins with ``TIDY_KEYS`` (``area, service, period, characteristic,
category``), in that order, and then its measures, one typed column each (a count is a
whole number, a share a proportion from 0 to 1, a flag a word): one row per
characteristic x category (per service and period), so that outputs of several runs
(services, quarters, areas) can be appended into one table and sliced by any key without
reshaping. docs/outputs.md lists every column.

* ``comparison_tidy``: ``eqia compare`` (the comparison's csv columns).
* ``profile_tidy``: ``eqia profile`` (categories, unknown and invalid by reason).
* ``audit_tidy``: ``eqia audit`` (one row per service x characteristic; no category).
* ``eqia.documents.report.tidy.report_tidy``: ``eqia report``, from the published
  tables only: a hidden count is empty with ``suppressed`` true, so nothing the
  documents hide is in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from eqia.analysis.comparison import Comparison
    from eqia.analysis.profile import Profile
    from eqia.documents.audit.collect import AuditResult

#: The columns every tidy table starts with. ``area``: the census area compared with
#: (empty where there is none); ``service``: the service (by default the extract's name);
#: ``period``: the period the figures are for (a report's label, or the --as-of date);
#: ``category``: empty on rows about a characteristic as a whole (the audit).
TIDY_KEYS = ("area", "service", "period", "characteristic", "category")

def with_keys(frame: pd.DataFrame, **keys: str) -> pd.DataFrame:
    """``frame`` with ``TIDY_KEYS`` first: the columns it has, the values given for the
    rest (one value for every row)."""
    out = frame.copy()
    for key in TIDY_KEYS:
        if key not in out.columns:
            out[key] = keys.get(key, "")
    return out[[*TIDY_KEYS, *[c for c in out.columns if c not in TIDY_KEYS]]]


def comparison_tidy(result: Comparison, service: str, period: str = "") -> pd.DataFrame:
    """The comparison's csv columns (full precision), keyed."""
    return with_keys(result.csv_table(), area=result.area.name, service=service, period=period)


def profile_tidy(profile: Profile, service: str, period: str = "",
                 list_invalid_values: bool = False) -> pd.DataFrame:
    """``Profile.tidy`` keyed (no area: a profile is compared with none)."""
    return with_keys(profile.tidy(list_invalid_values), service=service, period=period)


def audit_tidy(result: AuditResult) -> pd.DataFrame:
    """The audit's csv columns keyed, the period being the audit's date."""
    return with_keys(result.csv_table(), period=result.as_of.isoformat())

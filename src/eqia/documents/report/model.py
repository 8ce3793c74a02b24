"""What the annual report holds: per service, per characteristic, its tables, tests and
findings, and the data notes. Plain dataclasses; ``build`` fills them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from eqia.analysis.profile import Profile
from eqia.disclosure.engine import ProtectedTable
from eqia.settings.disclosure import DisclosurePolicy
from eqia.settings.report import Period, ReportConfig
from eqia.settings.rules import Rules
from eqia.settings.thresholds import RAG_LABELS, Thresholds

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    from eqia.analysis.comparison import Comparison


#: How documents name the completeness ratings (``eqia.settings.thresholds``).
RAG_TEXT = RAG_LABELS

CHANGE_COLUMNS = [
    "characteristic", "category", "period_from", "period_to", "count_from", "known_from",
    "count_to", "known_to", "share_from", "share_to", "change_pp", "p_value", "p_adjusted",
    "test", "significant",
]


@dataclass
class DataNote:
    """Something about the data a reader must know; shown in the report's "Data notes"."""

    code: str  # kebab-case: missing-period, unparsed-period, not-collected, ...
    text: str
    service: str | None = None


@dataclass
class CharacteristicSection:
    """One characteristic of one service: its table over periods and its findings."""

    key: str
    name: str
    periods: list[str]  # period labels in the table, oldest first
    counts: pd.DataFrame  # true counts: categories x periods (never published as is)
    table: ProtectedTable  # the categories and their total as they may be shown
    changes: pd.DataFrame  # CHANGE_COLUMNS, latest vs previous period
    population: pd.DataFrame  # category, baseline_share, flag, ci_low, ci_high, robust,
    # hidden, estimated, robust_to_age (latest)
    #: The population compared with, e.g. "Kent's population aged 18 and over" (empty
    #: when there is no comparison).
    compared_with: str = ""
    #: True when the census has no age breakdown for it and the service's ages differ
    #: markedly from that population's (``CharacteristicResult.age_confounded``).
    age_confounded: bool | None = None
    change_findings: list[str] = field(default_factory=list)
    population_findings: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[str]:
        return self.change_findings + self.population_findings


@dataclass
class ServiceReport:
    name: str
    description: str | None
    periods: list[Period]  # periods with an extract, oldest first
    profiles: dict[str, Profile]  # by period label
    comparison: Comparison | None
    sections: list[CharacteristicSection]
    completeness: pd.DataFrame  # characteristic x period: rows, known, share, rag (published)
    protection_log: pd.DataFrame  # INTERNAL ONLY: every hidden figure of the service
    totals: dict[str, str]  # people using the service, by period, as they may be shown
    findings: list[str]
    notes: list[DataNote]
    ages: str | None

    @property
    def latest(self) -> Period | None:
        return self.periods[-1] if self.periods else None

    @property
    def previous(self) -> Period | None:
        return self.periods[-2] if len(self.periods) > 1 else None


@dataclass
class AnnualReport:
    config: ReportConfig
    publish: bool
    policy: DisclosurePolicy
    services: list[ServiceReport]
    notes: list[DataNote]
    generated: dt.date
    thresholds: Thresholds
    rules: Rules

    @property
    def all_notes(self) -> list[DataNote]:
        return self.notes + [n for s in self.services for n in s.notes]

    def suppression_log(self) -> pd.DataFrame:
        """INTERNAL ONLY: every hidden cell with its true value. Never publish."""
        logs = [s.protection_log.assign(service=s.name) for s in self.services
                if len(s.protection_log)]
        if not logs:
            return pd.DataFrame(columns=["service", "table", "row", "column", "value", "reason",
                                         "protects", "lower", "upper"])
        log = pd.concat(logs, ignore_index=True)
        return log[["service", *[c for c in log.columns if c != "service"]]]


#: The table ``protect`` adds for the number of people in each period.
PEOPLE_TABLE = "people"

"""The annual report's settings file (``report.yaml``): load it, check it, say what is wrong.

Paths in the file are relative to the file. A mistake the report cannot be built
without (invalid YAML, a missing required field, a file that does not exist) is a
``ConfigError``; a problem the report can survive and must mention (a period label
that does not parse) becomes a data note, never a silent gap.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from eqia.disclosure.engine import DisclosurePolicy, load_policy
from eqia.settings.schema import (
    FIRST_YEAR,
    LAST_YEAR,
    AgeRange,
    Checker,
    Choice,
    Fields,
    ListOf,
    MapOf,
    Text,
    named_file,
    once,
    validate,
)
from eqia.settings.yamlfile import YamlDoc, read_yaml_doc

#: Narrative sections, in the order they appear in the report, with their headings.
NARRATIVE_SECTIONS = {
    "summary": "Summary",
    "introduction": "Introduction",
    "policy_context": "Policy context",
    "achievements": "Key achievements",
    "priorities": "Key priorities for the coming year",
    "challenges": "Key challenges",
    "governance": "Governance",
    "conclusion": "Conclusion",
}
POLICY_PRESETS = ("threshold", "nhs")


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: a financial year (1 April to 31 March) or a calendar year."""

    end: dt.date
    start: dt.date
    label: str  # as written in the file

    @property
    def kind(self) -> str:
        return "financial year" if self.start.month == 4 else "calendar year"

    @property
    def describe(self) -> str:
        return (f"{self.label} ({self.start.day} {self.start:%B %Y} to "
                f"{self.end.day} {self.end:%B %Y})")


_FY = re.compile(r"^(?:FY\s*)?(\d{4})\s*[-/–]\s*(\d{2}|\d{4})$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(label: object) -> Period | None:
    """``2024-25``, ``2024/25``, ``2024-2025``, ``FY2024/25``: the financial year ending
    31 March 2025; ``2025``: the calendar year 2025. ``None`` if it does not parse."""
    text = str(label).strip()
    m = _FY.match(text)
    if m:
        first = int(m.group(1))
        second = int(m.group(2))
        if second < 100:
            second += (first // 100) * 100
            if second < first:  # 1999-00
                second += 100
        if second != first + 1 or not FIRST_YEAR <= first < LAST_YEAR:
            return None
        return Period(end=dt.date(second, 3, 31), start=dt.date(first, 4, 1), label=text)
    m = _YEAR.match(text)
    if m and FIRST_YEAR <= int(m.group(1)) <= LAST_YEAR:
        year = int(m.group(1))
        return Period(end=dt.date(year, 12, 31), start=dt.date(year, 1, 1), label=text)
    return None


PERIOD_HINT = ("Use a financial year such as 2024-25 or 2024/25 (1 April to 31 March), "
               "or a calendar year such as 2025.")


@dataclass
class Extract:
    """One period's extract(s) for a service, as named in the file."""

    label: str
    period: Period | None  # None: the label did not parse (a data note, not an error)
    paths: list[Path]


@dataclass
class ServiceConfig:
    name: str
    extracts: list[Extract]
    mapping: Path | None = None
    ages: str | None = None
    description: str | None = None

    @property
    def periods(self) -> list[Period]:
        return sorted(e.period for e in self.extracts if e.period is not None)


@dataclass
class ReportConfig:
    path: str
    title: str
    organisation: str
    period: Period
    area: str
    services: list[ServiceConfig]
    narrative: dict[str, str] = field(default_factory=dict)
    ages: str | None = None
    policy: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    contact: str | None = None
    classification: str | None = None
    #: The council's completeness thresholds file (``eqia audit --thresholds``), if any.
    thresholds: Path | None = None

    @property
    def periods(self) -> list[Period]:
        """Every period any service has, up to the report's own, oldest first."""
        seen = {p.label: p for s in self.services for p in s.periods if p <= self.period}
        seen.setdefault(self.period.label, self.period)
        unique: dict[tuple[dt.date, dt.date], Period] = {}
        for p in sorted(seen.values()):
            unique.setdefault((p.start, p.end), p)
        return list(unique.values())


def report_template_text() -> str:
    """The commented example written by ``eqia init --report``."""
    return files("eqia").joinpath("data/report_template.yaml").read_text(encoding="utf-8")


def _period_problem(text: str) -> str | None:
    return None if parse_period(text) else "is not a period eqia can read"


_SERVICE = Fields(
    fields={
        "name": Text(),
        "extracts": MapOf(key=Text(), value=ListOf(item=Text(), single=True, empty_ok=False,
                                                   hint="Give the extract's file name after "
                                                        "the period label."),
                          hint="e.g.\n    extracts:\n      2024-25: extract_2024-25.csv\n"
                               "      2025-26: extract_2025-26.csv"),
        "mapping": Text(),
        "ages": AgeRange(),
        "description": Text(),
    },
    required={"name": "Add e.g. name: Community mental health support",
              "extracts": "Give one file per period, e.g.\n    extracts:\n"
                          "      2024-25: extract_2024-25.csv\n"
                          "      2025-26: extract_2025-26.csv"},
)
#: Everything a report file may hold (see data/report_template.yaml).
SCHEMA = Fields(
    fields={
        "title": Text(), "organisation": Text(),
        "period": Text(check=_period_problem, hint=PERIOD_HINT),
        "area": Text(), "ages": AgeRange(),
        "services": ListOf(item=_SERVICE),
        "narrative": Fields(noun="narrative section",
                            fields={k: Text() for k in NARRATIVE_SECTIONS}),
        "publication": Fields(fields={
            "policy": Choice(options=POLICY_PRESETS, hint=(
                "threshold: hide counts under 10 (and what would reveal them); nhs: show 1 to "
                "7 as *, round the rest to the nearest 5.")),
            "policy_file": Text()}),
        "contact": Text(), "classification": Text(), "thresholds": Text(),
    },
    required={
        "title": "Add it, e.g.\ntitle: Annual equality and diversity report 2025-26",
        "organisation": "Add it, e.g.\norganisation: Kent County Council",
        "period": "Add it, e.g.\nperiod: 2025-26",
        "area": "Add it, e.g.\narea: Kent",
        "services": "List each service with its extracts per period, e.g.\nservices:\n"
                    "  - name: Community mental health support service\n    extracts:\n"
                    "      2024-25: extract_2024-25.csv\n      2025-26: extract_2025-26.csv",
    },
)
TOP_LEVEL = set(SCHEMA.fields)
HINT = "Run 'eqia init --report report.yaml' to see a complete, commented report file."


def load_report_config(path: str | Path, policy: DisclosurePolicy | None = None) -> ReportConfig:
    """Read and check ``report.yaml``. ``policy`` overrides the file's publication policy."""
    doc = read_yaml_doc(path, "the report file",
                        missing_hint="Create one with: eqia init --report report.yaml")
    raw = validate(doc, SCHEMA, "bad-report-config", hint=HINT)
    ck = Checker(doc)
    names: dict[str, int] = {}
    for i, svc in enumerate(raw["services"]):
        first = names.setdefault(svc["name"], i)
        if first != i:
            ck.add(("services", i, "name"), f"Two services are called '{svc['name']}' (items "
                   f"{first + 1} and {i + 1})", hint="Give every service its own name.")
    ck.raise_if_any("bad-report-config", HINT)
    seen: dict[tuple[int, int], str] = {}
    services = [_service(doc, i, svc, raw.get("ages"), seen)
                for i, svc in enumerate(raw["services"])]
    base_policy = raw.get("publication")
    return ReportConfig(
        path=doc.source,
        title=raw["title"],
        organisation=raw["organisation"],
        period=parse_period(raw["period"]),
        area=raw["area"],
        services=services,
        narrative={k: t for k in NARRATIVE_SECTIONS if (t := raw.get("narrative", {}).get(k))},
        ages=raw.get("ages"),
        policy=policy or _policy(doc, base_policy),
        contact=raw.get("contact"),
        classification=raw.get("classification"),
        thresholds=named_file(doc, ("thresholds",), raw["thresholds"],
                              "The thresholds file") if raw.get("thresholds") else None,
    )


def _service(doc: YamlDoc, i: int, raw: dict, ages: str | None,
             seen: dict[tuple[int, int], str]) -> ServiceConfig:
    """One service; ``seen`` holds every extract named so far, which must not come again."""
    at = ("services", i)
    given = doc.data["services"][i]["extracts"]  # the labels as YAML read them (2025: a number)
    extracts = []
    for key, (label, names) in zip(given, raw["extracts"].items(), strict=True):
        paths = []
        for j, name in enumerate(names):
            place = (*at, "extracts", key, j) if isinstance(given[key], list) else (
                *at, "extracts", key)
            path = named_file(doc, place, name,
                              f"An extract for service '{raw['name']}', period {label},")
            once(doc, seen, place, path, f"service '{raw['name']}', period {label}")
            paths.append(path)
        extracts.append(Extract(label=label, period=parse_period(label), paths=paths))
    mapping = raw.get("mapping")
    return ServiceConfig(
        name=raw["name"],
        extracts=extracts,
        mapping=named_file(doc, (*at, "mapping"), mapping,
                           f"The mapping file for service '{raw['name']}'") if mapping else None,
        ages=raw.get("ages") or ages,
        description=raw.get("description"),
    )


def _policy(doc: YamlDoc, raw: dict) -> DisclosurePolicy:
    """``publication: {policy: nhs | threshold, policy_file: my-policy.yaml}``."""
    if not raw:
        return load_policy()
    policy_file = raw.get("policy_file")
    path = (named_file(doc, ("publication", "policy_file"), policy_file,
                       "The disclosure policy file") if policy_file else None)
    return load_policy(path, method=raw.get("policy"))

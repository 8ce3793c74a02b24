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
from typing import Any

from eqia.agebands import parse_range
from eqia.disclosure import DisclosurePolicy, load_policy
from eqia.errors import ConfigError, EqiaError
from eqia.yamlfile import read_yaml

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
TOP_LEVEL = {"title", "organisation", "period", "area", "ages", "services", "narrative",
             "publication", "contact", "classification"}
SERVICE_FIELDS = {"name", "extracts", "mapping", "ages", "description"}
PUBLICATION_FIELDS = {"policy", "policy_file"}
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
        if second != first + 1:
            return None
        return Period(end=dt.date(second, 3, 31), start=dt.date(first, 4, 1), label=text)
    m = _YEAR.match(text)
    if m and 1900 <= int(m.group(1)) <= 2200:
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


def _error(path: str, message: str, hint: str | None = None, value: Any = None,
           code: str = "bad-report-config") -> ConfigError:
    return ConfigError(message, code=code, file=path, value=value,
                       hint=hint or "Run 'eqia init --report report.yaml' to see a complete, "
                                    "commented report file.")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def load_report_config(path: str | Path, policy: DisclosurePolicy | None = None) -> ReportConfig:
    """Read and check ``report.yaml``. ``policy`` overrides the file's publication policy."""
    p = Path(path)
    src = str(p)
    raw = read_yaml(p, "the report file",
                    missing_hint="Create one with: eqia init --report report.yaml")
    if not isinstance(raw, dict):
        raise _error(src, "The report file must be a set of 'field: value' entries")
    unknown = sorted(set(map(str, raw)) - TOP_LEVEL)
    if unknown:
        raise _error(src, f"Unknown field(s): {', '.join(unknown)}",
                     hint="Fields: " + ", ".join(sorted(TOP_LEVEL)) + ".")
    for name, example in (("title", "Annual equality and diversity report 2025-26"),
                          ("organisation", "Kent County Council"),
                          ("period", "2025-26"), ("area", "Kent")):
        if not _text(raw.get(name)):
            raise _error(src, f"The required field '{name}' is missing",
                         hint=f"Add it, e.g.\n{name}: {example}")
    period = parse_period(raw["period"])
    if period is None:
        raise _error(src, "The report's 'period' is not a period eqia can read",
                     value=raw["period"], hint=PERIOD_HINT)
    ages = _ages(src, raw.get("ages"), "ages")
    base = p.parent
    services_raw = raw.get("services")
    if not isinstance(services_raw, list) or not services_raw:
        raise _error(src, "The required field 'services' is missing or empty",
                     hint="List each service with its extracts per period, e.g.\nservices:\n"
                          "  - name: Community mental health support\n    extracts:\n"
                          "      2024-25: extract_2024-25.csv\n      2025-26: extract_2025-26.csv")
    services = [_service(src, base, i, s, ages) for i, s in enumerate(services_raw, start=1)]
    names = [s.name for s in services]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _error(src, f"Two services have the same name: {dupes[0]}",
                     hint="Give every service its own name.")
    narrative = raw.get("narrative") or {}
    if not isinstance(narrative, dict):
        raise _error(src, "'narrative' must hold sections such as policy_context: | text")
    bad = sorted(set(map(str, narrative)) - set(NARRATIVE_SECTIONS))
    if bad:
        raise _error(src, f"Unknown narrative section(s): {', '.join(bad)}",
                     hint="Sections: " + ", ".join(NARRATIVE_SECTIONS) + ".")
    return ReportConfig(
        path=src,
        title=str(raw["title"]).strip(),
        organisation=str(raw["organisation"]).strip(),
        period=period,
        area=str(raw["area"]).strip(),
        services=services,
        narrative={k: t for k in NARRATIVE_SECTIONS if (t := _text(narrative.get(k)))},
        ages=ages,
        policy=policy or _policy(src, base, raw.get("publication")),
        contact=_text(raw.get("contact")),
        classification=_text(raw.get("classification")),
    )


def _ages(src: str, value: Any, where: str) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        parse_range(text)
    except EqiaError as exc:
        raise _error(src, f"'{where}' is not an age range", value=text,
                     hint="Examples: 18- (18 and over), 65-, 18-64.") from exc
    return text


def _service(src: str, base: Path, i: int, raw: Any, ages: str | None) -> ServiceConfig:
    if not isinstance(raw, dict):
        raise _error(src, f"Service {i} must be a set of fields (name, extracts, mapping, ages)")
    name = _text(raw.get("name"))
    if not name:
        raise _error(src, f"Service {i} has no 'name'",
                     hint="Add e.g. name: Community mental health support")
    extra = sorted(set(map(str, raw)) - SERVICE_FIELDS)
    if extra:
        raise _error(src, f"Unknown field(s) in service '{name}': {', '.join(extra)}",
                     hint="Fields: " + ", ".join(sorted(SERVICE_FIELDS)) + ".")
    given = raw.get("extracts")
    if not isinstance(given, dict) or not given:
        raise _error(src, f"Service '{name}' needs 'extracts': one file per period",
                     hint="e.g.\n    extracts:\n      2024-25: extract_2024-25.csv\n"
                          "      2025-26: extract_2025-26.csv")
    extracts = []
    for label, value in given.items():
        paths_raw = value if isinstance(value, list) else [value]
        if not paths_raw or any(not _text(v) for v in paths_raw):
            raise _error(src, f"Service '{name}', period {label}: no file given",
                         hint="Give the extract's file name after the period label.")
        paths = [(base / str(v).strip()).resolve() for v in paths_raw]
        for path in paths:
            if not path.is_file():
                raise ConfigError(
                    f"An extract named for service '{name}', period {label}, does not exist",
                    code="missing-file", file=str(path),
                    hint=f"Check 'extracts' in {Path(src).name}; paths are relative to it.")
        extracts.append(Extract(label=str(label).strip(), period=parse_period(label),
                                paths=paths))
    mapping = _text(raw.get("mapping"))
    mapping_path = (base / mapping).resolve() if mapping else None
    if mapping_path is not None and not mapping_path.is_file():
        raise ConfigError(f"The mapping file named for service '{name}' does not exist",
                          code="missing-file", file=str(mapping_path),
                          hint=f"Check 'mapping' in {Path(src).name}; paths are relative to it.")
    return ServiceConfig(
        name=name,
        extracts=extracts,
        mapping=mapping_path,
        ages=_ages(src, raw.get("ages"), f"services: {name}: ages") or ages,
        description=_text(raw.get("description")),
    )


def _policy(src: str, base: Path, raw: Any) -> DisclosurePolicy:
    """``publication: {policy: nhs | threshold, policy_file: my-policy.yaml}``."""
    if raw is None:
        return load_policy()
    if not isinstance(raw, dict):
        raise _error(src, "'publication' must hold 'policy' and/or 'policy_file'")
    extra = sorted(set(map(str, raw)) - PUBLICATION_FIELDS)
    if extra:
        raise _error(src, f"Unknown field(s) under publication: {', '.join(extra)}",
                     hint="Fields: policy (threshold or nhs), policy_file.")
    method = _text(raw.get("policy"))
    if method is not None and method not in POLICY_PRESETS:
        raise _error(src, "publication: policy must be threshold or nhs", value=method,
                     hint="threshold: hide counts under 10 (and what would reveal them); "
                          "nhs: show 1 to 7 as *, round the rest to the nearest 5.")
    policy_file = _text(raw.get("policy_file"))
    path = (base / policy_file).resolve() if policy_file else None
    if path is not None and not path.is_file():
        raise ConfigError("The disclosure policy file does not exist", code="missing-file",
                          file=str(path), hint="Check 'publication: policy_file'.")
    return load_policy(path, method=method)

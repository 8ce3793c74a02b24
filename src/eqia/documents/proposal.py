"""The officer's proposal file: load it, check it, and say exactly what is wrong.

Paths inside the file are relative to the file. Ratings, options and YES/NO answers
are checked against their allowed values so that a typo is an error, not a blank.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from eqia.errors import ConfigError
from eqia.judgement.assess import DIRECTIONS, RATINGS
from eqia.judgement.assess import SCHEMA as ASSESSMENT_SCHEMA
from eqia.settings import changes
from eqia.settings import characteristics as chars
from eqia.settings.schema import (
    INVALID,
    AgeRange,
    Checker,
    Choice,
    Date,
    DateText,
    Fields,
    ListOf,
    MapOf,
    Spec,
    Text,
    named_file,
    once,
    validate,
)
from eqia.settings.yamlfile import read_yaml_doc

TEXT_FIELDS = (
    "directorate", "name", "assessed", "owner", "date_initial_screening", "date_full_eqia",
    "context", "aims", "beneficiaries", "involvement", "potential_impact", "monitoring",
)
OFFICER_FIELDS = (
    "affects", "how", "rating", "direction", "internal_action", "further_assessment",
    "promotes", "promotes_how",
)
SIGNOFF_FIELDS = (
    "senior_officer", "senior_job_title", "senior_date", "dmt_member", "dmt_job_title", "dmt_date",
)
ACTION_FIELDS = ("issue", "action", "expected_outcome", "owner", "timescale", "cost")
DATE_FIELDS = {"date_initial_screening", "date_full_eqia", "date", "senior_date", "dmt_date"}
YES_NO = Choice(options=("YES", "NO"), synonyms={"true": "YES", "false": "NO", "y": "YES",
                                                 "n": "NO"})


@dataclass(frozen=True, kw_only=True)
class _Changes(Spec):
    """``change: closure``, ``change: [reduction, relocation]`` or ``reduction, relocation``
    -> the keys of ``data/changes.yaml``, in order, once each."""

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        items = ListOf(item=Text(), single=True).convert(value, path, ck)
        if items is INVALID or items is None:
            return items
        try:
            return changes.parse([part for item in items for part in item.split(",")])
        except ValueError as exc:
            ck.add(path, f"{ck.subject(path)} must be one of "
                   + ", ".join(changes.vocabulary()), str(exc), hint=(
                       "Say what the proposal changes (several as a list, e.g. change: "
                       "[reduction, relocation]):\n" + changes.help_text()))
            return INVALID


def _texts(names: tuple[str, ...]) -> dict[str, Text]:
    return {n: DateText() if n in DATE_FIELDS else Text() for n in names}


#: An extract that is a table in a database (``read.engines``), counted where it lives.
DATABASE_EXTRACT = Fields(
    fields={"db": Text(), "table": Text(), "query": Text()},
    required={"db": "Give the database's URL (no password in it), e.g.\n    - db: "
              "postgresql://analyst@warehouse/council\n      table: social_care.mh_support"})


@dataclass(frozen=True, kw_only=True)
class _Extract(Spec):
    """An extract: a file's name, or ``db:`` with ``table:`` or ``query:``."""

    def convert(self, value: Any, path: tuple, ck: Any) -> Any:
        spec = DATABASE_EXTRACT if isinstance(value, dict) else Text()
        return spec.validate(value, path, ck)


#: Everything a proposal file may hold (see data/proposal_template.yaml).
SCHEMA = Fields(
    fields={
        **_texts(TEXT_FIELDS),
        "change": _Changes(),
        "scope": Choice(options=changes.SCOPES, hint=(
            "services: the proposal changes a service and the extract holds its users (the "
            "default); employment: it changes staff's jobs and the extract holds staff; "
            "both.")),
        "versions": ListOf(item=Fields(fields=_texts(("version", "author", "date", "comment")))),
        "data": Fields(
            fields={
                "extracts": ListOf(item=_Extract(), single=True),
                "mapping": Text(),
                "area": Text(),
                "ages": AgeRange(),
                "as_of": Date(hint="Give the date ages are worked out on, e.g. 2026-03-31."),
                "adverse_direction": Choice(options=DIRECTIONS, hint=(
                    "It overrides the reading that 'change' gives: under: fewer users than "
                    "expected is the concern; over: more than expected is; both: either. "
                    "Leave it empty to follow 'change'.")),
                "comparators": MapOf(key=Text(), value=Text(empty_ok=False), hint=(
                    "e.g.\ndata:\n  comparators:\n    ethnicity: eligible_population.csv")),
            },
            required={
                "extracts": "Add the service-user extract(s), e.g.\ndata:\n  extracts:\n"
                            "    - service_extract.csv\n  area: Kent",
                "area": "Add the area to compare with, e.g.\ndata:\n  area: Kent",
            }),
        "characteristics": MapOf(
            key=Choice(options=tuple(chars.keys()), noun="a characteristic eqia knows"),
            value=Fields(fields={
                **_texts(OFFICER_FIELDS),
                "affects": YES_NO, "promotes": YES_NO,
                "rating": Choice(options=RATINGS),
                "direction": Choice(options=("Positive", "Negative")),
            })),
        "judgement": Fields(fields={"option": Choice(options=("1", "2", "3")), "text": Text()}),
        "action_plan": ListOf(item=Fields(fields=_texts(ACTION_FIELDS))),
        "signoff": Fields(fields=_texts(SIGNOFF_FIELDS)),
        "assessment": ASSESSMENT_SCHEMA,
    },
    required={"data": "Add the data section, e.g.\ndata:\n  extracts:\n"
                       "    - service_extract.csv\n  area: Kent", "name": (
        "Add the name of the policy, procedure, project or service, e.g.\n"
        "name: Community mental health support service")},
)
HINT = "Run 'eqia init example.yaml' to see a complete, commented proposal file."


def template_text() -> str:
    return files("eqia").joinpath("data/proposal_template.yaml").read_text(encoding="utf-8")


@dataclass
class Proposal:
    path: str
    text: dict[str, str | None]
    versions: list[dict[str, str]]
    extracts: list[Any]  # Path, or read.engines.DatabaseSource
    mapping: Path | None
    area: str
    ages: str | None
    as_of: dt.date | None
    adverse_direction: str | None
    comparators: dict[str, Path]
    officer: dict[str, dict[str, str | None]]
    option: int | None
    option_text: str | None
    action_plan: list[dict[str, str]]
    signoff: dict[str, str | None]
    assessment: dict[str, Any] = field(default_factory=dict)
    #: What is changing (``data/changes.yaml`` keys), in the order given; empty if unsaid.
    change: tuple[str, ...] = ()
    #: services, employment or both; ``None``: follow the change (``changes.focus_for``).
    scope: str | None = None


def _database_extract(doc: Any, at: tuple, given: dict) -> Any:
    """The ``DatabaseSource`` an extract item names; a ConfigError at its line if wrong."""
    from eqia.errors import UsageError
    from eqia.read.engines import DatabaseSource

    try:
        return DatabaseSource(given["db"], table=given.get("table"), query=given.get("query"))
    except UsageError as exc:
        raise ConfigError(exc.message, code=exc.code, file=doc.source, line=doc.line(at),
                          setting=doc.label(at), hint=exc.hint) from None


def load_proposal(path: str | Path) -> Proposal:
    doc = read_yaml_doc(path, "the proposal file", missing_hint="Create one with: eqia init "
                        "my-proposal.yaml")
    raw = validate(doc, SCHEMA, "bad-proposal", hint=HINT)
    data = raw["data"]
    seen: dict[tuple[int, int], str] = {}
    extracts = []
    for i, name in enumerate(data["extracts"]):
        at = ("data", "extracts", i)
        if isinstance(name, dict):
            extracts.append(_database_extract(doc, at, name))
            continue
        extracts.append(named_file(doc, at, name, "An extract"))
        once(doc, seen, at, extracts[-1], f"'data: extracts', item {i + 1}")
    mapping = data.get("mapping")
    comparators = {key: named_file(doc, ("data", "comparators", key), file, "A comparator file")
                   for key, file in (data.get("comparators") or {}).items()}
    officer = {key: {f: answers.get(f) for f in OFFICER_FIELDS}
               for key, answers in (raw.get("characteristics") or {}).items()}
    judgement = raw.get("judgement", {})
    option = judgement.get("option")
    actions = [{f: row.get(f) or "" for f in ACTION_FIELDS} | {"source": "officer"}
               for row in raw.get("action_plan") or [] if any(row.values())]
    versions = [{k: v.get(k) or "" for k in ("version", "author", "date", "comment")}
                for v in raw.get("versions") or []]
    signoff = raw.get("signoff", {})
    return Proposal(
        path=doc.source,
        text={f: raw.get(f) for f in TEXT_FIELDS},
        versions=versions,
        extracts=extracts,
        mapping=named_file(doc, ("data", "mapping"), mapping, "The mapping file")
        if mapping else None,
        area=data["area"],
        ages=data.get("ages"),
        as_of=data.get("as_of"),
        adverse_direction=data.get("adverse_direction"),
        comparators=comparators,
        officer=officer,
        option=int(option) if option else None,
        option_text=judgement.get("text"),
        action_plan=actions,
        signoff={f: signoff.get(f) for f in SIGNOFF_FIELDS},
        assessment=raw.get("assessment", {}),
        change=raw.get("change") or (),
        scope=raw.get("scope"),
    )

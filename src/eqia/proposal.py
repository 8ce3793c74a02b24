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

from eqia import changes
from eqia import characteristics as chars
from eqia.assess import DIRECTIONS, RATINGS, load_assessment_rules
from eqia.errors import ConfigError
from eqia.yamlfile import key_line, read_yaml

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
TOP_LEVEL = set(TEXT_FIELDS) | {"versions", "data", "characteristics", "judgement", "action_plan",
                                "signoff", "assessment", "change", "scope"}
DATA_FIELDS = ("extracts", "mapping", "area", "ages", "as_of", "adverse_direction", "comparators")


def _comparators(raw: Any, base: Path, name: str, src: str) -> dict[str, Path]:
    """``data: comparators:``: characteristic -> a CSV of the population to compare with."""
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise _error(src, "'data: comparators' must name a file under each characteristic",
                     hint="e.g.\ndata:\n  comparators:\n    ethnicity: eligible_population.csv")
    found = {}
    for key, path in raw.items():
        full = (base / str(path)).resolve()
        if not full.is_file():
            raise ConfigError("A comparator file named in the proposal file does not exist",
                              code="missing-file", file=str(full),
                              hint=f"Check 'data: comparators: {key}' in {name}; paths are "
                                   "relative to it.")
        found[str(key)] = full
    return found


def template_text() -> str:
    return files("eqia").joinpath("data/proposal_template.yaml").read_text(encoding="utf-8")


@dataclass
class Proposal:
    path: str
    text: dict[str, str | None]
    versions: list[dict[str, str]]
    extracts: list[Path]
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


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.strftime("%d %B %Y").lstrip("0")
    s = str(value).strip()
    return s or None


def _error(path: str, message: str, hint: str | None = None, value: Any = None) -> ConfigError:
    return ConfigError(message, code="bad-proposal", file=path, value=value,
                       hint=hint or "Run 'eqia init example.yaml' to see a complete, commented "
                                    "proposal file.")


def _upper_choice(path: str, where: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, bool):  # YAML reads a bare YES/NO as true/false
        value = "YES" if value else "NO"
    v = str(value).strip().upper()
    if v not in allowed:
        raise _error(path, f"{where} must be one of {', '.join(allowed)}", value=value)
    return v


def load_proposal(path: str | Path) -> Proposal:
    p = Path(path)
    raw = read_yaml(p, "the proposal file",
                    missing_hint="Create one with: eqia init my-proposal.yaml")
    src = str(p)
    if not isinstance(raw, dict):
        raise _error(src, "The proposal file must be a set of 'field: value' entries")
    unknown = sorted(set(map(str, raw)) - TOP_LEVEL)
    if unknown:
        raise _error(src, f"Unknown field(s): {', '.join(unknown)}")
    if not _text(raw.get("name")):
        raise _error(src, "The required field 'name' is missing",
                     hint="Add the name of the policy, procedure, project or service, e.g.\n"
                          "name: Community mental health support service")
    change = _change(raw.get("change"), src)
    scope = _text(raw.get("scope"))
    if scope is not None and scope.lower() not in changes.SCOPES:
        raise ConfigError("'scope' must be one of: " + ", ".join(changes.SCOPES),
                          code="bad-proposal", file=src, line=key_line(p, "scope"), value=scope,
                          hint="services: the proposal changes a service and the extract holds "
                               "its users (the default); employment: it changes staff's jobs and "
                               "the extract holds staff; both.")
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        raise _error(src, "'data' must hold extracts, area and the other data settings")
    bad_data = sorted(set(map(str, data)) - set(DATA_FIELDS))
    if bad_data:
        raise _error(src, f"Unknown field(s) under data: {', '.join(bad_data)}",
                     hint="Fields: " + ", ".join(DATA_FIELDS))
    extracts = data.get("extracts") or []
    if isinstance(extracts, str):
        extracts = [extracts]
    if not extracts:
        raise _error(src, "The required field 'data: extracts' is missing",
                     hint="Add the service-user extract(s), e.g.\ndata:\n  extracts:\n"
                          "    - service_extract.csv\n  area: Kent")
    if not _text(data.get("area")):
        raise _error(src, "The required field 'data: area' is missing",
                     hint="Add the area to compare with, e.g.\ndata:\n  area: Kent")
    base = p.parent
    extract_paths = [(base / str(e)).resolve() for e in extracts]
    for e in extract_paths:
        if not e.exists():
            raise ConfigError("An extract named in the proposal file does not exist",
                              code="missing-file", file=str(e),
                              hint=f"Check 'data: extracts' in {p.name}; paths are relative to it.")
    mapping = data.get("mapping")
    if mapping and not (base / str(mapping)).is_file():
        raise ConfigError("The mapping file named in the proposal file does not exist",
                          code="missing-file", file=str((base / str(mapping)).resolve()),
                          hint=f"Check 'data: mapping' in {p.name}; paths are relative to it, "
                               "or leave it blank.")
    comparators = _comparators(data.get("comparators"), base, p.name, src)
    adverse = _text(data.get("adverse_direction"))
    if adverse is not None and adverse.lower() not in DIRECTIONS:
        raise ConfigError("data: adverse_direction must be under, over or both",
                          code="bad-proposal", file=src, value=adverse,
                          line=key_line(p, "data", "adverse_direction"),
                          hint="It overrides the reading that 'change' gives: under: fewer "
                               "users than expected is the concern; over: more than expected "
                               "is; both: either. Leave it empty to follow 'change'.")
    assessment = raw.get("assessment") or {}
    if not isinstance(assessment, dict):
        raise _error(src, "'assessment' must hold assessment rules, e.g.\n"
                          "assessment:\n  complete_from_known_share: 0.9")
    try:
        load_assessment_rules(None, **assessment)
    except ConfigError as exc:
        raise _error(src, f"assessment: {exc.message}", value=exc.value,
                     hint=exc.hint) from exc
    as_of = data.get("as_of")
    if as_of is not None and not isinstance(as_of, dt.date):
        try:
            as_of = dt.date.fromisoformat(str(as_of))
        except ValueError as exc:
            raise _error(src, "data: as_of must be a date like 2026-03-31", value=as_of) from exc

    officer: dict[str, dict[str, str | None]] = {}
    for key, answers in (raw.get("characteristics") or {}).items():
        if key not in chars.keys():
            raise _error(src, f"'{key}' under characteristics is not a characteristic",
                         hint="Use: " + ", ".join(chars.keys()))
        answers = answers or {}
        bad = sorted(set(answers) - set(OFFICER_FIELDS))
        if bad:
            raise _error(src, f"Unknown field(s) under characteristics: {key}: {', '.join(bad)}",
                         hint="Fields: " + ", ".join(OFFICER_FIELDS))
        where = f"characteristics: {key}"
        officer[key] = {
            "affects": _upper_choice(src, f"{where}: affects", answers.get("affects"), ("YES", "NO")),
            "how": _text(answers.get("how")),
            "rating": _upper_choice(src, f"{where}: rating", answers.get("rating"), RATINGS),
            "direction": (_upper_choice(src, f"{where}: direction", answers.get("direction"),
                                        ("POSITIVE", "NEGATIVE")) or "").title() or None,
            "internal_action": _text(answers.get("internal_action")),
            "further_assessment": _text(answers.get("further_assessment")),
            "promotes": _upper_choice(src, f"{where}: promotes", answers.get("promotes"),
                                      ("YES", "NO")),
            "promotes_how": _text(answers.get("promotes_how")),
        }
    judgement = raw.get("judgement") or {}
    option = judgement.get("option")
    if option is not None and str(option).strip() != "":
        if str(option).strip() not in ("1", "2", "3"):
            raise _error(src, "judgement: option must be 1, 2 or 3", value=option)
        option = int(option)
    else:
        option = None
    actions = []
    for row in raw.get("action_plan") or []:
        row = row or {}
        if any(_text(row.get(f)) for f in ACTION_FIELDS):
            actions.append({f: _text(row.get(f)) or "" for f in ACTION_FIELDS} | {"source": "officer"})
    versions = [
        {k: _text((v or {}).get(k)) or "" for k in ("version", "author", "date", "comment")}
        for v in raw.get("versions") or []
    ]
    return Proposal(
        path=src,
        text={f: _text(raw.get(f)) for f in TEXT_FIELDS},
        versions=versions,
        extracts=extract_paths,
        mapping=(base / str(mapping)).resolve() if mapping else None,
        area=str(data["area"]),
        ages=_text(data.get("ages")),
        as_of=as_of,
        adverse_direction=adverse.lower() if adverse else None,
        comparators=comparators,
        officer=officer,
        option=option,
        option_text=_text(judgement.get("text")),
        action_plan=actions,
        signoff={f: _text((raw.get("signoff") or {}).get(f)) for f in SIGNOFF_FIELDS},
        assessment=dict(assessment),
        change=change,
        scope=scope.lower() if scope else None,
    )


def _change(raw: Any, src: str) -> tuple[str, ...]:
    """``change: closure`` or ``change: [reduction, relocation]``, checked."""
    try:
        return changes.parse(raw)
    except ValueError as exc:
        raise ConfigError("'change' must be one of: " + ", ".join(changes.vocabulary()),
                          code="bad-proposal", file=src, line=key_line(src, "change"),
                          value=str(exc),
                          hint="Say what the proposal changes (several as a list, e.g. "
                               "change: [reduction, relocation]):\n" + changes.help_text()
                          ) from None

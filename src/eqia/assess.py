"""Comparison -> suggested ratings with reasons, a suggested judgement, action rows.

The rules are data (``data/assessment.yaml``), transparent and overridable. Every
suggestion carries its reasons in words. Nothing here decides: the document shows
the suggestion beside the officer's answer, and the officer's answer wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from eqia import characteristics as chars
from eqia.schema import Choice, Fields, ListOf, MapOf, Number, Text, python_values, validate
from eqia.yamlfile import parse_yaml_doc, read_yaml_doc

if TYPE_CHECKING:
    from eqia.compare import Comparison

RATINGS = ("HIGH", "MEDIUM", "LOW", "NONE", "UNKNOWN")
DIRECTIONS = ("under", "over", "both")


@dataclass(frozen=True)
class AssessmentRules:
    adverse_direction: str = "under"
    unknown_below_known_share: float = 0.5
    complete_from_known_share: float = 0.8
    not_adverse_categories: tuple[str, ...] = ()
    max_rating: dict[str, str] = field(default_factory=dict, hash=False)


#: What each assessment rule accepts (a user's file, a proposal's ``assessment:``, or
#: the values given from Python); the defaults are in ``data/assessment.yaml``.
SCHEMA = Fields(noun="assessment rule", fields={
    "adverse_direction": Choice(options=DIRECTIONS, empty_ok=False, hint=(
        "under: a beneficial service (fewer than expected is the concern); over: "
        "enforcement or sanctions; both: either.")),
    "unknown_below_known_share": Number(min=0, max=1, empty_ok=False,
                                        words="a share between 0 and 1, e.g. 0.5"),
    "complete_from_known_share": Number(min=0, max=1, empty_ok=False,
                                        words="a share between 0 and 1, e.g. 0.8"),
    "not_adverse_categories": ListOf(item=Text(), single=True),
    "max_rating": MapOf(key=Choice(options=tuple(chars.keys()),
                                   noun="a characteristic eqia knows"),
                        value=Choice(options=("HIGH", "MEDIUM", "LOW"))),
})


def load_assessment_rules(path: str | Path | None = None, **overrides) -> AssessmentRules:
    """Packaged defaults, then a user's YAML file, then explicit overrides (None ignored)."""
    text = files("eqia").joinpath("data/assessment.yaml").read_text(encoding="utf-8")
    values = validate(parse_yaml_doc(text, "eqia/data/assessment.yaml",
                                     "eqia's assessment rules"), SCHEMA, "bad-rules")
    if path is not None:
        doc = read_yaml_doc(path, "the assessment rules file", code="bad-rules",
                            missing_hint="Check the path given with --assessment-rules.")
        values.update(validate(doc, SCHEMA, "bad-rules"))
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(validate(python_values(given, "the assessment rules given"), SCHEMA,
                           "bad-rules"))
    values["not_adverse_categories"] = tuple(values["not_adverse_categories"] or ())
    values["max_rating"] = values["max_rating"] or {}
    return replace(AssessmentRules(), **values)


@dataclass
class Suggestion:
    key: str
    rating: str
    direction: str | None
    reasons: list[str] = field(default_factory=list)
    flagged: list[dict] = field(default_factory=list)  # rows behind the rating
    data_gap: bool = False


#: How strongly each rating speaks, to apply a ``max_rating`` cap.
_LEVEL = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _share(x: float) -> str:
    return f"{100 * x:.1f}%"


def _adverse(flag: str, rules: AssessmentRules) -> bool:
    return rules.adverse_direction == "both" or flag == rules.adverse_direction


def _listing(rows: list[dict]) -> str:
    return "; ".join(f"{r['category']} (ratio {r['ratio']:.2f})" for r in rows)


def suggest(
    comparison: Comparison,
    rules: AssessmentRules | None = None,
    affects: dict[str, str | None] | None = None,
) -> dict[str, Suggestion]:
    """A suggested rating per screening-grid characteristic, with its reasons.

    ``affects`` holds the officer's YES/NO to "could the proposal affect this group
    less favourably?"; a robust adverse flag only suggests HIGH where it is not NO.

    The rules, in order (each documented in ``data/assessment.yaml``):

    * not collected, no census figure, or under ``unknown_below_known_share`` known:
      UNKNOWN (the data cannot show the impact);
    * a difference in the adverse direction that holds whatever the unknown values are:
      HIGH (Negative), or MEDIUM if the officer says the proposal does not affect the group;
    * a difference in the adverse direction that missing data could explain, or data
      known for under ``complete_from_known_share`` of people: MEDIUM;
    * otherwise LOW. Never NONE: only the officer can say there is no impact.

    Differences in the other direction, and in ``not_adverse_categories`` (people without
    the protected characteristic), are listed but do not raise the rating. ``max_rating``
    caps the suggestion for a characteristic.
    """
    rules = rules or load_assessment_rules()
    affects = affects or {}
    out = {}
    for key in chars.keys():
        r = comparison.results[key]
        name = r.name
        if r.status == "not_collected":
            out[key] = Suggestion(key, "UNKNOWN", None, [
                f"The service does not record {name.lower()}, so the impact on this group "
                "cannot be assessed from service data."], data_gap=True)
            continue
        if r.status == "no_baseline":
            s = Suggestion(key, "UNKNOWN", None, [
                f"There is no Census 2021 figure for {name.lower()} to compare with; "
                "use other evidence (see Part 2)."])
            s.data_gap = r.known_share < rules.complete_from_known_share
            out[key] = s
            continue
        if r.known_share < rules.unknown_below_known_share:
            out[key] = Suggestion(key, "UNKNOWN", None, [
                f"{name} is not recorded for {_pct(1 - r.known_share)} of people using the "
                f"service ({r.rows - r.known:,} of {r.rows:,}), so any difference could come "
                "from who happens to be recorded."], data_gap=True)
            continue
        headline = comparison.headline(key)
        rows = headline[headline["flag"].isin(["under", "over"])]
        testable = headline[headline["flag"].isin(["under", "over", "none"])]
        if testable.empty:
            out[key] = Suggestion(key, "UNKNOWN", None, [
                f"Too few people with a known {name.lower()} to compare with the population "
                "(every expected count is under 5)."])
            continue
        reasons, rating, direction = [], "LOW", None
        flagged, other, complement = [], [], []
        incomplete = r.known_share < rules.complete_from_known_share
        for _, row in rows.iterrows():
            item = row.to_dict()
            robust = (bool(row["robust_to_missing"]) if pd.notna(row["robust_to_missing"])
                      else False)
            item["robust"] = robust
            item["adverse"] = False
            flagged.append(item)
            if row["category"] in rules.not_adverse_categories:
                complement.append(item)
                continue
            if not _adverse(row["flag"], rules):
                other.append(item)
                continue
            item["adverse"] = True
            word = "fewer" if row["flag"] == "under" else "more"
            text = (f"{row['category']}: {word} than expected ({_share(row['service_share'])} "
                    f"of service users vs {_share(row['baseline_share'])} of the population, "
                    f"ratio {row['ratio']:.2f})")
            if robust and (affects.get(key) or "").upper() != "NO":
                rating, direction = "HIGH", "Negative"
                reasons.append(text + "; this holds whatever the unrecorded values are.")
            else:
                if rating != "HIGH":
                    rating, direction = "MEDIUM", "Negative"
                why = ("but the missing data could explain it" if not robust
                       else "but the officer says the proposal does not affect this group")
                reasons.append(f"{text}, {why}.")
        if other:
            if rules.adverse_direction == "under":
                head, tail = "More than expected", "fewer than expected is the concern"
            else:
                head, tail = "Fewer than expected", "more than expected is the concern"
            reasons.append(f"{head} (not a concern for a service where {tail}): "
                           f"{_listing(other)}.")
        if complement:
            reasons.append(f"Not counted towards the rating, because these people do not have "
                           f"the characteristic the Equality Act protects: {_listing(complement)}.")
        if incomplete:
            if rating == "LOW":
                rating = "MEDIUM"
            reasons.append(f"{name} is recorded for only {_pct(r.known_share)} of people "
                           "using the service.")
        if rating == "LOW":
            reasons.insert(0, "No difference in the adverse direction, and "
                              f"{_pct(r.known_share)} of records are complete."
                           if other or complement else
                           f"The service's {name.lower()} profile is in line with the "
                           "population for every category that could be tested, and "
                           f"{_pct(r.known_share)} of records are complete.")
        cap = rules.max_rating.get(key)
        if cap and _LEVEL.get(rating, 0) > _LEVEL[cap]:
            reasons.append(f"The data alone suggests at most {cap} for {name.lower()} (see the "
                           f"assessment rules); it would otherwise suggest {rating}.")
            rating = cap
        out[key] = Suggestion(key, rating, direction, reasons, flagged, data_gap=incomplete)
    return out


def suggest_option(
    suggestions: dict[str, Suggestion],
    officer_ratings: dict[str, str | None] | None = None,
) -> tuple[int, list[str]]:
    """Suggested judgement option (1, 2 or 3) and why, from the grid's ratings.

    The grid's rating is the officer's where given (``officer_ratings``), otherwise the
    data's suggestion; the reasons say which.
    """
    officer_ratings = officer_ratings or {}
    by: dict[str, list[str]] = {r: [] for r in RATINGS}
    for key, s in suggestions.items():
        mine = officer_ratings.get(key)
        label = chars.get(key).grid_label
        if mine:
            by[mine].append(f"{label} (officer)")
        else:
            by[s.rating].append(f"{label} (suggested from data)")
    if by["HIGH"]:
        return 3, ["Rated HIGH: " + ", ".join(by["HIGH"]) + ".",
                   "A full impact assessment is suggested."]
    if by["MEDIUM"] or by["UNKNOWN"]:
        reasons = []
        if by["MEDIUM"]:
            reasons.append("Rated MEDIUM (a possible adverse impact, or incomplete data): "
                           + ", ".join(by["MEDIUM"]) + ".")
        if by["UNKNOWN"]:
            reasons.append("Rated UNKNOWN (the impact cannot be assessed from service data): "
                           + ", ".join(by["UNKNOWN"]) + ".")
        return 2, reasons + ["Internal action (see the action plan) is suggested."]
    return 1, ["No characteristic is rated HIGH, MEDIUM or UNKNOWN."]


def action_rows(comparison: Comparison, suggestions: dict[str, Suggestion]) -> list[dict]:
    """Pre-filled action plan: one row per data gap and per robust adverse flag."""
    rows = []
    for key, s in suggestions.items():
        r = comparison.results[key]
        if s.data_gap:
            if r.status == "not_collected":
                issue = f"{r.name} is not recorded by the service."
            else:
                issue = (f"{r.name} is recorded for only {_pct(r.known_share)} of people using "
                         "the service.")
            rows.append({
                "issue": issue,
                "action": f"Ask about and record {r.name.lower()} at assessment and review; "
                          "report completeness to the equality lead each quarter.",
                "expected_outcome": f"{r.name} known for at least 90% of people.",
                "owner": "", "timescale": "", "cost": "", "source": "data",
            })
        for f in s.flagged:
            if f.get("adverse") and f.get("robust"):
                word = "Fewer" if f["flag"] == "under" else "More"
                rows.append({
                    "issue": (f"{r.name}: {word.lower()} people aged {f['category']} use "
                              f"the service than expected (ratio {f['ratio']:.2f})."
                              if key == "age" else
                              f"{r.name}: {word.lower()} people in the group "
                              f"'{f['category']}' use the service than expected "
                              f"(ratio {f['ratio']:.2f})."),
                    "action": "Find out why (referral routes, access, awareness); talk to "
                              "people in this group and organisations that represent them.",
                    "expected_outcome": "Reasons understood; actions agreed to remove any "
                                        "barrier.",
                    "owner": "", "timescale": "", "cost": "", "source": "data",
                })
    return rows

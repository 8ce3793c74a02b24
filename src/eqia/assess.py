"""Comparison -> suggested ratings with reasons, a suggested judgement, action rows.

The rules are data (``data/assessment.yaml``), transparent and overridable. Every
suggestion carries its reasons in words. Nothing here decides: the document shows
the suggestion beside the officer's answer, and the officer's answer wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from eqia import characteristics as chars
from eqia.errors import ConfigError

if TYPE_CHECKING:
    from eqia.compare import Comparison

RATINGS = ("HIGH", "MEDIUM", "LOW", "NONE", "UNKNOWN")
DIRECTIONS = ("under", "over", "both")


@dataclass(frozen=True)
class AssessmentRules:
    adverse_direction: str = "under"
    unknown_below_known_share: float = 0.5
    complete_from_known_share: float = 0.8


def load_assessment_rules(path: str | Path | None = None, **overrides) -> AssessmentRules:
    """Packaged defaults, then a user's YAML file, then explicit overrides."""
    text = files("eqia").joinpath("data/assessment.yaml").read_text(encoding="utf-8")
    values = dict(yaml.safe_load(text))
    if path is not None:
        p = Path(path)
        try:
            user = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"The assessment rules file could not be read: {exc}",
                              code="bad-rules", file=str(p)) from exc
        values.update(user)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _validated(values, str(path) if path else None)


def _validated(values: dict, source: str | None) -> AssessmentRules:
    names = {f.name for f in fields(AssessmentRules)}
    for key in values:
        if key not in names:
            raise ConfigError(f"'{key}' is not an assessment rule", code="bad-rules", file=source,
                              hint="Known rules: " + ", ".join(sorted(names)) + ".")
    if values.get("adverse_direction") not in DIRECTIONS:
        raise ConfigError("adverse_direction must be under, over or both", code="bad-rules",
                          file=source, value=values.get("adverse_direction"))
    for key in ("unknown_below_known_share", "complete_from_known_share"):
        v = values.get(key)
        if not isinstance(v, int | float) or not 0 <= v <= 1:
            raise ConfigError(f"{key} must be a share between 0 and 1", code="bad-rules",
                              file=source, value=v)
    return replace(AssessmentRules(), **values)


@dataclass
class Suggestion:
    key: str
    rating: str
    direction: str | None
    reasons: list[str] = field(default_factory=list)
    flagged: list[dict] = field(default_factory=list)  # rows behind the rating
    data_gap: bool = False


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _adverse(flag: str, rules: AssessmentRules) -> bool:
    return rules.adverse_direction == "both" or flag == rules.adverse_direction


def suggest(
    comparison: Comparison,
    rules: AssessmentRules | None = None,
    affects: dict[str, str | None] | None = None,
) -> dict[str, Suggestion]:
    """A suggested rating per screening-grid characteristic, with its reasons.

    ``affects`` holds the officer's YES/NO to "could the proposal affect this group
    less favourably?"; a robust adverse flag only suggests HIGH where it is not NO.
    """
    rules = rules or load_assessment_rules()
    affects = affects or {}
    out = {}
    for key in chars.keys():
        r = comparison.results[key]
        name = r.name
        if r.status == "not_collected":
            out[key] = Suggestion(key, "UNKNOWN", None, [
                f"{name} is not collected by the service, so its users' {name.lower()} "
                "cannot be compared with the population."], data_gap=True)
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
        rows = comparison.headline(key)
        rows = rows[rows["flag"].isin(["under", "over"])]
        testable = comparison.headline(key)
        testable = testable[testable["flag"].isin(["under", "over", "none"])]
        reasons, rating, direction = [], "LOW", None
        flagged = []
        incomplete = r.known_share < rules.complete_from_known_share
        if testable.empty:
            out[key] = Suggestion(key, "UNKNOWN", None, [
                f"Too few people with a known {name.lower()} to compare with the population "
                "(every expected count is under 5)."])
            continue
        for _, row in rows.iterrows():
            flagged.append(row.to_dict())
            word = "fewer" if row["flag"] == "under" else "more"
            robust = bool(row["robust_to_missing"]) if pd.notna(row["robust_to_missing"]) else False
            text = (f"{row['category']}: {word} than expected (ratio {row['ratio']:.2f}, "
                    f"{_pct(row['service_share'])} of service users vs "
                    f"{_pct(row['baseline_share'])} of the population)")
            if _adverse(row["flag"], rules):
                if robust and (affects.get(key) or "").upper() != "NO":
                    rating, direction = "HIGH", "Negative"
                    reasons.append(text + "; this holds whatever the unknown values are.")
                else:
                    if rating != "HIGH":
                        rating, direction = "MEDIUM", "Negative"
                    why = ("but it could be explained by the missing data" if not robust
                           else "but the officer says the proposal does not affect this group")
                    reasons.append(f"{text}, {why}.")
            else:
                reasons.append(text + "; not the adverse direction for this service.")
        if incomplete:
            if rating == "LOW":
                rating = "MEDIUM"
            reasons.append(f"{name} is recorded for only {_pct(r.known_share)} of people "
                           "using the service.")
        if not rows.shape[0] and not incomplete:
            reasons.append(f"The service's {name.lower()} profile is in line with the "
                           "population for every category that could be tested, and "
                           f"{_pct(r.known_share)} of records are complete.")
        out[key] = Suggestion(key, rating, direction, reasons, flagged, data_gap=incomplete)
    return out


def suggest_option(suggestions: dict[str, Suggestion]) -> tuple[int, list[str]]:
    """Suggested judgement option (1, 2 or 3) and why."""
    by = {r: [chars.get(k).grid_label for k, s in suggestions.items() if s.rating == r]
          for r in RATINGS}
    if by["HIGH"]:
        return 3, ["A robust difference in the adverse direction for: " + ", ".join(by["HIGH"])
                   + ". A full impact assessment is suggested."]
    if by["MEDIUM"] or by["UNKNOWN"]:
        reasons = []
        if by["MEDIUM"]:
            reasons.append("Possible differences or incomplete data for: "
                           + ", ".join(by["MEDIUM"]) + ".")
        if by["UNKNOWN"]:
            reasons.append("Impact cannot be assessed from service data for: "
                           + ", ".join(by["UNKNOWN"]) + ".")
        return 2, reasons + ["Internal action (see the action plan) is suggested."]
    return 1, ["No adverse difference was found and the data is reasonably complete."]


def action_rows(comparison: Comparison, suggestions: dict[str, Suggestion]) -> list[dict]:
    """Pre-filled action plan: one row per data gap and per robust flag."""
    rows = []
    for key, s in suggestions.items():
        r = comparison.results[key]
        if s.data_gap:
            if r.status == "not_collected":
                issue = f"{r.name} is not collected."
            else:
                issue = f"{r.name} is recorded for {_pct(r.known_share)} of people using the service."
            rows.append({
                "issue": issue,
                "action": f"Ask and record {r.name.lower()} at assessment and review; report "
                          "completeness to the equality lead each quarter.",
                "expected_outcome": f"{r.name} known for at least 90% of people.",
                "owner": "", "timescale": "", "cost": "", "source": "data",
            })
        for f in s.flagged:
            if f.get("robust_to_missing") is True or f.get("robust_to_missing") == 1:
                word = "under-represented" if f["flag"] == "under" else "over-represented"
                rows.append({
                    "issue": f"{f['category']} ({r.name.lower()}) {word} among service users "
                             f"(ratio {f['ratio']:.2f}).",
                    "action": "Find out why (referral routes, access, awareness); engage with "
                              "the community and groups representing it.",
                    "expected_outcome": "Reasons understood; actions agreed to address any barrier.",
                    "owner": "", "timescale": "", "cost": "", "source": "data",
                })
    return rows

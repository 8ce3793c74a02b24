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

from eqia import characteristics as chars
from eqia.errors import ConfigError
from eqia.published import NOT_RECORDED, PEOPLE
from eqia.yamlfile import read_yaml, safe_load

if TYPE_CHECKING:
    from eqia.compare import Comparison
    from eqia.published import Published

RATINGS = ("HIGH", "MEDIUM", "LOW", "NONE", "UNKNOWN")
DIRECTIONS = ("under", "over", "both")


@dataclass(frozen=True)
class AssessmentRules:
    adverse_direction: str = "under"
    unknown_below_known_share: float = 0.5
    complete_from_known_share: float = 0.8
    not_adverse_categories: tuple[str, ...] = ()
    max_rating: dict[str, str] = field(default_factory=dict, hash=False)


def load_assessment_rules(path: str | Path | None = None, **overrides) -> AssessmentRules:
    """Packaged defaults, then a user's YAML file, then explicit overrides."""
    text = files("eqia").joinpath("data/assessment.yaml").read_text(encoding="utf-8")
    values = dict(safe_load(text))
    if path is not None:
        p = Path(path)
        user = read_yaml(p, "the assessment rules file", code="bad-rules") or {}
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
    cats = values.get("not_adverse_categories") or []
    if isinstance(cats, str) or not all(isinstance(c, str) for c in cats):
        raise ConfigError("not_adverse_categories must be a list of category names",
                          code="bad-rules", file=source, value=cats)
    values["not_adverse_categories"] = tuple(cats)
    caps = values.get("max_rating") or {}
    if not isinstance(caps, dict):
        raise ConfigError("max_rating must map characteristics to HIGH, MEDIUM or LOW",
                          code="bad-rules", file=source, value=caps)
    for key, cap in caps.items():
        if key not in chars.keys():
            raise ConfigError(f"'{key}' under max_rating is not a characteristic",
                              code="bad-rules", file=source,
                              hint="Use: " + ", ".join(chars.keys()))
        if str(cap).upper() not in ("HIGH", "MEDIUM", "LOW"):
            raise ConfigError(f"max_rating: {key} must be HIGH, MEDIUM or LOW", code="bad-rules",
                              file=source, value=cap)
    values["max_rating"] = {k: str(v).upper() for k, v in caps.items()}
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


def _adverse(flag: str, rules: AssessmentRules) -> bool:
    return rules.adverse_direction == "both" or flag == rules.adverse_direction


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


#: Said where the share recorded is hidden (it would give a small number back).
HIDDEN_SHARE = "the exact share is not shown, to protect people's privacy"


def _listing(rows: list[dict], shown: Published, key: str) -> str:
    """"Group (ratio 1.38); ...", leaving out groups whose finding may not be said."""
    return "; ".join(f"{r['category']} ({shown.ratio_text(key, r['category'])})" for r in rows
                     if shown.says_finding(key, r["category"]))


def _words(comparison: Comparison, shown: Published | None) -> Published:
    """The figures the words quote: as published, or (internal) all of them."""
    if shown is not None:
        return shown
    from eqia.published import publish

    return publish(comparison)


def suggest(
    comparison: Comparison,
    rules: AssessmentRules | None = None,
    affects: dict[str, str | None] | None = None,
    shown: Published | None = None,
) -> dict[str, Suggestion]:
    """A suggested rating per screening-grid characteristic, with its reasons.

    Ratings are worked out from ``comparison``, the true figures; the reasons quote
    ``shown`` (``published.publish``), the figures as the document may show them, so a
    published document's ratings are the internal one's and its words hide what its
    tables hide. Without ``shown`` the reasons quote every figure.

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
    shown = _words(comparison, shown)
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
            recorded = shown.recorded_share(key)
            share = (f"more than {_pct(1 - rules.unknown_below_known_share)} of people using "
                     f"the service ({HIDDEN_SHARE})" if recorded is None else
                     f"{shown.share_text(1 - recorded)} of people using the service "
                     f"({shown.count(key, NOT_RECORDED)} of {shown.count(key, PEOPLE)})")
            out[key] = Suggestion(key, "UNKNOWN", None, [
                f"{name} is not recorded for {share}, so any difference could come from who "
                "happens to be recorded."], data_gap=True)
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
            text = shown.finding_text(key, row["category"], word)
            # Whether missing data could explain a hidden group's difference is not said:
            # it would narrow down its count.
            hidden = shown.is_hidden(key, row["category"])
            if robust and (affects.get(key) or "").upper() != "NO":
                rating, direction = "HIGH", "Negative"
                reasons.append(text + ("." if hidden else
                                       "; this holds whatever the unrecorded values are."))
            else:
                if rating != "HIGH":
                    rating, direction = "MEDIUM", "Negative"
                why = ("but the missing data could explain it" if not robust
                       else "but the officer says the proposal does not affect this group")
                reasons.append(f"{text}." if hidden and not robust else f"{text}, {why}.")
        other = [f for f in other if shown.says_finding(key, f["category"])]
        complement = [f for f in complement if shown.says_finding(key, f["category"])]
        if other:
            if rules.adverse_direction == "under":
                head, tail = "More than expected", "fewer than expected is the concern"
            else:
                head, tail = "Fewer than expected", "more than expected is the concern"
            reasons.append(f"{head} (not a concern for a service where {tail}): "
                           f"{_listing(other, shown, key)}.")
        if complement:
            reasons.append(f"Not counted towards the rating, because these people do not have "
                           "the characteristic the Equality Act protects: "
                           f"{_listing(complement, shown, key)}.")
        recorded = shown.recorded_share(key)
        if incomplete:
            if rating == "LOW":
                rating = "MEDIUM"
            reasons.append(f"{name} is recorded for only {shown.share_text(recorded)} of "
                           "people using the service." if recorded is not None else
                           f"{name} is recorded for fewer than "
                           f"{_pct(rules.complete_from_known_share)} of people using the "
                           f"service ({HIDDEN_SHARE}).")
        if rating == "LOW":
            complete = (f"{shown.share_text(recorded)} of records are complete"
                        if recorded is not None else
                        f"most records are complete ({HIDDEN_SHARE})")
            reasons.insert(0, f"No difference in the adverse direction, and {complete}."
                           if other or complement else
                           f"The service's {name.lower()} profile is in line with the "
                           "population for every category that could be tested, and "
                           f"{complete}.")
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


def action_rows(comparison: Comparison, suggestions: dict[str, Suggestion],
                shown: Published | None = None) -> list[dict]:
    """Pre-filled action plan: one row per data gap and per robust adverse flag (the
    figures quoted from ``shown``, as for ``suggest``)."""
    shown = _words(comparison, shown)
    rows = []
    for key, s in suggestions.items():
        r = comparison.results[key]
        if s.data_gap:
            if r.status == "not_collected":
                issue = f"{r.name} is not recorded by the service."
            else:
                recorded = shown.recorded_share(key)
                issue = (f"{r.name} is recorded for only {shown.share_text(recorded)} of "
                         "people using the service." if recorded is not None else
                         f"{r.name} is not recorded for everyone who should have it "
                         f"({HIDDEN_SHARE}).")
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
                    "issue": (f"{r.name}: {shown.finding_text(key, f['category'], 'different')}"
                              "." if not shown.says_finding(key, f["category"]) else
                              f"{r.name}: {word.lower()} people aged {f['category']} use "
                              f"the service than expected "
                              f"({shown.ratio_text(key, f['category'])})."
                              if key == "age" else
                              f"{r.name}: {word.lower()} people in the group "
                              f"'{f['category']}' use the service than expected "
                              f"({shown.ratio_text(key, f['category'])})."),
                    "action": "Find out why (referral routes, access, awareness); talk to "
                              "people in this group and organisations that represent them.",
                    "expected_outcome": "Reasons understood; actions agreed to remove any "
                                        "barrier.",
                    "owner": "", "timescale": "", "cost": "", "source": "data",
                })
    return rows

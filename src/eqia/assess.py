"""Comparison -> suggested ratings with reasons, a suggested judgement, action rows.

The rules are data (``data/assessment.yaml``), transparent and overridable. Every
suggestion carries its reasons in words. Nothing here decides: the document shows
the suggestion beside the officer's answer, and the officer's answer wins.

Which difference is a concern follows the proposal (``eqia.changes``): for a closure the
groups who use the service most are disproportionately affected; for a new service the
groups it does not reach are. Both readings are always given, the main concern first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from eqia import characteristics as chars
from eqia.agebands import AgeBand, parse_range
from eqia.changes import READINGS, Focus, focus_for
from eqia.errors import ConfigError, EqiaError
from eqia.findings import family_phrase, missing_data_text
from eqia.stats import flag_alpha
from eqia.yamlfile import read_yaml, safe_load

if TYPE_CHECKING:
    from eqia.compare import Comparison

RATINGS = ("HIGH", "MEDIUM", "LOW", "NONE", "UNKNOWN")
DIRECTIONS = ("under", "over", "both")


@dataclass(frozen=True)
class AssessmentRules:
    adverse_direction: str | None = None  # None: follow the proposal's ``change``
    unknown_below_known_share: float = 0.5
    complete_from_known_share: float = 0.8
    not_adverse_categories: tuple[str, ...] = ()
    max_rating: dict[str, str] = field(default_factory=dict, hash=False)
    childbearing_ages: str = "15-49"
    high_across_grid: bool = True


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
    if values.get("adverse_direction") not in (None, *DIRECTIONS):
        raise ConfigError("adverse_direction must be under, over or both, or left empty to "
                          "follow the proposal's change", code="bad-rules",
                          file=source, value=values.get("adverse_direction"))
    ages = values.get("childbearing_ages")
    try:
        if parse_range(str(ages)) is None:
            raise ValueError
    except (EqiaError, ValueError):
        raise ConfigError("childbearing_ages must be an age range like 15-49", code="bad-rules",
                          file=source, value=ages) from None
    if not isinstance(values.get("high_across_grid", True), bool):
        raise ConfigError("high_across_grid must be true or false", code="bad-rules",
                          file=source, value=values.get("high_across_grid"))
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
    #: Both readings of the flags, the main concern first: ``[{reading, label, primary,
    #: groups, text}]`` (empty where nothing was compared).
    readings: list[dict] = field(default_factory=list)


#: How strongly each rating speaks, to apply a ``max_rating`` cap.
_LEVEL = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}

MARRIAGE = "marriage_civil_partnership"
PREGNANCY = "pregnancy_maternity"

#: Why a services proposal proposes nothing for marriage and civil partnership.
NOT_COVERED = ("Not covered for a change to a service: the Equality Act's provisions on "
               "services and public functions (Part 3, section 28) do not cover marriage and "
               "civil partnership, and the equality duty covers it only in employment "
               "(eliminating discrimination at work). No service action is needed. If the "
               "proposal affects staff, set 'scope: employment' (or both) in the proposal.")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _share(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pc(level: float) -> str:
    return f"{100 * level:.10g}%"


def _group(key: str, category: str) -> str:
    """A category as people: "people aged 65-74"; other categories as they are."""
    return f"people aged {category}" if key == "age" else category


def _listing(key: str, rows: list[dict]) -> str:
    return "; ".join(f"{_group(key, r['category'])} (ratio {r['ratio']:.2f})" for r in rows)


def _versus(comparison: Comparison, key: str, row: dict, people: str) -> str:
    """"77.0% of service users against 15.9% of Maidstone's usual residents of all ages
    (ratio 4.84)": the figures behind a flag and the population they were compared with.

    For an age-adjusted row the comparison is with the share expected for the service's
    age profile, which is what its ratio compares with.
    """
    r = comparison.results[key]
    area = comparison.area.name
    if row.get("age_adjusted") and pd.notna(row.get("expected_share")):
        base = (f"{_share(row['expected_share'])} expected from {area}'s population for the "
                "service's age profile")
    elif r.table_id is None:  # the officer's own comparator population
        base = f"{_share(row['baseline_share'])} of the {r.base}"
    else:
        pop = r.base or "population"
        pop = f"{pop[4:]} of all ages" if pop.startswith("all ") else pop
        base = f"{_share(row['baseline_share'])} of {area}'s {pop}"
    return f"{_share(row['service_share'])} of {people} against {base} (ratio {row['ratio']:.2f})"


def childbearing(ages: AgeBand | None, rules: AssessmentRules) -> bool:
    """Whether the eligible ages include any of the child-bearing ages in the rules."""
    fertile = parse_range(rules.childbearing_ages)
    if ages is None or fertile is None:
        return True
    top = float("inf")
    return (ages.lo <= (top if fertile.hi is None else fertile.hi)
            and fertile.lo <= (top if ages.hi is None else ages.hi))


def _settled(key: str, rating: str, label: str, text: str) -> Suggestion:
    """A suggestion settled by law or eligibility, not data: its one reading says why."""
    return Suggestion(key, rating, None, [text], readings=[
        {"reading": None, "label": label, "primary": True, "groups": [], "text": text}])


def _readings(key: str, by_reading: dict[str, list[dict]], focus: Focus,
              complement: list[dict]) -> list[dict]:
    """Both readings of a characteristic's flags, the main concern first, in words.

    ``complement``: flagged rows of people without the protected characteristic, named
    where a reading has no one else, so that "no group" never contradicts the table.
    """
    out = []
    for reading in sorted(READINGS, key=lambda x: not focus.is_primary(x)):
        rows = by_reading[reading]
        label, primary = focus.label(reading), focus.is_primary(reading)
        role = f"the main concern for {focus.what}" if primary else "secondary"
        if rows:
            why = focus.why(reading)
            text = f"{label} ({role}): {_listing(key, rows)}. {why[0].upper()}{why[1:]}."
        else:
            text = (f"{label} ({role}): no group {focus.uses} "
                    f"{'more' if reading == 'over' else 'less'} than expected")
            others = [r["category"] for r in complement if r["flag"] == reading]
            text += (f", other than people without the protected characteristic "
                     f"({'; '.join(others)})." if others else ".")
        out.append({"reading": reading, "label": label, "primary": primary,
                    "groups": [_group(key, r["category"]) for r in rows], "text": text})
    return out


def suggest(
    comparison: Comparison,
    rules: AssessmentRules | None = None,
    affects: dict[str, str | None] | None = None,
    focus: Focus | None = None,
) -> dict[str, Suggestion]:
    """A suggested rating per screening-grid characteristic, with its reasons.

    ``affects`` holds the officer's YES/NO to "could the proposal affect this group
    less favourably?"; a flag of concern only suggests HIGH where it is not NO.
    ``focus`` says which reading is the main concern (``eqia.changes.focus_for``; by
    default from ``rules.adverse_direction``, or both readings when that is empty).

    Only the headline ``flag`` counts, which allows for the number of groups compared
    (``family_wise`` in the representation rules); a group's own 95% screening signal is
    listed in the reasons but never raises the rating.

    The rules, in order (each documented in ``data/assessment.yaml``):

    * marriage and civil partnership in a proposal about services: NONE (the Act's
      services provisions do not cover it); pregnancy and maternity where the eligible
      ages include none of ``childbearing_ages``: LOW;
    * not collected, no census figure, or under ``unknown_below_known_share`` known:
      UNKNOWN (the data cannot show the impact);
    * a flag of concern (the main reading) that missing data could not plausibly explain
      (its tipping point, ``missing_could_explain`` false) and, with ``high_across_grid``,
      that also holds allowing for every characteristic screened (``holds_across_grid``):
      HIGH (Negative), or MEDIUM if the officer says the proposal does not affect the
      group;
    * a flag of concern that missing data could explain, or data known for under
      ``complete_from_known_share`` of people: MEDIUM;
    * otherwise LOW. Never NONE from data: only the officer can say there is no impact.

    Differences in the secondary reading, and in ``not_adverse_categories`` (people
    without the protected characteristic), are listed but do not raise the rating.
    ``max_rating`` caps the suggestion for a characteristic.
    """
    rules = rules or load_assessment_rules()
    affects = affects or {}
    focus = focus or focus_for(adverse_direction=rules.adverse_direction)
    out = {}
    for key in chars.keys():
        r = comparison.results[key]
        name = r.name
        if key == MARRIAGE and not focus.covers_employment:
            out[key] = _settled(key, "NONE", "Not covered", NOT_COVERED)
            continue
        if key == PREGNANCY and not childbearing(comparison.ages, rules):
            out[key] = _settled(key, "LOW", "Outside child-bearing ages", (
                f"The service is for people aged {comparison.ages}, outside the child-bearing "
                f"ages ({rules.childbearing_ages} in the assessment rules), so the data gives "
                "no reason to expect an impact on the people who use it. Think about staff, "
                "carers or visitors who may be pregnant or on maternity leave."))
            continue
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
        flagged, complement = [], []
        by_reading: dict[str, list[dict]] = {reading: [] for reading in READINGS}
        incomplete = r.known_share < rules.complete_from_known_share
        for _, row in rows.iterrows():
            item = row.to_dict()
            explained = item.get("missing_could_explain")
            robust = not (explained is not None and pd.notna(explained) and explained)
            item["robust"] = robust
            item["adverse"] = False
            flagged.append(item)
            if row["category"] in rules.not_adverse_categories:
                complement.append(item)
                continue
            by_reading[row["flag"]].append(item)
            if not focus.is_primary(row["flag"]):
                continue
            item["adverse"] = True
            word = "fewer" if row["flag"] == "under" else "more"
            family = family_phrase(headline, item, comparison.rules)
            text = (f"{focus.label(row['flag'])} – {_group(key, row['category'])}: {word} than "
                    f"expected, {_versus(comparison, key, item, focus.people)}"
                    + (f"; {family}" if family else ""))
            missing = missing_data_text(item, r, "the population")
            strong = not rules.high_across_grid or item.get("holds_across_grid") is True
            if robust and strong and (affects.get(key) or "").upper() != "NO":
                rating, direction = "HIGH", "Negative"
                reasons.append(f"{text}. {missing}".strip())
            else:
                if rating != "HIGH":
                    rating, direction = "MEDIUM", "Negative"
                if not robust:
                    reasons.append(f"{text}. {missing}")
                elif not strong:
                    grid = flag_alpha(comparison.rules) / max(comparison.screened, 1)
                    reasons.append(" ".join(x for x in (
                        f"{text}.", missing,
                        f"Not strong enough for HIGH: with {comparison.screened} "
                        f"characteristics screened, HIGH needs p below {grid:.2g}, so that "
                        "a service like its population is rarely rated HIGH by chance.")
                        if x))
                else:
                    reasons.append(f"{text}, but the officer says the proposal does not "
                                   "affect this group.")
        signals = headline[(headline["flag"] == "none")
                           & headline["signal_95"].isin(["under", "over"])
                           & ~headline["category"].isin(rules.not_adverse_categories)]
        signals = [row for _, row in signals.iterrows() if focus.is_primary(row["signal_95"])]
        if signals:
            reasons.append(
                f"Screening signal only, not counted towards the rating: "
                f"{_listing(key, signals)} differ{'s' if len(signals) == 1 else ''} at "
                f"{_pc(comparison.rules.level)} on {'its' if len(signals) == 1 else 'their'} "
                f"own, but not once the {int(headline['p_value'].notna().sum())} groups "
                "compared are allowed for.")
        readings = _readings(key, by_reading, focus, complement)
        for reading in readings:
            if reading["groups"] and not reading["primary"]:
                reasons.append(reading["text"])
        if complement:
            reasons.append(f"Not counted towards the rating, because these people do not have "
                           f"the characteristic the Equality Act protects: "
                           f"{_listing(key, complement)}.")
        if incomplete:
            if rating == "LOW":
                rating = "MEDIUM"
            reasons.append(f"{name} is recorded for only {_pct(r.known_share)} of people "
                           "using the service.")
        if rating == "LOW":
            concern = " or ".join(focus.label(x).lower() for x in focus.primary)
            reasons.insert(0, f"No group is {concern}, and {_pct(r.known_share)} of records "
                              "are complete."
                           if flagged else
                           f"The service's {name.lower()} profile is in line with the "
                           "population for every category that could be tested, and "
                           f"{_pct(r.known_share)} of records are complete.")
        cap = rules.max_rating.get(key)
        if cap and _LEVEL.get(rating, 0) > _LEVEL[cap]:
            reasons.append(f"The data alone suggests at most {cap} for {name.lower()} (see the "
                           f"assessment rules); it would otherwise suggest {rating}.")
            rating = cap
        out[key] = Suggestion(key, rating, direction, reasons, flagged, data_gap=incomplete,
                              readings=readings)
    return out


def suggest_option(
    suggestions: dict[str, Suggestion],
    officer_ratings: dict[str, str | None] | None = None,
    focus: Focus | None = None,
) -> tuple[int, list[str]]:
    """Suggested judgement option (1, 2 or 3) and why, from the grid's ratings.

    The grid's rating is the officer's where given (``officer_ratings``), otherwise the
    data's suggestion; the reasons say which, and (with ``focus``) which groups each
    reading of the data points to, the main concern first.
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
        option, reasons = 3, ["Rated HIGH: " + ", ".join(by["HIGH"]) + ".",
                              "A full impact assessment is suggested."]
    elif by["MEDIUM"] or by["UNKNOWN"]:
        reasons = []
        if by["MEDIUM"]:
            reasons.append("Rated MEDIUM (a possible adverse impact, or incomplete data): "
                           + ", ".join(by["MEDIUM"]) + ".")
        if by["UNKNOWN"]:
            reasons.append("Rated UNKNOWN (the impact cannot be assessed from service data): "
                           + ", ".join(by["UNKNOWN"]) + ".")
        option, reasons = 2, reasons + ["Internal action (see the action plan) is suggested."]
    else:
        option, reasons = 1, ["No characteristic is rated HIGH, MEDIUM or UNKNOWN."]
    if focus is None:
        return option, reasons
    found: dict[tuple[str, bool], list[str]] = {}
    for key, s in suggestions.items():
        for reading in s.readings:
            if reading["groups"]:
                found.setdefault((reading["label"], reading["primary"]), []).append(
                    f"{chars.get(key).grid_label} ({', '.join(reading['groups'])})")
    said = [f"{label} ({f'the main concern for {focus.what}' if primary else 'secondary'}): "
            + "; ".join(items) + "."
            for (label, primary), items in sorted(found.items(), key=lambda kv: not kv[0][1])]
    return option, [focus.explanation, *reasons, *said]


def action_rows(comparison: Comparison, suggestions: dict[str, Suggestion],
                focus: Focus | None = None) -> list[dict]:
    """Pre-filled action plan: a row per data gap and per robust difference of concern.

    A group disproportionately affected gets a mitigation row; an under-reached group an
    outreach row. ``kind`` says which (``data_gap``, ``mitigation``, ``outreach``).
    """
    focus = focus or focus_for()
    rows: list[dict] = []
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
                "owner": "", "timescale": "", "cost": "", "source": "data", "kind": "data_gap",
            })
        for f in s.flagged:
            if not (f.get("adverse") and f.get("robust")):
                continue
            head = (f"{r.name} – {_group(key, f['category'])}: "
                    f"{_versus(comparison, key, f, focus.people)}.")
            if f["flag"] == "over":
                rows.append({
                    "issue": f"{head} They would lose most from {focus.what}.",
                    "action": (f"Plan mitigation for them before {focus.what}: find out what "
                               "they rely on the service for, agree alternatives (and any travel "
                               "or transition support) with them, their carers and organisations "
                               "that represent them, and check that no one is left without "
                               "support." if focus.covers_services else
                               f"Plan mitigation for them before {focus.what}: check that the "
                               "selection criteria and process do not put them at a "
                               "disadvantage, and agree support (redeployment, reasonable "
                               "adjustments) with them and their representatives."),
                    "expected_outcome": "Mitigation agreed and recorded before the decision; "
                                        "the effect on this group monitored after the change.",
                    "owner": "", "timescale": "", "cost": "", "source": "data",
                    "kind": "mitigation",
                })
            else:
                rows.append({
                    "issue": f"{head} Fewer use the service than expected.",
                    "action": ("Plan outreach: find out why fewer use the service (referral "
                               f"routes, access, awareness) and how {focus.what} will reach "
                               "them, with people in this group and organisations that "
                               "represent them."),
                    "expected_outcome": "Reasons understood; outreach agreed; their share of "
                                        "users monitored.",
                    "owner": "", "timescale": "", "cost": "", "source": "data",
                    "kind": "outreach",
                })
    # The people who lose most first, then those not reached, then the gaps in the data.
    order = {"mitigation": 0, "outreach": 1, "data_gap": 2}
    return sorted(rows, key=lambda row: order[row["kind"]])

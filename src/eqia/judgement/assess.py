"""Comparison -> suggested ratings with reasons, a suggested judgement, action rows.

The rules are data (``data/assessment.yaml``), transparent and overridable. Every
suggestion carries its reasons in words. Nothing here decides: the document shows
the suggestion beside the officer's answer, and the officer's answer wins.

Which difference is a concern follows the proposal (``eqia.settings.changes``): for a closure the
groups who use the service most are disproportionately affected; for a new service the
groups it does not reach are. Both readings are always given, the main concern first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from eqia.agebands import AgeBand, parse_range
from eqia.analysis.stats import flag_alpha
from eqia.disclosure.published import HIDDEN_FIGURES, NOT_RECORDED, PEOPLE
from eqia.errors import ErrorCode
from eqia.judgement.findings import family_phrase, missing_data_text
from eqia.settings import characteristics as chars
from eqia.settings.changes import READINGS, Focus, focus_for
from eqia.settings.loader import load_layers
from eqia.settings.schema import (
    AgeRange,
    Choice,
    Fields,
    Flag,
    ListOf,
    MapOf,
    Number,
)
from eqia.words import percent

if TYPE_CHECKING:
    from eqia.analysis.comparison import CharacteristicResult, Comparison
    from eqia.disclosure.published import Published

RATINGS = ("HIGH", "MEDIUM", "LOW", "NONE", "UNKNOWN")
DIRECTIONS = ("under", "over", "both")


@dataclass(frozen=True)
class AssessmentRules:
    """The judgement's settings; each is explained, with its default, in
    ``data/assessment.yaml``."""

    adverse_direction: str | None  # None: follow the proposal's ``change``
    unknown_below_known_share: float
    complete_from_known_share: float
    not_adverse_categories: tuple[str, ...]
    max_rating: dict[str, str] = field(hash=False)
    childbearing_ages: str
    high_across_grid: bool


#: What each assessment rule accepts (a user's file, a proposal's ``assessment:``, or
#: the values given from Python); the defaults are in ``data/assessment.yaml``.
SCHEMA = Fields(noun="assessment rule", fields={
    "adverse_direction": Choice(options=DIRECTIONS, hint=(
        "under: fewer users than expected is the concern; over: more than expected is; both: "
        "either. Leave it empty to follow the proposal's change.")),
    "unknown_below_known_share": Number(min=0, max=1, empty_ok=False,
                                        words="a share between 0 and 1, e.g. 0.5"),
    "complete_from_known_share": Number(min=0, max=1, empty_ok=False,
                                        words="a share between 0 and 1, e.g. 0.8"),
    "not_adverse_categories": ListOf(item=Choice(
        options=chars.category_labels(), noun="a category eqia knows",
        hint="Write each category as eqia labels it, e.g. Not disabled under the Equality Act."),
        single=True),
    "max_rating": MapOf(key=Choice(options=tuple(chars.keys()),
                                   noun="a characteristic eqia knows"),
                        value=Choice(options=("HIGH", "MEDIUM", "LOW"))),
    "childbearing_ages": AgeRange(empty_ok=False),
    "high_across_grid": Flag(),
})


def load_assessment_rules(path: str | Path | None = None, **overrides) -> AssessmentRules:
    """Packaged defaults, then a user's YAML file, then explicit overrides (None ignored)."""
    values, _ = load_layers("assessment.yaml", SCHEMA, ErrorCode.BAD_RULES, path=path,
                            what="the assessment rules file",
                            missing_hint="Check the path given with --assessment-rules.",
                            given={k: v for k, v in overrides.items() if v is not None})
    labels = values["not_adverse_categories"]  # None: the registry's (characteristics.yaml)
    values["not_adverse_categories"] = chars.not_adverse_labels() if labels is None else tuple(labels)
    values["max_rating"] = values["max_rating"] or {}
    return AssessmentRules(**values)


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
    return percent(x, 0)


def _share(x: float) -> str:
    return percent(x)


#: Said where the share recorded is hidden (it would give a small number back).
HIDDEN_SHARE = "the exact share is not shown, to protect people's privacy"
#: Said for a hidden group whose finding may not be said (``published.UNSAID``).
UNSAID_TEXT = ("a group whose figures are not shown, to protect people's privacy, is "
               "taken into account")


def shown_figures(comparison: Comparison, shown: Published | None) -> Published:
    """The figures the words quote: as published, or (internal) all of them."""
    if shown is not None:
        return shown
    from eqia.disclosure.published import publish

    return publish(comparison)


def _pc(level: float) -> str:
    return f"{100 * level:.10g}%"


def group_text(key: str, category: str) -> str:
    """A category as people: "people aged 65-74"; other categories as they are."""
    return f"people aged {category}" if key == "age" else category


def _listing(key: str, rows: list[dict], shown: Published) -> str:
    """"people aged 25-34 (ratio 1.38); ...", the ratios as published."""
    return "; ".join(f"{group_text(key, r['category'])} ({shown.ratio_text(key, r['category'])})"
                     for r in rows)


def versus_text(shown: Published, key: str, row: dict, people: str) -> str:
    """"77.0% of service users against 15.9% of Maidstone's population of all ages (no age
    breakdown published) (ratio 4.84)": the figures behind a flag, as published
    (``shown``), and the population they were compared with
    (``CharacteristicResult.population``); where the group's figures are hidden, the
    population's share and that they are hidden.

    For an age-adjusted row the comparison is with the share expected for the service's
    age profile, which is what its ratio compares with.
    """
    comparison = shown.comparison
    r = comparison.results[key]
    population = r.population or f"{comparison.area.name}'s population"
    if row.get("baseline_estimated") and not population.endswith("(estimated)"):
        population += " (estimated)"
    if row.get("age_adjusted") and pd.notna(row.get("expected_share")):
        base = (f"{_share(row['expected_share'])} expected from {population} for the "
                "service's age profile")
    else:  # the census population named in ``population``, or a comparator's
        base = f"{_share(row['baseline_share'])} of {population}"
    if shown.is_hidden(key, row["category"]):
        return f"against {base}; {HIDDEN_FIGURES}"
    figures = shown.row(key, row["category"])
    return (f"{_share(figures['service_share'])} of {people} against {base} "
            f"({shown.ratio_text(key, row['category'])})")


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
              complement: list[dict], shown: Published) -> list[dict]:
    """Both readings of a characteristic's flags, the main concern first, in words.

    ``complement``: flagged rows of people without the protected characteristic, named
    where a reading has no one else, so that "no group" never contradicts the table.
    A hidden group whose finding may not be said (``published.UNSAID``) is in neither
    reading: its direction would narrow its count down.
    """
    out = []
    unsaid = [r for rows in by_reading.values() for r in rows
              if not shown.says_finding(key, r["category"])]
    complement = [r for r in complement if shown.says_finding(key, r["category"])]
    for reading in sorted(READINGS, key=lambda x: not focus.is_primary(x)):
        rows = [r for r in by_reading[reading] if shown.says_finding(key, r["category"])]
        label, primary = focus.label(reading), focus.is_primary(reading)
        role = f"the main concern for {focus.what}" if primary else "secondary"
        if rows:
            why = focus.why(reading)
            text = f"{label} ({role}): {_listing(key, rows, shown)}. {why[0].upper()}{why[1:]}."
        else:
            text = (f"{label} ({role}): no group {focus.uses} "
                    f"{'more' if reading == 'over' else 'less'} than expected")
            others = [r["category"] for r in complement if r["flag"] == reading]
            text += (f", other than people without the protected characteristic "
                     f"({'; '.join(others)})." if others else ".")
        if unsaid and not out:  # said once, with the main concern
            text += (f" The finding for {len(unsaid)} group{'s' if len(unsaid) > 1 else ''} "
                     "whose figures are not shown is not said, to protect people's privacy.")
        out.append({"reading": reading, "label": label, "primary": primary,
                    "groups": [group_text(key, r["category"]) for r in rows], "text": text})
    return out


def suggest(
    comparison: Comparison,
    rules: AssessmentRules | None = None,
    affects: dict[str, str | None] | None = None,
    focus: Focus | None = None,
    shown: Published | None = None,
) -> dict[str, Suggestion]:
    """A suggested rating per screening-grid characteristic, with its reasons.

    Ratings are worked out from ``comparison``, the true figures; the reasons quote
    ``shown`` (``published.publish``), the figures as the document may show them, so a
    published document's ratings are the internal one's and its words hide what its
    tables hide. Without ``shown`` the reasons quote every figure.

    ``affects`` holds the officer's YES/NO to "could the proposal affect this group
    less favourably?"; a flag of concern only suggests HIGH where it is not NO.
    ``focus`` says which reading is the main concern (``eqia.settings.changes.focus_for``; by
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
    * an age-confounded comparison (no census age breakdown, and the service's ages
      differ markedly from the population's) suggests at most MEDIUM, unless a difference
      of concern holds even against the most age alone could explain (``robust_to_age``);
    * otherwise LOW. Never NONE from data: only the officer can say there is no impact.

    Differences in the secondary reading, and in ``not_adverse_categories`` (people
    without the protected characteristic), are listed but do not raise the rating.
    ``max_rating`` caps the suggestion for a characteristic.
    """
    rules = rules or load_assessment_rules()
    affects = affects or {}
    focus = focus or focus_for(adverse_direction=rules.adverse_direction)
    shown = shown_figures(comparison, shown)
    return {key: _suggest_one(key, comparison, rules, affects, focus, shown)
            for key in chars.keys()}


def _suggest_one(key: str, comparison: Comparison, rules: AssessmentRules,
                 affects: dict[str, str | None], focus: Focus, shown: Published) -> Suggestion:
    """``suggest`` for one characteristic."""
    settled = _settled_without_flags(key, comparison, rules, focus, shown)
    if settled is not None:
        return settled
    r = comparison.results[key]
    name = r.name
    headline = comparison.headline(key)
    incomplete = r.known_share < rules.complete_from_known_share
    rating, direction, reasons, flagged, complement, by_reading = _flag_reasons(
        key, comparison, headline, rules, affects, focus, shown)
    signals = headline[(headline["flag"] == "none")
                       & headline["signal_95"].isin(["under", "over"])
                       & ~headline["category"].isin(rules.not_adverse_categories)]
    signals = [row for _, row in signals.iterrows() if focus.is_primary(row["signal_95"])]
    if signals:
        reasons.append(
            f"Screening signal only, not counted towards the rating: "
            f"{_listing(key, signals, shown)} differ{'s' if len(signals) == 1 else ''} at "
            f"{_pc(comparison.rules.level)} on {'its' if len(signals) == 1 else 'their'} "
            f"own, but not once the {int(headline['p_value'].notna().sum())} groups "
            "compared are allowed for.")
    readings = _readings(key, by_reading, focus, complement, shown)
    for reading in readings:
        if reading["groups"] and not reading["primary"]:
            reasons.append(reading["text"])
    complement = [f for f in complement if shown.says_finding(key, f["category"])]
    if complement:
        reasons.append(f"Not counted towards the rating, because these people do not have "
                       f"the characteristic the Equality Act protects: "
                       f"{_listing(key, complement, shown)}.")
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
        concern = " or ".join(focus.label(x).lower() for x in focus.primary)
        complete = (f"{shown.share_text(recorded)} of records are complete"
                    if recorded is not None else
                    f"most records are complete ({HIDDEN_SHARE})")
        reasons.insert(0, f"No group is {concern}, and {complete}."
                       if flagged else
                       f"The service's {name.lower()} profile is in line with "
                       f"{r.population or 'the population'} for every category that "
                       f"could be tested, and {complete}.")
    if r.age_confounded:
        rating, why = _age_confounded_reason(key, r, flagged, shown, rating)
        reasons.append(why)
    cap = rules.max_rating.get(key)
    if cap and _LEVEL.get(rating, 0) > _LEVEL[cap]:
        reasons.append(f"The data alone suggests at most {cap} for {name.lower()} (see the "
                       f"assessment rules); it would otherwise suggest {rating}.")
        rating = cap
    return Suggestion(key, rating, direction, reasons, flagged, data_gap=incomplete,
                      readings=readings)


def _settled_without_flags(key: str, comparison: Comparison, rules: AssessmentRules,
                           focus: Focus, shown: Published) -> Suggestion | None:
    """The rating where no flag decides it: the Act does not cover the group, the ages
    rule it out, or the data cannot show an impact; None where the flags decide."""
    r = comparison.results[key]
    name = r.name
    if key == MARRIAGE and not focus.covers_employment:
        return _settled(key, "NONE", "Not covered", NOT_COVERED)
    if key == PREGNANCY and not childbearing(comparison.ages, rules):
        return _settled(key, "LOW", "Outside child-bearing ages", (
            f"The service is for people aged {comparison.ages}, outside the child-bearing "
            f"ages ({rules.childbearing_ages} in the assessment rules), so the data gives "
            "no reason to expect an impact on the people who use it. Think about staff, "
            "carers or visitors who may be pregnant or on maternity leave."))
    if r.status == "not_collected":
        return Suggestion(key, "UNKNOWN", None, [
            f"The service does not record {name.lower()}, so the impact on this group "
            "cannot be assessed from service data."], data_gap=True)
    if r.status == "no_baseline":
        s = Suggestion(key, "UNKNOWN", None, [
            f"There is no Census 2021 figure for {name.lower()} to compare with; "
            "use other evidence (see Part 2)."])
        s.data_gap = r.known_share < rules.complete_from_known_share
        return s
    if r.known_share < rules.unknown_below_known_share:
        recorded = shown.recorded_share(key)
        share = (f"more than {_pct(1 - rules.unknown_below_known_share)} of people using "
                 f"the service ({HIDDEN_SHARE})" if recorded is None else
                 f"{shown.share_text(1 - recorded)} of people using the service "
                 f"({shown.count(key, NOT_RECORDED)} of {shown.count(key, PEOPLE)})")
        return Suggestion(key, "UNKNOWN", None, [
            f"{name} is not recorded for {share}, so any difference could come from who "
            "happens to be recorded."], data_gap=True)
    headline = comparison.headline(key)
    testable = headline[headline["flag"].isin(["under", "over", "none"])]
    if testable.empty:
        return Suggestion(key, "UNKNOWN", None, [
            f"Too few people with a known {name.lower()} to compare with "
            f"{r.population or 'the population'} "
            f"(every expected count is under {comparison.rules.min_expected:g})."])
    return None


def _flag_reasons(key: str, comparison: Comparison, headline: pd.DataFrame,
                  rules: AssessmentRules, affects: dict[str, str | None], focus: Focus,
                  shown: Published) -> tuple[str, str | None, list[str], list[dict], list[dict],
                                             dict[str, list[dict]]]:
    """The rating the headline flags suggest, and why: (rating, direction, reasons, the
    flagged rows, those in ``not_adverse_categories``, the flagged rows by reading)."""
    r = comparison.results[key]
    rows = headline[headline["flag"].isin(["under", "over"])]
    reasons, rating, direction = [], "LOW", None
    flagged, complement = [], []
    by_reading: dict[str, list[dict]] = {reading: [] for reading in READINGS}
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
        text = (f"{focus.label(row['flag'])} – {group_text(key, row['category'])}: {word} than "
                f"expected, {versus_text(shown, key, item, focus.people)}"
                + (f"; {family}" if family else ""))
        if not shown.says_finding(key, row["category"]):
            text = UNSAID_TEXT[:1].upper() + UNSAID_TEXT[1:]
        # Whether missing data could explain a hidden group's difference is not said:
        # it would narrow down its count.
        hidden = shown.is_hidden(key, row["category"])
        unrecorded = ("" if shown.value(key, NOT_RECORDED) is None
                      else shown.count(key, NOT_RECORDED))
        missing = "" if hidden else missing_data_text(item, r, "the population", unrecorded)
        strong = not rules.high_across_grid or item.get("holds_across_grid") is True
        if robust and strong and (affects.get(key) or "").upper() != "NO":
            rating, direction = "HIGH", "Negative"
            reasons.append(f"{text}. {missing}".strip())
        else:
            if rating != "HIGH":
                rating, direction = "MEDIUM", "Negative"
            if not robust:
                reasons.append(f"{text}. {missing}".strip())
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
    return rating, direction, reasons, flagged, complement, by_reading


def _age_confounded_reason(key: str, r: CharacteristicResult, flagged: list[dict],
                           shown: Published, rating: str) -> tuple[str, str]:
    """(rating, reason) for an age-confounded comparison."""
    # The census has no age breakdown for this characteristic and the service's ages
    # differ markedly from the population's: a difference age alone could explain
    # (``robust_to_age`` false) never suggests HIGH on its own.
    held = [f["category"] for f in flagged if f.get("adverse") and f.get("robust")
            and f.get("robust_to_age") is True]
    # Groups whose figures are hidden are not named: it would narrow their counts.
    named = [c for c in held if not shown.is_hidden(key, c)]
    why = (f"The comparison is with {r.population}, whose ages differ markedly from "
           "the service's (age-confounded)")
    if held:
        why += (": even so, age alone could not explain the difference for "
                + ("; ".join(group_text(key, c) for c in named) if named else
                   "a group whose figures are not shown"))
    else:
        why += ": a difference may come from age alone"
        if rating == "HIGH":
            rating = "MEDIUM"
            why += ", so on its own it suggests MEDIUM, not HIGH"
    return rating, why + "."





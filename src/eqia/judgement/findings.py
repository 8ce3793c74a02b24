"""Plain-English sentences generated from the numbers, for documents and reports.

Each sentence states the figures behind it. Wording is neutral ("fewer than
expected", not "worse"). Every figure is quoted from ``published.Published``, the
figures as the document may show them (all of them in an internal document), and every
finding from the true comparison: a finding about a group whose figures are hidden
still stands, and says so.
"""

from __future__ import annotations

import pandas as pd

from eqia.analysis.comparison import STATUS_FLAGS, CharacteristicResult, Comparison
from eqia.analysis.stats import p_text
from eqia.disclosure.published import (
    HIDDEN_FIGURES,
    NOT_RECORDED,
    PEOPLE,
    UNSAID,
    Published,
    publish,
)
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED
from eqia.words import one_in, percent


def pct(x: float, digits: int = 1) -> str:
    """A share in a sentence (``eqia.words.percent``): "25%", "4.4%"."""
    return percent(x, digits, trim=True)


def noun(r: CharacteristicResult) -> str:
    """What is recorded, in words that fit "whose ... is recorded" and "a known ..."."""
    return chars.recorded(r.key)


def _view(source: Published | Comparison) -> Published:
    return source if isinstance(source, Published) else publish(source)


def completeness_sentence(source: Published | Comparison, key: str,
                          threshold: float = 0.5) -> str:
    """How completely a characteristic is recorded. Whether it is too incomplete to
    assess is decided on the true figures; the figures quoted are ``source``'s."""
    shown = _view(source)
    r = shown.comparison.results[key]
    name = noun(r)[:1].upper() + noun(r)[1:]
    if r.status == "not_collected":
        return f"{name} is not recorded in the service's data, so the impact on this group " \
               "cannot be assessed from service data."
    people = (f"the {shown.count(key, PEOPLE)} people" if shown.value(key, PEOPLE) is not None
              else "the people")
    parts = []
    if shown.policy.publishable:
        # One figure: the split could give a small count back by subtraction.
        if shown.value(key, NOT_RECORDED):
            parts.append(f"{shown.count(key, NOT_RECORDED)} not recorded")
    else:
        for n, what in ((r.not_stated, "not stated"), (r.not_known, "not known"),
                        (r.invalid, "invalid")):
            if n:
                parts.append(f"{n:,} {what}")
    detail = f" ({', '.join(parts)})" if parts else ""
    recorded = shown.recorded_share(key)
    # Whether it is too incomplete to assess is the true figures' (as for the rating);
    # where the share is hidden, only that is said.
    if r.rows and r.known / r.rows < threshold:
        missing = "most" if recorded is None else shown.share_text(1 - recorded)
        text = (f"{name} is not recorded for {missing} of {people} using the service{detail}, "
                "so the impact on this group cannot be assessed from service data")
    else:
        text = (f"{name} is recorded for "
                f"{'most' if recorded is None else shown.share_text(recorded)} of {people} "
                f"using the service{detail}")
    if recorded is None:
        text += " (the exact share is not shown, to protect people's privacy)"
    return text + "."


def _age_sentence(lead: str, row: pd.Series) -> str:
    """Whether age alone could explain a flag: the most (for over) or least (for under)
    share age could give, from ``expected_age_high/low`` (``compare._age_retest``)."""
    n = row["expected"] / row["expected_share"] if row.get("expected_share") else None
    bound = row["expected_age_high"] if row["flag"] == "over" else row["expected_age_low"]
    if n is None or pd.isna(n) or pd.isna(bound):
        return f"{lead}, so this difference may come from age alone."
    limit = pct(bound / n)
    most = "at most" if row["flag"] == "over" else "no less than"
    if bool(row.get("robust_to_age")):
        return f"{lead}, but age alone could give {most} {limit}, so it does not explain this."
    return (f"{lead}: age alone could give {'up to' if row['flag'] == 'over' else 'as little as'}"
            f" {limit}, so this difference may come from age alone.")


def _given(x) -> bool:
    return x is not None and not (isinstance(x, float) and x != x) and x is not pd.NA


def missing_data_text(row, r: CharacteristicResult, population: str,
                      unrecorded: str | None = None) -> str:
    """What the unrecorded values could do to a flag, in plain English, from its tipping
    point: "The difference would go only if 1 in 5 of the 360 people whose ethnicity is
    not recorded were in this group, against 1 in 70 of those recorded and 1 in 23 of
    Kent residents: missing data is unlikely to explain it." Empty for a row with no
    flag or when the check was not made. ``unrecorded``: the number of people not
    recorded as the document may show it (``None``: the true count)."""
    explain = row.get("missing_could_explain")
    if row.get("flag") not in ("under", "over") or not _given(explain):
        return ""
    missing = r.unknown + r.invalid
    if not missing:
        return ""
    tip = row.get("tipping_share")
    # ``unrecorded`` "": the count may not be shown (it is hidden), so it is not said.
    fmt = (lambda n: f"{n:,} ") if unrecorded is None else (
        lambda n: f"{unrecorded} " if unrecorded else "")
    people = "person" if missing == 1 else "people"
    whose = f"{fmt(missing)}{people if fmt(missing) else 'people'} whose {noun(r)} is not recorded"
    if not _given(tip):
        return f"This holds whatever the {fmt(missing)}unrecorded values are."
    if (row["flag"] == "under" and tip <= 0) or (row["flag"] == "over" and tip >= 1):
        return (f"The difference would go whichever groups the {whose} are in: missing data "
                "could explain it.")
    verdict = ("missing data could explain it" if bool(explain)
               else "missing data is unlikely to explain it")
    expected = row.get("expected_share", row.get("baseline_share"))
    against = (f"against {one_in(row.get('service_share'))} of those recorded and "
               f"{one_in(expected)} of {population}")
    only = "" if explain else "only "
    share = one_in(tip) if row["flag"] == "under" else f"at most {one_in(tip)}"
    return (f"The difference would go {only}if {share} of the {whose} were in this group, "
            f"{against}: {verdict}.")


#: Short names of the family-wise rules, for sentences.
FAMILY_NAMES = {"holm": "Holm's method", "bonferroni": "Bonferroni's correction"}


def family_phrase(rows: pd.DataFrame, row, rules) -> str:
    """How a flag allowed for the other groups, with its p-value: "allowing for the 5
    groups compared (Holm's method), p < 0.001"."""
    m = int(rows["p_value"].notna().sum()) if "p_value" in rows else 0
    compared = int(rows["flag"].isin(["under", "over", "none", "too_few"]).sum())
    p, p_adj = row.get("p_value"), row.get("p_adjusted")
    if not _given(p):
        return ""
    one_question = m == 2 and compared == 2  # e.g. female / male: no allowance needed
    if rules.family_wise in FAMILY_NAMES and m > 1 and not one_question and _given(p_adj):
        return (f"allowing for the {m} groups compared ({FAMILY_NAMES[rules.family_wise]}), "
                f"{p_text(p_adj)}")
    if rules.family_wise == "strong_level":
        return f"{p_text(p)}, at the stricter {100 * rules.strong_level:.10g}% level"
    return p_text(p)


def flag_sentences(source: Published | Comparison, key: str, area_name: str) -> list[str]:
    """One sentence per flagged group, with the figures behind it as published, naming
    the exact population it was compared with (``CharacteristicResult.population``) and
    whether that figure is an estimate or the comparison could reflect age alone."""
    shown = _view(source)
    r = shown.comparison.results[key]
    if r.status != "compared":
        return []
    rows = shown.headline(key)
    flagged = rows[rows["flag"].isin(["under", "over"])]
    adjusted = " after allowing for the service's age profile" if r.age_adjusted else ""
    population = r.population or f"{area_name}'s population"
    lead = (" Within each broad group the detailed groups are split by their shares at all "
            "ages, and the service's ages differ markedly from all ages" if key ==
            ETHNICITY_DETAILED else " The service's ages differ markedly from that population's")
    out = [_flag_sentence(shown, key, rows, row, population, adjusted, lead)
           for _, row in flagged.iterrows()]
    testable = rows[rows["flag"].isin(["under", "over", "none"])]
    unsaid = int((rows["flag"] == UNSAID).sum())
    if unsaid:
        out.append(f"The findings for {unsaid} group{'s' if unsaid > 1 else ''} whose figures "
                   "are not shown are not said either, to protect people's privacy; the "
                   "suggested rating takes them into account.")
    elif not out and len(testable):
        out.append(f"The service's {r.name.lower()} profile is in line with {population}"
                   f"{adjusted} for every category that could be tested."
                   + (f"{lead}, so age may hide a difference." if r.age_confounded else ""))
    return out + _not_tested_sentences(shown, key, rows)


def _flag_sentence(shown: Published, key: str, rows: pd.DataFrame, row: pd.Series,
                   population: str, adjusted: str, lead: str) -> str:
    """One flagged group: its share and interval against the population's, the ratio and
    the family-wise test, what missing data could do, and whether age could explain it.
    A group whose figures are hidden gets the direction only."""
    r = shown.comparison.results[key]
    word = "fewer" if row["flag"] == "under" else "more"
    estimated = (" (estimated)" if bool(row.get("baseline_estimated"))
                 and not population.endswith("(estimated)") else "")
    if row["hidden"] or pd.isna(row["service_share"]):
        # Whether missing data or age could explain it is not said either: it would
        # narrow the count down (``disclosure.direction_is_safe``).
        return (f"{row['category']}: {word} than expected, compared with "
                f"{pct(row['baseline_share'])}{estimated} of {population}{adjusted}; "
                f"{HIDDEN_FIGURES}.")
    family = family_phrase(rows, row, shown.comparison.rules)
    missing = shown.value(key, NOT_RECORDED)
    tail = missing_data_text(row, r, population,
                             "" if missing is None else shown.count(key, NOT_RECORDED))
    confounded = _age_sentence(lead, row) if r.age_confounded else ""
    return (
        f"{row['category']}: {pct(row['service_share'])} of service users with a known "
        f"{noun(r)} (95% CI {pct(row['ci_low'])} to {pct(row['ci_high'])}), compared "
        f"with {pct(row['baseline_share'])}{estimated} of {population}{adjusted}: {word} "
        f"than expected (ratio {row['ratio']:.2f}{'; ' + family if family else ''}). "
        f"{tail}".strip() + confounded
    )


def _not_tested_sentences(shown: Published, key: str, rows: pd.DataFrame) -> list[str]:
    """Categories not tested: too few expected, no census counterpart, outside the ages."""
    r = shown.comparison.results[key]
    out = []
    too_few = rows[rows["flag"] == "too_few"]
    few = shown.comparison.rules.min_expected
    if len(too_few) and len(too_few) == len(rows[~rows["flag"].isin(STATUS_FLAGS)]):
        out.append(f"Too few people to compare any {r.name.lower()} category with the "
                   f"population (every expected count is under {few:g}).")
    elif len(too_few):
        out.append(f"{len(too_few)} categor{'y' if len(too_few) == 1 else 'ies'} had too few "
                   f"people to compare (expected count under {few:g}).")
    for cat, n in shown.not_compared(key, "no_census_category").items():
        out.append(f"{n} people are recorded as '{cat}', which has no census counterpart; "
                   "they are counted but not compared.")
    outside = shown.not_compared(key, "outside_ages")
    if outside:
        values = [shown.value(key, c) for c in outside]
        n = sum(values) if None not in values else None
        who = (f"{n:,} {'person is' if n == 1 else 'people are'}" if n is not None
               else "Some people are")
        out.append(f"{who} outside the ages the comparison covers ({', '.join(outside)}); "
                   "they are counted but not compared.")
    return out

"""Plain-English sentences generated from the numbers, for documents and reports.

Each sentence states the figures behind it. Wording is neutral ("fewer than
expected", not "worse"). Counts pass through the publication policy's formatter so
that a publishable document never shows a small number in prose either.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from eqia.compare import STATUS_FLAGS, CharacteristicResult, Comparison
from eqia.stats import p_text

CountFormatter = Callable[[int], str]


def _fmt_count(n: int) -> str:
    return f"{n:,}"


def pct(x: float, digits: int = 1) -> str:
    if x is None or x != x:
        return "-"
    value = 100 * x
    if digits and abs(value - round(value)) < 1e-9 and value >= 10:
        return f"{value:.0f}%"
    return f"{value:.{digits}f}%"


#: What is recorded, in words that fit "whose ... is recorded" and "a known ...".
RECORDED_NOUN = {
    "disability": "disability status",
    "marriage_civil_partnership": "marital or civil partnership status",
    "carers": "caring status",
    "ethnicity_detailed": "detailed ethnic group",
    "pregnancy_maternity": "pregnancy or maternity status",
}


def noun(r: CharacteristicResult) -> str:
    return RECORDED_NOUN.get(r.key, r.name.lower())


def completeness_sentence(r: CharacteristicResult, fmt: CountFormatter = _fmt_count,
                          threshold: float = 0.5) -> str:
    name = noun(r)[:1].upper() + noun(r)[1:]
    if r.status == "not_collected":
        return f"{name} is not recorded in the service's data, so the impact on this group " \
               "cannot be assessed from service data."
    missing = r.rows - r.known
    parts = []
    if r.not_stated:
        parts.append(f"{fmt(r.not_stated)} not stated")
    if r.not_known:
        parts.append(f"{fmt(r.not_known)} not known")
    if r.invalid:
        parts.append(f"{fmt(r.invalid)} invalid")
    detail = f" ({', '.join(parts)})" if parts else ""
    if r.rows and r.known / r.rows < threshold:
        return (f"{name} is not recorded for {pct(missing / r.rows, 0)} of the {fmt(r.rows)} "
                f"people using the service{detail}, so the impact on this group cannot be "
                "assessed from service data.")
    return (f"{name} is recorded for {pct(r.known_share, 0)} of the {fmt(r.rows)} people using "
            f"the service{detail}.")


def one_in(share: float) -> str:
    """A share as people say it: 0.2 -> "1 in 5", 0.0143 -> "1 in 70", 0.62 -> "6 in 10"."""
    if share is None or share != share:
        return "-"
    if share <= 0:
        return "none"
    if share < 0.5:
        return f"1 in {round(1 / share):,}"
    if share > 0.99:
        return "more than 99 in 100"
    tenths = round(10 * share)
    return f"{round(100 * share)} in 100" if tenths == 10 else f"{tenths} in 10"


def _given(x) -> bool:
    return x is not None and not (isinstance(x, float) and x != x) and x is not pd.NA


def missing_data_text(row, r: CharacteristicResult, population: str,
                      fmt: CountFormatter = _fmt_count) -> str:
    """What the unrecorded values could do to a flag, in plain English, from its tipping
    point: "The difference would go only if 1 in 5 of the 360 people whose ethnicity is
    not recorded were in this group, against 1 in 70 of those recorded and 1 in 23 of
    Kent residents: missing data is unlikely to explain it." Empty for a row with no
    flag or when the check was not made."""
    explain = row.get("missing_could_explain")
    if row.get("flag") not in ("under", "over") or not _given(explain):
        return ""
    missing = r.unknown + r.invalid
    if not missing:
        return ""
    tip = row.get("tipping_share")
    people = "person" if missing == 1 else "people"
    whose = f"{fmt(missing)} {people} whose {noun(r)} is not recorded"
    if not _given(tip):
        return f"This holds whatever the {fmt(missing)} unrecorded values are."
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


def flag_sentences(comparison: Comparison, key: str, area_name: str) -> list[str]:
    r = comparison.results[key]
    if r.status != "compared":
        return []
    rows = comparison.headline(key)
    flagged = rows[rows["flag"].isin(["under", "over"])]
    adjusted = " after allowing for the service's age profile" if r.age_adjusted else ""
    out = []
    population = f"{area_name} residents" + (" of the same ages" if r.age_adjusted else "")
    for _, row in flagged.iterrows():
        word = "fewer" if row["flag"] == "under" else "more"
        family = family_phrase(rows, row, comparison.rules)
        tail = missing_data_text(row, r, population)
        out.append(
            f"{row['category']}: {pct(row['service_share'])} of service users with a known "
            f"{noun(r)} (95% CI {pct(row['ci_low'])} to {pct(row['ci_high'])}), compared "
            f"with {pct(row['baseline_share'])} of {area_name} residents{adjusted}: {word} than "
            f"expected (ratio {row['ratio']:.2f}{'; ' + family if family else ''}). {tail}".strip()
        )
    testable = rows[rows["flag"].isin(["under", "over", "none"])]
    if not out and len(testable):
        out.append(f"The service's {r.name.lower()} profile is in line with {area_name}'s "
                   f"population{adjusted} for every category that could be tested.")
    too_few = rows[rows["flag"] == "too_few"]
    if len(too_few) and len(too_few) == len(rows[~rows["flag"].isin(STATUS_FLAGS)]):
        out.append(f"Too few people to compare any {r.name.lower()} category with the "
                   "population (every expected count is under 5).")
    elif len(too_few):
        out.append(f"{len(too_few)} categor{'y' if len(too_few) == 1 else 'ies'} had too few "
                   "people to compare (expected count under 5).")
    for cat, n in r.no_census_categories.items():
        out.append(f"{n:,} people are recorded as '{cat}', which has no census counterpart; "
                   "they are counted but not compared.")
    if r.outside_ages:
        n = sum(r.outside_ages.values())
        out.append(f"{n:,} {'person is' if n == 1 else 'people are'} outside the ages the "
                   f"comparison covers ({', '.join(r.outside_ages)}); they are counted but "
                   "not compared.")
    return out

"""Plain-English sentences generated from the numbers, for documents and reports.

Each sentence states the figures behind it. Wording is neutral ("fewer than
expected", not "worse"). Counts pass through the publication policy's formatter so
that a publishable document never shows a small number in prose either.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from eqia.characteristics import ETHNICITY_DETAILED
from eqia.compare import STATUS_FLAGS, CharacteristicResult, Comparison

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


def _age_sentence(lead: str, row: pd.Series) -> str:
    """Whether age alone could explain a flag: the most (for over) or least (for under)
    share age could give, from ``expected_age_high/low`` (``compare._age_retest``)."""
    n = row["expected"] / row["expected_share"] if row.get("expected_share") else None
    bound = row["expected_age_high"] if row["flag"] == "over" else row["expected_age_low"]
    if n is None or pd.isna(bound):
        return f"{lead}, so this difference may come from age alone."
    limit = pct(bound / n)
    most = "at most" if row["flag"] == "over" else "no less than"
    if bool(row.get("robust_to_age")):
        return f"{lead}, but age alone could give {most} {limit}, so it does not explain this."
    return (f"{lead}: age alone could give {'up to' if row['flag'] == 'over' else 'as little as'}"
            f" {limit}, so this difference may come from age alone.")


def flag_sentences(comparison: Comparison, key: str, area_name: str) -> list[str]:
    """One sentence per flagged group, naming the exact population it was compared with
    (``CharacteristicResult.population``) and whether that figure is an estimate or the
    comparison could reflect age alone."""
    r = comparison.results[key]
    if r.status != "compared":
        return []
    rows = comparison.headline(key)
    flagged = rows[rows["flag"].isin(["under", "over"])]
    adjusted = " after allowing for the service's age profile" if r.age_adjusted else ""
    population = r.population or f"{area_name}'s population"
    lead = (" Within each broad group the detailed groups are split by their shares at all "
            "ages, and the service's ages differ markedly from all ages" if key ==
            ETHNICITY_DETAILED else " The service's ages differ markedly from that population's")
    out = []
    for _, row in flagged.iterrows():
        word = "fewer" if row["flag"] == "under" else "more"
        robust = row["robust_to_missing"]
        missing = r.unknown + r.invalid
        if pd.notna(robust) and bool(robust):
            tail = (f"This holds whatever the {missing:,} unrecorded values are." if missing
                    else "")
        else:
            tail = (f"This could be explained by the {missing:,} people whose "
                    f"{noun(r)} is not recorded.")
        estimated = (" (estimated)" if bool(row.get("baseline_estimated"))
                     and not population.endswith("(estimated)") else "")
        confounded = _age_sentence(lead, row) if r.age_confounded else ""
        out.append(
            f"{row['category']}: {pct(row['service_share'])} of service users with a known "
            f"{noun(r)} (95% CI {pct(row['ci_low'])} to {pct(row['ci_high'])}), compared "
            f"with {pct(row['baseline_share'])}{estimated} of {population}{adjusted}: {word} "
            f"than expected (ratio {row['ratio']:.2f}). {tail}".strip() + confounded
        )
    testable = rows[rows["flag"].isin(["under", "over", "none"])]
    if not out and len(testable):
        out.append(f"The service's {r.name.lower()} profile is in line with {population}"
                   f"{adjusted} for every category that could be tested."
                   + (f"{lead}, so age may hide a difference." if r.age_confounded else ""))
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

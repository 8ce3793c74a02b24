"""What a comparison of a service with its population is: the result types and what each
column and flag of the comparison table means (``compare`` computes them). Kept apart from
the computation so that judgement, disclosure and writers can read a comparison without
it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from eqia.agebands import AgeBand
from eqia.analysis.stats.words import method_text
from eqia.census.areas import Area
from eqia.settings.rules import Rules

#: The compare CSV's columns, in order (documented in ``COLUMN_TEXT``).
CSV_COLUMNS = [
    "characteristic", "category", "service_count", "service_share", "ci_low", "ci_high",
    "ci_low_strong", "ci_high_strong", "baseline_share", "expected", "ratio", "ratio_low",
    "ratio_high", "difference_pp", "p_value", "p_adjusted", "flag", "signal_95", "strength",
    "tipping_share", "missing_could_explain", "age_adjusted", "population",
    "baseline_estimated", "age_confounded",
]


#: ``flag`` values of rows that are not a comparison of a category with the census.
STATUS_FLAGS = ("not_collected", "no_baseline", "no_census_category", "outside_ages")

#: Each flag in plain words, for documents (neutral: higher/lower, not better/worse).
FLAG_WORDS = {
    "under": "Fewer than expected",
    "over": "More than expected",
    "none": "In line",
    "too_few": "Too few to test",
    "no_census_category": "No census figure",
    "outside_ages": "Outside the service's ages",
    "no_baseline": "No census figure",
    "not_collected": "Not collected",
}

STATUS_TEXT = {
    "compared": "compared with the census",
    "not_collected": "not collected in the extract",
    "no_baseline": "no Census 2021 baseline",
    "no_known": "no known values to compare",
}

#: What each column means (the xlsx method sheet and docs/compare-method.md list these).
COLUMN_TEXT = {
    "characteristic": "Protected characteristic (eqia key), e.g. sex, ethnicity.",
    "category": "Standard category (Census 2021 wording); empty on a status row.",
    "service_count": "O: the service's users in the category.",
    "service_share": "O / N, where N is the service's users with a known value that the "
                     "census counts (a fraction 0-1).",
    "ci_low": "Lower limit of service_share's interval at the rules' level (95%): Wilson "
              "score, or exact (Clopper-Pearson) for small counts (exact_binomial_below); on "
              "age-adjusted rows the ratio's limit times E / N.",
    "ci_high": "Upper limit of service_share's interval (95%).",
    "ci_low_strong": "Lower limit of service_share's interval at the stricter level (99.8%).",
    "ci_high_strong": "Upper limit of service_share's interval at the stricter level (99.8%).",
    "baseline_share": "The category's share of the area's population (eligible ages where "
                      "the census allows), people who did not answer left out (0-1).",
    "expected": "E: users expected if the service matched the area; N x baseline_share "
                "(crude) or indirectly standardised for age (age_adjusted true).",
    "ratio": "Representation ratio O / E.",
    "ratio_low": "Lower limit of the ratio (95%): crude rows, the share's limit divided by "
                 "baseline_share; age-adjusted rows, Byar when O >= 10, exact Poisson below.",
    "ratio_high": "Upper limit of the ratio (95%).",
    "difference_pp": "service_share minus E / N, in percentage points (for crude rows, "
                     "minus baseline_share).",
    "p_value": "Two-sided p-value of the category's own test, the one its intervals invert "
               "(score or exact binomial; Byar or exact Poisson); empty when not tested.",
    "p_adjusted": "p_value allowing for the characteristic's other categories (Holm by "
                  "default: family_wise in the rules).",
    "flag": "under / over / none / too_few, allowing for the number of categories compared "
            "(p_adjusted below 0.05 and the ratio beyond 0.8 / 1.25); or a status: "
            "not_collected, no_baseline, no_census_category, outside_ages.",
    "signal_95": "Screening signal: under / over / none from the category's own test at "
                 "95% (p_value) and the ratio, not allowing for the other categories.",
    "strength": "For a signal: 99.8% when the 99.8% interval excludes the baseline too, "
                "else 95%.",
    "tipping_share": "For a flag: the share of the unknowns who would have to be in the "
                     "group for the flag to go (under: at least this share; over: at most). "
                     "Empty when no share would remove it or nothing is unknown.",
    "missing_could_explain": "For a flag: true when the tipping share is plausible (at most "
                             "tipping_plausible_factor times the larger of the group's share "
                             "among the recorded and its expected share; for over, at least "
                             "the smaller divided by it).",
    "age_adjusted": "true: expected count indirectly standardised for age; false: crude.",
    "population": "The population the row is compared with, e.g. \"Maidstone's population "
                  "aged 65 and over\" or \"Maidstone's population of all ages (no age "
                  "breakdown published)\".",
    "baseline_estimated": "true: the baseline share or expected count rests on an estimate "
                          "(religion by age, detailed ethnic groups by age, separated vs "
                          "divorced by age), not a published count.",
    "age_confounded": "true: the census has no age breakdown for the characteristic and the "
                      "service's age mix differs markedly from the population's (see "
                      "age_mismatch in the characteristics sheet), so a difference may come "
                      "from age alone; empty when the service's ages are not known.",
    "expected_share": "E / N.",
    "ratio_low_strong": "Lower limit of the ratio at the stricter level (99.8%).",
    "ratio_high_strong": "Upper limit of the ratio at the stricter level (99.8%).",
    "ratio_method": "Method of the row's intervals and test: Wilson score, exact binomial, "
                    "Byar or exact Poisson.",
    "flag_reason": "Why a row is too_few or not compared.",
    "unknown": "The characteristic's unknowns (not stated + not known).",
    "not_stated": "Unknowns who were asked and declined.",
    "not_known": "Unknowns not asked or not recorded (incl. blank, broad group only).",
    "invalid": "Values that could not be read (treated as unknown in the missing-data test).",
    "headline": "true on the rows to read the flag from (age-adjusted where available).",
    "expected_age_low": "Age-confounded rows: the fewest users age alone could give the "
                        "group (its share by age unknown; the census total and the two age "
                        "mixes fixed).",
    "expected_age_high": "Age-confounded rows: the most users age alone could give the group.",
    "robust_to_age": "Age-confounded flags: true when the flag holds even against the expected "
                     "count age alone could most explain it with (expected_age_high for over, "
                     "expected_age_low for under); false when age alone could explain it.",
    "holds_across_grid": "For a flag: true when p_adjusted is also below 0.05 divided by the "
                         "number of screening-grid characteristics with a tested category "
                         "(the evidence a HIGH suggested rating needs).",
}

#: Columns of ``Comparison.table`` after the csv ones (the xlsx sheet has them all).
EXTRA_COLUMNS = [
    "expected_share", "ratio_low_strong", "ratio_high_strong", "ratio_method", "flag_reason",
    "unknown", "not_stated", "not_known", "invalid", "headline", "holds_across_grid",
    "expected_age_low", "expected_age_high", "robust_to_age",
]


@dataclass
class CharacteristicResult:
    """What is known about one characteristic, beyond its category rows."""

    key: str
    name: str
    status: str  # compared / not_collected / no_baseline / no_known
    rows: int = 0
    known: int = 0
    unknown: int = 0
    not_stated: int = 0
    not_known: int = 0
    invalid: int = 0
    base: str | None = None
    table_id: str | None = None
    age_adjusted: bool = False
    gof: dict | None = None
    caveats: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None
    no_census_categories: dict[str, int] = field(default_factory=dict)
    outside_ages: dict[str, int] = field(default_factory=dict)
    baseline_unknown: int = 0
    baseline_total: int = 0
    #: The population compared with, in words that follow "compared with".
    population: str = ""
    #: Categories whose baseline rests on an estimate (see ``age_crossings``).
    estimated: list[str] = field(default_factory=list)
    #: How the expected counts were standardised for age: "joint" (each person's age
    #: and value), "marginal" (a table giving ages and values apart), or None (crude).
    standardisation: str | None = None
    #: Dissimilarity of the service's ages from the compared population's (0-1), where
    #: the comparison is not matched for age; None where it is, or cannot be told.
    age_mismatch: float | None = None
    age_confounded: bool | None = None

    @property
    def known_share(self) -> float:
        return self.known / self.rows if self.rows else 0.0


@dataclass
class Comparison:
    area: Area
    ages: AgeBand | None
    table: pd.DataFrame
    results: dict[str, CharacteristicResult]
    rules: Rules
    source: str
    rows: int
    notes: list[str] = field(default_factory=list)
    #: How many screening-grid characteristics had a category tested: the flags'
    #: ``holds_across_grid`` allows for them all.
    screened: int = 0

    def csv_table(self) -> pd.DataFrame:
        return self.table[CSV_COLUMNS]

    def headline(self, key: str) -> pd.DataFrame:
        t = self.table
        return t[(t["characteristic"] == key) & t["headline"]]

    @property
    def method(self) -> str:
        return method_text(self.rules)

"""The statistics in words: the method, the multiplicity rule and p-values as documents state them."""

from __future__ import annotations

from eqia.analysis.stats.intervals import level_label
from eqia.settings.rules import Rules, load_rules

#: How each ``family_wise`` rule is described in the method text.
_FAMILY_TEXT = {
    "holm": "Holm's step-down method across the characteristic's tested categories",
    "bonferroni": "Bonferroni's correction across the characteristic's tested categories",
    "strong_level": "the stricter {sl} level for every category",
    "none": "each category on its own at {lv} (no allowance for the number of categories)",
}


def family_text(rules: Rules) -> str:
    """The family-wise rule in a few words, e.g. for a footnote."""
    return _FAMILY_TEXT[rules.family_wise].format(
        lv=level_label(rules.level), sl=level_label(rules.strong_level))


def p_text(p: float) -> str:
    """A p-value as documents print it: "p = 0.012", "p < 0.001"."""
    if p is None or p != p:
        return "p not worked out"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def method_text(rules: Rules | None = None) -> str:
    """How the comparison was made, with its parameters, for reports and csv footers."""
    r = rules or load_rules()
    lv, sl = level_label(r.level), level_label(r.strong_level)
    alpha = 1 - r.level
    return (
        f"Shares are of people with a known value. The expected count is what the service "
        f"would have if its users matched the area's Census 2021 population: the number with "
        f"a known value times the area's share (crude), or, where the census gives the "
        f"characteristic by age, the sum over age bands of the service's users in the band "
        f"times the area's share in that band (indirectly standardised for age); where both "
        f"are given, the flag is read from the age-adjusted rows (age_adjusted true) and the "
        f"crude rows are shown beside them. The representation ratio is observed / expected. "
        f"Crude rows are compared by binomial methods: the share's {lv} and {sl} intervals by "
        f"Wilson's score method with the score test, or, when fewer than "
        f"{r.exact_binomial_below} people are in the group or outside it, the exact "
        f"(Clopper-Pearson) interval with the exact binomial test; the ratio's limits are the "
        f"share's divided by the area's share. Age-adjusted rows are compared by Poisson "
        f"methods, as PHE/UKHSA Fingertips: Byar's limits and test when at least "
        f"{r.byar_min_observed} people are observed, exact Poisson limits and test otherwise; "
        f"the share's limits are the ratio's times the expected share. Each test is the one "
        f"its interval inverts, so a row's intervals and p-value never disagree. A category's "
        f"own test at {lv} gives a screening signal (signal_95). The flag allows for the "
        f"number of categories compared, using {family_text(r)} (the chance of any false "
        f"flag in a characteristic held at {100 * alpha:.10g}%): a group is flagged 'under' "
        f"when the ratio is below {r.under_ratio:g} and its adjusted p-value is below the "
        f"level, 'over' when the ratio is above {r.over_ratio:g} (the four-fifths rule and "
        f"its reciprocal); 'too_few' when fewer than {r.min_expected:g} people are expected. "
        f"Strength {sl} means the {sl} interval also excludes the baseline. Flags say fewer "
        f"or more than expected, not better or worse. "
        + (
            "For each flag, the tipping point is the share of the people whose value is "
            "unknown who would have to be in the group for the flag to go (re-tested at the "
            "level the flag was judged at); missing data could explain the flag when that "
            f"share is at most {r.tipping_plausible_factor:g} times the larger of the "
            "group's share among the recorded and its expected share (for 'over' flags, at "
            f"least the smaller divided by {r.tipping_plausible_factor:g}). "
            if r.missing_sensitivity
            else ""
        )
        + f"Each characteristic's overall mix is tested with Pearson's chi-square test, or "
        f"a Monte Carlo test ({r.gof_draws} draws, seed {r.gof_seed}) when any expected "
        f"count is below {r.gof_min_expected:g}; the effect size is Cohen's "
        f"w = sqrt(chi-square / N)."
    )

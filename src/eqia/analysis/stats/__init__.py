"""The statistics of representation: shares, intervals, tests, ratios, flags, goodness of fit.

Public-health indicator practice (PHE/UKHSA Fingertips), with each row's interval and
test from one method so that they can never disagree:

* crude rows (the service's share against the area's share) are binomial: the Wilson
  score interval with the score test it inverts, or, for small counts, the
  Clopper-Pearson interval with the exact test it inverts; the ratio's interval is the
  share's interval divided by the area's share;
* age-adjusted rows (observed against an indirectly standardised expected count) are
  Poisson, as Fingertips treats standardised ratios: Byar's limits with Byar's test, or
  exact Poisson limits with the exact test; the share's interval is the ratio's interval
  times the expected share.

Each category's own test gives a screening signal (``signal_95``); the headline flag
holds the chance of any false flag across a characteristic's categories (Holm by
default); and a flag's tipping point says what share of the people with an unknown value
would have to be in the group for the flag to go. Flags are neutral (``under``/``over``:
fewer/more than expected, never better/worse).

Every function is pure and takes numbers or numpy arrays (broadcast together), so a
whole table is computed at once. Nothing here reads files, prints or decides what a
difference means for a service: that is ``assess``.

``intervals``: intervals and the tests that invert them; ``table``: many categories at
once (expected counts, multiplicity, flags, tipping points, the table); ``fit``: goodness
of fit; ``words``: the methods in words. Everything public is here as ``stats.<name>``.
"""

from eqia.analysis.stats.fit import goodness_of_fit, monte_carlo_p_value
from eqia.analysis.stats.intervals import (
    BYAR,
    EXACT,
    EXACT_BINOMIAL,
    FLAGS,
    STRENGTH_NONE,
    WILSON,
    binomial_p,
    byar_p,
    clopper_pearson_interval,
    exact_binomial_p,
    exact_poisson_p,
    poisson_count_interval,
    poisson_p,
    ratio_interval,
    score_test_p,
    share_interval,
    wilson_interval,
)
from eqia.analysis.stats.table import (
    TABLE_COLUMNS,
    bonferroni,
    compare_table,
    decide,
    expected_crude,
    expected_standardised,
    family_wise,
    flag_alpha,
    holm,
    row_p,
    tipping_point,
)
from eqia.analysis.stats.words import family_text, method_text, p_text

__all__ = [
    "BYAR",
    "EXACT",
    "EXACT_BINOMIAL",
    "FLAGS",
    "STRENGTH_NONE",
    "TABLE_COLUMNS",
    "WILSON",
    "binomial_p",
    "bonferroni",
    "byar_p",
    "clopper_pearson_interval",
    "compare_table",
    "decide",
    "exact_binomial_p",
    "exact_poisson_p",
    "expected_crude",
    "expected_standardised",
    "family_text",
    "family_wise",
    "flag_alpha",
    "goodness_of_fit",
    "holm",
    "method_text",
    "monte_carlo_p_value",
    "p_text",
    "poisson_count_interval",
    "poisson_p",
    "ratio_interval",
    "row_p",
    "score_test_p",
    "share_interval",
    "tipping_point",
    "wilson_interval",
]

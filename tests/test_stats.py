"""The statistical core, checked against second, independent computations.

Every interval is recomputed another way (statsmodels, another scipy route, or the
formula written out here), worked examples show their arithmetic in comments, and a
simulation checks that a service drawn from the area's own population is rarely flagged.
"""

from __future__ import annotations

import itertools
import math
import re
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy import special
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from eqia import stats
from eqia.errors import ConfigError
from eqia.rules import Rules, load_rules, with_changes

RULES = load_rules()
Z95 = 1.959963984540054  # standard normal 97.5th percentile
Z998 = 3.090232306167813  # standard normal 99.9th percentile


# --- Wilson ---------------------------------------------------------------------------


def wilson_by_hand(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927) in its (2k + z^2 -+ z sqrt(z^2 + 4k(n-k)/n)) / (2(n + z^2)) form."""
    root = z * math.sqrt(z * z + 4 * k * (n - k) / n)
    return (2 * k + z * z - root) / (2 * (n + z * z)), (2 * k + z * z + root) / (2 * (n + z * z))


@pytest.mark.parametrize(
    "k,n",
    [(0, 1), (1, 1), (0, 20), (5, 20), (20, 20), (37, 895), (801, 895), (1, 3000), (1500, 3000)],
)
@pytest.mark.parametrize("level,z", [(0.95, Z95), (0.998, Z998)])
def test_wilson_interval_matches_closed_form_statsmodels_and_scipy(k, n, level, z):
    lo, hi = stats.wilson_interval(k, n, level)
    assert (lo, hi) == pytest.approx(wilson_by_hand(k, n, z), abs=1e-9)
    assert (lo, hi) == pytest.approx(
        proportion_confint(k, n, alpha=1 - level, method="wilson"), abs=1e-9
    )
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-9)


def test_wilson_interval_is_vectorised_and_undefined_for_no_one():
    lo, hi = stats.wilson_interval(np.array([5, 0, 0]), np.array([20, 20, 0]))
    assert lo[:2] == pytest.approx([0.11186170140766569, 0.0], abs=1e-12)
    assert hi[:2] == pytest.approx([0.46870087761874410, 0.16112515805281938], abs=1e-12)
    assert np.isnan(lo[2]) and np.isnan(hi[2])


# --- Ratio intervals: exact Poisson below 10, Byar from 10 ------------------------------


def byar_by_hand(o: float, z: float) -> tuple[float, float]:
    """Byar's approximation to the Poisson limits (Breslow & Day 1987, vol II, p 69)."""
    lower = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    return lower, upper


@pytest.mark.parametrize("o", [0, 1, 2, 5, 9])
@pytest.mark.parametrize("level", [0.95, 0.998])
def test_small_counts_use_exact_poisson_limits(o, level):
    e = 7.3
    lo, hi, method = stats.ratio_interval(o, e, level)
    assert method == "exact Poisson"
    a = 1 - level
    # Second route: the inverse regularised gamma function, not the chi-square quantile.
    lo_g = special.gammaincinv(o, a / 2) if o > 0 else 0.0
    hi_g = special.gammaincinv(o + 1, 1 - a / 2)
    assert (lo, hi) == pytest.approx((lo_g / e, hi_g / e), abs=1e-9)
    # Third route: statsmodels' Garwood interval.
    sm_lo, sm_hi = confint_poisson(o, e, method="exact-c", alpha=a)
    assert (lo, hi) == pytest.approx((sm_lo, sm_hi), abs=1e-9)


@pytest.mark.parametrize("o", [10, 11, 37, 100, 2500])
@pytest.mark.parametrize("level,z", [(0.95, Z95), (0.998, Z998)])
def test_counts_of_ten_or_more_use_byars_method(o, level, z):
    e = 42.0
    lo, hi, method = stats.ratio_interval(o, e, level)
    assert method == "Byar"
    b_lo, b_hi = byar_by_hand(o, z)
    assert (lo, hi) == pytest.approx((b_lo / e, b_hi / e), abs=1e-9)


def test_byar_is_close_to_exact_where_it_takes_over():
    # A sanity check on the switch-over: at O = 10 the two differ by under 1%.
    lo, hi = byar_by_hand(10, Z95)
    assert lo == pytest.approx(special.gammaincinv(10, 0.025), rel=0.01)
    assert hi == pytest.approx(special.gammaincinv(11, 0.975), rel=0.01)


def test_ratio_interval_switch_over_follows_the_rule():
    lo, hi, method = stats.ratio_interval([9, 10], [10, 10], 0.95, byar_min_observed=20)
    assert list(method) == ["exact Poisson", "exact Poisson"]
    lo, hi, method = stats.ratio_interval([9, 10, 5], [10, 10, 0])
    assert list(method) == ["exact Poisson", "Byar", "exact Poisson"]
    assert np.isnan(lo[2]) and np.isnan(hi[2])  # no expected count, no ratio


# --- Expected counts --------------------------------------------------------------------


def test_indirect_standardisation_worked_example():
    # A service for adults with 100 users of known sex: 80 aged 18-64, 20 aged 65+.
    # The area is 48% male at 18-64 and 44% male at 65+. Expected men:
    #   80 x 0.48 = 38.4
    #   20 x 0.44 =  8.8
    #   total     = 47.2
    # The crude rate (area all ages 18+, say 47.5% male) would expect 47.5.
    n_by_band = {"18-64": 80, "65+": 20, "0-17": 0}
    share = {"18-64": 0.48, "65+": 0.44}
    assert stats.expected_standardised(n_by_band, share) == pytest.approx(47.2, abs=1e-12)
    assert stats.expected_crude(100, 0.475) == pytest.approx(47.5, abs=1e-12)


def test_indirect_standardisation_refuses_a_band_without_a_share():
    with pytest.raises(KeyError, match="65\\+"):
        stats.expected_standardised({"18-64": 80, "65+": 20}, {"18-64": 0.48})


def test_expected_crude_is_vectorised():
    assert stats.expected_crude(200, np.array([0.5, 0.25])) == pytest.approx([100, 50])


# --- Flags -------------------------------------------------------------------------------


def test_ratio_exactly_at_four_fifths_is_not_flagged():
    # 800 / 1000 = 0.8 exactly; the interval (Byar) is wholly below 1, but the ratio is not
    # below 0.8. One fewer person and it is.
    assert stats.flag_counts(800, 1000, RULES) == ("none", "")
    assert stats.flag_counts(799, 1000, RULES) == ("under", "99.8%")


def test_ratio_exactly_at_five_quarters_is_not_flagged():
    assert stats.flag_counts(1250, 1000, RULES) == ("none", "")
    assert stats.flag_counts(1251, 1000, RULES) == ("over", "99.8%")


def test_interval_touching_one_is_not_flagged():
    # classify(ratio, lo95, hi95, lo99.8, hi99.8, expected)
    assert stats.classify(0.5, 0.3, 1.0, 0.2, 1.3, 20, RULES) == ("none", "")
    assert stats.classify(0.5, 0.3, 0.9999, 0.2, 1.3, 20, RULES) == ("under", "95%")
    assert stats.classify(2.0, 1.0, 3.0, 0.8, 3.5, 20, RULES) == ("none", "")
    assert stats.classify(2.0, 1.0001, 3.0, 0.8, 3.5, 20, RULES) == ("over", "95%")
    # The 99.8% interval touching 1 leaves the flag at 95% strength.
    assert stats.classify(0.5, 0.3, 0.8, 0.2, 1.0, 20, RULES) == ("under", "95%")
    assert stats.classify(0.5, 0.3, 0.8, 0.2, 0.99, 20, RULES) == ("under", "99.8%")


def test_expected_just_under_five_is_too_few():
    # No one observed where 5 are expected: exact upper limit chi2(0.975, 2)/2 = 3.689,
    # ratio upper 3.689 / 5 = 0.738 < 1, so under. Just below 5 expected it is not tested.
    assert stats.flag_counts(0, 5.0, RULES) == ("under", "95%")
    assert stats.flag_counts(0, 4.999, RULES) == ("too_few", "")
    assert stats.flag_counts(0, 0.0, RULES) == ("too_few", "")


def test_strength_separates_95_from_99_8():
    # O = 5, E = 13.425: ratio 0.372; exact 95% upper = 11.668/13.425 = 0.869 (< 1),
    # 99.8% upper = 16.455/13.425 = 1.226 (> 1).
    assert stats.flag_counts(5, 13.425, RULES) == ("under", "95%")
    assert stats.flag_counts(np.array([5, 30]), np.array([13.425, 60]), RULES)[1].tolist() == [
        "95%",
        "99.8%",
    ]


# --- Missing data --------------------------------------------------------------------------


def test_missing_data_sensitivity_worked_example():
    # 1000 people with a known value, 30 in the group; the area's share is 6%, so E = 60
    # and the ratio is 0.5: under (Byar 95% upper = 42.8/60 = 0.71).
    # With U = 5 unknowns: E' = 60 x 1005/1000 = 60.3.
    #   all out: O = 30, ratio 0.498, upper 0.71 -> under
    #   all in:  O = 35, ratio 0.580, upper (Byar, O=35) 48.75/60.3 = 0.808 -> under
    # -> robust.
    assert stats.missing_sensitivity(30, 1000, 5, 60, RULES) == (True, "under", "under")
    # With U = 20: E' = 61.2; all in: O = 50, ratio 0.817 -> none -> not robust.
    assert stats.missing_sensitivity(30, 1000, 20, 60, RULES) == (False, "under", "none")
    # With U = 50: E' = 63; all in: O = 80, ratio 1.27, Byar 95% lower 63.4/63 > 1 -> over.
    assert stats.missing_sensitivity(30, 1000, 50, 60, RULES) == (False, "under", "over")
    # No unknowns: nothing can change.
    assert stats.missing_sensitivity(30, 1000, 0, 60, RULES) == (True, "under", "under")
    # No one known: nothing to test.
    assert stats.missing_sensitivity(0, 0, 10, 0, RULES)[0] is None


def test_missing_data_can_hide_a_difference_too():
    # No flag as it stands (O = 55, E = 60), but with 40 unknowns all outside the group
    # the ratio would still be ~0.88 and all inside 95/62.4 = 1.52 -> over.
    robust, out, into = stats.missing_sensitivity(55, 1000, 40, 60, RULES)
    assert (robust, out, into) == (False, "none", "over")


# --- Goodness of fit -------------------------------------------------------------------------


def test_pearson_chi_square_by_hand():
    # Observed 30, 20, 50 against shares 1/4, 1/4, 1/2 of N = 100: E = 25, 25, 50.
    # X2 = 5^2/25 + 5^2/25 + 0 = 2.0 on 2 df; p = exp(-2/2) = 0.367879...
    # Cohen's w = sqrt(2 / 100) = 0.141421...
    g = stats.goodness_of_fit(np.array([30, 20, 50]), np.array([0.25, 0.25, 0.5]), RULES)
    assert g["method"] == "Pearson chi-square"
    assert g["statistic"] == pytest.approx(2.0, abs=1e-12)
    assert g["dof"] == 2
    assert g["p_value"] == pytest.approx(math.exp(-1), abs=1e-12)
    assert g["cohen_w"] == pytest.approx(math.sqrt(0.02), abs=1e-12)


def exact_multinomial_p(observed: list[int], shares: list[float]) -> float:
    """P(X2 >= observed X2) by enumerating every way to share N among the categories."""
    n, k = sum(observed), len(observed)
    exp = [n * p for p in shares]

    def x2(c):
        return sum((a - e) ** 2 / e for a, e in zip(c, exp, strict=True))

    target = x2(observed)
    total = 0.0
    for cuts in itertools.combinations(range(n + k - 1), k - 1):
        parts = [b - a - 1 for a, b in zip((-1, *cuts), (*cuts, n + k - 1), strict=True)]
        if x2(parts) >= target - 1e-9:
            prob = math.factorial(n)
            for c, p in zip(parts, shares, strict=True):
                prob *= p**c / math.factorial(c)
            total += prob
    return total


def test_small_expected_counts_use_a_seeded_monte_carlo_close_to_the_exact_test():
    obs, shares = [3, 1, 0, 2, 6], [0.5, 0.2, 0.1, 0.1, 0.1]
    g = stats.goodness_of_fit(np.array(obs), np.array(shares), RULES)
    assert g["method"] == "Monte Carlo, 20000 draws, seed 20210321"
    exact = exact_multinomial_p(obs, shares)
    # Simulation standard error sqrt(p(1-p)/20000) <= 0.0036; allow four of them.
    assert g["p_value"] == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 20000))
    assert g["dof"] == 4
    # Same seed, same answer; another seed, a (slightly) different one.
    again = stats.goodness_of_fit(np.array(obs), np.array(shares), RULES)
    assert again == g
    other = stats.goodness_of_fit(np.array(obs), np.array(shares), RULES, seed=1)
    assert other["method"] == "Monte Carlo, 20000 draws, seed 1"


def test_goodness_of_fit_with_a_single_category_is_not_tested():
    g = stats.goodness_of_fit(np.array([10]), np.array([1.0]), RULES)
    assert math.isnan(g["p_value"]) and g["method"].startswith("not tested")


# --- The table -------------------------------------------------------------------------------


def test_compare_table_whole_result_against_independent_computations():
    # Ethnic groups of a 895-person service with 40 unknowns, against Kent-like shares.
    shares = [0.896, 0.044, 0.020, 0.025, 0.015, 0.0001]
    counts = [800, 20, 40, 30, 5, 0]
    df = pd.DataFrame(
        {
            "category": ["White", "Asian", "Black", "Mixed", "Other", "Tiny"],
            "observed": counts,
            "n": 895,
            "unknown": 40,
            "baseline_share": shares,
        }
    )
    got = stats.compare_table(df, RULES)

    e = [895 * s for s in shares]
    wil = [proportion_confint(c, 895, alpha=0.05, method="wilson") for c in counts]

    def limits(o, ex, level):
        if o >= 10:
            lo, hi = byar_by_hand(o, Z95 if level == 0.95 else Z998)
        else:
            lo, hi = confint_poisson(o, 1, method="exact-c", alpha=1 - level)
        return lo / ex, hi / ex

    r95 = [limits(o, ex, 0.95) for o, ex in zip(counts, e, strict=True)]
    r998 = [limits(o, ex, 0.998) for o, ex in zip(counts, e, strict=True)]
    want = pd.DataFrame(
        {
            "category": df["category"],
            "service_count": [float(c) for c in counts],
            "service_share": [c / 895 for c in counts],
            "ci_low": [w[0] for w in wil],
            "ci_high": [w[1] for w in wil],
            "baseline_share": shares,
            "expected": e,
            "expected_share": shares,
            "ratio": [o / ex for o, ex in zip(counts, e, strict=True)],
            "ratio_low": [r[0] for r in r95],
            "ratio_high": [r[1] for r in r95],
            "ratio_low_strong": [r[0] for r in r998],
            "ratio_high_strong": [r[1] for r in r998],
            "ratio_method": ["Byar", "Byar", "Byar", "Byar", "exact Poisson", "exact Poisson"],
            "difference_pp": [100 * (c / 895 - s) for c, s in zip(counts, shares, strict=True)],
            # Asian 20 v 39.4 expected: ratio 0.51, 99.8% upper 0.967. Black 40 v 17.9: 2.23.
            # Mixed 30 v 22.4: 1.34 but the interval includes 1. Other 5 v 13.4: 0.37, 95% only.
            "flag": ["none", "under", "over", "none", "under", "too_few"],
            "strength": ["", "99.8%", "99.8%", "", "95%", ""],
            "flag_reason": ["", "", "", "", "", "expected count 0.1 is below 5"],
            "flag_unknown_out": ["none", "under", "over", "none", "under", "too_few"],
            # Tiny: E' = 0.0895 x 935/895 = 0.094 is still too few, so its flag cannot change.
            "flag_unknown_in": ["none", "over", "over", "over", "over", "too_few"],
            "robust_to_missing": [True, False, True, False, False, True],
        }
    )
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=0, atol=1e-9)


def test_compare_table_with_no_known_values_says_why():
    df = pd.DataFrame(
        {
            "category": ["F", "M"],
            "observed": [0, 0],
            "n": 0,
            "unknown": 12,
            "baseline_share": [0.51, 0.49],
        }
    )
    got = stats.compare_table(df, RULES)
    assert got["flag"].tolist() == ["too_few", "too_few"]
    assert got["flag_reason"].tolist() == ["no one has a known value"] * 2
    assert got["robust_to_missing"].tolist() == [None, None]


def test_compare_table_uses_a_given_standardised_expected_count():
    df = pd.DataFrame(
        {
            "category": ["M", "F"],
            "observed": [40, 60],
            "n": 100,
            "unknown": 0,
            "baseline_share": [0.475, 0.525],
            "expected": [47.2, 52.8],
        }
    )
    got = stats.compare_table(df, RULES)
    assert got["expected"].tolist() == [47.2, 52.8]
    assert got["ratio"].tolist() == pytest.approx([40 / 47.2, 60 / 52.8], abs=1e-12)
    # Difference against the age-adjusted expected share (47.2%), not the crude 47.5%.
    assert got["difference_pp"].tolist() == pytest.approx([-7.2, 7.2], abs=1e-9)


def test_missing_sensitivity_can_be_switched_off():
    rules = with_changes(RULES, missing_sensitivity=False)
    df = pd.DataFrame(
        {
            "category": ["F", "M"],
            "observed": [60, 40],
            "n": 100,
            "unknown": 5,
            "baseline_share": [0.51, 0.49],
        }
    )
    assert stats.compare_table(df, rules)["robust_to_missing"].tolist() == [None, None]
    assert "unknown" not in stats.method_text(rules)


def test_method_text_states_the_parameters():
    text = stats.method_text(RULES)
    for part in (
        "Wilson",
        "Byar",
        "exact Poisson",
        "95%",
        "99.8%",
        "0.8",
        "1.25",
        "20000 draws, seed 20210321",
        "Cohen's w",
    ):
        assert part in text


# --- Rules -----------------------------------------------------------------------------------


def test_packaged_rules():
    assert RULES == Rules(
        level=0.95,
        strong_level=0.998,
        under_ratio=0.8,
        over_ratio=1.25,
        min_expected=5,
        byar_min_observed=10,
        gof_min_expected=5,
        gof_draws=20000,
        gof_seed=20210321,
        missing_sensitivity=True,
        age_confounded_distance=0.25,
        census_distance_years=5,
    )


def test_every_rule_is_documented_in_rules_yaml():
    text = files("eqia").joinpath("data/rules.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    for name in Rules.__dataclass_fields__:
        i = next(i for i, line in enumerate(lines) if re.match(rf"{name}:", line))
        assert lines[i - 1].startswith("#"), f"{name} has no comment above it"


def test_a_users_rules_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("# stricter\nunder_ratio: 0.9\nover_ratio: 1.1\n", encoding="utf-8")
    rules = load_rules(path)
    assert (rules.under_ratio, rules.over_ratio, rules.level) == (0.9, 1.1, 0.95)
    # Ratio 0.85 with an interval below 1: not flagged by default, flagged at 0.9.
    assert stats.flag_counts(850, 1000, RULES)[0] == "none"
    assert stats.flag_counts(850, 1000, rules)[0] == "under"


def test_a_bad_value_names_the_key_the_value_and_the_fix(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("under_ratio: 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    err = info.value
    assert (err.code, err.value, err.file, err.line) == ("bad-rule-value", "1.5", str(path), 1)
    assert err.setting == "under_ratio"
    assert err.message == "under_ratio must be a ratio above 0 and at most 1, e.g. 0.8"


def test_an_unknown_key_lists_the_known_ones(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("under_ration: 0.7\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    assert info.value.code == "unknown-rule"
    assert "Unknown rule 'under_ration' (did you mean 'under_ratio'?)" in str(info.value)
    assert "under_ratio" in info.value.hint


@pytest.mark.parametrize(
    "changes",
    [
        {"gof_draws": True},
        {"gof_draws": 20.5},
        {"level": 95},
        {"strong_level": 0.9},
        {"missing_sensitivity": "yes"},
        {"over_ratio": 0.9},
    ],
)
def test_impossible_values_are_refused(changes):
    with pytest.raises(ConfigError):
        load_rules(**changes)


def test_a_rules_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("- under_ratio\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="name: value"):
        load_rules(path)


# --- Properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(n=hs.integers(1, 100_000), data=hs.data(), level=hs.sampled_from([0.9, 0.95, 0.998]))
def test_wilson_interval_holds_the_share_and_stays_in_zero_one(n, data, level):
    k = data.draw(hs.integers(0, n))
    lo, hi = stats.wilson_interval(k, n, level)
    assert 0 <= lo <= k / n <= hi <= 1


@settings(max_examples=200, deadline=None)
@given(o=hs.integers(0, 100_000), e=hs.floats(0.01, 1e5))
def test_ratio_intervals_hold_the_ratio_and_nest(o, e):
    lo, hi, _ = stats.ratio_interval(o, e, 0.95)
    lo_s, hi_s, _ = stats.ratio_interval(o, e, 0.998)
    assert 0 <= lo_s <= lo <= o / e <= hi <= hi_s


@settings(max_examples=100, deadline=None)
@given(counts=hs.lists(hs.integers(0, 500), min_size=2, max_size=8), data=hs.data())
def test_table_shares_and_crude_expected_counts_add_up(counts, data):
    weights = data.draw(hs.lists(hs.integers(1, 100), min_size=len(counts), max_size=len(counts)))
    shares = np.array(weights) / sum(weights)
    n = sum(counts)
    df = pd.DataFrame(
        {
            "category": [f"c{i}" for i in range(len(counts))],
            "observed": counts,
            "n": n,
            "unknown": 3,
            "baseline_share": shares,
        }
    )
    t = stats.compare_table(df, RULES)
    assert t["expected"].sum() == pytest.approx(n)
    if n:
        assert t["service_share"].sum() == pytest.approx(1)
        assert t["difference_pp"].sum() == pytest.approx(0, abs=1e-9)
    assert set(t["flag"]) <= set(stats.FLAGS)


# --- Simulation: a service that mirrors its area is rarely flagged --------------------------


KENT_LIKE = {
    "ethnicity": {"White": 0.896, "Asian": 0.044, "Black": 0.020, "Mixed": 0.025, "Other": 0.015},
    "sex": {"Female": 0.51, "Male": 0.49},
}


@pytest.mark.slow
@pytest.mark.parametrize("characteristic", list(KENT_LIKE))
def test_services_drawn_from_the_area_are_falsely_flagged_at_most_5_percent(characteristic):
    shares = KENT_LIKE[characteristic]
    p = np.array(list(shares.values()))
    rng = np.random.default_rng(20210321)
    tested = flagged = services_flagged = services_strong = gof_rejected = 0
    for _ in range(200):
        n = int(rng.integers(200, 3001))
        observed = rng.multinomial(n, p)
        unknown = int(rng.integers(0, n // 10 + 1))
        df = pd.DataFrame(
            {
                "category": list(shares),
                "observed": observed,
                "n": n,
                "unknown": unknown,
                "baseline_share": p,
            }
        )
        t = stats.compare_table(df, RULES)
        hit = t["flag"].isin(["under", "over"])
        tested += int((t["flag"] != "too_few").sum())
        flagged += int(hit.sum())
        services_flagged += bool(hit.any())
        services_strong += bool((t["strength"] == "99.8%").any())
        gof_rejected += stats.goodness_of_fit(observed, p, RULES)["p_value"] < 0.05
    # Per category tested: the false under/over rate is within the 5% the 95% level allows.
    assert flagged / tested <= 0.05
    # Per service, at the 99.8% strength that guards against many comparisons.
    assert services_strong / 200 <= 0.05
    # The chi-square test rejects at about its nominal 5% (binomial sd 1.5% over 200).
    assert gof_rejected / 200 <= 0.10
    # Recorded for the reader: any 95% flag in a five-group characteristic is more common
    # (about 2% per group, so about 10% per service), which is why strength is reported.
    assert services_flagged / 200 <= 0.15

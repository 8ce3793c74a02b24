"""Eligible-age baselines from the census crossings with age, against independent numbers.

Every expected number is read straight from the shipped parquet files (or the shared ONS
files and SOURCES.md) with pandas, or worked out by hand in the comments: nothing is
copied from eqia's output.
"""

from __future__ import annotations

import functools
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from eqia.agebands import AgeBand
from eqia.census import age_crossings as ac
from eqia.census import baselines as bl
from eqia.census.areas import Area

MAIDSTONE = "E07000110"
SEPARATED = "Separated, but still legally married or still legally in a civil partnership"
DIVORCED = "Divorced or civil partnership dissolved"


@functools.cache
def shipped(name: str) -> pd.DataFrame:
    with files("eqia").joinpath(f"reference_data/{name}.parquet").open("rb") as fh:
        t = pd.read_parquet(fh)
    return t.astype({c: str for c in t.columns if c != "count"})


def cells(table: str, area: str = MAIDSTONE) -> pd.Series:
    t = shipped(table)
    return t[t["geography_code"] == area].set_index("category")["count"]


def counts(b: bl.Baseline) -> dict[str, int]:
    return dict(zip(b.counts["category"], b.counts["count"], strict=True))


def test_a_65_and_over_service_in_maidstone_is_compared_with_maidstones_people_aged_65_plus():
    # SOURCES.md: Maidstone aged 65 and over: White 32,463, Asian 627, Black 124,
    # Mixed 121, Other 201 (about 33,500 people). The band 65+ is published whole.
    b = bl.baseline("Maidstone", "ethnicity", ages=AgeBand(65, None))
    assert counts(b) == {
        "Asian, Asian British or Asian Welsh": 627,
        "Black, Black British, Black Welsh, Caribbean or African": 124,
        "Mixed or Multiple ethnic groups": 121, "White": 32463, "Other ethnic group": 201}
    assert b.total == 33_536 and b.base == "usual residents aged 65 and over"
    assert b.age_restricted and not b.estimated and b.age_note is None
    assert b.counts.set_index("category").loc[
        "Asian, Asian British or Asian Welsh", "share"] == pytest.approx(627 / 33536, abs=1e-15)
    # Against all ages, Asian is 4.7% of Maidstone (TS021): the comparison that was wrong.
    ts021 = cells("ts021")
    assert ts021["Asian, Asian British or Asian Welsh"] / ts021[
        "Total: All usual residents"] == pytest.approx(0.047, abs=0.001)


def test_a_band_the_eligible_ages_cut_is_shared_by_the_population_at_each_age():
    # Maidstone aged 18 and over: the band 16-19 holds ages 16 to 19; TS007 says how many
    # of them are 18 or 19, and that share of each group's 16-19 count is counted.
    t = shipped("ethnic_group_by_age")
    t = t[t["geography_code"] == MAIDSTONE]
    ages = cells("ts007")
    n = {a: ages[f"Aged {a} years"] for a in (16, 17, 18, 19)}
    part = (n[18] + n[19]) / sum(n.values())
    whole = t[~t["age_band"].isin(["0-15", "16-19"])].groupby("category")["count"].sum()
    cut = t[t["age_band"] == "16-19"].set_index("category")["count"]
    want = whole + part * cut
    b = bl.baseline("Maidstone", "ethnicity", ages=AgeBand(18, None))
    got = b.counts.set_index("category")
    for group, value in want.items():
        assert got.loc[group, "share"] == pytest.approx(value / want.sum(), abs=1e-12), group
        assert got.loc[group, "count"] == round(value)
    assert "16-19" in b.age_note and "its mix is used" in b.age_note


def test_spreading_a_band_keeps_its_mix_and_follows_the_population():
    # A band 16-19 of 100 A and 50 B, with 10, 20, 30, 40 people aged 16, 17, 18, 19:
    # A = 10, 20, 30, 40 and B = 5, 10, 15, 20.
    banded = pd.DataFrame({"A": [100.0], "B": [50.0]}, index=["16-19"])
    population = pd.Series(0.0, index=ac.AGES)
    population.loc[16:19] = [10, 20, 30, 40]
    got = ac.spread(banded, population)
    assert got.loc[16:19, "A"].tolist() == [10, 20, 30, 40]
    assert got.loc[16:19, "B"].tolist() == [5, 10, 15, 20]
    assert got.drop(index=range(16, 20)).to_numpy().sum() == 0


def test_partnership_for_65_and_over_splits_separated_from_divorced_by_the_areas_ratio():
    p = shipped("legal_partnership_by_age")
    older = ["65-69", "70-74", "75-79", "80-84", "85+"]
    p = p[(p["geography_code"] == MAIDSTONE) & p["age_band"].isin(older)]
    by_status = p.groupby("category")["count"].sum()
    assert by_status.sum() == 33_515  # SOURCES.md: Maidstone 65+ 33,515
    ts002 = cells("ts002")
    prefix = "Separated, but still legally married or still legally in a civil partnership: "
    sep = ts002[prefix + "Separated, but still married"] + ts002[
        prefix + "Separated, but still in a registered civil partnership"]
    div = ts002["Divorced or civil partnership dissolved: Divorced"] + ts002[
        "Divorced or civil partnership dissolved: Formerly in a civil partnership now legally "
        "dissolved"]
    both = by_status["Separated, divorced or civil partnership dissolved"]
    b = bl.baseline("Maidstone", "marriage_civil_partnership", ages=AgeBand(65, None))
    share = b.counts.set_index("category")["share"]
    assert share[SEPARATED] == pytest.approx(both * sep / (sep + div) / 33515, abs=1e-12)
    assert share[DIVORCED] == pytest.approx(both * div / (sep + div) / 33515, abs=1e-12)
    assert share["Widowed or surviving civil partnership partner"] == pytest.approx(
        by_status["Widowed or surviving civil partnership partner"] / 33515, abs=1e-12)
    assert b.estimated == {SEPARATED, DIVORCED}
    assert "split by Maidstone's own ratio" in b.method


def test_partnership_below_16_was_not_asked():
    young = bl.baseline("Kent", "marriage_civil_partnership", ages=AgeBand(0, 15))
    assert not young.available and "only of people aged 16 and over" in young.reason
    teens = bl.baseline("Kent", "marriage_civil_partnership", ages=AgeBand(14, None))
    assert teens.base == "usual residents aged 16 and over"
    assert "not aged 14 and over" in teens.age_note


@pytest.fixture(scope="module")
def religion():
    return ac.crossing("Maidstone", "religion")


def test_religion_by_age_is_fitted_to_the_areas_own_religion_and_ages(religion):
    ts030 = cells("ts030")
    fitted = religion.counts.sum()
    for category, n in fitted.items():
        assert n == pytest.approx(ts030[category], rel=1e-9), category
    assert religion.unknown.sum() == pytest.approx(ts030["Not answered"], rel=1e-9)
    # Ages: TS007 by single year, 90 and over together, scaled to TS030's total (the two
    # tables were perturbed apart: a few people).
    ts007 = cells("ts007")
    singles = np.zeros(91)
    for label, n in ts007.items():
        if label == "Total":
            continue
        age = 0 if "under 1" in label else int("".join(c for c in label if c.isdigit()))
        singles[min(age, 90)] += n
    total = ts030["Total: All usual residents"]
    assert abs(total - singles.sum()) < 50
    by_age = religion.counts.sum(axis=1) + religion.unknown
    # The fit stops once every margin is within 1e-9 of the total (0.0002 people here).
    assert by_age.to_numpy() == pytest.approx(singles * total / singles.sum(),
                                              abs=1e-9 * total)


def test_religion_by_age_keeps_the_england_and_wales_odds_ratios(religion):
    seed = shipped("religion_by_age_ew").pivot_table(
        index="age_band", columns="category", values="count", aggfunc="sum")
    seed = seed.reindex(index=[str(a) for a in range(90)] + ["90+"])
    fitted = religion.counts.join(religion.unknown.rename("Not answered"))
    ratio = np.log(fitted.to_numpy() / seed[fitted.columns].to_numpy())
    contrast = ratio - ratio.mean(axis=0) - ratio.mean(axis=1, keepdims=True) + ratio.mean()
    assert np.abs(contrast).max() < 1e-6


def test_religion_for_older_people_is_labelled_an_estimate(religion):
    b = bl.baseline("Maidstone", "religion", ages=AgeBand(65, None))
    assert b.estimated == set(b.counts["category"])
    assert b.table == "religion by age (estimated)"
    assert b.unknown_label == "Not answered"
    assert b.unknown == round(religion.unknown.loc[65:].sum())
    shares = b.counts.set_index("category")["share"]
    known = religion.counts.loc[65:].sum()
    assert shares.to_numpy() == pytest.approx((known / known.sum()).to_numpy(), abs=1e-12)
    # Older people are more often Christian than Maidstone as a whole (TS030: 49.2%).
    ts030 = cells("ts030")
    assert ts030["Christian"] / (ts030["Total: All usual residents"]
                                 - ts030["Not answered"]) < 0.55 < shares["Christian"]


def test_detailed_groups_for_older_people_are_scaled_within_their_broad_group():
    # White aged 65+ (32,463) split by the White: Other White share of Maidstone's White
    # people at all ages (TS021).
    ts021 = cells("ts021")
    b = bl.baseline("Maidstone", "ethnicity_detailed", ages=AgeBand(65, None))
    got = b.counts.set_index("category")
    other_white = 32463 * ts021["White: Other White"] / ts021["White"]
    assert got.loc["White: Other White", "share"] == pytest.approx(other_white / 33536,
                                                                   abs=1e-12)
    assert b.estimated == set(got.index)


def test_areas_without_a_published_crossing_fall_back_to_all_ages(tmp_path):
    # An area only a user import knows (a council created in 2023) has no crossing.
    area = Area(code="E06000063", name="Cumberland", type="ltla", types=("ltla",))
    assert ac.crossing(area, "ethnicity", baseline_dir=tmp_path) is None
    assert ac.crossing("Kent", "disability") is None

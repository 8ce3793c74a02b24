"""Census 2021 baselines: areas, every area's counts against the shared ONS files,
age restriction, comparators and imported Nomis tables."""

from __future__ import annotations

import pandas as pd
import pytest

from eqia.agebands import AgeBand, parse_bands
from eqia.census import baselines as bl
from eqia.errors import AreaError, InputError, UsageError
from eqia.settings import characteristics as chars

from .conftest import SHARED_CENSUS

needs_shared = pytest.mark.skipif(
    not (SHARED_CENSUS / "ts007_age_single_year.csv").exists(),
    reason="the shared Census 2021 files are not beside the clone",
)

BROAD = [
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
]


@pytest.fixture(autouse=True)
def no_user_baselines(tmp_path, monkeypatch):
    """Keep a developer's own ~/.config/eqia/baselines out of the tests."""
    monkeypatch.setenv(bl.ENV_BASELINE_DIR, str(tmp_path / "no-user-baselines"))


def shared(name: str) -> pd.DataFrame:
    frame = pd.read_csv(SHARED_CENSUS / name, keep_default_na=False)
    return frame.drop_duplicates(["geography_code", "category"])


def shared_cells(name: str) -> dict[str, pd.Series]:
    return {c: rows.set_index("category")["count"] for c, rows in
            shared(name).groupby("geography_code")}


def counts(b: bl.Baseline) -> dict[str, int]:
    return dict(zip(b.counts["category"], b.counts["count"], strict=True))


# ------------------------------------------------------------------------ areas

@pytest.mark.parametrize(
    ("text", "code", "type_"),
    [
        ("Kent", "E10000016", "utla"),
        ("kent county council", "E10000016", "utla"),
        ("E10000016", "E10000016", "utla"),
        ("e10000016", "E10000016", "utla"),
        ("Maidstone", "E07000110", "ltla"),
        ("Maidstone Borough Council", "E07000110", "ltla"),
        ("Medway", "E06000035", "utla"),
        ("South East", "E12000008", "region"),
        ("East", "E12000006", "region"),
        ("East of England", "E12000006", "region"),
        ("England", "E92000001", "country"),
        ("Wales", "W92000004", "country"),
        ("England and Wales", "K04000001", "england_and_wales"),
        ("Rhondda Cynon Taff", "W06000016", "utla"),
        ("Rhondda Cynon Taf County Borough Council", "W06000016", "utla"),
        ("London", "E12000007", "region"),
        ("City of London", "E09000001", "utla"),
        ("Bristol City Council", "E06000023", "utla"),
        ("Herefordshire Council", "E06000019", "utla"),
        ("Brighton & Hove", "E06000043", "utla"),
        ("Wirral Metropolitan Borough Council", "E08000015", "utla"),
        ("Hull", "E06000010", "utla"),
    ],
)
def test_find_area_by_code_or_name_however_spelt(text, code, type_):
    area = bl.find_area(text)
    assert (area.code, area.type) == (code, type_)


def test_a_unitary_is_one_area_of_both_tiers():
    medway = bl.find_area("Medway")
    assert medway.types == ("ltla", "utla")
    assert medway.kind == "unitary authority (both tiers)"
    assert (medway.region, medway.country) == ("South East", "England")


def test_a_district_knows_its_county_region_and_country():
    area = bl.find_area("Maidstone")
    assert (area.utla, area.region, area.country) == ("Kent", "South East", "England")


def test_an_unknown_area_lists_close_matches():
    with pytest.raises(AreaError) as info:
        bl.find_area("Kentt")
    assert info.value.code == "unknown-area"
    assert any("Kent (E10000016" in d for d in info.value.details)
    assert "eqia baselines list" in info.value.hint


def test_an_ambiguous_area_lists_the_candidates():
    with pytest.raises(AreaError) as info:
        bl.find_area("Sussex")
    assert info.value.code == "ambiguous-area"
    assert [d.split(":")[0] for d in info.value.details] == [
        "Mid Sussex (E07000228)", "East Sussex (E10000011)", "West Sussex (E10000032)",
    ]


def test_no_two_areas_share_a_name_once_council_words_are_dropped():
    areas = bl.list_areas()
    loose = areas.assign(key=areas["name"].map(bl._stripped))
    clashes = loose[loose.duplicated("key", keep=False)]
    # City of London and the London region are told apart by their full names
    assert sorted(clashes["code"]) == ["E09000001", "E12000007"]
    for row in areas.itertuples():
        assert bl.find_area(row.name).code == row.code


def test_list_areas_has_the_331_districts_of_2021():
    ltla = bl.list_areas("ltla")
    assert len(ltla) == 331 and ltla["code"].is_unique
    assert list(ltla.columns) == ["code", "name", "type", "utla", "region", "country"]
    assert ltla.set_index("code").loc["E07000110", ["utla", "region"]].tolist() == [
        "Kent", "South East"]
    assert len(bl.list_areas("utla")) == 174
    everything = bl.list_areas()
    assert everything["code"].is_unique and len(everything) == 367
    assert everything.set_index("code").loc["E06000035", "type"] == "utla"


def test_list_areas_rejects_an_unknown_type():
    with pytest.raises(UsageError):
        bl.list_areas("ward")


# ------------------------------------------------------------------- real counts

@needs_shared
def test_kent_ethnicity_is_the_ons_count_and_adds_up_to_the_ts021_total():
    b = bl.baseline("Kent", "ethnicity")
    assert (b.table, b.base, b.unknown) == ("TS021", "all usual residents", 0)
    assert b.counts["category"].tolist() == BROAD
    assert b.counts["count"].sum() == b.total == 1_576_077
    kent = shared_cells("ts021_ethnic_group.csv")["E10000016"]
    assert counts(b) == {g: int(kent[g]) for g in BROAD}


@pytest.mark.slow
@needs_shared
def test_every_areas_ethnicity_and_religion_agree_with_the_shared_ons_files():
    eth = shared_cells("ts021_ethnic_group.csv")
    rel = shared_cells("ts030_religion.csv")
    labels = {c.label: c.census[0] for c in chars.get("religion").categories}
    for area in bl.list_areas()["code"]:
        area_obj = bl.find_area(area)
        b = bl.baseline(area_obj, "ethnicity")
        # the broad-group rows are ONS's own subtotals; eqia adds up the detailed groups
        assert counts(b) == {g: int(eth[area][g]) for g in BROAD}, area
        assert b.total == eth[area]["Total: All usual residents"]
        r = bl.baseline(area_obj, "religion")
        assert counts(r) == {lab: int(rel[area][c]) for lab, c in labels.items()}, area
        assert r.unknown == rel[area]["Not answered"]
        assert r.total == rel[area]["Total: All usual residents"]


@needs_shared
@pytest.mark.parametrize(
    ("key", "file", "total"),
    [
        ("disability", "ts038_disability.csv", "Total: All usual residents"),
        ("sex", "ts008_sex.csv", "All persons"),
        ("gender_identity", "ts078_gender_identity.csv",
         "Total: All usual residents aged 16 years and over"),
        ("sexual_orientation", "ts077_sexual_orientation.csv",
         "Total: All usual residents aged 16 years and over"),
        ("marriage_civil_partnership", "ts002_legal_partnership_status.csv", "Total"),
        ("carers", "ts039_unpaid_care.csv", "Total: All usual residents aged 5 and over"),
    ],
)
def test_every_table_total_is_the_ons_total_for_a_sample_of_areas(key, file, total):
    cells = shared_cells(file)
    for area in ["E10000016", "E07000110", "E06000035", "E12000008", "W06000016",
                 "E92000001", "K04000001", "E09000001", "E06000053"]:
        b = bl.baseline(area, key)
        assert b.total == cells[area][total], (key, area)
        assert b.known + b.unknown == b.total


@needs_shared
def test_kent_summary_categories_are_the_sums_of_their_census_leaves():
    b = bl.baseline("Kent", "disability")
    kent = shared_cells("ts038_disability.csv")["E10000016"]
    assert counts(b) == {
        "Disabled under the Equality Act": kent["Disabled under the Equality Act"],
        "Not disabled under the Equality Act": kent["Not disabled under the Equality Act"],
    }
    care = bl.baseline("Kent", "carers")
    kc = shared_cells("ts039_unpaid_care.csv")["E10000016"]
    assert counts(care)["Provides unpaid care"] == (
        kc["Provides 19 hours or less unpaid care a week"]
        + kc["Provides 20 to 49 hours unpaid care a week"]
        + kc["Provides 50 or more hours unpaid care a week"]
    )


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("key", ["ethnicity_detailed", "religion", "disability", "sex",
                                 "sexual_orientation", "gender_identity", "carers",
                                 "marriage_civil_partnership"])
def test_counties_regions_and_countries_equal_the_sum_of_their_districts(key):
    """True for every table but TS007, whose higher levels are ONS's own (next test)."""
    ltla = bl.list_areas("ltla")
    by_code = {c: counts(bl.baseline(c, key)) for c in ltla["code"]}
    geos = pd.read_csv(SHARED_CENSUS / "geographies.csv", dtype=str)
    for level in ("utla21_code", "region_code", "country_code"):
        for parent, rows in geos.groupby(level):
            summed = pd.DataFrame([by_code[c] for c in rows["ltla21_code"]]).sum().to_dict()
            assert counts(bl.baseline(parent, key)) == summed, (key, parent)
    summed = pd.DataFrame(list(by_code.values())).sum().to_dict()
    assert counts(bl.baseline("K04000001", key)) == summed


@pytest.mark.slow
@needs_shared
def test_age_at_county_level_is_ons_direct_and_close_to_the_sum_of_districts():
    """SOURCES.md check D1: within 27 (county), 42 (region), 56 (country) people."""
    bands = parse_bands("0-17,18-64,65+")
    geos = pd.read_csv(SHARED_CENSUS / "geographies.csv", dtype=str)
    by_code = {c: counts(bl.baseline(c, "age", bands=bands)) for c in geos["ltla21_code"]}
    for level, tolerance in (("utla21_code", 27), ("region_code", 42), ("country_code", 56)):
        for parent, rows in geos.groupby(level):
            direct = bl.baseline(parent, "age", bands=bands)
            summed = sum(sum(by_code[c].values()) for c in rows["ltla21_code"])
            assert abs(direct.total - summed) <= tolerance, parent


# ------------------------------------------------------------------------ age

@needs_shared
def test_age_bands_come_from_single_years_with_100_and_over_at_the_top():
    b = bl.baseline("Kent", "age", bands=parse_bands("0-17,18-64,65+"))
    kent = shared("ts007_age_single_year.csv").query("geography_code == 'E10000016'")
    single = dict(zip(kent["category"], kent["count"], strict=True))
    ages = {bl.single_age(k): v for k, v in single.items() if k != "Total"}
    assert counts(b) == {
        "0-17": sum(ages[a] for a in range(18)),
        "18-64": sum(ages[a] for a in range(18, 65)),
        "65+": sum(ages[a] for a in range(65, 101)),
    }
    assert b.total == single["Total"] == 1_576_069


def test_age_uses_the_default_bands_when_none_are_given():
    b = bl.baseline("Kent", "age")
    assert b.counts["category"].tolist() == [x.label for x in parse_bands(bl.DEFAULT_BANDS)]


@needs_shared
def test_sex_restricted_to_adults_comes_from_ts009_single_years():
    b = bl.baseline("Maidstone", "sex", ages=AgeBand(18, None))
    rows = shared("ts009_sex_by_single_year_age.csv").query("geography_code == 'E07000110'")
    cells = dict(zip(rows["category"], rows["count"], strict=True))
    expect = {
        sex: sum(v for k, v in cells.items()
                 if k.startswith(f"{sex}; Aged") and "under 1" not in k
                 and bl.single_age(k.split("; ")[1]) >= 18)
        for sex in ("Female", "Male")
    }
    assert counts(b) == expect
    assert (b.table, b.age_restricted, b.age_note) == ("TS009", True, None)
    assert b.base == "usual residents aged 18 and over"


@needs_shared
def test_age_restriction_is_exact_for_age_and_sex():
    adults = bl.baseline("Kent", "age", ages=AgeBand(18, 64),
                         bands=parse_bands("0-17,18-24,25-64,65+"))
    assert adults.counts["category"].tolist() == ["18-24", "25-64"]
    ts007 = shared_cells("ts007_age_single_year.csv")["E10000016"].drop("Total")
    ages = {bl.single_age(k): v for k, v in ts007.items()}
    assert counts(adults) == {"18-24": sum(ages[a] for a in range(18, 25)),
                              "25-64": sum(ages[a] for a in range(25, 65))}
    assert adults.age_restricted and adults.total == sum(ages[a] for a in range(18, 65))
    sex = bl.baseline("Kent", "sex", ages=AgeBand(18, 64))
    ts009 = shared_cells("ts009_sex_by_single_year_age.csv")["E10000016"]
    assert sex.total == sum(v for k, v in ts009.items() if k.startswith(("Female; Aged",
                            "Male; Aged")) and 18 <= bl.single_age(k.split("; ")[1]) <= 64)
    assert abs(sex.total - adults.total) < 50  # TS007 and TS009 differ only by perturbation


def test_characteristics_without_an_age_cross_say_so_plainly():
    disability = bl.baseline("Kent", "disability", ages=AgeBand(18, None))
    assert not disability.age_restricted
    assert disability.age_note == (
        "Disability is not available by age in the reference data: the baseline covers all ages."
    )
    so = bl.baseline("Kent", "sexual_orientation", ages=AgeBand(18, None))
    assert not so.age_restricted
    assert "usual residents aged 16 and over, which is close to but not the same as people " \
           "aged 18 and over" in so.age_note
    exact = bl.baseline("Kent", "sexual_orientation", ages=AgeBand(16, None))
    assert exact.age_restricted and exact.age_note is None
    young = bl.baseline("Kent", "gender_identity", ages=AgeBand(0, 17))
    assert not young.age_restricted and "not people aged 0 to 17" in young.age_note


def test_sex_beyond_90_says_the_census_stops_at_90_and_over():
    b = bl.baseline("Kent", "sex", ages=AgeBand(95, None))
    assert "90 and over" in b.age_note
    assert b.total == bl.baseline("Kent", "sex", ages=AgeBand(90, None)).total


@needs_shared
def test_sex_by_age_bands_add_up_to_the_ts009_total():
    bands = parse_bands("0-4,5-17,18-64,65-89,90+")
    frame = bl.baseline_by_age("Kent", "sex", bands)
    assert list(frame.columns) == ["age_band", "category", "count"]
    assert frame["age_band"].unique().tolist() == [b.label for b in bands]
    assert set(frame["category"]) == {"Female", "Male"}
    total = shared("ts009_sex_by_single_year_age.csv").query(
        "geography_code == 'E10000016' and category == 'All persons; Total'")["count"].item()
    assert frame["count"].sum() == total == 1_576_070


def test_characteristics_the_census_does_not_cross_with_age_have_no_age_breakdown():
    for key in ("disability", "carers", "sexual_orientation", "gender_identity"):
        assert bl.baseline_by_age("Kent", key, parse_bands("0-17,18+")) is None, key
    age = bl.baseline_by_age("Kent", "age", parse_bands("0-17,18+"))
    assert age["age_band"].tolist() == age["category"].tolist() == ["0-17", "18+"]


# -------------------------------------------------------------- categories, gaps

def test_shares_are_of_the_known_and_not_answered_is_reported_apart():
    b = bl.baseline("Kent", "sexual_orientation")
    assert b.unknown > 0 and b.unknown_label == "Not answered"
    assert b.counts["share"].sum() == pytest.approx(1)
    assert b.counts["count"].sum() + b.unknown == b.total
    assert "Not answered" not in b.counts["category"].tolist()


def test_categories_with_no_census_counterpart_are_left_out():
    b = bl.baseline("Kent", "sex")
    assert b.counts["category"].tolist() == ["Female", "Male"]


def test_detailed_ethnicity_has_the_19_categories_in_standard_order():
    b = bl.baseline("Kent", "ethnicity_detailed")
    assert b.counts["category"].tolist() == chars.get("ethnicity").labels
    assert len(b.counts) == 19
    assert b.counts["count"].sum() == bl.baseline("Kent", "ethnicity").total


def test_pregnancy_and_maternity_has_no_census_baseline_and_does_not_fail():
    b = bl.baseline("Kent", "pregnancy_maternity")
    assert not b.available and b.counts.empty
    assert b.reason.startswith("Census 2021 does not measure pregnancy and maternity")


def test_caveats_cover_voluntary_questions_statistics_in_development_and_perturbation():
    gi = " ".join(bl.baseline("Kent", "gender_identity").caveats)
    assert "voluntary question" in gi and "official statistics in development" in gi
    assert "aged 16 and over, not all residents" in gi and "cell key perturbation" in gi
    assert "sums of their districts" in gi  # Kent is a county: its figures are sums
    district = " ".join(bl.baseline("Maidstone", "disability").caveats)
    assert "output-area" in district and "sums of their districts" not in district


def test_areas_reorganised_in_2023_carry_a_boundary_caveat():
    assert any("Cumberland" in c for c in bl.baseline("Carlisle", "religion").caveats)
    assert any("2021 boundaries" in c for c in bl.baseline("North Yorkshire", "sex").caveats)
    assert not any("2021 boundaries" in c for c in bl.baseline("Kent", "sex").caveats)


def test_an_unknown_characteristic_is_a_usage_error_with_a_suggestion():
    with pytest.raises(UsageError) as info:
        bl.baseline("Kent", "religon")
    assert info.value.code == "unknown-characteristic"
    assert info.value.details == ["did you mean religion?"]


def test_the_profile_table_lists_not_answered_after_the_categories():
    frame = bl.profile_table(bl.area_profile("Kent", ["religion", "pregnancy_maternity"]))
    assert list(frame.columns) == ["characteristic", "category", "count", "share", "estimated"]
    assert frame["category"].iloc[-1] == "Not answered"
    assert pd.isna(frame["share"].iloc[-1])
    assert frame["count"].sum() == bl.baseline("Kent", "religion").total


# ---------------------------------------------------------------- comparators

def test_a_comparator_of_counts_becomes_a_baseline(tmp_path):
    path = tmp_path / "eligible.csv"
    path.write_text("category,count\nfemale,600\nMALE,400\nNot stated,50\n")
    b = bl.comparator_from_file(path, "sex")
    assert counts(b) == {"Female": 600, "Male": 400}
    assert b.counts["share"].tolist() == [0.6, 0.4]
    assert (b.unknown, b.total, b.area, b.available) == (50, 1050, None, True)


def test_a_comparator_of_percentages_and_detailed_ethnicity(tmp_path):
    path = tmp_path / "shares.csv"
    path.write_text("category,share\nWhite: Irish,10\nWhite: Other White,40\nAsian, Asian "
                    "British or Asian Welsh: Indian,50\n".replace("Asian, Asian British or "
                    "Asian Welsh: Indian", '"Asian, Asian British or Asian Welsh: Indian"'))
    b = bl.comparator_from_file(path, "ethnicity")
    shares = dict(zip(b.counts["category"], b.counts["share"], strict=True))
    assert shares["White"] == pytest.approx(0.5) and shares[BROAD[0]] == pytest.approx(0.5)
    assert b.counts["count"].isna().all()


def test_a_comparator_with_unknown_categories_lists_them(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("category,count\nFemale,5\nWoman-ish,3\nMale,2\n")
    with pytest.raises(InputError) as info:
        bl.comparator_from_file(path, "sex")
    assert info.value.code == "unknown-category"
    assert info.value.details == ["'Woman-ish'"]
    assert "Female" in info.value.hint and "Male" in info.value.hint


def test_an_age_comparator_uses_band_labels(tmp_path):
    path = tmp_path / "ages.csv"
    path.write_text("category,count\n18 to 64,700\n65 and over,300\n")
    b = bl.comparator_from_file(path, "age")
    assert counts(b) == {"18-64": 700, "65+": 300}


# ------------------------------------------------------------------ Nomis imports

def nomis_file(path, key, codes, suffix="; measures: Value", add=0, names=None):
    """Write a Nomis bulk-layout file from the reference data (plus ``add`` per cell)."""
    info = bl.metadata().tables[key]
    prefix = {"ts021": "Ethnic group", "ts030": "Religion", "ts008": "Sex"}[key]
    rows = []
    for code in codes:
        cells = bl._shipped_table(key)[code]
        row = {"date": 2021, "geography": (names or {}).get(code, code), "geography code": code}
        for cat in [info.total, *info.leaves]:
            if cat == "Does not apply":
                continue
            row[f"{prefix}: {cat}{suffix}"] = int(cells[cat]) + add
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_clean_labels_strips_nomis_prefixes_and_measures():
    assert bl.clean_labels([
        "Sex: All persons; Age: Total; measures: Value",
        "Sex: Female; Age: Aged 30 years; measures: Value",
    ]) == ["All persons; Total", "Female; Aged 30 years"]
    assert bl.clean_labels(["Ethnic group: Total: All usual residents",
                            "Ethnic group: White: Irish"]) == [
        "Total: All usual residents", "White: Irish"]


def test_an_imported_nomis_table_is_preferred_for_its_areas(tmp_path):
    user = tmp_path / "baselines"
    f = nomis_file(tmp_path / "census2021-ts030-ltla.csv", "ts030", ["E07000110"], add=1)
    [result] = bl.import_nomis([f], baseline_dir=user)
    assert (result.table, result.areas, result.new_areas) == ("TS030", 1, [])
    shipped = bl.baseline("Maidstone", "religion")
    mine = bl.baseline("Maidstone", "religion", baseline_dir=user)
    assert (mine.counts["count"] - shipped.counts["count"]).tolist() == [1] * 8
    assert mine.unknown == shipped.unknown + 1
    assert "census2021-ts030-ltla.csv" in mine.source and shipped.source == bl.SHIPPED_SOURCE
    other = bl.baseline("Ashford", "religion", baseline_dir=user)
    assert other.source == bl.SHIPPED_SOURCE


def test_the_user_directory_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(bl.ENV_BASELINE_DIR, str(tmp_path / "env"))
    f = nomis_file(tmp_path / "census2021-ts021-ltla.csv", "ts021", ["E07000110"], suffix="",
                   add=2)
    bl.import_nomis([f])
    assert (tmp_path / "env" / "ts021.parquet").is_file()
    assert bl.baseline("Maidstone", "ethnicity").total == (
        bl.baseline("Maidstone", "ethnicity", baseline_dir=tmp_path / "none").total + 19 * 2)


def test_an_import_can_add_areas_created_after_2021(tmp_path):
    user = tmp_path / "b"
    f = nomis_file(tmp_path / "census2021-ts008-ltla.csv", "ts008", ["E07000026"],
                   names={"E07000026": "Allerdale"})
    frame = pd.read_csv(f)
    frame.loc[0, ["geography", "geography code"]] = ["Cumberland", "E06000063"]
    frame.to_csv(f, index=False)
    [result] = bl.import_nomis([f], baseline_dir=user)
    assert result.new_areas == ["E06000063"]
    area = bl.find_area("Cumberland", baseline_dir=user)
    assert (area.code, area.types) == ("E06000063", ("ltla", "utla"))
    assert bl.baseline(area, "sex", baseline_dir=user).total == (
        bl.baseline("Allerdale", "sex").total)


def test_a_file_that_is_not_a_census_table_is_refused_and_nothing_is_written(tmp_path):
    user = tmp_path / "b"
    good = nomis_file(tmp_path / "census2021-ts030-ltla.csv", "ts030", ["E07000110"])
    bad = tmp_path / "extract.csv"
    bad.write_text("date,geography,geography code,Colour: Red\n2021,X,E07000110,4\n")
    with pytest.raises(InputError) as info:
        bl.import_nomis([good, bad], baseline_dir=user)
    assert info.value.code == "not-a-census-table"
    assert not user.exists()
    no_ids = tmp_path / "people.csv"
    no_ids.write_text("name,age\nA,3\n")
    with pytest.raises(InputError, match="no 'date', 'geography', 'geography code' column"):
        bl.import_nomis([no_ids], baseline_dir=user)


def test_a_nomis_file_of_a_table_eqia_does_not_use_is_refused(tmp_path):
    f = tmp_path / "census2021-ts001-ltla.csv"
    f.write_text("date,geography,geography code,Residence type: Total\n2021,X,E07000110,4\n")
    with pytest.raises(InputError, match="TS001 is not one of the census tables eqia uses"):
        bl.import_nomis([f], baseline_dir=tmp_path / "b")

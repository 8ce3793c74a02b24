"""The shipped reference_data: complete, compact, and the ONS counts unchanged."""

from __future__ import annotations

import importlib.util
from importlib.resources import files

import pandas as pd
import pytest
import yaml

from .conftest import ROOT, SHARED_CENSUS

REF = files("eqia") / "reference_data"
TABLES = ["ts002", "ts007", "ts008", "ts009", "ts021", "ts030", "ts038", "ts039", "ts077",
          "ts078"]
needs_shared = pytest.mark.skipif(
    not (SHARED_CENSUS / "ts007_age_single_year.csv").exists(),
    reason="the shared Census 2021 files are not beside the clone",
)


def _metadata() -> dict:
    return yaml.safe_load((REF / "metadata.yaml").read_text(encoding="utf-8"))


def _table(key: str) -> pd.DataFrame:
    with (REF / f"{key}.parquet").open("rb") as fh:
        return pd.read_parquet(fh).astype({"geography_code": str, "category": str})


def test_every_table_is_described_in_metadata_with_its_base_and_caveats():
    meta = _metadata()["tables"]
    assert sorted(meta) == TABLES
    for key, info in meta.items():
        assert info["id"] == key.upper()
        assert {"title", "base", "release", "source", "caveats", "leaves", "total", "file"} <= set(
            info
        )
        assert info["caveats"], key
        assert (REF / info["file"]).is_file()


def test_reference_data_stays_compact():
    size = sum(p.stat().st_size for p in (ROOT / "reference_data").iterdir())
    assert size < 3_000_000


def test_areas_cover_every_2021_geography():
    with (REF / "areas.csv").open("r", encoding="utf-8") as fh:
        areas = pd.read_csv(fh, dtype=str, keep_default_na=False)
    assert areas["type"].value_counts().to_dict() == {
        "ltla": 331, "utla": 174, "region": 10, "country": 2, "england_and_wales": 1,
    }
    assert not areas.duplicated(["code", "type"]).any()


@pytest.mark.parametrize("key", TABLES)
def test_leaves_add_up_to_the_total_for_every_geography(key):
    info = _metadata()["tables"][key]
    wide = _table(key).pivot_table(index="geography_code", columns="category", values="count",
                                   aggfunc="sum", observed=True)
    assert len(wide) == 367  # 518 geographies; unitaries and Wales once
    assert (wide[info["leaves"]].sum(axis=1) == wide[info["total"]]).all()


@needs_shared
@pytest.mark.parametrize("key", TABLES)
def test_every_count_is_the_shared_ons_count_unchanged(key):
    source = _metadata()["tables"][key]
    shared_file = {
        "ts002": "ts002_legal_partnership_status.csv", "ts007": "ts007_age_single_year.csv",
        "ts008": "ts008_sex.csv", "ts009": "ts009_sex_by_single_year_age.csv",
        "ts021": "ts021_ethnic_group.csv", "ts030": "ts030_religion.csv",
        "ts038": "ts038_disability.csv", "ts039": "ts039_unpaid_care.csv",
        "ts077": "ts077_sexual_orientation.csv", "ts078": "ts078_gender_identity.csv",
    }[key]
    shared = pd.read_csv(SHARED_CENSUS / shared_file, keep_default_na=False)
    # a unitary is listed as ltla and utla with the same counts: one copy is enough
    shared = shared.drop_duplicates(["geography_code", "category"])
    ours = _table(key).drop_duplicates(["geography_code", "category"])
    cols = ["geography_code", "category", "count"]
    pd.testing.assert_frame_equal(
        ours[cols].sort_values(cols[:2]).reset_index(drop=True),
        shared[cols].sort_values(cols[:2]).reset_index(drop=True),
        check_dtype=False,
    )
    assert source["total"] in set(shared["category"])


@pytest.mark.slow
@needs_shared
def test_the_build_script_reproduces_the_committed_files(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "build_reference_data", ROOT / "scripts" / "build_reference_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--source", str(SHARED_CENSUS), "--out", str(tmp_path)]) == 0
    for name in ("metadata.yaml", "areas.csv", "geographies.csv"):
        assert (tmp_path / name).read_text() == (REF / name).read_text(), name
    for key in ("ts021", "ts077"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{key}.parquet"), _table(key),
                                      check_dtype=False, check_categorical=False)
    for key in ("ethnic_group_by_age", "legal_partnership_by_age", "religion_by_age_ew"):
        built = pd.read_parquet(tmp_path / f"{key}.parquet").astype(
            {"geography_code": str, "age_band": str, "category": str})
        pd.testing.assert_frame_equal(built, _crossing(key), check_dtype=False)


# --- Age crossings ------------------------------------------------------------------------

CROSSINGS = ["ethnic_group_by_age", "legal_partnership_by_age", "religion_by_age_ew"]
AGE_CROSSED = SHARED_CENSUS / "age_crossed"


def _crossing(key: str) -> pd.DataFrame:
    with (REF / f"{key}.parquet").open("rb") as fh:
        return pd.read_parquet(fh).astype({"geography_code": str, "age_band": str,
                                           "category": str})


def test_every_age_crossing_is_described_with_where_it_was_copied_from():
    meta = _metadata()["age_crossings"]
    assert sorted(meta) == CROSSINGS
    for key, info in meta.items():
        assert (REF / info["file"]).is_file()
        source = info["source"]
        assert len(source["commit"]) == 40 and "/" in source["repository"] and source["paths"]
        assert info["caveats"] and info["bands"] and info["categories"], key
    partnership = " ".join(meta["legal_partnership_by_age"]["caveats"])
    assert "multiple of 5" in partnership and "suppressed" in partnership
    assert any("perturbation" in c for c in meta["ethnic_group_by_age"]["caveats"])


@pytest.mark.parametrize("key", CROSSINGS)
def test_each_crossing_has_one_cell_per_area_band_and_category(key):
    info = _metadata()["age_crossings"][key]
    t = _crossing(key)
    assert not t.duplicated(["geography_code", "age_band", "category"]).any()
    assert set(t["age_band"]) == set(info["bands"])
    assert set(t["category"]) == set(info["categories"])
    areas = 1 if key.endswith("_ew") else 367
    assert t["geography_code"].nunique() == areas
    assert len(t) == areas * len(info["bands"]) * len(info["categories"])


@pytest.mark.parametrize("key", ["ethnic_group_by_age", "legal_partnership_by_age"])
def test_counties_and_england_and_wales_are_the_sums_of_their_districts(key):
    t = _crossing(key)
    with (REF / "geographies.csv").open("r", encoding="utf-8") as fh:
        geos = pd.read_csv(fh, dtype=str)
    kent = set(geos.loc[geos["utla21_code"] == "E10000016", "ltla21_code"])
    assert len(kent) == 12
    cells = ["age_band", "category"]
    by_district = t[t["geography_code"].isin(kent)].groupby(cells)["count"].sum()
    county = t[t["geography_code"] == "E10000016"].set_index(cells)["count"]
    assert by_district.sort_index().tolist() == county.sort_index().tolist()
    districts = t[t["geography_code"].isin(set(geos["ltla21_code"]))]["count"].sum()
    assert t[t["geography_code"] == "K04000001"]["count"].sum() == districts


@needs_shared
def test_maidstone_65_and_over_by_ethnic_group_is_the_published_count():
    # SOURCES.md: Maidstone (E07000110) aged 65 and over: White 32,463, Asian 627,
    # Black 124, Mixed 121, Other 201; England and Wales 59,597,690; Kent 1,576,156.
    derived = pd.read_csv(AGE_CROSSED / "derived" / "ltla21_ethnic5_age13_sex_counts.csv")
    maid = derived[(derived["ltla21_code"] == "E07000110") & (derived["age_band"] == "65-99")]
    assert maid.groupby("ethnic_group_5")["count"].sum().to_dict() == {
        "White": 32463, "Asian": 627, "Black": 124, "Mixed": 121, "Other": 201}
    t = _crossing("ethnic_group_by_age")
    ours = t[(t["geography_code"] == "E07000110") & (t["age_band"] == "65+")]
    assert ours.set_index("category")["count"].to_dict() == {
        "White": 32463, "Asian, Asian British or Asian Welsh": 627,
        "Black, Black British, Black Welsh, Caribbean or African": 124,
        "Mixed or Multiple ethnic groups": 121, "Other ethnic group": 201}
    assert t[t["geography_code"] == "K04000001"]["count"].sum() == 59_597_690
    assert t[t["geography_code"] == "E10000016"]["count"].sum() == 1_576_156
    # Every district cell is the shared district sum (over sex) unchanged.
    shared = derived.groupby(["ltla21_code", "age_band", "ethnic_group_5"])["count"].sum()
    districts = t[t["geography_code"].isin(set(derived["ltla21_code"]))]
    assert districts["count"].sum() == shared.sum()
    assert len(districts) == len(shared)


@needs_shared
def test_partnership_and_religion_totals_are_those_in_sources_md():
    # SOURCES.md: partnership England and Wales 16+ 48,553,980; Maidstone 65+ 33,515.
    # Religion England and Wales 59,597,533; aged 65 and over 11,063,361.
    p = _crossing("legal_partnership_by_age")
    assert p[p["geography_code"] == "K04000001"]["count"].sum() == 48_553_980
    older = ["65-69", "70-74", "75-79", "80-84", "85+"]
    maid = p[(p["geography_code"] == "E07000110") & p["age_band"].isin(older)]
    assert maid["count"].sum() == 33_515
    f = pd.read_csv(AGE_CROSSED / "ltla_legal_partnership_by_age_by_sex" / "f_legal_partnership.csv")
    m = pd.read_csv(AGE_CROSSED / "ltla_legal_partnership_by_age_by_sex" / "m_legal_partnership.csv")
    cols = ["never_partnered", "partnered", "widowed", "divorced_separated"]
    assert (f[cols].to_numpy() % 5 == 0).all()  # the rounding the caveat names
    widowed_85 = int(pd.concat([f, m]).query(
        "lad_code == 'E07000110' and age_bracket == '85-99'")["widowed"].sum())
    ours = p[(p["geography_code"] == "E07000110") & (p["age_band"] == "85+")
             & (p["category"] == "Widowed or surviving civil partnership partner")]
    assert int(ours["count"].iloc[0]) == widowed_85
    r = _crossing("religion_by_age_ew")
    assert r["count"].sum() == 59_597_533
    assert r[r["age_band"].map(lambda b: b == "90+" or int(b) >= 65)]["count"].sum() == 11_063_361

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

"""The installed tool works from what the wheel ships: no ``../shared``, no checkout paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT, check=True, capture_output=True,
    )
    (whl,) = out.glob("eqia-*.whl")
    return whl


def test_wheel_carries_every_reference_table_and_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.name for p in (ROOT / "reference_data").iterdir()}
    assert {f"eqia/reference_data/{n}" for n in shipped} <= names
    templates = {p.name for p in (ROOT / "templates").iterdir()}
    assert {f"eqia/templates/{n}" for n in templates} <= names
    assert "eqia/data/characteristics.yaml" in names


@pytest.mark.slow
def test_the_unpacked_wheel_answers_from_its_own_files(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Run from an empty folder, with the unpacked wheel first on the path, so that neither the
    # checkout nor ../shared can be reached.
    code = (
        "import json, sys, eqia\n"
        "from eqia.census.baselines import baseline\n"
        "b = baseline('Kent', 'ethnicity')\n"
        "print(json.dumps({'file': eqia.__file__, 'total': int(b.counts['count'].sum())}))\n"
    )
    run = tmp_path / "elsewhere"
    run.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], cwd=run, env=env, check=True,
                          capture_output=True, text=True)
    got = json.loads(done.stdout)
    assert Path(got["file"]).is_relative_to(site)
    # Kent's total residents, read straight from the committed TS021 table (ethnicity was
    # asked of everyone, so the five broad groups add up to it).
    t = pd.read_parquet(ROOT / "reference_data" / "ts021.parquet")
    kent = t[(t.geography_code == "E10000016") & t.category.str.startswith("Total")]
    assert got["total"] == int(kent["count"].sum()) > 1_500_000

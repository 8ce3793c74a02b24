"""The installed tool works from what the sdist and wheel ship: no ``../shared``, no checkout
paths; and its output never fails on a console or file that is not UTF-8."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _kent_residents() -> int:
    """Kent's total residents, read straight from the committed TS021 table."""
    t = pd.read_parquet(ROOT / "reference_data" / "ts021.parquet")
    kent = t[(t.geography_code == "E10000016") & t.category.str.startswith("Total")]
    return int(kent["count"].sum())


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
    # Ethnicity was asked of everyone, so the five broad groups add up to TS021's total.
    assert got["total"] == _kent_residents() > 1_500_000


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """What ``python -m build`` makes: the sdist, then the wheel built from that sdist (so
    a file the sdist leaves out is missing from the wheel too)."""
    out = tmp_path_factory.mktemp("built")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    (sdist,) = out.glob("eqia-*.tar.gz")
    (whl,) = out.glob("eqia-*.whl")
    return {"sdist": sdist, "wheel": whl}


@pytest.mark.slow
def test_the_sdist_carries_census_data_templates_and_type_marker(built):
    names = {n.split("/", 1)[1] for n in tarfile.open(built["sdist"]).getnames() if "/" in n}
    shipped = {f"src/eqia/reference_data/{p.name}" for p in (ROOT / "reference_data").iterdir()}
    templates = {f"src/eqia/templates/{p.name}" for p in (ROOT / "templates").iterdir()}
    assert shipped | templates | {"src/eqia/py.typed", "src/eqia/__main__.py"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("artifact", ["sdist", "wheel"])
def test_a_fresh_install_answers_from_an_empty_folder(built, artifact, tmp_path):
    """Installed into a new venv, eqia finds its census data with nothing else around.

    No network: the venv borrows the third-party packages of the environment running the
    tests (listed in a .pth file, which does not run that environment's editable eqia), and
    pip installs eqia alone, building the sdist with that environment's hatchling."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    venv_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip()
    Path(venv_site, "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", "--no-build-isolation", str(built[artifact])],
                   check=True, capture_output=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    eqia = venv / ("Scripts/eqia.exe" if os.name == "nt" else "bin/eqia")
    shown = subprocess.run([str(eqia), "baselines", "show", "Kent"], cwd=empty, check=True,
                           capture_output=True, text=True, encoding="utf-8")
    assert f"all usual residents, {_kent_residents():,} people" in shown.stdout
    where = subprocess.run(
        [str(python), "-c", "import eqia, pathlib; p = pathlib.Path(eqia.__file__).parent; "
         "print(p); print((p / 'py.typed').is_file())"],
        cwd=empty, check=True, capture_output=True, text=True).stdout.split()
    assert Path(where[0]).is_relative_to(Path(venv_site)) and where[1] == "True"
    assert list(empty.iterdir()) == []


@pytest.mark.slow
def test_symbols_fall_back_to_plain_text_on_a_cp1252_stdout(tmp_path):
    """Windows writes a redirected stdout (and many consoles) in cp1252, which has no ▼ or ▲:
    ``python -m eqia compare ... > out.txt`` writes 'v UNDER' / '^ OVER' instead of failing."""
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    done = subprocess.run(
        [sys.executable, "-m", "eqia", "compare", str(EXAMPLES / "mh_support_extract.csv"),
         "--map", str(EXAMPLES / "mh_support_mapping.yaml"), "--area", "Kent", "--ages", "18-",
         "--as-of", "2026-03-31"],
        cwd=tmp_path, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode("cp1252")
    text = done.stdout.decode("cp1252")  # strict: every byte is cp1252
    assert "v UNDER" in text and "^ OVER" in text
    assert "?" not in text  # no symbol went unrecognised

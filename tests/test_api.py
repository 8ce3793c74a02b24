"""The Python functions for notebooks (docs/api.md): the same numbers as the commands,
explicit dates, the docs' examples run as written."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import eqia
from eqia.cli import app
from eqia.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
EXTRACT = ROOT / "examples" / "mh_support_extract.csv"
MAPPING = ROOT / "examples" / "mh_support_mapping.yaml"


def test_import_eqia_loads_no_pandas():
    code = "import sys, eqia; print('pandas' in sys.modules, sorted(eqia.__all__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("False")
    for name in ("profile_frame", "profile_file", "compare", "screen", "audit",
                 "annual_report"):
        assert name in out


#: What the command line imports only in the commands that need it (issue 18: ``eqia
#: --help`` under 0.15 s). Each would add 0.05-0.3 s to every command.
HEAVY = ("pandas", "numpy", "pyarrow", "scipy", "duckdb", "matplotlib", "docx", "docxtpl",
         "openpyxl", "jinja2", "sqlglot", "statsmodels")


@pytest.mark.parametrize("args", [["--help"], ["audit", "--help"], ["profile", "--help"]])
def test_the_command_line_starts_without_the_heavy_libraries(args):
    """``python -X importtime`` lists every module a run imports: none of HEAVY for the
    help, which registers every command."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "eqia", *args],
                          capture_output=True, text=True, check=True)
    assert "Usage" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "eqia" in imported
    assert sorted(imported & set(HEAVY)) == []


def test_no_function_shadows_a_module():
    import importlib.util

    for name in eqia.__all__:
        assert importlib.util.find_spec(f"eqia.{name}") is None, name


def test_profile_frame_counts_every_row_as_the_file_does():
    df = pd.read_csv(EXTRACT, dtype=str, keep_default_na=False)
    from_frame = eqia.profile_frame(df, MAPPING, as_of="2026-03-31")
    from_file = eqia.profile_file(EXTRACT, MAPPING, as_of=dt.date(2026, 3, 31))
    assert from_frame.rows == from_file.rows == len(df)
    pd.testing.assert_frame_equal(from_frame.counts, from_file.counts)


def test_profile_frame_reads_typed_values_as_an_export_would():
    # Codes with a gap are floats in pandas (1.0, 2.0, NaN); dates are datetimes.
    df = pd.DataFrame({
        "Sex": [1.0, 2.0, None, 2.0, 1.0],
        "Date of birth": pd.to_datetime(["1950-01-01", "1980-06-30", "2001-02-03", None,
                                         "1940-12-31"]),
    })
    mapping = {"values": {"sex": {"1": "Male", "2": "Female"}}}
    import yaml

    path = Path(pytest.importorskip("tempfile").mkdtemp()) / "map.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    p = eqia.profile_frame(df, path, as_of="2026-03-31")
    sex = p.counts[p.counts["characteristic"] == "sex"].set_index("category")["count"]
    # By hand: two 1s, two 2s, one blank.
    assert sex.get("Male") == 2 and sex.get("Female") == 2
    age = p.counts[(p.counts["characteristic"] == "age") & (p.counts["kind"] == "category")]
    # 1950-01-01 and 1940-12-31 are 76 and 85 on 2026-03-31; 1980-06-30 is 45; 2001 is 25.
    assert age.set_index("category")["count"].to_dict() == {
        **{c: 0 for c in age["category"]}, "75-84": 1, "85+": 1, "45-54": 1, "25-34": 1}


def test_as_of_is_required_and_checked():
    df = pd.DataFrame({"Sex": ["Male"]})
    with pytest.raises(TypeError):
        eqia.profile_frame(df)  # type: ignore[call-arg]
    with pytest.raises(UsageError) as err:
        eqia.profile_frame(df, as_of="31/03/2026")
    assert err.value.code == "bad-date"


@pytest.mark.slow
def test_compare_gives_the_numbers_the_command_prints(tmp_path):
    profile = eqia.profile_file(EXTRACT, MAPPING, as_of="2026-03-31")
    table = eqia.compare(profile, "Kent", ages="18-").table
    result = CliRunner().invoke(app, [
        "compare", str(EXTRACT), "--map", str(MAPPING), "--area", "Kent", "--ages", "18-",
        "--as-of", "2026-03-31", "--format", "csv", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(next(tmp_path.glob("*.csv")), keep_default_na=False, na_values=[""])
    assert len(written) == len(table)
    # Row for row, in the same order: the command writes the function's table.
    for col in ("characteristic", "category", "flag"):
        assert list(written[col].fillna("")) == list(table[col].fillna("")), col
    for col in ("service_count", "expected", "ratio", "p_value"):
        pd.testing.assert_series_equal(table[col].astype(float).reset_index(drop=True),
                                       written[col].astype(float), check_names=False,
                                       rtol=1e-12)


def _blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_blocks(ROOT / "docs" / "api.md"))))
def test_docs_api_examples_run(index, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exec(compile(_blocks(ROOT / "docs" / "api.md")[index], f"docs/api.md#{index}", "exec"), {})
    assert capsys.readouterr().out.strip()


@pytest.mark.slow
def test_screen_writes_what_the_command_writes(tmp_path):
    screening = eqia.screen(ROOT / "examples" / "mh_support_proposal.yaml", out=tmp_path / "api",
                            formats=("md",), today="2026-04-01")
    written = list((tmp_path / "api").glob("*.md"))
    assert len(written) == 1
    grid = {row["label"]: row["rating"]["value"] for row in screening.context["grid"]}
    text = written[0].read_text(encoding="utf-8")
    for label, rating in grid.items():
        assert label in text and rating in text
    json.dumps(screening.context, default=str)  # plain data all through

"""eqia profile from the command line: formats, and a clear message for each bad input."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from .conftest import EXAMPLE_EXTRACT, EXAMPLE_MAPPING


def test_csv_output_has_exactly_the_documented_columns(cli):
    r = cli("profile", EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING, "--as-of", "2026-03-31",
            "--format", "csv")
    assert r.exit_code == 0, r.output
    df = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False)
    assert list(df.columns) == ["area", "service", "period", "characteristic", "category",
                                "kind", "count", "share_of_known"]
    # No area for a profile; the service is the file's name, the period the --as-of date.
    assert set(zip(df["area"], df["service"], df["period"], strict=True)) == \
        {("", "mh_support_extract", "2026-03-31")}
    assert set(df["kind"]) == {"category", "unknown", "invalid"}
    assert (df.loc[df["kind"] != "category", "share_of_known"] == "").all()
    sex = df[df["characteristic"] == "sex"]
    assert sex["count"].sum() == 3012


def test_json_output_reports_not_collected_separately_from_unknown(cli):
    r = cli("profile", EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING, "--as-of", "2026-03-31",
            "-f", "json")
    assert r.exit_code == 0
    body = json.loads(r.stdout)["characteristics"]
    assert body["pregnancy_maternity"] == {"status": "not collected"}
    assert body["religion"]["unknown"]["blank"] > 0


def test_table_output_shows_the_reconciliation_and_what_is_not_collected(cli):
    r = cli("profile", EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING, "--as-of", "2026-03-31")
    assert r.exit_code == 0
    assert "3,012 rows = 2,738 in categories + 271 unknown + 3 invalid: reconciles" in r.stdout
    assert "Not collected" in r.stdout and "Pregnancy and maternity" in r.stdout


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


BAD_INPUTS = [
    # (file name, content or None for missing, extra args, code, words that must appear)
    ("missing.csv", None, [], "missing-file", ["does not exist", "missing.csv"]),
    ("extract.pdf", "%PDF-1.4", [], "unsupported-format", ["'.pdf'", "CSV (.csv), Excel"]),
    ("empty.csv", "", [], "empty-file", ["empty"]),
    ("header.csv", "Ethnicity,Gender\n", [], "no-rows", ["header but no rows", "Ethnicity, Gender"]),
    ("nochar.csv", "Colour,Shoe size\nred,9\n", [], "no-characteristics",
     ["Columns found: Colour, Shoe size", "--map", "ethnicity: <column name>"]),
    ("neg.csv", "characteristic,category,count\nSex,F,10\nSex,M,-2\n", [], "bad-count",
     ["row 3", "column 'count'", "value '-2'", "whole number"]),
    ("frac.csv", "characteristic,category,count\nSex,F,2.5\n", [], "bad-count", ["row 2", "'2.5'"]),
    ("dups.csv", "Client ID,Gender\nA1,F\nA2,M\nA1,F\n", [], "duplicate-ids",
     ["1 row repeats a person ID", "row 4", "--allow-duplicates"]),
    ("unknownchar.csv", "characteristic,category,count\nShoe size,9,3\n", [],
     "unknown-characteristic", ["row 2", "Shoe size"]),
]


@pytest.mark.parametrize("name,content,args,code,words", BAD_INPUTS, ids=[b[3] for b in BAD_INPUTS])
def test_bad_input_gets_one_clear_paragraph_and_exit_code_2(cli, tmp_path, name, content, args,
                                                           code, words):
    path = tmp_path / name if content is None else write(tmp_path, name, content)
    r = cli("profile", path, *args)
    assert r.exit_code == 2
    assert f"[{code}]" in r.stderr
    for w in words:
        assert w in r.stderr
    assert "Traceback" not in r.output


def test_mapping_file_that_is_not_yaml(cli, tmp_path):
    m = write(tmp_path, "map.yaml", "columns:\n  sex: Gender\n bad: [\n")
    r = cli("profile", EXAMPLE_EXTRACT, "--map", m)
    assert r.exit_code == 2
    # " bad:" on line 3 is indented less than the "sex:" above it.
    assert "[invalid-yaml]" in r.stderr and "map.yaml" in r.stderr and "line 3" in r.stderr


def test_mapping_file_naming_a_column_that_is_not_there(cli, tmp_path):
    m = write(tmp_path, "map.yaml", "columns:\n  ethnicity: Ethnic Origin\n")
    r = cli("profile", EXAMPLE_EXTRACT, "--map", m)
    assert r.exit_code == 2
    assert "[missing-column]" in r.stderr
    assert "column 'Ethnic Origin'" in r.stderr
    assert "Columns in mh_support_extract.csv: Client ID, Date of Birth" in r.stderr


def test_mapping_to_a_category_that_does_not_exist(cli, tmp_path):
    m = write(tmp_path, "map.yaml", "values:\n  ethnicity:\n    W9: Martian\n")
    r = cli("profile", EXAMPLE_EXTRACT, "--map", m)
    assert r.exit_code == 2
    assert "'Martian', which is not a standard category" in r.stderr


def test_duplicates_can_be_allowed_and_are_then_reported(cli, tmp_path):
    f = write(tmp_path, "dups.csv", "Client ID,Gender\nA1,F\nA2,M\nA1,F\n")
    r = cli("profile", f, "--allow-duplicates")
    assert r.exit_code == 0
    assert "1 row repeats a person ID" in r.stdout


def test_a_bad_as_of_date_is_a_usage_error(cli):
    r = cli("profile", EXAMPLE_EXTRACT, "--as-of", "31/03/2026")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr


def test_mapping_to_an_unknown_code_makes_it_unknown_not_invalid(cli, tmp_path):
    m = write(tmp_path, "map.yaml", "values:\n  ethnicity:\n    W9: not_stated\n")
    r = cli("profile", EXAMPLE_EXTRACT, "--map", m, "-f", "json", "--as-of", "2026-03-31",
            "--list-invalid-values")
    eth = json.loads(r.stdout)["characteristics"]["ethnicity"]
    # W9 is now "not stated"; XX stays invalid because this mapping does not mention it.
    assert [i["value"] for i in eth["invalid"]] == ["XX"]
    assert eth["unknown"]["not_stated"] == 50 + 3


@pytest.mark.slow
@pytest.mark.parametrize(("args", "code", "out", "err"), [
    (["profile", str(EXAMPLE_EXTRACT), "--map", str(EXAMPLE_MAPPING), "--format", "csv"], 0,
     "characteristic,category,kind,count,share_of_known", ""),
    (["profile", "no-such-extract.csv"], 2, "", "Error [missing-file]"),
    (["audit", "tests/fixtures/audit/current/providers.csv", "--as-of", "2026-03-31",
      "--fail-under", "80"], 1, "Worst gaps to chase", "Below 80%"),
    (["--version"], 0, "eqia 0.1.0", ""),
])
def test_the_installed_command_exits_with_its_code_and_all_its_output(args, code, out, err):
    """``main`` (the ``eqia`` command) ends the process itself, without interpreter teardown:
    the exit code and every line written must survive that."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", "from eqia.cli import main; main()", *args],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr
    assert out in done.stdout and err in done.stderr
    if out.startswith("characteristic,"):  # the whole table, to its last line
        assert len(done.stdout.splitlines()) == len(pd.read_csv(io.StringIO(done.stdout))) + 1
        assert done.stdout.endswith("\n")

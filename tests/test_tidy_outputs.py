"""The tidy outputs for BI tools (docs/outputs.md), one output flag and one --format
vocabulary, and data on stdout with every message on stderr."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from eqia.documents.tidy import TIDY_KEYS

from .conftest import EXAMPLE_EXTRACT, EXAMPLE_MAPPING, EXAMPLES

PROFILE = ("profile", EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING, "--as-of", "2026-03-31")
AUDIT = ("audit", EXAMPLES / "audit" / "2025-26-q4", "--as-of", "2026-03-31")
#: The example extract's rows, and its sex counts (README: 3,012 rows, all with a sex).
ROWS = 3012


def test_profile_csv_parquet_and_json_hold_the_same_tidy_table(cli, tmp_path):
    r = cli(*PROFILE, "-f", "csv", "--service", "Mental health support", "--period", "2025-26")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""  # nothing but the data was asked for
    csv_frame = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False, na_values=[""])
    assert list(csv_frame.columns)[:5] == list(TIDY_KEYS)
    assert set(csv_frame["service"]) == {"Mental health support"}
    assert set(csv_frame["period"]) == {"2025-26"}
    sex = csv_frame[csv_frame["characteristic"] == "sex"]
    assert sex["count"].sum() == ROWS  # every row counted once: category, unknown, invalid

    r = cli(*PROFILE, "-f", "parquet", "-o", tmp_path / "p.parquet", "--period", "2025-26",
            "--service", "Mental health support")
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and f"Wrote {tmp_path / 'p.parquet'}" in r.stderr
    parquet = pd.read_parquet(tmp_path / "p.parquet")
    assert list(parquet.columns) == list(csv_frame.columns)
    assert parquet["count"].dtype.kind == "i"  # whole numbers stay whole numbers
    assert pd.api.types.is_string_dtype(parquet["characteristic"])
    assert parquet["count"].tolist() == csv_frame["count"].tolist()
    # CSV writes shares to 6 places; Parquet keeps them whole.
    pd.testing.assert_series_equal(parquet["share_of_known"], csv_frame["share_of_known"],
                                   check_dtype=False, atol=5e-7)


def test_messages_go_to_stderr_and_data_to_stdout(cli, tmp_path):
    r = cli(*PROFILE, "-f", "csv", "--out", tmp_path / "profile.csv")
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and r.stderr.startswith("Wrote ")
    r = cli(*AUDIT, "-f", "json")
    assert r.exit_code == 0, r.output
    records = json.loads(r.stdout)  # stdout is the JSON and nothing else
    assert {tuple(rec)[:5] for rec in records} == {TIDY_KEYS}
    assert sum(rec["records"] for rec in records if rec["characteristic"] == "sex") == \
        sum(rec["known"] + rec["unknown"] + rec["invalid"]
            for rec in records if rec["characteristic"] == "sex")


def test_audit_writes_parquet_beside_its_files(cli, tmp_path):
    r = cli(*AUDIT, "-f", "parquet", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and "audit.parquet" in r.stderr
    parquet = pd.read_parquet(tmp_path / "audit.parquet")
    csv_frame = pd.read_csv(tmp_path / "audit.csv", keep_default_na=False)
    assert list(parquet.columns) == list(csv_frame.columns)
    assert parquet["records"].tolist() == csv_frame["records"].tolist()
    assert set(parquet["period"]) == {"2026-03-31"}


def test_old_spellings_still_work_with_a_note(cli, tmp_path):
    new = cli(*PROFILE, "-f", "csv", "--out", tmp_path / "new.csv")
    old = cli(*PROFILE, "-f", "csv", "--output", tmp_path / "old.csv")
    assert new.exit_code == old.exit_code == 0, old.output
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    assert "--output is now --out" in old.stderr and "--output" not in new.stderr
    assert "--output" not in cli("profile", "--help").stdout  # hidden


@pytest.mark.slow
def test_compare_csv_redirected_to_a_file_is_clean(tmp_path):
    """The issue's own command, in a shell: `eqia compare x.csv --area Kent -f csv > out.csv`."""
    eqia = Path(sys.executable).with_name("eqia")
    with (tmp_path / "out.csv").open("wb") as out:
        done = subprocess.run(
            [str(eqia), "compare", str(EXAMPLE_EXTRACT), "--map", str(EXAMPLE_MAPPING),
             "--area", "Kent", "--ages", "18-", "--as-of", "2026-03-31", "-f", "csv"],
            stdout=out, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "80"},
            check=False)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, na_values=[""])
    assert list(frame.columns)[:5] == list(TIDY_KEYS)
    white = frame[(frame["characteristic"] == "ethnicity") & (frame["category"] == "White")
                  & ~frame["age_adjusted"]]
    assert white["service_count"].tolist() == [2498]  # README: 2,498 White of 2,738 known


@pytest.mark.slow
def test_compare_parquet_and_json_match_the_csv(cli, tmp_path):
    args = ("compare", EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING, "--area", "Kent",
            "--ages", "18-", "--as-of", "2026-03-31")
    for fmt in ("csv", "parquet", "json"):
        r = cli(*args, "-f", fmt, "-o", tmp_path)
        assert r.exit_code == 0, r.output
        assert r.stdout == "" and f"compare.{fmt}" in r.stderr
    csv_frame = pd.read_csv(tmp_path / "compare.csv", keep_default_na=False, na_values=[""])
    parquet = pd.read_parquet(tmp_path / "compare.parquet")
    records = pd.read_json(tmp_path / "compare.json", orient="records", precise_float=True)
    assert list(parquet.columns) == list(csv_frame.columns) == list(records.columns)
    for col in ("service_count", "ratio", "p_value", "baseline_share"):
        pd.testing.assert_series_equal(parquet[col].astype(float), csv_frame[col].astype(float),
                                       rtol=1e-12)
        pd.testing.assert_series_equal(records[col].astype(float), csv_frame[col].astype(float),
                                       rtol=1e-12)
    assert str(parquet["age_adjusted"].dtype) in ("bool", "boolean")
    assert set(parquet["area"]) == {"Kent"}


def test_profile_json_names_its_service_and_period(cli):
    r = cli(*PROFILE, "-f", "json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert (body["service"], body["period"]) == ("mh_support_extract", "2026-03-31")
    assert body["characteristics"]["sex"]["rows"] == ROWS

"""Record-level data stays out of outputs: person IDs never, invalid values (single
dates of birth, free text) only when asked for, and then whole and apart.

The extract: 60 people with IDs that must never appear anywhere, 19 dates of birth
after the as-of date, 2 impossible dates, 3 long ethnicity labels that differ only
after their 40th character, and one free-text note in the ethnicity column. Each case:
the command, its exit code, and what its outputs hold (counts worked out from the
fixture below, not from eqia).
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from docx import Document
from openpyxl import load_workbook

AS_OF = "2026-03-31"
IDS = [f"PID-SECRET-{i:04d}" for i in range(60)]
FUTURE_DOBS = [f"{d:02d}/0{m}/2027" for d, m in zip(range(1, 20), [1, 2, 3] * 7, strict=False)]
BAD_DATE = "31/02/1980"
PREFIX = "Mixed or Multiple ethnic groups: White and another group, as told on form "
LABELS = [PREFIX + x for x in ("A", "B", "C")]  # one apart from another only at the end
FREE_TEXT = "Lives with Jo Smith at 4 Elm Road, ask her"
RAW = [*IDS, *FUTURE_DOBS, BAD_DATE, *LABELS, FREE_TEXT]  # all record-level data


@pytest.fixture
def extract(tmp_path):
    """IDs in order; people 0-18 born after the as-of date, 19-20 on 31 February, 21-23
    with the long labels, 24 with the free text, the rest ordinary."""
    rows = []
    for i, pid in enumerate(IDS):
        dob = FUTURE_DOBS[i] if i < 19 else BAD_DATE if i < 21 else f"15/06/19{40 + i}"
        eth = LABELS[i - 21] if 21 <= i < 24 else FREE_TEXT if i == 24 else "White British"
        rows.append({"Client ID": pid, "Service": "Day Service", "Date of Birth": dob,
                     "Gender": "Female" if i % 2 else "Male", "Ethnicity": eth})
    folder = tmp_path / "extracts"
    folder.mkdir()
    path = folder / "day.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _all_text(folder, skip: str = "") -> str:
    """Everything a person could read in the output files (but those ending in ``skip``):
    cells, headers, pages, paragraphs."""
    parts = []
    for p in sorted(folder.rglob("*")):
        if skip and p.name.endswith(skip):
            continue
        if p.suffix == ".xlsx":
            wb = load_workbook(p)
            parts += [str(c.value) for ws in wb.worksheets for row in ws.iter_rows()
                      for c in row if c.value is not None]
            parts += [ws.oddHeader.center.text or "" for ws in wb.worksheets]
        elif p.suffix == ".docx":
            doc = Document(str(p))
            parts += [para.text for para in doc.paragraphs]
            parts += [c.text for t in doc.tables for r in t.rows for c in r.cells]
        elif p.is_file():
            parts.append(p.read_text(encoding="utf-8"))
    return "\n".join(parts)


def _leaks(text: str, values) -> list[str]:
    return [v for v in values if v in text]


# --- audit ------------------------------------------------------------------------------

def test_audit_outputs_count_invalid_values_by_reason_and_list_none(cli, extract, tmp_path):
    out = tmp_path / "out"
    r = cli("audit", extract.parent, "--out", out, "--as-of", AS_OF)
    assert r.exit_code == 0, r.output
    assert _leaks(_all_text(out) + r.stdout + r.stderr, RAW) == []
    rows = list(load_workbook(out / "audit.xlsx")["Invalid values"].values)
    assert rows == [
        ("service", "characteristic", "reason", "count", "distinct_values"),
        ("Day Service", "age", "date of birth after the as-of date", 19, 19),
        ("Day Service", "age", "not a date", 2, 1),
        ("Day Service", "ethnicity", "not a recognised code", 4, 4),
    ]


def test_audit_lists_invalid_values_whole_and_apart_only_when_asked(cli, extract, tmp_path):
    out = tmp_path / "out"
    r = cli("audit", extract.parent, "--out", out, "--as-of", AS_OF, "--list-invalid-values")
    assert r.exit_code == 0
    assert "personal data, for internal use only" in r.stderr
    wb = load_workbook(out / "audit.xlsx")
    listed = {(v[1], v[2]): v[4] for v in list(wb["Invalid values"].values)[1:]}
    want = {("age", d): 1 for d in FUTURE_DOBS} | {("age", BAD_DATE): 2}
    want |= {("ethnicity", label): 1 for label in [*LABELS, FREE_TEXT]}
    assert listed == want  # three labels alike for 74 characters: three rows, uncut
    assert all(ws.oddHeader.center.text.startswith("INTERNAL") for ws in wb.worksheets)
    # the other files never list them, and no output holds an ID
    assert _leaks(_all_text(out, skip=".xlsx"), RAW) == []
    assert _leaks(_all_text(out) + r.stdout + r.stderr, IDS) == []


# --- profile --------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_profile_files_count_invalid_values_by_reason(cli, extract, tmp_path, fmt):
    path = tmp_path / f"profile.{fmt}"
    r = cli("profile", extract, "--as-of", AS_OF, "--format", fmt, "--out", path)
    assert r.exit_code == 0
    text = path.read_text(encoding="utf-8")
    assert _leaks(text + r.stdout + r.stderr, RAW) == []
    if fmt == "json":
        body = json.loads(text)["characteristics"]
        assert body["age"]["invalid"] == [
            {"reason": "date of birth after the as-of date", "count": 19},
            {"reason": "not a date", "count": 2}]
        assert body["ethnicity"]["invalid"] == [{"reason": "not a recognised code", "count": 4}]


def test_profile_csv_lists_values_whole_and_apart_when_asked(cli, extract):
    r = cli("profile", extract, "--as-of", AS_OF, "--format", "csv", "--list-invalid-values")
    assert r.exit_code == 0 and "personal data" in r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    eth = {row["category"]: int(row["count"]) for row in rows
           if row["characteristic"] == "ethnicity" and row["kind"] == "invalid"}
    assert eth == {label: 1 for label in [*LABELS, FREE_TEXT]}
    assert _leaks(r.stdout + r.stderr, IDS) == []


def test_profile_table_shows_codes_to_fix_but_no_dates_of_birth_or_ids(cli, extract):
    """The officer's terminal shows each invalid code whole (they fix the mapping with
    it); dates of birth only with --list-invalid-values; IDs never."""
    r = cli("profile", extract, "--as-of", AS_OF)
    assert r.exit_code == 0
    screen = " ".join(r.stdout.split())  # the table may wrap long labels
    flat = "".join(r.stdout.split())
    assert all("".join(label.split()) in flat for label in LABELS)
    assert "…" not in r.stdout
    assert _leaks(screen + r.stderr, [*IDS, *FUTURE_DOBS, BAD_DATE]) == []
    assert "Invalid: date of birth after the as-of date" in screen
    r = cli("profile", extract, "--as-of", AS_OF, "--list-invalid-values")
    assert all(d in r.stdout for d in FUTURE_DOBS) and _leaks(r.stdout, IDS) == []


# --- errors ------------------------------------------------------------------------------

def test_a_repeated_id_is_reported_by_row_never_by_the_id(cli, tmp_path):
    f = tmp_path / "dups.csv"
    f.write_text("Client ID,Gender\nPID-SECRET-0001,F\nPID-SECRET-0002,M\nPID-SECRET-0001,F\n",
                 encoding="utf-8")
    r = cli("profile", f)
    assert r.exit_code == 2 and "[duplicate-ids]" in r.stderr and "row 4" in r.stderr
    assert "PID-SECRET" not in r.stderr + r.stdout


def test_an_unexpected_error_never_prints_what_it_was_about(cli, extract, monkeypatch):
    """A bug's message may quote a value from the extract: only its type is shown."""
    def boom(*args, **kwargs):
        raise ValueError("invalid literal for int() with base 10: 'PID-SECRET-0007'")

    monkeypatch.setattr("eqia.analysis.profiling.profile_file", boom)
    r = cli("profile", extract)
    assert r.exit_code == 2 and "ValueError" in r.stderr and "This is a bug" in r.stderr
    assert "PID-SECRET" not in r.stderr + r.stdout


@pytest.mark.slow
def test_compare_outputs_hold_no_record_level_value(cli, extract, tmp_path):
    out = tmp_path / "out"
    for fmt in ("xlsx", "csv"):
        r = cli("compare", extract, "--area", "Kent", "--as-of", AS_OF, "--format", fmt,
                "--out", out)
        assert r.exit_code == 0, r.output
    assert _leaks(_all_text(out) + r.stdout + r.stderr, RAW) == []

"""Hostile text in spreadsheets: nothing from an extract, a file name or a report file
becomes a formula in any .xlsx or CSV eqia writes.

Each case: the text goes in (a service name, an extract value, an organisation's name,
an extract's file name), the command succeeds (exit 0), and reading the outputs back
finds every such text intact, typed as text (never a formula cell) in workbooks, and
behind OWASP's single quote in CSV files; numbers, negative ones too, stay numbers.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from eqia.spreadsheet import csv_value, formula_like, save_workbook

from ..conftest import EXAMPLES

#: Text a spreadsheet would run: the cases of issue 13, a carriage return, an error code.
HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=2"]


def _csv_cell(text: str) -> str:
    if "\r" in text or '"' in text or "," in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _hostile_extract(path) -> None:
    """One person per hostile text: it is their service's name and their ethnicity."""
    lines = ["Person ID,Service,Date of Birth,Gender,Ethnicity"]
    for i, text in enumerate(HOSTILE):
        lines.append(f"P{i},{_csv_cell(text)},15/02/19{50 + i},Female,{_csv_cell(text)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")


def _cells(path):
    wb = load_workbook(path)
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.value is not None]


def _no_formulas(path) -> list:
    cells = _cells(path)
    assert [(c.coordinate, c.value) for c in cells if c.data_type == "f"] == []
    return cells


def _texts(cells) -> set[str]:
    return {c.value for c in cells if c.data_type == "s"}


# --- the rule ----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "risky"), [
    ('=HYPERLINK("http://x","y")', True), ("+1+1", True), ("-2+3", True), ("@SUM(A1)", True),
    ("\t=1", True), ("\r=2", True), ("-", True), ("=", True),
    ("-2", False), ("+3.5", False), ("-1e5", False), (".5", False),
    ("Mixed: White and Asian", False), ("", False), (" =1", False), (-2, False), (None, False),
])
def test_what_counts_as_formula_like(value, risky):
    assert formula_like(value) is risky
    want = "'" + value if risky else value
    if isinstance(want, str):
        want = want.replace("\r", "\n")  # a line break in a CSV field is a line feed
    assert csv_value(value) == want


def test_a_saved_workbook_holds_text_as_text_and_numbers_as_numbers(tmp_path):
    wb = Workbook()
    wb.active.append([*HOSTILE, "#N/A", -5, -0.25, 3])
    save_workbook(wb, tmp_path / "x.xlsx")
    cells = _no_formulas(tmp_path / "x.xlsx")
    assert [(c.value, c.data_type) for c in cells] == [
        *((t, "s") for t in HOSTILE), ("#N/A", "s"), (-5, "n"), (-0.25, "n"), (3, "n")]
    assert all(c.quotePrefix for c in cells[:len(HOSTILE)])


# --- every workbook and CSV eqia writes ----------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("listed", [False, True])
def test_audit_workbook_and_csv_keep_hostile_service_names_and_values_as_text(
        cli, tmp_path, listed):
    folder = tmp_path / "extracts"
    folder.mkdir()
    _hostile_extract(folder / "hostile.csv")
    args = ["--list-invalid-values"] if listed else []
    r = cli("audit", folder, "--out", tmp_path / "out", "--as-of", "2026-03-31", *args)
    assert r.exit_code == 0, r.output
    cells = _no_formulas(tmp_path / "out" / "audit.xlsx")
    # service names are tidied of surrounding and repeated white space ("\t=1" -> "=1")
    services = {t.strip() for t in HOSTILE}
    assert services <= _texts(cells)
    if listed:  # the extract's values exactly as they were
        assert set(HOSTILE) <= _texts(cells)
    rows = list(csv.DictReader(io.StringIO(
        (tmp_path / "out" / "audit.csv").read_text(encoding="utf-8"))))
    assert {r["service"] for r in rows} == {"'" + s for s in services}
    assert all(int(r["records"]) == 1 for r in rows)


def test_audit_csv_on_the_terminal_is_neutralised_too(cli, tmp_path):
    folder = tmp_path / "extracts"
    folder.mkdir()
    _hostile_extract(folder / "hostile.csv")
    r = cli("audit", folder, "--as-of", "2026-03-31", "--format", "csv")
    assert r.exit_code == 0
    services = {row["service"] for row in csv.DictReader(io.StringIO(r.stdout))}
    assert services == {"'" + t.strip() for t in HOSTILE}


def test_profile_csv_lists_hostile_values_behind_a_quote(cli, tmp_path):
    _hostile_extract(tmp_path / "hostile.csv")
    r = cli("profile", tmp_path / "hostile.csv", "--format", "csv", "--list-invalid-values",
            "--as-of", "2026-03-31")
    assert r.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    invalid = {row["category"] for row in rows
               if row["characteristic"] == "ethnicity" and row["kind"] == "invalid"}
    assert invalid == {"'" + t.replace("\r", "\n") for t in HOSTILE}


@pytest.mark.slow
def test_report_workbook_keeps_hostile_names_as_text(cli, tmp_path):
    (tmp_path / "day.csv").write_text(
        (EXAMPLES / "mh_support_extract.csv").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "report.yaml").write_text(
        "title: Report 2025-26\n"
        "organisation: '@SUM(A1)'\n"
        "contact: '-2+3'\n"
        "period: 2025-26\narea: Kent\nages: 18-\n"
        "services:\n"
        "  - name: '=HYPERLINK(\"http://x\",\"y\")'\n"
        f"    mapping: {EXAMPLES / 'mh_support_mapping.yaml'}\n"
        "    extracts:\n      2025-26: day.csv\n", encoding="utf-8")
    for publish in ([], ["--publish"]):
        out = tmp_path / ("pub" if publish else "int")
        r = cli("report", tmp_path / "report.yaml", "--out", out, "--format", "xlsx", *publish)
        assert r.exit_code == 0, r.output
        (book,) = out.glob("*.xlsx")
        texts = _texts(_no_formulas(book))
        assert "@SUM(A1)" in texts and '=HYPERLINK("http://x","y")' in texts
        if publish:  # the internal log is a CSV: neutralised too
            log = (out / "internal" / "suppression_log.csv").read_text(encoding="utf-8")
            assert not any(line.startswith(("=", "+", "-", "@")) for line in log.splitlines())


@pytest.mark.slow
def test_compare_workbook_and_csv_keep_a_hostile_file_name_as_text(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "=1+1.csv"
    (tmp_path / name).write_text(
        (EXAMPLES / "mh_support_extract.csv").read_text(encoding="utf-8"), encoding="utf-8")
    r = cli("compare", name, "--map", EXAMPLES / "mh_support_mapping.yaml", "--area", "Kent",
            "--ages", "18-", "--as-of", "2026-03-31", "--format", "xlsx", "--out", "out")
    assert r.exit_code == 0, r.output
    cells = _no_formulas(tmp_path / "out" / "compare.xlsx")
    assert name in _texts(cells)
    # numbers stay numbers, negative ones too
    negatives = [c for c in cells if isinstance(c.value, (int, float)) and c.value < 0]
    assert negatives and all(c.data_type == "n" for c in negatives)
    r = cli("compare", name, "--map", EXAMPLES / "mh_support_mapping.yaml", "--area", "Kent",
            "--ages", "18-", "--as-of", "2026-03-31", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    diffs = [float(row["difference_pp"]) for row in rows if row["difference_pp"]]
    assert min(diffs) < 0  # a negative number is written as a number, not quoted

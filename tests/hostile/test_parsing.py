"""Hostile and messy input files (issue 13, reading input): each case is the input, the
exit code and error code expected, and for data that is read, the count of people
checked against one worked out independently (Python's csv module, or by hand).

Both readers are held to the same verdict: pandas in memory, and DuckDB streaming (which
files of 50 MiB or more take): ``streamed`` lowers the size threshold so that a small
file takes it, and one test proves the threshold itself leads to the same checks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import threading
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqia.analysis.profiling import profile_file
from eqia.errors import InputError
from eqia.read import extract, streaming
from eqia.read.files import read_table
from eqia.read.same import same_files

from ..conftest import EXAMPLE_EXTRACT, EXAMPLE_MAPPING

AS_OF = dt.date(2026, 3, 31)
LINES = EXAMPLE_EXTRACT.read_text(encoding="utf-8").splitlines()
HEADER, ROWS = LINES[0], LINES[1:]
ETHNICITY = HEADER.split(",").index("Ethnicity")


@pytest.fixture(params=["in memory", "streamed"])
def path_kind(request, monkeypatch):
    """Run a test on each reader: "streamed" makes every CSV and Parquet file big enough
    to stream (the threshold is read when a file is opened)."""
    if request.param == "streamed":
        monkeypatch.setattr(extract, "STREAM_THRESHOLD", 0)
    return request.param


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def csv_records(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    """The independent count: Python's csv module, strict, header dropped."""
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.reader(f, strict=True))[1:]


def profile(cli, *args) -> tuple[int, str, str]:
    r = cli("profile", *map(str, args), "--as-of", AS_OF.isoformat())
    assert "This is a bug" not in r.output and "Traceback" not in r.output
    return r.exit_code, r.stdout, r.stderr


def error_code(stderr: str) -> str:
    return stderr.split("[", 1)[1].split("]", 1)[0] if "[" in stderr else ""


# ---------------------------------------------------------------------------
# 1. One strict reading for both paths


def stray_quote_file(tmp_path: Path, rows: int, from_end: int) -> tuple[Path, int]:
    """The example's rows repeated (new IDs), with a quote opening the Ethnicity value of
    the row ``from_end`` rows before the end; returns the path and that row's line."""
    body = []
    for i in range(rows):
        cells = ROWS[i % len(ROWS)].split(",")
        cells[0] = f"P{i:07d}"
        body.append(cells)
    bad = rows - from_end
    body[bad][ETHNICITY] = '"' + body[bad][ETHNICITY]
    path = write(tmp_path, "stray.csv", "\n".join([HEADER, *map(",".join, body)]) + "\n")
    return path, bad + 2


def test_a_stray_quote_near_the_end_stops_with_its_row(cli, tmp_path, path_kind):
    # The case at 5,000,000 rows, 50,000 from the end, scaled down: every row
    # after the quote would have been one value (4,950,001 rows "reconciled").
    path, line = stray_quote_file(tmp_path, 6_000, 600)
    code, _, err = profile(cli, path, "--map", EXAMPLE_MAPPING)
    assert (code, error_code(err)) == (2, "bad-quoting")
    assert f"row {line}" in err and "never closed" in err
    with pytest.raises(csv.Error):  # and the independent reading agrees it is malformed
        csv_records(path)


def test_the_size_threshold_leads_to_the_same_checks(tmp_path, monkeypatch):
    """A file at the threshold streams by itself (no streaming=True), through the checks."""
    path, line = stray_quote_file(tmp_path, 3_000, 100)
    monkeypatch.setattr(extract, "STREAM_THRESHOLD", path.stat().st_size)
    calls = []
    real = streaming.stream_value_counts
    monkeypatch.setattr(streaming, "stream_value_counts",
                        lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    with pytest.raises(InputError) as caught:
        profile_file(path, EXAMPLE_MAPPING, as_of=AS_OF)
    assert calls == [path]
    assert (caught.value.code, caught.value.row) == ("bad-quoting", line)


def test_audit_of_a_folder_does_not_count_a_file_with_a_stray_quote(cli, tmp_path, path_kind):
    folder = tmp_path / "extracts"
    folder.mkdir()
    bad, line = stray_quote_file(folder, 2_000, 300)
    good = write(folder, "good.csv", "\n".join([HEADER, *ROWS[:50]]) + "\n")
    r = cli("audit", folder, "--map", EXAMPLE_MAPPING, "--as-of", AS_OF.isoformat(),
            "--format", "csv")
    assert r.exit_code == 2 and f"row {line}" in r.stderr and bad.name in r.stderr
    records = {row["service"]: int(row["records"])
               for row in csv.DictReader(io.StringIO(r.stdout))}
    assert records == {"good": len(csv_records(good))}


def test_two_stray_quotes_do_not_merge_rows(cli, tmp_path, path_kind):
    # The quoted value would run from row 11 to row 21 and hold another person's ID and
    # date of birth; read as valid CSV that is 30 rows, not 40.
    cells = [r.split(",") for r in ROWS[:40]]
    cells[9][ETHNICITY] = '"' + cells[9][ETHNICITY]
    cells[19][ETHNICITY] += '"'
    path = write(tmp_path, "two.csv", "\n".join([HEADER, *map(",".join, cells)]) + "\n")
    assert len(csv_records(path)) == 30  # what a lenient reading would count
    out_dir = tmp_path / "out"
    r = cli("audit", path, "--map", EXAMPLE_MAPPING, "--as-of", AS_OF.isoformat(),
            "--out", out_dir)
    assert r.exit_code == 2 and "row 11" in r.stderr
    assert not (out_dir / "audit.xlsx").exists()  # no merged text reaches a workbook
    code, _, err = profile(cli, path, "--map", EXAMPLE_MAPPING)
    assert (code, error_code(err)) == (2, "bad-quoting")
    assert "row 11" in err and "line 21" in err
    assert cells[10][0] not in err  # never another person's ID


@pytest.mark.parametrize(("every", "code", "line"), [(5, "ragged-row", 2), (1, "", None)])
def test_a_separator_ending_rows_is_refused_unless_every_row_has_it(
        cli, tmp_path, path_kind, every, code, line):
    rows = [r + ("," if i % every == 0 else "") for i, r in enumerate(ROWS[:40])]
    path = write(tmp_path, "trailing.csv", "\n".join([HEADER, *rows]) + "\n")
    exit_code, out, err = profile(cli, path, "--map", EXAMPLE_MAPPING, "--format", "json")
    if code:
        assert (exit_code, error_code(err), f"row {line}" in err) == (2, code, True)
        return
    assert exit_code == 0
    got = json.loads(out)
    records = csv_records(path)
    assert all(len(r) == 12 and r[-1] == "" for r in records)  # 11 columns + the quirk
    assert got["rows"] == len(records) == 40
    assert "ends with a comma" in " ".join(got["notes"])
    # Not shifted: the sex counts are the Gender column's, counted by hand from the rows.
    genders = [r[2] for r in records]
    sex = {c["category"]: c["count"] for c in got["characteristics"]["sex"]["categories"]}
    assert sex["Female"] == genders.count("Female") and sex["Male"] == genders.count("Male")


def test_a_file_cut_off_mid_row_names_the_last_row(cli, tmp_path, path_kind):
    text = "\n".join([HEADER, *ROWS[:25]])
    path = write(tmp_path, "cut.csv", text[: text.rfind(",", 0, len(text) - 30)])
    code, _, err = profile(cli, path, "--map", EXAMPLE_MAPPING)
    assert (code, error_code(err)) == (2, "ragged-row")
    assert "row 26" in err and "fewer than the header's 11 columns" in err


def test_line_breaks_and_doubled_quotes_inside_quoted_values_are_valid(tmp_path, path_kind):
    rows = [["1", "Male", "WBRI", "12 High St\nMaidstone"], ["2", "Female", 'say "hi"', "x"],
            ["3", "Female", "WBRI", "a\r\nb, c"], ["4", "", "", ""]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([["Client ID", "Gender", "Ethnicity",
                                                       "Address"], *rows])
    path = write(tmp_path, "quoted.csv", buf.getvalue())
    got = profile_file(path, as_of=AS_OF)
    assert got.rows == len(csv_records(path)) == 4
    assert got.category_counts("sex")["Female"] == 2


TOTAL_WORDS = {"total", "totals", "grand total", "sub total", "sub-total", "subtotal",
               "overall total"}


def oracle(text: str) -> tuple:
    """The rules, written out on Python's csv module (strict): ("refuse",) or ("accept",
    people). A record is as wide as the header, or blank, or one wider with an empty last
    value on every data row; no quoted value holds a line break followed by a whole row's
    separators; blank rows and rows whose first value says Total are not people."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return ("refuse",)
    width, data = len(rows[0]), rows[1:]

    def blank(r: list[str]) -> bool:
        return all(not f.strip() for f in r)

    kept, trailing, nonblank = [], 0, 0
    for r in data:
        short_blank = len(r) <= 1 and blank(r)
        nonblank += not short_blank
        if len(r) == width or short_blank:
            kept.append(r)
        elif len(r) == width + 1 and not r[-1].strip():
            trailing += 1
            kept.append(r[:-1])
        else:
            return ("refuse",)
        for f in r:
            later = f.replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]
            if width >= 3 and any(part.count(",") >= width - 1 for part in later):
                return ("refuse",)
    if trailing and trailing != nonblank:
        return ("refuse",)
    people = [r for r in kept if not blank(r)
              and " ".join(r[0].split()).casefold().rstrip(":").strip() not in TOTAL_WORDS]
    return ("accept", len(people))


def verdict(path: Path, streamed: bool) -> tuple:
    try:
        return ("accept", profile_file(path, streaming=streamed, allow_duplicates=True).rows)
    except InputError as exc:
        if exc.code in ("ragged-row", "bad-quoting"):
            return ("refuse",)
        if exc.code == "no-rows":
            return ("accept", 0)
        return ("error", exc.code, exc.message)


VALUES = ["Male", "Female", "WBRI", "", " ", "x,y", 'say "hi"', "two\nlines", "cr\r\nlf",
          "a\rb", "Total", "Grand total:", "é", "\t"]


DAMAGE = ["stray quote", "drop", "add", "trailing everywhere", "trailing once", "empty line",
          "spaces"]


@st.composite
def messy_csv(draw, damage: str) -> str:
    """A CSV with quoted values (commas, quotes, line breaks), then ``damage`` done once
    and up to two more kinds of damage at random."""
    header = draw(st.sampled_from([["Client ID", "Gender", "Ethnicity"], ["Gender", "Ethnicity"],
                                   ["Client ID", "Gender", "Ethnicity", "Religion", "Notes"]]))
    rows = []
    for i in range(draw(st.integers(1, 10))):
        rows.append([draw(st.sampled_from(VALUES)) if j or header[0] == "Gender" else str(i)
                     for j in range(len(header))])

    def cell(value: str) -> str:
        return f'"{value.replace(chr(34), 2 * chr(34))}"' if any(
            c in value for c in ',"\r\n') else value

    lines = [",".join(header)] + [",".join(map(cell, r)) for r in rows]
    for kind in [damage, *draw(st.lists(st.sampled_from(DAMAGE), max_size=2))]:
        i = draw(st.integers(1, len(lines) - 1))
        if kind == "stray quote":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + '"' + lines[i][at:]
        elif kind == "drop" and "," in lines[i]:
            lines[i] = lines[i].rsplit(",", 1)[0]
        elif kind == "add":
            lines[i] += ",extra"
        elif kind == "trailing everywhere":
            lines[1:] = [line + "," for line in lines[1:]]
        elif kind == "trailing once":
            lines[i] += ","
        else:
            lines.insert(i, "" if kind == "empty line" else "   ")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + draw(st.sampled_from([newline, "", 2 * newline]))


@pytest.mark.parametrize("damage", DAMAGE)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_both_readers_and_the_csv_module_agree_on_any_messy_file(tmp_path, damage, data):
    text = data.draw(messy_csv(damage))
    path = tmp_path / "messy.csv"
    path.write_bytes(text.encode("utf-8"))
    want = oracle(text)
    assert [verdict(path, False), verdict(path, True)] == [want, want], repr(text)


# ---------------------------------------------------------------------------
# 2. Dates of birth: day first or month first


def dates_file(tmp_path: Path, dates: list[str], name: str = "dates.csv") -> Path:
    rows = [f"C{i},{d},Female" for i, d in enumerate(dates)]
    return write(tmp_path, name, "\n".join(["Client ID,Date of Birth,Gender", *rows]) + "\n")


def test_month_first_dates_are_read_month_first_and_said(tmp_path, path_kind):
    # Read day first, 07/31/1960 was no date and 03/04/1960 was 3 April: a person of 65
    # moved to 55-64, out of a 65+ service.
    path = dates_file(tmp_path, ["07/31/1960", "03/04/1960", "12/25/1990", "01/13/2000"])
    got = profile_file(path, as_of=AS_OF)
    # Month first, by hand: 31 Jul 1960 -> 65; 4 Mar 1960 -> 66; 25 Dec 1990 -> 35;
    # 13 Jan 2000 -> 26.
    assert got.category_counts("age").to_dict() == {
        "0-17": 0, "18-24": 0, "25-34": 1, "35-44": 1, "45-54": 0, "55-64": 0,
        "65-74": 2, "75-84": 0, "85+": 0}
    assert got.invalid("age") == 0
    assert any("written month first" in n for n in got.notes)


@pytest.mark.parametrize(("dates", "code"), [
    (["01/02/1990", "03/04/1961", "05/05/1970"], "ambiguous-dates"),
    (["25/12/1990", "12/25/1990"], "mixed-date-order"),
])
def test_dates_that_cannot_tell_their_order_need_a_choice(cli, tmp_path, path_kind, dates, code):
    path = dates_file(tmp_path, dates)
    exit_code, _, err = profile(cli, path)
    assert (exit_code, error_code(err)) == (2, code)
    assert "--dayfirst" in err and "--monthfirst" in err and "dayfirst: true" in err
    exit_code, out, _ = profile(cli, path, "--monthfirst", "--format", "json")
    assert exit_code == 0
    age = json.loads(out)["characteristics"]["age"]
    # Month first: 2 Jan 1990 -> 36, 4 Mar 1961 -> 65, 5 May 1970 -> 55 (by hand);
    # 25/12/1990 is then no date.
    want = {"ambiguous-dates": (3, 0), "mixed-date-order": (1, 1)}[code]
    assert (age["known"], sum(v["count"] for v in age["invalid"])) == want


def test_the_mapping_file_says_how_dates_are_written(cli, tmp_path, path_kind):
    path = dates_file(tmp_path, ["01/02/1990", "03/04/1961"])
    mapping = write(tmp_path, "map.yaml", "dayfirst: false\n")
    exit_code, out, _ = profile(cli, path, "--map", mapping, "--format", "json")
    assert exit_code == 0
    ages = {c["category"]: c["count"] for c in
            json.loads(out)["characteristics"]["age"]["categories"]}
    assert (ages["35-44"], ages["65-74"]) == (1, 1)  # 2 Jan 1990 -> 36; 4 Mar 1961 -> 65
    exit_code, _, err = profile(cli, path, "--map", write(tmp_path, "bad.yaml", "dayfirst: 1\n"))
    assert (exit_code, error_code(err)) == (2, "bad-mapping")


def test_two_digit_years_are_the_latest_year_not_after_the_as_of_date(tmp_path, path_kind):
    path = dates_file(tmp_path, ["31/07/92", "15/03/26", "15/05/26", "01/01/00"])
    got = profile_file(path, as_of=AS_OF)
    # 1992 -> 33; 15 Mar 2026 -> 0; 15 May 2026 is after the as-of date, so 1926 -> 99;
    # 2000 -> 26 (by hand).
    assert got.category_counts("age").to_dict() == {
        "0-17": 1, "18-24": 0, "25-34": 2, "35-44": 0, "45-54": 0, "55-64": 0,
        "65-74": 0, "75-84": 0, "85+": 1}
    assert any("two-digit year" in n for n in got.notes)


# ---------------------------------------------------------------------------
# 3. Excel sheets, title rows, blank and total rows


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


EXAMPLE_ROWS = [r.split(",") for r in [HEADER, *ROWS[:30]]]


def test_a_workbook_of_several_sheets_needs_a_choice(cli, tmp_path):
    path = workbook(tmp_path / "book.xlsx", {"Notes": [["Exported 31/03/2026"]],
                                            "Clients": EXAMPLE_ROWS, "Empty": []})
    code, _, err = profile(cli, path, "--map", EXAMPLE_MAPPING)
    assert (code, error_code(err)) == (2, "choose-sheet")
    assert "'Notes', 'Clients'" in err and "Empty" not in err and "--sheet" in err
    code, out, _ = profile(cli, path, "--map", EXAMPLE_MAPPING, "--sheet", "Clients")
    assert code == 0 and "30 rows" in out
    mapping = write(tmp_path, "map.yaml", EXAMPLE_MAPPING.read_text() + "sheet: Clients\n")
    assert profile(cli, path, "--map", mapping)[0] == 0


def test_sheet_given_for_a_csv_is_an_error(cli, tmp_path):
    code, _, err = profile(cli, EXAMPLE_EXTRACT, "--sheet", "Clients")
    assert (code, error_code(err)) == (2, "option-mismatch")


def test_title_blank_and_total_rows_are_reported_not_counted(cli, tmp_path):
    rows = [["Community mental health: clients"], [], *EXAMPLE_ROWS[:16], [],
            *EXAMPLE_ROWS[16:], ["Grand total", None, None, None, None, None, None, None,
                                 None, None, 30]]
    path = workbook(tmp_path / "titled.xlsx", {"Clients": rows})
    code, out, _ = profile(cli, path, "--map", EXAMPLE_MAPPING)
    people = len(EXAMPLE_ROWS) - 1  # counted by hand: the data rows written above
    assert code == 0
    assert f"{people + 2} rows in file = {people} people + 1 blank row + 1 total row" in out
    assert "The header is row 3" in " ".join(out.split())
    # The same rows as a CSV, read both ways.
    text = "Community mental health: clients\n\n" + "\n".join(
        ",".join("" if c is None else str(c) for c in r) for r in rows[2:]) + "\n"
    csv_path = write(tmp_path, "titled.csv", text)
    for mode in (False, True):
        got = profile_file(csv_path, EXAMPLE_MAPPING, as_of=AS_OF, streaming=mode)
        assert (got.rows, got.set_aside, got.file_rows) == (
            people, {"blank": 1, "total": 1}, people + 2)


def test_header_row_can_be_given(cli, tmp_path, path_kind):
    # A title wide enough to look like data is not skipped by itself: --header-row says.
    text = "Report,run,31/03/2026,by,team\n" + "\n".join([HEADER, *ROWS[:10]]) + "\n"
    path = write(tmp_path, "wide_title.csv", text)
    code, out, _ = profile(cli, path, "--map", EXAMPLE_MAPPING, "--header-row", "2")
    assert code == 0 and "10 rows" in out and "The header is row 2" in " ".join(out.split())


# ---------------------------------------------------------------------------
# 4. Aggregated counts


def test_a_wide_table_of_counts_is_refused_with_the_long_layout(cli, tmp_path, path_kind):
    path = write(tmp_path, "wide.csv",
                 "Ethnicity,Service A,Service B\nWhite British,120,95\nIndian,7,3\n")
    code, _, err = profile(cli, path)
    assert (code, error_code(err)) == (2, "wide-counts")
    assert "characteristic,category,count,service" in err


@pytest.mark.parametrize(("value", "words"), [
    ("1e20", "at most 1,000,000,000"), ("inf", "not infinite"), ("-3", "cannot be negative"),
    ("2.5", "not a fraction"), ("lots", "not text"), ("", "is blank"),
])
def test_a_count_that_is_not_a_whole_number_in_range_stops(cli, tmp_path, value, words):
    path = write(tmp_path, "counts.csv", f"characteristic,category,count\nSex,Female,10\n"
                 f"Sex,Male,{value}\n")
    code, _, err = profile(cli, path)
    assert (code, error_code(err)) == (2, "bad-count")
    assert all(w in err for w in (words, "row 3", "column 'count'", f"value '{value}'"))


def test_total_rows_of_counts_are_set_aside(tmp_path):
    path = write(tmp_path, "counts.csv", "characteristic,category,count\nSex,Female,10\n"
                 "Sex,Male,8\nSex,All people,18\nEthnicity,WBRI,12\nEthnicity,Indian,6\n"
                 "Ethnicity,Everyone,18\nTotal,,36\n")
    got = profile_file(path)
    # 18 people; "All people" and "Total" say so, "Everyone" is 12 + 6 (by hand).
    assert (got.inputs["sex"], got.inputs["ethnicity"]) == (18, 18)
    assert got.set_aside == {"total": 3}


# ---------------------------------------------------------------------------
# 5. Encodings and kinds of file


def test_a_bom_before_windows_1252_text_is_read_and_said(tmp_path, path_kind):
    text = "Client ID,Gender,Ethnicity\n1,Female,Café\n2,Male,WBRI\n"
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("cp1252"))
    got = profile_file(path, as_of=AS_OF)
    assert got.rows == 2 and got.known("sex") == 2
    assert "Café" in set(got.counts["value"])  # an invalid code, read as written
    assert any("Windows-1252" in n for n in got.notes)
    assert read_table(path).data.columns[0] == streaming.inspect(path).columns[0] == "Client ID"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_at_once(cli, tmp_path, path_kind):
    fifo = tmp_path / "extract.csv"
    os.mkfifo(fifo)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(profile(cli, fifo)), daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader so the test run can end
        with open(fifo, "w") as f:
            f.write("")
        pytest.fail("reading a named pipe blocked")
    code, _, err = result[0]
    assert (code, error_code(err)) == (2, "not-a-file")


# ---------------------------------------------------------------------------
# 6. The same extract twice


@pytest.mark.parametrize("how", ["given twice", "a copy"])
def test_audit_refuses_the_same_extract_twice(cli, tmp_path, how):
    folder = tmp_path / "q4"
    folder.mkdir()
    one = write(folder, "Team A.csv", "\n".join([HEADER, *ROWS[:40]]) + "\n")
    write(folder, "Team B.csv", "\n".join([HEADER, *ROWS[40:100]]) + "\n")
    extra = [one]
    if how == "a copy":  # the same rows under another team's name
        (folder / "Team C.csv").write_bytes(one.read_bytes())
        extra = []
    r = cli("audit", folder, *extra, "--map", EXAMPLE_MAPPING, "--as-of", AS_OF.isoformat())
    assert (r.exit_code, error_code(r.stderr)) == (2, "duplicate-extract")
    assert "counted twice" in r.stderr
    assert ("same contents" in r.stderr) == (how == "a copy")
    (folder / "Team C.csv").unlink(missing_ok=True)
    r = cli("audit", folder, "--map", EXAMPLE_MAPPING, "--as-of", AS_OF.isoformat(),
            "--format", "csv")
    records = {row["service"]: int(row["records"])
               for row in csv.DictReader(io.StringIO(r.stdout))}
    assert (r.exit_code, records) == (0, {"Team A": 40, "Team B": 60})


def test_same_files_finds_links_copies_and_repeats(tmp_path):
    a = write(tmp_path, "a.csv", "x\n1\n")
    b = write(tmp_path, "b.csv", "x\n2\n")  # same size, other bytes
    copy = write(tmp_path, "c.csv", "x\n1\n")
    link = tmp_path / "l.csv"
    link.symlink_to(a)
    assert same_files([a, b, copy, link, a, tmp_path / "missing.csv"]) == [
        None, None, a, a, a, None]


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.lists(st.sampled_from(["a", "", " ", "Total", "é"]), min_size=1,
                               max_size=5).map(",".join), min_size=1, max_size=8),
       newline=st.sampled_from(["\n", "\r\n"]), end=st.sampled_from(["", "\n", "\n\n"]),
       width=st.integers(1, 4))
def test_the_quick_check_of_text_without_quotes_is_the_csv_modules(lines, newline, end,
                                                                    width):
    """Without quotes a record is a line: the split-and-count check must say what the
    csv module's row-by-row check says (the same records, or the same error and row)."""
    from eqia.read.csvcheck import check_lines, check_text

    text = newline.join(lines) + end.replace("\n", newline)

    def outcome(check):
        try:
            return check(text, ",", width, "x.csv", 2)
        except InputError as exc:
            return (exc.code, exc.row, exc.message)

    assert outcome(check_text) == outcome(
        lambda t, *a: check_lines(io.StringIO(t, newline=""), *a))

"""eqia audit across providers: a mapping (sheet, header row) per provider by file name,
warnings for unused columns that look like a characteristic, and --fail-under on
characteristics not collected unless excused.

The extracts are written here, small enough to count by hand:

acme_q4.xlsx (Acme Care: sheet "Data", title rows, header on row 3; a "Notes" sheet too)
    Ref, Sex Code, Ethnic Origin; 6 records
    sex: 01 01 02 02 02 XX, mapped 01 Male, 02 Female, XX not_known -> 5 known of 6
    ethnicity (NHS codes): A A B J, one blank, Z (not stated)      -> 4 known of 6
brightway_q4.csv (Brightway: its own mapping, religion in "Faith"); 4 records
    Gender: Female Male Female Female                              -> 4 known of 4
    Faith: Christian Muslim "No religion" Jedi                     -> 3 known, 1 invalid
    Marital: Single Married Divorced Widowed: not mapped, looks like marriage
council_team.csv (no provider: the default mapping, which names "Ethnic Origin"); 3 records
    Sex: F M F; Ethnicity: "White: Irish", A, "" (blank)          -> sex 3, ethnicity 2 of 3
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from eqia.analysis.lookalike import lookalikes
from eqia.documents import audit as au
from eqia.errors import ConfigError, UsageError
from eqia.read.mapping import MappingFile

AS_OF = dt.date(2026, 3, 31)


def _acme(path) -> None:
    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Sent by", "Acme Care"])
    notes.append(["Quarter", "Q4"])
    data = wb.create_sheet("Data")
    data.append(["Acme Care: service users, quarter 4"])
    data.append([])
    data.append(["Ref", "Sex Code", "Ethnic Origin"])
    for row in [("AC1", "01", "A"), ("AC2", "01", "A"), ("AC3", "02", "B"),
                ("AC4", "02", "J"), ("AC5", "02", None), ("AC6", "XX", "Z")]:
        data.append(list(row))
    wb.save(path)


@pytest.fixture()
def extracts(tmp_path):
    folder = tmp_path / "q4"
    folder.mkdir()
    _acme(folder / "acme_q4.xlsx")
    (folder / "brightway_q4.csv").write_text(
        "Client,Gender,Faith,Marital\n"
        "B1,Female,Christian,Single\nB2,Male,Muslim,Married\n"
        "B3,Female,No religion,Divorced\nB4,Female,Jedi,Widowed\n", encoding="utf-8")
    (folder / "council_team.csv").write_text(
        "Sex,Ethnicity\nF,White: Irish\nM,A\nF,\n", encoding="utf-8")
    (tmp_path / "acme.yaml").write_text(
        "columns:\n  sex: Sex Code\n  ethnicity: Ethnic Origin\n  id: Ref\n"
        "values:\n  sex:\n    '01': Male\n    '02': Female\n    XX: not_known\n",
        encoding="utf-8")
    (tmp_path / "brightway.yaml").write_text("columns:\n  religion: Faith\n", encoding="utf-8")
    (tmp_path / "default.yaml").write_text("columns:\n  ethnicity: Ethnic Origin\n",
                                           encoding="utf-8")
    (tmp_path / "providers.yaml").write_text(
        "providers:\n"
        "  - name: Acme Care\n    files: 'ACME_*.xlsx'\n    map: acme.yaml\n"
        "    sheet: Data\n    header_row: 3\n"
        "  - name: Brightway\n    files: [brightway*.csv, bw_*.csv]\n    map: brightway.yaml\n"
        "  - name: Cedar\n    files: cedar_*.csv\n", encoding="utf-8")
    return tmp_path


def _audit(extracts, **kw):
    return au.audit_paths([extracts / "q4"], mapping=extracts / "default.yaml",
                          providers=extracts / "providers.yaml", as_of=AS_OF, **kw)


def test_each_provider_is_read_with_its_own_mapping_sheet_and_header_row(extracts):
    r = _audit(extracts)
    assert r.failures == []
    s = r.summary.set_index(["service", "characteristic"])
    got = {(svc, k): (int(s.loc[(svc, k), "known"]), int(s.loc[(svc, k), "records"]))
           for svc, k in [("acme_q4", "sex"), ("acme_q4", "ethnicity"),
                          ("brightway_q4", "sex"), ("brightway_q4", "religion"),
                          ("council_team", "sex"), ("council_team", "ethnicity")]}
    assert got == {("acme_q4", "sex"): (5, 6), ("acme_q4", "ethnicity"): (4, 6),
                   ("brightway_q4", "sex"): (4, 4), ("brightway_q4", "religion"): (3, 4),
                   ("council_team", "sex"): (3, 3), ("council_team", "ethnicity"): (2, 3)}
    assert s.loc[("acme_q4", "ethnicity"), "unknown_not_stated"] == 1
    assert s.loc[("acme_q4", "ethnicity"), "unknown_blank"] == 1
    assert s.loc[("brightway_q4", "religion"), "invalid"] == 1
    files = r.files.set_index(r.files["file"].map(lambda f: f.rsplit("/", 1)[-1]))
    assert files.loc["acme_q4.xlsx", "provider"] == "Acme Care"
    assert files.loc["acme_q4.xlsx", "mapping"].endswith("acme.yaml")
    assert files.loc["brightway_q4.csv", "mapping"].endswith("brightway.yaml")
    assert (files.loc["council_team.csv", "provider"], files.loc["council_team.csv", "mapping"]
            ) == ("", str((extracts / "default.yaml").resolve()))


def test_a_mapped_column_a_file_lacks_and_a_pattern_without_files_are_warnings(extracts):
    r = _audit(extracts)
    w = r.warnings
    # the default mapping names "Ethnic Origin"; council_team.csv has "Ethnicity": read from
    # there, not refused
    team = w[w["file"].str.endswith("council_team.csv")]
    assert list(zip(team["characteristic"], team["column"], strict=True)) == [
        ("ethnicity", "Ethnic Origin")]
    assert "read from its column 'Ethnicity'" in team["message"].iloc[0]
    cedar = w[w["message"].str.contains("Cedar")]
    assert len(cedar) == 1 and "cedar_*.csv" in cedar["message"].iloc[0]


def test_a_file_without_the_mapped_column_counts_it_as_not_collected(tmp_path):
    (tmp_path / "m.yaml").write_text("columns:\n  religion: Faith\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text("Sex,Faith\nF,Christian\nM,\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("Sex\nF\nF\nM\n", encoding="utf-8")
    r = au.audit_paths([tmp_path / "a.csv", tmp_path / "b.csv"], mapping=tmp_path / "m.yaml",
                       as_of=AS_OF)
    assert r.failures == []
    s = r.summary.set_index(["service", "characteristic"])
    assert (s.loc[("a", "religion"), "known"], s.loc[("a", "religion"), "records"]) == (1, 2)
    assert s.loc[("b", "religion"), "status"] == au.NOT_COLLECTED
    assert s.loc[("b", "religion"), "unknown_not_collected"] == 3
    assert s.loc[("b", "sex"), "known"] == 3
    assert "counted as not collected" in r.warnings["message"].iloc[0]


def test_a_file_matched_by_two_providers_stops_the_audit_before_reading(extracts):
    (extracts / "providers.yaml").write_text(
        "providers:\n  - files: acme_*\n    map: acme.yaml\n"
        "  - name: Anyone\n    files: '*.xlsx'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        _audit(extracts)
    assert exc.value.code == "bad-audit-providers" and exc.value.value == "acme_q4.xlsx"
    assert "matches the patterns of 2 providers (acme_*: acme_*; Anyone: *.xlsx)" \
        in exc.value.message


def test_a_bad_providers_file_says_what_is_wrong(extracts):
    (extracts / "providers.yaml").write_text("providers:\n  - map: acme.yaml\n",
                                             encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        _audit(extracts)
    assert exc.value.code == "bad-audit-providers"
    assert exc.value.message == "The required setting 'providers: item 1: files' is missing"
    (extracts / "providers.yaml").write_text("providers:\n  - files: x*\n    map: nope.yaml\n",
                                             encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        _audit(extracts)
    assert exc.value.code == "missing-file" and exc.value.line == 3


def test_an_unused_column_that_looks_like_a_characteristic_is_warned_about(extracts):
    r = _audit(extracts)
    w = r.warnings[r.warnings["column"] == "Marital"]
    assert list(w["characteristic"]) == ["marriage_civil_partnership"]
    message = w["message"].iloc[0]
    assert "100% of its filled rows hold categories of marriage and civil partnership" in message
    assert 'marriage_civil_partnership: "Marital"' in message and "brightway.yaml" in message
    s = r.summary.set_index(["service", "characteristic"])
    assert s.loc[("brightway_q4", "marriage_civil_partnership"), "lookalike"] == "Marital"
    assert s.loc[("acme_q4", "marriage_civil_partnership"), "lookalike"] == ""


def test_the_terminal_and_the_outputs_show_warnings_and_mappings(extracts, cli):
    out = extracts / "out"
    r = cli("audit", extracts / "q4", "--map", extracts / "default.yaml", "--providers",
            extracts / "providers.yaml", "--as-of", "2026-03-31", "--out", out)
    assert r.exit_code == 0, r.output
    assert "n/c?" in r.stdout and "Warnings (3): read, but check" in r.stdout
    assert "acme_q4.xlsx: Acme Care, mapping acme.yaml" in r.stdout
    assert "council_team.csv: no provider, mapping default.yaml" in r.stdout
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert "Read, but check" in page and "Column &#39;Marital&#39;" in page
    assert "Not collected – see the warnings" in page
    wb = load_workbook(out / "audit.xlsx")
    warn = pd.DataFrame(wb["Warnings"].values)
    assert "Marital" in set(warn.iloc[:, 3])
    files = pd.DataFrame(wb["Files"].values)
    header = list(files.iloc[0])
    assert header[:5] == ["audit", "file", "status", "provider", "mapping"]


def test_yes_no_values_alone_do_not_make_a_lookalike_but_a_name_with_them_does():
    yes_no = pd.Series({"Yes": 5, "No": 7})
    free = pd.Series({f"note {i}": 1 for i in range(30)})
    kin = pd.Series({"Son": 3, "Daughter": 2})
    values = {"Interpreter": yes_no, "Pregnant": yes_no, "Notes": free, "Relationship": kin,
              "Religious affiliation": pd.Series({"Christian": 2, "Sikh": 1})}
    missing = ["pregnancy_maternity", "carers", "disability", "marriage_civil_partnership",
               "religion"]
    found = lookalikes(["ID", *values], MappingFile(), missing, values.get)
    # Interpreter's Yes/No fits three characteristics; Relationship's Son/Daughter none
    assert [(f.column, f.key) for f in found] == [("Religious affiliation", "religion"),
                                                  ("Pregnant", "pregnancy_maternity")]
    assert found[0].why.startswith("100% of its filled rows hold categories of religion")
    # a large file is judged by its names alone
    names = lookalikes(["ID", "Marital", "Referral Date", "Care Package"], MappingFile(),
                       [*missing, "age"])
    assert [(f.column, f.key) for f in names] == [("Marital", "marriage_civil_partnership")]


def test_fail_under_fails_on_a_characteristic_not_collected_unless_excused(extracts, cli):
    r = _audit(extracts)
    missing = au.uncollected(r)
    # ten audited characteristics; acme collects 2, brightway 2 (sex, religion) and
    # council_team 2 (sex, ethnicity): 8 + 8 + 8 not collected
    assert len(missing) == 24
    assert au.below(r, 0).empty  # every collected share is above 0%
    excused = au.uncollected(_audit(extracts, excuse=["pregnancy_maternity", "carers"]))
    assert len(excused) == 18 and "carers" not in set(excused["characteristic"])
    args = ["audit", extracts / "q4", "--map", extracts / "default.yaml", "--providers",
            extracts / "providers.yaml", "--as-of", "2026-03-31", "--fail-under", "0"]
    res = cli(*args)
    assert res.exit_code == 1
    assert "Not collected at all: 24 required characteristics (--fail-under):" in res.stderr
    assert ("brightway_q4: Marriage and civil partnership not collected (column 'Marital' "
            "looks like it: see the warnings)") in res.stderr
    assert "--excuse pregnancy_maternity" in res.stderr
    th = extracts / "t.yaml"
    th.write_text("required: [sex, ethnicity]\nexcused: [ethnicity]\n", encoding="utf-8")
    res = cli(*args, "--thresholds", th)
    assert res.exit_code == 0, res.stderr  # brightway's ethnicity excused; sex everywhere
    res = cli(*args[:-2], "--fail-under", "70", "--thresholds", th)
    assert res.exit_code == 1  # ethnicity 66.7% known in council_team, 66.6% in acme
    assert "Below 70%: 2 required characteristics" in res.stderr
    assert "Not collected at all" not in res.stderr


def test_an_unknown_excuse_is_a_usage_error(extracts, cli):
    with pytest.raises(UsageError) as exc:
        _audit(extracts, excuse=["pregnancy"])
    assert exc.value.code == "unknown-characteristic"
    res = cli("audit", extracts / "q4", "--excuse", "pregnancy", "--as-of", "2026-03-31")
    assert res.exit_code == 2 and "--excuse 'pregnancy' is not a characteristic" in res.stderr
    assert "pregnancy_maternity" in res.stderr


def test_the_csv_output_is_unchanged_by_providers(extracts, cli):
    res = cli("audit", extracts / "q4", "--map", extracts / "default.yaml", "--providers",
              extracts / "providers.yaml", "--as-of", "2026-03-31", "--format", "csv")
    assert res.exit_code == 0, res.stderr
    frame = pd.read_csv(io.StringIO(res.stdout))
    keys = ("area", "service", "period", "characteristic", "category")  # docs/outputs.md
    assert list(frame.columns) == [*keys, *(c for c in au.CSV_COLUMNS if c not in keys)]
    row = frame[(frame["service"] == "acme_q4") & (frame["characteristic"] == "sex")]
    assert row[["records", "known", "unknown"]].values.tolist() == [[6, 5, 1]]


def test_last_times_files_are_read_with_the_providers_mappings_too(extracts, tmp_path):
    import shutil

    shutil.copytree(extracts / "q4", tmp_path / "q3")
    r = _audit(extracts, previous=tmp_path / "q3")
    prev = r.files[r.files["audit"] == "previous"]
    assert list(prev["provider"]) == ["Acme Care", "Brightway", ""] and r.failures == []
    s = r.summary.set_index(["service", "characteristic"])
    # the same files: acme's sex 5 of 6 both times, so no change
    assert s.loc[("acme_q4", "sex"), "previous_known_share"] == pytest.approx(5 / 6)
    assert s.loc[("acme_q4", "sex"), "change_pp"] == 0
    # last time's files give the missing-column warning, never the lookalike one again
    assert list(r.warnings["audit"]) == ["current", "current", "current", "previous"]


def test_a_file_whose_every_column_is_used_is_not_read_again(tmp_path, monkeypatch):
    """The look for lookalikes reads a file's header first: with no column left over there
    is nothing to look at (the 200-file benchmark's extracts), so no second read."""
    import eqia.read.files as files

    calls = []
    real = files.read_table
    monkeypatch.setattr(files, "read_table", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    (tmp_path / "used.csv").write_text("ID,Sex,Ethnicity\n1,F,A\n2,M,B\n", encoding="utf-8")
    (tmp_path / "extra.csv").write_text("ID,Sex,Notes\n1,F,x\n2,M,y\n", encoding="utf-8")
    r = au.audit_paths([tmp_path / "used.csv", tmp_path / "extra.csv"], as_of=AS_OF)
    assert [p.name for p in calls] == ["extra.csv"] and r.warnings.empty


def test_cli_two_providers_for_one_file_exit_2_naming_both(extracts, cli):
    (extracts / "providers.yaml").write_text(
        "providers:\n  - name: Acme\n    files: acme_*\n  - name: Workbooks\n    files: '*.XLSX'\n",
        encoding="utf-8")
    res = cli("audit", extracts / "q4", "--providers", extracts / "providers.yaml",
              "--as-of", "2026-03-31")
    assert res.exit_code == 2 and res.stdout == ""
    assert "[bad-audit-providers]" in res.stderr
    assert "File 'acme_q4.xlsx' matches the patterns of 2 providers (Acme: acme_*; " \
           "Workbooks: *.XLSX)" in res.stderr
    assert "Unexpected" not in res.stderr

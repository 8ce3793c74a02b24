"""Hostile and messy settings: the YAML files people write, and the command line.

One case per promise of issue 13 (settings part): every value type-checked with file, line
and field; YAML aliases refused at once; impossible dates named; the same extract never
counted twice; no option silently ignored; and no bad input reaching "This is a bug" (whose
message never shows data). Each case gives the input, the exit code and the error code.
Line numbers are counted by hand from the texts below.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from eqia.errors import ConfigError

BUG = "This is a bug"

EXTRACT = """\
Client ID,Date of Birth,Gender,Ethnicity
A1,12/07/1962,Male,WBRI
A2,18/08/1971,Female,BAFR
A3,01/02/1985,Female,WBRI
A4,23/11/1990,Male,AIND
"""
# Lines: 1 name, 2 data, 3 extracts, 4 area, 5 as_of; anything added starts at line 6.
PROPOSAL = """\
name: Test service
data:
  extracts: [ex.csv]
  area: Kent
  as_of: 2026-03-31
"""
# Lines: 1 title, 2 organisation, 3 period, 4 area, 5 services, 6 name, 7 extracts, 8 2025-26.
REPORT = """\
title: Test report
organisation: Test Council
period: 2025-26
area: Kent
services:
  - name: Day Service
    extracts:
      2025-26: ex.csv
"""
# Nine levels of nine aliases: 9 ** 9 = 387 million "lol"s if expanded; the first alias
# is on line 3.
LAUGHS = "\n".join([
    'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    "name: lol",
    *(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]"
      for a, b in zip("abcdefgh", "bcdefghi", strict=True)),
]) + "\n"


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A folder with a small extract, a valid proposal and report, run from inside it."""
    (tmp_path / "ex.csv").write_text(EXTRACT, encoding="utf-8")
    (tmp_path / "proposal.yaml").write_text(PROPOSAL, encoding="utf-8")
    (tmp_path / "report.yaml").write_text(REPORT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def code_of(result) -> str | None:
    m = re.search(r"Error \[([a-z-]+)\]", result.stderr)
    return m.group(1) if m else None


def write(name: str, text: str | bytes) -> str:
    p = Path(name)
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return name


#: Which command reads each kind of file, given the file's name.
COMMANDS = {
    "proposal": lambda f: ["screen", f, "--out", "out", "--format", "md"],
    "mapping": lambda f: ["profile", "ex.csv", "--map", f],
    "rules": lambda f: ["compare", "ex.csv", "--area", "Kent", "--rules", f],
    "assessment": lambda f: ["screen", "proposal.yaml", "--out", "out", "--format", "md",
                             "--assessment-rules", f],
    "thresholds": lambda f: ["audit", "ex.csv", "--thresholds", f],
    "report": lambda f: ["report", f, "--out", "rep", "--format", "html"],
    "policy": lambda f: ["screen", "proposal.yaml", "--out", "out", "--format", "md",
                         "--publish", "--policy", f],
}


# --- 1. every value type-checked, with file, line and field ----------------------------------

TYPES = [
    # (kind, text, error code, line, field, words)
    ("proposal", PROPOSAL + "characteristics: [age, sex]\n", "bad-proposal", 6,
     "characteristics", "must be a set of 'name: value' lines, not a list"),
    ("proposal", PROPOSAL + "characteristics:\n  age: YES\n", "bad-proposal", 7,
     "characteristics: age", "not true/false"),
    ("proposal", PROPOSAL + "action_plan: Map the bus routes\n", "bad-proposal", 6,
     "action_plan", "must be a list, not text"),
    ("proposal", PROPOSAL + "versions:\n  - V1\n", "bad-proposal", 7, "versions: item 1",
     "must be a set of 'name: value' lines, not text"),
    ("proposal", PROPOSAL + "judgement:\n  option: 2.5\n", "bad-proposal", 7,
     "judgement: option", "must be one of 1, 2, 3"),
    ("proposal", PROPOSAL.replace("area: Kent", "area: [Kent]"), "bad-proposal", 4,
     "data: area", "must be text, not a list"),
    ("proposal", PROPOSAL.replace("extracts: [ex.csv]", "extracts: {a: ex.csv}"),
     "bad-proposal", 3, "data: extracts", "must be a list"),
    ("proposal", PROPOSAL + "contxt: Why\n", "bad-proposal", 6, "contxt",
     "Unknown field 'contxt' (did you mean 'context'?)"),
    ("mapping", "columns: [sex]\n", "bad-mapping", 1, "columns",
     "must be a set of 'name: value' lines"),
    ("mapping", "values:\n  sex:\n    M: [Male]\n", "bad-mapping", 3, "values: sex: M",
     "must be text, not a list"),
    ("mapping", "colums:\n  sex: Gender\n", "bad-mapping", 1, "colums",
     "(did you mean 'columns'?)"),
    ("rules", "level: high\n", "bad-rules", 1, "level",
     "must be a confidence level between 0 and 1"),
    ("rules", "# bigger\ngof_draws: 99999999999999999999\n", "bad-rules", 2, "gof_draws",
     "from 100 to 1,000,000"),
    ("rules", "over_ratio: .inf\n", "bad-rules", 1, "over_ratio", "at least 1"),
    ("rules", "under_ration: 0.7\n", "bad-rules", 1, "under_ration",
     "(did you mean 'under_ratio'?)"),
    ("assessment", "not_adverse_categories: {a: b}\n", "bad-rules", 1,
     "not_adverse_categories", "must be a list"),
    ("assessment", "max_rating:\n  age: SEVERE\n", "bad-rules", 2, "max_rating: age",
     "must be one of HIGH, MEDIUM, LOW"),
    ("thresholds", "audited: [[age]]\n", "bad-thresholds", 1, "audited: item 1",
     "must be text, not a list"),
    ("thresholds", "green: .nan\n", "bad-thresholds", 1, "green",
     "must be a percentage from 0 to 100"),
    ("thresholds", "green: 90\ncharacteristics:\n  religion: 80\n", "bad-thresholds", 3,
     "characteristics: religion", "must be a set of 'name: value' lines, not a number"),
    ("report", REPORT.replace("name: Day Service", "name: [Day Service]"),
     "bad-report-config", 6, "services: item 1: name", "must be text, not a list"),
    ("report", REPORT.replace("      2025-26: ex.csv", "      2025-26: {a: ex.csv}"),
     "bad-report-config", 8, "services: item 1: extracts: 2025-26", "must be a list"),
    ("report", REPORT + "narrative: [a]\n", "bad-report-config", 9, "narrative",
     "must be a set of 'name: value' lines, not a list"),
]


@pytest.mark.parametrize(("kind", "text", "code", "line", "field", "words"), TYPES,
                         ids=[f"{t[0]}-{t[4]}" for t in TYPES])
def test_a_wrong_type_names_file_line_and_field(cli, work, kind, text, code, line, field,
                                                words):
    name = write(f"{kind}.yaml" if kind not in ("proposal", "report") else f"bad-{kind}.yaml",
                 text)
    r = cli(*COMMANDS[kind](name))
    assert (r.exit_code, code_of(r)) == (2, code), r.output
    assert f"file {name}" in r.stderr and f"line {line}," in r.stderr, r.stderr
    assert f"field '{field}'" in r.stderr and words in r.stderr, r.stderr
    assert BUG not in r.output


def test_the_disclosure_policy_file_names_the_line_too(cli, work):
    write("policy.yaml", "# stricter\nthreshold: ten\n")
    r = cli(*COMMANDS["policy"]("policy.yaml"))
    assert (r.exit_code, code_of(r)) == (2, "bad-disclosure-policy")
    assert "line 2" in r.stderr and "'threshold'" in r.stderr and "value 'ten'" in r.stderr


def test_every_problem_in_a_file_is_reported_at_once(cli, work):
    write("proposal.yaml", PROPOSAL + (
        "characteristics:\n"       # 6
        "  age:\n"                 # 7
        "    rating: HIHG\n"       # 8
        "  sexx:\n"                # 9
        "    affects: YES\n"       # 10
        "judgement:\n"             # 11
        "  option: 4\n"))          # 12
    r = cli(*COMMANDS["proposal"]("proposal.yaml"))
    assert (r.exit_code, code_of(r)) == (2, "bad-proposal")
    assert "The proposal file has 3 problems" in r.stderr
    assert "line 8: characteristics: age: rating must be one of HIGH, MEDIUM, LOW, NONE, " \
           "UNKNOWN (did you mean 'HIGH'?) (given: 'HIHG')" in r.stderr
    assert "line 9: 'sexx' under characteristics is not a characteristic eqia knows " \
           "(did you mean 'sex'?)" in r.stderr
    assert "line 12: judgement: option must be one of 1, 2, 3 (given: '4')" in r.stderr


def test_a_key_given_twice_is_an_error_not_a_silent_overwrite(cli, work):
    write("proposal.yaml", PROPOSAL + "characteristics:\n  age:\n    rating: HIGH\n"
          "characteristics:\n  sex:\n    rating: LOW\n")
    r = cli(*COMMANDS["proposal"]("proposal.yaml"))
    assert (r.exit_code, code_of(r)) == (2, "bad-proposal")
    assert "characteristics is given twice (lines 6 and 9)" in r.stderr


def test_text_is_kept_as_written_and_iso_dates_read_as_dates(work):
    from eqia.documents.proposal import load_proposal

    write("proposal.yaml", PROPOSAL + (
        "date_initial_screening: 2026-11-24\n"
        "versions:\n  - version: 1.10\n    date: 2026-10-30\n"
        "characteristics:\n  age:\n    affects: yes\n    how: no\n    rating: low\n"))
    p = load_proposal("proposal.yaml")
    assert p.text["date_initial_screening"] == "24 November 2026"
    assert p.versions[0]["version"] == "1.10"  # not the number 1.1
    assert p.versions[0]["date"] == "30 October 2026"
    assert p.officer["age"]["affects"] == "YES"
    assert p.officer["age"]["how"] == "no"  # not False
    assert p.officer["age"]["rating"] == "LOW"


def test_values_given_from_python_are_checked_the_same_way():
    from eqia.judgement.assess import load_assessment_rules
    from eqia.settings.rules import default_rules, load_rules, with_changes

    with pytest.raises(ConfigError) as info:
        load_rules(gof_draws=10**20)
    assert (info.value.code, info.value.setting, info.value.line) == (
        "bad-rules", "gof_draws", None)
    with pytest.raises(ConfigError):
        with_changes(default_rules(), level=float("nan"))
    with pytest.raises(ConfigError) as info:
        load_assessment_rules(max_rating={"age": "SEVERE"})
    assert info.value.setting == "max_rating: age"


# --- 2. YAML aliases refused at once ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["proposal", "mapping", "rules", "report"])
def test_a_billion_laughs_file_fails_at_once(cli, work, kind):
    assert len(LAUGHS.encode()) < 900
    name = write(f"laughs-{kind}.yaml", LAUGHS)
    cli(*COMMANDS[kind]("missing.yaml"))  # the command's own imports are not the point
    start = time.perf_counter()
    r = cli(*COMMANDS[kind](name))
    assert time.perf_counter() - start < 1
    assert r.exit_code == 2 and BUG not in r.output
    assert code_of(r) == "invalid-yaml"
    assert "uses a YAML alias: an alias (*a) is not allowed" in r.stderr
    assert "line 3" in r.stderr  # the first alias


def test_deeply_nested_brackets_fail_at_once(cli, work):
    write("proposal.yaml", "name: " + "[" * 200_000 + "]" * 200_000 + "\n")
    cli(*COMMANDS["proposal"]("missing.yaml"))
    start = time.perf_counter()
    r = cli(*COMMANDS["proposal"]("proposal.yaml"))
    assert time.perf_counter() - start < 1
    assert (r.exit_code, code_of(r)) == (2, "invalid-yaml")
    assert "more than 100 levels" in r.stderr


# --- 3. impossible dates ---------------------------------------------------------------------

DATES = [
    ("proposal", PROPOSAL.replace("2026-03-31", "2026-11-31"), "bad-proposal", 5,
     "data: as_of", "'2026-11-31' is not a real date"),
    ("proposal", PROPOSAL.replace("2026-03-31", "0206-03-31"), "bad-proposal", 5,
     "data: as_of", "'0206-03-31' is outside the years 1900 to 2100"),
    ("proposal", PROPOSAL + "date_initial_screening: 2026-02-30\n", "bad-proposal", 6,
     "date_initial_screening", "'2026-02-30' is not a real date"),
    ("proposal", PROPOSAL + "signoff:\n  senior_date: 2026-13-01\n", "bad-proposal", 7,
     "signoff: senior_date", "'2026-13-01' is not a real date"),
    ("report", REPORT.replace("period: 2025-26", "period: 2026-11-31"), "bad-report-config",
     3, "period", "period is not a period eqia can read"),
    ("report", REPORT.replace("period: 2025-26", "period: 0000-01"), "bad-report-config",
     3, "period", "period is not a period eqia can read"),
]


@pytest.mark.parametrize(("kind", "text", "code", "line", "field", "words"), DATES,
                         ids=[t[5][:22] for t in DATES])
def test_an_impossible_date_names_file_line_and_field(cli, work, kind, text, code, line,
                                                      field, words):
    name = write(f"dates-{kind}.yaml", text)
    r = cli(*COMMANDS[kind](name))
    assert (r.exit_code, code_of(r)) == (2, code), r.output
    assert f"line {line}," in r.stderr and f"field '{field}'" in r.stderr
    assert words in r.stderr and BUG not in r.output


@pytest.mark.parametrize(("given", "words"), [
    ("2026-11-31", "is not a real date"), ("0206-03-31", "is outside the years 1900 to 2100"),
    ("31/03/2026", "is not a date written YYYY-MM-DD"),
])
def test_an_impossible_as_of_on_the_command_line(cli, work, given, words):
    r = cli("profile", "ex.csv", "--as-of", given)
    assert (r.exit_code, code_of(r)) == (2, "bad-date")
    assert f"--as-of '{given}' {words}" in r.stderr


# --- 4. the same extract twice ---------------------------------------------------------------


@pytest.mark.parametrize("second", ["ex.csv", "./ex.csv", "sub/../ex.csv", "link.csv"])
def test_the_same_extract_twice_in_a_proposal_is_refused(cli, work, second):
    (work / "sub").mkdir()
    (work / "link.csv").symlink_to(work / "ex.csv")
    write("proposal.yaml", PROPOSAL.replace("[ex.csv]", f"[ex.csv, {second}]"))
    r = cli(*COMMANDS["proposal"]("proposal.yaml"))
    assert (r.exit_code, code_of(r)) == (2, "duplicate-extract"), r.output
    assert "line 3," in r.stderr and "field 'data: extracts: item 2'" in r.stderr
    assert "counted twice" in r.stderr


def test_two_different_extracts_are_both_read(work):
    from eqia.documents.proposal import load_proposal

    write("other.csv", EXTRACT.replace("A1,", "B1,"))
    write("proposal.yaml", PROPOSAL.replace("[ex.csv]", "[ex.csv, other.csv]"))
    assert [p.name for p in load_proposal("proposal.yaml").extracts] == ["ex.csv", "other.csv"]


@pytest.mark.parametrize(("edit", "line", "words"), [
    (lambda t: t + "      2024-25: ex.csv\n", 9,
     "service 'Day Service', period 2025-26, and service 'Day Service', period 2024-25"),
    (lambda t: t.replace("2025-26: ex.csv", "2025-26: [ex.csv, ./ex.csv]"), 8,
     "service 'Day Service', period 2025-26, twice"),
    (lambda t: t + "  - name: Night Service\n    extracts:\n      2025-26: ex.csv\n", 11,
     "service 'Day Service', period 2025-26, and service 'Night Service', period 2025-26"),
])
def test_the_same_extract_twice_in_a_report_file_is_refused(cli, work, edit, line, words):
    write("report.yaml", edit(REPORT))
    r = cli(*COMMANDS["report"]("report.yaml"))
    assert (r.exit_code, code_of(r)) == (2, "duplicate-extract"), r.output
    assert f"line {line}," in r.stderr and words in r.stderr


def test_the_same_extract_twice_in_an_audit_is_refused(cli, work):
    (work / "q4").mkdir()
    (work / "q4" / "a.csv").write_text(EXTRACT, encoding="utf-8")
    (work / "q4" / "b.csv").symlink_to(work / "q4" / "a.csv")
    r = cli("audit", "q4")
    assert (r.exit_code, code_of(r)) == (2, "duplicate-extract")
    assert "q4/a.csv and q4/b.csv" in r.stderr


# --- 5. no option silently ignored -----------------------------------------------------------

OPTIONS = [
    (["screen", "proposal.yaml", "--policy", "policy.yaml"], "option-mismatch",
     "--policy applies only with --publish"),
    (["report", "report.yaml", "--policy", "policy.yaml"], "option-mismatch",
     "--policy applies only with --publish"),
    (["profile", "ex.csv", "--out", "profile.csv"], "option-mismatch",
     "--out needs --format csv, parquet or json"),
    (["profile", "ex.csv", "--output", "profile.csv"], "option-mismatch",
     "--out needs --format csv, parquet or json"),
    (["profile", "ex.csv", "-f", "parquet"], "option-mismatch",
     "--format parquet needs --out"),
    (["profile", "ex.csv", "-f", "csv", "--out", "a.csv", "--output", "b.csv"],
     "option-mismatch", "--output and --out are the same option: give it once"),
    (["compare", "ex.csv", "--area", "Kent", "--out", "out"], "option-mismatch",
     "--out needs --format csv, parquet, json or xlsx"),
    (["compare", "ex.csv", "--area", "Kent", "-f", "parquet"], "option-mismatch",
     "--format parquet needs --out"),
    (["audit", "ex.csv", "-f", "parquet"], "option-mismatch",
     "--format parquet needs --out"),
    (["audit", "ex.csv", "--format", "csv", "--top", "3"], "option-mismatch",
     "--top applies to the table output only"),
    (["baselines", "show", "Kent", "-c", "sex", "--bands", "0-17,18+"], "option-mismatch",
     "--bands applies to age only"),
    (["init", "report-file.yaml", "--report", "--change", "closure"], "option-mismatch",
     "--change applies to a proposal file, not to --report"),
    (["compare", "ex.csv", "--area", "Kent", "--comparator", "sex=a.csv", "--comparator",
      "sex=b.csv"], "bad-comparator", "--comparator names sex twice"),
]


@pytest.mark.parametrize(("args", "code", "words"), OPTIONS, ids=[o[2] for o in OPTIONS])
def test_an_option_that_would_be_ignored_is_a_usage_error(cli, work, args, code, words):
    write("policy.yaml", "threshold: 5\n")
    for name in ("a.csv", "b.csv"):
        write(name, "category,count\nFemale,100\nMale,90\n")
    r = cli(*args)
    assert (r.exit_code, code_of(r)) == (2, code), r.output
    assert words in r.stderr
    assert not any(Path(p).exists() for p in ("out", "profile.csv", "report-file.yaml"))


# --- 6. no "This is a bug" for bad input, and never data in that message ----------------------

HOSTILE = [
    # wrong files where settings are expected
    ["screen", "."], ["screen", "missing.yaml"], ["screen", "binary.yaml"],
    ["screen", "empty.yaml"], ["screen", "latin.yaml", "--out", "out"],
    ["screen", "fifo.yaml"], ["screen", "ex.csv"],
    ["profile", "ex.csv", "--map", "."], ["profile", "ex.csv", "--map", "binary.yaml"],
    ["compare", "ex.csv", "--area", "Kent", "--rules", "binary.yaml"],
    ["compare", "ex.csv", "--area", "Kent", "--rules", "latin.yaml"],
    ["audit", "ex.csv", "--thresholds", "latin.yaml"],
    ["audit", "ex.csv", "--thresholds", "."],
    ["report", "empty.yaml"], ["report", "binary.yaml"],
    ["screen", "proposal.yaml", "--publish", "--policy", "binary.yaml"],
    # odd values
    ["compare", "ex.csv", "--area", "Kent", "--ages", "65-18"],
    ["compare", "ex.csv", "--area", "Kent", "--ages", "abc"],
    ["compare", "ex.csv", "--area", "Kent", "--ages", "99999999999999999999-"],
    ["compare", "ex.csv", "--area", "Narnia"], ["compare", "ex.csv", "--area", ""],
    ["profile", "ex.csv", "--age-bands", "65-18"], ["profile", "ex.csv", "--as-of", "9999-12-31"],
    ["audit", "ex.csv", "--fail-under", "-5"], ["audit", "ex.csv", "--top", "-1"],
    ["baselines", "show", "Kent", "--ages", "abc"], ["baselines", "show", "Kent", "-c", "x"],
    # --out and --output in odd places
    ["profile", "ex.csv", "-f", "csv", "--out", "."],
    ["profile", "ex.csv", "-f", "csv", "--out", "ex.csv/profile.csv"],
    ["compare", "ex.csv", "--area", "Kent", "-f", "csv", "--out", "ex.csv"],
    ["screen", "proposal.yaml", "--out", "ex.csv"],
    ["report", "report.yaml", "--out", "ex.csv/report"],
    ["audit", "ex.csv", "--out", "ex.csv"],
    ["screen", "proposal.yaml", "--templates", "ex.csv"],
    ["init", "."], ["init", "ex.csv/proposal.yaml"], ["init", ".", "--force"],
]


@pytest.mark.slow
def test_hostile_invocations_exit_2_with_a_clear_message(cli, work):
    write("binary.yaml", bytes(range(256)) * 4)
    write("empty.yaml", "")
    write("latin.yaml", "name: Caf\xe9\nlevel: [\n".encode("cp1252"))
    os.mkfifo("fifo.yaml")
    failures = []
    for args in HOSTILE:
        r = cli(*args)
        if r.exit_code != 2 or BUG in r.output or "Traceback" in r.output or not (
                code_of(r) or "Usage:" in r.output):
            failures.append((args, r.exit_code, r.output[-300:]))
    assert not failures


def test_an_unforeseen_error_shows_its_type_but_never_data(cli, work, monkeypatch):
    def fails(*args, **kwargs):
        raise ValueError("could not convert 'A1' born '12/07/1962' to a category")

    monkeypatch.setattr("eqia.analysis.profiling.profile_file", fails)
    r = cli("profile", "ex.csv")
    assert r.exit_code == 2
    assert "ValueError" in r.stderr and BUG in r.stderr and "--debug" in r.stderr
    assert "A1" not in r.output and "1962" not in r.output
    r = cli("--debug", "profile", "ex.csv")  # the details, for whoever runs it
    assert isinstance(r.exception, ValueError) and "A1" in str(r.exception)


def test_a_disk_error_is_not_called_a_bug(cli, work, monkeypatch):
    def fails(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "out/profile.csv")

    monkeypatch.setattr("eqia.analysis.profiling.profile_file", fails)
    r = cli("profile", "ex.csv")
    assert (r.exit_code, code_of(r)) == (2, "file-error")
    assert "Permission denied (file out/profile.csv)" in r.stderr and BUG not in r.output


def test_debug_says_it_may_show_personal_data(cli):
    r = cli("--help")
    assert "personal data" in " ".join(r.stdout.split())

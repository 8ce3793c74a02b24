"""eqia audit: completeness per service x characteristic, thresholds, change, outputs.

Fixtures (tests/fixtures/audit/), counted by hand:

current/Day Opportunities.csv  10 records, no service column (service = file name)
    sex        9 known, 1 "Refused" (not stated)                        90%  green
    ethnicity  7 known, 1 blank, 1 "Not Yet Obtained", 1 invalid "W9"   70%  amber
    religion   6 known, 2 blank, 1 "Prefer not to say", 1 invalid "Jedi" 60% red
current/providers.csv  a Service column holding two services
    OPPD (5)   sex 4 known + 1 "Unknown"; age 3 known + 1 blank + 1 invalid "150";
               disability 4 known + 1 "Prefer not to say"
    Carers Hub (4)  sex, age, disability all known
current/aggregated.csv  Reablement: sex 89 known + 1 not stated + 10 blank;
    ethnicity 70 known + 30 not known
current/broken.xlsx  not a spreadsheet: reported, never counted
previous/  day opportunities.csv (sex 8, ethnicity 5, religion 6 known of 10),
    oppd.csv (4 records: sex 2 known, age 4 known, no disability column),
    Old Service.csv (no extract this time)
"""

from __future__ import annotations

import datetime as dt
import io
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from docx import Document
from openpyxl import load_workbook

from eqia.documents import audit as au
from eqia.errors import ConfigError
from eqia.settings.thresholds import THRESHOLD_KEYS, load_thresholds

HERE = Path(__file__).resolve().parent / "fixtures" / "audit"
CURRENT = HERE / "current"
PREVIOUS = HERE / "previous"
AS_OF = dt.date(2026, 3, 31)
GOOD_FILES = [CURRENT / "Day Opportunities.csv", CURRENT / "providers.csv",
              CURRENT / "aggregated.csv"]


@pytest.fixture(scope="module")
def result() -> au.AuditResult:
    return au.audit_paths([CURRENT], previous=PREVIOUS, as_of=AS_OF)


def rows(result: au.AuditResult, columns: list[str]) -> pd.DataFrame:
    s = result.summary
    return s[s["status"] == "collected"][columns].reset_index(drop=True)


def test_counts_per_service_and_characteristic_match_the_hand_counts(result):
    cols = ["service", "characteristic", "records", "known", "unknown_not_stated",
            "unknown_not_known", "unknown_blank", "invalid", "known_share", "rag"]
    expected = pd.DataFrame(
        [
            ("Carers Hub", "age", 4, 4, 0, 0, 0, 0, 1.0, "green"),
            ("Carers Hub", "disability", 4, 4, 0, 0, 0, 0, 1.0, "green"),
            ("Carers Hub", "sex", 4, 4, 0, 0, 0, 0, 1.0, "green"),
            ("Day Opportunities", "sex", 10, 9, 1, 0, 0, 0, 0.9, "green"),
            ("Day Opportunities", "ethnicity", 10, 7, 0, 1, 1, 1, 0.7, "amber"),
            ("Day Opportunities", "religion", 10, 6, 1, 0, 2, 1, 0.6, "red"),
            ("OPPD", "age", 5, 3, 0, 0, 1, 1, 0.6, "red"),
            ("OPPD", "disability", 5, 4, 1, 0, 0, 0, 0.8, "amber"),
            ("OPPD", "sex", 5, 4, 0, 1, 0, 0, 0.8, "amber"),
            ("Reablement", "sex", 100, 89, 1, 0, 10, 0, 0.89, "amber"),
            ("Reablement", "ethnicity", 100, 70, 0, 30, 0, 0, 0.7, "amber"),
        ],
        columns=cols,
    )
    got = rows(result, cols)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_every_record_is_known_unknown_or_invalid(result):
    s = result.summary
    assert (s["records"] == s["known"] + s["unknown"] + s["invalid"]).all()
    reasons = [f"unknown_{r}" for r in au.UNKNOWN_REASONS]
    assert (s["unknown"] == s[reasons].sum(axis=1)).all()


def test_a_characteristic_with_no_column_is_not_collected_red_and_all_unknown(result):
    s = result.summary.set_index(["service", "characteristic"])
    r = s.loc[("Reablement", "religion")]
    assert (r["status"], r["records"], r["known"], r["unknown"], r["unknown_not_collected"],
            r["known_share"], r["rag"]) == ("not collected", 100, 0, 100, 100, 0.0, "red")
    # by default only what a service collects is required
    assert not r["required"] and s.loc[("Reablement", "sex"), "required"]
    assert set(result.summary["characteristic"]) == set(load_thresholds().audited)


def test_invalid_values_keep_the_raw_codes_and_counts(result):
    expected = pd.DataFrame(
        [
            ("Day Opportunities", "ethnicity", "W9", "not a recognised code", 1),
            ("Day Opportunities", "religion", "Jedi", "not a recognised code", 1),
            ("OPPD", "age", "150", "age over 120", 1),
        ],
        columns=au.INVALID_COLUMNS,
    )
    pd.testing.assert_frame_equal(result.invalid_values, expected, check_dtype=False)


def test_an_unreadable_file_is_reported_and_the_others_are_still_audited(result):
    assert [(Path(f).name, m.splitlines()[0]) for f, m in result.failures] == [
        ("broken.xlsx", "The Excel file could not be opened (BadZipFile) "
                        f"(file {CURRENT / 'broken.xlsx'}).")
    ]
    assert result.services == ["Carers Hub", "Day Opportunities", "OPPD", "Reablement"]
    files = result.files.set_index(result.files["file"].map(lambda f: Path(f).name))
    assert files.loc["providers.csv", "services"] == "Carers Hub; OPPD"
    assert files.loc["broken.xlsx", "status"] == "not read"


def test_files_read_on_two_processes_give_the_same_audit(result, monkeypatch):
    """The audit of many files reads them side by side (``collect.READERS`` processes):
    every table, failure and note as one process makes them (the hand counts above)."""
    import multiprocessing

    from eqia.documents.audit import collect

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this system: files are read one after another")
    started = []

    def fork():  # the test runner's own threads aside
        started.append(True)
        return multiprocessing.get_context("fork")

    monkeypatch.setattr(collect, "PARALLEL_FROM", 2)
    monkeypatch.setattr(collect, "READERS", 2)
    monkeypatch.setattr(collect, "_fork_context", fork)
    ticks = []
    both = au.audit_paths([CURRENT], previous=PREVIOUS, as_of=AS_OF,
                          progress=lambda done, total, name: ticks.append((done, total)))
    assert started == [True, True]  # the current files and the previous ones
    for table in ("summary", "invalid_values", "files"):
        pd.testing.assert_frame_equal(getattr(both, table), getattr(result, table))
    assert (both.failures, both.notes, both.skipped) == (
        result.failures, result.notes, result.skipped)
    assert ticks[-1] == (ticks[-1][1], ticks[-1][1])  # the bar ends full


def test_change_is_against_the_previous_audit_matched_by_name_ignoring_case(result):
    c = result.changes()
    got = {(r.service, r.characteristic): (r.previous_known_share, round(r.change_pp, 9))
           for r in c.itertuples() if r.characteristic in ("sex", "ethnicity", "religion",
                                                             "age", "disability")}
    assert got[("Day Opportunities", "sex")] == (0.8, 10.0)
    assert got[("Day Opportunities", "ethnicity")] == (0.5, 20.0)
    assert got[("Day Opportunities", "religion")] == (0.6, 0.0)
    assert got[("OPPD", "sex")] == (0.5, 30.0)
    assert got[("OPPD", "age")] == (1.0, -40.0)
    assert got[("OPPD", "disability")] == (0.0, 80.0)  # not collected last time
    s = result.summary.set_index(["service", "characteristic"])
    assert s.loc[("OPPD", "disability"), "previous_status"] == "not collected"
    assert pd.isna(s.loc[("Reablement", "sex"), "previous_known_share"])  # new service
    assert result.missing_services == ["Old Service"]


def test_without_previous_there_is_no_change():
    r = au.audit_paths(GOOD_FILES, as_of=AS_OF)
    assert r.summary["change_pp"].isna().all() and r.failures == []
    assert len(r.changes()) == 0


def boundary_extract(folder: Path) -> Path:
    """Four services whose sex is known for 89.99%, 90%, 70% and 69.99% of 10,000."""
    lines = ["service,characteristic,category,count"]
    for name, known in (("S8999", 8999), ("S9000", 9000), ("S7000", 7000), ("S6999", 6999)):
        lines += [f"{name},Sex,Female,{known}", f"{name},Sex,Not known,{10000 - known}"]
    path = folder / "boundaries.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rag_boundaries_are_exact(tmp_path):
    r = au.audit_paths(boundary_extract(tmp_path), as_of=AS_OF)
    sex = r.summary[r.summary["characteristic"] == "sex"].set_index("service")["rag"]
    assert sex.to_dict() == {"S6999": "red", "S7000": "amber", "S8999": "amber",
                             "S9000": "green"}
    th = load_thresholds()
    assert [th.rag("sex", k, 10000) for k in (8999, 9000, 7000, 6999)] == [
        "amber", "green", "amber", "red"]
    assert au.share_text(8999, 10000) == "89.9%"  # rounded down: never shows 90.0% as amber


def test_fail_under_compares_exactly_and_only_required(tmp_path):
    r = au.audit_paths(boundary_extract(tmp_path), as_of=AS_OF)
    assert list(au.below(r, 90)["service"]) == ["S6999", "S7000", "S8999"]
    assert list(au.below(r, 69.99)["service"]) == []
    assert list(au.below(r, 0)["service"]) == []  # not-collected ones are not required


def test_thresholds_file_sets_cutoffs_and_required_characteristics(tmp_path, result):
    path = tmp_path / "t.yaml"
    path.write_text("characteristics:\n  religion: {green: 60, amber: 50}\n"
                    "required: [sex, religion]\n", encoding="utf-8")
    th = load_thresholds(path)
    assert (th.green, th.amber, th.cutoffs("religion")) == (90, 70, (60, 50))
    r = au.audit_paths([CURRENT], as_of=AS_OF, thresholds=th)
    s = r.summary.set_index(["service", "characteristic"])
    assert s.loc[("Day Opportunities", "religion"), "rag"] == "green"
    assert not s.loc[("OPPD", "age"), "required"]
    assert au.below(r, 50).empty  # Day Opportunities: religion 60% (6 of 10)
    assert list(au.below(r, 61)["service"]) == ["Day Opportunities"]
    # the other three have no religion column: not collected, whatever the percentage
    missing = au.uncollected(r)
    assert sorted(zip(missing["service"], missing["characteristic"], strict=True)) == [
        ("Carers Hub", "religion"), ("OPPD", "religion"), ("Reablement", "religion")]


@pytest.mark.parametrize("text, message", [
    ("green: 120\n", "green must be a percentage from 0 to 100"),
    ("green: 60\namber: 80\n", "amber must not be above green"),
    ("greem: 90\n", "Unknown setting 'greem' (did you mean 'green'?)"),
    ("required: [ethnic]\n", "'ethnic' under required is not a characteristic eqia knows"),
    ("green: [\n", "The thresholds file is not valid YAML"),
])
def test_bad_thresholds_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_thresholds(path)
    assert exc.value.message.startswith(message)


def test_every_threshold_setting_is_documented_in_the_packaged_file():
    from importlib.resources import files

    text = files("eqia").joinpath("data/thresholds.yaml").read_text(encoding="utf-8")
    for key in THRESHOLD_KEYS:
        assert f"\n{key}:" in text
    assert "DQMI" in text and "chosen because" in text


def test_worst_gaps_put_required_then_lowest_share_then_biggest_service_first(result):
    gaps = au.worst_gaps(result, n=4)
    assert list(zip(gaps["service"], gaps["characteristic"], strict=True)) == [
        ("Day Opportunities", "religion"), ("OPPD", "age"),
        ("Reablement", "ethnicity"), ("Day Opportunities", "ethnicity")]
    assert "green" not in set(au.worst_gaps(result, n=100)["rag"])


def test_the_narrative_has_the_report_sentences_and_no_raw_codes(result):
    blocks = au.narrative(result)
    text = "\n".join([b["text"] for b in blocks] + [i for b in blocks for i in b["items"]])
    assert "Ethnicity is recorded for 70% of Day Opportunities users, up from 50%." in text
    assert "Age is recorded for 60% of OPPD users, down from 100%." in text
    assert ("Disability status is recorded for 80% of OPPD users, up from 0% (not collected last "
            "time).") in text
    assert "Sex (90%) is recorded well." in text
    assert "internal use" in text and "broken.xlsx" in text and "Old Service" in text
    for code in ("W9", "Jedi", "150"):
        assert code not in text


# ---------------------------------------------------------------------------
# Documents


class _Checker(HTMLParser):
    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.seen: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()


def parse_html(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.stack == []
    return checker


@pytest.fixture(scope="module")
def written(result, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("audit")
    au.write_outputs(result, folder)
    return folder


def test_workbook_has_the_sheets_frozen_panes_and_conditional_formatting(written):
    wb = load_workbook(written / "audit.xlsx")
    assert wb.sheetnames == ["Summary", "Detail", "Invalid values", "Change", "Warnings",
                             "Files"]
    assert wb["Summary"].freeze_panes == "B2"
    assert all(wb[n].freeze_panes == "A2" for n in wb.sheetnames[1:])
    summary = wb["Summary"]
    assert [c.value for c in summary[1]][:4] == ["Service", "Age", "Disability", "Sex"]
    assert summary["A2"].value == "Reablement"  # worst first
    assert summary["B2"].value == "not collected" and summary["D2"].value == 0.89
    assert len(summary.conditional_formatting) == len(load_thresholds().audited)
    invalid = [tuple(r) for r in wb["Invalid values"].iter_rows(values_only=True)]
    assert invalid == [  # counted by reason: no value from an extract by default
        ("service", "characteristic", "reason", "count", "distinct_values"),
        ("Day Opportunities", "ethnicity", "not a recognised code", 1, 1),
        ("Day Opportunities", "religion", "not a recognised code", 1, 1),
        ("OPPD", "age", "age over 120", 1, 1),
    ]
    files = [r for r in wb["Files"].iter_rows(values_only=True) if r[0]]
    assert any(r[2] == "not read" and str(r[1]).endswith("broken.xlsx") for r in files)


def test_html_page_is_an_accessible_heatmap(written):
    text = (written / "audit.html").read_text(encoding="utf-8")
    page = parse_html(text)
    tags = [t for t, _ in page.seen]
    assert ("html", {"lang": "en-GB"}) in page.seen
    assert "caption" in tags
    scopes = {a.get("scope") for t, a in page.seen if t == "th"}
    assert scopes == {"col", "row"}
    assert "60.0% <span class=\"rag-word\">Red</span>" in text  # RAG as text, not colour only
    assert "Files not read" in text and "broken.xlsx" in text


def test_narrative_docx_uses_heading_styles_and_matches_the_html(written, result):
    doc = Document(str(written / "audit_narrative.docx"))
    styles = [(p.style.name, p.text) for p in doc.paragraphs]
    blocks = au.narrative(result)
    assert styles[0] == ("Heading 1", blocks[0]["text"])
    assert ("Heading 2", "Gaps to chase") in styles and ("Heading 3", "OPPD") in styles
    html_text = (written / "audit_narrative.html").read_text(encoding="utf-8")
    parse_html(html_text)
    assert "<h2>Gaps to chase</h2>" in html_text and 'lang="en-GB"' in html_text


#: docs/outputs.md: the tidy keys, then the audit's measures.
AUDIT_CSV = ["area", "service", "period", "characteristic", "category", "records", "known",
             "unknown", "invalid", "known_share", "rag"]


def test_csv_file_has_exactly_the_documented_columns(written):
    frame = pd.read_csv(written / "audit.csv", keep_default_na=False)
    assert list(frame.columns) == AUDIT_CSV
    assert set(frame["period"]) == {"2026-03-31"} and set(frame["area"]) == {""}
    assert len(frame) == 4 * len(load_thresholds().audited)


# ---------------------------------------------------------------------------
# Command line


def test_cli_csv_has_exactly_the_columns_and_exit_code_0(cli):
    r = cli("audit", *GOOD_FILES, "--as-of", "2026-03-31", "--format", "csv")
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert list(frame.columns) == AUDIT_CSV
    oppd_age = frame[(frame["service"] == "OPPD") & (frame["characteristic"] == "age")]
    assert oppd_age[["records", "known", "unknown", "invalid", "known_share", "rag"]].values.tolist() \
        == [[5, 3, 1, 1, 0.6, "red"]]


def test_cli_fail_under_exits_1_and_names_what_failed(cli):
    r = cli("audit", CURRENT / "providers.csv", "--as-of", "2026-03-31", "--fail-under", "80")
    assert r.exit_code == 1
    assert "Below 80%: 1 required characteristic (--fail-under):" in r.stderr
    assert "OPPD: Age 60.0%" in r.stderr
    # providers.csv has columns for sex, age and disability only: the other seven audited
    # characteristics are not collected, which fails --fail-under unless excused
    others = ["gender_identity", "ethnicity", "religion", "sexual_orientation",
              "pregnancy_maternity", "marriage_civil_partnership", "carers"]
    excused = [a for k in others for a in ("--excuse", k)]
    assert cli("audit", CURRENT / "providers.csv", "--as-of", "2026-03-31",
               "--fail-under", "60", *excused).exit_code == 0


def test_cli_required_but_not_collected_fails_under(cli, tmp_path):
    th = tmp_path / "t.yaml"
    th.write_text("required: [ethnicity]\n", encoding="utf-8")
    r = cli("audit", CURRENT / "providers.csv", "--thresholds", th, "--fail-under", "1",
            "--as-of", "2026-03-31")
    assert r.exit_code == 1
    assert "OPPD: Ethnicity not collected" in r.stderr


def test_cli_unreadable_file_is_reported_in_every_output_and_exits_2(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("audit", CURRENT, "--previous", PREVIOUS, "--as-of", "2026-03-31",
            "--out", out, "--fail-under", "99")
    assert r.exit_code == 2  # bad input wins over the threshold
    assert "Files not read: broken.xlsx" in r.stdout
    assert "Files not read (1)" in r.stderr and "BadZipFile" in r.stderr
    assert "Worst gaps to chase" in r.stdout and "In the previous audit" in r.stdout
    for name in ("audit.html", "audit_narrative.html"):
        assert "broken.xlsx" in (out / name).read_text(encoding="utf-8")
    assert (out / "audit.xlsx").is_file() and (out / "audit_narrative.docx").is_file()


def test_cli_bad_thresholds_and_no_extracts_exit_2(cli, tmp_path):
    th = tmp_path / "t.yaml"
    th.write_text("green: 50\namber: 60\n", encoding="utf-8")
    r = cli("audit", CURRENT / "providers.csv", "--thresholds", th)
    assert r.exit_code == 2 and "amber must not be above green" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli("audit", empty)
    assert r.exit_code == 2 and "No extract files were found" in r.stderr


def test_a_narrow_terminal_gets_one_block_per_service_with_every_figure(cli, monkeypatch):
    # At 80 columns the nine-column grid would squeeze the service names out.
    from eqia.cli.app import out

    monkeypatch.setattr(out, "_width", 80)
    folder = Path(__file__).resolve().parents[1] / "examples" / "audit" / "2025-26-q4"
    r = cli("audit", folder, "--as-of", "2026-03-31")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    i = lines.index("Shared Lives")
    # Shared Lives has no Religion or Sexual Orientation column (examples/make_example.py).
    assert "Relig n/c R" in lines[i + 1] and "SexOrient n/c R" in lines[i + 1]


@pytest.mark.parametrize("extra", [[], ["--fail-under", "80"], ["--format", "csv"]])
def test_an_audit_where_no_file_can_be_read_says_so_and_shows_no_grid(cli, tmp_path, extra):
    """Not an empty grid saying "no gaps", nor a crash on --fail-under: exit code 2."""
    r = cli("audit", tmp_path / "missing.csv", "--as-of", "2026-03-31", *extra)
    assert r.exit_code == 2
    assert "No extract could be read" in r.stderr and "missing.csv" in r.stderr
    assert "no gaps" not in (r.stdout + r.stderr).lower() and r.stdout == ""


def test_below_on_an_audit_of_nothing_is_empty_not_an_error():
    result = au.audit_paths([HERE / "missing.csv"], as_of=AS_OF)
    assert list(au.below(result, 80).columns) == au.GAP_COLUMNS and au.below(result, 80).empty

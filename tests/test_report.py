"""The annual report (eqia report): figures, findings, data notes, publication safety."""

from __future__ import annotations

import csv
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from eqia.cli import app
from eqia.settings.report import TOP_LEVEL, load_report_config, parse_period

ASIAN = "Asian, Asian British or Asian Welsh"
#: Ethnicity codes and how many people have each, per period (fixture services).
YEAR1 = {"WBRI": 1900, "AIND": 26, "BAFR": 40, "MWBC": 31, "ACHN": 3}  # 2000 people
YEAR2 = {"WBRI": 1870, "AIND": 60, "BAFR": 38, "MWBC": 30, "ACHN": 2}  # 2000 people
RELIGION = {"Christian": 900, "No Religion": 1000, "Jewish": 2, "Muslim": 5, "": 93}


def _write_extract(path: Path, ethnicity: dict[str, int], orientation: bool) -> None:
    religion = [r for r, n in RELIGION.items() for _ in range(n)]
    rows = []
    i = 0
    for code, n in ethnicity.items():
        for _ in range(n):
            row = {"Client ID": f"C{i:05d}", "Date of Birth": f"15/0{1 + i % 9}/19{50 + i % 40}",
                   "Ethnicity": code, "Religion": religion[i % len(religion)]}
            if orientation:
                row["Sexual Orientation"] = "Heterosexual" if i % 50 else "Bisexual"
            rows.append(row)
            i += 1
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


REPORT_YAML = """\
title: Test annual equality report 2025-26
organisation: Test Council
period: 2025-26
area: Kent
ages: 18-
publication:
  policy: nhs
services:
  - name: Day Service
    extracts:
      2024-25: day_2024-25.csv
      2025-26: day_2025-26.csv
      last year: day_undated.csv
  - name: Outreach Service
    extracts:
      2025-26: outreach.csv
narrative:
  policy_context: |
    The Public Sector Equality Duty applies.
  priorities: |
    - Improve the recording of religion.
    - Improve the recording of sexual orientation.
"""


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("report")
    _write_extract(d / "day_2024-25.csv", YEAR1, orientation=False)
    _write_extract(d / "day_undated.csv", YEAR1, orientation=False)  # each file once
    _write_extract(d / "day_2025-26.csv", YEAR2, orientation=True)
    _write_extract(d / "outreach.csv", YEAR2, orientation=False)
    (d / "report.yaml").write_text(REPORT_YAML, encoding="utf-8")
    return d / "report.yaml"


@pytest.fixture(scope="module")
def internal(report_file):
    from eqia.documents.report import build_report

    return build_report(load_report_config(report_file), publish=False)


@pytest.fixture(scope="module")
def published(report_file):
    from eqia.documents.report import build_report

    return build_report(load_report_config(report_file), publish=True)


@pytest.fixture(scope="module")
def written(tmp_path_factory, internal, published):
    from eqia.documents.report import write_report

    root = tmp_path_factory.mktemp("out")
    return {
        "internal": (root / "internal_mode", write_report(internal, root / "internal_mode")),
        "publish": (root / "publish_mode", write_report(published, root / "publish_mode")),
    }


# --- periods and the settings file ----------------------------------------------------------


def test_period_labels_financial_and_calendar_years():
    fy = parse_period("2024-25")
    assert (fy.start.isoformat(), fy.end.isoformat()) == ("2024-04-01", "2025-03-31")
    assert parse_period("2024/25").end == fy.end
    assert parse_period("2024/2025").end == fy.end
    cal = parse_period("2025")
    assert (cal.start.isoformat(), cal.end.isoformat()) == ("2025-01-01", "2025-12-31")
    assert parse_period("last year") is None
    assert parse_period("2024-26") is None  # not one year


def test_report_template_is_valid_and_uses_only_known_fields():
    from eqia.settings.report import report_template_text

    raw = yaml.safe_load(report_template_text())
    assert set(raw) <= TOP_LEVEL
    assert {"title", "organisation", "period", "area", "services", "narrative"} <= set(raw)


def test_example_report_file_loads():
    cfg = load_report_config(Path(__file__).parents[1] / "examples" / "annual_report.yaml")
    assert [p.label for p in cfg.periods] == ["2024-25", "2025-26"]
    assert cfg.policy.method == "nhs"


# --- the change test, worked out a second way -----------------------------------------------


def _z_test_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Pooled two-proportion z-test, by hand."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k2 / n2 - k1 / n1) / se
    return math.erfc(abs(z) / math.sqrt(2))


def _fisher_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Fisher's exact test, by hand: the hypergeometric probability of every split of
    the k1 + k2 people in the category as likely as, or less likely than, the one seen."""
    k = k1 + k2

    def prob(x: int) -> float:
        return math.comb(n1, x) * math.comb(n2, k - x) / math.comb(n1 + n2, k)

    seen = prob(k1)
    return min(1.0, sum(prob(x) for x in range(max(0, k - n2), min(k, n1) + 1)
                        if prob(x) <= seen * (1 + 1e-7)))


def test_two_proportion_test_equals_the_z_test():
    from eqia.documents.report import two_proportion_test

    p, test = two_proportion_test(26, 2000, 60, 2000)
    assert test == "chi-squared test"
    assert p == pytest.approx(_z_test_p(26, 2000, 60, 2000), rel=1e-9)
    p_small, test_small = two_proportion_test(3, 2000, 2, 2000)
    assert test_small == "Fisher's exact test"
    assert p_small == pytest.approx(_fisher_p(3, 2000, 2, 2000)) == pytest.approx(1.0)
    p_apart, test_apart = two_proportion_test(1, 2000, 7, 2000)
    assert test_apart == "Fisher's exact test"
    assert p_apart == pytest.approx(_fisher_p(1, 2000, 7, 2000), rel=1e-9)
    assert p_apart == pytest.approx(0.07004, abs=1e-5)


def test_ethnicity_change_and_its_test_match_a_hand_computation(internal):
    day = internal.services[0]
    sec = next(s for s in day.sections if s.key == "ethnicity")
    ch = sec.changes.set_index("category")
    n1, n2 = sum(YEAR1.values()), sum(YEAR2.values())
    k1, k2 = YEAR1["AIND"] + YEAR1["ACHN"], YEAR2["AIND"] + YEAR2["ACHN"]
    row = ch.loc[ASIAN]
    assert (row["count_from"], row["known_from"], row["count_to"], row["known_to"]) == \
        (k1, n1, k2, n2)
    assert row["change_pp"] == pytest.approx(100 * (k2 / n2 - k1 / n1))
    assert row["p_value"] == pytest.approx(_z_test_p(k1, n1, k2, n2), rel=1e-9)


def test_which_changes_are_significant_is_holm_worked_out_by_statsmodels(internal):
    """Each broad group's p-value (statsmodels' pooled z-test) and Holm adjustment
    (statsmodels' multipletests), from the fixture's counts, not from the report's own
    p-values. White is the case that matters: 1,900 then 1,870 of 2,000 has p = 0.042
    on its own, but 0.125 once Holm allows for the four groups tested, so it is not
    significant; Asian (29 then 62) is, at 0.0019."""
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportions_ztest

    groups = {"White": ("WBRI",), ASIAN: ("AIND", "ACHN"),
              "Black, Black British, Black Welsh, Caribbean or African": ("BAFR",),
              "Mixed or Multiple ethnic groups": ("MWBC",)}
    n = [sum(YEAR1.values()), sum(YEAR2.values())]
    p = {g: proportions_ztest([sum(y[c] for c in codes) for y in (YEAR1, YEAR2)], n)[1]
         for g, codes in groups.items()}
    reject, adjusted, _, _ = multipletests(list(p.values()), alpha=0.05, method="holm")
    ch = next(s for s in internal.services[0].sections if s.key == "ethnicity").changes
    tested = ch.dropna(subset=["p_value"]).set_index("category")
    assert sorted(tested.index) == sorted(groups)  # no one in "Other" in either year
    for g, adj, sig in zip(p, adjusted, reject, strict=True):
        assert tested.at[g, "p_value"] == pytest.approx(p[g], rel=1e-9), g
        assert tested.at[g, "p_adjusted"] == pytest.approx(adj, rel=1e-9), g
        assert bool(tested.at[g, "significant"]) == bool(sig), g
    assert p["White"] == pytest.approx(0.0416, abs=1e-4)
    assert tested.at["White", "p_adjusted"] == pytest.approx(0.1248, abs=1e-4)
    assert not tested.at["White", "significant"]
    assert tested.at[ASIAN, "significant"]


def test_finding_states_the_change_and_the_population_share(internal):
    from eqia.judgement.findings import pct

    day = internal.services[0]
    sec = next(s for s in day.sections if s.key == "ethnicity")
    base = sec.population.set_index("category").at[ASIAN, "baseline_share"]
    n1, n2 = sum(YEAR1.values()), sum(YEAR2.values())
    before = f"{100 * (YEAR1['AIND'] + YEAR1['ACHN']) / n1:.1f}%"
    after = f"{100 * (YEAR2['AIND'] + YEAR2['ACHN']) / n2:.1f}%"
    text = next(f for f in sec.findings if ASIAN in f and "rose" in f)
    assert f"rose from {before} in 2024-25 to {after} in 2025-26" in text
    side = "below" if (YEAR2["AIND"] + YEAR2["ACHN"]) / n2 < base else "above"
    assert f"{side} the {pct(base)} of Kent's population aged 18 and over" in text
    assert text in day.findings


# --- data notes --------------------------------------------------------------------------


def test_missing_year_unparsed_period_and_uncollected_characteristic_are_noted(internal):
    notes = {(n.service, n.code): n.text for n in internal.all_notes}
    assert "last year" in notes[("Day Service", "unparsed-period")]
    assert "2024-25" in notes[("Outreach Service", "missing-period")]
    assert "sexual orientation" in notes[("Day Service", "not-collected")]
    # The report still has both services and every period that parsed.
    assert [s.name for s in internal.services] == ["Day Service", "Outreach Service"]
    assert [p.label for p in internal.services[0].periods] == ["2024-25", "2025-26"]


@pytest.mark.slow
def test_data_notes_appear_in_the_documents(written):
    from docx import Document

    folder, files = written["internal"]
    html = next(p for p in files.public if p.suffix == ".html").read_text(encoding="utf-8")
    assert "Data notes" in html and "last year" in html and "no extract for 2024-25" in html
    doc = Document(next(p for p in files.public if p.suffix == ".docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "last year" in text


# --- publication safety ----------------------------------------------------------------------


class _Text(HTMLParser):
    """Collects table cells and prose (p, li) text separately."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.prose: list[str] = []
        self._stack: list[str] = []
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th", "p", "li"):
            self._stack.append(tag)
            self._buf.append("")

    def handle_endtag(self, tag):
        if self._stack and tag == self._stack[-1]:
            self._stack.pop()
            text = self._buf.pop().strip()
            (self.cells if tag in ("td", "th") else self.prose).append(text)

    def handle_data(self, data):
        if self._buf:
            self._buf[-1] += data


SMALL_CELL = re.compile(r"^([1-7])(?: \(|$)")
#: A small count in prose: a lone 1-7 that is not part of a share, decimal, date or label.
SMALL_PROSE = re.compile(
    r"(?<![\d.,:\-/])\b([1-7])\b(?![\d.,%\-/])(?! (?:April|March|January|December|to \d))")


def _small_numbers(html: str) -> tuple[list[str], list[str]]:
    """Small counts in the tables and prose (the method section states rules, not counts)."""
    parser = _Text()
    parser.feed(html.split('<section id="method"')[0])
    cells = [c for c in parser.cells if SMALL_CELL.match(c)]
    prose = [p for p in parser.prose
             if SMALL_PROSE.search(re.sub(r"Table \d+|section 149|p = [\d.<]+", "", p))]
    return cells, prose


def test_published_html_shows_no_count_from_1_to_7(written):
    _, files = written["publish"]
    html = next(p for p in files.public if p.suffix == ".html").read_text(encoding="utf-8")
    cells, prose = _small_numbers(html)
    assert cells == [] and prose == []
    assert "*" in html  # the small counts are there, as the marker
    assert "Internal – not for publication" not in html


def test_internal_html_shows_small_counts_and_the_banner(written):
    _, files = written["internal"]
    html = next(p for p in files.public if p.suffix == ".html").read_text(encoding="utf-8")
    cells, _ = _small_numbers(html)
    assert cells  # the check above would catch small counts
    assert 'class="banner"' in html and "Internal – not for publication" in html


def test_published_figures_are_rounded_to_5(published):
    day = published.services[0]
    for sec in day.sections:
        shown = sec.table.values.stack().dropna()
        assert all(int(v) % 5 == 0 for v in shown), sec.name


def test_suppression_log_is_only_written_internally(written):
    folder, files = written["publish"]
    assert [p.relative_to(folder).as_posix() for p in files.internal] == [
        "internal/suppression_log.csv"]
    log = (folder / "internal" / "suppression_log.csv").read_text(encoding="utf-8")
    assert "primary" in log
    for p in files.public:
        assert p.parent == folder
        assert "suppression_log" not in p.name
    internal_folder, internal_files = written["internal"]
    assert internal_files.internal == [] and not (internal_folder / "internal").exists()


# --- documents -----------------------------------------------------------------------------


def test_docx_has_headings_header_rows_alt_text_title_and_language(written):
    from docx import Document
    from docx.oxml.ns import qn

    _, files = written["publish"]
    doc = Document(next(p for p in files.public if p.suffix == ".docx"))
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert {"Policy context", "Key findings", "Day Service", "Outreach Service",
            "Key priorities for the coming year", "Data notes", "Method and sources"} <= set(h1)
    h2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert "Ethnicity" in h2 and "Completeness of equality data" in h2
    assert doc.tables
    for t in doc.tables:
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert doc.inline_shapes
    for shape in doc.inline_shapes:
        assert shape._inline.docPr.get("descr", "").startswith("Bar chart")
    assert doc.core_properties.title == "Test annual equality report 2025-26"
    assert doc.core_properties.language == "en-GB"
    header = doc.sections[0].header.paragraphs[0].text
    assert "not for publication" not in header.lower()


def test_internal_docx_says_not_for_publication_on_every_page(written):
    from docx import Document

    _, files = written["internal"]
    doc = Document(next(p for p in files.public if p.suffix == ".docx"))
    for part in (doc.sections[0].header, doc.sections[0].footer):
        assert part.paragraphs[0].text == "Internal – not for publication"


def test_xlsx_has_one_sheet_per_table_with_frozen_headers(written):
    from openpyxl import load_workbook

    _, files = written["publish"]
    wb = load_workbook(next(p for p in files.public if p.suffix == ".xlsx"))
    assert {"Contents", "Key findings", "S1 completeness", "S1 Ethnicity", "Data notes"} <= \
        set(wb.sheetnames)
    for name in wb.sheetnames[1:]:
        assert wb[name].freeze_panes == "A2"
    rows = list(wb["S1 Religion or belief"].iter_rows(values_only=True))
    numbers = [j for j, h in enumerate(rows[0]) if h.endswith(" number")]
    assert len(numbers) == 2
    # A number column holds numbers only: a hidden count is an empty cell, and the status
    # column after the period's share says so (Jewish 2 and Muslim 5 are hidden in 2025-26).
    for j in numbers:
        assert rows[0][j + 2] == rows[0][j].replace(" number", " status")
        for row in rows[1:]:
            assert (row[j] is None) == (row[j + 2] == "suppressed"), row
            assert row[j] is None or (isinstance(row[j], int) and row[j] % 5 == 0), row
            assert row[j + 1] is None or isinstance(row[j + 1], int | float), row
    latest = {row[0]: (row[numbers[-1]], row[numbers[-1] + 2]) for row in rows[1:]}
    assert latest["Jewish"] == latest["Muslim"] == (None, "suppressed")
    assert latest["Christian"] == (900, None)
    people = list(wb["S1 completeness"].iter_rows(values_only=True))
    assert "Status" in people[0]
    for row in people[1:]:
        assert all(v is None or isinstance(v, int | float) for v in row[2:5]), row


def _tidy(report):
    from eqia.documents.report import report_tidy

    frame = report_tidy(report)
    return frame, frame.set_index(["service", "period", "characteristic", "category"]).sort_index()


def test_tidy_table_holds_the_true_counts_internally(internal):
    """docs/outputs.md's columns; the fixture's counts (YEAR2, RELIGION), worked out by
    hand; the categories of a characteristic add up to its recorded total."""
    from eqia.documents.tidy import TIDY_KEYS

    frame, t = _tidy(internal)
    assert list(frame.columns)[:5] == list(TIDY_KEYS)
    assert set(frame["area"]) == {"Kent"}
    eth = t.loc[("Day Service", "2025-26", "ethnicity")]
    assert eth["count"].to_dict() == {
        "White": 1870, ASIAN: 62, "Black, Black British, Black Welsh, Caribbean or African": 38,
        "Mixed or Multiple ethnic groups": 30, "Other ethnic group": 0}
    assert set(eth["people"]) == set(eth["recorded"]) == {2000}
    assert eth["share_of_known"][ASIAN] == pytest.approx(62 / 2000, abs=0.0005)
    rel = t.loc[("Day Service", "2025-26", "religion")]
    assert rel["count"]["Jewish"] == 2 and rel["count"]["Muslim"] == 5
    assert set(rel["recorded"]) == {1907} and set(rel["people"]) == {2000}
    assert not frame["suppressed"].any()
    sums = frame.groupby(["service", "period", "characteristic"])[["count", "recorded"]].agg(
        {"count": "sum", "recorded": "first"})
    assert (sums["count"] == sums["recorded"]).all()
    # The change and the population comparison are on the latest period's rows only.
    assert frame.loc[frame["period"] == "2024-25", "baseline_share"].isna().all()
    assert eth["baseline_share"].notna().all()
    assert eth["change_pp"][ASIAN] == pytest.approx(100 * (62 - 29) / 2000, abs=0.05)


def test_tidy_table_published_hides_what_the_documents_hide(published):
    """Hidden exactly where the disclosure log says; every count shown rounded to 5."""
    from eqia.settings.characteristics import display_name

    frame, _ = _tidy(published)
    log = published.suppression_log()  # table: "<service> | <characteristic's name>"
    cells = {(r.service, display_name(r.characteristic), r.category, r.period)
             for r in frame.itertuples()}
    hidden_log = {(r.service, r.table.split(" | ")[-1], str(r.row), r.column)
                  for r in log.itertuples()} & cells
    hidden = frame[frame["suppressed"]]
    assert hidden["count"].isna().all() and hidden["share_of_known"].isna().all()
    assert {(r.service, display_name(r.characteristic), r.category, r.period)
            for r in hidden.itertuples()} == hidden_log
    assert ("Day Service", "religion", "Jewish", "2025-26") in \
        set(zip(hidden["service"], hidden["characteristic"], hidden["category"],
                hidden["period"], strict=True))
    shown = frame.loc[~frame["suppressed"], "count"]
    assert shown.notna().all() and (shown % 5 == 0).all()


def test_report_writes_the_tidy_table_in_each_format_asked(published, tmp_path):
    import pandas as pd

    from eqia.documents.report import write_report

    written = write_report(published, tmp_path, formats=("csv", "parquet", "json"))
    assert sorted(p.suffix for p in written.public) == [".csv", ".json", ".parquet"]
    by = {p.suffix: p for p in written.public}
    csv_frame = pd.read_csv(by[".csv"], keep_default_na=False, na_values=[""])
    parquet = pd.read_parquet(by[".parquet"])
    records = pd.read_json(by[".json"], orient="records")
    assert len(csv_frame) == len(parquet) == len(records) > 0
    assert str(parquet["count"].dtype) == "Int64" and str(parquet["suppressed"].dtype) == "boolean"
    pd.testing.assert_series_equal(csv_frame["count"].astype("Int64"), parquet["count"])
    assert records["count"].isna().sum() == parquet["count"].isna().sum() > 0


# --- the command ---------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_builds_the_report_and_lists_data_notes(report_file, tmp_path):
    result = CliRunner().invoke(app, ["report", str(report_file), "--out", str(tmp_path / "r"),
                                      "--publish"])
    assert result.exit_code == 0, result.output
    assert "data note" in result.output and "last year" in result.output
    assert sorted(p.suffix for p in (tmp_path / "r").iterdir() if p.is_file()) == \
        [".docx", ".html", ".xlsx"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("title: [unclosed", "not valid YAML"),
        ("title: T\norganisation: O\nperiod: 2025-26\nservices: []\n",
         "The required field 'area' is missing"),
        ("title: T\norganisation: O\nperiod: 2025-26\narea: Kent\nservices:\n"
         "  - name: S\n    extracts:\n      2025-26: nowhere.csv\n", "does not exist"),
        ("title: T\norganisation: O\nperiod: next year\narea: Kent\nservices: []\n",
         "period is not a period eqia can read"),
    ],
)
def test_cli_exits_2_on_a_bad_report_file(tmp_path, content, message):
    path = tmp_path / "report.yaml"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert message in result.output


def test_init_report_writes_the_commented_example(tmp_path):
    path = tmp_path / "report.yaml"
    result = CliRunner().invoke(app, ["init", str(path), "--report"])
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8").startswith("# Annual equality and diversity report")

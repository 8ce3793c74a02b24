"""eqia init and eqia screen end to end, through the command line, on the bundled example.

The example extract is screened once per module (about 3 seconds). The numbers the
documents must show are counted here from the CSV with pandas, independently of eqia,
and the intervals recomputed with statsmodels; nothing expected is copied from output.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from docx import Document
from docx.oxml.ns import qn
from statsmodels.stats.proportion import proportion_confint

from .conftest import EXAMPLE_EXTRACT, EXAMPLES, GRID_LABELS, NS_WP

PROPOSAL = EXAMPLES / "mh_support_proposal.yaml"
BASENAME = "community-mental-health-support-service-redesign"


# --- independent counts from the example CSV ------------------------------------------

@pytest.fixture(scope="module")
def csv() -> pd.DataFrame:
    return pd.read_csv(EXAMPLE_EXTRACT, dtype=str, keep_default_na=False)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ci(k: int, n: int) -> str:
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson" if min(k, n - k) >= 50
                                   else "beta")
    return f"{_pct(low)} to {_pct(high)}"


def _byar_ci(o: int, n: int, z: float = 1.959963984540054) -> str:
    """Byar's limits from 10 observed, exact Poisson (chi-square) below, over N."""
    from scipy.stats import chi2

    if o < 10:
        low, high = chi2.ppf(0.025, 2 * o) / 2 if o else 0.0, chi2.ppf(0.975, 2 * (o + 1)) / 2
    else:
        low = o * (1 - 1 / (9 * o) - z / (3 * o ** 0.5)) ** 3
        high = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * (o + 1) ** 0.5)) ** 3
    return f"{_pct(low / n)} to {_pct(high / n)}"


def expected_counts(csv: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Category counts per characteristic, from the raw codes (see the mapping file)."""
    eth = csv["Ethnicity"]
    broad = {
        "Asian, Asian British or Asian Welsh": eth.str.match(r"^A[A-Z]{3}$")
        | (eth == "Asian / Asian British"),
        "Black, Black British, Black Welsh, Caribbean or African": eth.str.match(r"^B[A-Z]{3}$"),
        "Mixed or Multiple ethnic groups": eth.str.match(r"^M[A-Z]{3}$"),
        "White": eth.str.match(r"^W[A-Z]{3}$") | (eth == "White British"),
        "Other ethnic group": eth.str.match(r"^O[A-Z]{3}$"),
    }
    dob = pd.to_datetime(csv["Date of Birth"], format="%d/%m/%Y", errors="coerce")
    birthday_to_come = (dob.dt.month > 3) | ((dob.dt.month == 3) & (dob.dt.day > 31))
    age = 2026 - dob.dt.year - birthday_to_come.astype(int)
    age = age[(age >= 0) & (age <= 115)]
    bands = pd.cut(age, [18, 25, 35, 45, 55, 65, 75, 85, 200], right=False,
                   labels=["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+"])
    rel = csv["Religion"]
    mar = csv["Marital Status"]
    return {
        "Age": bands.value_counts().to_dict(),
        "Disability": {"Disabled under the Equality Act": (csv["Disability"] == "Y").sum(),
                       "Not disabled under the Equality Act": (csv["Disability"] == "N").sum()},
        "Sex": {"Female": (csv["Gender"] == "Female").sum(),
                "Male": (csv["Gender"] == "Male").sum()},
        "Ethnicity": {k: int(v.sum()) for k, v in broad.items()},
        "Religion or belief": {
            "No religion": (rel == "No Religion").sum(), "Christian": (rel == "Christian").sum(),
            "Buddhist": (rel == "Buddhist").sum(), "Hindu": (rel == "Hindu").sum(),
            "Jewish": (rel == "Jewish").sum(), "Muslim": (rel == "Muslim").sum(),
            "Sikh": (rel == "Sikh").sum(), "Other religion": rel.isin(["Other", "Pagan"]).sum(),
        },
        "Marriage and civil partnership": {
            "Never married and never registered a civil partnership":
                mar.isin(["Single", "Cohabiting"]).sum(),
            "Married or in a registered civil partnership":
                mar.isin(["Married", "Civil Partnership"]).sum(),
            "Separated, but still legally married or still legally in a civil partnership":
                (mar == "Separated").sum(),
            "Divorced or civil partnership dissolved": (mar == "Divorced").sum(),
            "Widowed or surviving civil partnership partner": (mar == "Widowed").sum(),
        },
        "Carers": {"Provides unpaid care": (csv["Carer"] == "Yes").sum(),
                   "Provides no unpaid care": (csv["Carer"] == "No").sum()},
    }


# --- one screening of the example, through the CLI --------------------------------------

@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    from typer.testing import CliRunner

    from eqia.cli import app

    out = tmp_path_factory.mktemp("screen") / "out"
    result = CliRunner().invoke(app, ["screen", str(PROPOSAL), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result, out


@pytest.fixture(scope="module")
def doc(screened):
    return Document(str(screened[1] / f"{BASENAME}.docx"))


def _tables_starting(doc, header: str):
    return [t for t in doc.tables if t.rows[0].cells[0].text.strip() == header]


def _rows(table) -> list[list[str]]:
    return [[c.text.strip() for c in r.cells] for r in table.rows]


def _text(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


@pytest.mark.slow
def test_screen_writes_word_html_and_markdown(screened):
    result, out = screened
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{BASENAME}.docx", f"{BASENAME}.html", f"{BASENAME}.md",
                            f"{BASENAME}_charts"])
    for suffix in ("docx", "html", "md"):
        assert f"Wrote {out / BASENAME}.{suffix}" in result.stderr  # messages on stderr
    assert result.stdout == ""  # the documents are the output: nothing on stdout


def test_grid_has_ten_rows_with_the_expected_ratings_and_the_officer_winning(doc, csv):
    (grid,) = _tables_starting(doc, "Characteristic")
    rows = _rows(grid)[1:]
    assert [r[0] for r in rows] == GRID_LABELS
    cells = {r[0]: r[2] for r in rows}
    # Where the proposal gives a rating, the officer's comes first and the data's beside it.
    assert cells["Age"].startswith("Officer: MEDIUM (Negative)\nSuggested from data: HIGH")
    assert cells["Disability"].startswith("Officer: MEDIUM (Negative)\n"
                                          "Suggested from data: HIGH (Negative)")
    # Everywhere else the suggestion stands, for the officer to confirm.
    n = len(csv)
    known = {
        "Gender identity": csv["Gender same as at birth"].isin(["Yes", "No"]).sum(),
        "Religion or belief": sum(expected_counts(csv)["Religion or belief"].values()),
        "Sexual orientation": csv["Sexual Orientation"].isin(
            ["Heterosexual", "Gay Man/Woman", "Bisexual", "Other"]).sum(),
    }
    for label, k in known.items():  # under half recorded: the data cannot show the impact
        assert k / n < 0.5
        assert cells[label].startswith("Suggested from data – officer to confirm: UNKNOWN")
        assert f"not recorded for {round(100 * (n - k) / n)}% of people" in cells[label]
    assert "Pregnancy and maternity" not in " ".join(csv.columns)
    assert cells["Pregnancy and maternity"].startswith(
        "Suggested from data – officer to confirm: UNKNOWN")
    # A reduction and relocation: groups who use the service more than expected lose most.
    # Race: Mixed or Multiple ethnic groups are more than expected against Kent's people aged
    # 18 and over, age-adjusted, whatever the unrecorded values are. Carers: more than
    # expected too, but compared with Kent's people aged 5 and over (no unpaid care by age
    # is published) and age alone could explain it: MEDIUM.
    suggested = {"Sex/Gender": "LOW", "Race": "HIGH (Negative)",
                 "Marriage and civil partnership": "NONE",
                 "Carer's responsibilities": "MEDIUM (Negative)"}
    for label, rating in suggested.items():
        assert cells[label].startswith(f"Suggested from data – officer to confirm: {rating}\n")
    # Each suggestion lists its reasons, with the numbers: the main concern first ...
    ages = expected_counts(csv)["Age"]
    share = ages["25-34"] / sum(ages.values())
    assert (f"Disproportionately affected – people aged 25-34: more than expected, "
            f"{_pct(share)} of service users against") in cells["Age"]
    assert "This holds whatever the 61 unrecorded values are." in cells["Age"]
    assert "allowing for the 8 groups compared (Holm's method), p < 0.001" in cells["Age"]
    assert ("Mixed or Multiple ethnic groups: more than expected, 3.1% of service users "
            "against 1.7% expected from Kent's population aged 18 and over for the service's "
            "age profile (ratio 1.79); allowing for the 5 groups compared (Holm's method), "
            "p < 0.001. This holds whatever the 274 unrecorded values are.") in cells["Race"]
    # ... then the secondary reading: fewer older people, shown but not rated
    assert "Under-reached (secondary): people aged 65-74 (ratio " in cells["Age"]
    carers = expected_counts(csv)["Carers"]
    share = carers["Provides unpaid care"] / sum(carers.values())
    assert (f"Disproportionately affected – Provides unpaid care: more than expected, "
            f"{_pct(share)} of service users") in cells["Carer's responsibilities"]
    assert "Not counted towards the rating" in cells["Disability"]
    assert "Not covered for a change to a service" in cells["Marriage and civil partnership"]


def test_grid_shows_the_officers_other_answers(doc):
    (grid,) = _tables_starting(doc, "Characteristic")
    rows = {r[0]: r for r in _rows(grid)[1:]}
    assert rows["Age"][1].startswith("YES – Older people are less likely to use online support")
    assert rows["Age"][3].startswith("a) Internal action: Keep a telephone route")
    assert rows["Age"][4] == "YES – Longer opening hours help people of working age."
    assert rows["Disability"][3].endswith(
        "b) Further assessment: Ask disabled people's organisations about travel to the four hubs.")
    assert rows["Race"][1] == "Officer to complete"


def test_cli_summary_names_whose_rating_each_row_shows(screened):
    out = screened[0].stderr
    assert re.search(r"Age\s+MEDIUM\s+\(officer; the data suggests HIGH\)", out)
    assert re.search(r"Race\s+HIGH\s+\(suggested from data\)", out)
    assert "Suggested judgement: Option 3 – Full impact assessment." in out
    assert "Main concern for the proposed changes: disproportionately affected groups." in out


def test_part2_tables_hold_the_counts_shares_and_intervals_counted_from_the_csv(doc, csv):
    expected = expected_counts(csv)
    tables = _tables_starting(doc, "Category")
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 3"][3:]
    compared = [h for h in headings if h != "Pregnancy and maternity"]
    assert len(tables) == len(compared) == 9
    by_name = dict(zip(compared, tables, strict=True))
    for name, counts in expected.items():
        rows = {r[0]: r for r in _rows(by_name[name])[1:]}
        total = sum(int(v) for v in counts.values())
        for category, k in counts.items():
            row = rows[category]
            assert row[1] == f"{int(k):,}", (name, category)
            assert row[2] == _pct(k / total), (name, category)
            # Age-adjusted (the census crosses these with age): the count's Byar limits over
            # N, as the ratio's; crude rows: the share's Wilson (or exact) interval.
            if name in ("Sex", "Ethnicity", "Religion or belief",
                        "Marriage and civil partnership"):
                assert row[3] == _byar_ci(int(k), total), (name, category)
            else:
                assert row[3] == _ci(int(k), total), (name, category)
            assert row[4].endswith("%")
            assert row[6]  # a flag in words
        # Crude comparisons (the census has no age breakdown): ratio = service / area share.
        if name not in ("Sex", "Age", "Ethnicity", "Religion or belief",
                        "Marriage and civil partnership"):
            for category, k in counts.items():
                row = rows[category]
                service, area = 100 * k / total, float(row[4][:-1])  # area share to 0.1%
                low, high = service / (area + 0.05) - 0.005, service / (area - 0.05) + 0.005
                assert low <= float(row[5]) <= high, (name, row)
    assert _rows(by_name["Gender identity"])[0][4] == "Kent share"


def test_part2_says_what_is_missing_in_plain_english(doc, csv):
    text = _text(doc)
    n = len(csv)
    religion_known = sum(expected_counts(csv)["Religion or belief"].values())
    missing = round(100 * (n - religion_known) / n)
    assert (f"Religion or belief is not recorded for {missing}% of the {n:,} people using "
            "the service") in text
    assert "so the impact on this group cannot be assessed from service data." in text
    assert ("Pregnancy or maternity status is not recorded in the service's data, so the "
            "impact on this group cannot be assessed from service data.") in text
    blank_religion = (csv["Religion"].isin(["", "Not Recorded"])).sum()
    assert f"Not known (not asked or not recorded): {blank_religion:,}" in text


def test_pregnancy_and_gender_reassignment_get_guidance_on_other_evidence(doc):
    text = _text(doc)
    assert "Guidance: Census 2021 does not measure pregnancy and maternity" in text
    assert "live births" in text
    assert "Guidance: The protected characteristic is gender reassignment." in text


def test_judgement_and_action_plan(doc):
    text = _text(doc)
    assert "Option 3 – Full impact assessment – SUGGESTED FROM DATA" in text
    assert "Officer's judgement: The officer has not yet chosen an option." in text
    assert ("Date of full EqIA: Not yet decided: the data suggests Option 3, a full impact "
            "assessment; the officer decides") in text
    (actions,) = _tables_starting(doc, "Issue")
    issues = [r[0] for r in _rows(actions)[1:]]
    data_rows = [i for i in issues if "\nSuggested from data" in i]
    # one row per data gap ...
    for name in ("Gender identity", "Religion or belief", "Sexual orientation"):
        assert any(i.startswith(f"{name} is recorded for only") and
                   i.endswith("Suggested from data: a gap in the data") for i in data_rows)
    assert any(i.startswith("Pregnancy and maternity is not recorded") for i in data_rows)
    # ... and a mitigation row per group disproportionately affected by the reduction,
    # where missing data cannot explain the difference
    mitigation = [i for i in data_rows
                  if i.endswith("Suggested from data: mitigation for a group "
                                "disproportionately affected")]
    assert [i.split(":")[0] for i in mitigation] == [
        "Age – people aged 25-34", "Age – people aged 35-44",
        "Disability – Disabled under the Equality Act",
        "Ethnicity – Mixed or Multiple ethnic groups", "Carers – Provides unpaid care"]
    assert all("They would lose most from the proposed changes." in i for i in mitigation)
    assert not any("65-74" in i for i in data_rows)  # fewer than expected: secondary here
    assert not any("Not disabled" in i for i in data_rows)
    assert not any("arriage" in i for i in data_rows)  # not covered for services
    assert issues[-1].endswith("Added by the officer")
    assert _rows(actions)[-1][3:] == ["Service manager", "March 2027", "Within budget"]


def test_document_follows_the_council_order(doc):
    top = [p.text for p in doc.paragraphs if p.style.name in ("Heading 1", "Heading 2")]
    assert top == [
        "Equality Analysis / Impact Assessment (EqIA)", "Version history", "Screening Grid",
        "Part 1: Initial screening", "Part 2: Information and data",
        "Part 3: Involvement and engagement", "Part 4: Potential impact", "Judgement",
        "Action plan", "Monitoring and review", "Sign off", "About this document",
    ]
    (versions,) = _tables_starting(doc, "Version")
    assert _rows(versions)[1:] == [["V1", "Sam Patel", "30 October 2026", "First draft"],
                                   ["V2", "Sam Patel", "24 November 2026",
                                    "Updated with 2025-26 service data"]]
    assert "Directorate: Adult Social Care and Health" in _text(doc)


def test_document_records_version_sources_extract_and_method(doc, csv):
    from eqia import __version__

    text = _text(doc)
    assert f"Drafted with: eqia {__version__}," in text
    assert re.search(r"Population figures: ONS Census 2021 \(TS\d{3}.*\), Kent \(E10000016\)\. "
                     r".*released 2022-2023", text)
    assert f"Service data: mh_support_extract.csv ({len(csv):,} rows)." in text
    assert "Statistical method: Shares are of people with a known value" in text
    assert "Wilson" in text
    assert "How the suggested ratings were worked out:" in text


def test_word_document_is_accessible(doc):
    assert doc.paragraphs[0].style.name == "Heading 1"
    assert doc.core_properties.title == ("Equality Impact Assessment: Community Mental "
                                         "Health Support Service redesign")
    assert doc.core_properties.language == "en-GB"
    tables = list(doc.element.body.iter(qn("w:tbl")))
    assert len(tables) == 13
    for tbl in tables:
        first = tbl.find(qn("w:tr"))
        assert first.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
        assert not list(tbl.iter(qn("w:gridSpan"))) and not list(tbl.iter(qn("w:vMerge")))
    pictures = list(doc.element.body.iter(f"{NS_WP}docPr"))
    assert len(pictures) == 9
    assert all(p.get("descr", "").startswith("Chart comparing") for p in pictures)
    # flags are in words, never colour alone
    assert "Fewer than expected (strong evidence)" in "\n".join(
        c.text for t in doc.tables for r in t.rows for c in r.cells)


class _Strict(HTMLParser):
    """Collects tags and checks that every non-void element is closed in order."""

    VOID = {"meta", "img", "br", "col", "link", "hr", "input"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_html_parses_and_says_the_same(screened, csv):
    html = (screened[1] / f"{BASENAME}.html").read_text(encoding="utf-8")
    parser = _Strict()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    tags = parser.tags
    assert ("html", {"lang": "en-GB"}) in tags
    assert [t for t, _ in tags].count("h1") == 1
    assert all(a.get("alt", "").startswith("Chart comparing") for t, a in tags if t == "img")
    assert "Officer: MEDIUM (Negative)" in html
    assert f"mh_support_extract.csv ({len(csv):,} rows)" in html


def test_markdown_has_the_grid_and_part2(screened):
    md = (screened[1] / f"{BASENAME}.md").read_text(encoding="utf-8")
    assert "| **Race** | Officer to complete | Suggested from data – officer to confirm: " \
           "HIGH (Negative)" in md
    assert f"]({BASENAME}_charts/ethnicity.png)" in md
    assert md.index("## Screening Grid") < md.index("## Part 1") < md.index("## Part 2") \
        < md.index("## Part 3") < md.index("## Part 4") < md.index("## Judgement") \
        < md.index("## Action plan") < md.index("## Monitoring and review") \
        < md.index("## Sign off")


# --- the rules are configurable ----------------------------------------------------------

@pytest.fixture(scope="module")
def comparison():
    from eqia.analysis.compare import compare
    from eqia.analysis.profiling import profile_file
    from eqia.documents.proposal import load_proposal

    p = load_proposal(PROPOSAL)
    return compare(profile_file(p.extracts[0], p.mapping, as_of=p.as_of), p.area, ages=p.ages)


@pytest.mark.slow
def test_high_needs_the_flag_to_hold_across_the_whole_grid(comparison):
    from dataclasses import replace

    from eqia.judgement.assess import load_assessment_rules, suggest

    # Nine grid characteristics have a tested category (pregnancy is not collected), so
    # HIGH needs an adjusted p-value below 0.05 / 9 = 0.00556.
    assert comparison.screened == 9
    eth = comparison.headline("ethnicity").set_index("category")
    mixed = eth.loc["Mixed or Multiple ethnic groups"]
    assert mixed["flag"] == "over" and mixed["p_adjusted"] < 0.05 / 9
    assert mixed["holds_across_grid"] is True
    assert pd.isna(eth.loc["White", "holds_across_grid"])  # not flagged
    over = load_assessment_rules(adverse_direction="over")
    assert suggest(comparison, over)["ethnicity"].rating == "HIGH"
    # The same flag with an adjusted p-value of 0.01 (flagged at 0.05, not below 0.0056):
    # MEDIUM, and the reason says why; without the rule, HIGH.
    table = comparison.table.copy()
    at = (table["characteristic"] == "ethnicity") & table["flag"].isin(["under", "over"])
    table.loc[at, "p_adjusted"] = 0.01
    table.loc[at, "holds_across_grid"] = False
    weaker = replace(comparison, table=table)
    got = suggest(weaker, over)["ethnicity"]
    assert got.rating == "MEDIUM"
    assert any("Not strong enough for HIGH: with 9 characteristics screened, HIGH needs p "
               "below 0.0056" in r for r in got.reasons)
    every = load_assessment_rules(adverse_direction="over", high_across_grid=False)
    assert suggest(weaker, every)["ethnicity"].rating == "HIGH"


def test_adverse_direction_changes_the_suggestion(comparison):
    from eqia.judgement.assess import load_assessment_rules, suggest

    under = suggest(comparison, load_assessment_rules(adverse_direction="under"))
    over = suggest(comparison, load_assessment_rules(adverse_direction="over"))
    assert under["age"].rating == "HIGH"  # 65-74 and 75-84: fewer than expected
    assert any(r.startswith("Under-reached – people aged 65-74: fewer than expected")
               for r in under["age"].reasons)
    assert over["age"].rating == "HIGH"  # 25-34 and 35-44: more than expected
    assert any(r.startswith("Disproportionately affected – people aged 25-34: more than "
                            "expected") for r in over["age"].reasons)
    assert under["carers"].rating == "LOW"
    # Carers: more than expected, robustly; but the census has no unpaid care by age and
    # this adult service's ages differ from those of Kent's people aged 5 and over by more
    # than the rules' 0.25, so on its own the difference suggests MEDIUM, not HIGH.
    assert comparison.results["carers"].age_confounded
    assert over["carers"].rating == "MEDIUM"
    assert any("age-confounded" in r and "Kent's population aged 5 and over" in r
               for r in over["carers"].reasons)


def test_officer_saying_no_impact_keeps_a_firm_flag_at_medium(comparison):
    from eqia.judgement.assess import suggest

    s = suggest(comparison, affects={"age": "NO"})
    assert s["age"].rating == "MEDIUM"
    assert any("the officer says the proposal does not affect this group" in r
               for r in s["age"].reasons)


def test_rules_file_overrides_the_defaults(comparison, tmp_path):
    from eqia.judgement.assess import load_assessment_rules, suggest
    from eqia.settings.changes import focus_for

    rules = tmp_path / "rules.yaml"
    rules.write_text("adverse_direction: under\ncomplete_from_known_share: 0.95\n"
                     "max_rating: {}\n", encoding="utf-8")
    loaded = load_assessment_rules(rules)
    s = suggest(comparison, loaded, focus=focus_for(("restructure",), None, "under"))
    assert s["carers"].rating == "MEDIUM"  # 83% recorded is now incomplete
    assert s["marriage_civil_partnership"].rating == "HIGH"  # no cap (an employment proposal)


# --- eqia init ---------------------------------------------------------------------------

def test_init_writes_a_commented_file_with_every_field(cli, tmp_path):
    target = tmp_path / "my-proposal.yaml"
    r = cli("init", target)
    assert r.exit_code == 0, r.output
    text = target.read_text(encoding="utf-8")
    assert text.count("#") > 40
    raw = yaml.safe_load(text)
    for key in ("directorate", "name", "assessed", "owner", "date_initial_screening",
                "date_full_eqia", "versions", "context", "aims", "beneficiaries", "data",
                "involvement", "potential_impact", "characteristics", "judgement",
                "action_plan", "monitoring", "signoff"):
        assert key in raw, key
    assert set(raw["data"]) == {"extracts", "mapping", "area", "ages", "as_of",
                                "adverse_direction", "comparators"}
    assert raw["data"]["adverse_direction"] is None  # an override, not a default
    assert "change" in raw and "scope" in raw
    assert list(raw["characteristics"]) == [
        "age", "disability", "sex", "gender_identity", "ethnicity", "religion",
        "sexual_orientation", "pregnancy_maternity", "marriage_civil_partnership", "carers"]
    for answers in raw["characteristics"].values():
        assert list(answers) == ["affects", "how", "rating", "direction", "internal_action",
                                 "further_assessment", "promotes", "promotes_how"]
    assert set(raw["signoff"]) == {"senior_officer", "senior_job_title", "senior_date",
                                   "dmt_member", "dmt_job_title", "dmt_date"}
    assert set(raw["action_plan"][0]) == {"issue", "action", "expected_outcome", "owner",
                                          "timescale", "cost"}
    assert set(raw["versions"][0]) == {"version", "author", "date", "comment"}


def test_init_will_not_overwrite_without_force(cli, tmp_path):
    target = tmp_path / "p.yaml"
    target.write_text("mine", encoding="utf-8")
    r = cli("init", target)
    assert r.exit_code == 2 and "[file-exists]" in r.stderr
    assert target.read_text(encoding="utf-8") == "mine"
    assert cli("init", target, "--force").exit_code == 0


@pytest.mark.slow
def test_an_init_file_filled_in_minimally_screens(cli, tmp_path):
    target = tmp_path / "p.yaml"
    cli("init", target)
    r = cli("screen", target, "--out", tmp_path / "out")
    assert r.exit_code == 2
    assert "The required field 'name' is missing" in r.stderr
    assert "name: Community mental health support service" in r.stderr  # an example
    assert not (tmp_path / "out").exists()
    text = target.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name:", "name: Test service", text, count=1)
    text = text.replace("    - service_extract.csv", f"    - {EXAMPLE_EXTRACT}")
    text = re.sub(r"(?m)^  mapping:", f"  mapping: {EXAMPLES / 'mh_support_mapping.yaml'}",
                  text, count=1)
    target.write_text(text, encoding="utf-8")
    r = cli("screen", target, "--out", tmp_path / "out", "--format", "md")
    assert r.exit_code == 0, r.output
    md = (tmp_path / "out" / "test-service.md").read_text(encoding="utf-8")
    assert "Not given – officer to complete." in md  # blank text, not a placeholder


# --- bad input: a clear message, exit code 2, nothing written ----------------------------

def _variant(tmp_path: Path, edit) -> Path:
    """A copy of the example proposal (and its data) with one thing changed."""
    for name in ("mh_support_extract.csv", "mh_support_mapping.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    text = PROPOSAL.read_text(encoding="utf-8")
    out = tmp_path / "proposal.yaml"
    out.write_text(edit(text), encoding="utf-8")
    return out


BAD = {
    "invalid-yaml": (lambda t: t.replace("name: Community", "name: [Community"),
                     ["[invalid-yaml]", "not valid YAML", "proposal.yaml", "line"]),
    "missing-name": (lambda t: re.sub(r"(?m)^name: .*$", "", t),
                     ["[bad-proposal]", "required field 'name' is missing", "e.g.",
                      "name: Community mental health support service"]),
    "missing-extracts": (lambda t: t.replace("    - mh_support_extract.csv\n", ""),
                         ["required field 'data: extracts' is missing", "e.g.",
                          "service_extract.csv"]),
    "missing-area": (lambda t: t.replace("  area: Kent\n", ""),
                     ["required field 'data: area' is missing", "area: Kent"]),
    "extract-not-found": (lambda t: t.replace("- mh_support_extract.csv", "- nowhere.csv"),
                          ["[missing-file]", "does not exist", "nowhere.csv",
                           "relative to it"]),
    "mapping-not-found": (lambda t: t.replace("mapping: mh_support_mapping.yaml",
                                              "mapping: nomap.yaml"),
                          ["[missing-file]", "nomap.yaml"]),
    "unknown-area": (lambda t: t.replace("area: Kent", "area: Narnia"),
                     ["[unknown-area]", "Narnia", "eqia baselines list"]),
    "bad-rating": (lambda t: t.replace("rating: MEDIUM", "rating: SEVERE", 1),
                   ["[bad-proposal]", "characteristics: age: rating must be one of HIGH, "
                    "MEDIUM, LOW, NONE, UNKNOWN", "'SEVERE'"]),
    "bad-yes-no": (lambda t: t.replace("affects: YES", "affects: maybe", 1),
                   ["characteristics: age: affects must be one of YES, NO", "'maybe'"]),
    "unknown-characteristic": (lambda t: t.replace("  carers:\n", "  carer:\n"),
                               ["'carer' under characteristics is not a characteristic eqia knows",
                                "did you mean 'carers'?"]),
    "unknown-field": (lambda t: t + "\nbudget: 12\n", ["Unknown field 'budget'",
                                                       "The fields are: directorate"]),
    "bad-direction": (lambda t: t.replace("  as_of: 2026-03-31\n",
                                          "  as_of: 2026-03-31\n  adverse_direction: up\n"),
                      ["data: adverse_direction must be one of under, over, both", "line 41",
                       "Leave it empty to follow 'change'"]),
    "bad-change": (lambda t: t.replace("change: [reduction, relocation]",
                                       "change: [reduction, downsizing]"),
                   ["[bad-proposal]", "change must be one of closure, reduction,",
                    "line 7", "value 'downsizing'", "relocation: the service moves"]),
    "bad-option": (lambda t: t.replace("  option:\n", "  option: 4\n"),
                   ["judgement: option must be one of 1, 2, 3", "field 'judgement: option'"]),
    "comparator-not-found": (lambda t: t.replace("  area: Kent\n", "  area: Kent\n  comparators:"
                                                 "\n    ethnicity: eligible.csv\n"),
                             ["[missing-file]", "eligible.csv", "comparators: ethnicity"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_proposal_is_a_clear_error_with_nothing_written(cli, tmp_path, case):
    edit, words = BAD[case]
    proposal = _variant(tmp_path, edit)
    out = tmp_path / "out"
    r = cli("screen", proposal, "--out", out)
    assert r.exit_code == 2, r.output
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert "Traceback" not in r.output
    assert not out.exists()


def test_missing_proposal_file(cli, tmp_path):
    r = cli("screen", tmp_path / "none.yaml", "--out", tmp_path / "out")
    assert r.exit_code == 2
    assert "[missing-file]" in r.stderr and "eqia init" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_own_template_with_a_missing_value_leaves_no_output(cli, tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "eqia_screening.md.j2").write_text("# {{ proposal.name }}\n{{ proposal.budget }}\n",
                                              encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier", encoding="utf-8")
    r = cli("screen", PROPOSAL, "--out", out, "--templates", own)
    assert r.exit_code == 2
    assert "[template-missing-value]" in r.stderr and "'budget'" in r.stderr
    assert "eqia_screening.md.j2" in r.stderr and "line 2" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_templates_folder_must_exist(cli, tmp_path):
    r = cli("screen", PROPOSAL, "--out", tmp_path / "out", "--templates", tmp_path / "nope")
    assert r.exit_code == 2 and "[missing-file]" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_comparator_in_the_proposal_replaces_the_census_for_that_characteristic(cli, tmp_path):
    shares = {"White": 70, "Asian, Asian British or Asian Welsh": 12,
              "Black, Black British, Black Welsh, Caribbean or African": 8,
              "Mixed or Multiple ethnic groups": 6, "Other ethnic group": 4}
    proposal = _variant(tmp_path, lambda t: t.replace(
        "  area: Kent\n", "  area: Kent\n  comparators:\n    ethnicity: eligible.csv\n"))
    pd.DataFrame({"category": list(shares), "share": list(shares.values())}).to_csv(
        tmp_path / "eligible.csv", index=False)
    r = cli("screen", proposal, "--out", tmp_path / "out", "--format", "docx")
    assert r.exit_code == 0, r.output
    doc = Document(str(tmp_path / "out" / f"{BASENAME}.docx"))
    (table,) = [t for t in doc.tables if len(_rows(t)) == 6
                and "White" in [row[0] for row in _rows(t)]]
    header = _rows(table)[0]
    col = next(i for i, h in enumerate(header) if "share" in h.lower() and "ervice" not in h)
    shown = {row[0]: row[col] for row in _rows(table)[1:]}
    assert shown == {k: f"{v:.1f}%" for k, v in shares.items()}
    assert header[col] == "Comparator share"
    assert "Compared with the comparator population (eligible.csv), not the census" in _text(doc)


# --- publication: the same disclosure rule as the annual report ----------------------------

def _part2_tables(doc) -> dict[str, list[list[str]]]:
    """Part 2 tables by the heading above them."""
    out, heading = {}, None
    body = doc.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p") and "Heading" in (child.xpath("string(.//w:pStyle/@w:val)")):
            heading = child.xpath("string(.)")
        elif child.tag == qn("w:tbl") and heading:
            table = next(t for t in doc.tables if t._tbl is child)
            if _rows(table)[0][:2] == ["Category", "Service users (n)"]:
                out[heading] = _rows(table)
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory, csv):
    from typer.testing import CliRunner

    from eqia.cli import app

    runs = {}
    for method in ("threshold", "nhs"):
        base = tmp_path_factory.mktemp(f"pub-{method}")
        policy = base / "policy.yaml"
        policy.write_text(f"method: {method}\n", encoding="utf-8")
        out = base / "out"
        r = CliRunner().invoke(app, ["screen", str(PROPOSAL), "--out", str(out), "--publish",
                                     "--policy", str(policy), "--format", "docx,md"])
        assert r.exit_code == 0, r.output
        runs[method] = (r, out, Document(str(out / f"{BASENAME}.docx")))
    return runs


@pytest.mark.slow
def test_published_eqia_hides_every_count_under_10_and_names_no_hidden_group(published, csv):
    r, out, doc = published["threshold"]
    tables = _part2_tables(doc)
    religion = {row[0]: row for row in tables["Religion or belief"][1:]}
    counts = expected_counts(csv)["Religion or belief"]
    for category, n in counts.items():
        if n < 10:  # Buddhist 4, Hindu 8, Jewish 5 in the example
            assert religion[category][1:3] == ["*", "*"]
            assert religion[category][-1].endswith("; figures not shown, to protect privacy")
        else:
            assert religion[category][1] == f"{n:,}"
    for rows in tables.values():
        for row in rows[1:]:
            assert row[1] == "*" or int(row[1].replace(",", "")) >= 10 or row[1] == "0", row
    md = (out / f"{BASENAME}.md").read_text(encoding="utf-8")
    assert "'Other (not in the census)', which has no census counterpart" not in md
    # The split of the unknowns is not published: with the records and the known total it
    # could give a small count back by subtraction.
    assert "not stated" not in md.split("## Part 2")[1].split("## Part 3")[0].lower()
    # 'Other' (4 people, no census category) is counted with the unrecorded, so neither
    # women nor men need hiding to protect it.
    sex = {row[0]: row for row in tables["Sex"][1:]}
    assert sorted(sex) == ["Female", "Male"]
    assert sex["Male"][1] == f"{expected_counts(csv)['Sex']['Male']:,}"
    not_recorded = (csv["Gender"].isin(["Unknown", "Other"])).sum()  # 23 + 4
    assert f"Not recorded, or in a small group not compared: {not_recorded}" in md
    log = pd.read_csv(out / "internal" / "suppression_log.csv")
    hidden = log[log["table"] == "religion"].set_index("row")["value"].to_dict()
    assert {k: hidden[k] for k in ("Buddhist", "Hindu", "Jewish")} == {
        k: counts[k] for k in ("Buddhist", "Hindu", "Jewish")}
    assert "never publish" in r.stderr


def test_published_eqia_under_the_nhs_rule_rounds_and_works_shares_out_from_rounded_counts(
        published, csv):
    _, _, doc = published["nhs"]
    religion = {row[0]: row for row in _part2_tables(doc)["Religion or belief"][1:]}
    counts = expected_counts(csv)["Religion or belief"]
    rounded = {k: 5 * round(v / 5) for k, v in counts.items()}  # n / 5 is never a tie
    n = 5 * round(sum(counts.values()) / 5)
    for category, true in counts.items():
        if 1 <= true <= 7:
            assert religion[category][1] == "*"
        else:
            assert religion[category][1] == f"{rounded[category]:,}"
            assert religion[category][2] == _pct(rounded[category] / n)
            assert religion[category][3] == _ci(rounded[category], n)


@pytest.mark.slow
def test_an_age_confounded_difference_alone_never_suggests_high(comparison):
    from dataclasses import replace

    from eqia.judgement.assess import load_assessment_rules, suggest

    rules = load_assessment_rules(adverse_direction="over")
    confounded = suggest(comparison, rules)["carers"]
    # The same numbers, the age mix matched: the robust difference is HIGH.
    matched = replace(comparison, results={
        **comparison.results,
        "carers": replace(comparison.results["carers"], age_confounded=False)})
    assert suggest(matched, rules)["carers"].rating == "HIGH"
    assert confounded.rating == "MEDIUM" and confounded.direction == "Negative"


def test_high_across_grid_must_be_true_or_false(tmp_path):
    from eqia.errors import ConfigError
    from eqia.judgement.assess import load_assessment_rules

    rules = tmp_path / "rules.yaml"
    rules.write_text("high_across_grid: sometimes\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="high_across_grid") as info:
        load_assessment_rules(rules)
    assert (info.value.code, info.value.value, info.value.file) == (
        "bad-rules", "sometimes", str(rules))
    assert load_assessment_rules(high_across_grid=False).high_across_grid is False

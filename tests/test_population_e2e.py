"""A day centre for people aged 65 and over in Maidstone, through the command line:
``eqia compare``, ``eqia screen`` with a proposal and ``eqia report``. Each document must
name the exact population every characteristic is compared with.

The census figures are from SOURCES.md (Maidstone aged 65 and over: Asian 627 of 33,536)
or read from the shipped files here; nothing expected is copied from eqia's output.
"""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from docx import Document

BASENAME = "closure-of-the-maidstone-day-centre"
AGES_65 = "Maidstone's population aged 65 and over"
ALL_AGES = "Maidstone's population of all ages (no age breakdown published)"


def _extract(path: Path, n: int = 400) -> Path:
    """400 people: ages 67, 72, 81 and 88 in turn; every 50th Indian (8), the rest White
    British; 77% disabled; married below 80, widowed above; four in five Christian."""
    rows = []
    for i in range(n):
        age = (67, 72, 81, 88)[i % 4]
        rows.append({
            "Client ID": f"DC{i:04d}", "Age": age, "Gender": "F" if i % 3 else "M",
            "Ethnicity": "AIND" if i % 50 == 0 else "WBRI",
            "Disability": "Yes" if i % 100 < 77 else "No",
            "Marital Status": "Widowed" if age >= 80 else "Married",
            "Religion": "Christian" if i % 5 else "No religion",
            "Carer": "No",
        })
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


PROPOSAL = """\
name: Closure of the Maidstone day centre
directorate: Adult Social Care and Health
assessed: Closing the Maidstone day centre for older people
owner: A. Officer
data:
  extracts: [day_centre.csv]
  area: Maidstone
  ages: 65-
  as_of: 2025-03-31
"""

REPORT = """\
title: Annual Equality Report 2024-25
organisation: Example Council
period: 2024-25
area: Maidstone
services:
  - name: Maidstone day centre
    ages: 65-
    extracts:
      2024-25: day_centre.csv
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("day_centre")
    _extract(d / "day_centre.csv")
    (d / "proposal.yaml").write_text(PROPOSAL, encoding="utf-8")
    (d / "report.yaml").write_text(REPORT, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def run():
    from typer.testing import CliRunner

    from eqia.cli import app

    def go(*args):
        result = CliRunner().invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result

    return go


def test_compare_csv_names_the_population_of_every_row(folder, run):
    res = run("compare", folder / "day_centre.csv", "--area", "Maidstone", "--ages", "65-",
              "--format", "csv")
    t = pd.read_csv(io.StringIO(res.stdout), dtype=str, keep_default_na=False)
    eth = t[(t["characteristic"] == "ethnicity") & (t["age_adjusted"] == "True")]
    asian = eth[eth["category"] == "Asian, Asian British or Asian Welsh"].iloc[0]
    assert asian["population"] == AGES_65
    assert float(asian["baseline_share"]) == pytest.approx(627 / 33536, rel=1e-5)
    assert float(asian["expected"]) == pytest.approx(400 * 627 / 33536, rel=1e-5)
    dis = t[t["characteristic"] == "disability"]
    assert set(dis["population"]) == {ALL_AGES}
    assert set(dis["age_confounded"]) == {"True"}
    rel = t[t["characteristic"] == "religion"]
    assert set(rel["population"]) == {AGES_65 + " (estimated)"}
    assert set(rel["baseline_estimated"]) == {"True"}


@pytest.fixture(scope="module")
def screened(folder, run):
    out = folder / "out"
    run("screen", folder / "proposal.yaml", "--out", out)
    return out


def _grid_reasons(doc) -> dict[str, str]:
    (grid,) = [t for t in doc.tables if t.rows[0].cells[0].text.strip() == "Characteristic"]
    return {r.cells[0].text.strip(): r.cells[2].text for r in grid.rows[1:]}


@pytest.mark.slow
def test_the_grid_says_which_population_each_row_was_compared_with(screened):
    doc = Document(str(screened / f"{BASENAME}.docx"))
    grid = _grid_reasons(doc)
    assert AGES_65 in grid["Race"]
    assert ALL_AGES in grid["Disability"] and "age-confounded" in grid["Disability"]
    # 77% disabled against 17.9% of all ages: robust, but age-confounded, so never HIGH.
    assert "HIGH" not in grid["Disability"].split("\n")[0]


def test_part2_names_the_population_and_marks_the_age_confounded_comparison(screened):
    doc = Document(str(screened / f"{BASENAME}.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert f"Compared with {AGES_65}, Census 2021 ethnic group by age" in text
    assert f"Compared with {ALL_AGES}, Census 2021 table TS038; age-confounded" in text
    assert f"Compared with {AGES_65} (estimated), Census 2021 religion by age (estimated)" \
        in text
    # The partnership baseline is people aged 65 and over, not the table's 16 and over.
    assert "The base is usual residents aged 16 and over" not in text
    assert "aged 18 and over" not in text
    # No sentence calls an all-ages figure the 65+ one.
    for sentence in re.findall(r"[^.]*17\.9%[^.]*\.", text):
        assert "65 and over" not in sentence


@pytest.mark.slow
def test_the_report_says_which_population_each_finding_is_against(folder, run):
    out = folder / "report_out"
    run("report", folder / "report.yaml", "--out", out)
    page = next(out.glob("*.html")).read_text(encoding="utf-8")
    html = " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert f"compared with {ALL_AGES}, more service users than expected" in html
    assert "age alone could explain" in html
    assert f"ethnicity of service users by period, compared with {AGES_65}" in html
    assert "Maidstone's population aged 65 and over, more service users than expected were " \
           "in the group ‘Disabled" not in html


@pytest.mark.slow
def test_a_table_of_counts_gets_age_adjusted_sex_rows_through_the_cli(run, tmp_path):
    from .conftest import FIXTURES

    counts = FIXTURES / "older_people_counts.csv"
    res = run("compare", counts, "--area", "Kent", "--ages", "18-")
    assert "Sex (age-adjusted)" in res.stdout
    assert "gives ages and this characteristic as separate counts" in " ".join(
        res.stdout.split())
    # Through a proposal too: the grid no longer reports fewer men than expected.
    (tmp_path / "counts.csv").write_bytes(counts.read_bytes())
    (tmp_path / "p.yaml").write_text(
        "name: Home care\ndata:\n  extracts: [counts.csv]\n  area: Kent\n  ages: 18-\n",
        encoding="utf-8")
    run("screen", tmp_path / "p.yaml", "--out", tmp_path / "out")
    doc = Document(str(tmp_path / "out" / "home-care.docx"))
    grid = _grid_reasons(doc)
    assert "Male: fewer than expected" not in grid["Sex/Gender"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert ("Compared with Kent's population aged 18 and over, Census 2021 table TS009; "
            "ratios allow for the service's age profile") in text


@pytest.mark.slow
def test_data_from_2015_16_compared_with_census_2021_get_a_note(folder, run):
    res = run("compare", folder / "day_centre.csv", "--area", "Maidstone", "--ages", "65-",
              "--as-of", "2015-09-30")
    text = " ".join(res.stdout.split())
    assert "5.5 years before Census Day (21 March 2021)" in text
    assert "2011 Census is nearer in time" in text
    (folder / "old.yaml").write_text(REPORT.replace("2024-25", "2015-16"), encoding="utf-8")
    out = folder / "old_report"
    report = run("report", folder / "old.yaml", "--out", out)
    assert "5.5 years before Census Day" in " ".join(report.output.split())

"""The annual report's findings and publication safety, on a fixture worked out by hand.

tests/fixtures/report/day_centre_{2024-25,2025-26}.csv: 1,000 adults each year (made by
hand, see the counts below). Ethnicity: 3 invalid ('ZZ') and 7 blank each year, so 990
known; religion and disability: 10 blank, 990 known.

    ethnicity   2024-25  2025-26        religion        2024-25  2025-26
    White           905      909        Christian           500      480
    Asian            40        6        No religion         490      480
    Black            15       45        Other religion        0       30
    Mixed            30       30
    Other             0        0        disability: Disabled 600, not 390, both years

Every expected figure below is worked out here from these counts, never read from
eqia's output.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from eqia.cli import app
from eqia.documents.report import build_report, possible_counts, published_change_test
from eqia.judgement.findings import pct
from eqia.settings.disclosure import INTERNAL, load_policy
from eqia.settings.report import load_report_config

HERE = Path(__file__).resolve().parent / "fixtures" / "report"
ASIAN = "Asian, Asian British or Asian Welsh"
BLACK = "Black, Black British, Black Welsh, Caribbean or African"
ETHNICITY = {  # category: (2024-25, 2025-26)
    ASIAN: (40, 6), BLACK: (15, 45), "Mixed or Multiple ethnic groups": (30, 30),
    "White": (905, 909), "Other ethnic group": (0, 0),
}
KNOWN = 990
PEOPLE = 1000
NHS = load_policy(method="nhs")
THRESHOLD = load_policy(method="threshold")

REPORT = """\
title: Fixture report 2025-26
organisation: Test Council
period: 2025-26
area: Kent
ages: 18-
services:
  - name: Day Centre
    extracts:
      2024-25: day_centre_2024-25.csv
      2025-26: day_centre_2025-26.csv
"""


def z_test(k1: int, n1: int, k2: int, n2: int) -> float:
    """Pooled two-proportion z-test, two-sided, by hand."""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return math.erfc(abs(k2 / n2 - k1 / n1) / se / math.sqrt(2))


def holm_by_hand(p: dict[str, float]) -> dict[str, float]:
    out, running = {}, 0.0
    for i, (cat, v) in enumerate(sorted(p.items(), key=lambda kv: kv[1])):
        running = max(running, min(1.0, (len(p) - i) * v))
        out[cat] = running
    return out


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fixture-report")
    for name in ("day_centre_2024-25.csv", "day_centre_2025-26.csv"):
        (d / name).write_bytes((HERE / name).read_bytes())
    (d / "report.yaml").write_text(REPORT, encoding="utf-8")
    return d / "report.yaml"


@pytest.fixture(scope="module")
def reports(report_file):
    out = {}
    for mode, policy in (("internal", None), ("threshold", THRESHOLD), ("nhs", NHS)):
        cfg = load_report_config(report_file, policy=policy)
        out[mode] = build_report(cfg, publish=mode != "internal")
    return out


def section(report, key):
    return next(s for s in report.services[0].sections if s.key == key)


# --- the change test under rounding -----------------------------------------------------------


def test_possible_counts_under_the_nhs_rule():
    # nearest 5, halves up: 8..12 -> 10, 13..17 -> 15; 1..7 are shown as *, 0 stays 0
    assert possible_counts(10, NHS) == (8, 12)
    assert possible_counts(15, NHS) == (13, 17)
    assert possible_counts(0, NHS) == (0, 0)
    assert possible_counts(15, THRESHOLD) == (15, 15)
    assert possible_counts(15, INTERNAL) == (15, 15)


def test_published_change_test_takes_the_worst_case_over_rounding():
    shown = (460, 545, 515, 575)  # as the example's sexual orientation table rounds them
    worst = max(z_test(a, n, c, m) for a, n, c, m in itertools.product(
        *[range(x - 2, x + 3) for x in shown]))
    p, test = published_change_test(*shown, NHS)
    assert test == "chi-squared test"
    assert p == pytest.approx(worst, rel=1e-9)
    # The true counts behind the example (459, 545, 514, 575) give a smaller p-value: the
    # published test is never more confident than the data.
    assert z_test(459, 545, 514, 575) < p
    # Nothing is rounded under the threshold rule: the ordinary test.
    assert published_change_test(*shown, THRESHOLD)[0] == pytest.approx(z_test(*shown))


# --- findings, worked out by hand ---------------------------------------------------------------


@pytest.mark.slow
def test_internal_change_findings_quote_the_shares_and_holm_adjusted_p(reports):
    sec = section(reports["internal"], "ethnicity")
    tested = {c: z_test(a, KNOWN, b, KNOWN) for c, (a, b) in ETHNICITY.items() if a + b}
    adjusted = holm_by_hand(tested)
    ch = sec.changes.set_index("category")
    for cat, p in adjusted.items():
        assert ch.at[cat, "p_adjusted"] == pytest.approx(p, rel=1e-9)
    assert bool(ch.at[BLACK, "significant"]) and bool(ch.at[ASIAN, "significant"])
    assert not bool(ch.at["White", "significant"])
    base = sec.population.set_index("category")["baseline_share"]
    black = next(f for f in sec.findings if BLACK in f)
    # 15 / 990 = 1.52%, 45 / 990 = 4.55%
    assert black.startswith(f"Of service users whose ethnicity is recorded, the share in the "
                            f"group ‘{BLACK}’ rose from 1.5% in 2024-25 to 4.5% in 2025-26 "
                            "(a significant change, p < 0.001)")
    side = "above" if 45 / KNOWN > base[BLACK] else "below"
    now = "still" if (15 / KNOWN > base[BLACK]) == (side == "above") else "now"
    assert black.endswith(f", {now} {side} the {pct(base[BLACK])} of Kent's population aged "
                          "18 and over.")
    asian = next(f for f in sec.findings if ASIAN in f)
    assert "fell from 4.0% in 2024-25 to 0.6% in 2025-26" in asian  # 40/990, 6/990


def test_a_two_group_characteristic_names_only_the_smaller_group(reports):
    sec = section(reports["internal"], "disability")
    text = " ".join(sec.findings)
    # 600 / 990 = 60.6%, far above the share of disabled adults in Kent
    assert "‘Disabled under the Equality Act’ (60.6% of those whose disability status is " \
           "recorded, against" in text
    assert "Not disabled" not in text


def test_the_new_category_is_a_data_note(reports):
    notes = [n.text for n in reports["internal"].all_notes if n.code == "categories-differ"]
    # 30 / 990 = 3.0% recorded as 'Other religion' in 2025-26, none in 2024-25: at 3.0%
    # about 30 of 990 would be expected, so the zero is not chance.
    assert notes == ["Day Centre: no one is recorded as 'Other religion' (religion or belief) "
                     "in 2024-25, but 3.0% of those recorded are in 2025-26. Check that both "
                     "extracts offer this category before reading the change between them."]


def test_age_groups_outside_the_service_with_nobody_in_them_are_left_out(reports):
    ages = list(section(reports["internal"], "age").table.display.index)
    assert "0-17" not in ages  # a service for adults, nobody under 18
    assert "18-24" in ages  # inside the service's ages: a real zero, shown


# --- publication ------------------------------------------------------------------------------


def test_a_hidden_groups_finding_stands_without_its_figures(reports):
    # Asian: 6 of 990 in 2025-26 against Kent's 4.4% (about 43 expected): fewer than
    # expected, internally and when published. Published, 6 is hidden; a reader can tell
    # it is at most some value below 43, which leaves far more than one value possible,
    # so the direction is said, and no share.
    internal = section(reports["internal"], "ethnicity").population.set_index("category")
    assert internal.at[ASIAN, "flag"] == "under"
    for mode in ("threshold", "nhs"):
        sec = section(reports[mode], "ethnicity")
        assert sec.table.display.at[ASIAN, "2025-26"] == "*"  # 6 people
        pop = sec.population.set_index("category")
        assert (pop.at[ASIAN, "flag"], pop.at[ASIAN, "hidden"]) == ("under", True)
        assert pd.isna(pop.at[ASIAN, "ci_low"]) and pop.at[ASIAN, "missing_could_explain"] is None
        (said,) = [f for f in reports[mode].services[0].findings if ASIAN in f]
        base = pct(internal.at[ASIAN, "baseline_share"])  # the census share, public
        assert f"‘{ASIAN}’ (its figures not shown, against {base})" in said, said
        ch = sec.changes.set_index("category")
        assert ch.at[ASIAN, "test"] == "not tested: a figure is hidden"


def test_nhs_change_is_tested_on_what_the_rounded_figures_allow(reports):
    sec = section(reports["nhs"], "ethnicity")
    ch = sec.changes.set_index("category")
    # Black: 15 -> 15 and 45 -> 45 (already multiples of 5); 990 -> 990 known
    worst = max(z_test(a, n, c, m) for a, n, c, m in itertools.product(
        range(13, 18), range(988, 993), range(43, 48), range(988, 993)))
    assert ch.at[BLACK, "p_value"] == pytest.approx(worst, rel=1e-9)
    assert (ch.at[BLACK, "count_from"], ch.at[BLACK, "count_to"]) == (15, 45)


def test_completeness_quotes_the_characteristic_tables_own_totals(reports):
    for mode, report in reports.items():
        s = report.services[0]
        comp = s.completeness[s.completeness["collected"]].set_index(["characteristic", "period"])
        for sec in s.sections:
            for period in sec.periods:
                assert comp.at[(sec.key, period), "recorded"] == \
                    sec.table.display.at[sec.table.policy.total_label, period], (mode, sec.key)
        eth = comp.loc[("ethnicity", "2025-26")]
        # 990 of 1,000 recorded; the 3 invalid and 7 blank are never published on their own
        assert (eth["recorded"], eth["people"], eth["share_text"], eth["rag"]) == \
            ("990", "1,000", "99.0%", "green")
        log = report.suppression_log()
        assert not log["row"].isin(["Invalid", "Not known", "Not stated"]).any()


def test_threshold_publication_hides_the_small_count_and_what_would_reveal_it(reports):
    sec = section(reports["threshold"], "ethnicity")
    shown = sec.table.display
    # 2025-26: Asian 6 is hidden; with the total (990) shown, one more cell must go: the
    # cheapest, Mixed (30). Zeros stay shown.
    assert shown["2025-26"].to_dict() == {
        ASIAN: "*", BLACK: "45", "Mixed or Multiple ethnic groups": "*", "White": "909",
        "Other ethnic group": "0", "Total": "990"}
    assert shown.at[ASIAN, "2024-25"] == "40"


@pytest.mark.slow
def test_the_command_prints_the_notes_and_exits_0(report_file, tmp_path):
    result = CliRunner().invoke(app, ["report", str(report_file), "--out", str(tmp_path),
                                      "--publish", "--format", "html"])
    assert result.exit_code == 0, result.output
    assert "no one is recorded as 'Other religion'" in result.output
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert "no one is recorded as &#39;Other religion&#39;" in html or \
        "no one is recorded as 'Other religion'" in html
    frame = pd.read_html(str(next(tmp_path.glob("*.html"))))  # tables parse
    assert len(frame) >= 2


@pytest.mark.slow
def test_a_small_group_with_no_census_category_is_counted_as_not_recorded_not_hidden():
    # The example's mental health service has 4 people of sex 'Other' in 2025-26 (a
    # category the census does not have). Hiding it would mean hiding women or men too.
    examples = Path(__file__).resolve().parents[1] / "examples"
    report = build_report(load_report_config(examples / "annual_report.yaml",
                                             policy=THRESHOLD), publish=True)
    sec = next(s for s in report.services[0].sections if s.key == "sex")
    raw = pd.read_csv(examples / "mh_support_extract.csv", dtype=str, keep_default_na=False)
    gender = raw["Gender"]
    assert (gender == "Other").sum() < 10  # small: so folded, not shown
    shown = sec.table.display["2025-26"].to_dict()
    assert shown == {"Female": f"{(gender == 'Female').sum():,}",
                     "Male": f"{(gender == 'Male').sum():,}",
                     "Total": f"{gender.isin(['Female', 'Male']).sum():,}"}

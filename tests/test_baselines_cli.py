"""eqia baselines from the command line: real counts, readable tables, clear errors."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from eqia.agebands import AgeBand
from eqia.census import baselines as bl
from eqia.census.areas import ENV_BASELINE_DIR

from .conftest import SHARED_CENSUS
from .test_baselines import BROAD, needs_shared, nomis_file


@pytest.fixture(autouse=True)
def no_user_baselines(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_BASELINE_DIR, str(tmp_path / "no-user-baselines"))


@needs_shared
def test_show_kent_ethnicity_csv_prints_kents_real_counts(cli):
    r = cli("baselines", "show", "Kent", "--characteristic", "ethnicity", "--format", "csv")
    assert r.exit_code == 0, r.output
    got = pd.read_csv(io.StringIO(r.stdout))
    shared = pd.read_csv(SHARED_CENSUS / "ts021_ethnic_group.csv")
    kent = shared[(shared["geography_code"] == "E10000016") & shared["category"].isin(BROAD)]
    expected = pd.DataFrame({
        "characteristic": "ethnicity",
        "category": BROAD,
        "count": [int(kent.loc[kent["category"] == g, "count"].item()) for g in BROAD],
    })
    expected["share"] = (expected["count"] / 1_576_077).round(6)
    expected["estimated"] = False
    pd.testing.assert_frame_equal(got, expected)
    assert got["count"].sum() == 1_576_077


def test_show_csv_has_every_characteristic_with_a_census_table(cli):
    r = cli("baselines", "show", "E07000110", "--format", "csv")
    assert r.exit_code == 0, r.output
    got = pd.read_csv(io.StringIO(r.stdout))
    assert list(got.columns) == ["characteristic", "category", "count", "share", "estimated"]
    assert not got["estimated"].any()  # all ages: every count is published
    assert list(dict.fromkeys(got["characteristic"])) == [
        "age", "disability", "sex", "gender_identity", "ethnicity", "ethnicity_detailed",
        "religion", "sexual_orientation", "marriage_civil_partnership", "carers",
    ]
    known = got[got["category"] != "Not answered"]
    assert known.groupby("characteristic")["share"].sum().round(4).eq(1).all()


def test_show_bands_and_ages_restrict_age_and_sex(cli):
    r = cli("baselines", "show", "Kent", "-c", "age", "--bands", "0-17,18-64,65+", "--ages",
            "18-", "-f", "csv")
    assert r.exit_code == 0, r.output
    got = pd.read_csv(io.StringIO(r.stdout))
    assert got["category"].tolist() == ["18-64", "65+"]
    b = bl.baseline("Kent", "age", ages=AgeBand(18, None))
    assert got["count"].sum() == b.total


def test_show_table_is_readable_with_base_table_not_answered_and_caveats(cli):
    r = cli("baselines", "show", "Kent", "--characteristic", "sexual_orientation", "--ages",
            "18-64")
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert "Kent (E10000016): county (upper-tier local authority), in South East, England" in text
    assert "Census 2021 TS077 Sexual orientation" in text
    assert "Base: usual residents aged 16 and over, 1,276,564 people." in text
    assert "Not answered" in text and "85,146" in text
    assert "voluntary question" in text
    assert "close to but not the same as people aged 18 to 64" in text


def test_show_a_characteristic_the_census_does_not_measure(cli):
    r = cli("baselines", "show", "Kent", "-c", "pregnancy_maternity")
    assert r.exit_code == 0
    assert "Census 2021 does not measure pregnancy and maternity" in r.stdout


def test_list_ltla_lists_the_331_districts(cli):
    r = cli("baselines", "list", "--type", "ltla", "--format", "csv")
    assert r.exit_code == 0
    got = pd.read_csv(io.StringIO(r.stdout))
    assert len(got) == 331 and got["code"].is_unique
    table = cli("baselines", "list", "--type", "ltla")
    assert "331 areas" in table.stdout and "Maidstone" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "Narnia"], "Error [unknown-area]: No Census 2021 area is called 'Narnia'."),
        (["show", "Kentt"], "did you mean Kent (E10000016"),
        (["show", "Sussex"], "Error [ambiguous-area]: 'Sussex' could mean 3 areas."),
        (["show", "Kent", "-c", "religon"],
         "Error [unknown-characteristic]: 'religon' is not a characteristic eqia knows."),
        (["show", "Kent", "--ages", "64-18"], "Error [bad-age-range]: Age range '64-18' is "
         "reversed."),
        (["show", "Kent", "--ages", "101-"], "Age range '101-' is outside 0-100+."),
        (["show", "Kent", "--bands", "0-20,10-30"], "Age bands 0-20 and 10-30 overlap."),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_code_2(cli, args, message):
    r = cli("baselines", *args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_import_then_show_uses_the_imported_table(cli, tmp_path):
    user = tmp_path / "mine"
    f = nomis_file(tmp_path / "census2021-ts030-ltla.csv", "ts030", ["E07000110", "E07000105"],
                   add=3)
    r = cli("baselines", "import", f, "--dir", user)
    assert r.exit_code == 0, r.output
    assert "census2021-ts030-ltla.csv: TS030 Religion, 2 areas" in r.stderr  # a message
    shown = cli("baselines", "show", "Maidstone", "-c", "religion", "--dir", user)
    assert "Source: your imported baseline (census2021-ts030-ltla.csv" in shown.stdout
    csv = cli("baselines", "show", "Maidstone", "-c", "religion", "-f", "csv", "--dir", user)
    got = pd.read_csv(io.StringIO(csv.stdout))
    assert got["count"].sum() == bl.baseline("Maidstone", "religion").total + 9 * 3


def test_import_of_a_file_that_is_not_a_census_table_exits_2(cli, tmp_path):
    bad = tmp_path / "extract.csv"
    bad.write_text("id,ethnicity\n1,White\n")
    r = cli("baselines", "import", bad, "--dir", tmp_path / "mine")
    assert r.exit_code == 2
    assert "Error [not-a-census-table]: The file is not a Nomis bulk Census 2021 table" in r.stderr
    assert not (tmp_path / "mine").exists()


def test_show_with_ages_gives_the_eligible_population_and_marks_estimates(cli):
    # Maidstone aged 65 and over: Asian 627 (SOURCES.md), published; religion estimated.
    r = cli("baselines", "show", "Maidstone", "--ages", "65-", "-f", "csv")
    assert r.exit_code == 0, r.output
    got = pd.read_csv(io.StringIO(r.stdout))
    eth = got[got["characteristic"] == "ethnicity"].set_index("category")
    assert eth.loc["Asian, Asian British or Asian Welsh", "count"] == 627
    assert not eth["estimated"].any()
    assert got[got["characteristic"] == "religion"]["estimated"].all()
    text = cli("baselines", "show", "Maidstone", "--ages", "65-", "-c", "religion").stdout
    assert "religion by age (estimated)" in text and "Estimated, not published" in text

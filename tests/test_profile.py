"""eqia profile: every row counted once, in a category, as unknown, or as invalid."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqia.analysis.profile import check_reconciled
from eqia.analysis.profiling import profile_file

from .conftest import EXAMPLE_AS_OF, EXAMPLE_EXTRACT, EXAMPLE_MAPPING


def example():
    return profile_file(EXAMPLE_EXTRACT, EXAMPLE_MAPPING, as_of=EXAMPLE_AS_OF)


def raw_column(name: str) -> Counter:
    with EXAMPLE_EXTRACT.open(encoding="utf-8") as fh:
        return Counter(row[name] for row in csv.DictReader(fh))


def test_sex_counts_equal_the_raw_values_counted_independently():
    raw = raw_column("Gender")
    counts = example().category_counts("sex")
    assert counts["Female"] == raw["Female"]
    assert counts["Male"] == raw["Male"]
    assert counts["Other (not in the census)"] == raw["Other"]
    assert example().unknown_by_reason("sex") == {"not_known": raw["Unknown"]}


def test_ethnic_groups_add_up_the_system_codes():
    raw = raw_column("Ethnicity")
    white = raw["WBRI"] + raw["White British"] + raw["WOTH"] + raw["WIRI"] + raw["WIRT"] + raw["WROM"]
    asian = raw["AIND"] + raw["APKN"] + raw["ABAN"] + raw["ACHN"] + raw["AOTH"]
    asian += raw["Asian / Asian British"]
    p = example()
    counts = p.category_counts("ethnicity")
    assert counts["White"] == white
    assert counts["Asian, Asian British or Asian Welsh"] == asian
    assert p.unknown_by_reason("ethnicity") == {
        "blank": raw[""],
        "not_known": raw["Not Yet Obtained"] + raw["XX"],  # XX mapped in the mapping file
        "not_stated": raw["REFU"],
    }
    assert p.invalid_values("ethnicity")[["value", "count"]].values.tolist() == [["W9", raw["W9"]]]
    # The detailed view cannot place "Asian / Asian British": it is unknown there, not lost.
    assert p.unknown_by_reason("ethnicity_detailed")["group_only"] == raw["Asian / Asian British"]


def test_every_characteristic_of_the_example_reconciles_to_the_row_count():
    p = example()
    rec = p.reconciliation()
    collected = rec[rec["status"] == "collected"]
    assert (collected["rows"] == 3012).all()
    assert (collected["in_categories"] + collected["unknown"] + collected["invalid"] == 3012).all()
    assert rec.set_index("characteristic").at["pregnancy_maternity", "status"] == "not collected"


def test_future_dates_of_birth_and_ages_over_120_are_invalid_not_dropped():
    inv = example().invalid_values("age").set_index("value")
    assert inv.at["14/06/2031", "reason"] == "date of birth after the as-of date"
    assert inv.at["02/01/1890", "reason"] == "age over 120"
    assert inv.at["31/02/1980", "reason"] == "not a date"


def test_age_is_worked_out_on_the_as_of_date(tmp_path):
    f = tmp_path / "ages.csv"
    f.write_text("DOB,Sex\n31/03/2008,F\n01/04/2008,M\n2000-01-01,F\n", encoding="utf-8")
    p = profile_file(f, as_of=dt.date(2026, 3, 31), age_bands="0-17,18-25,26+")
    # 31/03/2008 turns 18 on the as-of date; 01/04/2008 is still 17; 2000-01-01 is 26.
    assert p.category_counts("age").to_dict() == {"0-17": 1, "18-25": 1, "26+": 1}


def test_age_band_labels_and_numeric_ages(tmp_path):
    bands = tmp_path / "bands.csv"
    bands.write_text(
        "Age Band,Gender\n18-24,F\n85+,M\n<18,F\nAge Not Provided,M\n18-24,M\nold,F\n",
        encoding="utf-8",
    )
    p = profile_file(bands)
    assert p.category_counts("age").to_dict() == {"0-17": 1, "18-24": 2, "85+": 1}
    assert p.unknown_by_reason("age") == {"not_known": 1}
    assert p.invalid("age") == 1

    ages = tmp_path / "ages.csv"
    ages.write_text("Age,Gender\n17,F\n18,M\n64,F\n65,M\n121,F\n-3,M\n,F\n", encoding="utf-8")
    p = profile_file(ages, age_bands="0-17,18-64,65+")
    assert p.category_counts("age").to_dict() == {"0-17": 1, "18-64": 2, "65+": 1}
    assert p.invalid_values("age").set_index("value")["reason"].to_dict() == {
        "121": "age over 120", "-3": "negative age"}
    assert p.unknown_by_reason("age") == {"blank": 1}


def test_windows_1252_and_bom_files_are_read(tmp_path):
    cp = tmp_path / "cp1252.csv"
    cp.write_bytes("Ethnicity,Gender,Note\nWBRI,F,£5 café\nAIND,M,é\n".encode("cp1252"))
    p = profile_file(cp)
    assert p.category_counts("ethnicity")["White"] == 1
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffGender,Religion\nF,Christian\nM,\n".encode())
    p = profile_file(bom)
    assert p.columns["sex"] == "Gender"  # the BOM is not part of the first column's name
    assert p.category_counts("religion")["Christian"] == 1
    u16 = tmp_path / "unicode-text.csv"  # Excel's "Unicode Text": UTF-16 with a BOM
    u16.write_bytes("Gender,Religion\r\nF,Christian\r\nM,Muslim\r\n".encode("utf-16"))
    p = profile_file(u16)
    assert (p.rows, p.category_counts("religion")["Muslim"]) == (2, 1)


@pytest.mark.slow
def test_excel_sheet_and_parquet_give_the_same_counts_as_csv(tmp_path):
    df = pd.read_csv(EXAMPLE_EXTRACT, dtype=str, keep_default_na=False)
    xlsx = tmp_path / "extract.xlsx"
    with pd.ExcelWriter(xlsx) as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        df.to_excel(writer, sheet_name="Data", index=False)
    parquet = tmp_path / "extract.parquet"
    df.to_parquet(parquet)
    want = example().counts
    for path, sheet in ((xlsx, "Data"), (parquet, None)):
        got = profile_file(path, EXAMPLE_MAPPING, as_of=EXAMPLE_AS_OF, sheet=sheet).counts
        pd.testing.assert_frame_equal(
            got.sort_values(list(got.columns[:5])).reset_index(drop=True),
            want.sort_values(list(want.columns[:5])).reset_index(drop=True),
        )


def test_aggregated_counts_are_read_and_reconciled(tmp_path):
    f = tmp_path / "agg.csv"
    f.write_text(
        "characteristic,category,count\nEthnicity,WBRI,90\nEthnicity,Asian / Asian British,6\n"
        "Ethnicity,Not stated,4\nSex,F,55\nSex,M,45\nAge,18-64,80\nAge,65+,20\n",
        encoding="utf-8",
    )
    p = profile_file(f)
    assert p.shape == "aggregated"
    assert p.category_counts("ethnicity")["White"] == 90
    assert p.category_counts("ethnicity")["Asian, Asian British or Asian Welsh"] == 6
    assert p.unknown_by_reason("ethnicity") == {"not_stated": 4}
    assert p.category_counts("age").to_dict() == {"18-64": 80, "65+": 20}
    assert p.inputs["sex"] == 100
    check_reconciled(p)


def test_the_aggregated_example_matches_the_record_level_example():
    agg = profile_file(EXAMPLE_EXTRACT.with_name("mh_support_aggregated.csv"))
    rec = example()
    for key in ("sex", "ethnicity", "disability"):
        assert agg.category_counts(key).to_dict() == rec.category_counts(key).to_dict()


# -- property: nothing is ever lost ---------------------------------------------------

VALUES = {
    "Ethnicity": ["WBRI", "AIND", "Asian / Asian British", "Refused", "", "Q7", "white irish"],
    "Gender": ["F", "M", "Male", "unknown", "", "?"],
    "Religion": ["Christian", "none", "Not Yet Obtained", "", "Jedi"],
    "Date of Birth": ["01/01/1980", "2001-12-31", "", "31/02/1999", "01/01/2100", "01/01/1800"],
    "Carer": ["Y", "N", "", "maybe"],
}


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(*[st.sampled_from(v) for v in VALUES.values()]), min_size=1,
                max_size=60))
def test_every_generated_extract_reconciles_to_its_row_count(tmp_path, rows):
    f = tmp_path / "gen.csv"
    with f.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(VALUES.keys())
        w.writerows(rows)
    p = profile_file(f, as_of=dt.date(2026, 1, 1))
    rec = p.reconciliation()
    collected = rec[rec["status"] == "collected"]
    assert len(collected) == 6  # five columns, plus the detailed ethnicity view
    for r in collected.itertuples():
        assert r.rows == len(rows)
        assert r.in_categories + r.unknown + r.invalid == len(rows)


@pytest.mark.parametrize("key", ["sex", "ethnicity", "religion", "carers", "age"])
def test_profile_csv_shares_of_known_sum_to_one(key):
    tidy = example().tidy()
    shares = tidy[(tidy["characteristic"] == key) & (tidy["kind"] == "category")]["share_of_known"]
    assert shares.sum() == pytest.approx(1.0)


def test_dates_of_birth_read_fast_are_read_as_strptime_reads_them():
    """``parse_dates`` reads ``dd/mm/yyyy`` with numpy; Python's strptime is the judge (not
    pandas', which before pandas 3 cannot hold years outside 1677-2262), on every day 00-32
    of every month 00-13 in leap, common and out-of-range years. Digits are ASCII only, as
    pandas reads them (Python's strptime would read ``٠١/٠٢/٢٠٠٠``)."""
    from eqia.read.mapping import parse_dates

    def strptime(t: str) -> np.datetime64:
        try:
            return np.datetime64(dt.datetime.strptime(t.strip(), "%d/%m/%Y") if t.isascii()
                                 else "NaT", "us")
        except ValueError:
            return np.datetime64("NaT", "us")

    years = ["0000", "1677", "1678", "1900", "1999", "2000", "2024", "2100", "2261", "2262",
             "9999"]
    text = [f"{d:02d}/{m:02d}/{y}" for y in years for m in range(14) for d in range(33)]
    text += ["1/02/2000", "01/2/2000", " 01/02/2000 ", "01/02/20000", "٠١/٠٢/٢٠٠٠", "", "x"]
    got = parse_dates(pd.Series(text))
    want = pd.Series(np.array([strptime(t) for t in text], dtype="datetime64[us]"))
    assert got.notna().sum() > 3000  # the fast path did read most of them
    assert got.isna().sum() > 1000  # and refused the impossible ones
    assert got.loc[text.index("31/12/9999")] == dt.datetime(9999, 12, 31)
    pd.testing.assert_series_equal(got, want, check_names=False)


def test_a_date_of_birth_centuries_ago_is_an_invalid_age_not_a_crash():
    from eqia.read.mapping import map_ages

    got = map_ages(pd.Index(["01/01/1066", "1066-01-01", "01/01/1990", "01/01/3000"]), "dob",
                   dt.date(2026, 3, 31))
    assert got["kind"].tolist() == ["invalid", "invalid", "category", "invalid"]
    assert got["reason"].tolist() == ["age over 120", "age over 120", "",
                                      "date of birth after the as-of date"]
    assert got["age"].tolist()[2] == 36

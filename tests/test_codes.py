"""Codes NHS and council systems write: NHS sex and ethnicity codes in every spelling,
Census 2011 labels, NHS Data Dictionary column names, title rows above the header."""

from __future__ import annotations

import csv
import datetime as dt
from importlib.resources import files

import openpyxl
import pandas as pd
import pytest

from eqia.read.extract import profile_file
from eqia.read.files import plan_columns
from eqia.read.mapping import MappingFile, load_mapping, lookup_for, map_categories
from eqia.settings import characteristics as chars
from eqia.settings import standard_codes
from eqia.settings.characteristics import normalise
from eqia.settings.yamlfile import safe_load

from .conftest import FIXTURES

NHS_EXTRACT = FIXTURES / "nhs_codes_extract.csv"
AS_OF = dt.date(2026, 3, 31)

WBRI = "White: English, Welsh, Scottish, Northern Irish or British"
MIXED = "Mixed or Multiple ethnic groups"
ASIAN = "Asian, Asian British or Asian Welsh"
BLACK = "Black, Black British, Black Welsh, Caribbean or African"


def mapped(key: str, values: list[str], user: dict[str, str] | None = None) -> list[tuple]:
    """(kind, category or reason) for each raw value."""
    got = map_categories(pd.Index(values), lookup_for(chars.get(key), user))
    return [(r.kind, r.category or r.group or r.reason) for r in got.itertuples()]


# ---------------------------------------------------------------------------
# Sex


def test_nhs_person_stated_gender_codes():
    """NHS Data Dictionary PERSON STATED GENDER CODE: 1 Male, 2 Female, 9 Indeterminate,
    X Not Known; and PERSON GENDER CODE's 0 Not Known."""
    assert mapped("sex", ["1", "2", "9", "X", "x", "0", "1 - Male", "2 - Female"]) == [
        ("category", "Male"), ("category", "Female"),
        ("category", "Indeterminate (not in the census)"),
        ("unknown", "not_known"), ("unknown", "not_known"), ("unknown", "not_known"),
        ("category", "Male"), ("category", "Female")]


def test_indeterminate_is_counted_apart_never_as_other():
    got = mapped("sex", ["I", "Indeterminate", "9 - Indeterminate", "Other", "Non-binary"])
    assert got == [("category", "Indeterminate (not in the census)")] * 3 + [
        ("category", "Other (not in the census)")] * 2


def test_a_council_that_writes_x_for_non_binary_says_so_in_its_mapping():
    assert mapped("sex", ["X"], {"x": "Other (not in the census)"}) == [
        ("category", "Other (not in the census)")]


# ---------------------------------------------------------------------------
# Ethnicity

#: The NHS Data Dictionary's descriptions of ETHNIC CATEGORY, as it prints them
#: (https://www.datadictionary.nhs.uk/data_elements/ethnic_category.html), with the 2021
#: category each is counted in (Chinese: under Asian since 2011).
NHS_ETHNIC = {
    "A": ("White - British", WBRI),
    "B": ("White - Irish", "White: Irish"),
    "C": ("White - Any other White background", "White: Other White"),
    "D": ("Mixed - White and Black Caribbean", f"{MIXED}: White and Black Caribbean"),
    "E": ("Mixed - White and Black African", f"{MIXED}: White and Black African"),
    "F": ("Mixed - White and Asian", f"{MIXED}: White and Asian"),
    "G": ("Mixed - Any other mixed background", f"{MIXED}: Other Mixed or Multiple ethnic groups"),
    "H": ("Asian or Asian British - Indian", f"{ASIAN}: Indian"),
    "J": ("Asian or Asian British - Pakistani", f"{ASIAN}: Pakistani"),
    "K": ("Asian or Asian British - Bangladeshi", f"{ASIAN}: Bangladeshi"),
    "L": ("Asian or Asian British - Any other Asian background", f"{ASIAN}: Other Asian"),
    "M": ("Black or Black British - Caribbean", f"{BLACK}: Caribbean"),
    "N": ("Black or Black British - African", f"{BLACK}: African"),
    "P": ("Black or Black British - Any other Black background", f"{BLACK}: Other Black"),
    "R": ("Other Ethnic Groups - Chinese", f"{ASIAN}: Chinese"),
    "S": ("Other Ethnic Groups - Any other ethnic group",
          "Other ethnic group: Any other ethnic group"),
}


@pytest.mark.parametrize("code", sorted(NHS_ETHNIC))
def test_nhs_ethnic_category_in_every_spelling(code):
    description, want = NHS_ETHNIC[code]
    heading, name = description.split(" - ")
    spellings = [code, code.lower(), f"{code} - {description}", f"{code} - {name}",
                 description, f"{name} ({heading})", f"{code}: {name} ({heading})"]
    assert mapped("ethnicity", spellings) == [("category", want)] * len(spellings)


def test_nhs_not_stated_and_not_known():
    assert mapped("ethnicity", ["Z", "Z - Not stated", "99", "99 - Not known",
                                "Ethnic category not stated - 2001 census"]) == [
        ("unknown", "not_stated"), ("unknown", "not_stated"), ("unknown", "not_known"),
        ("unknown", "not_known"), ("unknown", "not_stated")]


def test_systmone_terms():
    """The Read / SNOMED CT terms SystmOne prints for the 2001 categories."""
    terms = {
        "British or mixed British - ethnic category 2001 census": WBRI,
        "British (White) - ethnic category 2001 census": WBRI,
        "Irish - ethnic category 2001 census": "White: Irish",
        "Other White background - ethnic category 2001 census": "White: Other White",
        "White and Black Caribbean - ethnic category 2001 census":
            f"{MIXED}: White and Black Caribbean",
        "Other Mixed background - ethnic category 2001 census":
            f"{MIXED}: Other Mixed or Multiple ethnic groups",
        "Indian or British Indian - ethnic category 2001 census": f"{ASIAN}: Indian",
        "Pakistani or British Pakistani - ethnic category 2001 census": f"{ASIAN}: Pakistani",
        "Bangladeshi or British Bangladeshi - ethnic category 2001 census":
            f"{ASIAN}: Bangladeshi",
        "Other Asian background - ethnic category 2001 census": f"{ASIAN}: Other Asian",
        "Caribbean - ethnic category 2001 census": f"{BLACK}: Caribbean",
        "African - ethnic category 2001 census": f"{BLACK}: African",
        "Other Black background - ethnic category 2001 census": f"{BLACK}: Other Black",
        "Chinese - ethnic category 2001 census": f"{ASIAN}: Chinese",
        "Other - ethnic category 2001 census": "Other ethnic group: Any other ethnic group",
    }
    assert mapped("ethnicity", list(terms)) == [("category", t) for t in terms.values()]


#: Census 2011's 18 categories as ONS printed them (KS201EW), and their 2021 category.
CENSUS_2011 = {
    "White: English/Welsh/Scottish/Northern Irish/British": WBRI,
    "White: Irish": "White: Irish",
    "White: Gypsy or Irish Traveller": "White: Gypsy or Irish Traveller",
    "White: Other White": "White: Other White",
    "Mixed/multiple ethnic group: White and Black Caribbean": f"{MIXED}: White and Black Caribbean",
    "Mixed/multiple ethnic group: White and Black African": f"{MIXED}: White and Black African",
    "Mixed/multiple ethnic group: White and Asian": f"{MIXED}: White and Asian",
    "Mixed/multiple ethnic group: Other Mixed": f"{MIXED}: Other Mixed or Multiple ethnic groups",
    "Asian/Asian British: Indian": f"{ASIAN}: Indian",
    "Asian/Asian British: Pakistani": f"{ASIAN}: Pakistani",
    "Asian/Asian British: Bangladeshi": f"{ASIAN}: Bangladeshi",
    "Asian/Asian British: Chinese": f"{ASIAN}: Chinese",
    "Asian/Asian British: Other Asian": f"{ASIAN}: Other Asian",
    "Black/African/Caribbean/Black British: African": f"{BLACK}: African",
    "Black/African/Caribbean/Black British: Caribbean": f"{BLACK}: Caribbean",
    "Black/African/Caribbean/Black British: Other Black": f"{BLACK}: Other Black",
    "Other ethnic group: Arab": "Other ethnic group: Arab",
    "Other ethnic group: Any other ethnic group": "Other ethnic group: Any other ethnic group",
}


def test_census_2011_labels_map_to_2021_categories():
    assert len(CENSUS_2011) == 18
    assert mapped("ethnicity", list(CENSUS_2011)) == [("category", t) for t in CENSUS_2011.values()]


def test_census_2011_tick_box_wording():
    assert mapped("ethnicity", ["Any other Mixed/multiple ethnic background",
                                "Any other Black/African/Caribbean background"]) == [
        ("category", f"{MIXED}: Other Mixed or Multiple ethnic groups"),
        ("category", f"{BLACK}: Other Black")]


def test_a_broad_heading_alone_still_counts_at_group_level():
    """'Other' alone is the broad group, not NHS code S: the explicit vocabulary wins."""
    assert mapped("ethnicity", ["Other", "Asian or Asian British", "Mixed"]) == [
        ("group", "Other ethnic group"), ("group", ASIAN), ("group", MIXED)]


def test_local_overrides_in_the_mapping_file_win(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text('values:\n  ethnicity:\n    A: "White: Other White"\n  sex:\n    "9": not_known\n')
    mf = load_mapping(path)
    assert mapped("ethnicity", ["A", "A - White - British"], mf.values["ethnicity"]) == [
        ("category", "White: Other White"), ("category", WBRI)]
    assert mapped("sex", ["9"], mf.values["sex"]) == [("unknown", "not_known")]


def test_every_generated_spelling_means_what_its_code_list_says():
    """No two code lists, and no two codes, claim the same spelling; where
    characteristics.yaml already gives a spelling a meaning, that meaning stands."""
    raw = safe_load(files("eqia").joinpath("data/characteristics.yaml").read_text("utf-8"))
    listed = safe_load(files("eqia").joinpath("data/standard_codes.yaml").read_text("utf-8"))
    keys = [k for k in listed if k != "spellings"]
    assert {"sex", "ethnicity", "sexual_orientation"} <= set(keys)
    for key in keys:
        body = raw["characteristics"][key]
        explicit = {normalise(v) for values in raw["unknowns"].values() for v in values}
        explicit |= {normalise(v) for values in (body.get("unknown_codes") or {}).values()
                     for v in values}
        for item in (*body["categories"], *(body.get("groups") or ())):
            explicit |= {normalise(v) for v in (item["label"], *(item.get("codes") or ()),
                                                *(item.get("census") or ()))}
        lookup = lookup_for(chars.get(key))
        spellings = standard_codes.spellings(key)
        assert len(spellings) >= 4 * len(listed[key][0]["codes"])
        for sp in spellings:
            if normalise(sp.text) in explicit:
                continue
            kind, target = lookup.codes[normalise(sp.text)]
            assert target == sp.means, (key, sp)


def test_nhs_sexual_orientation_marital_status_and_gender_identity_codes():
    """NHS Data Dictionary: PERSON STATED SEXUAL ORIENTATION CODE (DCB2094), PERSON
    MARITAL STATUS and GENDER IDENTITY SAME AT BIRTH INDICATOR."""
    assert mapped("sexual_orientation", ["1", "2", "3", "4", "U", "Z", "9",
                                         "4 - Other sexual orientation not listed"]) == [
        ("category", "Straight or Heterosexual"), ("category", "Gay or Lesbian"),
        ("category", "Bisexual"), ("category", "All other sexual orientations"),
        ("unknown", "not_known"), ("unknown", "not_stated"), ("unknown", "not_known"),
        ("category", "All other sexual orientations")]
    assert mapped("marriage_civil_partnership", ["S", "M", "D", "W", "P", "N", "8", "9",
                                                 "M - Married/Civil Partner"]) == [
        ("category", "Never married and never registered a civil partnership"),
        ("category", "Married or in a registered civil partnership"),
        ("category", "Divorced or civil partnership dissolved"),
        ("category", "Widowed or surviving civil partnership partner"),
        ("category", "Separated, but still legally married or still legally in a civil "
                     "partnership"),
        ("unknown", "not_stated"), ("unknown", "not_known"), ("unknown", "not_known"),
        ("category", "Married or in a registered civil partnership")]
    assert mapped("gender_identity", ["Y", "N", "X", "Z"]) == [
        ("category", "Gender identity the same as sex registered at birth"),
        ("category", "Gender identity different from sex registered at birth"),
        ("unknown", "not_known"), ("unknown", "not_stated")]


# ---------------------------------------------------------------------------
# Column names


def test_nhs_data_dictionary_column_names():
    columns = ["NHS Number", "Person Birth Date", "Person Stated Gender Code", "Ethnic Category",
               "Person Marital Status", "Gender Identity Same At Birth Indicator"]
    plan = plan_columns(columns, MappingFile(), "x.csv")
    assert plan.id_column == "NHS Number"
    assert plan.columns == {"age": "Person Birth Date", "sex": "Person Stated Gender Code",
                            "gender_identity": "Gender Identity Same At Birth Indicator",
                            "ethnicity": "Ethnic Category",
                            "marriage_civil_partnership": "Person Marital Status"}
    assert plan.age_hint == "dob"


# ---------------------------------------------------------------------------
# The fixture: NHS codes, Census 2011 labels, SystmOne and RiO spellings, title rows

#: Counted by hand from tests/fixtures/nhs_codes_extract.csv (30 people).
WANT_SEX = {"Female": 14, "Male": 11, "Indeterminate (not in the census)": 2}
WANT_ETHNICITY = {
    WBRI: 10, "White: Irish": 1, "White: Gypsy or Irish Traveller": 1, "White: Roma": 0,
    "White: Other White": 1,
    f"{MIXED}: White and Black Caribbean": 1, f"{MIXED}: White and Black African": 0,
    f"{MIXED}: White and Asian": 0, f"{MIXED}: Other Mixed or Multiple ethnic groups": 1,
    f"{ASIAN}: Indian": 1, f"{ASIAN}: Pakistani": 1, f"{ASIAN}: Bangladeshi": 0,
    f"{ASIAN}: Chinese": 2, f"{ASIAN}: Other Asian": 1,
    f"{BLACK}: Caribbean": 1, f"{BLACK}: African": 2, f"{BLACK}: Other Black": 0,
    "Other ethnic group: Arab": 1, "Other ethnic group: Any other ethnic group": 2,
}


def titled_workbook(path):
    """The fixture's rows, title and all, as an Excel sheet."""
    with NHS_EXTRACT.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Caseload"
    for row in rows:
        sheet.append([cell or None for cell in row])
    book.save(path)
    return path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_nhs_extract_with_title_rows_profiles_with_no_invalid_values(kind, tmp_path):
    path = NHS_EXTRACT if kind == "csv" else titled_workbook(tmp_path / "caseload.xlsx")
    profile = profile_file(path, None, as_of=AS_OF)
    assert profile.rows == 30
    assert profile.columns["sex"] == "Person Stated Gender Code"
    assert profile.columns["ethnicity"] == "Ethnic Category"
    for key in ("age", "sex", "ethnicity", chars.ETHNICITY_DETAILED):
        assert profile.invalid(key) == 0, key
    assert profile.category_counts("sex").to_dict() == WANT_SEX
    assert profile.unknown_by_reason("sex") == {"not_known": 3}
    assert profile.category_counts(chars.ETHNICITY_DETAILED).to_dict() == WANT_ETHNICITY
    assert profile.unknown_by_reason("ethnicity") == {"not_stated": 2, "not_known": 1, "blank": 1}
    assert any("The header is row 4: the 3 rows above it (a title)" in n for n in profile.notes)


def test_a_title_taken_for_the_header_points_to_the_header_row_not_a_mapping(cli, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Caseload report", "for", "the", "year", "2025-26"])  # as wide as the data
    sheet.append(["Ref", "Born", "Gender", "Eth grp", "Notes"])
    sheet.append(["R1", "01/01/1980", "F", "A", ""])
    book.save(tmp_path / "wide_title.xlsx")
    result = cli("profile", tmp_path / "wide_title.xlsx", "--as-of", "2026-03-31")
    assert result.exit_code == 2
    assert "the column names look to be on row 2, not row 1" in result.stderr
    assert "Row 2 holds: Gender" in result.stderr
    assert "Add --header-row 2" in result.stderr
    assert "--map" not in result.stderr
    fixed = cli("profile", tmp_path / "wide_title.xlsx", "--as-of", "2026-03-31",
                "--header-row", "2")
    assert fixed.exit_code == 0, fixed.stderr


def test_unknown_column_names_say_where_the_header_was_taken_and_offer_both_fixes(cli, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Caseload,,\n,,\nRef,Sx,Eth grp\nR1,F,A\nR2,M,B\n")
    result = cli("profile", path, "--as-of", "2026-03-31")
    assert result.exit_code == 2
    assert "Columns found: Ref, Sx, Eth grp\n  - Header taken from row 3\n" in result.stderr
    assert "--header-row ROW" in result.stderr
    assert "eqia map suggest odd.csv drafts one" in result.stderr


NHS_NOTE = ("Ethnicity is recorded in NHS ethnic category codes (the 2001 census's categories), "
            "which have no category for Gypsy or Irish Traveller, Roma or Arab people")
NOTE_2011 = "Ethnicity is recorded in Census 2011's categories, which have no category for Roma"


@pytest.mark.parametrize("values,notes", [
    (["A", "H", "99"], [NHS_NOTE]),
    (["A - White - British", "Z"], [NHS_NOTE]),
    (["British or mixed British - ethnic category 2001 census"], [NHS_NOTE]),
    (["Asian/Asian British: Other Asian", "White: Irish"], [NOTE_2011]),
    (["WBRI", "White British", "Indian", "Arab", "Other ethnic group: Arab", "99", "Z"], []),
])
def test_an_older_classification_is_said_with_what_it_cannot_record(tmp_path, values, notes):
    path = tmp_path / "extract.csv"
    path.write_text("Client ID,Ethnicity\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    said = [n for n in profile_file(path, None, as_of=AS_OF).notes if "is recorded in" in n]
    assert [n[:len(w)] for n, w in zip(said, notes, strict=False)] == notes
    assert len(said) == len(notes)

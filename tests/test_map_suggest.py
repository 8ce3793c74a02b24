"""eqia map suggest: a draft mapping that, once accepted, leaves nothing unrecognised."""

from __future__ import annotations

import csv
import datetime as dt
import itertools

import yaml

from eqia.read.extract import profile_file
from eqia.read.mapping import load_mapping
from eqia.settings import characteristics as chars

from .conftest import EXAMPLE_EXTRACT, EXAMPLE_MAPPING, FIXTURES

LOCAL = FIXTURES / "local_codes_extract.csv"
NHS = FIXTURES / "nhs_codes_extract.csv"
AS_OF = dt.date(2026, 3, 31)


def draft(cli, tmp_path, *args):
    out = tmp_path / "draft.yaml"
    result = cli("map", "suggest", *args, "--out", out)
    assert result.exit_code == 0, result.stderr
    return out, result


def test_accepting_the_suggestions_leaves_nothing_unrecognised(cli, tmp_path):
    before = profile_file(LOCAL, None, as_of=AS_OF)
    # Columns 'Ethnic Grp' and 'Religon' are not names eqia knows; 'Femail' no code.
    assert set(before.columns) == {"age", "sex"} and before.invalid("sex") == 2
    out, result = draft(cli, tmp_path, LOCAL)
    assert f"Wrote {out}: 5 columns matched; 11 unrecognised values" in " ".join(
        result.stderr.split())
    after = profile_file(LOCAL, out, as_of=AS_OF)  # the draft, kept as it is
    for key in ("sex", "ethnicity", "religion"):
        assert after.invalid(key) == 0, key
    assert after.columns["religion"] == "Religon"
    # What a person would choose for each local code, counted from the file by hand.
    assert after.category_counts("religion").to_dict() == {
        "No religion": 3, "Christian": 4, "Buddhist": 0, "Hindu": 0, "Jewish": 0,
        "Muslim": 3, "Sikh": 0, "Other religion": 0}
    assert after.category_counts("sex").to_dict() == {"Female": 6, "Male": 4}
    detailed = after.category_counts(chars.ETHNICITY_DETAILED)
    assert detailed["White: English, Welsh, Scottish, Northern Irish or British"] == 3
    assert detailed["White: Other White"] == 1
    assert detailed["Mixed or Multiple ethnic groups: White and Black Caribbean"] == 1
    assert detailed["Asian, Asian British or Asian Welsh: Pakistani"] == 1
    assert detailed["Black, Black British, Black Welsh, Caribbean or African: African"] == 1
    assert after.unknown_by_reason("ethnicity") == {"not_stated": 1, "not_known": 2}


def test_the_draft_says_why_for_each_column_and_value(cli, tmp_path):
    out, _ = draft(cli, tmp_path, LOCAL)
    text = out.read_text(encoding="utf-8")
    assert ('  ethnicity: "Ethnic Grp"    # spelt like \'ethnic group\', a name for ethnicity '
            "(91% alike): check") in text
    assert "  sex: \"Gender\"    # 'Gender' is a name eqia knows for sex" in text
    assert '    "Femail": "Female"    # 2 rows; closest: \'female\'' in text
    assert '    "Decline to say": not_stated    # 1 row;' in text
    assert '# Not used (give one a line above if it holds a characteristic): "Notes"' in text
    assert yaml.safe_load(text)["values"]["religion"] == {
        "Muslim - Sunni": "Muslim", "No Religon": "No religion",
        "Church of England (Anglican)": "Christian"}


def test_the_draft_never_holds_ids_dates_of_birth_or_free_text(cli, tmp_path):
    out, _ = draft(cli, tmp_path, LOCAL)
    text = out.read_text(encoding="utf-8")
    with LOCAL.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for column in ("Client Ref", "Birth Date", "Notes"):
            if row[column]:
                assert row[column] not in text, column


def test_a_value_like_nothing_is_left_for_the_officer_and_the_file_still_loads(cli, tmp_path):
    out, result = draft(cli, tmp_path, EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING)
    text = out.read_text(encoding="utf-8")
    assert ('    # "Jedi":    # 6 rows; no close match: write its standard category, '
            "not_known or not_stated, and remove the #") in text
    assert '    "xx": not_known    # from mh_support_mapping.yaml' in text  # kept, not listed
    assert "(0 with a proposed category, 2 with no close match)" in " ".join(
        result.stderr.split())
    load_mapping(out)


def test_title_rows_are_reported_and_kept_in_the_draft(cli, tmp_path):
    out, _ = draft(cli, tmp_path, NHS)
    text = out.read_text(encoding="utf-8")
    assert "header_row: 4    # the column names are on row 4; the rows above are a title" in text
    assert "  # Every value was recognised: nothing to map." in text
    assert load_mapping(out).header_row == 4


def test_the_draft_goes_to_the_screen_without_out(cli):
    result = cli("map", "suggest", LOCAL)
    assert result.exit_code == 0
    assert result.stdout.startswith("# Draft mapping written by `eqia map suggest`")
    assert "11 unrecognised values" in result.stderr


def test_profile_lists_each_unrecognised_code_in_full_ready_to_paste(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # the table wraps long values at this width
    long = "White - Other European (not otherwise specified in the list, see notes)"
    path = tmp_path / "long.csv"
    path.write_text(f'Client ID,Ethnicity\n1,"{long}"\n2,A\n3,"{long}"\n')
    result = cli("profile", path, "--as-of", "2026-03-31")
    assert result.exit_code == 0
    after = result.stdout.split("drafts the file):\n")[1].splitlines()
    pasted = "".join(f"{line}\n" for line in itertools.takewhile(
        lambda line: line.startswith("  "), after))
    assert pasted.startswith(f'  ethnicity:\n    "{long}":    # 2 rows\n')
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("values:\n" + pasted.replace(":    # 2 rows", ': "White: Other White"'))
    assert profile_file(path, mapping, as_of=AS_OF).invalid("ethnicity") == 0


def test_a_table_of_counts_has_only_values_to_map(cli, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("characteristic,category,count\nSex,Female,40\nSex,Femail,3\nSex,Male,37\n")
    out, _ = draft(cli, tmp_path, path)
    text = out.read_text(encoding="utf-8")
    assert "  # Tables of counts (characteristic, category, count): no columns to name." in text
    assert '    "Femail": "Female"    # 3 people; closest: \'female\' (83% alike)' in text
    assert profile_file(path, out, as_of=AS_OF).category_counts("sex").to_dict() == {
        "Female": 43, "Male": 37}


def test_values_are_counted_across_extracts(cli, tmp_path):
    first, second = tmp_path / "q1.csv", tmp_path / "q2.csv"
    first.write_text("Client ID,Gender\n1,Femail\n2,M\n3,Femail\n")
    second.write_text("Client ID,Gender\n4,Femail\n5,Mal\n")
    out, _ = draft(cli, tmp_path, first, second)
    text = out.read_text(encoding="utf-8")
    assert "from: q1.csv, q2.csv." in text
    assert '    "Femail": "Female"    # 3 rows;' in text
    assert '    # "Mal":    # 1 row; no close match' in text  # 3 letters: alike by chance


def test_a_column_of_free_text_is_not_listed(cli, tmp_path):
    path = tmp_path / "notes.csv"
    lines = [f"{i},F,said on the phone that {i} was her religion" for i in range(30)]
    path.write_text("Client ID,Gender,Religion\n" + "\n".join(lines) + "\n")
    out, _ = draft(cli, tmp_path, path)
    text = out.read_text(encoding="utf-8")
    assert "said on the phone" not in text
    assert ("# Note: Column 'Religion' (religion or belief) of notes.csv holds mostly values "
            "that appear only once, like free text or IDs: they are not listed.") in text


def test_the_header_under_a_title_as_wide_as_the_data_is_found(cli, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("Caseload,for,the,year\nRef,Born,Gender,Eth grp\nR1,01/01/1980,Femail,A\n")
    out, _ = draft(cli, tmp_path, path)
    text = out.read_text(encoding="utf-8")
    assert "header_row: 2" in text
    assert '  sex: "Gender"' in text and '"Femail": "Female"' in text
    assert profile_file(path, out, as_of=AS_OF).category_counts("sex")["Female"] == 1


def test_a_draft_started_from_a_mapping_keeps_all_it_says(cli, tmp_path):
    out, _ = draft(cli, tmp_path, EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING)
    ours = profile_file(EXAMPLE_EXTRACT, out, as_of=AS_OF).tidy(list_invalid_values=True)
    theirs = profile_file(EXAMPLE_EXTRACT, EXAMPLE_MAPPING, as_of=AS_OF).tidy(
        list_invalid_values=True)
    assert ours.equals(theirs)

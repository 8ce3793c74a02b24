"""The characteristics registry (data/characteristics.yaml) is the one place that says which
characteristics there are, in what order and in what words; and a settings file is loaded
one way (packaged defaults, the user's file, values from Python)."""

from __future__ import annotations

import pytest

from eqia.errors import ConfigError, ErrorCode
from eqia.judgement.assess import load_assessment_rules
from eqia.settings import characteristics as chars
from eqia.settings.loader import load_layers
from eqia.settings.rules import SCHEMA as RULES_SCHEMA
from eqia.settings.rules import load_rules
from eqia.settings.schema import Checker, Fields, Number, python_values

GRID = ["age", "disability", "sex", "gender_identity", "ethnicity", "religion",
        "sexual_orientation", "pregnancy_maternity", "marriage_civil_partnership", "carers"]


def test_the_grid_order_is_the_files_and_the_detail_view_follows_its_characteristic():
    assert chars.keys() == GRID
    assert chars.all_keys() == [*GRID[:5], "ethnicity_detailed", *GRID[5:]]


def test_the_compare_table_and_the_profile_follow_the_registry():
    from eqia.analysis.compare import compare
    from eqia.analysis.profiling import profile_file
    from tests.conftest import EXAMPLE_AS_OF, EXAMPLE_EXTRACT, EXAMPLE_MAPPING

    example_profile = profile_file(EXAMPLE_EXTRACT, EXAMPLE_MAPPING, as_of=EXAMPLE_AS_OF)
    comparison = compare(example_profile, "Kent", ages="18-")
    shown = list(dict.fromkeys(comparison.table["characteristic"]))
    assert shown == [k for k in chars.all_keys() if k in shown]
    assert list(example_profile.reconciliation()["characteristic"]) == [
        k for k in chars.all_keys() if k in example_profile.inputs or k in chars.keys()]


def test_one_wording_for_what_is_recorded():
    assert [chars.recorded(k) for k in ("carers", "disability", "religion", "ethnicity_detailed")] \
        == ["carer status", "disability status", "religion or belief", "detailed ethnic group"]
    assert chars.display_name("ethnicity_detailed") == "Ethnicity (detailed)"
    assert chars.short_label("sexual_orientation") == "SexOrient"
    assert chars.get("ethnicity_detailed").key == chars.parent("ethnicity_detailed") == "ethnicity"


def test_the_age_crossed_characteristics_are_those_with_a_census_crossing():
    from eqia.census.age_crossings import SOURCES

    assert chars.age_crossed() == ("sex", "ethnicity", "religion", "marriage_civil_partnership")
    assert SOURCES == {"sex": "ts009", "ethnicity": "ethnic_group_by_age",
                       "ethnicity_detailed": "ethnic_group_by_age",
                       "religion": "religion_by_age_ew",
                       "marriage_civil_partnership": "legal_partnership_by_age"}


def test_not_adverse_categories_come_from_the_registry_and_are_checked_against_it(tmp_path):
    assert load_assessment_rules().not_adverse_categories == (
        "Not disabled under the Equality Act",
        "Gender identity the same as sex registered at birth",
        "Not pregnant or on maternity leave",
        "Never married and never registered a civil partnership",
        "Divorced or civil partnership dissolved",
        "Widowed or surviving civil partnership partner",
        "Provides no unpaid care")
    mine = tmp_path / "assessment.yaml"
    mine.write_text("not_adverse_categories: [provides no unpaid care]\n", encoding="utf-8")
    assert load_assessment_rules(mine).not_adverse_categories == ("Provides no unpaid care",)
    mine.write_text("not_adverse_categories: []\n", encoding="utf-8")
    assert load_assessment_rules(mine).not_adverse_categories == ()
    mine.write_text("not_adverse_categories:\n  - Not disabld\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_assessment_rules(mine)
    assert (info.value.code, info.value.line) == (ErrorCode.BAD_RULES, 2)
    assert "'Not disabld' under not_adverse_categories is not a category eqia knows" in \
        info.value.message


def test_a_broken_registry_is_reported_whole():
    raw = {"unknowns": {"not_known": ["nk"]}, "characteristics": {"sex": {
        "name": "Sex", "grid_label": "Sex", "short": "Sex", "columns": ["sex"],
        "categories": [{"label": "Female", "group": "Women"}, {"label": "Female"}]},
        "age": {"name": "Age", "columns": "age"}}}
    ck = Checker(python_values(raw, "the registry"))
    ck.check(chars.SCHEMA)
    texts = sorted(p.text for p in ck.problems)
    assert texts == ["The required field 'characteristics: age: grid_label' is missing",
                     "The required field 'characteristics: age: short' is missing",
                     "characteristics: age: columns must be a list, not text"]
    built = {"sex": chars._characteristic("sex", raw["characteristics"]["sex"])}
    ck = Checker(python_values(raw, "the registry"))
    chars._cross_check(built, ck)
    assert sorted(p.text for p in ck.problems) == [
        "sex: category 'Female' is in group 'Women', which is not one of its groups",
        "sex: the label 'Female' is given twice"]


def test_every_packaged_setting_has_its_default_in_the_yaml(monkeypatch):
    from eqia.settings import loader

    monkeypatch.setattr(loader, "_packaged_data", lambda name: {"a": 1})
    spec = Fields(fields={"a": Number(), "b": Number()})
    with pytest.raises(ConfigError, match="The setting 'b' has no default in eqia's data/x.yaml"):
        load_layers("x.yaml", spec, ErrorCode.BAD_RULES, what="the x file")


def test_a_check_across_settings_names_the_users_line(tmp_path):
    mine = tmp_path / "rules.yaml"
    mine.write_text("# stricter\nlevel: 0.99\nstrong_level: 0.98\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(mine)
    err = info.value
    assert (err.code, err.line, err.setting, err.file) == (
        ErrorCode.BAD_RULES, 3, "strong_level", str(mine))
    assert set(RULES_SCHEMA.fields) == set(load_rules().__dataclass_fields__)

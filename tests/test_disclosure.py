"""Publication safety: small numbers are hidden, and hidden numbers stay hidden.

The worked examples are done by hand in the comments. The property test checks the
promise independently of the implementation: it reads only the published table and
asks a linear program how far each hidden cell could move.
"""

from __future__ import annotations

import re
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from eqia.analysis.profile import no_census_category
from eqia.disclosure.engine import (
    LOG_COLUMNS,
    Line,
    direction_is_safe,
    protect_lines,
    protect_table,
)
from eqia.disclosure.published import counted_as_not_recorded
from eqia.errors import ConfigError, InputError
from eqia.settings.disclosure import INTERNAL, NOT_FOR_PUBLICATION, DisclosurePolicy, load_policy

THRESHOLD = load_policy()
NHS = load_policy(method="nhs")


def frame(rows: dict[str, list], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


# --- policy -----------------------------------------------------------------------------


def test_defaults_are_threshold_10_with_zeros_shown():
    assert THRESHOLD == DisclosurePolicy(method="threshold", threshold=10, suppress_zero=False,
                                         min_range=1, nhs_small_max=7, rounding_base=5,
                                         marker="*")
    assert THRESHOLD.publishable and THRESHOLD.page_label is None


def test_every_setting_is_in_the_defaults_file_with_a_comment():
    text = files("eqia").joinpath("data/disclosure.yaml").read_text(encoding="utf-8")
    assert set(yaml.safe_load(text)) == set(DisclosurePolicy.__dataclass_fields__)
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[n - 1].startswith("#"), f"{line} has no comment above it"


def test_policy_file_and_overrides_apply_in_order(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("disclosure:\n  threshold: 5\n  marker: 'c'\n", encoding="utf-8")
    policy = load_policy(path, marker="~", suppress_zero=None)
    assert (policy.threshold, policy.marker, policy.suppress_zero) == (5, "~", False)


@pytest.mark.parametrize(("overrides", "setting"), [
    ({"method": "round"}, "method"),
    ({"threshold": 0}, "threshold"),
    ({"threshold": 4}, "threshold"),
    ({"nhs_small_max": 5}, "nhs_small_max"),
    ({"rounding_base": 1}, "rounding_base"),
    ({"rounding_base": 20}, "rounding_base"),
    ({"secondary_marker": "*"}, "secondary_marker"),
    ({"threshold": "ten"}, "threshold"),
    ({"threshold": True}, "threshold"),
    ({"suppress_zero": "no"}, "suppress_zero"),
    ({"marker": ""}, "marker"),
    ({"prose_small": "under {n}"}, "prose_small"),
    ({"treshold": 5}, "treshold"),
])
def test_invalid_settings_are_config_errors(overrides, setting):
    with pytest.raises(ConfigError) as info:
        load_policy(**overrides)
    assert (info.value.code, info.value.setting) == ("bad-disclosure-policy", setting)


def test_unreadable_policy_file_is_a_config_error(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("threshold: [5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert info.value.file == str(path)


def test_internal_policy_labels_every_page():
    assert INTERNAL.page_label == NOT_FOR_PUBLICATION
    assert "NOT FOR PUBLICATION" in INTERNAL.footnote


# --- the NHS Digital rule ------------------------------------------------------------------


@pytest.mark.parametrize(("n", "shown"), [
    (0, "0"), (1, "*"), (4, "*"), (7, "*"), (8, "10"), (12, "10"), (13, "15"),
    (15, "15"), (17, "15"), (18, "20"), (1234, "1,235"),
])
def test_nhs_rule_hides_1_to_7_and_rounds_the_rest_to_5(n, shown):
    table = protect_table(pd.DataFrame({"users": [n]}), NHS, table_name="t")
    assert table.display.iat[0, 0] == shown


def test_nhs_percentages_come_from_rounded_figures():
    # 12 -> 10 and 33 -> 35; the total 45 stays 45: 10/45 = 22.2%, 35/45 = 77.8%
    # (true figures would give 26.7% and 73.3%).
    table = protect_table(frame({"Female": [12], "Male": [33]}, ["users"]), NHS,
                          table_name="t")
    assert table.display["users"].tolist() == ["10", "35", "45"]
    assert table.shares["users"].tolist() == [22.2, 77.8, 100.0]
    assert table.shares_display["users"].tolist() == ["22.2%", "77.8%", "100.0%"]
    assert table.share_text("Female", "users") == "22.2%"


def test_nhs_totals_are_rounded_from_the_true_totals():
    # Rows: 8+2 = 10 -> 10, 8+3 = 11 -> 10, 8+0 = 8 -> 10. Column x: three 8s show as
    # 10 each, but the total 24 shows as 25, not 30; the grand total 29 as 30. Column
    # y's total 5 is itself 1 to 7, so hidden, and with it every share of column y.
    counts = frame({"a": [8, 2], "b": [8, 3], "c": [8, 0]}, ["x", "y"])
    table = protect_table(counts, NHS, table_name="t")
    expected = frame({"a": ["10", "*", "10"], "b": ["10", "*", "10"],
                      "c": ["10", "0", "10"], "Total": ["25", "*", "30"]},
                     ["x", "y", "Total"])
    pd.testing.assert_frame_equal(table.display, expected)
    # Shares from rounded figures: 10/25 = 40%, 10/30 = 33.3%.
    assert table.shares_display.loc["c"].tolist() == ["40.0%", "*", "33.3%"]
    assert table.log[["row", "column", "value", "reason"]].values.tolist() == [
        ["a", "y", 2, "primary: 1 to 7 (NHS rule)"],
        ["b", "y", 3, "primary: 1 to 7 (NHS rule)"],
        ["Total", "y", 5, "primary: 1 to 7 (NHS rule)"],
    ]


def test_nhs_prose_uses_the_same_rule():
    table = protect_table(pd.DataFrame({"n": [0, 3, 8, 1234]}, index=list("abcd")), NHS,
                          table_name="t", col_totals=False)
    assert [table.count_text(r, "n") for r in "abcd"] == ["0", "fewer than 8", "10", "1,235"]
    assert [table.value(r, "n") for r in "abcd"] == [0, None, 10, 1235]


# --- threshold suppression ----------------------------------------------------------------


def test_threshold_hides_a_small_cell_and_the_cheapest_rectangle_around_it():
    #          A   B   C | Total
    #   r1    20  15   3 |  38      3 is below 10: primary.
    #   r2    25  28  12 |  65      Alone, it is 38 - 20 - 15 = 3. Rectangles through
    #   r3    18  22  40 |  80      (r1, C) cost: r2/A 20+12+25 = 57, r2/B 15+12+28 = 55,
    #   Total 63  65  55 | 183      r3/A 20+40+18 = 78, r3/B 15+40+22 = 77: hide r2/B.
    # A reader then knows only 3+d, 15-d, 28+d, 12-d with every hidden cell at least 1
    # (zeros are shown, so a hidden cell is not zero): d in [-2, 11], so (r1, C) is
    # anything from 1 to 14.
    counts = frame({"r1": [20, 15, 3], "r2": [25, 28, 12], "r3": [18, 22, 40]},
                   ["A", "B", "C"])
    table = protect_table(counts, THRESHOLD, table_name="Use by service")
    expected = frame({"r1": ["20", "*", "*", "38"], "r2": ["25", "*", "*", "65"],
                      "r3": ["18", "22", "40", "80"], "Total": ["63", "65", "55", "183"]},
                     ["A", "B", "C", "Total"])
    pd.testing.assert_frame_equal(table.display, expected)
    assert table.log.drop(columns="protects").values.tolist() == [
        ["Use by service", "r1", "B", 15, "secondary: protects row total", 4.0, 17.0],
        ["Use by service", "r1", "C", 3, "primary: below 10", 1.0, 14.0],
        ["Use by service", "r2", "B", 28, "secondary: protects row and column totals",
         26.0, 39.0],
        ["Use by service", "r2", "C", 12, "secondary: protects column total", 1.0, 14.0],
    ]
    assert table.log["protects"].fillna("").tolist() == ["r1 / C", "", "r1 / C", "r1 / C"]
    # Shares are of the true column totals, hidden with their cells: 20/63 = 31.7%.
    assert table.shares_display.loc["r1"].tolist() == ["31.7%", "*", "*", "20.8%"]
    assert table.values.loc["r2"].tolist() == [25, pd.NA, pd.NA, 65]


def test_a_small_total_is_hidden_and_protected_too():
    #          A   B | Total
    #   r1     2   3 |   5      2, 3 and the total 5 are below 10.
    #   r2    30  40 |  70      The total 5 is still 135 - 70 - 60, so a second row
    #   r3    25  35 |  60      (the cheaper, r3) is hidden with its total: then r1's
    #   Total 57  78 | 135      total could be anything from 2 to 63.
    counts = frame({"r1": [2, 3], "r2": [30, 40], "r3": [25, 35]}, ["A", "B"])
    table = protect_table(counts, THRESHOLD, table_name="t")
    assert table.display.values.tolist() == [
        ["*", "*", "*"], ["30", "40", "70"], ["*", "*", "*"], ["57", "78", "135"]]
    assert table.log[["row", "column", "lower", "upper"]].values.tolist() == [
        ["r1", "A", 1.0, 26.0], ["r1", "B", 1.0, 37.0], ["r1", "Total", 2.0, 63.0],
        ["r3", "A", 1.0, 26.0], ["r3", "B", 1.0, 37.0], ["r3", "Total", 2.0, 63.0]]
    assert table.shares_display.loc["r1"].tolist() == ["*", "*", "*"]


def test_single_column_profile_hides_the_next_smallest_count():
    # 50, 3, 40, 20 with total 113: 3 alone is 113 - 50 - 40 - 20; hiding 20 too leaves
    # 3+d and 20-d, each at least 1: 1 to 22. No totals column: it would repeat.
    counts = pd.Series([50, 3, 40, 20], index=["w", "x", "y", "z"], name="users")
    table = protect_table(counts, THRESHOLD, table_name="Profile")
    assert table.display["users"].tolist() == ["50", "*", "40", "*", "113"]
    assert list(table.display.columns) == ["users"]
    assert table.log[["row", "value", "reason", "lower", "upper"]].values.tolist() == [
        ["x", 3, "primary: below 10", 1.0, 22.0],
        ["z", 20, "secondary: protects column total", 1.0, 22.0]]
    assert table.shares_display["users"].tolist() == ["44.2%", "*", "35.4%", "*", "100.0%"]
    assert table.count_text("z", "users") == "a number not shown"
    assert table.count_text("w", "users") == "50"
    assert table.share_text("x", "users") == "share not shown"


def test_zeros_are_shown_unless_the_policy_hides_them():
    counts = frame({"a": [0, 40], "b": [30, 50], "c": [20, 60]}, ["x", "y"])
    assert not protect_table(counts, THRESHOLD, table_name="t").suppressed.values.any()
    # With zeros hidden, the 0 needs a rectangle: a/b by x/y costs 40+30+50 = 120, and
    # a/c by x/y 40+20+60 = 120 too; the first in reading order wins.
    strict = protect_table(counts, load_policy(suppress_zero=True), table_name="t")
    assert strict.display.values.tolist() == [
        ["*", "*", "40"], ["*", "*", "80"], ["20", "60", "80"], ["50", "150", "200"]]
    assert strict.log[["row", "column", "reason", "lower", "upper"]].values.tolist() == [
        ["a", "x", "primary: zero", 0.0, 30.0],
        ["a", "y", "secondary: protects row total", 10.0, 40.0],
        ["b", "x", "secondary: protects column total", 0.0, 30.0],
        ["b", "y", "secondary: protects row and column totals", 50.0, 80.0]]


def test_threshold_prose_reads_the_same_for_every_hidden_figure():
    # 12, 9, 27 of 48: 9 is hidden, and 12 (the cheaper) with it: 9 + 12 = 21, so
    # either could be anything from 1 to 20.
    table = protect_table(pd.Series([12, 9, 27], index=list("abc"), name="n"), THRESHOLD,
                          table_name="t")
    assert [table.count_text(r, "n") for r in "abc"] == [
        "a number not shown", "a number not shown", "27"]
    assert [table.share_text(r, "n") for r in "abc"] == [
        "share not shown", "share not shown", "56.2%"]


def test_internal_mode_leaves_the_table_as_it_is():
    counts = frame({"a": [1, 2], "b": [3, 4000]}, ["x", "y"])
    table = protect_table(counts, INTERNAL, table_name="t")
    assert table.display.values.tolist() == [
        ["1", "2", "3"], ["3", "4,000", "4,003"], ["4", "4,002", "4,006"]]
    assert not table.suppressed.values.any()
    assert table.log.empty and list(table.log.columns) == LOG_COLUMNS
    assert table.shares.loc["a", "x"] == 25.0
    assert table.count_text("a", "x") == "1"


@pytest.mark.parametrize("bad", [-1, 2.5, np.nan])
def test_counts_must_be_whole_and_not_negative(bad):
    counts = frame({"a": [1, bad]}, ["x", "y"])
    with pytest.raises(InputError) as info:
        protect_table(counts, THRESHOLD, table_name="t")
    assert (info.value.code, info.value.column) == ("bad-count", "y")


@pytest.mark.slow
def test_a_typical_large_table_is_protected_quickly():
    rng = np.random.default_rng(7)
    counts = pd.DataFrame(rng.integers(10, 400, size=(25, 10)))
    counts = counts.mask(rng.random((25, 10)) < 0.1, rng.integers(1, 10, size=(25, 10)))
    table = protect_table(counts, THRESHOLD, table_name="big")
    assert table.suppressed.values.sum() == len(table.log) > 0
    assert (table.log["upper"] - table.log["lower"]).min() >= 1


# --- the property: nothing hidden can be worked out -----------------------------------------


def reader_ranges(display: pd.DataFrame, marker: str, total_row: bool, total_col: bool,
                  lower: int) -> list[tuple[object, object, float, float]]:
    """What a reader could work out for each hidden cell, from the display alone.

    Every hidden figure (count or total) is an unknown at least ``lower``; every row
    adds up to its total and every column to its total, where those exist.
    """
    cells = display.to_numpy()
    hidden = cells == marker
    known = np.where(hidden, 0, np.char.replace(cells.astype(str), ",", "")
                     .astype(object)).astype(float) if cells.size else cells
    ids = -np.ones(cells.shape, dtype=int)
    ids[hidden] = np.arange(hidden.sum())
    n_rows, n_cols = cells.shape
    lines = []  # (parts, total) of every equation
    if total_col:
        lines += [([(i, j) for j in range(n_cols - 1)], (i, n_cols - 1)) for i in range(n_rows)]
    if total_row:
        lines += [([(i, j) for i in range(n_rows - 1)], (n_rows - 1, j)) for j in range(n_cols)]
    a_eq, b_eq = [], []
    for parts, total in lines:
        row, rhs = np.zeros(hidden.sum()), 0.0
        for cell, sign in [(p, 1.0) for p in parts] + [(total, -1.0)]:
            if hidden[cell]:
                row[ids[cell]] += sign
            else:
                rhs -= sign * known[cell]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    out = []
    for i, j in zip(*np.nonzero(hidden), strict=True):
        c = np.zeros(hidden.sum())
        c[ids[i, j]] = 1.0
        bounds = []
        for sign in (1.0, -1.0):
            res = linprog(sign * c, A_eq=np.array(a_eq) if a_eq else None,
                          b_eq=np.array(b_eq) if b_eq else None, bounds=(lower, None),
                          method="highs")
            assert res.status in (0, 3), res.message
            bounds.append(np.inf if res.status == 3 else sign * res.fun)
        out.append((display.index[i], display.columns[j], bounds[0], bounds[1]))
    return out


small_ints = st.one_of(st.just(0), st.just(1), st.integers(1, 9), st.integers(10, 40))
tables = st.integers(1, 6).flatmap(lambda r: st.integers(1, 5).flatmap(
    lambda c: st.lists(st.lists(small_ints, min_size=c, max_size=c), min_size=r, max_size=r)))


@pytest.mark.slow
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=tables, row_totals=st.booleans(), col_totals=st.booleans(),
       suppress_zero=st.booleans())
def test_no_hidden_cell_can_be_worked_out_from_the_published_table(
        rows, row_totals, col_totals, suppress_zero):
    counts = pd.DataFrame(rows, index=[f"r{i}" for i in range(len(rows))],
                          columns=[f"c{j}" for j in range(len(rows[0]))])
    policy = load_policy(suppress_zero=suppress_zero)
    table = protect_table(counts, policy, table_name="t", row_totals=row_totals,
                          col_totals=col_totals)
    total_col = row_totals and counts.shape[1] > 1
    total_row = col_totals and counts.shape[0] > 1
    assert (table.display.columns[-1] == "Total") == total_col
    assert (table.display.index[-1] == "Total") == total_row

    # What is published is true, and every small count is hidden.
    true = counts.copy()
    if total_col:
        true["Total"] = counts.sum(axis=1)
    if total_row:
        true.loc["Total"] = true.sum(axis=0)
    hidden = table.display == "*"
    pd.testing.assert_frame_equal(hidden, table.suppressed)
    small = (true < 10) & ((true > 0) | suppress_zero)
    assert not (small & ~hidden).any().any()
    published = table.display.to_numpy()[~hidden.to_numpy()]
    assert [int(v.replace(",", "")) for v in published] == \
        true.to_numpy()[~hidden.to_numpy()].tolist()
    assert table.shares.where(hidden).isna().all().all()

    # One log entry per hidden cell, each with a reason.
    assert sorted(zip(table.log["row"], table.log["column"], strict=True)) == sorted(
        hidden.stack()[lambda s: s].index.tolist())
    primary = table.log["reason"].str.startswith("primary: ")
    assert (primary | table.log["reason"].str.startswith("secondary: protects ")).all()
    assert primary.sum() == small.sum().sum()

    # The promise: from published cells, totals and non-negativity, every hidden cell
    # keeps a range at least one wide that reaches the threshold (so no hidden cell, or
    # total of hidden cells, can be shown to be small), even for a reader who knows
    # that hidden cells are not zeros when zeros are shown. (That reader's ranges lie
    # inside the ranges of one who knows only that counts are not negative, so checking
    # them checks both.)
    lower = 0 if suppress_zero else 1
    for row, col, lo, hi in reader_ranges(table.display, "*", total_row, total_col, lower):
        assert hi - lo >= 1 - 1e-6, (row, col, lo, hi)
        assert hi >= 10 - 1e-6, (row, col, lo, hi)


def test_two_hidden_cells_in_every_line_is_not_enough():
    # The classic rule would hide just the four 1s: every line then has two hidden
    # cells. But a reader who knows hidden cells are not zero (zeros are shown) reads
    # column x: 22 - 20 = 2 for two hidden cells, so both are 1.
    counts = frame({"a": [1, 1, 20], "b": [1, 1, 30], "c": [20, 30, 40]}, ["x", "y", "z"])
    naive = protect_table(counts, INTERNAL, table_name="t").display
    naive.iloc[:2, :2] = "*"
    assert {(r, c, lo, hi) for r, c, lo, hi in reader_ranges(naive, "*", True, True, 1)} == {
        ("a", "x", 1, 1), ("a", "y", 1, 1), ("b", "x", 1, 1), ("b", "y", 1, 1)}
    table = protect_table(counts, THRESHOLD, table_name="t")
    assert all(hi - lo >= 1 for *_, lo, hi in
               reader_ranges(table.display, "*", True, True, 1))
    assert len(table.log) == 9  # in so small a table, everything but the totals


# --- tables of lines: hierarchies, unknowns and shared totals --------------------------------


def lines_table(counts: dict[str, int], lines: list[Line], policy, name="t", **kw):
    frame = pd.DataFrame({"n": list(counts.values())}, index=list(counts))
    return protect_lines({name: (frame, lines)}, policy, **kw)[name]


ETHNICITY = {"African": 25, "Caribbean": 2, "Other Black": 1, "Black only": 0,
             "White British": 300, "White only": 50, "Unknown": 22}
ETHNICITY_LINES = [
    Line("African", ("African",)), Line("Caribbean", ("Caribbean",)),
    Line("Other Black", ("Other Black",)), Line("White British", ("White British",)),
    Line("Black", ("African", "Caribbean", "Other Black", "Black only"), level=1),
    Line("White", ("White British", "White only"), level=1),
    Line("Not recorded", ("Unknown",)),
    Line("People", tuple(ETHNICITY), level=2),
]


def test_broad_and_detailed_groups_are_protected_together():
    # Black 28 is shown and so is African 25: Caribbean + Other Black (+ anyone recorded
    # as Black only, 0 here) = 28 - 25 = 3, so each is at most 2: small, though hidden.
    # African is hidden too (the cheapest detailed figure): then Caribbean is anything
    # from 1 to 28 - 1 (Other Black) - 1 (African) = 26.
    table = lines_table(ETHNICITY, ETHNICITY_LINES, THRESHOLD)
    assert table.display["n"].to_dict() == {
        "African": "*", "Caribbean": "*", "Other Black": "*", "White British": "300",
        "Black": "28", "White": "350", "Not recorded": "22", "People": "400"}
    assert table.log[["row", "value", "reason", "lower", "upper"]].values.tolist() == [
        ["African", 25, "secondary: protects totals", 1.0, 26.0],
        ["Caribbean", 2, "primary: below 10", 1.0, 26.0],
        ["Other Black", 1, "primary: below 10", 1.0, 26.0]]


def test_nhs_rule_marks_every_1_to_7_and_reads_rounded_figures_as_ranges():
    # Caribbean 2 and Other Black 1 are *; Black 28 -> 30 (28 to 32), African 25 -> 25
    # (23 to 27): Caribbean + Other Black is 1 to 9, so each can still be 1 to 7.
    # Not recorded 3 is * too (never "5", and never 0 as rounding 1 or 2 to 5 gives):
    # people 378 -> 380 (378 to 382) less Black (28 to 32) and White 350 (348 to 352)
    # leaves -6 to 6, so 1 to 6.
    counts = {**ETHNICITY, "Unknown": 3}
    table = lines_table(counts, ETHNICITY_LINES, NHS)
    assert table.display["n"].to_dict() == {
        "African": "25", "Caribbean": "*", "Other Black": "*", "White British": "300",
        "Black": "30", "White": "350", "Not recorded": "*", "People": "380"}
    assert table.count_text("Not recorded", "n") == "fewer than 8"
    assert table.log[["row", "lower", "upper"]].values.tolist() == [
        ["Caribbean", 1.0, 7.0], ["Other Black", 1.0, 7.0], ["Not recorded", 1.0, 6.0]]


def test_a_small_number_not_recorded_hides_the_number_recorded_too():
    # People 45 = women 30 + men 12 + not recorded 3. With 45, 30 and 12 shown, 3 follows;
    # hiding the number recorded (42) alone does not help (30 + 12), nor men alone (45 -
    # 42): both go, and then not recorded is anything from 1 to 14.
    counts = {"Women": 30, "Men": 12, "Unknown": 3}
    lines = [Line("Women", ("Women",), share_of="Recorded"),
             Line("Men", ("Men",), share_of="Recorded"), Line("Not recorded", ("Unknown",)),
             Line("Recorded", ("Women", "Men"), level=1), Line("People", tuple(counts), 2)]
    table = lines_table(counts, lines, THRESHOLD)
    assert table.display["n"].tolist() == ["30", "*", "*", "*", "45"]
    assert table.shares_display["n"].tolist() == ["*", "*", "-", "-", "-"]
    assert table.log[["row", "lower", "upper"]].values.tolist() == [
        ["Men", 1.0, 14.0], ["Not recorded", 1.0, 14.0], ["Recorded", 31.0, 44.0]]


def test_a_shared_total_is_hidden_in_every_table_or_none():
    # Nine people: every figure is small, the number of people too, in both tables.
    sex = {"Women": 5, "Men": 4, "Unknown": 0}
    disability = {"Disabled": 9, "Unknown": 0}
    blocks = {
        "sex": (pd.DataFrame({"n": list(sex.values())}, index=list(sex)),
                [Line(k, (k,)) for k in sex] + [Line("People", tuple(sex), 2)]),
        "disability": (pd.DataFrame({"n": list(disability.values())}, index=list(disability)),
                       [Line(k, (k,)) for k in disability]
                       + [Line("People", tuple(disability), 2)]),
    }
    tables = protect_lines(blocks, THRESHOLD, shared=["People"])
    assert tables["sex"].display["n"].tolist() == ["*", "*", "0", "*"]
    assert tables["disability"].display["n"].tolist() == ["*", "0", "*"]


@pytest.mark.parametrize(("flag", "true", "lower", "upper", "expected", "safe"), [
    # "Fewer than expected" tells a reader the count is at most some value, which the
    # true count is: one below it is possible too unless the reader's range starts at it.
    ("under", 3, 1, 20, 14.0, True), ("under", 3, 3, 20, 14.0, False),
    # "More than expected": one above must be possible.
    ("over", 12, 1, np.inf, 6.0, True), ("over", 12, 1, 12, 6.0, False),
    # "In line": the values between the count and the expected count are in line too.
    ("none", 4, 1, 20, 6.2, True), ("none", 4, 1, 4, 6.2, False),
    ("none", 6, 6, 6, 6.2, False), ("none", 6, 5, 6, 6.2, True),
    # Too few to test says nothing about the count.
    ("too_few", 2, 2, 2, 1.5, True),
])
def test_a_hidden_groups_direction_is_said_only_where_it_leaves_two_values(
        flag, true, lower, upper, expected, safe):
    assert direction_is_safe(flag, true, lower, upper, expected) is safe


# --- the property, for hierarchies: broad and detailed groups, not recorded, people ------------


def hierarchy_ranges(table, lines: list[Line], parts: list[str], method: str
                     ) -> dict[str, tuple[float, float]]:
    """Each line's smallest and largest value as a reader works it out from the display
    alone (whole numbers, ``milp``): each shown line adds up its parts (to within the
    rounding under the NHS rule), a hidden line is at least 1 (1 to 7 for the NHS
    marker), every part at least 0."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    idx = {p: i for i, p in enumerate(parts)}
    a, lo, hi = [], [], []
    for line in lines:
        row = np.zeros(len(parts))
        row[[idx[p] for p in line.parts]] = 1
        shown = table.display.at[line.label, "n"]
        a.append(row)
        if shown == "*":
            lo.append(1)
            hi.append(7 if method == "nhs" else np.inf)
        elif shown == "[c]":
            lo.append(8)
            hi.append(np.inf)
        else:
            v = int(shown.replace(",", ""))
            lo.append(max(v - 2, 8) if method == "nhs" and v else v)
            hi.append(v + 2 if method == "nhs" and v else v)
    out = {}
    for line, c in zip(lines, a, strict=True):
        got = []
        for sign in (1, -1):
            res = milp(sign * c, constraints=LinearConstraint(np.array(a), lo, hi),
                       integrality=np.ones(len(parts)), bounds=Bounds(0, np.inf))
            got.append(sign * res.fun if res.status == 0 else np.inf)
        out[line.label] = (got[0], got[1])
    return out


hierarchies = st.lists(st.tuples(st.lists(small_ints, min_size=1, max_size=3),
                                 st.one_of(st.just(0), st.integers(1, 3))),
                       min_size=2, max_size=3)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=hierarchies, unknown=small_ints, method=st.sampled_from(["threshold", "nhs"]))
def test_no_hidden_figure_can_be_worked_out_across_a_hierarchy(groups, unknown, method):
    # Broad groups adding up detailed categories and people recorded with the group only;
    # not recorded; recorded; the detailed "recorded" and "not recorded"; people.
    counts, lines, detail, only = {}, [], [], []
    for g, (cats, rest) in enumerate(groups):
        names = [f"g{g}c{k}" for k in range(len(cats))]
        counts.update(zip(names, cats, strict=True))
        counts[f"g{g} only"] = rest
        detail += names
        only.append(f"g{g} only")
        lines += [Line(n, (n,)) for n in names]
        lines.append(Line(f"g{g}", (*names, f"g{g} only"), level=1))
    counts["unknown"] = unknown
    parts = list(counts)
    lines += [Line("Not recorded", ("unknown",)),
              Line("Recorded", tuple(p for p in parts if p != "unknown"), level=2),
              Line("Recorded (detailed)", tuple(detail), level=2),
              Line("Not recorded (detailed)", ("unknown", *only), level=1),
              Line("People", tuple(parts), level=2)]
    policy = load_policy(method=method)
    table = lines_table(counts, lines, policy)
    true = {ln.label: sum(counts[p] for p in ln.parts) for ln in lines}
    hidden = table.suppressed["n"]
    # What is published is true (or its rounding), and every small figure is hidden.
    for label, v in true.items():
        assert hidden[label] == (table.display.at[label, "n"] in ("*", "[c]"))
        if policy.is_small(v):
            assert table.display.at[label, "n"] == "*", (label, v)
        elif not hidden[label]:
            assert int(table.display.at[label, "n"].replace(",", "")) == policy.rounded(v)
    # The promise, for every figure: hidden and small, a reader cannot pin it down, nor
    # (threshold) show that it is small.
    ranges = hierarchy_ranges(table, lines, parts, method)
    for label, v in true.items():
        lo, hi = ranges[label]
        assert lo <= v <= hi, (label, v, lo, hi)
        if policy.is_small(v):
            assert hi - lo >= 1, (label, v, lo, hi)
            if method == "threshold":
                assert hi >= 10, (label, v, lo, hi)


def test_the_nhs_note_explains_the_second_marker_only_where_it_is_shown():
    plain = pd.DataFrame({"n": ["10", "*"]})
    assert NHS.note([plain]) == NHS.footnote
    assert "[c]" not in NHS.footnote
    assert NHS.note([plain, pd.DataFrame({"n": ["[c]"]})]) == (
        NHS.footnote + " [c] = a larger number hidden so that a * cannot be worked out.")
    assert THRESHOLD.note([pd.DataFrame({"n": ["[c]"]})]) == THRESHOLD.footnote


def test_a_small_group_with_no_census_category_is_counted_as_not_recorded():
    """Under the default threshold (10): a group not compared goes to "not recorded" when
    each of its figures is under 10 or zero and one is under 10; compared groups stay."""
    counts = pd.DataFrame({"2024": [3, 0, 3, 40, 4], "2025": [0, 0, 12, 50, 2]},
                          index=["Other", "Empty", "Once big", "Female", "Small compared"])
    got = counted_as_not_recorded(counts, ["Other", "Empty", "Once big", "Absent"], THRESHOLD)
    assert got == ["Other"]
    assert no_census_category("sex") == {"Other (not in the census)",
                                         "Indeterminate (not in the census)"}
    assert no_census_category("age") == set()

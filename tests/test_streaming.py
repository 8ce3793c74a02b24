"""The streaming path (DuckDB, one pass) counts exactly what the in-memory path counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqia.analysis.profiling import profile_file, profile_services
from eqia.errors import InputError
from eqia.read import extract, scan, scan_duckdb, streaming
from eqia.read.columns import plan_columns
from eqia.read.mapping import load_mapping

from .conftest import EXAMPLE_AS_OF, EXAMPLE_EXTRACT, EXAMPLE_MAPPING

HEADER = ["Client ID", "Date of Birth", "Gender", "Ethnicity", "Religion", "Disability",
          "Carer", "Service"]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def assert_same_profiles(path: Path, mapping: Path | None = None, **kwargs) -> dict:
    """Both paths give the same profiles (row order of ``counts`` aside) and return them."""
    kwargs.setdefault("as_of", EXAMPLE_AS_OF)
    in_memory = profile_services(path, mapping, streaming=False, **kwargs)
    streamed = profile_services(path, mapping, streaming=True, **kwargs)
    assert list(streamed) == list(in_memory)
    for key, want in in_memory.items():
        got = streamed[key]
        pd.testing.assert_frame_equal(_sorted(got.counts), _sorted(want.counts))
        pd.testing.assert_frame_equal(got.by_age, want.by_age)
        pd.testing.assert_frame_equal(got.reconciliation(), want.reconciliation())
        assert (got.rows, got.inputs, got.notes, got.duplicates, got.columns, got.age_source,
                got.age_bands, got.service, got.period, got.source) == (
            want.rows, want.inputs, want.notes, want.duplicates, want.columns, want.age_source,
            want.age_bands, want.service, want.period, want.source)
    return streamed


def write(path: Path, rows: list[list[str]], encoding: str = "utf-8",
          newline: str = "\n", header: list[str] = HEADER) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


AWKWARD = [
    ["1", "12/07/1992", "Male", "WBRI", "No Religion", "Y", "No", "Hub A"],
    ["2", "", "", "", "", "", "", "Hub A"],                       # blanks
    ["3", "18/08/1961", " Female ", "Other, not known", "Café", "N", "Yes", "Hub B"],
    [" 4 ", "31/02/1980", "F", "White: British", "£ none", "", "", "Hub B"],  # quoted commas
    ["5", "14/06/2031", "Unknown", "BAFR", "Christian", "Y", "No", "Hub, Town"],
    ["6", "02/01/1890", "Male", 'say "hi"', "Muslim", "N", "", "Hub A"],
    ["7", "20/09/1985", "Female", "multi\nline", "", "Y", "No", "Hub B"],
    ["8", "27/09/1995", "Female", "WBRI", "Jedi", "Unknown", "No", ""],
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("encoding", "newline", "extra"),
    [
        ("utf-8-sig", "\r\n", "é"),  # BOM, CRLF
        ("utf-8", "\n", "é"),
        ("cp1252", "\r\n", "é"),  # £ and é: DuckDB reads it as Latin-1
        ("cp1252", "\n", "€ ‘x’"),  # bytes Latin-1 lacks: counted by pandas in chunks
        ("utf-16", "\r\n", "é"),  # Excel's "Unicode Text": BOM-marked, counted by pandas
    ],
)
def test_awkward_csv_counts_the_same(tmp_path, encoding, newline, extra):
    rows = [*AWKWARD, ["9", "01/01/2000", "Male", extra, extra, "Y", "No", extra]]
    path = write(tmp_path / "awkward.csv", rows * 3 + [[str(i), *r[1:]] for i, r in
                                                      enumerate(rows, start=100)], encoding,
                 newline)
    assert_same_profiles(path, allow_duplicates=True, split=False)
    assert_same_profiles(path, allow_duplicates=True, split=True)


def test_blank_lines_and_spaces_count_the_same(tmp_path):
    text = ("Client ID,Gender,Ethnicity\r\n1,Male,WBRI\r\n\r\n2,Female,\r\n   \r\n"
            '3, Male ,""\r\n4,,\r\n5,"Female"," WBRI"\r\n,,\r\n\r\n')
    path = tmp_path / "blanks.csv"
    path.write_bytes(text.encode())
    got = assert_same_profiles(path, split=False)[(None, None)]
    # 5 people; the empty line, the line of spaces, ',,' and the empty last line are
    # blank rows (counted by hand).
    assert (got.rows, got.set_aside) == (5, {"blank": 4})


def test_blank_and_total_rows_are_found_whatever_the_ids_start_with(tmp_path):
    """IDs starting with T or S, blank IDs: DuckDB looks again, exactly, only where a row
    could be set aside; the counts are those made in memory."""
    rows = [["T1", "Male", "WBRI", "x"], ["S2", "Female", "", ""], ["", "", "", "a note"],
            ["", "", "", ""], ["Total", "", "", "2"], [" total: ", "", "", ""],
            ["Totally", "Male", "", ""]]
    path = write(tmp_path / "aside.csv", rows, header=["Client ID", "Gender", "Ethnicity",
                                                        "Notes"])
    got = assert_same_profiles(path, split=False)[(None, None)]
    # By hand: T1, S2, the row with only a note and "Totally" are people; one blank row,
    # two total rows.
    assert (got.rows, got.set_aside) == (4, {"blank": 1, "total": 2})
    plain = write(tmp_path / "people.csv", [["T1", "Male", "", ""], ["S2", "", "", ""]],
                  header=["Client ID", "Gender", "Ethnicity", "Notes"])
    assert assert_same_profiles(plain, split=False)[(None, None)].set_aside == {}


def test_a_short_row_is_the_same_error_on_both_paths(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"Client ID,Gender,Ethnicity\r\n1,Male,WBRI\r\n\r\n2,Female\r\n")
    for mode in (False, True):
        with pytest.raises(InputError) as caught:
            profile_file(path, streaming=mode)
        assert (caught.value.code, caught.value.row) == ("ragged-row", 4)


def test_the_example_extract_streams_to_the_same_profile():
    got = assert_same_profiles(EXAMPLE_EXTRACT, EXAMPLE_MAPPING, split=False)
    assert got[(None, None)].rows == 3012


@pytest.mark.slow
def test_services_and_periods_stream_to_the_same_profiles(tmp_path):
    df = pd.read_csv(EXAMPLE_EXTRACT, dtype=str, keep_default_na=False)
    df["Team"] = [["North", "South", "East", ""][i % 4] for i in range(len(df))]
    df["Financial Year"] = [["2024-25", "2025-26"][i % 3 == 0] for i in range(len(df))]
    path = tmp_path / "split.csv"
    df.to_csv(path, index=False)
    got = assert_same_profiles(path, EXAMPLE_MAPPING, split=True)
    assert len(got) == 8


def test_parquet_streams_to_the_same_profile(tmp_path):
    df = pd.read_csv(EXAMPLE_EXTRACT, dtype=str, keep_default_na=False)
    table = pa.table({
        "Client ID": pa.array(range(len(df)), pa.int64()),
        "Date of Birth": pa.array(
            [None if i % 50 == 0 else dt.date(1950, 1, 1) + dt.timedelta(days=i * 7)
             for i in range(len(df))], pa.date32()),
        "Gender": pa.array([None if v == "" else v for v in df["Gender"]]),
        "Ethnicity": df["Ethnicity"].tolist(),
        "Religion": pd.Categorical(df["Religion"]).astype(str).tolist(),
        "Carer": pa.array([None if i % 9 == 0 else i % 2 == 0 for i in range(len(df))]),
    })
    path = tmp_path / "extract.parquet"
    pq.write_table(table, path)
    assert_same_profiles(path)
    pq.write_table(pa.Table.from_pandas(df), path)  # with pandas' metadata
    assert_same_profiles(path, EXAMPLE_MAPPING)


def test_repeated_ids_give_the_same_error_and_note(tmp_path):
    lines = EXAMPLE_EXTRACT.read_text().splitlines()
    path = tmp_path / "repeats.csv"
    path.write_text("\n".join([*lines, *lines[40:47], lines[5].replace("KMH", " KMH", 1)]) + "\n")
    errors = []
    for mode in (False, True):
        with pytest.raises(InputError) as caught:
            profile_file(path, EXAMPLE_MAPPING, streaming=mode)
        errors.append(caught.value.describe())
    assert errors[0] == errors[1]
    assert "First repeated rows: 3014, 3015, 3016, 3017, 3018" in errors[1]
    got = assert_same_profiles(path, EXAMPLE_MAPPING, allow_duplicates=True, split=False)
    assert got[(None, None)].duplicates == 8


def test_a_cp1252_file_with_repeated_ids_reads_in_chunks(tmp_path):
    rows = [[f"{i % 7}", "", "Male", "€", "", "", "", ""] for i in range(20)]
    path = write(tmp_path / "cp.csv", rows, "cp1252")
    with pytest.raises(InputError, match="13 rows repeat"):
        profile_file(path, streaming=True)
    assert_same_profiles(path, allow_duplicates=True)


@pytest.mark.slow
def test_a_file_bigger_than_the_memory_limit_is_still_counted(tmp_path):
    import sys

    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import generate

    base = generate.make_chunk(1, 0, 100_000)
    path = tmp_path / "big.csv"
    with pacsv.CSVWriter(path, base.schema,
                         write_options=pacsv.WriteOptions(quoting_style="none")) as w:
        for k in range(24):  # 2.4 million rows, every person ID different
            ids = pc.binary_join_element_wise(f"R{k:02d}", base["Client ID"], "")
            w.write_table(base.set_column(0, "Client ID", ids))
    assert path.stat().st_size > 140 * 2**20
    parts = streaming.stream_value_counts(path, load_mapping(EXAMPLE_MAPPING),
                                          memory_limit="128MB")
    vc = parts[(None, None)]
    assert (vc.rows, vc.duplicates) == (2_400_000, 0)
    assert {k: int(s.sum()) for k, s in vc.values.items()} == dict.fromkeys(vc.values, vc.rows)
    assert int(vc.pairs["sex"].sum()) == vc.rows


def test_progress_is_reported_up_to_the_end():
    seen: list[float] = []
    profile_file(EXAMPLE_EXTRACT, EXAMPLE_MAPPING, streaming=True, progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0 <= x <= 1 for x in seen)


def test_only_large_csv_and_parquet_files_stream_by_default(tmp_path):
    assert not extract.streams(EXAMPLE_EXTRACT)
    assert extract.streams(EXAMPLE_EXTRACT, True)
    assert not extract.streams(tmp_path / "book.xlsx", True)
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(extract.STREAM_THRESHOLD)
    assert extract.streams(big)


def test_aggregated_files_are_read_in_memory_even_when_streaming_is_asked():
    path = EXAMPLE_EXTRACT.with_name("mh_support_aggregated.csv")
    assert profile_file(path, streaming=True).shape == "aggregated"


def test_a_bad_row_is_reported_without_its_contents(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Client ID,Gender\n1,Male\n2,Female,SECRET-NAME\n")
    with pytest.raises(InputError) as caught:
        profile_file(path, streaming=True)
    assert (caught.value.code, caught.value.row) == ("ragged-row", 3)
    assert "SECRET" not in caught.value.describe()


def test_a_header_only_file_gives_the_in_memory_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("Client ID,Gender\n")
    with pytest.raises(InputError) as caught:
        profile_file(path, streaming=True)
    assert caught.value.code == "no-rows"


CODES = st.sampled_from(["WBRI", "Male", "Female", "", " ", "Not Known", "REFU", "x,y", 'q"q',
                         "£", "é", "18-24", "Y", "N", "01/01/1990", "31/02/1980", "Jedi"])


@pytest.mark.slow
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(st.integers(0, 30), CODES, CODES, CODES, CODES), min_size=1,
                  max_size=40),
    newline=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
)
def test_any_small_extract_streams_to_the_same_profile(tmp_path, rows, newline, encoding):
    header = ["Person ID", "Age", "Sex", "Ethnic Group", "Religion"]
    path = write(tmp_path / "h.csv", [[str(r[0]), *r[1:]] for r in rows], encoding, newline,
                 header)
    assert_same_profiles(path, allow_duplicates=True)


# ---------------------------------------------------------------------------
# The person-ID check (hashes collected during the one scan, then sorted) and the
# shared age code: exact, and the same whichever way DuckDB is driven.


def _generated(tmp_path: Path, rows: int, repeats: list[tuple[int, str]] = ()) -> Path:
    """A generated extract (benchmarks/generate.py); ``repeats``: (row, ID) overwrites."""
    import sys

    import pyarrow.csv as pacsv

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import generate

    table = generate.make_chunk(5, 0, rows)
    ids = table["Client ID"].to_pylist()
    for row, pid in repeats:
        ids[row] = pid
    table = table.set_column(0, "Client ID", pa.array(ids))
    path = tmp_path / "generated.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return path


def _independent_repeats(path: Path) -> tuple[int, list[int]]:
    """Rows repeating an earlier (stripped, non-blank) ID, and their lines: plain Python."""
    seen: set[str] = set()
    n, lines = 0, []
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            pid = row["Client ID"].strip()
            if not pid:
                continue
            if pid in seen:
                n += 1
                lines.append(line)
            seen.add(pid)
    return n, lines


def test_repeated_ids_in_a_generated_extract_are_counted_exactly(tmp_path):
    # Whitespace variants count as the same person, as in memory (Python's strip()).
    repeats = [(10, "KMH000000001"), (500, " KMH000000002"), (900, "KMH000000003\u00a0"),
               (1500, "\tKMH000000003"), (2000, "KMH000000700"), (2500, "  "), (2600, "")]
    path = _generated(tmp_path, 3_000, repeats)
    want, lines = _independent_repeats(path)
    assert want == 5
    with pytest.raises(InputError) as caught:
        profile_file(path, EXAMPLE_MAPPING, streaming=True)
    assert caught.value.describe().count("5 rows repeat") == 1
    assert f"First repeated rows: {', '.join(map(str, lines))}" in caught.value.describe()
    got = assert_same_profiles(path, EXAMPLE_MAPPING, allow_duplicates=True, split=False)
    assert got[(None, None)].duplicates == want == 5


def test_colliding_hashes_do_not_invent_repeats(tmp_path, monkeypatch):
    # A deliberately bad hash (the ID's length): every ID collides, none repeats.
    monkeypatch.setattr(scan_duckdb.Reader, "hash_of",
                        staticmethod(lambda raw: f"hash(length(trim({raw})))"))
    path = _generated(tmp_path, 2_000)
    vc = streaming.stream_value_counts(path, load_mapping(EXAMPLE_MAPPING))[(None, None)]
    assert (vc.rows, vc.duplicates) == (2_000, 0)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["no udf", "hashes lost", "duckdb 1"])
def test_the_fallbacks_count_the_same(tmp_path, monkeypatch, how):
    """Without the hash collector (older DuckDB), if a batch of hashes went missing, and
    with GROUPING SETS (DuckDB 1): the same counts and the same repeats."""
    import duckdb

    if how == "no udf":
        monkeypatch.setattr(scan_duckdb.IdHashes, "register", classmethod(lambda cls, con, folder=None: None))
    elif how == "hashes lost":
        calls = {"n": 0}
        keep = scan_duckdb.IdHashes._keep

        def lossy(self, hashes):  # drops the second batch
            calls["n"] += 1
            if calls["n"] != 2:
                keep(self, hashes)
            return hashes

        monkeypatch.setattr(scan_duckdb.IdHashes, "_keep", lossy)
    else:
        monkeypatch.setattr(duckdb, "__version__", "1.4.3")
    path = _generated(tmp_path, 5_000, [(4_000, "KMH000000011"), (4_001, "KMH000000012 ")])
    got = assert_same_profiles(path, EXAMPLE_MAPPING, allow_duplicates=True, split=False)
    assert got[(None, None)].duplicates == 2
    with pytest.raises(InputError, match="2 rows repeat"):
        profile_file(path, EXAMPLE_MAPPING, streaming=True)
    if how == "hashes lost":
        if calls["n"] == 0:  # DuckDB 1.x (the lowest declared) counted without the collector
            pytest.skip(f"DuckDB {duckdb.__version__} did not call the hash collector")
        assert calls["n"] >= 2 * 3  # batches did go missing (three per scan of 5,000 rows)


def test_sex_by_age_matches_an_independent_count():
    """``by_age`` (vectorised) against plain Python on the example extract."""
    sexes = {"Female": "Female", "Male": "Male", "Other": "Other (not in the census)"}
    want: dict[tuple[int, str], int] = {}
    with open(EXAMPLE_EXTRACT, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                born = dt.datetime.strptime(row["Date of Birth"], "%d/%m/%Y").date()
            except ValueError:
                continue
            age = EXAMPLE_AS_OF.year - born.year - (
                (born.month, born.day) > (EXAMPLE_AS_OF.month, EXAMPLE_AS_OF.day))
            sex = sexes.get(row["Gender"])
            if sex and born <= EXAMPLE_AS_OF and age <= 120:
                want[(age, sex)] = want.get((age, sex), 0) + 1
    for mode in (False, True):
        by_age = profile_file(EXAMPLE_EXTRACT, EXAMPLE_MAPPING, as_of=EXAMPLE_AS_OF,
                              streaming=mode).by_age
        # Every characteristic the census crosses with age is counted by age.
        assert set(by_age["characteristic"]) == {
            "sex", "ethnicity", "ethnicity_detailed", "religion", "marriage_civil_partnership"}
        assert (by_age["age_lo"] == by_age["age_hi"]).all()
        by_age = by_age[by_age["characteristic"] == "sex"]
        got = {(int(r.age_lo), r.category): int(r.count) for r in by_age.itertuples()}
        assert got == want
        assert sum(got.values()) == 2_929


@pytest.mark.parametrize(
    ("values", "source"),
    [
        (["30/07/1992", "", "31/02/1980", "18-24"], "age band"),  # one band is enough
        (["30/07/1992", "1992-07-30", "", "Not Known"], "date of birth"),
        (["65 and over", "12/01/1990"], "age band"),
        (["Under 18", "x"], "age band"),
        (["AGED 18 TO 24 YEARS"], "age band"),
        (["18 \u2013 24"], "age band"),
        (["<18"], "age band"),
        (["44", "18", "7"], "age in years"),  # single years are ages, not bands
        (["44", "1992-07-30", "30 Jul 1992", "Jul"], "age in years"),
    ],
)
def test_the_age_source_is_read_from_the_values(tmp_path, values, source):
    path = write(tmp_path / "ages.csv", [[str(i), v] for i, v in enumerate(values)],
                 header=["Person ID", "Age"])
    for mode in (False, True):
        assert profile_file(path, as_of=EXAMPLE_AS_OF, streaming=mode).age_source == source


def test_hashes_beyond_the_reserved_room_are_still_all_counted():
    from eqia.read.scan_duckdb import IdHashes

    pa = pytest.importorskip("pyarrow")
    ids = IdHashes()
    ids.reserve(5)  # room for 5; 8 arrive, in three batches, one with a null (a blank ID)
    for batch in ([1, 2, 3], [4, None, 5, 6], [7, 3]):
        ids._keep(pa.array(batch, type=pa.uint64()))
    # 8 hashes kept (the null is a row without an ID); 3 is seen twice.
    assert ids.repeats(8) == 1
    ids.reserve(2)
    ids._keep(pa.array([9, 10, 11], type=pa.uint64()))
    assert ids.repeats(4) is None  # not every row's hash came by: count on the IDs instead


def test_hashes_spilled_in_sorted_runs_count_every_repeat(monkeypatch):
    """Past ``RUN`` hashes the room is sorted and written out; repeats are then counted
    range by range over the runs: the same number as a plain Python set finds."""
    from eqia.read.scan_duckdb import IdHashes

    pa = pytest.importorskip("pyarrow")
    monkeypatch.setattr(IdHashes, "RUN", 64)
    monkeypatch.setattr(IdHashes, "PARTS", 8)
    rng = np.random.default_rng(18)
    # Values over the whole 64-bit range (every range of the runs), some drawn twice or
    # more: a few from a small pool, and the edges of the range.
    wide = rng.integers(0, 2**64 - 1, size=900, dtype=np.uint64, endpoint=True)
    pool = rng.integers(0, 2**64 - 1, size=40, dtype=np.uint64, endpoint=True)
    edges = np.array([0, 0, 2**64 - 1, 2**64 - 1, 2**54, 2**54 - 1, 2**54], dtype=np.uint64)
    values = np.concatenate([wide, rng.choice(pool, 300), edges])
    rng.shuffle(values)
    want = len(values) - len(set(values.tolist()))
    assert want > 260  # the pool's repeats and the edges'
    ids = IdHashes()
    ids.reserve(10)  # grows to RUN, then spills
    for batch in np.array_split(values, 37):
        ids._keep(pa.array(batch, type=pa.uint64()))
    assert len(ids.runs) == len(values) // 64
    assert ids.repeats(len(values)) == want
    assert ids.runs == []  # the temporary files are closed (and so deleted)


def test_a_streamed_file_counts_repeats_in_bounded_memory(tmp_path, monkeypatch):
    """The whole path with room for 1,000 hashes: 5,000 rows spill four runs; the
    repeats found in them are the IDs' own (plain Python), and without repeats the runs
    alone decide (no second query on the IDs)."""
    monkeypatch.setattr(scan_duckdb.IdHashes, "RUN", 1_000)
    path = _generated(tmp_path, 5_000, [(4_000, "KMH000000011"), (4_500, " KMH000000012"),
                                        (4_999, "KMH000000011")])
    want, _ = _independent_repeats(path)
    assert want == 3
    vc = streaming.stream_value_counts(path, load_mapping(EXAMPLE_MAPPING),
                                       allow_duplicates=True, split=False)[(None, None)]
    assert (vc.rows, vc.duplicates) == (5_000, want)
    monkeypatch.setattr(scan_duckdb, "_exact_duplicates",
                        lambda *a: pytest.fail("the hashes should have decided"))
    path = _generated(tmp_path, 5_000)
    vc = streaming.stream_value_counts(path, load_mapping(EXAMPLE_MAPPING),
                                       split=False)[(None, None)]
    assert (vc.rows, vc.duplicates) == (5_000, 0)


def test_columns_counted_together_count_the_same_when_the_sample_misleads(tmp_path):
    """Columns with few values in the first rows share one aggregate; a column whose
    values only vary after the sample (3,000 distinct disability values from row 2,101)
    still counts exactly as in memory."""
    rows = [[str(i), "30/07/1992", "Male" if i % 3 else "Female", "WBRI", "No Religion",
             "No" if i <= 2_100 else f"Condition {i}", "Y" if i % 2 else "N", "Hub A"]
            for i in range(1, 5_101)]
    path = write(tmp_path / "late.csv", rows)
    src = scan.inspect(path)
    assert src.distinct["Disability"] == 1 and src.distinct["Client ID"] == 2_000
    plan = plan_columns(src.columns, load_mapping(None), src.name)
    job = scan.Job(src, plan, split=False)
    together = [s for s in job.sets if len(s) > 1 and "Date of Birth" not in s]
    assert together and any("Disability" in s for s in together)
    got = assert_same_profiles(path, split=False)[(None, None)]
    assert got.invalid("disability") == 3_000
    assert got.category_counts("sex")["Female"] == 5_100 // 3


def test_columns_are_grouped_while_their_sampled_values_multiply_under_the_limit():
    limit = scan.COMBINE_LIMIT
    distinct = {"a": 3, "b": 7, "c": 31, "d": 2, "e": limit, "f": 1}
    # (3+1)*(7+1)*(31+1) = 1024 fits; d would make 3072: a new group; e is counted alone.
    assert scan.combined_sets(list("abcdef"), distinct) == [
        ("a", "b", "c"), ("e",), ("d", "f")]
    assert scan.combined_sets(["x"], {}) == [("x",)]  # unknown: alone

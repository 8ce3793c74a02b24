"""The streaming path (DuckDB, one pass) counts exactly what the in-memory path counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqia import streaming
from eqia.errors import InputError
from eqia.mapping import load_mapping
from eqia.profile import profile_file, profile_services

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


@pytest.mark.parametrize(
    ("encoding", "newline", "extra"),
    [
        ("utf-8-sig", "\r\n", "é"),  # BOM, CRLF
        ("utf-8", "\n", "é"),
        ("cp1252", "\r\n", "é"),  # £ and é: DuckDB reads it as Latin-1
        ("cp1252", "\n", "€ ‘x’"),  # bytes Latin-1 lacks: counted by pandas in chunks
    ],
)
def test_awkward_csv_counts_the_same(tmp_path, encoding, newline, extra):
    rows = [*AWKWARD, ["9", "01/01/2000", "Male", extra, extra, "Y", "No", extra]]
    path = write(tmp_path / "awkward.csv", rows * 3 + [[str(i), *r[1:]] for i, r in
                                                      enumerate(rows, start=100)], encoding,
                 newline)
    assert_same_profiles(path, allow_duplicates=True, split=False)
    assert_same_profiles(path, allow_duplicates=True, split=True)


def test_blank_lines_short_rows_and_spaces_count_the_same(tmp_path):
    text = ("Client ID,Gender,Ethnicity\r\n1,Male,WBRI\r\n\r\n2,Female\r\n   \r\n"
            '3, Male ,""\r\n4,,\r\n5,"Female"," WBRI"\r\n')
    path = tmp_path / "ragged.csv"
    path.write_bytes(text.encode())
    assert_same_profiles(path)


def test_the_example_extract_streams_to_the_same_profile():
    got = assert_same_profiles(EXAMPLE_EXTRACT, EXAMPLE_MAPPING, split=False)
    assert got[(None, None)].rows == 3012


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
    assert not streaming.wanted(EXAMPLE_EXTRACT)
    assert streaming.wanted(EXAMPLE_EXTRACT, True)
    assert not streaming.wanted(tmp_path / "book.xlsx", True)
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(streaming.STREAM_THRESHOLD)
    assert streaming.wanted(big)


def test_aggregated_files_are_read_in_memory_even_when_streaming_is_asked():
    path = EXAMPLE_EXTRACT.with_name("mh_support_aggregated.csv")
    assert profile_file(path, streaming=True).shape == "aggregated"


def test_a_bad_row_is_reported_without_its_contents(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Client ID,Gender\n1,Male\n2,Female,SECRET-NAME\n")
    with pytest.raises(InputError) as caught:
        profile_file(path, streaming=True)
    assert caught.value.code == "unreadable-file"
    assert "SECRET" not in caught.value.describe()


def test_a_header_only_file_gives_the_in_memory_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("Client ID,Gender\n")
    with pytest.raises(InputError) as caught:
        profile_file(path, streaming=True)
    assert caught.value.code == "no-rows"


CODES = st.sampled_from(["WBRI", "Male", "Female", "", " ", "Not Known", "REFU", "x,y", 'q"q',
                         "£", "é", "18-24", "Y", "N", "01/01/1990", "31/02/1980", "Jedi"])


@settings(max_examples=20, deadline=None,
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

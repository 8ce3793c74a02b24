"""Counting where the data lives: the same extract in PostgreSQL, a DuckDB file and
Spark gives the file path's counts exactly (``read.engines``).

The extract is the example one, its dates of birth turned into dates (the form a
database holds them in) and a service column added; it is written as a CSV for the file
path and loaded, row for row, into each engine. PostgreSQL is a real server started in a
temporary folder; Spark a local session. Without them (or their libraries) the tests
skip and say how to enable them; under CI=true they must run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from eqia.analysis.profiling import profile_services
from eqia.errors import InputError, UsageError
from eqia.read.engines import DatabaseSource, birth_date_for

from .conftest import EXAMPLE_AS_OF, EXAMPLE_EXTRACT, EXAMPLE_MAPPING

IN_CI = os.environ.get("CI") == "true"
TABLE = "mh_support"


def _skip(why: str, enable: str) -> None:
    """Skip locally (saying how to enable the test); fail under CI, where it must run."""
    if IN_CI:
        pytest.fail(f"{why} (CI must run this test: {enable})")
    pytest.skip(f"{why}: {enable}")


@pytest.fixture(scope="module")
def extract() -> pd.DataFrame:
    """The example extract as a database holds it: dates of birth as dates (day first in
    the file), a service per row, and blanks as NULL."""
    df = pd.read_csv(EXAMPLE_EXTRACT, dtype=str, keep_default_na=False)
    born = pd.to_datetime(df["Date of Birth"], format="%d/%m/%Y", errors="coerce")
    df["Date of Birth"] = born.dt.date
    df.insert(1, "Service", ["North" if i % 3 else "South" for i in range(len(df))])
    return df.replace("", None)


@pytest.fixture(scope="module")
def extract_csv(extract, tmp_path_factory) -> Path:
    """The same rows as a file (dates ISO, NULL blank), for the file path."""
    path = tmp_path_factory.mktemp("file") / "mh_support.csv"
    out = extract.copy()
    born = pd.to_datetime(out["Date of Birth"])
    out["Date of Birth"] = born.dt.strftime("%Y-%m-%d").fillna("")
    out.to_csv(path, index=False)
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _same_counts(source, path: Path) -> None:
    """Each service's count tables from the engine equal the file's, row for row."""
    for split in (False, True):
        engine = profile_services(source, EXAMPLE_MAPPING, EXAMPLE_AS_OF, split=split)
        file = profile_services(path, EXAMPLE_MAPPING, EXAMPLE_AS_OF, split=split,
                                streaming=False)
        assert sorted(engine) == sorted(file)
        assert len(engine) == (2 if split else 1)
        for key in file:
            e, f = engine[key], file[key]
            assert e.rows == f.rows
            assert e.age_source == f.age_source == "date of birth"
            assert_frame_equal(_sorted(e.counts), _sorted(f.counts))  # rows in any order
            assert_frame_equal(_sorted(e.by_age), _sorted(f.by_age))
            assert_frame_equal(e.reconciliation(), f.reconciliation())
            assert e.notes == f.notes
    people = profile_services(path, EXAMPLE_MAPPING, EXAMPLE_AS_OF, split=False)
    assert next(iter(people.values())).rows == 3012  # every row of the example: a person


# ---------------------------------------------------------------------------
# DuckDB database files (DuckDB is one of eqia's own libraries: always run)


@pytest.fixture(scope="module")
def duckdb_file(extract, tmp_path_factory) -> Path:
    import duckdb

    path = tmp_path_factory.mktemp("duck") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.register("frame", extract)
    con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM frame")
    con.execute(f'ALTER TABLE {TABLE} ALTER "Date of Birth" TYPE DATE')
    con.close()
    return path


def test_duckdb_file_counts_as_the_file(duckdb_file, extract_csv):
    _same_counts(DatabaseSource(f"duckdb:///{duckdb_file}", table=TABLE), extract_csv)


def test_a_query_is_a_source_and_must_only_read(duckdb_file):
    url = f"duckdb:///{duckdb_file}"
    query = f'SELECT * FROM {TABLE} WHERE "Service" = \'South\''
    south = profile_services(DatabaseSource(url, query=query), EXAMPLE_MAPPING, EXAMPLE_AS_OF,
                             split=False)
    both = profile_services(DatabaseSource(url, table=TABLE), EXAMPLE_MAPPING, EXAMPLE_AS_OF)
    assert next(iter(south.values())).rows == both[("South", None)].rows == 1004  # i % 3 == 0
    for bad in (f"DELETE FROM {TABLE}", f"SELECT 1; DROP TABLE {TABLE}",
                f"CREATE TABLE x AS SELECT * FROM {TABLE}"):
        with pytest.raises(UsageError) as info:
            profile_services(DatabaseSource(url, query=bad), EXAMPLE_MAPPING, EXAMPLE_AS_OF)
        assert info.value.code == "bad-query"


def test_repeated_ids_are_counted_in_the_engine(extract, tmp_path):
    import duckdb

    twice = pd.concat([extract, extract.iloc[[5, 5, 9]]], ignore_index=True)
    path = tmp_path / "twice.duckdb"
    con = duckdb.connect(str(path))
    con.register("frame", twice)
    con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM frame")
    con.close()
    source = DatabaseSource(f"duckdb:///{path}", table=TABLE)
    with pytest.raises(InputError) as info:
        profile_services(source, EXAMPLE_MAPPING, EXAMPLE_AS_OF)
    assert info.value.code == "duplicate-ids"
    assert info.value.message.startswith("3 rows repeat")
    assert extract.iloc[5]["Client ID"] not in str(info.value)  # no person's ID shown
    counted = profile_services(source, EXAMPLE_MAPPING, EXAMPLE_AS_OF, allow_duplicates=True,
                               split=False)[(None, None)]
    assert (counted.rows, counted.duplicates) == (3015, 3)


def test_a_password_in_the_url_is_refused_and_not_shown():
    with pytest.raises(UsageError) as info:
        DatabaseSource("postgresql://analyst:s3cret@warehouse/council", table=TABLE)
    assert info.value.code == "password-in-url"
    assert "s3cret" not in str(info.value)
    assert "EQIA_DB_PASSWORD" in str(info.value)
    with pytest.raises(UsageError) as info:
        DatabaseSource("duckdb:///x.duckdb")
    assert info.value.code == "option-mismatch"


def test_a_birthday_on_the_as_of_date_stands_for_an_age():
    import datetime as dt

    as_of = dt.date(2024, 2, 29)
    assert birth_date_for("0", as_of) == "2024-02-29"
    assert birth_date_for("1", as_of) == "2023-02-28"  # no 29th: still one year old
    assert birth_date_for("4", as_of) == "2020-02-29"
    assert birth_date_for("-2", as_of) == "2024-03-01"  # born after the as-of date
    assert birth_date_for("", as_of) == ""


# ---------------------------------------------------------------------------
# PostgreSQL: a real server, as an unprivileged user, on a unix socket


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server of its own, started in a temporary folder (as ``nobody`` when
    the tests run as root: PostgreSQL refuses root), stopped at the end."""
    enable = ("install PostgreSQL (apt-get install postgresql) and "
              "pip install -e '.[databases]'")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        _skip("PostgreSQL's initdb and pg_ctl were not found", enable)
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        _skip("psycopg and SQLAlchemy are not installed", enable)
    folder = Path(tempfile.mkdtemp(prefix="eqia-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody", "nogroup")
        as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    data, port = folder / "data", _free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "eqia", "--auth=trust",
                    "--no-sync", "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
    options = f"-k {folder} -p {port} -c listen_addresses='' -c fsync=off"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l",
                    str(folder / "log"), "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://eqia@/postgres?host={folder}&port={port}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_table(postgres_url, extract) -> str:
    import sqlalchemy as sa

    url = postgres_url.replace("postgresql://", "postgresql+psycopg://")
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS social_care")
        extract.to_sql(TABLE, con, schema="social_care", if_exists="replace", index=False,
                       dtype={"Date of Birth": sa.Date()})
    engine.dispose()
    return f"social_care.{TABLE}"


@pytest.mark.slow
def test_postgres_counts_as_the_file(postgres_url, postgres_table, extract_csv):
    _same_counts(DatabaseSource(postgres_url, table=postgres_table), extract_csv)


def test_postgres_query_runs_read_only(postgres_url, postgres_table, monkeypatch):
    # a query that would write gets past no check: the transaction is read-only too
    from eqia.read import engines

    monkeypatch.setattr(engines, "read_only_query", lambda q, d: q)
    source = DatabaseSource(postgres_url, query=f"SELECT * FROM {postgres_table}")
    got = profile_services(source, EXAMPLE_MAPPING, EXAMPLE_AS_OF, split=False)
    assert got[(None, None)].rows == 3012
    with engines.connect(source) as engine:
        with pytest.raises(Exception, match="read-only"):
            engine.run(f"DROP TABLE {postgres_table}")


def test_postgres_errors_name_the_problem_without_data(postgres_url, postgres_table):
    with pytest.raises(InputError) as info:
        profile_services(DatabaseSource(postgres_url, table="social_care.no_such"),
                         EXAMPLE_MAPPING, EXAMPLE_AS_OF)
    assert info.value.code == "database-error"
    assert "no_such" in str(info.value)


# ---------------------------------------------------------------------------
# Spark: a local session (started once; slow)


@pytest.fixture(scope="session")
def spark_url():
    enable = "install Java 17 (apt-get install default-jre-headless) and pip install -e '.[spark]'"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _skip("pyspark is not installed", enable)
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _skip("Java was not found", enable)
    from eqia.read.engines import spark_session

    spark = spark_session("spark://local[2]")  # started once: it takes half a minute
    spark.sparkContext.setLogLevel("ERROR")
    yield "spark://local[2]"
    spark.stop()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_counts_as_the_file(spark_url, extract, extract_csv):
    from pyspark.sql import types as T

    from eqia.read.engines import spark_session

    spark = spark_session(spark_url)
    schema = T.StructType([
        T.StructField(c, T.DateType() if c == "Date of Birth" else T.StringType())
        for c in extract.columns])
    rows = [tuple(None if v is None or v != v else v for v in row)
            for row in extract.itertuples(index=False)]
    frame = spark.createDataFrame(rows, schema)
    frame.createOrReplaceTempView(TABLE)
    _same_counts(DatabaseSource(spark_url, table=TABLE), extract_csv)


# ---------------------------------------------------------------------------
# The commands: --db with --table or --query, a proposal's database extract


@pytest.mark.slow
def test_profile_and_compare_commands_count_a_table(cli, duckdb_file, extract_csv):
    url = f"duckdb:///{duckdb_file}"
    args = ["--map", EXAMPLE_MAPPING, "--as-of", EXAMPLE_AS_OF.isoformat(), "-f", "csv"]
    from_db = cli("profile", "--db", url, "--table", TABLE, *args)
    from_file = cli("profile", extract_csv, *args)
    assert from_db.exit_code == 0, from_db.output
    assert from_db.stdout == from_file.stdout  # the same figures, line for line
    compared = cli("compare", "--db", url, "--table", TABLE, "--area", "Kent", "--ages", "18-",
                   *args)
    compared_file = cli("compare", extract_csv, "--area", "Kent", "--ages", "18-", *args)
    assert compared.exit_code == 0, compared.output
    assert compared.stdout == compared_file.stdout


def test_commands_refuse_a_password_and_a_muddle(cli, duckdb_file, extract_csv):
    got = cli("profile", "--db", "postgresql://analyst:s3cret@warehouse/council", "--table", "t")
    assert got.exit_code == 2 and "s3cret" not in got.output
    assert "EQIA_DB_PASSWORD" in got.output
    both = cli("profile", extract_csv, "--db", f"duckdb:///{duckdb_file}", "--table", TABLE)
    assert both.exit_code == 2 and "not both" in both.output
    alone = cli("profile", "--table", TABLE)
    assert alone.exit_code == 2 and "--db" in alone.output
    nothing = cli("profile")
    assert nothing.exit_code == 2 and "Unexpected" not in nothing.output


def test_audit_command_audits_tables(cli, duckdb_file, extract_csv, tmp_path):
    url = f"duckdb:///{duckdb_file}"
    args = ["--map", EXAMPLE_MAPPING, "--as-of", EXAMPLE_AS_OF.isoformat(), "-f", "csv"]
    from_db = cli("audit", "--db", url, "--table", TABLE, *args)
    folder = tmp_path / "files"
    folder.mkdir()
    shutil.copy(extract_csv, folder / f"{TABLE}.csv")
    from_file = cli("audit", folder, *args)
    assert from_db.exit_code == from_file.exit_code
    assert from_db.stdout == from_file.stdout  # services North and South, alike
    assert "North" in from_db.stdout and "South" in from_db.stdout
    twice = cli("audit", "--db", url, "--table", TABLE, "--table", TABLE, *args)
    assert twice.exit_code == 2 and "twice" in twice.output


@pytest.mark.slow
def test_a_proposal_names_a_table(cli, duckdb_file, extract_csv, tmp_path):
    import yaml

    from eqia.documents.proposal import load_proposal
    from eqia.read.engines import DatabaseSource

    proposal = yaml.safe_load((EXAMPLE_MAPPING.parent / "mh_support_proposal.yaml").read_text())
    proposal["data"]["extracts"] = [{"db": f"duckdb:///{duckdb_file}", "table": TABLE}]
    proposal["data"]["mapping"] = str(EXAMPLE_MAPPING)
    path = tmp_path / "proposal.yaml"
    path.write_text(yaml.safe_dump(proposal))
    loaded = load_proposal(path)
    source = DatabaseSource(f"duckdb:///{duckdb_file}", table=TABLE)
    assert loaded.extracts == [source]
    assert cli("screen", path, "--out", tmp_path / "db", "--format", "md").exit_code == 0
    proposal["data"]["extracts"] = [str(extract_csv)]
    path.write_text(yaml.safe_dump(proposal))
    assert cli("screen", path, "--out", tmp_path / "file", "--format", "md").exit_code == 0
    (db_md,), (file_md,) = (sorted((tmp_path / d).glob("*.md")) for d in ("db", "file"))
    assert db_md.read_text().replace(source.name, extract_csv.name) == file_md.read_text()
    proposal["data"]["extracts"] = [{"db": "postgresql://a:pw@h/db", "table": TABLE}]
    path.write_text(yaml.safe_dump(proposal))
    from eqia.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_proposal(path)
    assert info.value.code == "password-in-url" and info.value.line is not None
    assert "pw" not in str(info.value).replace("password", "")

"""A table or query in a database or Spark -> profiles, counted where the data lives.

A ``DatabaseSource`` is a SQLAlchemy-style URL and a table or a read-only query. eqia
asks the engine for the source's column names, plans them as it plans a file's
(``files.plan_columns``), and sends one counting query (``sql.counting_query``, DuckDB's
SQL transpiled to the engine's) over the same grouping sets the file path counts
(``streaming._Job``), then one query for repeated person IDs. Only counts come back:
no row, no person ID, no date of birth (ages are worked out in the engine). The counts
are then assembled and mapped exactly as a file's are, so the two cannot disagree.

Engines: DuckDB database files (``duckdb:///path/file.duckdb``), Spark (``spark://local``
for a session on this machine, ``spark://host:7077`` for a cluster, ``sc://host:15002``
for Spark Connect) and, through SQLAlchemy, any database with a SQLAlchemy driver and a
sqlglot dialect: PostgreSQL, SQL Server, Databricks SQL, Snowflake, MySQL, Oracle...

Passwords never come from the URL (a URL is typed on command lines and kept in shell
history and proposal files): from ``EQIA_DB_PASSWORD``, the driver's own means (libpq's
``PGPASSWORD`` and ``.pgpass``, say) or a prompt. They are never printed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eqia.errors import InputError, UsageError
from eqia.read import sql
from eqia.read.columns import plan_columns
from eqia.read.counts import Parts
from eqia.read.files import Layout, no_characteristics_error
from eqia.read.mapping import MappingFile
from eqia.read.records import AGE_CROSSED

#: Where a password comes from when the URL's user needs one.
PASSWORD_VARIABLE = "EQIA_DB_PASSWORD"
#: SQLAlchemy's name of a database -> sqlglot's name of its SQL.
DIALECTS = {
    "postgresql": "postgres", "postgres": "postgres", "mssql": "tsql",
    "databricks": "databricks", "mysql": "mysql", "mariadb": "mysql", "oracle": "oracle",
    "snowflake": "snowflake", "bigquery": "bigquery", "redshift": "redshift",
    "trino": "trino", "presto": "presto", "sqlite": "sqlite", "hive": "hive",
}
INSTALL_HINT = "Install eqia's database support: pip install 'eqia[databases]'"


@dataclass(frozen=True)
class DatabaseSource:
    """Where the extract is: ``url`` and exactly one of ``table`` and ``query``.

    ``password``: given at a prompt (never stored anywhere else); else from
    ``EQIA_DB_PASSWORD`` when set."""

    url: str
    table: str | None = None
    query: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        check_url(self.url)
        if (self.table is None) == (self.query is None):
            raise UsageError(
                "A database source needs a table or a query (one of them)",
                code="option-mismatch", file=self.safe_url,
                hint="Add e.g. --table social_care.mh_support, or --query \"SELECT ... FROM "
                "...\".")

    @property
    def scheme(self) -> str:
        return self.url.split(":", 1)[0].lower()

    @property
    def safe_url(self) -> str:
        """The URL as it may be shown (it holds no password: ``check_url``)."""
        return self.url

    @property
    def name(self) -> str:
        """What outputs call the source, as they call a file by its name: the table's
        name, or "query" (not the URL: documents do not name servers)."""
        return self.table if self.table is not None else "query"

    @property
    def where(self) -> str:
        """The source and its URL, for error messages."""
        return f"{self.name} at {self.safe_url}"

    @property
    def stem(self) -> str:
        """What a service is called when the source has no service column (as a file's
        name without its suffix): the table's name, or "query"."""
        return self.table.rsplit(".", 1)[-1] if self.table is not None else "query"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the password
        return f"DatabaseSource({self.url!r}, table={self.table!r}, query=...)"


_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:(?P<user>[^/?#@]*)@)?")


def check_url(url: str) -> None:
    """Refuse what is not a URL, and a URL holding a password."""
    found = _URL.match(url)
    if found is None:
        raise UsageError(
            "This is not a database URL", code="bad-database-url", value=url,
            hint="Give it as dialect://user@host/database, e.g. postgresql://analyst@warehouse"
            "/council, duckdb:///data/extracts.duckdb or spark://local.")
    user = found.group("user") or ""
    if ":" in user:
        raise UsageError(
            "The database URL holds a password: eqia does not take passwords from a URL "
            "(command lines and proposal files are seen and kept)",
            code="password-in-url", value=found.group("scheme") + "://" + user.split(":")[0]
            + ":***@" + url[found.end():],
            hint=f"Remove the password from the URL and set the environment variable "
            f"{PASSWORD_VARIABLE} instead (or add --password-prompt to be asked for it).")


def source_value_counts(
    source: DatabaseSource,
    mapping: MappingFile,
    as_of: dt.date | None = None,
    allow_duplicates: bool = False,
    split: bool = True,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> Parts:
    """As ``extract.value_counts`` for a file: the ValueCounts per (service, period),
    counted in the source's engine (ages as of ``as_of``, today when not given)."""
    with connect(source) as engine:
        return value_counts(engine, source, mapping, as_of or dt.date.today(),
                            allow_duplicates, split, crossed)


def value_counts(
    engine: Engine, source: DatabaseSource, mapping: MappingFile, as_of: dt.date,
    allow_duplicates: bool = False, split: bool = True,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> Parts:
    """The ``ValueCounts`` per (service, period), counted in the engine."""
    import pandas as pd

    from eqia.read.scan import Grouped, Job

    name = source.name
    columns = [str(c) for c in engine.columns()]
    plan = plan_columns(columns, mapping, source.where)
    if not plan.columns:
        raise no_characteristics_error(source.where, columns)
    job = Job(_named()(Path(name), "engine", columns), plan, split, crossed, mapping)
    alias = {c: f"k{i}" for i, c in enumerate(job.counted)}
    dob = plan.columns.get("age") if plan.age_hint == "dob" else None
    values = {alias[c]: sql.age_of(c, as_of) if c == dob else sql.text_of(c)
              for c in job.counted}
    names = list(values)
    sets = [tuple(alias[c] for c in s) for s in job.sets]
    result = engine.frame(sql.counting_query(values, sets), what="count", column=dob)
    grouped = {}
    for s, s_alias in zip(job.sets, sets, strict=True):
        rows = result[result["g"] == sql.set_id(names, s_alias)]
        frame = pd.DataFrame({c: rows[alias[c]].astype(str).to_numpy() for c in s})
        frame["n"] = rows["n"].astype("int64").to_numpy()
        if dob in s:
            frame[dob] = frame[dob].map(lambda v: birth_date_for(v, as_of))
        grouped[s] = frame
    people = int(grouped[job.sets[0]]["n"].sum())
    if people == 0:
        raise InputError("The table or query has no rows", code="empty-file", file=source.where,
                         hint="Check the table's name, or the query's WHERE clause.")
    repeats = 0
    if plan.id_column is not None:
        repeats = int(engine.frame(sql.repeated_ids_query(sql.person_id(plan.id_column)),
                                   what="check person IDs").iloc[0, 0] or 0)
        if repeats and not allow_duplicates:
            raise repeated_ids_error(repeats, source.where, plan.id_column)
    parts = job.assemble(Grouped(grouped, repeats, {"people": people}), Layout())
    return parts


def _named() -> type:
    """``streaming.Source`` named by the source's description, not a file name."""
    from eqia.read.scan import Source

    class Named(Source):
        @property
        def name(self) -> str:
            return str(self.path)

    return Named


def birth_date_for(age: str, as_of: dt.date) -> str:
    """A date of birth standing for an age worked out in the engine: a birthday on
    ``as_of`` itself, so that the age read back from it (``mapping.map_ages``) is the
    engine's; the day after ``as_of`` for anyone born after it; blank stays blank.

    Dates of birth thus stay in the engine, and the counts are the file path's exactly
    (an invalid date of birth is shown as its stand-in, with its reason)."""
    if age == "":
        return ""
    years = int(age)
    if years < 0:
        return (as_of + dt.timedelta(days=1)).isoformat()
    years = min(years, 150)  # still "age over 120"; pandas dates start in 1677
    try:
        return as_of.replace(year=as_of.year - years).isoformat()
    except ValueError:  # 29 February in a year that has none: the 28th is the same age
        return as_of.replace(year=as_of.year - years, day=28).isoformat()


def repeated_ids_error(n: int, source: str, id_column: str) -> InputError:
    """As ``extract.duplicate_ids_error``, without rows: a table's rows have no order,
    and the IDs themselves stay in the engine."""
    return InputError(
        f"{n:,} row{'s repeat' if n != 1 else ' repeats'} a person ID that appears on "
        "another row",
        code="duplicate-ids", file=source, column=id_column,
        hint="An extract should have one row per person. Find them with GROUP BY "
        f"{id_column} HAVING COUNT(*) > 1 in the database, or pass --allow-duplicates to "
        "count every row (e.g. for an extract of contacts).")


# ---------------------------------------------------------------------------
# Engines: a connection that runs a query and returns a small frame


class Engine:
    """One open connection: ``columns()``, ``frame(sql)`` (DuckDB's SQL, transpiled)."""

    dialect = "duckdb"

    def __init__(self, source: DatabaseSource) -> None:
        self.source = source
        if source.table is not None:
            self.relation = self.table_sql(source.table)
        else:
            self.relation = f"({read_only_query(source.query or '', self.dialect)}) AS src"

    def table_sql(self, table: str) -> str:
        """The table's name in the engine's SQL, each dotted part quoted."""
        import sqlglot.expressions as exp

        return exp.to_table(table, dialect=self.dialect).sql(dialect=self.dialect,
                                                             identify=True)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def columns(self) -> list[str]:
        return list(self.frame(sql.columns_query(), what="read the columns").columns)

    def frame(self, text: str, what: str = "count", column: str | None = None) -> Any:
        query = sql.transpile(text, self.dialect, self.relation)
        try:
            return self.run(query)
        except Exception as exc:  # noqa: BLE001 - every driver has its own errors
            raise self.failed(exc, what, column) from None

    def run(self, query: str) -> Any:
        raise NotImplementedError

    def failed(self, exc: Exception, what: str, column: str | None) -> InputError:
        """The engine's refusal as an InputError: its first line, never a row."""
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        hint = ("Check the table's name and that your user may read it." if what != "count"
                else "Check the table or query.")
        if column is not None and "date" in first.lower():
            hint = (f"The column '{column}' should hold dates of birth as dates. Give a "
                    "--query that converts it, e.g. SELECT ..., CAST(dob_text AS DATE) AS "
                    f"{column} FROM ...")
        return InputError(f"The database could not {what}: {first}", code="database-error",
                          file=self.source.where, column=column, hint=hint)


def read_only_query(query: str, dialect: str) -> str:
    """The user's query, refused unless it is one SELECT (reading, never writing)."""
    import sqlglot
    import sqlglot.expressions as exp

    try:
        parsed = sqlglot.parse(query, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise UsageError("The query could not be read", code="bad-query",
                         details=[str(exc).splitlines()[0]],
                         hint="Give one SELECT statement.") from None
    statements = [p for p in parsed if p is not None]
    ok = (len(statements) == 1 and isinstance(statements[0], exp.Query)
          and not any(isinstance(n, exp.Into) for n in statements[0].walk()))
    if not ok:
        raise UsageError("The query must be a single SELECT: eqia only reads", code="bad-query",
                         hint="Give one SELECT statement (WITH ... SELECT is fine), with no "
                         "INSERT, UPDATE, DELETE, DDL or SELECT INTO.")
    return query.strip().rstrip(";")


class _DuckDB(Engine):
    dialect = "duckdb"

    def __init__(self, source: DatabaseSource) -> None:
        import duckdb

        super().__init__(source)
        path = source.url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # duckdb:///rel, duckdb:////abs
        if not path or not Path(path).is_file():
            raise InputError("The DuckDB database file was not found", code="missing-file",
                             file=path or source.url,
                             hint="Give it as duckdb:///relative/path.duckdb or "
                             "duckdb:////absolute/path.duckdb.")
        self.con = duckdb.connect(path, read_only=True)

    def run(self, query: str) -> Any:
        return self.con.sql(query).df()

    def close(self) -> None:
        self.con.close()


class _Spark(Engine):
    dialect = "spark"

    def __init__(self, source: DatabaseSource) -> None:
        super().__init__(source)
        self.spark = spark_session(source.url)

    def run(self, query: str) -> Any:
        import pandas as pd

        result = self.spark.sql(query)  # a few thousand counts: collected as rows
        return pd.DataFrame([tuple(r) for r in result.collect()], columns=result.columns)

    def columns(self) -> list[str]:  # Spark knows them without running anything
        return list(self.spark.sql(sql.transpile(sql.columns_query(), self.dialect,
                                                 self.relation)).columns)


def spark_session(url: str) -> Any:
    """A Spark session for the URL: ``spark://local`` (this machine, every core),
    ``spark://host:port`` (a cluster's master), ``sc://host:port`` (Spark Connect)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("Spark sources need pyspark", code="missing-library",
                         hint="Install eqia's Spark support: pip install 'eqia[spark]' "
                         "(and Java 17).") from None
    builder = SparkSession.builder.appName("eqia")
    host = url.split("://", 1)[1].rstrip("/")
    if url.lower().startswith("sc://"):
        return builder.remote(url).getOrCreate()
    master = "local[*]" if host in ("local", "") else (
        host if host.startswith("local[") else f"spark://{host}")
    if master.startswith("local"):
        # Spark's Python workers on this machine must be this very Python (the first
        # python3 on PATH may be another version, which Spark refuses); a cluster keeps
        # its own setting.
        import sys

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (builder.master(master).config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC").getOrCreate())


class _SQLAlchemy(Engine):
    """Any database SQLAlchemy reaches, in a read-only transaction where it has one."""

    def __init__(self, source: DatabaseSource) -> None:
        try:
            import sqlalchemy as sa
        except ImportError:
            raise UsageError("Database sources need SQLAlchemy and a driver",
                             code="missing-library", hint=INSTALL_HINT) from None
        url = sa.engine.make_url(source.url)
        self.dialect = DIALECTS.get(url.get_backend_name(), url.get_backend_name())
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
        password = source.password or os.environ.get(PASSWORD_VARIABLE)
        if password:
            url = url.set(password=password)
        super().__init__(source)
        try:
            self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            self.con = self.engine.connect()
        except ImportError as exc:
            raise UsageError(f"The database driver is not installed: {exc.name}",
                             code="missing-library", hint=INSTALL_HINT) from None
        except sa.exc.SQLAlchemyError as exc:
            raise self.failed(exc.orig or exc if hasattr(exc, "orig") else exc,
                              "connect", None) from None
        read_only = {"postgres": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                     "redshift": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                     "mysql": "SET SESSION TRANSACTION READ ONLY"}.get(self.dialect)
        if read_only:  # every transaction of this session, after a rollback too
            self.con.exec_driver_sql(read_only)
            self.con.commit()

    def run(self, query: str) -> Any:
        import pandas as pd

        result = self.con.exec_driver_sql(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def failed(self, exc: Exception, what: str, column: str | None) -> InputError:
        orig = getattr(exc, "orig", None)
        if orig is not None:
            exc = orig
        error = super().failed(exc, what, column)
        try:
            self.con.rollback()  # the next query starts afresh
        except Exception:  # noqa: BLE001
            pass
        return error

    def close(self) -> None:
        self.con.close()
        self.engine.dispose()


def connect(source: DatabaseSource) -> Engine:
    """An open engine for the source's URL."""
    scheme = source.scheme
    if scheme == "duckdb":
        return _DuckDB(source)
    if scheme in ("spark", "sc"):
        return _Spark(source)
    return _SQLAlchemy(source)


"""Options naming a database source (``--db``, ``--table``, ``--query``), shared by the
commands that read an extract: the source is counted in its engine (``read.engines``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from eqia.errors import UsageError

OptionalExtractArg = Annotated[
    Path | None,
    typer.Argument(help="The service-user extract: CSV, XLSX or Parquet (or give --db).",
                   show_default=False),
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", metavar="URL", help="Count a table in a database or Spark instead of "
                 "a file, where it lives: postgresql://user@host/db, mssql+pyodbc://user@dsn, "
                 "databricks://token@host?http_path=..., spark://local, duckdb:///file.duckdb. "
                 "No password in the URL: set EQIA_DB_PASSWORD or add --password-prompt."),
]
TableOpt = Annotated[
    str | None,
    typer.Option("--table", help="With --db: the table (or view) to count, e.g. "
                 "social_care.mh_support."),
]
TablesOpt = Annotated[
    list[str] | None,
    typer.Option("--table", help="With --db: a table (or view) to audit, one per service or "
                 "holding a service column. Repeatable."),
]
QueryOpt = Annotated[
    str | None,
    typer.Option("--query", help="With --db: a SELECT giving the rows to count (read only), "
                 "in the database's own SQL."),
]
PasswordPromptOpt = Annotated[
    bool,
    typer.Option("--password-prompt", help="With --db: ask for the database password (not "
                 "shown as it is typed)."),
]


def extract_or_database(
    extract: Path | None, db: str | None, table: str | None, query: str | None,
    password_prompt: bool = False,
) -> Any:
    """The file to read, or the ``DatabaseSource`` the options name."""
    if db is None:
        if table is not None or query is not None or password_prompt:
            raise UsageError("--table, --query and --password-prompt go with --db URL",
                             code="option-mismatch",
                             hint="Add e.g. --db postgresql://analyst@warehouse/council.")
        if extract is None:
            raise UsageError("Give the extract file, or a database with --db",
                             code="missing-argument",
                             hint="e.g. eqia profile extract.csv, or eqia profile --db "
                             "postgresql://analyst@warehouse/council --table mh_support.")
        return extract
    if extract is not None:
        raise UsageError("Give an extract file or --db, not both", code="option-mismatch",
                         file=str(extract))
    from eqia.read.engines import DatabaseSource, check_url

    check_url(db)  # before asking for a password
    password = typer.prompt("Database password", hide_input=True) if password_prompt else None
    return DatabaseSource(db, table=table, query=query, password=password)


def database_tables(db: str | None, tables: list[str], password_prompt: bool = False) -> list:
    """The ``DatabaseSource`` of each table the options name (none without --db)."""
    if db is None:
        if tables or password_prompt:
            raise UsageError("--table and --password-prompt go with --db URL",
                             code="option-mismatch",
                             hint="Add e.g. --db postgresql://analyst@warehouse/council.")
        return []
    if not tables:
        raise UsageError("--db needs the tables to audit", code="option-mismatch",
                         file=db, hint="Add --table NAME for each table.")
    from eqia.read.engines import DatabaseSource, check_url

    check_url(db)
    password = typer.prompt("Database password", hide_input=True) if password_prompt else None
    return [DatabaseSource(db, table=t, password=password) for t in tables]

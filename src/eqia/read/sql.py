"""The counting query, defined once in DuckDB's SQL and transpiled to each engine's.

eqia's file path already counts with DuckDB, so its SQL is the one definition: sqlglot
(a SQL parser and transpiler, pure Python) rewrites it for PostgreSQL, Spark, Databricks,
SQL Server and the others it knows. A transpiler keeps the query one readable text that
a reviewer can check against the file path's; a dataframe-to-SQL layer (ibis) would
have meant a second way of writing every count, and a heavier dependency.

What is counted is decided elsewhere (the grouping sets of ``streaming._Job``: rows per
service and period, each characteristic's values, age crossed with the census's
characteristics); here each set becomes one ``GROUPING SETS`` entry, so the engine scans
the table once and hands back only counts. Dates of birth become whole years of age
*in the engine* (as of a given date), so no date of birth leaves it; person IDs stay
there too: only the number of repeated IDs comes back.

The source (a table, or the user's own read-only query, written in the engine's SQL) is
put in after transpiling, as ``SOURCE``'s stand-in, so that it is never rewritten.
"""

from __future__ import annotations

import datetime as dt

#: The stand-in for the source in the DuckDB text; replaced after transpiling.
SOURCE = "eqia_source_relation"


def ident(name: str) -> str:
    """A column name as a DuckDB identifier (quoted: any name, any case)."""
    return '"' + name.replace('"', '""') + '"'


def text_of(column: str) -> str:
    """A column's value as text, blank when missing (as a file's empty cell reads)."""
    return f"COALESCE(CAST({ident(column)} AS TEXT), '')"


def age_of(column: str, as_of: dt.date) -> str:
    """Whole years of age on ``as_of`` of a date of birth (a date, or text the engine
    reads as one), as text; negative when born after ``as_of``; blank when missing.

    Written with EXTRACT and arithmetic only, which every engine has alike (the engines'
    own date differences count years differently)."""
    born = f"CAST({ident(column)} AS DATE)"
    had_birthday = (f"CASE WHEN EXTRACT(MONTH FROM {born}) * 100 + EXTRACT(DAY FROM {born}) "
                    f"> {as_of.month * 100 + as_of.day} THEN 1 ELSE 0 END")
    years = f"CAST({as_of.year} - EXTRACT(YEAR FROM {born}) - {had_birthday} AS BIGINT)"
    return f"COALESCE(CAST({years} AS TEXT), '')"


def person_id(column: str) -> str:
    """The person ID stripped of spaces; NULL when blank (then not compared)."""
    return f"NULLIF(TRIM(CAST({ident(column)} AS TEXT)), '')"


def counting_query(values: dict[str, str], sets: list[tuple[str, ...]]) -> str:
    """Counts per grouping set, in one scan of ``SOURCE``.

    ``values``: alias -> the expression of its value; ``sets``: tuples of aliases. Each
    result row has ``g`` (which set: bit i set when ``values``' i-th alias is not in
    it), the aliases (NULL where not in the set) and ``n``. ``g`` is a sum of one-column
    GROUPING() calls, which every engine has (GROUPING of several columns is not in Spark
    nor SQL Server)."""
    names = list(values)
    g = " + ".join(f"GROUPING({a}) * {1 << i}" for i, a in enumerate(names))
    columns = ", ".join(f"{expr} AS {alias}" for alias, expr in values.items())
    grouping = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    return (f"WITH t AS (SELECT {columns} FROM {SOURCE}) "
            f"SELECT {g} AS g, {', '.join(names)}, COUNT(*) AS n FROM t "
            f"GROUP BY GROUPING SETS ({grouping})")


def set_id(names: list[str], group: tuple[str, ...]) -> int:
    """The ``g`` that ``counting_query`` gives the rows of one set."""
    return sum(1 << i for i, a in enumerate(names) if a not in group)


def repeated_ids_query(id_expr: str) -> str:
    """Rows whose person ID appeared on an earlier row: exact, counted in the engine."""
    return (f"SELECT COUNT(pid) - COUNT(DISTINCT pid) AS repeats "
            f"FROM (SELECT {id_expr} AS pid FROM {SOURCE}) AS ids")


def columns_query() -> str:
    """No rows: the source's column names only."""
    return f"SELECT * FROM {SOURCE} LIMIT 0"


def transpile(sql: str, dialect: str, source: str) -> str:
    """``sql`` (DuckDB's) in ``dialect``, with ``source`` (the engine's own SQL: a table
    name or a parenthesised query with an alias) in place of ``SOURCE``."""
    import sqlglot

    out = sql if dialect == "duckdb" else sqlglot.transpile(sql, read="duckdb",
                                                             write=dialect)[0]
    if out.count(SOURCE) != 1:  # the transpiler renamed or repeated the stand-in
        raise RuntimeError(f"eqia's query for {dialect} lost its source: {out}")
    return out.replace(SOURCE, source)

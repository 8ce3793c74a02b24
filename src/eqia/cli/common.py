"""Options and small helpers shared by several commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eqia.errors import ErrorCode, UsageError
from eqia.words import EMPTY, percent

if TYPE_CHECKING:  # pandas comes with it: imported when a command reads a mapping
    from eqia.read.mapping import MappingFile

ExtractArg = Annotated[
    Path, typer.Argument(help="The service-user extract: CSV, XLSX or Parquet.", show_default=False)
]
MapOpt = Annotated[
    Path | None,
    typer.Option("--map", "-m", help="Mapping file (YAML) naming columns and local codes."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Date to work out ages from dates of birth (YYYY-MM-DD). "
                 "Default: today."),
]
SheetOpt = Annotated[
    str | None,
    typer.Option("--sheet", help="The Excel sheet to read, when a workbook has several with "
                 "data (an error for CSV or Parquet)."),
]
DayFirstOpt = Annotated[
    bool | None,
    typer.Option("--dayfirst/--monthfirst", show_default=False,
                 help="How dates of birth are written: 31/12/1960 (--dayfirst) or 12/31/1960 "
                 "(--monthfirst). Default: worked out from the dates; needed when they "
                 "cannot tell (overrides dayfirst: in the mapping file)."),
]
HeaderRowOpt = Annotated[
    int | None,
    typer.Option("--header-row", min=1, metavar="ROW",
                 help="The row holding the column names, when a title is above it (1 = the "
                 "first row). Default: found (overrides header_row: in the mapping file)."),
]
AgeBandsOpt = Annotated[
    str | None,
    typer.Option("--age-bands", help="Age bands for the age profile, e.g. 0-17,18-64,65+."),
]
DuplicatesOpt = Annotated[
    bool,
    typer.Option("--allow-duplicates",
                 help="Count every row even when a person ID repeats."),
]

ListInvalidOpt = Annotated[
    bool,
    typer.Option("--list-invalid-values",
                 help="List each invalid value exactly as in the extract (personal data: "
                 "for internal use only). Default: invalid values counted by reason."),
]


#: Every output format, in one vocabulary: each command offers the part it writes
#: (docs/cli.md). csv, parquet and json are the tidy tables (``eqia.documents.tidy``).
FORMATS = ("table", "csv", "parquet", "json", "xlsx", "docx", "html", "md")
#: The formats that are a tidy table.
TIDY_FORMATS = ("csv", "parquet", "json")


def format_choice(name: str, offered: tuple[str, ...]) -> type[Enum]:
    """A command's ``--format`` choices: its part of ``FORMATS``, in that order."""
    assert set(offered) <= set(FORMATS), offered
    return Enum(name, [(f, f) for f in FORMATS if f in offered], type=str)  # type: ignore[return-value]


def format_option(offered: type[Enum], help: str) -> Any:
    """``--format``/``-f`` with a command's choices (one value)."""
    return Annotated[offered, typer.Option("--format", "-f", help=help)]


ServiceOpt = Annotated[
    str | None,
    typer.Option("--service", help="The service's name in the csv, parquet and json "
                 "outputs' service column (default: the extract's file name)."),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option("--period", help="The period in the csv, parquet and json outputs' period "
                 "column, e.g. 2025-26 Q4 (default: the --as-of date, if given)."),
]


def old_spelling(new: Any, old: Any, new_name: str, old_name: str) -> Any:
    """The value of an option given under its old spelling (hidden, kept for one release:
    docs/cli.md), with a note on stderr; both spellings at once are refused."""
    if old is None:
        return new
    from eqia.cli.app import err

    if new is not None:
        raise UsageError(f"{old_name} and {new_name} are the same option: give it once",
                         code=ErrorCode.OPTION_MISMATCH,
                         hint=f"Use {new_name} ({old_name} is its old spelling).")
    err.print(f"Note: {old_name} is now {new_name}; {old_name} will stop working in the "
              "next release.", markup=False)
    return old


def service_name(given: str | None, source: Any, fallback: str) -> str:
    """The tidy outputs' service: as given, else the extract's file name without its
    extension, else ``fallback`` (a database table's name)."""
    if given:
        return given
    return source.stem if isinstance(source, Path) else fallback


def write_tidy(frame: Any, fmt: str, path: Path | None, float_format: str | None = None) -> None:
    """A tidy table to a file (atomically) or, as text, to stdout (never Parquet, which
    is not text: the command asks for --out first)."""
    from eqia.render.tidy import tidy_bytes

    data = tidy_bytes(frame, fmt, float_format)
    if path is None:
        write_text(None, data.decode("utf-8"))
    else:
        from eqia.outputs import write_bytes

        write_bytes(path, data)


def needs_out(fmt: str, out: Path | None, example: str) -> None:
    """Formats that are not text (parquet, xlsx) are written to a file, never the screen."""
    if out is None and fmt in ("parquet", "xlsx"):
        raise UsageError(f"--format {fmt} needs --out", code=ErrorCode.OPTION_MISMATCH,
                         hint=f"It is a file, not text for the screen. Example: {example}")


def wrote(path: Path | str, note: str = "") -> None:
    """"Wrote ..." on stderr: stdout carries only the data asked for."""
    from eqia.cli.app import err

    err.print(f"Wrote {path}{note}", markup=False)


def reading_mapping(map_file: Path | None, dayfirst: bool | None = None,
                    header_row: int | None = None) -> MappingFile:
    """The mapping file, with how to read the extract as given on the command line."""
    from eqia.read.mapping import load_mapping

    mapping = load_mapping(map_file)
    given = {k: v for k, v in (("dayfirst", dayfirst), ("header_row", header_row))
             if v is not None}
    return replace(mapping, **given) if given else mapping


def parse_as_of(text: str | None) -> dt.date:
    from eqia.settings.schema import read_date

    if text is None:
        return dt.date.today()
    try:
        return read_date(text)
    except ValueError as exc:
        raise UsageError(
            f"--as-of '{text}' {exc}",
            code=ErrorCode.BAD_DATE,
            hint="Give --as-of as YYYY-MM-DD, e.g. --as-of 2026-03-31.",
        ) from exc


def pct(x: float | None, digits: int = 1) -> str:
    """A share in the terminal's tables: empty where there is none (``eqia.words``)."""
    return percent(x, digits, blank=EMPTY)


def write_text(path: Path | None, text: str) -> None:
    """Write to a file (atomically: ``eqia.outputs``) or to stdout, unchanged."""
    from eqia.cli.app import out
    from eqia.outputs import write_text as write_file

    if path is None:  # as it is: no tab expanded, no control character dropped
        out.file.write(text)
        out.file.flush()
        return
    write_file(path, text)


def parse_formats(text: str, known: Collection[str]) -> tuple[str, ...]:
    """``--format docx,html`` -> ("docx", "html"); an unknown or empty list is refused."""
    wanted = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in wanted if f not in known]
    if bad or not wanted:
        raise UsageError(f"Unknown format(s): {', '.join(bad) or '(none)'}",
                         code=ErrorCode.BAD_FORMAT,
                         hint=f"Use any of {', '.join(known)}, e.g. --format "
                              f"{','.join(list(known)[:2])}")
    return wanted


def check_policy_option(policy: Path | None, publish: bool, what: str) -> None:
    """``--policy`` protects small numbers only with ``--publish``: refuse it alone."""
    if policy is not None and not publish:
        raise UsageError("--policy applies only with --publish",
                         code=ErrorCode.OPTION_MISMATCH, file=str(policy),
                         hint="Add --publish to protect small numbers under this policy, or "
                              f"leave out --policy for an internal {what}.")

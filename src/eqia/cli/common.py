"""Options and small helpers shared by several commands."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from eqia.errors import UsageError
from eqia.schema import read_date

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
SheetOpt = Annotated[str | None, typer.Option("--sheet", help="Excel sheet to read.")]
AgeBandsOpt = Annotated[
    str | None,
    typer.Option("--age-bands", help="Age bands for the age profile, e.g. 0-17,18-64,65+."),
]
DuplicatesOpt = Annotated[
    bool,
    typer.Option("--allow-duplicates",
                 help="Count every row even when a person ID repeats."),
]


class TableFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def parse_as_of(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return read_date(text)
    except ValueError as exc:
        raise UsageError(
            f"--as-of '{text}' {exc}",
            code="bad-date",
            hint="Give --as-of as YYYY-MM-DD, e.g. --as-of 2026-03-31.",
        ) from exc


def _nearest_existing(path: Path) -> Path:
    return next(p for p in (path, *path.parents) if p.exists() or p == Path(p.anchor or "."))


def folder_option(path: Path | None, option: str = "--out") -> Path | None:
    """A folder to write to: it may not exist yet (it is created), but neither it nor a
    folder above it may be a file. Checked before any work is done."""
    if path is None:
        return None
    found = _nearest_existing(path)
    if found.exists() and not found.is_dir():
        raise UsageError(f"{option} must be a folder, but "
                         + ("this is a file" if found == path else f"{found} is a file"),
                         code="not-a-folder", file=str(path),
                         hint=f"Give a folder for {option}, e.g. {option} out/ (it is created "
                              "if it does not exist).")
    return path


def file_option(path: Path | None, what: str, example: str) -> Path | None:
    """A file to write to (``what``: "--output"): not a folder, and not inside a file."""
    if path is None:
        return None
    if path.is_dir():
        raise UsageError(f"{what} must be a file name, but this is a folder",
                         code="not-a-file", file=str(path), hint=f"Give a file name, e.g. {example}.")
    found = _nearest_existing(path.parent)
    if found.exists() and not found.is_dir():
        raise UsageError(f"{what} is inside {found}, which is a file, not a folder",
                         code="not-a-folder", file=str(path),
                         hint=f"Give a file name in a folder, e.g. {example}.")
    return path


def pct(x: float | None, digits: int = 1) -> str:
    if x is None or x != x:  # NaN
        return ""
    return f"{100 * x:.{digits}f}%"


def write_text(path: Path | None, text: str) -> None:
    """Write to a file (via a temporary name, so no half-written file is left) or stdout."""
    from eqia.cli.app import out

    if path is None:
        out.print(text, end="", markup=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)

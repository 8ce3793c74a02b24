"""A file read as text (``Table``) and where its header and its non-people rows are
(``Layout``): what every reader returns, whatever the format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from eqia.read.csvcheck import separator_name


@dataclass(frozen=True)
class Layout:
    """Where a file's header is, and which rows under it are not people.

    Blank rows (every cell empty) and total rows ("Total" or "Grand total" in the first
    column) are set aside: reported in the notes and the rows-in-file line, never counted
    as people. ``first_line`` is the file's line (or sheet's row) of the first data row.
    """

    header_row: int = 1
    blank: int = 0
    total: int = 0
    trailing: str | None = None  # the separator every data row of a CSV ended with
    encoding_note: str | None = None

    @property
    def first_line(self) -> int:
        return self.header_row + 1

    def set_aside(self) -> dict[str, int]:
        """Rows in the file that are not people, by kind (only kinds with any)."""
        return {k: n for k, n in (("blank", self.blank), ("total", self.total)) if n}

    def notes(self) -> list[str]:
        notes = []
        if self.encoding_note:
            notes.append(self.encoding_note)
        if self.header_row > 1:
            above = self.header_row - 1
            notes.append(
                f"The header is row {self.header_row}: the {above} row"
                f"{'s' if above != 1 else ''} above it (a title) {'were' if above != 1 else 'was'}"
                " not read. Set header_row in the mapping file (or --header-row) if that is "
                "wrong.")
        if self.trailing:
            notes.append(
                f"Every row ends with a {separator_name(self.trailing)} that the header does "
                "not have (an export quirk): the empty last value was ignored.")
        aside = self.set_aside()
        if aside:
            notes.append("Not counted as people: " + rows_text(aside) + ".")
        return notes


def rows_text(aside: dict[str, int]) -> str:
    """``{"blank": 1, "total": 2}`` -> "1 blank row + 2 total rows"."""
    return " + ".join(f"{n:,} {kind} row{'s' if n != 1 else ''}" for kind, n in aside.items())


@dataclass
class Table:
    """A file read as text, with where it came from and how its rows were read."""

    path: str
    data: pd.DataFrame
    encoding: str | None = None
    sheet: str | None = None
    layout: Layout = field(default_factory=Layout)

    @property
    def name(self) -> str:
        return Path(self.path).name

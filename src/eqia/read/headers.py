"""Where a file's header is: title rows above it, an explicit ``header_row``, and the
names eqia knows found on a lower row (for the error that says so)."""

from __future__ import annotations

import pandas as pd

from eqia.errors import InputError
from eqia.settings.characteristics import normalise

#: How many rows above the header a title may take (``header_row`` sets more).
MAX_TITLE_ROWS = 20


def header_index(rows: list[list[str]], known: frozenset[str]) -> int:
    """Which of a file's first rows is its header (0 unless title rows are above it).

    The header is the first row naming two or more columns eqia knows; failing that, the
    first row as wide as the widest below it with every cell filled. Rows above it are a
    title only if each is blank or fills at most half as many cells: otherwise the first
    row is the header, and rows that do not fit it are reported as such.
    """
    rows = [[str(c).strip() for c in r] for r in rows[:MAX_TITLE_ROWS + 20]]
    if len(rows) < 2:
        return 0
    filled = [sum(1 for c in r if c) for r in rows]
    widths = [max((i + 1 for i, c in enumerate(r) if c), default=0) for r in rows]
    chosen = next((i for i, r in enumerate(rows[:MAX_TITLE_ROWS + 1])
                   if sum(1 for c in r if c and normalise(c) in known) >= 2), None)
    if chosen is None:
        widest = max(widths)
        chosen = next((i for i in range(min(len(rows), MAX_TITLE_ROWS + 1))
                       if widths[i] == widest >= 2 and filled[i] == widest), 0)
    if chosen and all(filled[j] <= max(1, filled[chosen] // 2) for j in range(chosen)):
        return chosen
    return 0


def header_row_error(source: str, header_row: int, rows: int) -> InputError:
    return InputError(
        f"header_row is {header_row}, but the file has only {rows} row{'s' if rows != 1 else ''}"
        " before its data ends",
        code="bad-header-row", file=source,
        hint="Give the number of the row that holds the column names (the first row is 1).",
    )


def row_with_known_names(rows: pd.DataFrame, known: frozenset[str],
                          header_row: int) -> tuple[int, list[str]] | None:
    """The first of the rows under the header (up to ``MAX_TITLE_ROWS``) holding a column
    name eqia knows: its row number in the file and the names it holds."""
    for i, cells in enumerate(rows.iloc[:MAX_TITLE_ROWS].itertuples(index=False)):
        names = [str(c).strip() for c in cells if str(c).strip() and normalise(c) in known]
        if names:
            return header_row + 1 + i, names
    return None

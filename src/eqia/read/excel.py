"""Excel workbooks (.xlsx) -> a ``Table`` of text: the sheet to read (asked for when
several hold data), title rows above the header, and cells written as the sheet shows
them (dates as ISO, whole numbers without ``.0``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eqia.errors import InputError
from eqia.read.headers import MAX_TITLE_ROWS, header_index, header_row_error
from eqia.read.table import Layout, Table


def read_excel(path: Path, sheet: str | None, header_row: int | None = None,
               known: frozenset[str] = frozenset()) -> Table:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InputError(
            f"The Excel file could not be opened ({type(exc).__name__})",
            code="unreadable-file",
            file=str(path),
            hint="Open it in Excel and save it again as .xlsx, or export a CSV.",
        ) from exc
    sheets = [str(s) for s in book.sheet_names]
    if sheet is not None and sheet not in sheets:
        raise InputError(
            f"There is no sheet called '{sheet}'",
            code="missing-sheet",
            file=str(path),
            hint="Sheets in this file: " + ", ".join(sheets) + ". Choose one with --sheet "
            "(or sheet: in the mapping file).",
        )
    if sheet is None:
        with_data = [s for s in sheets if _has_cells(book, s)]
        if len(with_data) > 1:
            raise InputError(
                f"The workbook has {len(with_data)} sheets with data: say which one to read",
                code="choose-sheet",
                file=str(path),
                details=["Sheets with data: " + ", ".join(f"'{s}'" for s in with_data)],
                hint=f"Add --sheet '{with_data[0]}' (or whichever holds the extract), or "
                "'sheet: NAME' in the mapping file.",
            )
        sheet = with_data[0] if with_data else sheets[0]
    grid = pd.read_excel(book, sheet_name=sheet, header=None, dtype=object)
    if not grid.size:
        raise InputError("The sheet is empty", code="empty-file", file=str(path),
                         hint=f"Sheet '{sheet}' has no cells. Choose the sheet that holds the "
                         "extract with --sheet.")
    grid = grid.map(_excel_text).astype(object)
    if header_row is not None:
        if header_row > len(grid):
            raise header_row_error(path.name, header_row, len(grid))
        at = header_row - 1
    else:
        at = header_index(grid.iloc[:MAX_TITLE_ROWS + 20].values.tolist(), known)
    df = grid.iloc[at + 1:].copy()
    df.columns = _column_names(grid.iloc[at].tolist())
    df.index = range(len(df))
    return Table(path=str(path), data=df, sheet=sheet, layout=Layout(header_row=at + 1))


def _has_cells(book: pd.ExcelFile, sheet: str) -> bool:
    """Whether a sheet holds any value in its first rows (without reading it all)."""
    ws = book.book[sheet]
    for row in ws.iter_rows(max_row=1000, values_only=True):
        if any(v is not None and str(v).strip() for v in row):
            return True
    return False


def _column_names(cells: list[object]) -> list[str]:
    """Header cells as pandas names columns: blank -> "Unnamed: 3", repeats -> "X.1"."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = str(cell).strip() or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def _excel_text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")  # type: ignore[union-attr]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

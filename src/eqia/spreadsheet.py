"""Cells for every spreadsheet and CSV file eqia writes: text from data is never a formula.

Extracts, mapping files and folder names are written by other people, and a service
name or a code such as ``=HYPERLINK("http://x","y")`` would run as a formula when the
workbook or CSV is opened (CSV or formula injection). The rule, from OWASP's
CSV-injection guidance, covers text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return:

* in ``.xlsx`` files every text cell is stored as text (never as a formula or an error
  code), and such text is marked with Excel's quote prefix, so that it stays text when
  someone edits the cell; the text itself is unchanged;
* in CSV files (which have no types) such text gets a leading single quote ``'``, which
  spreadsheets take as "this is text" (``=1+1`` is written ``'=1+1``). A value that is a
  plain number (``-2``, ``+3.5``) is not changed: it opens as that number. A line break
  inside a value is written as a line feed, so that the field is always quoted.

Numbers stay numbers (negative ones too). ``save_workbook`` applies the rule to every
cell of a workbook, however it was filled, just before it is saved.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

#: How text that a spreadsheet would run as a formula starts.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def formula_like(value: Any) -> bool:
    """True for text a spreadsheet would read as a formula (a plain number is not)."""
    return (isinstance(value, str) and value.startswith(FORMULA_START)
            and not _NUMBER.fullmatch(value))


def csv_value(value: Any) -> Any:
    """``value`` for a CSV cell: formula-like text behind a single quote, and a carriage
    return in text written as a line feed (which the CSV writer always quotes, where a
    lone carriage return would be left bare and split the record in some readers)."""
    if not isinstance(value, str):
        return value
    text = "'" + value if formula_like(value) else value
    return text.replace("\r\n", "\n").replace("\r", "\n")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with formula-like text neutralised (numbers untouched)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(csv_value)
    return out


def to_csv(frame: pd.DataFrame, **kwargs: Any) -> str:
    """The CSV text of ``frame`` (``index=False`` unless given), neutralised."""
    kwargs.setdefault("index", False)
    return csv_safe(frame).to_csv(**kwargs)


def cell_value(value: Any) -> Any:
    """``value`` as openpyxl takes it: numpy and pandas scalars as Python ones, missing
    as an empty cell, and text without the control characters an .xlsx cannot hold
    (each shown as U+FFFD)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # for a workbook only, not a CSV

        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def write_frame(ws: Any, frame: pd.DataFrame, start_row: int = 1, header: bool = True) -> int:
    """Write ``frame`` (header row first) from ``start_row``; return the next free row."""
    row = start_row
    if header:
        for j, name in enumerate(frame.columns, start=1):
            ws.cell(row=row, column=j, value=cell_value(str(name)))
        row += 1
    for values in frame.itertuples(index=False):
        for j, v in enumerate(values, start=1):
            ws.cell(row=row, column=j, value=cell_value(v))
        row += 1
    return row


def text_only(wb: Any) -> None:
    """Every text cell of ``wb`` stored as text; formula-like text quote-prefixed.

    eqia never writes a formula into a cell (its colours are conditional formats), so a
    cell openpyxl typed as a formula (``=...``) or an error (``#N/A``) holds text.
    """
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type in ("f", "e") and isinstance(cell.value, str):
                    cell.data_type = "s"
                if cell.data_type == "s" and formula_like(cell.value):
                    cell.quotePrefix = True


def save_workbook(wb: Any, path: Any) -> None:
    """``text_only(wb)``, then save it to ``path``."""
    text_only(wb)
    wb.save(path)

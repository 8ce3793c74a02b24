"""The audit's workbook, from a plain spec (``eqia.documents.audit.outputs.workbook_spec``):
a summary grid coloured by rating (and saying the rating in text too, so colour is never
the only cue), then one sheet per table, each with a bold, frozen header row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from eqia.outputs import atomic_write
from eqia.spreadsheet import cell_value, save_workbook, write_frame

FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
FONTS = {"green": "006100", "amber": "7A5500", "red": "9C0006"}


def write(spec: dict, path: str | Path) -> Path:
    """``spec``: title, summary {columns, rows, cutoffs [(green, amber) 0-1 per share
    column], widths, note}, sheets [{title, frame, pct_cols, widths, empty, tab_color,
    notes}], personal_data (text for every sheet's header and footer, or None)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    _summary(ws, spec["summary"])
    for sheet in spec["sheets"]:
        _frame_sheet(wb, sheet)
    wb.properties.title = spec["title"]
    if spec["personal_data"]:
        wb.properties.keywords = spec["personal_data"]
        for sheet in wb.worksheets:
            sheet.oddHeader.center.text = sheet.oddFooter.center.text = spec["personal_data"]
    atomic_write(path, lambda p: save_workbook(wb, p))
    return Path(path)


def _header(ws: Any, columns: list[str], widths: dict[str, int] | None = None) -> None:
    ws.append([cell_value(c) for c in columns])
    for i, name in enumerate(columns, start=1):
        ws.cell(row=1, column=i).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(
            name, max(12, len(name) + 2))


def _summary(ws: Any, spec: dict) -> None:
    """Services x characteristics: each share with its rating as a number format and a
    conditional fill; "not collected" (text) is red."""
    _header(ws, spec["columns"], {spec["columns"][0]: 32})
    for row in spec["rows"]:
        ws.append([cell_value(v) for v in row])
    last = ws.max_row
    for j, ((g, a), width) in enumerate(zip(spec["cutoffs"], spec["widths"], strict=True),
                                       start=2):
        col = get_column_letter(j)
        fmt = f'[>={g}]0.0%" green";[>={a}]0.0%" amber";0.0%" red"'
        for r in range(2, last + 1):
            cell = ws.cell(row=r, column=j)
            cell.alignment = Alignment(horizontal="right")
            if isinstance(cell.value, float):
                cell.number_format = fmt
        if last >= 2:
            _rag_rules(ws, f"{col}2:{col}{last}", f"{col}2", g, a)
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "B2"
    ws.cell(row=last + 2, column=1, value=spec["note"])


def _rag_rules(ws: Any, ref: str, top: str, g: float, a: float) -> None:
    for rag, formula in (
        ("red", f"ISTEXT({top})"),
        ("green", f"AND(ISNUMBER({top}),{top}>={g})"),
        ("amber", f"AND(ISNUMBER({top}),{top}>={a})"),
        ("red", f"ISNUMBER({top})"),
    ):
        ws.conditional_formatting.add(ref, FormulaRule(
            formula=[formula], stopIfTrue=True,
            fill=PatternFill(start_color=FILLS[rag], end_color=FILLS[rag], fill_type="solid"),
            font=Font(color=FONTS[rag])))


def _frame_sheet(wb: Any, sheet: dict) -> Any:
    frame: pd.DataFrame = sheet["frame"]
    ws = wb.create_sheet(sheet["title"])
    cols = list(frame.columns)
    _header(ws, cols, sheet.get("widths"))
    write_frame(ws, frame, start_row=2, header=False)
    for name in sheet.get("pct_cols", ()):
        j = cols.index(name) + 1
        for r in range(2, ws.max_row + 1):
            ws.cell(row=r, column=j).number_format = "0.0%"
    if not len(frame) and sheet.get("empty"):
        ws.cell(row=2, column=1, value=sheet["empty"])
    ws.freeze_panes = "A2"
    if len(frame):
        ws.auto_filter.ref = ws.dimensions
    if sheet.get("tab_color"):
        ws.sheet_properties.tabColor = sheet["tab_color"]
    notes = sheet.get("notes") or []
    row = ws.max_row + 1
    for note in notes:
        row += 1
        ws.cell(row=row, column=1, value=cell_value(note))
    return ws

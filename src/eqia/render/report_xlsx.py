"""The annual report's tables as a workbook: one sheet per table, header row frozen, and
a contents sheet that says what each holds and how the figures were made."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from eqia.outputs import atomic_write
from eqia.spreadsheet import save_workbook, write_frame


def write(context: dict, charts: dict[str, bytes], tables: dict[str, pd.DataFrame],
          path: str | Path) -> Path:
    """Write ``tables`` (sheet name -> table, as the documents show them) to ``path``."""
    meta = context["meta"]
    wb = Workbook()
    ws = wb.active
    ws.title = "Contents"
    lines = [meta["title"], meta["organisation"], f"Period: {meta['period_text']}"]
    if meta["banner"]:
        lines.append(f"{meta['banner']}: every figure is shown, including small numbers.")
    else:
        lines.append(meta["footnote"])
    lines.append("")
    lines += [f"{name}" for name in tables]
    lines.append("")
    lines += context["method"]
    write_frame(ws, pd.DataFrame({"": lines}), header=False)
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 110
    for name, frame in tables.items():
        sheet = wb.create_sheet(name)
        write_frame(sheet, frame)
        for j, col in enumerate(frame.columns, start=1):
            sheet.cell(row=1, column=j).font = Font(bold=True)
            width = max([len(str(col))] + [len(str(v)) for v in frame[col]])
            sheet.column_dimensions[get_column_letter(j)].width = min(60, max(10, width + 2))
        sheet.freeze_panes = "A2"
    for sheet in wb.worksheets:
        label = meta["banner"] or meta["title"]
        sheet.oddHeader.center.text = label
        sheet.oddFooter.center.text = label
    wb.properties.title = meta["title"]
    wb.properties.language = meta["language"]
    atomic_write(path, lambda p: save_workbook(wb, p))
    return Path(path)

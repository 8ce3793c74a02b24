"""Tidy tables (``eqia.documents.tidy``) as files for BI tools and web pages.

One row per line of the table, one typed column per measure: what Power BI, Excel's
Power Query, R and pandas read without reshaping. CSV (text from data neutralised,
``eqia.spreadsheet``), Parquet (the column types kept: whole numbers, decimals,
true/false, text) or JSON (a list of records, ``null`` where there is no figure).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd

from eqia.spreadsheet import to_csv


def _csv(frame: pd.DataFrame, float_format: str | None) -> bytes:
    return to_csv(frame, float_format=float_format).encode("utf-8")


def arrow_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns as one type each (true/false, else text, missing kept missing),
    so that Parquet stores a column type a BI tool can read."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        present = out[col].dropna()
        if len(present) and present.map(lambda v: isinstance(v, bool)).all():
            out[col] = out[col].astype("boolean")
        else:
            out[col] = out[col].map(lambda v: None if v is None or v != v else str(v))
            out[col] = out[col].astype("string")
    return out


def _parquet(frame: pd.DataFrame, float_format: str | None) -> bytes:
    buffer = io.BytesIO()
    arrow_ready(frame).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _json(frame: pd.DataFrame, float_format: str | None) -> bytes:
    text = arrow_ready(frame).to_json(orient="records", indent=2, force_ascii=False,
                                      double_precision=15)
    return (text + "\n").encode("utf-8")


#: Format -> writer of a tidy table's bytes; ``float_format`` applies to CSV only.
WRITERS: dict[str, Callable[[pd.DataFrame, str | None], bytes]] = {
    "csv": _csv,
    "parquet": _parquet,
    "json": _json,
}


def tidy_bytes(frame: pd.DataFrame, fmt: str, float_format: str | None = None) -> bytes:
    """The file of ``frame`` in ``fmt`` (a key of ``WRITERS``)."""
    return WRITERS[fmt](frame, float_format)

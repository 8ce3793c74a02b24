"""Files -> tables of text, and which column holds which characteristic.

Reading knows about formats and encodings, nothing about meaning: every cell comes
back as text (blank stays ``""``) so that mapping sees exactly what the system wrote.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.errors import InputError, UsageError
from eqia.read.columns import is_aggregated, known_columns
from eqia.read.csvcheck import QUOTE_HINT, CsvHeader, check_text
from eqia.read.excel import read_excel
from eqia.read.headers import (
    MAX_TITLE_ROWS,
    header_index,
    header_row_error,
    row_with_known_names,
)
from eqia.read.mapping import MappingFile
from eqia.read.table import Layout, Table
from eqia.settings.characteristics import normalise

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED = "CSV (.csv), Excel (.xlsx) or Parquet (.parquet)"


UTF8_BOM = b"\xef\xbb\xbf"


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) if it decodes, else Windows-1252, else Latin-1; UTF-16
    when it starts with UTF-16's byte-order mark (Excel's "Unicode Text" export). A UTF-8
    BOM followed by text that is not UTF-8 (a file edited in another program) is
    Windows-1252 or Latin-1 too, its BOM dropped by ``decode``."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    bom = sample.startswith(UTF8_BOM)
    try:
        sample.decode("utf-8")
        return "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        # A cut multi-byte character at the very end of a sample is still UTF-8.
        if exc.start >= len(sample) - 3 and len(sample) >= 1 << 20:
            return "utf-8-sig" if bom else "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def decode(raw: bytes, encoding: str, errors: str = "strict") -> str:
    """``raw`` as text, without a UTF-8 byte-order mark whatever the encoding."""
    if encoding != "utf-8-sig" and raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    return raw.decode(encoding, errors)


def encoding_note(encoding: str | None) -> str | None:
    """What to say when the encoding was guessed rather than marked or plain UTF-8."""
    name = {"cp1252": "Windows-1252 (Excel's usual on Windows)", "latin-1": "Latin-1"}.get(
        encoding or "")
    if name is None:
        return None
    return (f"The file is not UTF-8; it was read as {name}. Check that letters such as é "
            "and £ look right in the results; if not, save the extract as 'CSV UTF-8' and "
            "run again.")


def check_file(path: Path) -> None:
    """A regular file that exists: not a folder, pipe or device (reading those blocks or
    never ends)."""
    if not path.exists():
        raise InputError(
            "The file does not exist",
            code="missing-file",
            file=str(path),
            hint="Check the name and folder, or put the path in quotes if it has spaces.",
        )
    if path.is_dir():
        raise InputError(
            "This is a folder, not a file",
            code="not-a-file",
            file=str(path),
            hint="Give one extract file here (eqia audit reads whole folders).",
        )
    if not path.is_file():
        raise InputError(
            "This is not a regular file (it is a pipe, socket or device)",
            code="not-a-file",
            file=str(path),
            hint="Save the extract to a file first, then give that file.",
        )


def _sniff_delimiter(text: str) -> str:
    """The separator of the first line that has any of , ; tab | (a title line above the
    header may have none)."""
    lines = text.split("\n", MAX_TITLE_ROWS + 1)[:MAX_TITLE_ROWS + 1]
    first = next((line for line in lines if any(d in line for d in ",;\t|")), lines[0])
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_header(text: str, source: str, header_row: int | None = None,
                known: frozenset[str] = frozenset()) -> CsvHeader:
    """Find a CSV's separator and header in ``text`` (the file, or its first MiB)."""
    text = text[:1 << 20]  # the header is near the top: no copies of a large file
    delimiter = _sniff_delimiter(text)
    lines = re.split(r"\r\n|\r|\n", text, maxsplit=MAX_TITLE_ROWS + 20)
    if header_row is not None:
        if not _after_lines(text, header_row - 1).strip():
            raise header_row_error(source, header_row, len(re.findall(r"\r\n|\r|\n", text)))
        skip = header_row - 1
    else:
        rows = [next(csv.reader([line], delimiter=delimiter), []) for line in lines[:-1]]
        skip = header_index(rows, known)
    rest = _after_lines(text, skip)
    taken: list[int] = []

    def tracked() -> Iterator[str]:
        for line in io.StringIO(rest, newline=""):
            taken.append(len(line))
            yield line

    try:
        next(csv.reader(tracked(), delimiter=delimiter, strict=True))
    except StopIteration:
        taken = [len(rest)]
    except csv.Error as exc:
        raise InputError("The header row could not be split into column names",
                         code="bad-quoting", file=source, row=skip + 1,
                         hint=QUOTE_HINT) from exc
    head = rest[:sum(taken)]
    try:
        header = pd.read_csv(io.StringIO(head), nrows=0, dtype=str, sep=delimiter,
                             keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError("The file has no header row", code="empty-file", file=source,
                         hint="Export the extract again with a header row.") from exc
    return CsvHeader(delimiter, skip, [str(c).strip() for c in header.columns], len(taken))


def _after_lines(text: str, n: int) -> str:
    """``text`` without its first ``n`` lines (any of \\r\\n, \\r, \\n ends a line)."""
    if n <= 0:
        return text
    ends = list(itertools.islice(re.finditer(r"\r\n|\r|\n", text), n))
    return text[ends[-1].end():] if len(ends) == n else ""


# ---------------------------------------------------------------------------
# Reading each format


def read_csv(path: Path, header_row: int | None = None,
             known: frozenset[str] = frozenset()) -> Table:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(
            "The file is empty", code="empty-file", file=str(path),
            hint="Export the extract again; it should have a header row and one row per person.",
        )
    encoding = detect_encoding(raw)
    text = decode(raw, encoding)
    if "\x00" in text[:4096]:
        raise InputError(
            "The file is not a text CSV (it contains binary data)",
            code="unreadable-file",
            file=str(path),
            hint=f"Save it as {SUPPORTED}.",
        )
    head = read_header(text, path.name, header_row, known)
    body = _after_lines(text, head.skip)
    data = _after_lines(body, head.lines)
    records = check_text(data, head.delimiter, head.width, path.name, head.first_line)
    try:
        df = pd.read_csv(
            io.StringIO(body),
            dtype=str,
            keep_default_na=False,
            sep=head.delimiter,
            skip_blank_lines=False,
            index_col=False,
            usecols=range(head.width) if records.trailing else None,
        )
    except pd.errors.ParserError as exc:
        raise reading_mismatch(path.name, None, records.count) from exc
    if len(df) != records.count:  # the strict reading and pandas' disagree: never guess
        raise reading_mismatch(path.name, len(df), records.count)
    df.columns = head.columns
    layout = Layout(header_row=head.skip + 1, trailing=head.delimiter if records.trailing else None,
                    encoding_note=encoding_note(encoding))
    return Table(path=str(path), data=df, encoding=encoding, layout=layout)


def read_supplied_csv(path: str | Path, known: Iterable[str], hint: str) -> Table:
    """A CSV a person supplies besides an extract (a comparator population, a Nomis
    table), read as strictly as an extract: encoding, separator, quoting, ragged rows,
    a title above the header (found by the ``known`` column names). Every cell is text
    and no row is set aside: what a row means is the caller's to judge. ``hint``: what
    the file should hold, said when it is empty or not text."""
    p = Path(path)
    check_file(p)
    try:
        return read_csv(p, None, frozenset(normalise(k) for k in known))
    except InputError as exc:
        if exc.code in ("empty-file", "unreadable-file"):
            exc.hint = hint
        raise


def reading_mismatch(source: str, got: int | None, records: int) -> InputError:
    """The reader and the strict reading disagree: say so rather than guess."""
    read = "it could not be split into rows" if got is None else f"{got:,} rows were read"
    return InputError(
        f"The file could not be read consistently: {read}, but the file holds "
        f"{records:,} records",
        code="unreadable-file", file=source,
        hint="Open the file in Excel and save it again as CSV, or export it again; if it "
        "still fails, please report it (without the file: it holds personal data).",
    )


def read_parquet(path: Path) -> Table:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:
        raise InputError(
            f"The Parquet file could not be read ({type(exc).__name__})",
            code="unreadable-file",
            file=str(path),
            hint=f"Export the extract again as {SUPPORTED}.",
        ) from exc
    return Table(path=str(path), data=frame_as_text(df))


def frame_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """A typed table (Parquet, a notebook's DataFrame) as the text a CSV export holds:
    dates as YYYY-MM-DD, missing values blank, whole numbers in a float column (codes
    with gaps, which pandas stores as floats) without ``.0``."""
    df = df.copy()
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            df[col] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
            df[col] = s.astype("Int64")
    df = df.astype(object).where(df.notna(), "").astype(str)
    df.columns = [str(c).strip() for c in df.columns]
    return df.reset_index(drop=True)


#: Python's whitespace (what ``str.strip()`` removes), for RE2 (Arrow and DuckDB).
WHITESPACE_CLASS = (r"[\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
                    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]")
#: A cell that is empty or only spaces.
BLANK_PATTERN = f"^{WHITESPACE_CLASS}*$"
#: The first cell of a total row: Total, Totals, Grand total, Sub-total... (any case).
TOTAL_PATTERN = (f"^{WHITESPACE_CLASS}*(?i:(grand |sub[- ]?|overall )?totals?)"
                 f"{WHITESPACE_CLASS}*:?{WHITESPACE_CLASS}*$")


def rows_set_aside(df: pd.DataFrame, totals: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(blank, total): which rows have every cell blank, and which (``totals``: one row
    per person) say Total in their first cell. Neither is a person."""
    from eqia.read.mapping import text_matches

    blank = np.zeros(len(df), dtype=bool)
    total = np.zeros(len(df), dtype=bool)
    if not len(df) or not df.shape[1]:
        return blank, total
    first = df.iloc[:, 0].astype(str)
    blank = text_matches(first, BLANK_PATTERN)
    for col in range(1, df.shape[1]):
        if not blank.any():
            break
        rows = np.flatnonzero(blank)
        blank[rows] = text_matches(df.iloc[rows, col].astype(str), BLANK_PATTERN)
    if totals:
        total = ~blank & text_matches(first, TOTAL_PATTERN)
    return blank, total


def set_aside(table: Table) -> Table:
    """The table without its blank rows and, for one row per person, its total rows;
    their numbers go to ``layout``. Row labels (positions in the file) are kept."""
    df = table.data
    blank, total = rows_set_aside(df, not is_aggregated(list(df.columns)))
    if not (blank.any() or total.any()):
        return table
    layout = replace(table.layout, blank=int(blank.sum()), total=int(total.sum()))
    return replace(table, data=df[~(blank | total)], layout=layout)


def read_table(path: str | Path, sheet: str | None = None,
               mapping: MappingFile | None = None) -> Table:
    """Read CSV, XLSX or Parquet as text. Raises InputError for what cannot be read.

    ``sheet`` (or the mapping's ``sheet``) chooses an Excel sheet, and is an error for
    any other format; the mapping's ``header_row`` says where the header is (else it is
    found). Blank and total rows are set aside (``Table.layout``)."""
    p = Path(path)
    check_file(p)
    suffix = p.suffix.lower()
    header_row = mapping.header_row if mapping is not None else None
    known = known_columns(mapping)
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        raise UsageError(
            "--sheet is for Excel workbooks, but this file is not one",
            code="option-mismatch", file=str(p), value=sheet,
            hint="Leave out --sheet for a CSV or Parquet file.",
        )
    if suffix in CSV_SUFFIXES:
        table = read_csv(p, header_row, known)
    elif suffix in EXCEL_SUFFIXES:
        table = read_excel(p, sheet if sheet is not None else (
            mapping.sheet if mapping is not None else None), header_row, known)
    elif suffix in PARQUET_SUFFIXES:
        table = read_parquet(p)
    elif suffix == ".xls":
        raise InputError(
            "Old Excel files (.xls) are not supported",
            code="unsupported-format",
            file=str(p),
            hint="Open it in Excel and save as .xlsx, or export a CSV.",
        )
    else:
        raise InputError(
            f"Files of type '{suffix or '(none)'}' are not supported",
            code="unsupported-format",
            file=str(p),
            hint=f"Give a {SUPPORTED} file.",
        )
    if table.data.shape[1] == 0:
        raise InputError("The file has no columns", code="empty-file", file=str(p))
    table = set_aside(table)
    if len(table.data) == 0:
        raise InputError(
            "The file has a header but no rows",
            code="no-rows",
            file=str(p),
            hint="Columns found: " + ", ".join(map(str, table.data.columns))
            + ". Export the extract again with its data.",
        )
    return table


# ---------------------------------------------------------------------------
# The same extract twice


# ---------------------------------------------------------------------------
# Which column is which


def no_characteristics_error(source: str, columns: list[str], header_row: int = 1,
                             below: pd.DataFrame | None = None,
                             known: frozenset[str] = frozenset()) -> InputError:
    """No characteristic found. When a row under the one taken as the header holds names
    eqia knows, the header is most likely that row (a title above it was taken for the
    header): say which, and do not send the officer to write a mapping file."""
    lower = row_with_known_names(below, known, header_row) if below is not None else None
    details = ["Columns found: " + ", ".join(columns), f"Header taken from row {header_row}"]
    if lower is not None:
        row, names = lower
        return InputError(
            "No column in the extract could be recognised as a protected characteristic: the "
            f"column names look to be on row {row}, not row {header_row}",
            code="no-characteristics", file=source,
            details=[*details, f"Row {row} holds: " + ", ".join(names)],
            hint=f"Add --header-row {row} (or 'header_row: {row}' in the mapping file).",
        )
    example = "\n".join(f"  {k}: <column name>" for k in ("ethnicity", "sex", "age"))
    return InputError(
        "No column in the extract could be recognised as a protected characteristic",
        code="no-characteristics",
        file=source,
        details=details,
        hint="If the column names are on a lower row (under a title), give that row with "
        "--header-row ROW. If these are the column names, name the characteristics' columns "
        f"in a mapping file (eqia map suggest {source} drafts one) and pass it with --map, "
        "e.g.\ncolumns:\n" + example,
    )

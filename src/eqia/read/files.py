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
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.errors import InputError, UsageError
from eqia.read.columns import is_aggregated, known_columns
from eqia.read.csvcheck import QUOTE_HINT, CsvHeader, check_text, separator_name
from eqia.read.mapping import MappingFile
from eqia.settings.characteristics import normalise

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED = "CSV (.csv), Excel (.xlsx) or Parquet (.parquet)"


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


# ---------------------------------------------------------------------------
# Where the header is

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


def _header_row_error(source: str, header_row: int, rows: int) -> InputError:
    return InputError(
        f"header_row is {header_row}, but the file has only {rows} row{'s' if rows != 1 else ''}"
        " before its data ends",
        code="bad-header-row", file=source,
        hint="Give the number of the row that holds the column names (the first row is 1).",
    )


def read_header(text: str, source: str, header_row: int | None = None,
                known: frozenset[str] = frozenset()) -> CsvHeader:
    """Find a CSV's separator and header in ``text`` (the file, or its first MiB)."""
    text = text[:1 << 20]  # the header is near the top: no copies of a large file
    delimiter = _sniff_delimiter(text)
    lines = re.split(r"\r\n|\r|\n", text, maxsplit=MAX_TITLE_ROWS + 20)
    if header_row is not None:
        if not _after_lines(text, header_row - 1).strip():
            raise _header_row_error(source, header_row, len(re.findall(r"\r\n|\r|\n", text)))
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
            raise _header_row_error(path.name, header_row, len(grid))
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


def row_with_known_names(rows: pd.DataFrame, known: frozenset[str],
                          header_row: int) -> tuple[int, list[str]] | None:
    """The first of the rows under the header (up to ``MAX_TITLE_ROWS``) holding a column
    name eqia knows: its row number in the file and the names it holds."""
    for i, cells in enumerate(rows.iloc[:MAX_TITLE_ROWS].itertuples(index=False)):
        names = [str(c).strip() for c in cells if str(c).strip() and normalise(c) in known]
        if names:
            return header_row + 1 + i, names
    return None

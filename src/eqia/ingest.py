"""Files -> tables of text, and which column holds which characteristic.

Reading knows about formats and encodings, nothing about meaning: every cell comes
back as text (blank stays ``""``) so that mapping sees exactly what the system wrote.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from eqia import characteristics as chars
from eqia.characteristics import normalise
from eqia.errors import InputError
from eqia.mapping import MappingFile

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
SUPPORTED = "CSV (.csv), Excel (.xlsx) or Parquet (.parquet)"


@dataclass
class Table:
    """A file read as text, with where it came from."""

    path: str
    data: pd.DataFrame
    encoding: str | None = None
    sheet: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) if it decodes, else Windows-1252, else Latin-1; UTF-16
    when it starts with UTF-16's byte-order mark (Excel's "Unicode Text" export)."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A cut multi-byte character at the very end of a sample is still UTF-8.
        if exc.start >= len(sample) - 3 and len(sample) >= 1 << 20:
            return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _check_exists(path: Path) -> None:
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


def _sniff_delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(path: Path) -> Table:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(
            "The file is empty", code="empty-file", file=str(path),
            hint="Export the extract again; it should have a header row and one row per person.",
        )
    encoding = detect_encoding(raw)
    text = raw.decode(encoding)
    if "\x00" in text[:4096]:
        raise InputError(
            "The file is not a text CSV (it contains binary data)",
            code="unreadable-file",
            file=str(path),
            hint=f"Save it as {SUPPORTED}.",
        )
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            sep=_sniff_delimiter(text),
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        raise InputError(
            f"The CSV file could not be read: {exc}",
            code="unreadable-file",
            file=str(path),
            hint="Check that every row has the same number of columns (quotes around values "
            "that contain commas).",
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            "The file is empty", code="empty-file", file=str(path),
            hint="Export the extract again with a header row.",
        ) from exc
    return Table(path=str(path), data=_clean_columns(df), encoding=encoding)


def read_excel(path: Path, sheet: str | None) -> Table:
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
    chosen = sheet if sheet is not None else sheets[0]
    if chosen not in sheets:
        raise InputError(
            f"There is no sheet called '{chosen}'",
            code="missing-sheet",
            file=str(path),
            hint="Sheets in this file: " + ", ".join(sheets) + ". Choose one with --sheet.",
        )
    df = pd.read_excel(book, sheet_name=chosen, dtype=object)
    df = df.map(_excel_text) if len(df) else df.astype(str)
    return Table(path=str(path), data=_clean_columns(df), sheet=chosen)


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
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%d")
    df = df.astype(object).where(df.notna(), "").astype(str)
    return Table(path=str(path), data=_clean_columns(df))


def _clean_columns(df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_table(path: str | Path, sheet: str | None = None) -> Table:
    """Read CSV, XLSX or Parquet as text. Raises InputError for what cannot be read."""
    p = Path(path)
    _check_exists(p)
    suffix = p.suffix.lower()
    if suffix in CSV_SUFFIXES:
        table = read_csv(p)
    elif suffix in EXCEL_SUFFIXES:
        table = read_excel(p, sheet)
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
# Which column is which


@dataclass
class ColumnPlan:
    """Which column holds each characteristic (absent keys: not collected)."""

    columns: dict[str, str] = field(default_factory=dict)
    age_hint: str | None = None  # dob / age / band, from the column's name
    id_column: str | None = None
    service_column: str | None = None
    period_column: str | None = None
    notes: list[str] = field(default_factory=list)


AGGREGATE_COLUMNS = {"characteristic", "category", "count"}


def is_aggregated(columns: list[str]) -> bool:
    names = {normalise(c) for c in columns}
    return AGGREGATE_COLUMNS <= names


def _find(columns: list[str], synonyms: tuple[str, ...]) -> list[str]:
    wanted = {normalise(s) for s in synonyms}
    return [c for c in columns if normalise(c) in wanted]


def plan_columns(columns: list[str], mapping: MappingFile, source: str) -> ColumnPlan:
    """Find each characteristic's column by the mapping file first, then by synonym."""
    voc = chars.vocabulary()
    plan = ColumnPlan()
    present = {c: c for c in columns}
    by_norm = {normalise(c): c for c in columns}

    def resolve(name: str, what: str) -> str:
        if name in present:
            return name
        if normalise(name) in by_norm:
            return by_norm[normalise(name)]
        raise InputError(
            f"The mapping file names column '{name}' for {what}, but the extract has no such column",
            code="missing-column",
            file=mapping.path,
            column=name,
            hint="Columns in " + source + ": " + ", ".join(columns) + ".",
        )

    for key, col in mapping.columns.items():
        plan.columns[key] = resolve(col, key)
    if mapping.id_column:
        plan.id_column = resolve(mapping.id_column, "the person ID")
    if mapping.service_column:
        plan.service_column = resolve(mapping.service_column, "the service")

    taken = set(plan.columns.values()) | set(mapping.ignore)
    for char in voc:
        if char.key in plan.columns:
            continue
        candidates = []
        if char.key == "age":
            for hint, names in (("dob", char.dob_columns), ("age", char.columns),
                                ("band", char.band_columns)):
                for col in _find(columns, names):
                    candidates.append((col, hint))
        else:
            candidates = [(col, None) for col in _find(columns, char.columns)]
        candidates = [(c, h) for c, h in candidates if c not in taken]
        if not candidates:
            continue
        col, hint = candidates[0]
        plan.columns[char.key] = col
        taken.add(col)
        if char.key == "age":
            plan.age_hint = hint
        if len(candidates) > 1:
            others = ", ".join(f"'{c}'" for c, _ in candidates[1:])
            plan.notes.append(
                f"{char.name}: used column '{col}'; also found {others} "
                f"(name the one you want under 'columns' in the mapping file)."
            )
    if plan.id_column is None:
        ids = [c for c in _find(columns, voc.id_columns) if c not in taken]
        plan.id_column = ids[0] if ids else None
    if plan.service_column is None:
        services = [c for c in _find(columns, voc.service_columns) if c not in taken]
        plan.service_column = services[0] if services else None
    periods = [c for c in _find(columns, voc.period_columns) if c not in taken]
    plan.period_column = periods[0] if periods else None
    return plan


def no_characteristics_error(source: str, columns: list[str]) -> InputError:
    example = "\n".join(f"  {k}: <column name>" for k in ("ethnicity", "sex", "age"))
    return InputError(
        "No column in the extract could be recognised as a protected characteristic",
        code="no-characteristics",
        file=source,
        details=["Columns found: " + ", ".join(columns)],
        hint="Name the columns in a mapping file and pass it with --map, e.g.\ncolumns:\n"
        + example,
    )

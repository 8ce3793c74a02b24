"""The problems eqia reports to people, as typed exceptions.

Each carries a stable kebab-case ``code``, where it happened (file, row, column,
value) and a ``hint`` saying what to do. Only the CLI turns them into text and an
exit code. Messages name a column, row numbers and one offending value at most,
never a whole row: extracts hold personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ErrorCode(str, Enum):
    """Every code eqia reports: a closed set, each explained in ``docs/errors.md`` (a test
    holds the two together). A string that is not one of these is refused when an error
    is made, so a new code cannot slip in undocumented."""

    # Files and folders
    MISSING_FILE = "missing-file"
    NOT_A_FILE = "not-a-file"
    UNREADABLE_FILE = "unreadable-file"
    EMPTY_FILE = "empty-file"
    NO_ROWS = "no-rows"
    UNSUPPORTED_FORMAT = "unsupported-format"
    FILE_EXISTS = "file-exists"
    OUTPUT_NOT_WRITABLE = "output-not-writable"
    FILE_ERROR = "file-error"
    NO_EXTRACTS = "no-extracts"
    DUPLICATE_EXTRACT = "duplicate-extract"
    # Reading an extract
    RAGGED_ROW = "ragged-row"
    BAD_QUOTING = "bad-quoting"
    BAD_HEADER_ROW = "bad-header-row"
    CHOOSE_SHEET = "choose-sheet"
    MISSING_SHEET = "missing-sheet"
    MISSING_COLUMN = "missing-column"
    NO_CHARACTERISTICS = "no-characteristics"
    DUPLICATE_IDS = "duplicate-ids"
    AMBIGUOUS_DATES = "ambiguous-dates"
    MIXED_DATE_ORDER = "mixed-date-order"
    WIDE_COUNTS = "wide-counts"
    BAD_COUNT = "bad-count"
    # Reading a database
    BAD_DATABASE_URL = "bad-database-url"
    PASSWORD_IN_URL = "password-in-url"
    DATABASE_ERROR = "database-error"
    BAD_QUERY = "bad-query"
    MISSING_LIBRARY = "missing-library"
    # Settings files
    INVALID_YAML = "invalid-yaml"
    BAD_MAPPING = "bad-mapping"
    BAD_PROPOSAL = "bad-proposal"
    BAD_REPORT_CONFIG = "bad-report-config"
    BAD_RULES = "bad-rules"
    BAD_THRESHOLDS = "bad-thresholds"
    BAD_DISCLOSURE_POLICY = "bad-disclosure-policy"
    BAD_PACKAGED_FILE = "bad-packaged-file"
    # The command line
    OPTION_MISMATCH = "option-mismatch"
    MISSING_ARGUMENT = "missing-argument"
    BAD_DATE = "bad-date"
    BAD_FORMAT = "bad-format"
    BAD_AGE_BAND = "bad-age-band"
    BAD_AGE_RANGE = "bad-age-range"
    BAD_CHANGE = "bad-change"
    BAD_FAIL_UNDER = "bad-fail-under"
    BAD_COMPARATOR = "bad-comparator"
    UNKNOWN_CHARACTERISTIC = "unknown-characteristic"
    # Areas and census data
    UNKNOWN_AREA = "unknown-area"
    AMBIGUOUS_AREA = "ambiguous-area"
    BAD_AREA_TYPE = "bad-area-type"
    UNKNOWN_TABLE = "unknown-table"
    NO_BASELINE_DATA = "no-baseline-data"
    NOT_A_CENSUS_TABLE = "not-a-census-table"
    UNKNOWN_CATEGORY = "unknown-category"
    BAD_NUMBER = "bad-number"
    BAD_SHARES = "bad-shares"
    # Templates
    TEMPLATE_SYNTAX = "template-syntax"
    TEMPLATE_MISSING_VALUE = "template-missing-value"
    TEMPLATE_FAILED = "template-failed"
    UNSAFE_TEMPLATE = "unsafe-template"
    # The web pages (eqia serve)
    PORT_IN_USE = "port-in-use"
    FILE_TOO_LARGE = "file-too-large"
    FORM_EXPIRED = "form-expired"
    # eqia itself
    OUT_OF_MEMORY = "out-of-memory"
    UNEXPECTED_ERROR = "unexpected-error"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass
class EqiaError(Exception):
    """Base class: something the user must fix before eqia can go on (exit code 2)."""

    message: str
    code: ErrorCode
    file: str | None = None
    row: int | None = None  # a data row (header = 1)
    column: str | None = None
    value: object | None = None
    hint: str | None = None
    details: list[str] = field(default_factory=list)
    line: int | None = None  # a line of a text file people write (YAML, templates)
    setting: str | None = None  # a field of a YAML file people write: "data: as_of"

    def __post_init__(self) -> None:
        self.code = ErrorCode(self.code)  # a str given is checked against the closed set
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        """One readable paragraph: where, what, then what to do."""
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column '{self.column}'")
        if self.setting:
            where.append(f"field '{self.setting}'")
        if self.value is not None:
            where.append(f"value '{self.value}'")
        text = self.message
        if where:
            text = f"{text} ({', '.join(where)})"
        if not text.endswith("."):
            text += "."
        if self.details:
            text += "\n" + "\n".join(f"  - {d}" for d in self.details)
        if self.hint:
            text += f"\n{self.hint}"
        return text


class InputError(EqiaError):
    """An extract or data file that cannot be read or understood."""


class ConfigError(EqiaError):
    """A YAML file (mapping, rules, proposal, report) that is invalid."""


class AreaError(EqiaError):
    """An area name or code that is unknown or ambiguous."""


class UsageError(EqiaError):
    """A command-line option with a value that makes no sense."""


class TemplateError(EqiaError):
    """A document template that fails to render."""


class OutputError(EqiaError):
    """A place eqia cannot write its outputs to (a file where a folder should be, no
    permission, a full disk)."""

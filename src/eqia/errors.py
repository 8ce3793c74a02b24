"""The problems eqia reports to people, as typed exceptions.

Each carries a stable kebab-case ``code``, where it happened (file, row, column,
value) and a ``hint`` saying what to do. Only the CLI turns them into text and an
exit code. Messages name a column, row numbers and one offending value at most,
never a whole row: extracts hold personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EqiaError(Exception):
    """Base class: something the user must fix before eqia can go on (exit code 2)."""

    message: str
    code: str = "error"
    file: str | None = None
    row: int | None = None  # a data row (header = 1)
    column: str | None = None
    value: object | None = None
    hint: str | None = None
    details: list[str] = field(default_factory=list)
    line: int | None = None  # a line of a text file people write (YAML, templates)
    setting: str | None = None  # a field of a YAML file people write: "data: as_of"

    def __post_init__(self) -> None:
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

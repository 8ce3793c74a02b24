"""A CSV's own records: a strict second reading that the reader's count must equal.

pandas (in memory) and DuckDB (large files) read a CSV fast but forgive too much: a
stray quote swallows every row after it into one value, a short row is padded with
blanks, a separator at the end of a row shifts the columns or is dropped. This module
reads the same text again with Python's csv module in strict mode, record by record, and
is the one definition of a well-formed extract for both paths:

* every record has as many values as the header (a line that is empty or holds only
  spaces is a blank row, not a short one);
* a quoted value ends with its quote, followed by a separator or the end of the line,
  and every quote that opens a value closes (``""`` inside a quoted value is a quote);
* a quoted value may hold line breaks (RFC 4180), but not what look like whole rows
  (as many separators as a row, after a line break): that is a stray quote;
* a separator at the end of every data row, and nowhere in the header, is an export
  quirk: accepted, the empty last value ignored, and said (``Records.trailing``).

Anything else raises ``InputError`` naming the line where the record starts. Nothing
here prints, and no message quotes the record itself (extracts hold personal data).
Without any quote character in the text a record is a line, so a plain split does the
same check several times faster than the csv module.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from eqia.errors import InputError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a 10 MB free-text cell is still a cell

RAGGED_HINT = (
    "Every row must have one value per column of the header. A value holding the "
    "separator must be in double quotes; export the extract again from the system (or "
    "open it in Excel and save it as CSV) and check that row."
)
QUOTE_HINT = (
    "A value that starts with a double quote must end with one, and a double quote "
    "inside a quoted value is written twice (\"\"). Fix or remove the stray quote in that "
    "row, or export the extract again."
)


@dataclass(frozen=True)
class Records:
    """What the strict reading found after the header."""

    count: int  # records (an empty line is one)
    empty: int  # of which empty lines (no character at all)
    trailing: bool = False  # every data row ends with one extra, empty value


def separator_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}.get(
        delimiter, f"'{delimiter}'")


def ragged_error(source: str, line: int, found: int, width: int, delimiter: str,
                 trailing: bool = False) -> InputError:
    if trailing:
        message = (f"This row ends with a {separator_name(delimiter)} that the header does "
                   f"not have, so it has {found} values for {width} columns")
        hint = ("Remove the separator at the end of that row (or of every row), or export "
                "the extract again.")
    else:
        fewer = "fewer" if found < width else "more"
        message = (f"This row has {found} value{'s' if found != 1 else ''}, {fewer} than "
                   f"the header's {width} columns")
        hint = RAGGED_HINT
    return InputError(message, code="ragged-row", file=source, row=line, hint=hint)


def check_text(text: str, delimiter: str, width: int, source: str,
               first_line: int = 2) -> Records:
    """Check the records of ``text`` (the file after its header line).

    ``width``: the header's number of columns; ``first_line``: the file's line number of
    the first line of ``text`` (for messages: the header is the line before it).
    """
    if '"' not in text and text.count("\r") == text.count("\r\n"):
        return _check_plain(text, delimiter, width, source, first_line)
    return check_lines(io.StringIO(text, newline=""), delimiter, width, source, first_line)


def _check_plain(text: str, delimiter: str, width: int, source: str,
                 first_line: int) -> Records:
    """Text without quotes and with \\n or \\r\\n line ends: a record is a line, and its
    values are its separators plus one (looked at further only where they are not the
    header's)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's last line break
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    separators = [line.count(delimiter) for line in lines]
    blanks = 0
    trailing: list[int] = []
    for i in [i for i, n in enumerate(separators) if n != width - 1]:
        line, n = lines[i], separators[i] + 1
        if n == 1 and not line.strip():
            blanks += line != ""
        elif n == width + 1 and not line.rsplit(delimiter, 1)[1].strip():
            trailing.append(first_line + i)
        else:
            raise ragged_error(source, first_line + i, n, width, delimiter)
    return _with_trailing(Records(len(lines), lines.count("")), trailing, blanks, width,
                          delimiter, source)


def check_lines(lines: Iterable[str], delimiter: str, width: int, source: str,
                first_line: int = 2) -> Records:
    """The same check on any iterable of lines (a file opened with ``newline=""``)."""
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True,
                        strict=True)
    count = empty = 0
    trailing: list[int] = []
    blanks = 0  # records that are a line of only spaces
    start = first_line
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _quote_error(source, start, first_line + reader.line_num - 1, str(exc)) \
                from exc
        end = first_line + reader.line_num - 1
        n = len(row)
        if n != width:
            if n == 0:
                empty += 1
            elif n == 1 and not row[0].strip():
                blanks += 1
            elif n == width + 1 and not row[-1].strip():
                trailing.append(start)
            else:
                raise ragged_error(source, start, n, width, delimiter)
        if end > start:
            _check_swallowed(row, delimiter, width, source, start, end)
        count += 1
        start = end + 1
    return _with_trailing(Records(count, empty), trailing, blanks, width, delimiter, source)


def _with_trailing(records: Records, trailing: list[int], blanks: int, width: int,
                   delimiter: str, source: str) -> Records:
    """Accept a separator at the end of every data row (``trailing``: their line numbers,
    ``blanks``: lines of only spaces); else name the first row that has one."""
    if not trailing:
        return records
    if len(trailing) == records.count - records.empty - blanks:
        return Records(records.count, records.empty, trailing=True)
    raise ragged_error(source, trailing[0], width + 1, width, delimiter, trailing=True)


def _check_swallowed(row: list[str], delimiter: str, width: int, source: str,
                     start: int, end: int) -> None:
    """A quoted value over several lines holding what look like whole rows: a stray quote."""
    if width < 3:
        return
    for value in row:
        if "\n" not in value and "\r" not in value:
            continue
        later = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")[1:]
        if any(part.count(delimiter) >= width - 1 for part in later):
            raise InputError(
                f"A quoted value runs from this row to line {end} and holds what look like "
                "whole rows: a quote that opens a value is probably stray",
                code="bad-quoting", file=source, row=start, hint=QUOTE_HINT,
            )


def _quote_error(source: str, start: int, line: int, message: str) -> InputError:
    if "unexpected end of data" in message:
        text = ("A quote opens a value in this row and is never closed, so every line after "
                "it would be read as part of that value")
        row = start
    elif "expected after" in message:
        text = "A quoted value is followed by more text before the next separator"
        row = line
    elif "NUL" in message:
        return InputError("The file holds a NUL character, so it is not a text CSV",
                          code="unreadable-file", file=source, row=line,
                          hint="Export the extract again as CSV (text).")
    else:
        text = f"The row could not be split into values ({message})"
        row = line
    return InputError(text, code="bad-quoting", file=source, row=row, hint=QUOTE_HINT)


def check_file(f: TextIO, header: CsvHeader, source: str) -> Records:
    """The same check on an open file (``newline=""``), after its title and header."""
    lines = iter(f)
    for _ in range(header.skip):
        next(lines, None)
    for _ in csv.reader(lines, delimiter=header.delimiter, strict=False):
        break  # the header: read (perhaps over several lines) and passed over
    return check_lines(lines, header.delimiter, header.width, source, header.first_line)


def count_lines(path: Path, block: int = 1 << 19) -> tuple[int, int]:
    """(lines, empty lines at the end) of a file whose line breaks are the byte \\n
    (UTF-8, Windows-1252, Latin-1), counted from its bytes with numpy: the file's own
    count of its rows when no value holds a line break, without any CSV reader.

    Read in blocks small enough to stay in the processor's cache, compared into one
    reused array: half the time of larger blocks and a fresh array each. (A memory map
    saves little more, and counts the whole file in the process's memory.)"""
    import numpy as np

    lines = 0
    buffer = bytearray(block)
    view = np.frombuffer(buffer, dtype=np.uint8)
    breaks = np.empty(block, dtype=bool)
    with open(path, "rb") as f:
        while n := f.readinto(buffer):
            lines += int(np.count_nonzero(np.equal(view[:n], 10, out=breaks[:n])))
        f.seek(max(0, f.tell() - 4096))
        last = f.read()
    if not last:
        return 0, 0
    if not last.endswith(b"\n"):
        return lines + 1, 0
    tail = len(last) - len(last.rstrip(b"\r\n"))
    return lines, max(last[len(last) - tail:].count(b"\n") - 1, 0)


@dataclass(frozen=True)
class CsvHeader:
    """A CSV's dialect and header: what both readers need to read the rest."""

    delimiter: str
    skip: int  # lines above the header (a title)
    columns: list[str]  # as pandas names them (blank -> "Unnamed: 2", repeats -> "X.1")
    lines: int  # lines the header itself takes (more than 1 if a name holds a line break)

    @property
    def width(self) -> int:
        return len(self.columns)

    @property
    def first_line(self) -> int:
        """The file's line number of the first data line."""
        return self.skip + self.lines + 1

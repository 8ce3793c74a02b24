"""What each YAML file people write may hold, declared once and checked one way.

A loader describes its file as a tree of specs (``Fields``, ``MapOf``, ``ListOf``,
``Text``, ``DateText``, ``Choice``, ``Number``, ``Flag``, ``Date``) and calls
``validate``. Every problem in the file is collected with its line and field, and all of
them are reported at once in one ``ConfigError``, as frictionless and pandera report
every failed check rather than the first: a person fixing a file by hand should not have
to run eqia once per mistake.

Values come back as plain Python. Text is the text as written (``version: 1.10`` stays
"1.10", ``how: yes`` stays "yes"), blank text is ``None``, and a missing key is simply
absent, so that defaults stay in the packaged YAML files. The same specs check values
given from Python (``load_rules(level=0.9)``), without lines.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqia.agebands import parse_range
from eqia.errors import ConfigError, EqiaError, ErrorCode
from eqia.settings.yamlfile import YamlDoc

#: Returned for a value with a problem (already recorded); its parents are invalid too.
INVALID: Any = object()
#: Years outside this range are a typo in a settings file (0206, 20260) or make no sense
#: for ages worked out from dates of birth.
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: At most this many problems are listed; more is a file of the wrong kind.
MAX_LISTED = 25
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def read_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` -> a date from 1900 to 2100; ``ValueError`` says what is wrong in
    words that complete "'<text>' ..."."""
    m = _ISO_DATE.fullmatch(text.strip())
    if not m:
        raise ValueError("is not a date written YYYY-MM-DD, e.g. 2026-03-31")
    year, month, day = map(int, m.groups())
    try:
        date = dt.date(year, month, day)
    except ValueError as exc:
        raise ValueError("is not a real date: check the day and the month") from exc
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        raise ValueError(f"is outside the years {FIRST_YEAR} to {LAST_YEAR}: check the year")
    return date


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a set of 'name: value' lines"
    if isinstance(value, list | tuple | set):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, numbers.Number):
        return "a number"
    return "text"


def _shown(value: Any) -> Any:
    """A value for a message: scalars only, long text shortened."""
    if value is None or isinstance(value, Mapping | list | tuple | set | bytes):
        return None
    text = str(value)
    return text if len(text) <= 80 else text[:60] + "…"


def _close(word: str, options: list[str]) -> str:
    """" (did you mean 'x'?)" for a near miss, else ""."""
    folded = {o.casefold(): o for o in options}
    match = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean '{folded[match[0]]}'?)" if match else ""


@dataclass
class Problem:
    text: str  # a whole sentence
    line: int | None
    setting: str | None
    value: Any = None
    hint: str | None = None


class Checker:
    """Collects the problems of one file (schema checks, then the loader's own)."""

    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        for path, first, second in doc.duplicates:
            self.add(path, f"{self.label(path)} is given twice (lines {first} and {second}); "
                     "only one can count", line=second)

    def label(self, path: tuple) -> str:
        return self.doc.label(path)

    def subject(self, path: tuple) -> str:
        """The field's label, or the file itself for the top level."""
        return self.label(path) or self.doc.what[0].upper() + self.doc.what[1:]

    def raw(self, path: tuple) -> str | None:
        return self.doc.raw.get(path)

    def add(self, path: tuple, text: str, value: Any = None, hint: str | None = None,
            line: int | None = None) -> None:
        self.problems.append(Problem(text, line or self.doc.line(path),
                                     self.label(path) or None, _shown(value), hint))

    def check(self, spec: Spec) -> Any:
        """The whole file against ``spec``."""
        return spec.validate(self.doc.data, (), self)

    def raise_if_any(self, code: ErrorCode, hint: str | None = None) -> None:
        """One problem: its own message, line, field and hint. Several: all of them."""
        if not self.problems:
            return
        doc = self.doc
        found = sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))
        if len(found) == 1:
            p = found[0]
            raise ConfigError(p.text, code=code, file=doc.source,
                              line=p.line, setting=p.setting, value=p.value,
                              hint=p.hint or hint)
        details = []
        for p in found[:MAX_LISTED]:
            text = p.text + (f" (given: '{p.value}')" if p.value is not None else "")
            details.append(f"line {p.line}: {text}" if p.line else text)
        if len(found) > MAX_LISTED:
            details.append(f"... and {len(found) - MAX_LISTED} more")
        raise ConfigError(f"{doc.what[0].upper()}{doc.what[1:]} has {len(found)} problems",
                          code=code, file=doc.source,
                          details=details, hint=hint)


def validate(doc: YamlDoc, spec: Spec, code: ErrorCode, hint: str | None = None) -> Any:
    """``spec``'s plain values for the file, or one ``ConfigError`` with the file's
    ``code`` listing every problem."""
    ck = Checker(doc)
    out = ck.check(spec)
    ck.raise_if_any(code, hint)
    return out


def python_values(values: Mapping[str, Any], what: str = "the settings given") -> YamlDoc:
    """Values given from Python, checked like a file (without lines)."""
    return YamlDoc(dict(values), None, what)


# --- files named in a settings file ---------------------------------------------------


def named_file(doc: YamlDoc, at: tuple, given: str, what: str) -> Path:
    """The file a settings file names at ``at``, relative to the settings file; an error
    naming the line and field if it does not exist or is not a file."""
    full = (Path(doc.source or ".").parent / given).resolve()
    if not full.is_file():
        exists = full.exists()
        raise ConfigError(
            f"{what} named in {doc.what} {'is not a file' if exists else 'does not exist'}",
            code=ErrorCode.NOT_A_FILE if exists else ErrorCode.MISSING_FILE, file=str(full),
            line=doc.line(at), setting=doc.label(at),
            hint=f"Check '{doc.label(at)}' in {Path(doc.source or '').name}; paths are "
                 "relative to it.")
    return full


def once(doc: YamlDoc, seen: dict[tuple[int, int], str], at: tuple, path: Path,
         where: str) -> None:
    """Refuse a file named twice (by the same path, another relative path or a link): its
    people would be counted twice. ``seen`` maps each file met so far to where it was."""
    st = path.stat()
    first = seen.get((st.st_dev, st.st_ino))
    seen[(st.st_dev, st.st_ino)] = where
    if first is not None:
        raise ConfigError(
            f"The same extract is named twice in {doc.what} ("
            + (f"{where}, twice" if first == where else f"{first}, and {where}") + "), so its "
            "people would be counted twice", code=ErrorCode.DUPLICATE_EXTRACT, file=doc.source,
            line=doc.line(at), setting=doc.label(at), value=path.name,
            hint="Name each extract once. The same file under two names, two periods or two "
                 "services is refused: its figures would be added twice or shown as another's.")


# --- the specs ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Spec:
    """``hint`` goes with a problem in this value; ``check`` sees the converted value and
    returns what is wrong with it (completing "<field> ...") or ``None``."""

    hint: str | None = None
    empty_ok: bool = True
    check: Callable[[Any], str | None] | None = None

    def validate(self, value: Any, path: tuple, ck: Checker) -> Any:
        out = self.convert(value, path, ck)
        if out is INVALID:
            return INVALID
        if out is None or out == [] or out == {}:
            if not self.empty_ok:
                ck.add(path, f"{ck.subject(path)} is empty", hint=self.hint)
                return INVALID
            return out
        if self.check is not None and (wrong := self.check(out)):
            ck.add(path, f"{ck.subject(path)} {wrong}", out, hint=self.hint)
            return INVALID
        return out

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Text(Spec):
    """One piece of text, as written; a number or true/false is read as its text."""

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool | numbers.Number):
            text = ck.raw(path) or str(value)
        elif isinstance(value, dt.date):
            text = value.isoformat()
        else:
            ck.add(path, f"{ck.subject(path)} must be text, not {_kind(value)}",
                   hint=self.hint)
            return INVALID
        return text.strip() or None


@dataclass(frozen=True, kw_only=True)
class DateText(Text):
    """Text that may be a date: ``2026-11-24`` becomes "24 November 2026" (and must be a
    real date); anything else ("November 2026", "tbc") is kept as written."""

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if isinstance(value, dt.date):
            return f"{value.day} {value:%B %Y}"
        text = super().convert(value, path, ck)
        if not isinstance(text, str) or not _ISO_DATE.fullmatch(text):
            return text
        try:
            date = read_date(text)
        except ValueError as exc:
            ck.add(path, f"{ck.subject(path)}: '{text}' {exc}", hint=self.hint)
            return INVALID
        return f"{date.day} {date:%B %Y}"


@dataclass(frozen=True, kw_only=True)
class AgeRange(Text):
    """Eligible ages as written (``18-``, ``65-``, ``18-64``), checked by ``parse_range``."""

    hint: str | None = "Examples: 18- (18 and over), 65-, 18-64, 0-17."

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        text = super().convert(value, path, ck)
        if not isinstance(text, str):
            return text
        try:
            parse_range(text)
        except EqiaError as exc:
            why = exc.message.rstrip(".")
            ck.add(path, f"{ck.subject(path)} must be an age range such as 18-, 65- or 18-64 "
                   f"({why[0].lower()}{why[1:]})", text, hint=self.hint)
            return INVALID
        return text


@dataclass(frozen=True, kw_only=True)
class Date(Spec):
    """A date written YYYY-MM-DD, from 1900 to 2100."""

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if value is None or isinstance(value, dt.date):
            return value.date() if isinstance(value, dt.datetime) else value
        text = Text().convert(value, path, ck)
        if text is INVALID or text is None:
            return text
        try:
            return read_date(text)
        except ValueError as exc:
            ck.add(path, f"{ck.subject(path)}: '{text}' {exc}",
                   hint=self.hint or "Write dates as YYYY-MM-DD, e.g. 2026-03-31.")
            return INVALID


@dataclass(frozen=True, kw_only=True)
class Choice(Spec):
    """One of ``options``, compared after ``fold`` (case by default). ``synonyms`` maps
    other words to an option (YAML reads a bare ``YES`` as true). With ``noun`` ("a
    characteristic eqia knows") a wrong value reads "'carer' under characteristics is not
    a characteristic eqia knows"; else "<field> must be one of ..."."""

    options: tuple[str, ...]
    synonyms: Mapping[str, str] = field(default_factory=dict)
    noun: str | None = None
    fold: Callable[[str], str] = str.casefold

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        text = Text().convert(value, path, ck)
        if text is INVALID or text is None:
            return text
        lookup = {self.fold(o): o for o in self.options}
        lookup.update({self.fold(k): v for k, v in self.synonyms.items()})
        if self.fold(text) in lookup:
            return lookup[self.fold(text)]
        self.wrong(text, path, ck, _close(text, list(self.options)))
        return INVALID

    def wrong(self, text: str, path: tuple, ck: Checker, near: str) -> None:
        if self.noun:
            where = ck.label(path[:-1])
            ck.add(path, f"'{text}'{f' under {where}' if where else ''} is not {self.noun}"
                   f"{near}",
                   hint=self.hint or "Use one of: " + ", ".join(self.options) + ".")
        else:
            ck.add(path, f"{ck.subject(path)} must be one of {', '.join(self.options)}{near}",
                   text, hint=self.hint)


@dataclass(frozen=True, kw_only=True)
class Number(Spec):
    """A finite number within bounds; ``integer`` for a whole number. ``words`` says what
    is accepted, completing "<field> must be ..."."""

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    integer: bool = False
    words: str | None = None

    def describe(self) -> str:
        if self.words:
            return self.words
        noun = "a whole number" if self.integer else "a number"
        low = None if self.min is None else (
            f"above {self.min:g}" if self.min_open else f"at least {self.min:g}")
        high = None if self.max is None else (
            f"below {self.max:g}" if self.max_open else f"at most {self.max:g}")
        return " ".join([noun, " and ".join(x for x in (low, high) if x)]).strip()

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if value is None:
            return None
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            ok = False
        if ok and self.integer:
            ok = isinstance(value, numbers.Integral)
        if ok:
            ok = not ((self.min is not None and (value < self.min or (self.min_open
                                                                      and value == self.min)))
                      or (self.max is not None and (value > self.max or (self.max_open
                                                                         and value == self.max))))
        if not ok:
            ck.add(path, f"{ck.subject(path)} must be {self.describe()}",
                   value if not isinstance(value, Mapping | list) else None, hint=self.hint)
            return INVALID
        return value


@dataclass(frozen=True, kw_only=True)
class Flag(Spec):
    """true or false."""

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if value is None or isinstance(value, bool):
            return value
        ck.add(path, f"{ck.subject(path)} must be true or false",
               ck.raw(path) or _shown(value), hint=self.hint)
        return INVALID


@dataclass(frozen=True, kw_only=True)
class ListOf(Spec):
    """A list of ``item``; with ``single``, one value may stand for a list of one. Blank
    items are left out; a blank list is ``None`` (so that "not given" and ``[]`` differ)."""

    item: Spec
    single: bool = False

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            out = [self.item.validate(v, (*path, i), ck) for i, v in enumerate(value)]
        elif self.single and not isinstance(value, Mapping | set):
            out = [self.item.validate(value, path, ck)]
        else:
            ck.add(path, f"{ck.subject(path)} must be a list, not {_kind(value)}",
                   hint=self.hint)
            return INVALID
        if any(v is INVALID for v in out):
            return INVALID
        return [v for v in out if v is not None]


@dataclass(frozen=True, kw_only=True)
class MapOf(Spec):
    """``name: value`` lines whose names are not fixed (characteristics, codes); ``None``
    when blank."""

    key: Spec
    value: Spec

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            ck.add(path, f"{ck.subject(path)} must be a set of 'name: value' lines, not "
                   f"{_kind(value)}", hint=self.hint)
            return INVALID
        out, bad = {}, False
        for k, v in value.items():
            at = (*path, k)
            key = self.key.validate(ck.doc.raw_keys.get(at, k) if not isinstance(k, str)
                                    else k, at, ck)
            val = self.value.validate(v, at, ck)
            if key is None:
                ck.add(at, f"A name under {ck.subject(path)} is blank", hint=self.hint)
                key = INVALID
            if key is INVALID or val is INVALID:
                bad = True
                continue
            out[key] = val
        return INVALID if bad else out


@dataclass(frozen=True, kw_only=True)
class Fields(Spec):
    """A fixed set of fields (a dict of those given; ``{}`` when blank). ``required`` maps
    a field to the hint shown when it is missing or blank; ``noun`` is what the file calls
    its keys ("rule", "setting")."""

    fields: Mapping[str, Spec]
    required: Mapping[str, str | None] = field(default_factory=dict)
    noun: str = "field"

    def convert(self, value: Any, path: tuple, ck: Checker) -> Any:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            ck.add(path, f"{ck.subject(path)} must be a set of 'name: value' lines, "
                   f"not {_kind(value)}", hint=self.hint)
            return INVALID
        out, bad = {}, False
        names = list(self.fields)
        for k, v in value.items():
            at = (*path, k)
            name = ck.doc.raw_keys.get(at, str(k))
            if name not in self.fields:
                where = ck.label(path)
                ck.add(at, f"Unknown {self.noun} '{name}'{f' under {where}' if where else ''}"
                       f"{_close(name, names)}",
                       hint=f"The {self.noun}s{f' under {where}' if where else ''} are: "
                            + ", ".join(names) + ".")
                bad = True
                continue
            checked = self.fields[name].validate(v, at, ck)
            bad = bad or checked is INVALID
            out[name] = checked
        for name, hint in self.required.items():
            got = out.get(name)
            if got is not INVALID and (got is None or got == [] or got == {}):
                ck.add((*path, name), f"The required {self.noun} '{ck.label((*path, name))}' "
                       "is missing", hint=hint)
                bad = True
        return INVALID if bad else out

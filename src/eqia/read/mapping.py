"""Raw values -> standard categories, unknown or invalid; ages from dates and bands.

Mapping works on distinct values with their counts, never row by row, so it costs the
same for a thousand rows or ten million. It never drops a value: every distinct value
comes back as a category, an unknown (with its reason) or an invalid (with why).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.agebands import MAX_AGE, AgeBand, parse_band
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import Characteristic, normalise
from eqia.settings.schema import (
    Checker,
    Choice,
    Fields,
    Flag,
    ListOf,
    MapOf,
    Number,
    Text,
    validate,
)
from eqia.settings.yamlfile import read_yaml_doc


@dataclass(frozen=True)
class MappingFile:
    """What a council's ``mapping.yaml`` says: which column holds what, and local codes."""

    path: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    id_column: str | None = None
    service_column: str | None = None
    ignore: tuple[str, ...] = ()
    dayfirst: bool | None = None  # dates written day first (True) or month first (False)
    sheet: str | None = None  # the Excel sheet to read
    header_row: int | None = None  # the header's row in the file (1 = the first)
    dayfirst: bool | None = None  # dates written day first (True) or month first (False)
    sheet: str | None = None  # the Excel sheet to read
    header_row: int | None = None  # the header's row in the file (1 = the first)


EXAMPLE_MAPPING = """\
columns:
  ethnicity: Ethnic Origin        # the extract's column for each characteristic
  sex: Gender
  age: Date of Birth
  id: Client ID
values:
  ethnicity:
    W9: "White: Other White"      # a local code and the standard category it means
    XX: not_known                 # or not_stated for "asked, declined"
"""


UNKNOWN_TARGETS = {"not_known": "not_known", "unknown": "not_known", "not known": "not_known",
                   "not_stated": "not_stated", "not stated": "not_stated"}
HINT = f"A mapping file looks like this:\n{EXAMPLE_MAPPING}"


@dataclass(frozen=True, kw_only=True)
class _Target(Choice):
    """The standard category a local code stands for (or not_known / not_stated)."""

    def wrong(self, text: str, path: tuple, ck: Checker, near: str) -> None:
        ck.add(path, f"Code '{ck.label(path[-1:])}' for {path[-2]} is mapped to '{text}', "
               f"which is not a standard category{near}",
               hint="Use one of: " + "; ".join(self.options) + "; or not_known / not_stated.")


def _targets(char: Characteristic) -> MapOf:
    labels = tuple(c.label for c in (*char.categories, *char.groups))
    return MapOf(key=Text(), value=_Target(
        options=labels, synonyms=UNKNOWN_TARGETS, fold=normalise, empty_ok=False,
        hint="Give the standard category the code stands for, or not_known / not_stated."))


#: Everything a mapping file may hold.
SCHEMA = Fields(noun="section", fields={
    "columns": MapOf(
        key=Choice(options=(*chars.keys(), "id", "service", "date_of_birth", "age_band"),
                   noun="a characteristic eqia knows"),
        value=Text(empty_ok=False, hint="Give the extract's column name, or delete the line.")),
    "values": Fields(noun="characteristic",
                     fields={key: _targets(chars.get(key)) for key in chars.keys()}),
    "ignore_columns": ListOf(item=Text(), single=True),
    "dayfirst": Flag(hint="true: dates of birth are written day first (31/12/1960); false: "
                     "month first (12/31/1960)."),
    "sheet": Text(empty_ok=False, hint="Give the name of the Excel sheet to read."),
    "header_row": Number(integer=True, min=1, words="a row number, 1 or more",
                         hint="Give the row holding the column names (the first row is 1)."),
})


def load_mapping(path: str | Path | None) -> MappingFile:
    """Read and check a mapping file; ``None`` gives the empty mapping."""
    if path is None:
        return MappingFile()
    doc = read_yaml_doc(path, "the mapping file", missing_hint="Check the path given to --map.")
    raw = validate(doc, SCHEMA, "bad-mapping", hint=HINT)
    out_cols: dict[str, str] = {}
    id_col = service_col = None
    for key, col in (raw.get("columns") or {}).items():
        if key == "id":
            id_col = col
        elif key == "service":
            service_col = col
        elif key in ("date_of_birth", "age_band"):
            out_cols["age"] = col
        else:
            out_cols[key] = col
    return MappingFile(
        path=doc.source,
        columns=out_cols,
        values={key: {normalise(code): target for code, target in (codes or {}).items()}
                for key, codes in (raw.get("values") or {}).items()},
        id_column=id_col,
        service_column=service_col,
        ignore=tuple(raw.get("ignore_columns") or ()),
        dayfirst=raw.get("dayfirst"),
        sheet=raw.get("sheet"),
        header_row=raw.get("header_row"),
    )


# ---------------------------------------------------------------------------
# Category values


@dataclass(frozen=True)
class Lookup:
    """Normalised code -> (kind, category or reason) for one characteristic."""

    codes: dict[str, tuple[str, str]]
    groups: dict[str, str]  # detailed label -> broad group (ethnicity)


def _has_digit(codes: Iterable[str]) -> bool:
    return any(ch.isdigit() for code in codes for ch in code)


def _unknown_codes(char: Characteristic) -> dict[str, str]:
    voc = chars.vocabulary()
    out = {}
    for reason, values in voc.unknowns.items():
        for v in values:
            out[normalise(v)] = reason
    for reason, values in char.unknown_codes.items():
        for v in values:
            out[normalise(v)] = reason
    return out


def lookup_for(char: Characteristic, user_values: dict[str, str] | None = None) -> Lookup:
    """The code table for one characteristic: vocabulary first, the council's codes on top."""
    codes: dict[str, tuple[str, str]] = {}
    for code, reason in _unknown_codes(char).items():
        codes[code] = ("unknown", reason)
    for group in char.groups:
        for code in (group.label, *group.codes):
            codes[normalise(code)] = ("group", group.label)
    for cat in char.categories:
        for code in (cat.label, *cat.codes, *(cat.census or ())):
            codes[normalise(code)] = ("category", cat.label)
    for code, target in (user_values or {}).items():
        if target in ("not_known", "not_stated"):
            codes[code] = ("unknown", target)
        elif any(g.label == target for g in char.groups):
            codes[code] = ("group", target)
        else:
            codes[code] = ("category", target)
    groups = {c.label: c.group for c in char.categories if c.group}
    return Lookup(codes=codes, groups=groups)


def map_categories(values: pd.Index, lookup: Lookup) -> pd.DataFrame:
    """Map distinct raw values: columns raw, kind, category, group, reason.

    kind is ``category`` (or ``group`` when a value names only an ethnic group),
    ``unknown`` or ``invalid``.
    """
    rows = []
    for raw in values:
        text = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw)
        key = normalise(text)
        if key == "":
            rows.append((raw, "unknown", "", "", "blank"))
            continue
        kind, target = lookup.codes.get(key, ("invalid", ""))
        if kind == "category":
            rows.append((raw, "category", target, lookup.groups.get(target, ""), ""))
        elif kind == "group":
            rows.append((raw, "group", "", target, ""))
        elif kind == "unknown":
            rows.append((raw, "unknown", "", "", target))
        else:
            rows.append((raw, "invalid", "", "", "not a recognised code"))
    return pd.DataFrame(rows, columns=["raw", "kind", "category", "group", "reason"])


# ---------------------------------------------------------------------------
# Ages

#: Dates with a month name or the year first: nothing to guess. Dates written with
#: numbers only, day and month in either order (``NUMERIC_DATE``), are read by
#: ``_numeric_dates`` in the order the file uses (``date_evidence``).
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%b %d %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
#: The same with a two-digit year (Excel's ``12-Jul-92``): the century is resolved as
#: for numbers (``_resolve_century``).
SHORT_YEAR_FORMATS = ("%d-%b-%y", "%d %b %y")
#: Two numbers of one or two digits and a year of two or four, separated by / - or .,
#: perhaps followed by a time (ignored).
NUMERIC_DATE = (r"^(?P<a>[0-9]{1,2})[/.-](?P<b>[0-9]{1,2})[/.-](?P<y>[0-9]{4}|[0-9]{2})"
                r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$")


def _stripped(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip()
    return text.where(text.notna(), "").to_numpy(dtype=object)


def parse_dates(values: pd.Series, dayfirst: bool = True,
                as_of: dt.date | None = None) -> pd.Series:
    """Dates from distinct text values; unparseable -> NaT.

    ``dayfirst``: how numeric dates (``12/07/1992``) are written, day or month first. A
    two-digit year is the latest year that puts the date on or before ``as_of`` (today
    if not given): ``12/07/92`` is 1992, never 2092. Microsecond resolution, so that a
    slip such as ``01/01/1066`` is a date (and so an age over 120) rather than an
    overflow of nanosecond timestamps."""
    as_of = as_of or dt.date.today()
    text = _stripped(values)
    result, numeric = _numeric_dates(text, dayfirst, as_of)
    remaining = np.isnat(result) & (text != "") & ~numeric
    for fmt in (*DATE_FORMATS, *SHORT_YEAR_FORMATS):
        todo = np.flatnonzero(remaining)
        if not len(todo):
            break
        parsed = pd.to_datetime(pd.Series(text[todo], dtype=object), format=fmt,
                                errors="coerce").to_numpy(dtype="datetime64[us]")
        ok = ~np.isnat(parsed)
        if fmt in SHORT_YEAR_FORMATS and ok.any():
            d = parsed[ok].astype("datetime64[D]")
            year = d.astype("datetime64[Y]").astype(int) + 1970
            month = (d.astype("datetime64[M]").astype(int) % 12) + 1
            day = (d - d.astype("datetime64[M]")).astype(int) + 1
            parsed[ok] = _ymd(_resolve_century(year % 100, month, day, as_of), month, day)
        result[todo[ok]] = parsed[ok]
        remaining[todo[ok]] = False
    if _TO_DATETIME_IN_NS:  # pandas 2 gave NaT for what nanoseconds cannot hold: 1066-01-01
        for i in np.flatnonzero(remaining):
            result[i] = _strptime_us(text[i])
    return pd.Series(result, index=values.index)


#: pandas before 3 reads text into nanoseconds, so it coerces a date before 1677 or after
#: 2262 to NaT; those few are then read one by one.
_TO_DATETIME_IN_NS = bool(pd.to_datetime(pd.Series(["1066-01-01"]), format="%Y-%m-%d",
                                         errors="coerce").isna().all())


def _strptime_us(text: str) -> np.datetime64:
    """``text`` read by the first of ``DATE_FORMATS`` that fits it (ASCII digits only, as
    pandas reads them); else NaT. Two-digit years never reach here: they fit nanoseconds."""
    for fmt in DATE_FORMATS if text.isascii() else ():
        try:
            return np.datetime64(dt.datetime.strptime(text, fmt), "us")
        except ValueError:
            continue
    return np.datetime64("NaT", "us")


def text_matches(text: pd.Series | np.ndarray, pattern: str) -> np.ndarray:
    """Which strings (object array or Series of ``str``) match a regular expression
    (RE2 syntax): Arrow's vectorised search, not a Python loop over every value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(text, pd.Series) and isinstance(text.dtype, pd.StringDtype | pd.ArrowDtype):
        values = pa.array(text.array, type=pa.string(), from_pandas=True)  # no copy to Python
    else:
        values = pa.array(np.asarray(text, dtype=object), type=pa.string(), from_pandas=True)
    return pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(
        zero_copy_only=False)


def _date_parts(text: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, first number, second number, year as written) of the numeric dates in
    ``text``. Those written exactly ``nn/nn/nnnn`` (nearly every extract's) are read from
    their digits with numpy, the rest with Arrow: either way many times faster than
    ``strptime`` on the ~30,000 distinct dates of birth of a large extract."""
    import pyarrow as pa
    import pyarrow.compute as pc

    usual = text_matches(text, "^[0-9]{2}/[0-9]{2}/[0-9]{4}$")
    rows = np.flatnonzero(usual)
    digits = text[rows].astype("S10").view(np.uint8).reshape(-1, 10).astype(np.int64) - 48
    a = digits[:, 0] * 10 + digits[:, 1]
    b = digits[:, 3] * 10 + digits[:, 4]
    y = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    others = np.flatnonzero(~usual)
    others = others[text_matches(text[others], NUMERIC_DATE)]
    if not len(others):
        return rows, a, b, y
    parts = pc.extract_regex(pa.array(text[others], type=pa.string()), NUMERIC_DATE)
    oa, ob, oy = (pc.cast(parts.field(k), pa.int64()).to_numpy() for k in ("a", "b", "y"))
    short = pc.utf8_length(parts.field("y")).to_numpy() == 2
    oy = np.where(short, -1 - oy, oy)  # -1 - yy marks a two-digit year
    return (np.concatenate([rows, others]), np.concatenate([a, oa]),
            np.concatenate([b, ob]), np.concatenate([y, oy]))


def _ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Dates (datetime64[us]) from parts; NaT where there is no such day."""
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1)
    m = np.where(ok, month, 1)
    first = ((year - 1970) * 12 + m - 1).astype("datetime64[M]")
    next_month = (first + np.timedelta64(1, "M")).astype("datetime64[D]")
    length = (next_month - first.astype("datetime64[D]")).astype(int)
    ok &= day <= length
    days = (np.where(ok, day, 1) - 1).astype("timedelta64[D]")
    dates = (first.astype("datetime64[D]") + days).astype("datetime64[us]")
    return np.where(ok, dates, np.datetime64("NaT", "us"))


def _resolve_century(yy: np.ndarray, month: np.ndarray, day: np.ndarray,
                     as_of: dt.date) -> np.ndarray:
    """The year of a two-digit ``yy``: the latest with that ending whose date is not
    after ``as_of`` (so ages run 0-99, and ``92`` is 1992, not 2092)."""
    year = as_of.year - (as_of.year - yy) % 100
    later = (month > as_of.month) | ((month == as_of.month) & (day > as_of.day))
    return np.where((year == as_of.year) & later, year - 100, year)


def _numeric_dates(text: np.ndarray, dayfirst: bool,
                   as_of: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Numeric dates (``NUMERIC_DATE``) read day or month first, NaT for the rest; and
    which rows are numeric dates (possible or not)."""
    result = np.full(len(text), np.datetime64("NaT", "us"), dtype="datetime64[us]")
    numeric = np.zeros(len(text), dtype=bool)
    rows, a, b, year = _date_parts(text)
    if not len(rows):
        return result, numeric
    day, month = (a, b) if dayfirst else (b, a)
    short = year < 0
    year = np.where(short, _resolve_century(-1 - year, month, day, as_of), year)
    result[rows] = _ymd(year, month, day)
    numeric[rows] = True
    return result, numeric


@dataclass(frozen=True)
class DateEvidence:
    """What numeric dates of birth say about their order, in rows (not distinct values).

    ``day_first``: dates whose first number is over 12 (so it is the day);
    ``month_first``: whose second is; ``either``: dates that read as two different days
    (both numbers 12 or under, and different); ``short_year``: two-digit years."""

    day_first: int = 0
    month_first: int = 0
    either: int = 0
    short_year: int = 0
    examples: tuple[str, str] = ("", "")  # one day-first and one month-first value


def date_evidence(counts: pd.Series) -> DateEvidence:
    """``counts``: rows per distinct raw value (a ``ValueCounts`` series)."""
    text = _stripped(pd.Series(counts.index, dtype=object))
    rows, a, b, year = _date_parts(text)
    n = np.asarray(counts, dtype=np.int64)[rows]
    day_first = (a > 12) & (b <= 12)
    month_first = (b > 12) & (a <= 12)
    either = (a <= 12) & (b <= 12) & (a != b) & (a >= 1) & (b >= 1)
    examples = tuple(str(text[rows][m][0]) if m.any() else "" for m in (day_first, month_first))
    return DateEvidence(int(n[day_first].sum()), int(n[month_first].sum()),
                        int(n[either].sum()), int(n[year < 0].sum()), examples)


def _years_between(born: pd.Series, as_of: dt.date) -> pd.Series:
    before_birthday = (born.dt.month > as_of.month) | (
        (born.dt.month == as_of.month) & (born.dt.day > as_of.day)
    )
    return as_of.year - born.dt.year - before_birthday.astype(int)


def map_ages(values: pd.Index, source: str, as_of: dt.date,
             dayfirst: bool = True) -> pd.DataFrame:
    """Map distinct raw age values: columns raw, kind, age (int years or NaN), band, reason.

    source is ``dob`` (date of birth), ``age`` (whole years) or ``band`` (labels such as
    ``18-24``). Blank and vocabulary unknowns are unknown; a future date of birth, an
    age over 120, a negative age or text that is none of these is invalid.
    """
    unknown = _unknown_codes(chars.get("age"))
    raw = pd.Series(list(values), dtype="object")
    if pd.api.types.infer_dtype(raw, skipna=False) == "string":  # the usual case: text
        text = raw
    else:
        text = raw.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                       else str(v))
    # A value with a digit in it is neither blank nor an unknown word (no vocabulary word
    # has a digit), so only the others need normalising: at 10 million rows that is most
    # of the ~30,000 distinct dates of birth spared.
    norm = pd.Series("#", index=text.index, dtype="object")
    words = ~text_matches(text, "[0-9]") if not _has_digit(unknown) else text.notna().to_numpy()
    norm[words] = text[words].map(normalise)
    out = pd.DataFrame(
        {"raw": raw, "kind": "invalid", "age": np.nan, "band": "", "reason": ""},
        index=raw.index,
    )
    out["band"] = out["band"].astype(object)
    is_blank = norm == ""
    out.loc[is_blank, ["kind", "reason"]] = ["unknown", "blank"]
    is_unknown = ~is_blank & norm.isin(unknown.keys())
    out.loc[is_unknown, "kind"] = "unknown"
    out.loc[is_unknown, "reason"] = norm[is_unknown].map(unknown)
    todo = ~(is_blank | is_unknown)
    if source == "dob":
        _mark_ages(out, *_ages_from_dates(text[todo], dayfirst, as_of))
    elif source == "age":
        _mark_ages(out, *_ages_from_numbers(text[todo]))
    else:
        _mark_bands(out, text[todo])
    return out


#: Why an age value is invalid: (which values, the reason given for them).
Reasons = list[tuple[pd.Series, str]]


def _ages_from_dates(text: pd.Series, dayfirst: bool,
                     as_of: dt.date) -> tuple[pd.Series, pd.Series, Reasons]:
    """Whole years at ``as_of`` from dates of birth; which are ages, and why the rest are not."""
    born = parse_dates(text, dayfirst, as_of)
    years = _years_between(born, as_of)
    good = born.notna()
    future = good & (born > pd.Timestamp(as_of))
    too_old = good & ~future & (years > MAX_AGE)
    return years, good & ~future & ~too_old, [
        (~good, "not a date"), (future, "date of birth after the as-of date"),
        (too_old, f"age over {MAX_AGE}")]


def _ages_from_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series, Reasons]:
    """Ages given in whole years (a decimal comma read as a point); which are ages, and
    why the rest are not."""
    num = pd.to_numeric(text.str.replace(",", "."), errors="coerce")
    whole = num.notna() & (num == np.floor(num.fillna(0)))
    negative = whole & (num < 0)
    too_old = whole & (num > MAX_AGE)
    return num, whole & ~negative & ~too_old, [
        (~whole, "not a whole number of years"), (negative, "negative age"),
        (too_old, f"age over {MAX_AGE}")]


def _mark_ages(out: pd.DataFrame, years: pd.Series, ok: pd.Series, invalid: Reasons) -> None:
    """Valid ages become categories with their age; each invalid one gets its reason (the
    reasons' values do not overlap)."""
    out.loc[ok[ok].index, "kind"] = "category"
    out.loc[ok[ok].index, "age"] = years[ok]
    for which, reason in invalid:
        out.loc[which[which].index, "reason"] = reason


def _mark_bands(out: pd.DataFrame, text: pd.Series) -> None:
    """Age band labels (``18-24``, ``65+``) become categories; others are invalid."""
    for idx, value in text.items():
        band = parse_band(value)
        if band is None:
            out.loc[idx, "reason"] = "not an age band"
        elif band.lo > MAX_AGE:
            out.loc[idx, "reason"] = f"age over {MAX_AGE}"
        else:
            out.loc[idx, "kind"] = "category"
            out.loc[idx, "band"] = band


def bands_overlap(bands: list[AgeBand]) -> tuple[AgeBand, AgeBand] | None:
    ordered = sorted(set(bands))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.hi is None or a.hi >= b.lo:
            return a, b
    return None


def looks_like_bands(values: pd.Index) -> bool:
    """True when the age values are band labels (``18-24``, ``85+``) rather than years."""
    seen = 0
    for v in values:
        band = parse_band(str(v)) if v is not None else None
        if band is not None and band.lo != band.hi:
            seen += 1
    return seen > 0

"""Extract -> Profile: each raw value mapped to a category, unknown or invalid, counted.

``profile_file`` reads a record-level or an aggregated extract (``eqia.read.extract``
decides how) and returns its ``Profile``; ``profile_services`` splits it by service (and
period) first. ``build_profile`` turns one part's raw value counts into the Profile;
every row ends up in exactly one category, unknown or invalid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.agebands import DEFAULT_BANDS as DEFAULT_AGE_BANDS
from eqia.agebands import AgeBand, parse_bands
from eqia.analysis.profile import BY_AGE_COLUMNS, COUNT_COLUMNS, Profile, check_reconciled
from eqia.errors import InputError
from eqia.read.counts import Parts, ValueCounts
from eqia.read.extract import table_value_counts, value_counts
from eqia.read.files import Table
from eqia.read.mapping import (
    Lookup,
    MappingFile,
    bands_overlap,
    date_evidence,
    load_mapping,
    looks_like_bands,
    lookup_for,
    map_ages,
    map_categories,
    parse_dates,
    text_matches,
)
from eqia.read.records import AGE_CROSSED
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED
from eqia.settings.standard_codes import classification_notes

#: Characters one of which every multi-year band label holds (``parse_band`` lowers the
#: text first, and only O, P, U, B, L lower to these letters): the dashes of a range,
#: ``+`` and ``<``, and a letter of each word it accepts ("to", "over", "above",
#: "older", "plus", "under", "below", "less than").
_BAND_CHARS = "[-+<\u2013\u2014opublOPUBL]"


def _age_source(vc: ValueCounts) -> str | None:
    if "age" not in vc.values:
        return None
    idx = vc.values["age"].index
    if vc.shape == "aggregated":
        return "band"
    if vc.age_hint == "dob":
        return "dob"
    # Only a value holding one of these characters can be a band of more than one year
    # (``18-24``, ``85+``, ``<18``, ``18 to 24``, ``65 and over``, ``under 18``...), so
    # the exact test runs on those alone: not on every distinct date of birth.
    maybe = idx[text_matches(idx.astype(str), _BAND_CHARS)]
    if len(maybe) and looks_like_bands(maybe):
        return "band"
    sample = pd.Series([str(v) for v in idx[:2000]])
    nonblank = sample[sample.str.strip() != ""]
    if len(nonblank):
        either = parse_dates(nonblank, True).notna() | parse_dates(nonblank, False).notna()
        if either.mean() > 0.5:
            return "dob"
    return "age"


@dataclass(frozen=True)
class DateReading:
    """How one file's dates of birth are read: day or month first, and what to say."""

    dayfirst: bool = True
    notes: tuple[str, ...] = ()


_DATE_CHOICE = ("Say how they are written: --dayfirst (31/12/1960) or --monthfirst "
                "(12/31/1960), or 'dayfirst: true' (or false) in the mapping file.")


def read_dates_as(parts: Iterable[ValueCounts], dayfirst: bool | None = None,
                  as_of: dt.date | None = None) -> DateReading:
    """Day or month first for a file's dates of birth (all its parts together): the
    user's choice, else what the dates themselves show; and what to say about them.

    A date whose first number is over 12 is day first; whose second is, month first.
    Raises InputError when the dates show both, or neither while some would read as two
    different days (``01/02/1990``): then only the user can say. Two-digit years are
    said too (``mapping.parse_dates`` reads them as the latest year not after ``as_of``).
    """
    dob = [vc for vc in parts if _age_source(vc) == "dob"]
    if not dob:
        return DateReading(True if dayfirst is None else dayfirst)
    ev = [date_evidence(vc.values["age"]) for vc in dob]
    day, month, either, short = (sum(getattr(e, k) for e in ev) for k in (
        "day_first", "month_first", "either", "short_year"))
    ex_day = next((e.examples[0] for e in ev if e.examples[0]), "")
    ex_month = next((e.examples[1] for e in ev if e.examples[1]), "")
    source, column = dob[0].source, dob[0].columns.get("age")
    notes: tuple[str, ...] = ()
    if short:
        notes = (f"{short:,} date{'s' if short != 1 else ''} of birth ha"
                 f"{'ve' if short != 1 else 's'} a two-digit year: each was read as the "
                 f"latest year not after {(as_of or dt.date.today()).isoformat()} (e.g. 92 as "
                 "1992, not 2092), so nobody is read as 100 or older.",)
    if dayfirst is not None:
        against = month if dayfirst else day
        if not against:
            return DateReading(dayfirst, notes)
        return DateReading(dayfirst, (
            f"{against:,} date{'s' if against != 1 else ''} of birth cannot be read "
            f"{'day' if dayfirst else 'month'} first as set: counted as invalid.", *notes))
    if day and month:
        raise InputError(
            "The dates of birth are not all written the same way",
            code="mixed-date-order", file=source, column=column,
            details=[f"{day:,} have a first number over 12, so the day first (e.g. '{ex_day}')",
                     f"{month:,} have a second number over 12, so the month first "
                     f"(e.g. '{ex_month}')"],
            hint=_DATE_CHOICE + " Dates that do not fit the order you choose are counted as "
            "invalid.",
        )
    if month:
        return DateReading(False, (
            f"Dates of birth are written month first (mm/dd/yyyy): {month:,} have a second "
            "number over 12 and none a first. Read that way; set 'dayfirst: true' in the "
            "mapping file (or --dayfirst) if that is wrong.", *notes))
    if either and not day:
        raise InputError(
            "The dates of birth could be written day first or month first: in every one "
            "both numbers are 12 or under",
            code="ambiguous-dates", file=source, column=column,
            details=[f"{either:,} rows would get a different date of birth one way or the "
                     "other (e.g. 01/02/1990: 1 February or 2 January)"],
            hint=_DATE_CHOICE,
        )
    return DateReading(True, notes)


def _band_of_age(ages: pd.Series, bands: tuple[AgeBand, ...]) -> pd.Series:
    labels = pd.Series("", index=ages.index, dtype=object)
    for band in bands:
        hit = (ages >= band.lo) & ((ages <= band.hi) if band.hi is not None else True)
        labels[hit & (labels == "")] = band.label
    return labels


def build_profile(
    vc: ValueCounts,
    user_values: dict[str, dict[str, str]] | None = None,
    as_of: dt.date | None = None,
    age_bands: str | None = None,
    dates: DateReading | None = None,
) -> Profile:
    """Map every distinct value and total the counts. Loses nothing.

    ``dates``: how the file's dates of birth are read (``read_dates_as`` over all its
    parts); without it, decided from this part's own dates."""
    as_of = as_of or dt.date.today()
    user_values = user_values or {}
    records: list[tuple] = []
    by_age: list[pd.DataFrame] = []
    inputs = dict(vc.inputs) if vc.inputs else {k: vc.rows for k in vc.values}
    notes = list(vc.notes)

    source = _age_source(vc)
    bands: tuple[AgeBand, ...] = tuple(parse_bands(age_bands or DEFAULT_AGE_BANDS))
    age_map: pd.DataFrame | None = None
    if source is not None:
        age_map, bands = _map_age(vc, source, bands, as_of, dates, notes)
        records.extend(_age_records(age_map))

    # -- the other characteristics ------------------------------------------
    for key, counts in vc.values.items():
        if key == "age":
            continue
        char = chars.get(key)
        lookup = lookup_for(char, user_values.get(key))
        mapped = map_categories(counts.index, lookup)
        mapped["count"] = counts.to_numpy()
        records.extend(_records_for(key, mapped))
        if char.groups:
            inputs[ETHNICITY_DETAILED] = inputs[key]
            records.extend(_detailed_records(mapped))
        if key in vc.pairs and age_map is not None:
            by_age.extend(_by_age(key, vc.pairs[key], age_map, lookup, bool(char.groups)))

    counts_df = _count_table(records)
    by_age_df = _by_age_table(by_age)
    profile = Profile(
        source=vc.source,
        shape=vc.shape,
        rows=vc.rows,
        inputs=inputs,
        counts=counts_df,
        by_age=by_age_df,
        columns=dict(vc.columns),
        age_source={"dob": "date of birth", "age": "age in years", "band": "age band"}.get(
            source or ""
        ),
        age_bands=bands if source is not None else (),
        notes=notes,
        service=vc.service,
        period=vc.period,
        duplicates=vc.duplicates,
        set_aside=dict(vc.set_aside),
    )
    check_reconciled(profile)
    return profile


def _map_age(vc: ValueCounts, source: str, bands: tuple[AgeBand, ...], as_of: dt.date,
             dates: DateReading | None,
             notes: list[str]) -> tuple[pd.DataFrame, tuple[AgeBand, ...]]:
    """Each distinct age value mapped (``map_ages``) with its count, its ages (``lo``,
    ``hi``) and band ``label``; and the bands: the extract's own when it gives bands.
    Notes on how dates were read, or on overlapping bands, go to ``notes``."""
    counts = vc.values["age"]
    dayfirst = True
    if source == "dob":
        dates = dates or read_dates_as([vc], as_of=as_of)
        dayfirst = dates.dayfirst
        notes.extend(dates.notes)
    age_map = map_ages(counts.index, source, as_of, dayfirst)
    age_map["count"] = counts.to_numpy()
    if source != "band":
        age_map["lo"] = age_map["age"]
        age_map["hi"] = age_map["age"]
        age_map["label"] = _band_of_age(age_map["age"], bands)
        outside = (age_map["kind"] == "category") & (age_map["label"] == "")
        if outside.any():
            age_map.loc[outside, ["kind", "reason"]] = ["invalid", "outside the age bands"]
        return age_map, bands
    found = sorted({b for b in age_map["band"] if isinstance(b, AgeBand)})
    clash = bands_overlap(found)
    if clash:
        notes.append(f"Age bands {clash[0]} and {clash[1]} overlap in the extract; "
                     "people are counted in the band written on their row.")
    band = age_map["band"]
    age_map["lo"] = [b.lo if isinstance(b, AgeBand) else np.nan for b in band]
    age_map["hi"] = [(b.hi if b.hi is not None else np.inf) if isinstance(b, AgeBand)
                     else np.nan for b in band]
    age_map["label"] = [b.label if isinstance(b, AgeBand) else "" for b in band]
    return age_map, tuple(found)


def _count_table(records: list[tuple]) -> pd.DataFrame:
    """``COUNT_COLUMNS``, one row per characteristic, category, kind, reason and value."""
    table = pd.DataFrame(records, columns=COUNT_COLUMNS)
    table = (table.groupby(["characteristic", "category", "kind", "reason", "value"],
                           sort=False)["count"].sum().reset_index())
    table["count"] = table["count"].astype("int64")
    return table


def _by_age_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """``BY_AGE_COLUMNS``: the characteristics' counts by age, summed."""
    parts = [frame for frame in parts if len(frame)]
    if not parts:
        return pd.DataFrame([], columns=BY_AGE_COLUMNS)
    return (pd.concat(parts, ignore_index=True)
            .groupby(BY_AGE_COLUMNS[:-1], sort=True)["count"].sum().reset_index())


def _records(key: str, kind: np.ndarray, category: np.ndarray, reason: np.ndarray,
             raw: np.ndarray, count: np.ndarray) -> list[tuple]:
    """Count records (``COUNT_COLUMNS``) from mapped distinct values: a category's label,
    why a value is unknown, or the invalid value itself. Summed per record in order of
    first appearance: ~30,000 distinct dates of birth become a few hundred records."""
    summed: dict[tuple, int] = {}
    for k, c, why, v, n in zip(kind, category, reason, raw, count, strict=True):
        if k == "category":
            record = (c, k, "", "")
        else:
            record = ("", k, why, str(v) if k == "invalid" else "")
        summed[record] = summed.get(record, 0) + n
    return [(key, *record, n) for record, n in summed.items()]


def _columns(frame: pd.DataFrame, *names: str) -> list[np.ndarray]:
    return [frame[n].to_numpy(dtype=object) for n in names]


def _age_records(age_map: pd.DataFrame) -> list[tuple]:
    kind, label, reason, raw = _columns(age_map, "kind", "label", "reason", "raw")
    return _records("age", kind, label, reason, raw, age_map["count"].to_numpy())


def _records_for(key: str, mapped: pd.DataFrame) -> list[tuple]:
    """A value naming only an ethnic group counts in that group."""
    kind, category, group, reason, raw = _columns(
        mapped, "kind", "category", "group", "reason", "raw")
    label = np.where(group != "", group, category)
    kind = np.where(kind == "group", "category", kind)
    return _records(key, kind, label, reason, raw, mapped["count"].to_numpy())


def _detailed_records(mapped: pd.DataFrame) -> list[tuple]:
    """Detailed ethnicity: a value naming only a group is unknown ("group only")."""
    kind, category, reason, raw = _columns(mapped, "kind", "category", "reason", "raw")
    only_group = kind == "group"
    kind = np.where(only_group, "unknown", kind)
    reason = np.where(only_group, "group_only", reason)
    return _records(ETHNICITY_DETAILED, kind, category, reason, raw,
                    mapped["count"].to_numpy())


def _by_age(
    key: str, pairs: pd.Series, age_map: pd.DataFrame, lookup: Lookup, grouped: bool
) -> list[pd.DataFrame]:
    """Known age x known category, for age standardisation.

    Worked on the pairs' index levels (each distinct age value and category value is
    mapped once) and summed per (age, category) at once: at 10 million rows there are
    ~100,000 (date of birth, sex) pairs but only ~100 ages.
    """
    index = pairs.index
    if not isinstance(index, pd.MultiIndex):  # no pairs at all
        index = pd.MultiIndex.from_arrays([[], []])
    age_codes, raw_codes = (np.asarray(c) for c in index.codes)
    ages = age_map.set_index(age_map["raw"].astype(str))
    at = ages[~ages.index.duplicated()].reindex(pd.Index(index.levels[0]).astype(str))
    age_ok = (at["kind"] == "category").to_numpy()
    cats = map_categories(pd.Index(index.levels[1]), lookup)
    cat_kind = cats["kind"].to_numpy()
    counts = np.asarray(pairs, dtype="int64")

    def part(name: str, kinds: tuple[str, ...], category: str) -> pd.DataFrame:
        ok = np.isin(cat_kind, kinds)
        keep = (age_codes >= 0) & (raw_codes >= 0)
        keep[keep] = age_ok[age_codes[keep]] & ok[raw_codes[keep]]
        frame = pd.DataFrame({
            "age_lo": at["lo"].to_numpy()[age_codes[keep]],
            "age_hi": at["hi"].to_numpy()[age_codes[keep]],
            "category": cats[category].to_numpy()[raw_codes[keep]],
            "count": counts[keep],
        })
        frame = frame.groupby(["age_lo", "age_hi", "category"], sort=False)["count"].sum()
        frame = frame.reset_index()
        frame.insert(0, "characteristic", name)
        return frame[BY_AGE_COLUMNS]

    out = [part(key, ("category", "group"), "group" if grouped else "category")]
    if grouped:
        out.append(part(ETHNICITY_DETAILED, ("category",), "category"))
    return out


def profile_file(
    path: str | Path,
    mapping: str | Path | MappingFile | None = None,
    as_of: dt.date | None = None,
    sheet: str | None = None,
    age_bands: str | None = None,
    allow_duplicates: bool = False,
    streaming: bool | None = None,
    progress: Callable[[float], None] | None = None,
    by_age: bool = True,
) -> Profile:
    """Profile a whole extract (all services in it together)."""
    groups = profile_services(
        path, mapping, as_of, sheet, age_bands, allow_duplicates, split=False,
        streaming=streaming, progress=progress, by_age=by_age,
    )
    return next(iter(groups.values()))


def profile_services(
    path: str | Path,
    mapping: str | Path | MappingFile | None = None,
    as_of: dt.date | None = None,
    sheet: str | None = None,
    age_bands: str | None = None,
    allow_duplicates: bool = False,
    split: bool = True,
    streaming: bool | None = None,
    progress: Callable[[float], None] | None = None,
    by_age: bool = True,
) -> dict[tuple[str | None, str | None], Profile]:
    """Profiles keyed by (service, period); one key ``(None, None)`` when not split.

    ``streaming``: count a record-level CSV/Parquet file in one pass without loading it
    (``None``: only when it is large). ``progress`` is called with the fraction read.
    ``by_age``: count the characteristics the census crosses with age by age too
    (``AGE_CROSSED``, for age standardisation); the costliest part of a large count, so
    callers that compare nothing with the census (profile, audit) leave it out.
    """
    mf = mapping if isinstance(mapping, MappingFile) else load_mapping(mapping)
    parts = value_counts(path, mf, sheet, allow_duplicates, split, streaming, progress,
                         crossed=AGE_CROSSED if by_age else (), as_of=as_of)
    return profiles_from_counts(parts, mf, as_of, age_bands)


def profiles_from_counts(
    parts: Parts,
    mapping: MappingFile,
    as_of: dt.date | None = None,
    age_bands: str | None = None,
) -> dict[tuple[str | None, str | None], Profile]:
    """One file's parts -> profiles, its dates of birth read one way for them all."""
    dates = read_dates_as(parts.values(), mapping.dayfirst, as_of)
    profiles = {}
    for key, vc in parts.items():
        profile = build_profile(vc, mapping.values, as_of=as_of, age_bands=age_bands,
                                dates=dates)
        profile.notes.extend(classification_notes(
            {k: values.index for k, values in vc.values.items()}))
        profiles[key] = profile
    return profiles


def profiles_from_table(
    table: Table,
    mapping: MappingFile,
    as_of: dt.date | None = None,
    age_bands: str | None = None,
    allow_duplicates: bool = False,
    split: bool = True,
    crossed: tuple[str, ...] = AGE_CROSSED,
) -> dict[tuple[str | None, str | None], Profile]:
    """Profiles of a table already read (a sheet, a notebook's DataFrame)."""
    parts = table_value_counts(table, mapping, allow_duplicates, split, crossed)
    return profiles_from_counts(parts, mapping, as_of, age_bands)

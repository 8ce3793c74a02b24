"""Tidy counts and their reconciliation: the contract every later step reads.

A ``Profile`` holds, per characteristic, how many people fall in each standard
category, how many are unknown (and why) and how many values are invalid (and what
they were). For each characteristic, input rows = categories + unknown + invalid:
``Profile.reconciliation()`` shows it and ``check_reconciled`` proves it. Nothing
here reads files or prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from eqia.agebands import DEFAULT_BANDS as DEFAULT_AGE_BANDS
from eqia.agebands import AgeBand, parse_bands
from eqia.errors import InputError
from eqia.read.mapping import (
    Lookup,
    bands_overlap,
    date_evidence,
    lookup_for,
    map_ages,
    map_categories,
    text_matches,
)
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED

COUNT_COLUMNS = ["characteristic", "category", "kind", "reason", "value", "count"]
BY_AGE_COLUMNS = ["characteristic", "age_lo", "age_hi", "category", "count"]
REASON_LABELS = {
    "not_stated": "Not stated (asked, declined)",
    "not_known": "Not known (not asked or not recorded)",
    "blank": "Blank",
    "group_only": "Broad group only (detail not recorded)",
}


@dataclass
class Profile:
    """Counts for one extract (or one service within it)."""

    source: str
    shape: str  # "records" or "aggregated"
    rows: int
    inputs: dict[str, int]  # rows counted per characteristic (all equal for records)
    counts: pd.DataFrame  # COUNT_COLUMNS
    by_age: pd.DataFrame  # BY_AGE_COLUMNS: known age x known category
    columns: dict[str, str] = field(default_factory=dict)
    age_source: str | None = None  # "date of birth", "age", "age band"
    age_bands: tuple[AgeBand, ...] = ()
    notes: list[str] = field(default_factory=list)
    service: str | None = None
    period: str | None = None
    duplicates: int = 0
    set_aside: dict[str, int] = field(default_factory=dict)  # rows not people: blank, total

    @property
    def file_rows(self) -> int:
        """Rows in the file under the header: people and the rows set aside."""
        return self.rows + sum(self.set_aside.values())

    # -- reading the counts -------------------------------------------------
    def collected(self) -> list[str]:
        """Characteristic keys present in the extract, in screening-grid order."""
        return [k for k in chars.all_keys() if k in self.inputs]

    def is_collected(self, key: str) -> bool:
        return key in self.inputs

    def of(self, key: str) -> pd.DataFrame:
        """This characteristic's rows of ``counts`` (split once, then looked up: every
        table and document asks for each characteristic several times)."""
        split = self.__dict__.get("_split")
        if split is None or split[0] is not self.counts:
            parts = dict(iter(self.counts.groupby("characteristic", sort=False)))
            split = self.__dict__["_split"] = (self.counts, parts)
        return split[1].get(key, self.counts.iloc[0:0])

    def category_counts(self, key: str) -> pd.Series:
        """Known counts per standard category, in standard order (zeros included, except
        for a category the census has no counterpart for, such as Indeterminate sex:
        shown only when someone is in it)."""
        rows = self.of(key)
        got = rows[rows["kind"] == "category"].groupby("category", sort=False)["count"].sum()
        order = [c for c in category_order(key, self) if c in got.index or c not in
                 _outside_census(key)]
        extra = [c for c in got.index if c not in order]
        return got.reindex(order + extra, fill_value=0).astype(int)

    def _of_kind(self, key: str, kind: str) -> pd.DataFrame:
        rows = self.of(key)
        return rows[rows["kind"] == kind]

    def known(self, key: str) -> int:
        return int(self._of_kind(key, "category")["count"].sum())

    def unknown(self, key: str) -> int:
        return int(self._of_kind(key, "unknown")["count"].sum())

    def invalid(self, key: str) -> int:
        return int(self._of_kind(key, "invalid")["count"].sum())

    def unknown_by_reason(self, key: str) -> dict[str, int]:
        rows = self._of_kind(key, "unknown")
        return {str(r): int(c) for r, c in rows.groupby("reason")["count"].sum().items()}

    def invalid_values(self, key: str) -> pd.DataFrame:
        """Each invalid value exactly as in the extract (never cut short or merged), its
        reason and count. Record-level data: for the officer's own use only."""
        rows = self._of_kind(key, "invalid")
        return rows[["value", "reason", "count"]].sort_values("count", ascending=False)

    def invalid_by_reason(self, key: str) -> dict[str, int]:
        """Invalid values counted by why they are invalid: what outputs show by default."""
        rows = self._of_kind(key, "invalid")
        return {str(r): int(c) for r, c in rows.groupby("reason")["count"].sum().items()}

    def reconciliation(self) -> pd.DataFrame:
        """Per characteristic: input rows = in categories + unknown + invalid."""
        out = []
        sums = self.counts.groupby(["characteristic", "kind"])["count"].sum()
        for key in chars.all_keys():
            if key not in self.inputs:
                if key != ETHNICITY_DETAILED:
                    out.append((key, "not collected", None, None, None, None, None))
                continue
            known, unknown, invalid = (int(sums.get((key, kind), 0))
                                       for kind in ("category", "unknown", "invalid"))
            total = self.inputs[key]
            out.append(
                (key, "collected", total, known, unknown, invalid, known + unknown + invalid == total)
            )
        return pd.DataFrame(
            out,
            columns=["characteristic", "status", "rows", "in_categories", "unknown", "invalid",
                     "balanced"],
        )

    def tidy(self, list_invalid_values: bool = False) -> pd.DataFrame:
        """One row per characteristic x category / unknown reason / invalid reason:
        ``characteristic, category, kind, count, share_of_known``. With
        ``list_invalid_values`` one row per invalid value instead (the value in
        ``category``): record-level data, for internal use only."""
        rows = []
        for key in self.collected():
            known = self.known(key)
            for cat, n in self.category_counts(key).items():
                rows.append((key, cat, "category", int(n), n / known if known else np.nan))
            for reason, n in sorted(self.unknown_by_reason(key).items()):
                rows.append((key, REASON_LABELS.get(reason, reason), "unknown", n, np.nan))
            if list_invalid_values:
                for _, r in self.invalid_values(key).iterrows():
                    rows.append((key, str(r["value"]), "invalid", int(r["count"]), np.nan))
            else:
                for reason, n in sorted(self.invalid_by_reason(key).items()):
                    rows.append((key, reason, "invalid", n, np.nan))
        return pd.DataFrame(
            rows, columns=["characteristic", "category", "kind", "count", "share_of_known"]
        )


def category_order(key: str, profile: Profile | None = None) -> list[str]:
    """The standard order of categories (age: the profile's bands)."""
    if key == "age":
        return [b.label for b in (profile.age_bands if profile else ())]
    if key == ETHNICITY_DETAILED:
        return chars.get("ethnicity").labels
    char = chars.get(key)
    if char.groups:
        return [g.label for g in char.groups]
    return char.labels


def _outside_census(key: str) -> set[str]:
    """A characteristic's categories that have no census counterpart, when it has one."""
    if key not in chars.keys() or not chars.get(key).has_baseline:
        return set()
    return {c.label for c in chars.get(key).categories if not c.in_census}


def check_reconciled(profile: Profile) -> None:
    """Raise AssertionError if any characteristic loses or invents a row (a bug guard)."""
    rec = profile.reconciliation()
    bad = rec[(rec["status"] == "collected") & (~rec["balanced"].astype(bool))]
    if len(bad):
        raise AssertionError(f"Counts do not reconcile: {bad.to_dict('records')}")


# ---------------------------------------------------------------------------
# Building a profile from distinct values and their counts


@dataclass
class ValueCounts:
    """What the reading step hands over: distinct raw values and how often they occur.

    ``values[key]`` is a Series (index: raw text, values: counts); ``pairs[key]`` a Series
    indexed by (raw age value, raw characteristic value). The in-memory and the
    streaming paths both produce this, so they cannot disagree after it.
    """

    source: str
    shape: str
    rows: int
    columns: dict[str, str]
    values: dict[str, pd.Series]
    pairs: dict[str, pd.Series] = field(default_factory=dict)
    inputs: dict[str, int] | None = None
    age_hint: str | None = None
    notes: list[str] = field(default_factory=list)
    duplicates: int = 0
    service: str | None = None
    period: str | None = None
    set_aside: dict[str, int] = field(default_factory=dict)  # see ``Profile.set_aside``


#: Characters one of which every multi-year band label holds (``parse_band`` lowers the
#: text first, and only O, P, U, B, L lower to these letters): the dashes of a range,
#: ``+`` and ``<``, and a letter of each word it accepts ("to", "over", "above",
#: "older", "plus", "under", "below", "less than").
_BAND_CHARS = "[-+<\u2013\u2014opublOPUBL]"


def _age_source(vc: ValueCounts) -> str | None:
    if "age" not in vc.values:
        return None
    from eqia.read.mapping import looks_like_bands, parse_dates

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

    # -- age ----------------------------------------------------------------
    source = _age_source(vc)
    bands: tuple[AgeBand, ...] = tuple(parse_bands(age_bands or DEFAULT_AGE_BANDS))
    age_map: pd.DataFrame | None = None
    if source is not None:
        counts = vc.values["age"]
        dayfirst = True
        if source == "dob":
            dates = dates or read_dates_as([vc], as_of=as_of)
            dayfirst = dates.dayfirst
            notes.extend(dates.notes)
        age_map = map_ages(counts.index, source, as_of, dayfirst)
        age_map["count"] = counts.to_numpy()
        if source == "band":
            found = sorted({b for b in age_map["band"] if isinstance(b, AgeBand)})
            clash = bands_overlap(found)
            if clash:
                notes.append(
                    f"Age bands {clash[0]} and {clash[1]} overlap in the extract; "
                    "people are counted in the band written on their row."
                )
            bands = tuple(found)
            age_map["lo"] = [b.lo if isinstance(b, AgeBand) else np.nan for b in age_map["band"]]
            age_map["hi"] = [
                (b.hi if b.hi is not None else np.inf) if isinstance(b, AgeBand) else np.nan
                for b in age_map["band"]
            ]
            age_map["label"] = [b.label if isinstance(b, AgeBand) else "" for b in age_map["band"]]
        else:
            age_map["lo"] = age_map["age"]
            age_map["hi"] = age_map["age"]
            age_map["label"] = _band_of_age(age_map["age"], bands)
            outside = (age_map["kind"] == "category") & (age_map["label"] == "")
            if outside.any():
                age_map.loc[outside, ["kind", "reason"]] = ["invalid", "outside the age bands"]
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

    counts_df = pd.DataFrame(records, columns=COUNT_COLUMNS)
    counts_df = (
        counts_df.groupby(["characteristic", "category", "kind", "reason", "value"], sort=False)[
            "count"
        ]
        .sum()
        .reset_index()
    )
    counts_df["count"] = counts_df["count"].astype("int64")
    by_age = [frame for frame in by_age if len(frame)]
    if by_age:
        by_age_df = (pd.concat(by_age, ignore_index=True)
                     .groupby(BY_AGE_COLUMNS[:-1], sort=True)["count"].sum().reset_index())
    else:
        by_age_df = pd.DataFrame([], columns=BY_AGE_COLUMNS)
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


def merge_profiles(profiles: list[Profile], source: str | None = None) -> Profile:
    """Add several extracts' counts together (e.g. two providers of one service)."""
    if len(profiles) == 1:
        return profiles[0]
    first = profiles[0]
    counts = pd.concat([p.counts for p in profiles], ignore_index=True)
    counts = counts.groupby(COUNT_COLUMNS[:-1], sort=False)["count"].sum().reset_index()
    by_age = pd.concat([p.by_age for p in profiles], ignore_index=True)
    if len(by_age):
        by_age = by_age.groupby(BY_AGE_COLUMNS[:-1], sort=True)["count"].sum().reset_index()
    inputs: dict[str, int] = {}
    for p in profiles:
        for k, n in p.inputs.items():
            inputs[k] = inputs.get(k, 0) + n
    bands = sorted({b for p in profiles for b in p.age_bands})
    merged = Profile(
        source=source or " + ".join(p.source for p in profiles),
        shape=first.shape if all(p.shape == first.shape for p in profiles) else "mixed",
        rows=sum(p.rows for p in profiles),
        inputs=inputs,
        counts=counts,
        by_age=by_age,
        columns=dict(first.columns),
        age_source=first.age_source,
        age_bands=tuple(bands),
        notes=[n for p in profiles for n in p.notes],
        duplicates=sum(p.duplicates for p in profiles),
        set_aside={k: n for k in ("blank", "total")
                   if (n := sum(p.set_aside.get(k, 0) for p in profiles))},
    )
    check_reconciled(merged)
    return merged

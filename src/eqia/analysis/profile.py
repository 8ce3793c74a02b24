"""The Profile: tidy counts and their reconciliation, the contract every later step reads.

A ``Profile`` holds, per characteristic, how many people fall in each standard
category, how many are unknown (and why) and how many values are invalid (and what
they were). For each characteristic, input rows = categories + unknown + invalid:
``Profile.reconciliation()`` shows it and ``check_reconciled`` proves it. Built from an
extract by ``eqia.analysis.profiling``; nothing here reads files or prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from eqia.agebands import AgeBand
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
                 no_census_category(key)]
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


def no_census_category(key: str) -> set[str]:
    """A characteristic's categories that have no census counterpart (sex "Other"), when
    it is compared with the census at all."""
    if key not in chars.keys() or not chars.get(key).has_baseline:
        return set()
    return {c.label for c in chars.get(key).categories if not c.in_census}


def check_reconciled(profile: Profile) -> None:
    """Raise AssertionError if any characteristic loses or invents a row (a bug guard)."""
    rec = profile.reconciliation()
    bad = rec[(rec["status"] == "collected") & (~rec["balanced"].astype(bool))]
    if len(bad):
        raise AssertionError(f"Counts do not reconcile: {bad.to_dict('records')}")


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

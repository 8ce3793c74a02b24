"""An area's census counts of a characteristic by single year of age (0 to 90 and over).

Census 2021 crosses four characteristics with age: sex by single year (TS009) and ethnic
group (5 broad groups, 13 bands) and legal partnership status (15 bands from 16) for
every area, religion by single year for England and Wales only. Each is turned into one
shape, counts by single year of age x standard category, so that an eligible-age
baseline and indirect standardisation read every crossing the same way:

* a published band is spread over its single years in proportion to the area's own
  population at each age (TS007): the band's mix is kept, nothing else is assumed;
* religion by age is *estimated*: the England and Wales table fitted to the area's own
  religion (TS030) and ages (TS007) by iterative proportional fitting (``eqia.census.ipf``);
* detailed ethnic groups are *estimated*: each broad group by age, split by the area's
  detailed shares within that group at all ages (no finer crossing is published);
* partnership by age counts separated people with the divorced: the two are split by the
  area's own ratio at 16 and over (TS002), so those two categories are *estimated*.

``estimated`` names the categories whose counts are estimates; documents label them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.agebands import AgeBand, parse_band
from eqia.census.areas import Area, default_baseline_dir, find_area, reference_dir
from eqia.census.ipf import fit
from eqia.census.tables import metadata, single_age, table_cells
from eqia.errors import AreaError
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED
from eqia.settings.yamlfile import safe_load

#: Single years 0..TOP; the cell TOP holds everyone aged TOP and over (TS009's top).
TOP = 90
AGES = np.arange(TOP + 1)

#: Characteristic -> the shipped crossing it is read from (``age_crossing`` in
#: data/characteristics.yaml; sex: TS009).
SOURCES = {k: chars.get(k).age_crossing for k in chars.all_keys() if chars.get(k).age_crossing}
CROSSED = tuple(SOURCES)

SEPARATED = "Separated, but still legally married or still legally in a civil partnership"
DIVORCED = "Divorced or civil partnership dissolved"
SEPARATED_OR_DIVORCED = "Separated, divorced or civil partnership dissolved"


@dataclass(frozen=True)
class Crossing:
    """A characteristic by single year of age for one area (see the module docstring)."""

    key: str
    table: str  # short name, e.g. "TS009" or "ethnic group by age"
    title: str
    counts: pd.DataFrame  # index: age 0..TOP; columns: standard categories (floats)
    unknown: pd.Series  # "Not answered" by age (religion); zeros elsewhere
    bands: tuple[AgeBand, ...]  # the bands the census published the crossing in
    min_age: int  # the youngest age the census asked (16 for partnership)
    estimated: frozenset[str]  # categories whose counts are estimates
    method: str  # where the crossing comes from and how it was made, for notes
    caveats: tuple[str, ...] = ()

    @property
    def band_starts(self) -> tuple[int, ...]:
        """Where the published bands start, for crossings published in bands wider than a
        year (standardising within one of them gains nothing); () for single years."""
        if all(b.hi is not None and b.hi == b.lo for b in self.bands[:-1]):
            return ()
        return tuple(b.lo for b in self.bands)


@lru_cache(maxsize=1)
def _shipped_meta() -> dict:

    raw = safe_load((reference_dir() / "metadata.yaml").read_text(encoding="utf-8"))
    return raw.get("age_crossings") or {}


@lru_cache(maxsize=4)
def _shipped_frame(name: str) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """The shipped crossing, sorted by area, and each area's rows (start, stop)."""
    info = _shipped_meta()[name]
    with (reference_dir() / info["file"]).open("rb") as fh:
        frame = pd.read_parquet(fh)
    frame = frame.astype({"geography_code": str, "age_band": str, "category": str})
    frame = frame.sort_values("geography_code", kind="stable").reset_index(drop=True)
    codes = frame["geography_code"].to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    stops = np.r_[starts[1:], len(codes)]
    return frame, {codes[a]: (a, b) for a, b in zip(starts, stops, strict=True)}


def _shipped_cells(name: str, code: str) -> pd.DataFrame | None:
    """One area's cells as a table (age band x category, in published order)."""
    info = _shipped_meta()[name]
    frame, where = _shipped_frame(name)
    if code not in where:
        return None
    part = frame.iloc[slice(*where[code])]
    wide = part.pivot_table(index="age_band", columns="category", values="count",
                            aggfunc="sum")
    return wide.reindex(index=info["bands"], columns=info["categories"]).fillna(0)


def _singles(area: Area, baseline_dir) -> pd.Series:
    """The area's usual residents by single year 0..TOP (TS007, 90 and over together)."""
    info = metadata().tables["ts007"]
    cells, _ = table_cells(area, "ts007", baseline_dir=baseline_dir)
    ages = np.array([min(single_age(leaf), TOP) for leaf in info.leaves])
    counts = np.array([float(cells.get(leaf, 0)) for leaf in info.leaves])
    return pd.Series(np.bincount(ages, weights=counts, minlength=TOP + 1), index=AGES)


def _band_ages(band: AgeBand) -> np.ndarray:
    hi = TOP if band.hi is None or band.hi >= TOP else band.hi
    return AGES[(AGES >= min(band.lo, TOP)) & (AGES <= hi)]


def spread(banded: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    """Counts by published band (index: band labels) -> by single year, each band's
    counts shared over its ages in proportion to ``population`` at each age (equally
    where the band has no population)."""
    out = pd.DataFrame(0.0, index=AGES, columns=banded.columns)
    for label, row in banded.iterrows():
        ages = _band_ages(parse_band(str(label)))
        weight = population.reindex(ages).to_numpy(dtype=float)
        weight = weight / weight.sum() if weight.sum() > 0 else np.full(len(ages), 1 / len(ages))
        out.loc[ages] += np.outer(weight, row.to_numpy(dtype=float))
    return out


def crossing(area: Area | str, key: str, *,
             baseline_dir: str | Path | None = None) -> Crossing | None:
    """The area's ``key`` by single year of age, or ``None`` where the census does not
    cross it with age or the shipped crossing does not hold the area (an area a user
    imported, e.g. a council created in 2023)."""
    if key not in SOURCES:
        return None
    area_obj = area if isinstance(area, Area) else find_area(area, baseline_dir=baseline_dir)
    user = str(default_baseline_dir() if baseline_dir is None else baseline_dir)
    return _crossing(area_obj, key, user)


@lru_cache(maxsize=64)
def _crossing(area: Area, key: str, baseline_dir: str) -> Crossing | None:
    if key == "sex":
        return _sex(area, baseline_dir)
    name = SOURCES[key]
    info = _shipped_meta()[name]
    if key == "religion":
        return _religion(area, info, baseline_dir)
    cells = _shipped_cells(name, area.code)
    if cells is None:
        return None
    bands = tuple(parse_band(b) for b in info["bands"])
    counts = spread(cells, _singles(area, baseline_dir))
    common = dict(key=key, title=info["title"], bands=bands, caveats=tuple(info["caveats"]),
                  unknown=pd.Series(0.0, index=AGES), min_age=bands[0].lo)
    if key == "marriage_civil_partnership":
        return _partnership(area, counts, common, baseline_dir)
    if key == ETHNICITY_DETAILED:
        return _detailed(area, counts, common, baseline_dir)
    return Crossing(table="ethnic group by age", counts=counts, estimated=frozenset(),
                    method=_spread_text(info["title"], bands), **common)


def _spread_text(title: str, bands: tuple[AgeBand, ...]) -> str:
    return (f"Census 2021 {title[:1].lower() + title[1:]} in {len(bands)} age bands from "
            f"{bands[0]} to {bands[-1]} (an ONS custom dataset)")


def _sex(area: Area, baseline_dir) -> Crossing:
    info = metadata().tables["ts009"]
    cells, _ = table_cells(area, "ts009", baseline_dir=baseline_dir)
    labels = {c.census[0]: c.label for c in chars.get("sex").categories if c.census}
    counts = pd.DataFrame(0.0, index=AGES, columns=list(labels.values()))
    for leaf in info.leaves:
        sex, age = leaf.split("; ", 1)
        counts.at[min(single_age(age), TOP), labels[sex]] += float(cells.get(leaf, 0))
    return Crossing(
        key="sex", table=info.id, title=info.title, counts=counts,
        unknown=pd.Series(0.0, index=AGES),
        bands=tuple(AgeBand(a, a) for a in range(TOP)) + (AgeBand(TOP, None),), min_age=0,
        estimated=frozenset(), method=f"Census 2021 {info.id} {info.title.lower()}",
    )


def _partnership(area: Area, counts: pd.DataFrame, common: dict, baseline_dir) -> Crossing:
    """Split 'separated, divorced or dissolved' by the area's own ratio at 16 and over."""
    char = chars.get("marriage_civil_partnership")
    info = metadata().tables["ts002"]
    cells, _ = table_cells(area, "ts002", baseline_dir=baseline_dir)

    def total(label: str) -> float:
        return float(sum(int(cells.get(leaf, 0)) for leaf in char.category(label).census))

    sep, div = total(SEPARATED), total(DIVORCED)
    separated_share = sep / (sep + div) if sep + div else 0.0
    both = counts.pop(SEPARATED_OR_DIVORCED)
    counts[SEPARATED] = both * separated_share
    counts[DIVORCED] = both * (1 - separated_share)
    counts = counts[[c.label for c in char.categories if c.in_census]]
    method = (_spread_text(common["title"], common["bands"]) + ", where the separated and "
              f"the divorced are one group, split by {area.name}'s own ratio at 16 and over "
              f"({100 * separated_share:.1f}% separated, Census 2021 {info.id})")
    return Crossing(table="legal partnership by age", counts=counts,
                    estimated=frozenset({SEPARATED, DIVORCED}), method=method, **common)


def _detailed(area: Area, broad: pd.DataFrame, common: dict, baseline_dir) -> Crossing:
    """Each broad group by age, split by the area's detailed shares within it (all ages)."""
    char = chars.get("ethnicity")
    cells, _ = table_cells(area, "ts021", baseline_dir=baseline_dir)
    counts = pd.DataFrame(0.0, index=AGES, columns=char.labels)
    for group in char.groups:
        members = [c for c in char.categories if c.group == group.label]
        n = np.array([float(sum(int(cells.get(leaf, 0)) for leaf in c.census)) for c in members])
        share = n / n.sum() if n.sum() else np.full(len(members), 1 / len(members))
        for c, s in zip(members, share, strict=True):
            counts[c.label] = broad[group.label] * s
    method = (_spread_text(common["title"], common["bands"]) + ", each broad group split "
              f"into its detailed groups by {area.name}'s shares within the group at all ages "
              "(Census 2021 TS021): no crossing of the detailed groups with age is published")
    return Crossing(table="ethnic group by age", counts=counts,
                    estimated=frozenset(char.labels), method=method, **common)


def _religion(area: Area, info: dict, baseline_dir) -> Crossing | None:
    """England and Wales religion by age, fitted to the area's religion and age counts."""
    seed_cells = _shipped_cells("religion_by_age_ew", "K04000001")
    ts030 = metadata().tables["ts030"]
    try:
        cells, _ = table_cells(area, "ts030", baseline_dir=baseline_dir)
    except AreaError:
        return None
    labels = list(seed_cells.columns)  # TS030's leaves, "Not answered" last
    religion = np.array([float(cells.get(c, 0)) for c in labels])
    ages = _singles(area, baseline_dir).to_numpy()
    if religion.sum() <= 0 or ages.sum() <= 0:
        return None
    ages = ages * religion.sum() / ages.sum()  # two perturbed tables: a few people apart
    seed = seed_cells.to_numpy(dtype=float)  # age x religion
    fitted = fit(seed, [((0,), ages), ((1,), religion)])
    table = pd.DataFrame(fitted.table, index=AGES, columns=labels)
    unknown = table.pop(ts030.not_answered)
    method = (f"Census 2021 {info['title'][:1].lower() + info['title'][1:]} (an ONS custom "
              f"dataset) fitted to {area.name}'s own religion ({ts030.id}) and age (TS007) "
              "counts by iterative proportional fitting")
    return Crossing(
        key="religion", table="religion by age (estimated)", title=info["title"],
        counts=table, unknown=unknown,
        bands=tuple(AgeBand(a, a) for a in range(TOP)) + (AgeBand(TOP, None),), min_age=0,
        estimated=frozenset(table.columns), method=method, caveats=tuple(info["caveats"]),
    )


# ----------------------------------------------------------------- reading a crossing


def in_range(age: int, ages: AgeBand | None) -> bool:
    """Whether single-year cell ``age`` falls in ``ages`` (the cell TOP, 'TOP and over',
    counts whenever the range reaches into it)."""
    if ages is None:
        return True
    if age == TOP:
        return ages.hi is None or ages.hi >= TOP
    return ages.contains(age)


def ages_mask(ages: AgeBand | None) -> np.ndarray:
    return np.array([in_range(int(a), ages) for a in AGES])


def cut_bands(c: Crossing, ages: AgeBand | None) -> list[AgeBand]:
    """Published bands the eligible range cuts through (part in, part out)."""
    if ages is None:
        return []
    mask = pd.Series(ages_mask(ages), index=AGES)
    out = []
    for band in c.bands:
        inside = mask.reindex(_band_ages(band))
        if inside.any() and not inside.all():
            out.append(band)
    return out


def by_bands(c: Crossing, bands: list[AgeBand]) -> pd.DataFrame:
    """``age_band, category, count`` summed over each band's single years; the cell TOP
    goes to the band holding TOP, and bands wholly above it get nothing (left out)."""
    rows = []
    for band in bands:
        ages = [a for a in AGES if (band.contains(int(a)) if a < TOP
                                    else band.contains(TOP))]
        if not ages:
            continue
        sums = c.counts.loc[ages].sum()
        rows += [(band.label, cat, float(n)) for cat, n in sums.items()]
    return pd.DataFrame(rows, columns=["age_band", "category", "count"])


__all__ = ["CROSSED", "Crossing", "TOP", "by_bands", "crossing", "cut_bands", "in_range",
           "spread"]

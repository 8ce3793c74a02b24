"""Census 2021 baselines: areas, the resident population's profile, comparator populations.

Data in, data out: nothing here prints or exits. The shipped counts live in the
package's ``reference_data`` (built by ``scripts/build_reference_data.py``, described
by its ``metadata.yaml``); a user baseline directory (``EQIA_BASELINE_DIR``, default
``~/.config/eqia/baselines``) holds Nomis tables the user imported, in the same
layout, and is preferred table by table and area by area.

Conventions every ``Baseline`` keeps:

* ``counts`` has the columns ``category, count, share`` in the standard order of
  ``data/characteristics.yaml``. ``share`` is the share of the *known*: people the
  census did not get an answer from ("Not answered") are in ``unknown``, never in a
  share.
* Standard categories with no census counterpart (``census: null``, for example sex
  "Other (not in the census)") are left out of ``counts``: there is no population to
  compare them with, and a comparison reports them separately.
* ``total`` is the table's population base for the area (known + unknown), after any
  age restriction that could be applied.
* Counts are the published ONS figures or sums of them, except where ``estimated`` names
  categories: an eligible-age baseline read from an age crossing that had to be estimated
  (religion by age, detailed ethnic groups by age, separated vs divorced by age; see
  ``age_crossings``). A published age band the eligible range cuts through is shared over
  its single years in proportion to the population at each age, and ``age_note`` says so.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eqia.agebands import DEFAULT_BANDS, AgeBand, parse_bands
from eqia.census.age_crossings import TOP, ages_mask, by_bands, crossing, cut_bands
from eqia.census.areas import (
    Area,
    find_area,
)
from eqia.census.tables import (
    SHIPPED_SOURCE,
    TS007_TOP,
    TableInfo,
    metadata,
    single_age,
    table_cells,
)
from eqia.errors import UsageError
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; importlib.abc has it on 3.10
    pass


# --------------------------------------------------------------------------- areas


# --------------------------------------------------------------------------- tables


# ------------------------------------------------------------------------- baselines


@dataclass
class Baseline:
    """A population's profile for one characteristic (see the module docstring)."""

    area: Area | None
    characteristic: str
    table: str | None
    base: str | None
    counts: pd.DataFrame
    unknown: int = 0
    total: int = 0
    caveats: list[str] = field(default_factory=list)
    age_note: str | None = None
    age_restricted: bool = False
    ages: AgeBand | None = None
    available: bool = True
    reason: str | None = None
    source: str = SHIPPED_SOURCE
    title: str | None = None
    release: str | None = None
    unknown_label: str | None = None
    #: Categories whose counts are estimates (empty: every count is published).
    estimated: frozenset[str] = frozenset()
    #: How an age crossing was made, where one was used (for a note).
    method: str | None = None

    @property
    def name(self) -> str:
        return chars.display_name(self.characteristic)

    @property
    def known(self) -> int:
        return int(self.counts["count"].sum()) if len(self.counts) else 0


def characteristic_keys() -> list[str]:
    """Every key ``baseline`` accepts, in screening-grid order."""
    return chars.all_keys()


def _check_key(key: str) -> chars.Characteristic:
    valid = characteristic_keys()
    if key not in valid:
        close = difflib.get_close_matches(str(key), valid, n=3, cutoff=0.5)
        raise UsageError(
            f"'{key}' is not a characteristic eqia knows",
            code="unknown-characteristic",
            details=[f"did you mean {c}?" for c in close],
            hint=f"Use one of: {', '.join(valid)}.",
        )
    return chars.get("ethnicity" if key == ETHNICITY_DETAILED else key)


def _frame(categories: list[str], counts: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame({"category": categories, "count": counts})
    known = frame["count"].sum()
    frame["share"] = frame["count"] / known if known else float("nan")
    if frame["count"].notna().all():
        frame["count"] = frame["count"].astype("int64")
    return frame


def _ages_text(ages: AgeBand) -> str:
    if ages.hi is None:
        return f"aged {ages.lo} and over"
    if ages.lo == ages.hi:
        return f"aged {ages.lo}"
    return f"aged {ages.lo} to {ages.hi}"


def _in_range(age: int, top: int, ages: AgeBand | None) -> bool:
    """Whether single-year cell ``age`` (``top`` = 'top and over') falls in ``ages``."""
    if ages is None:
        return True
    if age == top:  # the open top cell counts when the range reaches into it
        return ages.hi is None or ages.hi >= top
    return ages.contains(age)


def _caveats(info: TableInfo, area: Area, source: str, baseline_dir) -> list[str]:
    """The table's caveats, the shipped copy's own gaps where they apply, and boundary
    changes since 2021 for the area."""
    out = list(info.caveats)
    if source == SHIPPED_SOURCE:
        above = area.type not in ("ltla", "utla") or (
            area.type == "utla" and "ltla" not in area.types
        )
        out += [text for level, text in info.data_gaps if level == "ltla" or above]
    reorg = metadata().reorganised_2023
    out += [reorg[c] for c in (area.code, area.utla_code) if c in reorg]
    return out


def baseline(
    area: Area | str,
    characteristic_key: str,
    ages: AgeBand | None = None,
    bands: list[AgeBand] | None = None,
    *,
    baseline_dir: str | Path | None = None,
) -> Baseline:
    """The census population of ``area`` for one characteristic.

    ``ages`` restricts the population to an eligible age range where the census
    crosses the characteristic with age (age from TS007, sex from TS009, ethnic group,
    religion and legal partnership status from ``age_crossings``); otherwise the
    table's own base is used and ``age_note`` says so. ``bands`` (age
    only) are the age categories; default ``agebands.DEFAULT_BANDS``.
    """
    char = _check_key(characteristic_key)
    area_obj = area if isinstance(area, Area) else find_area(area, baseline_dir=baseline_dir)
    if char.census_table is None:
        return Baseline(
            area=area_obj, characteristic=characteristic_key, table=None, base=None,
            counts=_frame([], []), available=False, ages=ages,
            reason=f"Census 2021 does not measure {char.name.lower()}, so there is no census "
            "baseline. If you have a local comparison (for example from a needs assessment "
            "or births data), give it as a comparator file.",
            source="",
        )
    if characteristic_key == "age":
        return _age_baseline(area_obj, ages, bands, baseline_dir)
    if ages is not None:

        crossed = crossing(area_obj, characteristic_key, baseline_dir=baseline_dir)
        if crossed is not None:
            return _crossed_baseline(area_obj, ages, crossed, baseline_dir)

    info = metadata().tables[char.census_table]
    cells, source = table_cells(area_obj, info.key, baseline_dir=baseline_dir)
    if characteristic_key == "ethnicity":
        labels = [g.label for g in char.groups]
        values = [
            sum(int(cells.get(leaf, 0)) for c in char.categories if c.group == g.label
                for leaf in c.census or ())
            for g in char.groups
        ]
    else:
        census_cats = [c for c in char.categories if c.in_census]
        labels = [c.label for c in census_cats]
        values = [sum(int(cells.get(leaf, 0)) for leaf in c.census or ()) for c in census_cats]
    unknown = int(cells.get(info.not_answered, 0)) if info.not_answered else 0
    total = int(cells.reindex(list(info.leaves)).fillna(0).sum())
    age_note, restricted = None, False
    if ages is not None:
        restricted, age_note = _unrestricted_note(info, ages)
    return Baseline(
        area=area_obj, characteristic=characteristic_key, table=info.id, base=info.base,
        counts=_frame(labels, values), unknown=unknown, total=total,
        caveats=_caveats(info, area_obj, source, baseline_dir),
        age_note=age_note, age_restricted=restricted, ages=ages, source=source,
        title=info.title, release=info.release, unknown_label=info.not_answered,
    )


def _unrestricted_note(info: TableInfo, ages: AgeBand) -> tuple[bool, str | None]:
    """(age_restricted, note) for a table with no age breakdown."""
    base_lo = info.base_min_age
    if base_lo and ages.lo == base_lo and ages.hi is None:
        return True, None  # the table's base is exactly the range asked for
    lead = f"{info.title} is not available by age in the reference data:"
    if not base_lo:
        return False, f"{lead} the baseline covers all ages."
    if ages.lo >= base_lo:
        return False, (
            f"{lead} the baseline covers {info.base}, which is close to but not the same as "
            f"people {_ages_text(ages)}."
        )
    return False, (
        f"{lead} the baseline covers {info.base} (the census asked only them), not people "
        f"{_ages_text(ages)}."
    )


def _band_for(age: int, bands: list[AgeBand]) -> AgeBand | None:
    for band in bands:
        if band.contains(age):
            return band
    return None


def _age_baseline(
    area: Area, ages: AgeBand | None, bands: list[AgeBand] | None, baseline_dir
) -> Baseline:
    info = metadata().tables["ts007"]
    cells, source = table_cells(area, "ts007", baseline_dir=baseline_dir)
    bands = list(bands) if bands is not None else parse_bands(DEFAULT_BANDS)
    by_age = {single_age(leaf): int(cells.get(leaf, 0)) for leaf in info.leaves}
    in_range = {a: n for a, n in by_age.items() if _in_range(a, TS007_TOP, ages)}
    totals: dict[AgeBand, int] = {}
    for age, n in in_range.items():
        band = _band_for(age, bands)
        if band is not None:
            totals[band] = totals.get(band, 0) + n
    kept = [b for b in bands if b in totals]
    notes = []
    outside = sum(n for a, n in in_range.items() if _band_for(a, bands) is None)
    if outside:
        notes.append(f"{outside:,} residents whose age falls in none of the bands are left out.")
    restricted = ages is not None
    base = info.base if ages is None else f"usual residents {_ages_text(ages)}"
    return Baseline(
        area=area, characteristic="age", table=info.id, base=base,
        counts=_frame([b.label for b in kept], [totals[b] for b in kept]),
        unknown=0, total=sum(in_range.values()),
        caveats=_caveats(info, area, source, baseline_dir),
        age_note=" ".join(notes) or None, age_restricted=restricted, ages=ages,
        source=source, title=info.title, release=info.release,
    )


def _crossed_baseline(area: Area, ages: AgeBand, crossed, baseline_dir) -> Baseline:
    """The eligible-age population from an age crossing (``age_crossings.Crossing``)."""

    key = crossed.key
    char = chars.get("ethnicity" if key == ETHNICITY_DETAILED else key)
    info = metadata().tables[char.census_table]
    _, source = table_cells(area, info.key, baseline_dir=baseline_dir)
    notes = []
    eligible = ages
    if ages.lo < crossed.min_age:
        if ages.hi is not None and ages.hi < crossed.min_age:
            return Baseline(
                area=area, characteristic=key, table=crossed.table, base=None,
                counts=_frame([], []), available=False, ages=ages, source=source,
                reason=f"The census asked about {char.name.lower()} only of people aged "
                f"{crossed.min_age} and over, so there is no population {_ages_text(ages)} "
                "to compare with.")
        eligible = AgeBand(crossed.min_age, ages.hi)
        notes.append(f"The census asked about {char.name.lower()} only of people aged "
                     f"{crossed.min_age} and over, so the baseline is people "
                     f"{_ages_text(eligible)}, not {_ages_text(ages)}.")
    mask = ages_mask(eligible)
    values = crossed.counts[mask].sum()
    labels = ([g.label for g in char.groups] if key == "ethnicity"
              else [c.label for c in char.categories if c.in_census])
    values = values.reindex(labels).fillna(0.0).to_numpy(dtype=float)
    cut = cut_bands(crossed, eligible)
    if eligible.lo > TOP or (eligible.hi is not None and eligible.hi >= TOP):
        notes.append(f"The census counts {crossed.title.lower()} only up to {TOP} and over, "
                     f"so everyone aged {TOP} and over is included: the baseline is close to "
                     f"but not the same as people {_ages_text(eligible)}.")
    elif cut:
        bands = ", ".join(b.label for b in cut)
        notes.append(f"The census publishes {crossed.title[:1].lower() + crossed.title[1:]} "
                     f"in age bands, and the ages {eligible} cut through the band"
                     f"{'s' if len(cut) > 1 else ''} {bands}: its mix is used for the ages "
                     "inside the range.")
    known = values.sum()
    frame = pd.DataFrame({"category": labels, "count": np.round(values).astype("int64"),
                          "share": values / known if known else float("nan")})
    unknown = int(round(float(crossed.unknown[mask].sum())))
    # The table's note on its own base ("The base is usual residents aged 16 and over...")
    # is about a population this baseline replaces: left out.
    caveats = [c for c in _caveats(info, area, source, baseline_dir)
               if not c.startswith("The base is")]
    caveats = list(dict.fromkeys([*caveats, *crossed.caveats]))
    return Baseline(
        area=area, characteristic=key, table=crossed.table,
        base=f"usual residents {_ages_text(eligible)}", counts=frame, unknown=unknown,
        total=int(frame["count"].sum()) + unknown, caveats=caveats,
        age_note=" ".join(notes) or None, age_restricted=True, ages=ages, source=source,
        title=crossed.title, release=info.release,
        unknown_label=info.not_answered if crossed.unknown.sum() else None,
        estimated=crossed.estimated, method=crossed.method,
    )


def baseline_by_age(
    area: Area | str,
    characteristic_key: str,
    bands: list[AgeBand],
    *,
    baseline_dir: str | Path | None = None,
) -> pd.DataFrame | None:
    """``age_band, category, count`` for the area, or ``None`` where the census has no
    age breakdown for the characteristic (see ``age_crossings``).

    For indirect standardisation: E_g = sum over bands of service_known_in_band x
    area_share_of_g_in_band. The crossings stop at "90 and over": that cell goes to the
    band holding 90, and bands wholly above 90 are left out (so a caller sees a band
    with no population rather than a wrong one).
    """
    _check_key(characteristic_key)
    area_obj = area if isinstance(area, Area) else find_area(area, baseline_dir=baseline_dir)
    bands = list(bands)
    if characteristic_key != "age":

        crossed = crossing(area_obj, characteristic_key, baseline_dir=baseline_dir)
        return None if crossed is None else by_bands(crossed, bands)
    rows: dict[str, int] = {}
    info = metadata().tables["ts007"]
    cells, _ = table_cells(area_obj, "ts007", baseline_dir=baseline_dir)
    for leaf in info.leaves:
        band = _band_for(single_age(leaf), bands)
        if band is not None:
            rows[band.label] = rows.get(band.label, 0) + int(cells.get(leaf, 0))
    return pd.DataFrame([(b.label, b.label, rows[b.label]) for b in bands if b.label in rows],
                        columns=["age_band", "category", "count"])


# ---------------------------------------------------------------- user comparators


# ------------------------------------------------------------------- Nomis imports


# ------------------------------------------------------------------- whole profile

PROFILE_COLUMNS = ["characteristic", "category", "count", "share", "estimated"]


def area_profile(
    area: Area | str,
    characteristic_keys: Iterable[str] | None = None,
    ages: AgeBand | None = None,
    bands: list[AgeBand] | None = None,
    *,
    baseline_dir: str | Path | None = None,
) -> list[Baseline]:
    """Baselines for every characteristic (or those named), in screening-grid order."""
    area_obj = area if isinstance(area, Area) else find_area(area, baseline_dir=baseline_dir)
    wanted = list(characteristic_keys) if characteristic_keys else _all_keys()
    return [
        baseline(area_obj, key, ages=ages, bands=bands if key == "age" else None,
                 baseline_dir=baseline_dir)
        for key in wanted
    ]


def _all_keys() -> list[str]:
    return characteristic_keys()


def profile_table(baselines: Iterable[Baseline]) -> pd.DataFrame:
    """``characteristic, category, count, share, estimated`` for baselines, one row per
    category (``estimated``: the count is an estimate, see ``Baseline.estimated``).

    A "Not answered" row (share empty) follows the categories of tables that have one,
    so each characteristic's counts add up to its table total. Characteristics with no
    census baseline have no rows.
    """
    frames = []
    for b in baselines:
        if not b.available:
            continue
        frame = b.counts.assign(characteristic=b.characteristic,
                                estimated=b.counts["category"].isin(b.estimated))
        if b.unknown_label:
            frame = pd.concat([frame, pd.DataFrame([{
                "characteristic": b.characteristic, "category": b.unknown_label,
                "count": b.unknown, "share": float("nan"),
                "estimated": bool(b.estimated)}])], ignore_index=True)
        frames.append(frame[PROFILE_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    return pd.concat(frames, ignore_index=True)

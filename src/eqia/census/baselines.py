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
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from eqia.agebands import DEFAULT_BANDS, AgeBand, parse_band, parse_bands
from eqia.errors import AreaError, InputError, UsageError
from eqia.outputs import atomic_write, output_folder, write_text
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED, normalise
from eqia.settings.yamlfile import safe_load

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; importlib.abc has it on 3.10
    from importlib.abc import Traversable

ENV_BASELINE_DIR = "EQIA_BASELINE_DIR"
SHIPPED_SOURCE = "Census 2021 reference data shipped with eqia (ONS, Open Government Licence)"

#: Geography types, lowest tier first. An area that is several types is reported as
#: its highest (a unitary authority is a ``utla``; Wales is a ``country``).
AREA_TYPES = ("ltla", "utla", "region", "country", "england_and_wales")
TYPE_TEXT = {
    "ltla": "district (lower-tier local authority)",
    "utla": "county (upper-tier local authority)",
    "unitary": "unitary authority (both tiers)",
    "region": "region",
    "country": "country",
    "england_and_wales": "England and Wales",
}

AREA_COLUMNS = [
    "code", "name", "type", "nomis_name", "utla_code", "utla_name", "region_code",
    "region_name", "country_code", "country_name",
]
TABLE_COLUMNS = ["geography_code", "category", "count"]

TS007_TOP = 100  # TS007 counts people aged 100 and over together


# --------------------------------------------------------------------------- areas


@dataclass(frozen=True)
class Area:
    """A Census 2021 geography. ``types`` lists every type it is (a unitary: ltla, utla)."""

    code: str
    name: str
    type: str
    types: tuple[str, ...] = ()
    utla: str | None = None
    region: str | None = None
    country: str | None = None
    utla_code: str | None = None

    @property
    def kind(self) -> str:
        """Plain words for the type, e.g. 'county (upper-tier local authority)'."""
        if {"ltla", "utla"} <= set(self.types):
            return TYPE_TEXT["unitary"]
        return TYPE_TEXT[self.type]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"

    def __str__(self) -> str:
        return self.label


def reference_dir() -> Traversable:
    """The shipped reference data (``eqia/reference_data`` inside the installed package)."""
    return files("eqia") / "reference_data"


def default_baseline_dir() -> Path:
    """Where imported user baselines live: ``$EQIA_BASELINE_DIR`` or ~/.config/eqia/baselines."""
    env = os.environ.get(ENV_BASELINE_DIR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".config" / "eqia" / "baselines"


def _user_dir(baseline_dir: str | Path | None) -> Path:
    return Path(baseline_dir).expanduser() if baseline_dir is not None else default_baseline_dir()


@lru_cache(maxsize=1)
def _shipped_areas() -> pd.DataFrame:
    with (reference_dir() / "areas.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


def _all_areas(baseline_dir: str | Path | None = None) -> pd.DataFrame:
    """Shipped areas plus any a user import added (e.g. councils created in 2023)."""
    return _index(_areas_key(baseline_dir)).frame


def _areas_key(baseline_dir: str | Path | None) -> tuple[str, int] | None:
    path = _user_dir(baseline_dir) / "areas.csv"
    return (str(path), path.stat().st_mtime_ns) if path.is_file() else None


@dataclass(frozen=True)
class _AreaIndex:
    frame: pd.DataFrame
    by_code: dict[str, Area]
    full: dict[str, list[str]]  # normalised name (or Nomis name) -> codes
    loose: dict[str, list[str]]  # the same without council words -> codes


@lru_cache(maxsize=8)
def _index(key: tuple[str, int] | None) -> _AreaIndex:
    frame = _shipped_areas()
    if key is not None:
        user = pd.read_csv(key[0], dtype=str, keep_default_na=False)
        frame = pd.concat([frame, user], ignore_index=True).drop_duplicates(
            ["code", "type"], keep="first"
        )
    by_code = {code.upper(): _area_from_rows(rows) for code, rows in
               frame.groupby("code", sort=False)}
    full: dict[str, list[str]] = {}
    loose: dict[str, list[str]] = {}
    for row in frame.drop_duplicates("code").itertuples(index=False):
        for name in filter(None, (row.name, row.nomis_name)):
            full.setdefault(_full(name), []).append(row.code)
            loose.setdefault(_stripped(name), []).append(row.code)
    return _AreaIndex(frame, by_code, full, loose)


def _area_from_rows(rows: pd.DataFrame) -> Area:
    types = tuple(t for t in AREA_TYPES if t in set(rows["type"]))
    top = rows.set_index("type").loc[types[-1]]
    low = rows.set_index("type").loc[types[0]]
    return Area(
        code=str(top["code"]),
        name=str(top["name"]),
        type=types[-1],
        types=types,
        utla=(low["utla_name"] or None) if low["utla_code"] not in ("", low["code"]) else None,
        region=(low["region_name"] or None) if low["region_code"] != low["code"] else None,
        country=(low["country_name"] or None) if low["country_code"] != low["code"] else None,
        utla_code=(low["utla_code"] or None) if low["utla_code"] not in ("", low["code"]) else None,
    )


_FILLERS = re.compile(
    r"\b(london borough of|royal borough of|metropolitan borough of|county borough of|"
    r"borough of|city and county of|city of|county of|council|county|borough|district|"
    r"metropolitan|city|royal|unitary|authority|corporation|the|of)\b"
)


def _stripped(text: str) -> str:
    t = normalise(str(text).replace("&", " and "))
    return re.sub(r"\s+", " ", _FILLERS.sub(" ", t)).strip()


def _full(text: str) -> str:
    return normalise(str(text).replace("&", " and "))


def find_area(text: str, *, baseline_dir: str | Path | None = None) -> Area:
    """The area an officer means: by ONS code or by name, however it is spelt.

    Case, punctuation and words such as "council", "county", "borough", "district",
    "city of" and "metropolitan" are ignored; Nomis spellings ("East", "Rhondda Cynon
    Taff") work too. An exact name wins over a looser match ("London" is the region,
    "City of London" the borough), then a part of a name in whole words ("Hull").
    Unknown or ambiguous names raise ``AreaError`` with
    the closest names in ``details``.
    """
    index = _index(_areas_key(baseline_dir))
    query = str(text).strip()
    if not query:
        raise AreaError("No area given", code="unknown-area",
                        hint="Give a name or ONS code, e.g. Kent or E10000016.")
    if query.upper() in index.by_code:
        return index.by_code[query.upper()]
    codes = index.full.get(_full(query)) or index.loose.get(_stripped(query) or "-") or []
    if not codes and _stripped(query):
        # Part of a name, in whole words: "Hull", "Sussex" (East and West: ambiguous).
        words = f" {_stripped(query)} "
        codes = [c for key, cs in index.loose.items() if words in f" {key} " for c in cs]
    codes = list(dict.fromkeys(codes))
    if len(codes) == 1:
        return index.by_code[codes[0].upper()]
    if len(codes) > 1:
        found = [index.by_code[c.upper()] for c in codes]
        raise AreaError(
            f"'{query}' could mean {len(codes)} areas",
            code="ambiguous-area",
            details=[f"{a.label}: {a.kind}" for a in found[:12]]
            + ([f"and {len(found) - 12} more"] if len(found) > 12 else []),
            hint="Give the full name or the ONS code of the one you mean.",
        )
    raise AreaError(
        f"No Census 2021 area is called '{query}'",
        code="unknown-area",
        details=_close_matches(query, index),
        hint="Give a name as ONS spells it or an ONS code (e.g. E10000016); "
        "`eqia baselines list` lists every area.",
    )


def _close_matches(query: str, index: _AreaIndex) -> list[str]:
    close = difflib.get_close_matches(_stripped(query) or _full(query), list(index.loose), n=5,
                                      cutoff=0.6)
    out = []
    for key in close:
        for code in index.loose[key]:
            area = index.by_code[code.upper()]
            out.append(f"did you mean {area.name} ({area.code}, {area.kind})?")
    return out


def list_areas(type: str | None = None, *, baseline_dir: str | Path | None = None) -> pd.DataFrame:
    """Areas with a baseline: ``code, name, type, utla, region, country`` (parents' names).

    With ``type`` (ltla, utla, region, country, england_and_wales) every area of that
    type is listed, e.g. the 331 districts of 2021 for ``ltla`` (unitaries included).
    Without it, each area appears once, as its highest type.
    """
    areas = _all_areas(baseline_dir)
    if type is not None:
        if type not in AREA_TYPES:
            raise UsageError(
                f"'{type}' is not an area type",
                code="bad-area-type",
                hint=f"Use one of: {', '.join(AREA_TYPES)}.",
            )
        rows = areas[areas["type"] == type]
    else:
        rank = areas["type"].map(AREA_TYPES.index)
        rows = areas.assign(_rank=rank).sort_values("_rank", kind="stable")
        rows = rows.drop_duplicates("code", keep="last").drop(columns="_rank")
        rows = rows.assign(_rank=rows["type"].map(AREA_TYPES.index))
        rows = rows.sort_values("_rank", kind="stable").drop(columns="_rank")

    def parent(code_col: str, name_col: str) -> pd.Series:
        return rows[name_col].where(rows[code_col] != rows["code"], "")

    out = pd.DataFrame({
        "code": rows["code"],
        "name": rows["name"],
        "type": rows["type"],
        "utla": parent("utla_code", "utla_name"),
        "region": parent("region_code", "region_name"),
        "country": parent("country_code", "country_name"),
    })
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class TableInfo:
    """One census table, as ``metadata.yaml`` describes it."""

    key: str  # "ts021"
    id: str  # "TS021"
    title: str
    base: str
    release: str
    source: str
    total: str
    leaves: tuple[str, ...]
    caveats: tuple[str, ...]
    not_answered: str | None = None
    file: str = ""
    data_gaps: tuple[tuple[str, str], ...] = ()  # (ltla | above_ltla, caveat) for shipped data

    @property
    def base_min_age(self) -> int:
        """The youngest age in the base (16 for "usual residents aged 16 and over")."""
        m = re.search(r"aged (\d+) and over", self.base)
        return int(m.group(1)) if m else 0

    @property
    def categories(self) -> tuple[str, ...]:
        return (self.total, *self.leaves)


@dataclass(frozen=True)
class Metadata:
    tables: dict[str, TableInfo]
    reorganised_2023: dict[str, str]
    licence: str


@lru_cache(maxsize=1)
def metadata() -> Metadata:
    """The shipped ``metadata.yaml``, loaded once."""
    raw = safe_load((reference_dir() / "metadata.yaml").read_text(encoding="utf-8"))
    tables = {
        key: TableInfo(
            key=key, id=t["id"], title=t["title"], base=t["base"], release=t["release"],
            source=t["source"], total=t["total"], leaves=tuple(t["leaves"]),
            caveats=tuple(t.get("caveats") or ()), not_answered=t.get("not_answered"),
            file=t["file"], data_gaps=tuple((t.get("data_gaps") or {}).items()),
        )
        for key, t in raw["tables"].items()
    }
    return Metadata(tables=tables, reorganised_2023=dict(raw.get("reorganised_2023") or {}),
                    licence=raw.get("licence", ""))


@lru_cache(maxsize=16)
def _shipped_table(key: str) -> dict[str, pd.Series]:
    info = metadata().tables[key]
    with (reference_dir() / info.file).open("rb") as fh:
        frame = pd.read_parquet(fh)
    return _indexed(frame)


def _indexed(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """geography code -> that area's cells (category -> count)."""
    frame = frame.astype({"geography_code": str, "category": str, "count": "int64"})
    frame = frame.drop_duplicates(["geography_code", "category"], keep="last")
    # One cell per (area, category) after the de-duplication, so each area's rows are its cells
    # as they stand: split the sorted columns instead of a groupby-sum per area (6x faster).
    frame = frame.sort_values("geography_code", kind="stable")
    codes = frame["geography_code"].to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    bounds = np.r_[starts, len(codes)]
    categories = frame["category"].to_numpy()
    counts = frame["count"].to_numpy()
    return {
        codes[a]: pd.Series(counts[a:b], index=pd.Index(categories[a:b], name="category"),
                            name="count")
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    }


@lru_cache(maxsize=32)
def _read_user_table(path: str, _mtime: int) -> dict[str, pd.Series]:
    return _indexed(pd.read_parquet(path))


def _user_table(user_dir: Path, key: str) -> dict[str, pd.Series] | None:
    path = user_dir / f"{key}.parquet"
    if not path.is_file():
        return None
    return _read_user_table(str(path), path.stat().st_mtime_ns)


def _user_sources(user_dir: Path) -> dict:
    path = user_dir / "metadata.yaml"
    if not path.is_file():
        return {}
    return (safe_load(path.read_text(encoding="utf-8")) or {}).get("tables", {})


def table_cells(
    area: Area | str, table: str, *, baseline_dir: str | Path | None = None
) -> tuple[pd.Series, str]:
    """One table's cells for one area (category -> count) and where they came from.

    A user-imported table that holds the area wins over the shipped one.
    """
    key = table.lower()
    if key not in metadata().tables:
        raise UsageError(f"Table '{table}' is not in the reference data", code="unknown-table",
                         hint=f"Tables: {', '.join(t.upper() for t in metadata().tables)}.")
    area_obj = area if isinstance(area, Area) else find_area(area, baseline_dir=baseline_dir)
    user_dir = _user_dir(baseline_dir)
    user = _user_table(user_dir, key)
    if user is not None and area_obj.code in user:
        cells = user[area_obj.code]
        note = _user_sources(user_dir).get(key, {}).get(area_obj.code) or str(user_dir)
        source = f"your imported baseline ({note})"
    else:
        shipped = _shipped_table(key)
        if area_obj.code not in shipped:
            raise AreaError(
                f"No {key.upper()} counts for {area_obj.label}",
                code="no-baseline-data",
                hint="Import the Nomis table for this area with `eqia baselines import`.",
            )
        cells = shipped[area_obj.code]
        source = SHIPPED_SOURCE
    return cells, source


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


def single_age(label: str) -> int:
    """'Aged under 1 year' -> 0, 'Aged 30 years' -> 30, 'Aged 90 years and over' -> 90."""
    if "under 1" in label:
        return 0
    m = re.search(r"(\d+)", label)
    if m is None:
        raise ValueError(label)
    return int(m.group(1))


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
        from eqia.census.age_crossings import crossing

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
    from eqia.census.age_crossings import TOP, ages_mask, cut_bands

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
        from eqia.census.age_crossings import by_bands, crossing

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


def _read_csv(path: Path, what: str, hint: str) -> pd.DataFrame:
    """A small CSV people supply (a comparator, a Nomis table), every cell as text."""
    if not path.is_file():
        raise InputError(f"{what} not found", code="missing-file", file=str(path),
                         hint="Check the path.")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{what} is not a readable CSV", code="unreadable-file",
                         file=str(path), hint=hint) from exc


def comparator_from_file(path: str | Path, characteristic_key: str) -> Baseline:
    """A non-census comparator population from a CSV of ``category,count`` or
    ``category,share`` (e.g. the eligible population in a needs assessment).

    Categories must be eqia's standard categories (case and punctuation do not matter;
    for ethnicity, the 5 groups or the 19 detailed categories; for age, band labels).
    "Not stated"/"Unknown" rows are counted as unknown. Categories the file leaves out
    count as 0. With shares only, ``count`` is NaN and ``total`` is 0.
    """
    char = _check_key(characteristic_key)
    path = Path(path)
    raw = _read_csv(path, "Comparator file", hint="Save it as CSV (UTF-8).")
    columns = {normalise(c): c for c in raw.columns}
    value_col = next((columns[c] for c in ("count", "share") if c in columns), None)
    if "category" not in columns or value_col is None:
        raise InputError(
            "A comparator file needs a 'category' column and a 'count' or 'share' column",
            code="missing-column", file=str(path),
            hint="Write it as: category,count (or category,share), one category a row.",
        )
    kind = normalise(value_col)
    cat_col = columns["category"]

    if characteristic_key == "age":
        allowed: dict[str, str] = {}
        for value in raw[cat_col]:
            band = parse_band(value)
            if band is not None:
                allowed[normalise(value)] = band.label
        standard = list(dict.fromkeys(allowed.values()))
        groups: dict[str, str] = {}
    elif characteristic_key == "ethnicity":
        standard = [g.label for g in char.groups]
        allowed = {normalise(label): label for label in standard}
        groups = {normalise(c.label): c.group for c in char.categories if c.group}
    else:
        standard = [c.label for c in char.categories if c.in_census or not char.census_table]
        allowed = {normalise(label): label for label in standard}
        groups = {}
    unknown_words = {w for values in chars.vocabulary().unknowns.values() for w in values}
    unknown_words |= {"not answered", "unknown"}

    values: dict[str, float] = dict.fromkeys(standard, 0.0)
    unknown = 0.0
    bad: list[str] = []
    for i, (cat, value) in enumerate(zip(raw[cat_col], raw[value_col], strict=True), start=2):
        try:
            number = float(str(value).replace(",", "").replace("%", "").strip())
        except ValueError:
            raise InputError(f"'{value}' is not a number", code="bad-number", file=str(path),
                             row=i, column=value_col,
                             hint=f"Give each {kind} as a number.") from None
        key = normalise(cat)
        if key in allowed:
            values[allowed[key]] += number
        elif key in groups:
            values[groups[key]] += number
        elif key in unknown_words:
            unknown += number
        else:
            bad.append(str(cat))
    if bad:
        raise InputError(
            f"{len(bad)} categor{'y is' if len(bad) == 1 else 'ies are'} not standard "
            f"{chars.display_name(characteristic_key).lower()} categories",
            code="unknown-category", file=str(path), column=cat_col,
            details=[f"'{b}'" for b in bad[:10]],
            hint="Use these categories: " + "; ".join(standard) if standard
            else "Use age bands such as 0-17, 18-64, 65+.",
        )
    missing = [c for c in standard if c not in set(allowed.values()) | set(groups.values())
               or values[c] == 0]
    caveats = [f"Comparator population from {path.name}, not the census."]
    if kind == "share":
        total_share = sum(values.values())
        if total_share > 1.5:  # percentages
            values = {k: v / 100 for k, v in values.items()}
            total_share /= 100
        if abs(total_share - 1) > 0.02:
            raise InputError(
                f"The shares add up to {total_share:.3f}, not 1",
                code="bad-shares", file=str(path), column=value_col,
                hint="Give shares of the known population that add up to 1 (or 100%).",
            )
        frame = pd.DataFrame({"category": list(values), "count": float("nan"),
                              "share": [v / total_share for v in values.values()]})
        caveats.append("The file gives shares only, so the population's size is not known.")
        unknown_count, total = 0, 0
    else:
        frame = _frame(list(values), [int(round(v)) for v in values.values()])
        unknown_count = int(round(unknown))
        total = int(frame["count"].sum()) + unknown_count
    if missing and characteristic_key != "age":
        caveats.append("Not in the file, taken as 0: " + "; ".join(missing) + ".")
    return Baseline(
        area=None, characteristic=characteristic_key, table=None,
        base=f"comparator population ({path.name})", counts=frame, unknown=unknown_count,
        total=total, caveats=caveats, source=str(path), title=path.stem,
    )


# ------------------------------------------------------------------- Nomis imports

_NOMIS_FILE = re.compile(r"census2021-(ts\d{3}[a-z]?)(?:-([a-z]+))?", re.IGNORECASE)
_NOMIS_LEVEL = {"ltla": "ltla", "utla": "utla", "rgn": "region", "ctry": "country"}
_MEASURES = re.compile(r";\s*measures:\s*value\s*$", re.IGNORECASE)
_CODE_TYPES = {
    "E06": ("ltla", "utla"), "E07": ("ltla",), "E08": ("ltla", "utla"), "E09": ("ltla", "utla"),
    "W06": ("ltla", "utla"), "E10": ("utla",), "E11": ("utla",), "E13": ("utla",),
    "E12": ("region",), "E92": ("country",), "W92": ("region", "country"),
    "K04": ("england_and_wales",),
}


@dataclass
class ImportResult:
    """What ``import_nomis`` did with one file."""

    file: str
    table: str
    title: str
    areas: int
    new_areas: list[str]
    ignored_columns: list[str]
    directory: str


def clean_labels(columns: Iterable[str]) -> list[str]:
    """Nomis headings to ONS category labels: drop "; measures: Value" and the variable
    prefix of each part ("Sex: Female; Age: Aged 30 years" -> "Female; Aged 30 years")."""
    parts = [_MEASURES.sub("", str(c).strip()).split("; ") for c in columns]
    width = max((len(p) for p in parts), default=0)
    for i in range(width):
        heads = {p[i].split(": ", 1)[0] if ": " in p[i] else None for p in parts if len(p) > i}
        if len(heads) == 1 and None not in heads and len(parts) > 1:
            for p in parts:
                if len(p) > i:
                    p[i] = p[i].split(": ", 1)[1]
    return ["; ".join(p) for p in parts]


def _identify_table(path: Path, labels: list[str]) -> TableInfo:
    tables = metadata().tables
    found = {normalise(label) for label in labels}
    m = _NOMIS_FILE.search(path.name)
    if m:
        key = m.group(1).lower()
        if key not in tables:
            raise InputError(
                f"{key.upper()} is not one of the census tables eqia uses",
                code="not-a-census-table", file=str(path),
                hint=f"eqia uses {', '.join(t.upper() for t in tables)}.",
            )
        info = tables[key]
        missing = [leaf for leaf in info.leaves
                   if normalise(leaf) not in found and leaf != "Does not apply"]
        if missing:
            raise InputError(
                f"The columns are not those of Census 2021 {info.id} {info.title}: "
                f"{len(missing)} categories are missing",
                code="not-a-census-table", file=str(path),
                details=[f"'{c}'" for c in missing[:8]],
                hint="Import the Nomis bulk file as downloaded (census2021-tsNNN-ltla.csv).",
            )
        return info
    for info in tables.values():
        if all(normalise(leaf) in found for leaf in info.leaves if leaf != "Does not apply"):
            return info
    raise InputError(
        "The columns are not those of a Census 2021 table eqia uses",
        code="not-a-census-table", file=str(path),
        details=[f"'{c}'" for c in labels[:5]],
        hint="Import a Nomis bulk file as downloaded, e.g. census2021-ts021-ltla.csv "
        f"(tables: {', '.join(t.upper() for t in tables)}).",
    )


def read_nomis(path: str | Path) -> tuple[TableInfo, pd.DataFrame, pd.DataFrame]:
    """A Nomis/ONS bulk Census 2021 CSV as (table, long counts, areas).

    The long counts have the reference-data columns ``geography_code, category,
    count`` with the shipped table's category labels.
    """
    path = Path(path)
    raw = _read_csv(path, "File", hint="Import the Nomis bulk CSV as downloaded.")
    by_name = {normalise(c): c for c in raw.columns}
    needed = ["date", "geography", "geography code"]
    absent = [c for c in needed if c not in by_name]
    if absent:
        raise InputError(
            "The file is not a Nomis bulk Census 2021 table: no "
            + ", ".join(f"'{c}'" for c in absent) + " column",
            code="not-a-census-table", file=str(path),
            hint="Nomis bulk files start with the columns date, geography, geography code.",
        )
    id_cols = {by_name[c] for c in needed}
    value_cols = [c for c in raw.columns if c not in id_cols]
    labels = clean_labels(value_cols)
    info = _identify_table(path, labels)
    canonical = {normalise(c): c for c in info.categories}
    canonical.update({normalise(c): c for c in _shipped_categories(info.key)})
    keep = {col: canonical[normalise(lab)] for col, lab in zip(value_cols, labels, strict=True)
            if normalise(lab) in canonical}
    ignored = [c for c in value_cols if c not in keep]
    codes = raw[by_name["geography code"]].str.strip()
    wide = pd.DataFrame({"geography_code": codes})
    for col, label in keep.items():
        numbers = pd.to_numeric(raw[col].str.replace(",", "").str.strip(), errors="coerce")
        bad = numbers.isna() | (numbers < 0) | (numbers % 1 != 0)
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise InputError("A count is not a whole number", code="bad-count", file=str(path),
                             row=row, column=col, value=raw[col].iloc[row - 2],
                             hint="Import the file as Nomis published it.")
        wide[label] = numbers.astype("int64")
    if info.total not in wide:
        wide[info.total] = wide[[c for c in info.leaves if c in wide]].sum(axis=1)
    for leaf in info.leaves:
        if leaf not in wide:  # only "Does not apply" can be absent: always 0
            wide[leaf] = 0
    long = wide.melt(id_vars="geography_code", var_name="category", value_name="count")
    level = None
    m = _NOMIS_FILE.search(path.name)
    if m and m.group(2):
        level = _NOMIS_LEVEL.get(m.group(2).lower())
    areas = pd.DataFrame({"code": codes, "name": raw[by_name["geography"]].str.strip()})
    areas["level"] = level or ""
    ignored_labels = [lab for col, lab in zip(value_cols, labels, strict=True) if col in ignored]
    long.attrs["ignored"] = ignored_labels
    return info, long, areas


def _shipped_categories(key: str) -> list[str]:
    return list(next(iter(_shipped_table(key).values())).index)


def _new_area_rows(areas: pd.DataFrame) -> pd.DataFrame:
    """Rows for areas.csv for codes the shipped data does not know (e.g. 2023 councils)."""
    known = set(_shipped_areas()["code"])
    rows = []
    for a in areas.itertuples(index=False):
        if a.code in known:
            continue
        types = _CODE_TYPES.get(a.code[:3].upper(), (a.level or "ltla",))
        for t in types:
            row = dict.fromkeys(AREA_COLUMNS, "")
            row.update(code=a.code, name=a.name, type=t)
            rows.append(row)
    return pd.DataFrame(rows, columns=AREA_COLUMNS)


def import_nomis(
    paths: Iterable[str | Path], baseline_dir: str | Path | None = None
) -> list[ImportResult]:
    """Copy Nomis bulk Census 2021 CSVs into the user baseline directory.

    Rows for the same table and area replace earlier ones; every file is read and
    checked before anything is written, so a bad file leaves the directory unchanged.
    """
    user_dir = _user_dir(baseline_dir)
    parsed = [(Path(p), *read_nomis(p)) for p in paths]
    output_folder(user_dir)
    meta_path = user_dir / "metadata.yaml"
    meta = {}
    if meta_path.is_file():
        meta = safe_load(meta_path.read_text(encoding="utf-8")) or {}
    sources = meta.setdefault("tables", {})
    results = []
    for path, info, long, areas in parsed:
        ignored = list(long.attrs.get("ignored", []))
        target = user_dir / f"{info.key}.parquet"
        if target.is_file():
            old = pd.read_parquet(target)
            old = old[~old["geography_code"].astype(str).isin(set(long["geography_code"]))]
            long = pd.concat([old.astype({"geography_code": str, "category": str}), long],
                             ignore_index=True)
        table = long[TABLE_COLUMNS]
        atomic_write(target, lambda p, table=table: table.to_parquet(p, index=False))
        new = _new_area_rows(areas)
        areas_path = user_dir / "areas.csv"
        if areas_path.is_file():
            existing = pd.read_csv(areas_path, dtype=str, keep_default_na=False)
            new = pd.concat([existing, new], ignore_index=True).drop_duplicates(
                ["code", "type"], keep="last")
        if len(new):
            atomic_write(areas_path, lambda p, new=new: new[AREA_COLUMNS].to_csv(p, index=False))
        note = f"{path.name}, imported by you"
        sources.setdefault(info.key, {}).update(dict.fromkeys(areas["code"], note))
        results.append(ImportResult(
            file=str(path), table=info.id, title=info.title, areas=len(areas),
            new_areas=sorted(set(_new_area_rows(areas)["code"])),
            ignored_columns=ignored, directory=str(user_dir),
        ))
    write_text(meta_path,
               "# Census 2021 tables imported with `eqia baselines import`; area code -> file.\n"
               + yaml.safe_dump(meta, sort_keys=True, allow_unicode=True))
    return results


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

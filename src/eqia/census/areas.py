"""Census 2021 areas: the shipped geographies (and a user's imported ones), found by name or code.

A user baseline directory (``EQIA_BASELINE_DIR``, default ``~/.config/eqia/baselines``)
holds areas the user imported from Nomis, preferred area by area. Nothing here prints."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from eqia.errors import AreaError, UsageError
from eqia.settings.spelling import normalise

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; importlib.abc has it on 3.10
    from importlib.abc import Traversable

    import pandas as pd

ENV_BASELINE_DIR = "EQIA_BASELINE_DIR"


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
    import pandas as pd

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
    import pandas as pd

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
    import pandas as pd

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

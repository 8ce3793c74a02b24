"""Census 2021 tables: the shipped counts per area and category (and a user's imported ones).

The shipped counts live in the package's ``reference_data`` (built by
``scripts/build_reference_data.py``, described by its ``metadata.yaml``); tables a
user imported (``eqia.census.nomis``) are preferred table by table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from eqia.census.areas import (
    Area,
    _user_dir,
    find_area,
    reference_dir,
)
from eqia.errors import AreaError, UsageError
from eqia.settings.yamlfile import safe_load

SHIPPED_SOURCE = "Census 2021 reference data shipped with eqia (ONS, Open Government Licence)"


TABLE_COLUMNS = ["geography_code", "category", "count"]


TS007_TOP = 100  # TS007 counts people aged 100 and over together


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
    return Metadata(tables=tables, reorganised_2023=dict(raw.get("reorganised_2023") or {}))


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


def single_age(label: str) -> int:
    """'Aged under 1 year' -> 0, 'Aged 30 years' -> 30, 'Aged 90 years and over' -> 90."""
    if "under 1" in label:
        return 0
    m = re.search(r"(\d+)", label)
    if m is None:
        raise ValueError(label)
    return int(m.group(1))

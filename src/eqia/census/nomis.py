"""Nomis bulk CSVs of Census 2021 tables -> the user baseline directory, in the shipped layout."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from eqia.census.areas import (
    AREA_COLUMNS,
    _shipped_areas,
    _user_dir,
)
from eqia.census.tables import (
    TABLE_COLUMNS,
    TableInfo,
    _shipped_table,
    metadata,
)
from eqia.errors import InputError
from eqia.outputs import atomic_write, output_folder, write_text
from eqia.read.files import read_supplied_csv
from eqia.settings.characteristics import normalise
from eqia.settings.yamlfile import safe_load

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
    raw = read_supplied_csv(path, ("date", "geography", "geography code"),
                            hint="Import the Nomis bulk CSV as downloaded.").data
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

"""The protected characteristics, their standard categories and vocabularies.

Everything here comes from ``data/characteristics.yaml``; this module only turns it
into frozen objects and lookups. It never guesses: a value is either in the
vocabulary or it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

from eqia.settings import standard_codes
from eqia.settings.yamlfile import safe_load

#: The order used in every table and document (the order of a council screening grid).
ORDER = (
    "age",
    "disability",
    "sex",
    "gender_identity",
    "ethnicity",
    "religion",
    "sexual_orientation",
    "pregnancy_maternity",
    "marriage_civil_partnership",
    "carers",
)

#: The detailed ethnicity view is reported as its own characteristic key.
ETHNICITY_DETAILED = "ethnicity_detailed"

UNKNOWN_REASONS = ("not_stated", "not_known", "blank")


def normalise(value: object) -> str:
    """Fold case, punctuation and spacing so that local spellings compare equal."""
    text = str(value).strip().lower()
    text = text.replace("'", "").replace("\u2019", "")
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return text.strip()


@dataclass(frozen=True)
class Category:
    label: str
    census: tuple[str, ...] | None
    codes: tuple[str, ...] = ()
    group: str | None = None

    @property
    def in_census(self) -> bool:
        return self.census is not None


@dataclass(frozen=True)
class Characteristic:
    key: str
    name: str
    grid_label: str
    base: str | None
    census_table: str | None
    columns: tuple[str, ...]
    categories: tuple[Category, ...] = ()
    groups: tuple[Category, ...] = ()
    band_columns: tuple[str, ...] = ()
    dob_columns: tuple[str, ...] = ()
    unknown_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.categories]

    @property
    def has_baseline(self) -> bool:
        return self.census_table is not None

    def category(self, label: str) -> Category:
        for c in (*self.categories, *self.groups):
            if c.label == label:
                return c
        raise KeyError(label)


@dataclass(frozen=True)
class Vocabulary:
    characteristics: dict[str, Characteristic]
    unknowns: dict[str, tuple[str, ...]]
    id_columns: tuple[str, ...]
    service_columns: tuple[str, ...]
    period_columns: tuple[str, ...]

    def __getitem__(self, key: str) -> Characteristic:
        return self.characteristics[key]

    def __iter__(self):
        return iter(self.characteristics[k] for k in ORDER if k in self.characteristics)


def _category(raw: dict) -> Category:
    census = raw.get("census")
    return Category(
        label=str(raw["label"]),
        census=tuple(str(c) for c in census) if census is not None else None,
        codes=tuple(str(c) for c in raw.get("codes", []) or []),
        group=raw.get("group"),
    )


def _characteristic(key: str, raw: dict) -> Characteristic:
    return Characteristic(
        key=key,
        name=raw["name"],
        grid_label=raw["grid_label"],
        base=raw.get("base"),
        census_table=raw.get("census_table"),
        columns=tuple(raw.get("columns", [])),
        categories=tuple(_category(c) for c in raw.get("categories", []) or []),
        groups=tuple(_category({**g, "census": None}) for g in raw.get("groups", []) or []),
        band_columns=tuple(raw.get("band_columns", []) or []),
        dob_columns=tuple(raw.get("dob_columns", []) or []),
        unknown_codes={
            reason: tuple(str(v) for v in values)
            for reason, values in (raw.get("unknown_codes") or {}).items()
        },
    )


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The packaged vocabulary, loaded once."""
    text = files("eqia").joinpath("data/characteristics.yaml").read_text(encoding="utf-8")
    raw = safe_load(text)
    bodies = standard_codes.extend(raw["characteristics"], raw["unknowns"], normalise)
    chars = {key: _characteristic(key, body) for key, body in bodies.items()}
    return Vocabulary(
        characteristics=chars,
        unknowns={k: tuple(str(v) for v in vals) for k, vals in raw["unknowns"].items()},
        id_columns=tuple(raw.get("id_columns", [])),
        service_columns=tuple(raw.get("service_columns", [])),
        period_columns=tuple(raw.get("period_columns", [])),
    )


def get(key: str) -> Characteristic:
    return vocabulary()[key]


def keys() -> list[str]:
    return [k for k in ORDER if k in vocabulary().characteristics]


def display_name(key: str) -> str:
    if key == ETHNICITY_DETAILED:
        return "Ethnicity (detailed)"
    return vocabulary()[key].name

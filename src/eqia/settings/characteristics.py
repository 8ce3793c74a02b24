"""The registry of protected characteristics: their order, names, wording, categories and
vocabularies, all from ``data/characteristics.yaml``.

This module is the one place code asks "which characteristics, in what order, called
what": adding a characteristic is that file plus its census data. It only turns the file
into frozen objects and lookups, after checking it against ``SCHEMA``; it never guesses: a
value is either in the vocabulary or it is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

from eqia.errors import ErrorCode
from eqia.settings import standard_codes
from eqia.settings.schema import Checker, Fields, Flag, ListOf, MapOf, Text, python_values
from eqia.settings.spelling import normalise
from eqia.settings.yamlfile import safe_load

#: The detailed ethnicity view is reported as its own characteristic key.
ETHNICITY_DETAILED = "ethnicity_detailed"


@dataclass(frozen=True)
class Category:
    label: str
    census: tuple[str, ...] | None
    codes: tuple[str, ...] = ()
    group: str | None = None
    adverse: bool = True  # False: the complement of the protected group (see the YAML)

    @property
    def in_census(self) -> bool:
        return self.census is not None


@dataclass(frozen=True)
class Characteristic:
    key: str
    name: str
    grid_label: str
    short: str
    recorded: str  # fits "people whose ... is recorded"
    base: str | None
    census_table: str | None
    columns: tuple[str, ...]
    categories: tuple[Category, ...] = ()
    groups: tuple[Category, ...] = ()
    band_columns: tuple[str, ...] = ()
    dob_columns: tuple[str, ...] = ()
    unknown_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    age_crossing: str | None = None
    detail: View | None = None

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
class View:
    """A finer view of a characteristic reported as a characteristic of its own (the
    detailed ethnic groups): its own key and words, its parent's column and census data."""

    key: str
    name: str
    short: str
    recorded: str
    parent: str


@dataclass(frozen=True)
class Vocabulary:
    characteristics: dict[str, Characteristic]  # in the file's (screening-grid) order
    unknowns: dict[str, tuple[str, ...]]
    id_columns: tuple[str, ...]
    service_columns: tuple[str, ...]
    period_columns: tuple[str, ...]

    def __getitem__(self, key: str) -> Characteristic:
        return self.characteristics[key]

    def __iter__(self) -> Iterator[Characteristic]:
        return iter(self.characteristics.values())


_WORDS = ListOf(item=Text())
_CATEGORY = Fields(fields={"label": Text(empty_ok=False), "census": _WORDS, "codes": _WORDS,
                           "group": Text(), "adverse": Flag()},
                   required={"label": None})
_VIEW = Fields(fields={"key": Text(), "name": Text(), "short": Text(), "recorded": Text()},
               required=dict.fromkeys(("key", "name", "short", "recorded")))
_CHARACTERISTIC = Fields(
    fields={"name": Text(), "grid_label": Text(), "short": Text(), "recorded": Text(),
            "base": Text(), "census_table": Text(), "age_crossing": Text(), "columns": _WORDS,
            "band_columns": _WORDS, "dob_columns": _WORDS,
            "unknown_codes": MapOf(key=Text(), value=_WORDS),
            "categories": ListOf(item=_CATEGORY), "groups": ListOf(item=_CATEGORY),
            "detail": _VIEW},
    required=dict.fromkeys(("name", "grid_label", "short", "columns")))
#: What ``data/characteristics.yaml`` holds, checked each time it is loaded.
SCHEMA = Fields(fields={
    "unknowns": MapOf(key=Text(), value=_WORDS), "id_columns": _WORDS,
    "service_columns": _WORDS, "period_columns": _WORDS,
    "characteristics": MapOf(key=Text(), value=_CHARACTERISTIC, empty_ok=False),
}, required=dict.fromkeys(("unknowns", "characteristics")))


def _words(values: list | None) -> tuple[str, ...]:
    return tuple(values or ())


def _category(raw: dict, in_census: bool = True) -> Category:
    return Category(label=raw["label"],
                    census=_words(raw.get("census")) if in_census and raw.get("census")
                    is not None else None,
                    codes=_words(raw.get("codes")), group=raw.get("group"),
                    adverse=raw.get("adverse") is not False)


def _characteristic(key: str, raw: dict) -> Characteristic:
    detail = raw.get("detail")
    return Characteristic(
        key=key, name=raw["name"], grid_label=raw["grid_label"], short=raw["short"],
        recorded=raw.get("recorded") or raw["name"].lower(),
        base=raw.get("base"), census_table=raw.get("census_table"),
        columns=_words(raw.get("columns")),
        categories=tuple(_category(c) for c in raw.get("categories") or ()),
        groups=tuple(_category(g, in_census=False) for g in raw.get("groups") or ()),
        band_columns=_words(raw.get("band_columns")), dob_columns=_words(raw.get("dob_columns")),
        unknown_codes={reason: _words(v) for reason, v in (raw.get("unknown_codes") or {}).items()},
        age_crossing=raw.get("age_crossing"),
        detail=View(**detail, parent=key) if detail else None,
    )


def _cross_check(chars: dict[str, Characteristic], ck: Checker) -> None:
    """What the schema cannot see: a category in a group that is not listed, a label
    given twice, a detail view whose key is taken."""
    keys = set(chars)
    for c in chars.values():
        at = ("characteristics", c.key)
        groups = {g.label for g in c.groups}
        for cat in c.categories:
            if cat.group and cat.group not in groups:
                ck.add(at, f"{c.key}: category '{cat.label}' is in group '{cat.group}', which "
                       "is not one of its groups")
        labels = [cat.label for cat in (*c.categories, *c.groups)]
        for label in sorted({x for x in labels if labels.count(x) > 1}):
            ck.add(at, f"{c.key}: the label '{label}' is given twice")
        if c.detail and c.detail.key in keys:
            ck.add(at, f"{c.key}: its detail view's key '{c.detail.key}' is taken")
        keys |= {c.detail.key} if c.detail else set()


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The packaged vocabulary, loaded and checked once (libyaml: every command needs it)."""
    text = files("eqia").joinpath("data/characteristics.yaml").read_text(encoding="utf-8")
    ck = Checker(python_values(safe_load(text), "eqia's data/characteristics.yaml"))
    raw = ck.check(SCHEMA)
    ck.raise_if_any(ErrorCode.BAD_PACKAGED_FILE)
    bodies = standard_codes.extend(raw["characteristics"], raw["unknowns"], normalise)
    chars = {key: _characteristic(key, body) for key, body in bodies.items()}
    _cross_check(chars, ck)
    ck.raise_if_any(ErrorCode.BAD_PACKAGED_FILE)
    return Vocabulary(
        characteristics=chars,
        unknowns={k: _words(v) for k, v in raw["unknowns"].items()},
        id_columns=_words(raw.get("id_columns")),
        service_columns=_words(raw.get("service_columns")),
        period_columns=_words(raw.get("period_columns")),
    )


def get(key: str) -> Characteristic:
    """A characteristic, or the one a detail view belongs to (ethnicity for
    ``ethnicity_detailed``)."""
    return vocabulary()[parent(key)]


def keys() -> list[str]:
    """The characteristics, in screening-grid order."""
    return list(vocabulary().characteristics)


def all_keys() -> list[str]:
    """Every key a table or document may hold: each characteristic in screening-grid
    order, a detail view right after its own (ethnicity, then ethnicity_detailed)."""
    out = []
    for c in vocabulary():
        out += [c.key, c.detail.key] if c.detail else [c.key]
    return out


@lru_cache(maxsize=1)
def _views() -> dict[str, View]:
    return {c.detail.key: c.detail for c in vocabulary() if c.detail}


def parent(key: str) -> str:
    """The characteristic whose column and census data ``key`` uses (itself, or the
    characteristic a detail view belongs to)."""
    view = _views().get(key)
    return view.parent if view else key


def _words_for(key: str) -> Characteristic | View:
    return _views().get(key) or vocabulary()[key]


def display_name(key: str) -> str:
    """The name in tables and headings: "Religion or belief", "Ethnicity (detailed)"."""
    return _words_for(key).name


def short_label(key: str) -> str:
    """A column heading where space is tight: "Disab"."""
    return _words_for(key).short


def recorded(key: str) -> str:
    """What is recorded, fitting "people whose ... is recorded": "carer status"."""
    return _words_for(key).recorded


def age_crossed() -> tuple[str, ...]:
    """The characteristics whose baseline is read from a census crossing with age (those
    with an ``age_crossing``), in grid order."""
    return tuple(c.key for c in vocabulary() if c.age_crossing)


def not_adverse_labels() -> tuple[str, ...]:
    """The categories marked ``adverse: false``, in grid order: the default of the
    assessment rules' ``not_adverse_categories``."""
    return tuple(cat.label for c in vocabulary() for cat in c.categories if not cat.adverse)


def category_labels() -> tuple[str, ...]:
    """Every standard category and broad group label, once each, in grid order."""
    labels = (cat.label for c in vocabulary() for cat in (*c.categories, *c.groups))
    return tuple(dict.fromkeys(labels))

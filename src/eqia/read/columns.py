"""Which column of an extract holds which characteristic (and the person ID, service and period).

Found by the mapping file first, then by the vocabulary's names for each column
(``data/characteristics.yaml``); nothing here reads a file."""

from __future__ import annotations

from dataclasses import dataclass, field

from eqia.errors import InputError
from eqia.read.mapping import MappingFile
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import normalise


def known_columns(mapping: MappingFile | None = None) -> frozenset[str]:
    """Every column name eqia recognises (normalised): the header row names some."""
    voc = chars.vocabulary()
    names: set[str] = {*AGGREGATE_COLUMNS, *voc.id_columns, *voc.service_columns,
                       *voc.period_columns}
    for char in voc:
        names.update((*char.columns, *char.band_columns, *char.dob_columns))
    if mapping is not None:
        names.update((*mapping.columns.values(), mapping.id_column or "",
                      mapping.service_column or ""))
    return frozenset(normalise(n) for n in names if n)


@dataclass
class ColumnPlan:
    """Which column holds each characteristic (absent keys: not collected)."""

    columns: dict[str, str] = field(default_factory=dict)
    age_hint: str | None = None  # dob / age / band, from the column's name
    id_column: str | None = None
    service_column: str | None = None
    period_column: str | None = None
    notes: list[str] = field(default_factory=list)


AGGREGATE_COLUMNS = {"characteristic", "category", "count"}


def is_aggregated(columns: list[str]) -> bool:
    names = {normalise(c) for c in columns}
    return AGGREGATE_COLUMNS <= names


def _find(columns: list[str], synonyms: tuple[str, ...]) -> list[str]:
    wanted = {normalise(s) for s in synonyms}
    return [c for c in columns if normalise(c) in wanted]


def plan_columns(columns: list[str], mapping: MappingFile, source: str) -> ColumnPlan:
    """Find each characteristic's column by the mapping file first, then by synonym."""
    voc = chars.vocabulary()
    plan = _named_in_mapping(columns, mapping, source)
    taken = set(plan.columns.values()) | set(mapping.ignore)
    for char in voc:
        if char.key not in plan.columns:
            _found_by_name(plan, char, columns, taken)
    if plan.id_column is None:
        ids = [c for c in _find(columns, voc.id_columns) if c not in taken]
        plan.id_column = ids[0] if ids else None
    if plan.service_column is None:
        services = [c for c in _find(columns, voc.service_columns) if c not in taken]
        plan.service_column = services[0] if services else None
    periods = [c for c in _find(columns, voc.period_columns) if c not in taken]
    plan.period_column = periods[0] if periods else None
    return plan


def _named_in_mapping(columns: list[str], mapping: MappingFile, source: str) -> ColumnPlan:
    """The columns the mapping file names; an error for one the extract does not have."""
    plan = ColumnPlan()
    by_norm = {normalise(c): c for c in columns}

    def resolve(name: str, what: str) -> str:
        if name in columns:
            return name
        if normalise(name) in by_norm:
            return by_norm[normalise(name)]
        raise InputError(
            f"The mapping file names column '{name}' for {what}, but the extract has no such column",
            code="missing-column",
            file=mapping.path,
            column=name,
            hint="Columns in " + source + ": " + ", ".join(columns) + ".",
        )

    for key, col in mapping.columns.items():
        plan.columns[key] = resolve(col, key)
    if mapping.id_column:
        plan.id_column = resolve(mapping.id_column, "the person ID")
    if mapping.service_column:
        plan.service_column = resolve(mapping.service_column, "the service")
    return plan


def _found_by_name(plan: ColumnPlan, char: chars.Characteristic, columns: list[str],
                   taken: set[str]) -> None:
    """The first free column named as the vocabulary names ``char``'s (for age: a date of
    birth, an age or a band); a note when there are several."""
    if char.key == "age":
        candidates = [(col, hint) for hint, names in (
            ("dob", char.dob_columns), ("age", char.columns), ("band", char.band_columns))
            for col in _find(columns, names)]
    else:
        candidates = [(col, None) for col in _find(columns, char.columns)]
    candidates = [(c, h) for c, h in candidates if c not in taken]
    if not candidates:
        return
    col, hint = candidates[0]
    plan.columns[char.key] = col
    taken.add(col)
    if char.key == "age":
        plan.age_hint = hint
    if len(candidates) > 1:
        others = ", ".join(f"'{c}'" for c, _ in candidates[1:])
        plan.notes.append(
            f"{char.name}: used column '{col}'; also found {others} "
            f"(name the one you want under 'columns' in the mapping file)."
        )

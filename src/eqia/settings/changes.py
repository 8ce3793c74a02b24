"""What a proposal changes, and so which reading of the service data is the main concern.

A closure hurts most the groups who use the service most; a new service fails most the
groups it does not reach. ``focus_for`` turns the proposal's ``change`` (vocabulary in
``data/changes.yaml``), its ``scope`` and any ``adverse_direction`` override into a
``Focus``: which reading is primary, and the words documents use to say so. Pure: it
reads only the packaged vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from eqia.errors import ErrorCode
from eqia.settings.schema import Choice, Fields, MapOf, Text, python_values, validate
from eqia.settings.yamlfile import safe_load

#: ``over``: groups using the service more than their share of the population;
#: ``under``: groups using it less.
READINGS = ("over", "under")
SCOPES = ("services", "employment", "both")


@dataclass(frozen=True)
class Change:
    key: str
    means: str
    concern: str  # over | under
    noun: str
    scope: str = "services"

    @property
    def label(self) -> str:
        return self.key.replace("_", " ")


#: What ``data/changes.yaml`` holds, checked when it is loaded.
SCHEMA = MapOf(key=Text(), empty_ok=False, value=Fields(
    fields={"means": Text(), "concern": Choice(options=READINGS), "noun": Text(),
            "scope": Choice(options=SCOPES[:2])},
    required=dict.fromkeys(("means", "concern", "noun"))))


@cache
def vocabulary() -> dict[str, Change]:
    """The changes a proposal may name, in the order ``data/changes.yaml`` gives them."""
    text = files("eqia").joinpath("data/changes.yaml").read_text(encoding="utf-8")
    raw = validate(python_values(safe_load(text), "eqia's data/changes.yaml"), SCHEMA,
                   ErrorCode.BAD_PACKAGED_FILE)
    return {key: Change(key, " ".join(v["means"].split()), v["concern"], v["noun"],
                        v.get("scope", "services"))
            for key, v in raw.items()}


def parse(values: object) -> tuple[str, ...]:
    """Change values as written (``closure``, ``New service``, a list, or ``a, b``) ->
    vocabulary keys, in order, once each. ``ValueError(value)`` for the first unknown."""
    if values is None:
        return ()
    items = values if isinstance(values, list | tuple) else str(values).split(",")
    out: list[str] = []
    for item in items:
        if item is None or not str(item).strip():
            continue
        key = "_".join(str(item).strip().lower().replace("-", " ").split())
        if key not in vocabulary():
            raise ValueError(str(item).strip())
        if key not in out:
            out.append(key)
    return tuple(out)


def help_text() -> str:
    """Each value and what it means, one a line, for error messages and ``eqia init``."""
    return "\n".join(f"  {c.key}: {c.means}" for c in vocabulary().values())


#: Each reading's name, as the main concern and as the secondary reading.
_LABEL = {("over", True): "Disproportionately affected", ("over", False): "Well reached",
          ("under", True): "Under-reached", ("under", False): "Under-reached"}

#: Why a group in the reading matters, with ``{what}`` the change ("the closure").
_WHY = {
    ("over", True): "they {use} more than their share of the population, so they would lose "
                    "most from {what}",
    ("over", False): "they {use} more than their share of the population; {what} is mainly "
                     "about whom the service reaches, but they would feel any later cut most",
    ("under", True): "they {use} less than their share of the population: find out what "
                     "stops them, and how {what} will reach them",
    ("under", False): "they {use} less than their share of the population, so they lose less "
                      "from {what}; but ask whether the service was reaching them at all",
}


@dataclass(frozen=True)
class Focus:
    """Which readings are the main concern for this proposal, and why (``explanation``).

    ``source``: ``change`` (from the proposal's ``change``), ``override`` (an explicit
    ``adverse_direction``) or ``unstated`` (neither given: both readings are primary).
    """

    primary: tuple[str, ...]
    changes: tuple[str, ...] = ()
    scope: str = "services"
    source: str = "unstated"
    override: str | None = None

    def is_primary(self, reading: str) -> bool:
        return reading in self.primary

    @property
    def what(self) -> str:
        """The change as sentences name it: "the closure", "the proposed changes"."""
        if len(self.changes) == 1:
            return vocabulary()[self.changes[0]].noun
        return "the proposed changes" if self.changes else "the proposal"

    @property
    def people(self) -> str:
        """Who the extract holds, as sentences name them."""
        return "service users" if self.scope == "services" else "people in the data"

    @property
    def use(self) -> str:
        """What people in the data do, after "they": "use the service"."""
        return "use the service" if self.scope == "services" else "appear in the data"

    @property
    def uses(self) -> str:
        """The same after "no group": "uses the service"."""
        return "uses the service" if self.scope == "services" else "appears in the data"

    @property
    def covers_services(self) -> bool:
        return self.scope in ("services", "both")

    @property
    def covers_employment(self) -> bool:
        return self.scope in ("employment", "both")

    def label(self, reading: str) -> str:
        return _LABEL[reading, self.is_primary(reading)]

    def why(self, reading: str) -> str:
        return _WHY[reading, self.is_primary(reading)].format(what=self.what, use=self.use)

    @property
    def explanation(self) -> str:
        """The readings in plain English: which is the main concern, and why."""
        vocab = vocabulary()
        said = "; ".join(f"{vocab[c].label} – {vocab[c].means}" for c in self.changes)
        lead = f"What is changing: {said}. " if self.changes else ""
        both = ("Both readings are the main concern: groups who use the service more than "
                "their share of the population (disproportionately affected: they would lose "
                "most) and groups who use it less (under-reached).")
        if self.source == "unstated":
            return ("The proposal does not say what is changing (add, for example, "
                    "'change: closure'), so " + both[0].lower() + both[1:])
        if self.source == "override":
            lead += (f"An override is set (adverse_direction: {self.override})"
                     + (", replacing the usual reading of the change. " if self.changes
                        else ". "))
        if len(self.primary) == 2:
            return lead + both
        if self.primary == ("over",):
            return lead + (f"The people who use a service most lose most from {self.what}: "
                           "groups who use it more than their share of the population are "
                           "disproportionately affected, which is the main concern here. Groups "
                           "who use it less (under-reached) are shown as a secondary reading.")
        return lead + (f"The question is whom {self.what} will reach: groups who use the "
                       "service (or a similar one) less than their share of the population are "
                       "under-reached, which is the main concern here. Groups who use it more "
                       "are shown as a secondary reading.")


def focus_for(
    change: tuple[str, ...] | list[str] = (),
    scope: str | None = None,
    adverse_direction: str | None = None,
) -> Focus:
    """The ``Focus`` for a proposal's ``change`` values (already checked against
    ``vocabulary()``), its ``scope`` and an ``adverse_direction`` override."""
    vocab = vocabulary()
    change = tuple(change)
    if scope is None:
        scopes = {vocab[c].scope for c in change} or {"services"}
        scope = scopes.pop() if len(scopes) == 1 else "both"
    if adverse_direction:
        primary = READINGS if adverse_direction == "both" else (adverse_direction,)
        return Focus(primary, change, scope, "override", adverse_direction)
    if not change:
        return Focus(READINGS, (), scope, "unstated")
    concerns = {vocab[c].concern for c in change}
    return Focus(tuple(r for r in READINGS if r in concerns), change, scope, "change")

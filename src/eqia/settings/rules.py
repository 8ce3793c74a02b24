"""The thresholds behind representation flags, loaded from ``data/rules.yaml``.

The packaged file holds the defaults and says where each comes from; a user's YAML file
may change any of them. ``load_rules`` never guesses: unknown keys and impossible values
raise one ``ConfigError`` (``bad-rules``) naming each key, value and what would be accepted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from eqia.errors import ErrorCode
from eqia.settings.loader import load_layers
from eqia.settings.schema import Choice, Fields, Flag, Number

#: How a characteristic's categories are judged together (``family_wise`` in rules.yaml).
FAMILY_WISE = ("holm", "bonferroni", "strong_level", "none")


@dataclass(frozen=True)
class Rules:
    """Representation-flag settings (the meaning of each is documented in data/rules.yaml)."""

    level: float
    strong_level: float
    under_ratio: float
    over_ratio: float
    min_expected: float
    byar_min_observed: int
    gof_min_expected: float
    gof_draws: int
    gof_seed: int
    missing_sensitivity: bool
    age_confounded_distance: float
    census_distance_years: float
    family_wise: str
    exact_binomial_below: int
    tipping_plausible_factor: float


#: What each rule accepts; the packaged file and a user's file are checked alike.
SCHEMA = Fields(noun="rule", fields={
    "level": Number(min=0, max=1, min_open=True, max_open=True,
                    words="a confidence level between 0 and 1, e.g. 0.95"),
    "strong_level": Number(min=0, max=1, min_open=True, max_open=True,
                           words="a confidence level between 0 and 1, e.g. 0.998"),
    "under_ratio": Number(min=0, max=1, min_open=True,
                          words="a ratio above 0 and at most 1, e.g. 0.8"),
    "over_ratio": Number(min=1, words="a ratio of at least 1, e.g. 1.25"),
    "min_expected": Number(min=0, words="an expected count of 0 or more, e.g. 5"),
    "byar_min_observed": Number(min=0, integer=True, words="a whole number of 0 or more, e.g. 10"),
    "gof_min_expected": Number(min=0, words="an expected count of 0 or more, e.g. 5"),
    # Each draw is one simulated service; a million takes seconds per characteristic.
    "gof_draws": Number(min=100, max=1_000_000, integer=True,
                        words="a whole number from 100 to 1,000,000, e.g. 20000"),
    "gof_seed": Number(min=0, max=2**63 - 1, integer=True, words="a whole number of 0 or more"),
    "missing_sensitivity": Flag(),
    "age_confounded_distance": Number(min=0, max=1, min_open=True,
                                      words="a distance above 0 and at most 1, e.g. 0.25"),
    "census_distance_years": Number(min=0, min_open=True, words="a number of years, e.g. 5"),
    "family_wise": Choice(options=FAMILY_WISE),
    "exact_binomial_below": Number(min=0, integer=True, words="a whole number of 0 or more, e.g. 10"),
    "tipping_plausible_factor": Number(min=1, words="a number of at least 1, e.g. 2"),
})
#: Every rule needs a value: a blank one in a user's file is a problem, not a default.
SCHEMA = replace(SCHEMA, fields={k: replace(v, empty_ok=False) for k, v in SCHEMA.fields.items()})
_NAMES = tuple(f.name for f in fields(Rules))
assert set(_NAMES) == set(SCHEMA.fields), "every rule needs a check"
HINT = "See eqia/data/rules.yaml for what each rule means."


def _levels(values: dict) -> list[tuple[str, str, str | None]]:
    """The strong level is the stricter one."""
    if values["strong_level"] > values["level"]:
        return []
    return [("strong_level", "The rule 'strong_level' must be higher than 'level'",
             f"level is {values['level']}; strong_level must lie between it and 1.")]


def load_rules(path: str | Path | None = None, **overrides: Any) -> Rules:
    """Packaged defaults, then a user's YAML file (only the keys it changes), then overrides."""
    values, _ = load_layers("rules.yaml", SCHEMA, ErrorCode.BAD_RULES, path=path,
                            what="the rules file", hint=HINT, given=overrides, cross=_levels,
                            missing_hint="Check the path given with --rules.")
    return Rules(**values)


def default_rules() -> Rules:
    """The packaged defaults (data/rules.yaml)."""
    return load_rules()


def with_changes(rules: Rules, **changes: Any) -> Rules:
    """A copy of ``rules`` with some values changed, checked like a user's file."""
    return load_rules(**{**asdict(rules), **changes})


__all__ = ["FAMILY_WISE", "Rules", "default_rules", "load_rules", "with_changes"]

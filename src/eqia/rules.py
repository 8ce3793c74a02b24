"""The thresholds behind representation flags, loaded from ``data/rules.yaml``.

The packaged file holds the defaults and says where each comes from; a user's YAML file
may change any of them. ``load_rules`` never guesses: an unknown key or an impossible
value raises ``ConfigError`` naming the key, the value and what would be accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib.resources import files
from pathlib import Path
from typing import Any

from eqia.errors import ConfigError
from eqia.yamlfile import parse_yaml

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
    family_wise: str
    exact_binomial_below: int
    tipping_plausible_factor: float


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _integer(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# key -> (accepts the value?, what is accepted, in words)
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "level": (lambda x: _number(x) and 0 < x < 1, "a confidence level between 0 and 1, e.g. 0.95"),
    "strong_level": (
        lambda x: _number(x) and 0 < x < 1,
        "a confidence level between 0 and 1, e.g. 0.998",
    ),
    "under_ratio": (lambda x: _number(x) and 0 < x <= 1, "a ratio above 0 and at most 1, e.g. 0.8"),
    "over_ratio": (lambda x: _number(x) and x >= 1, "a ratio of at least 1, e.g. 1.25"),
    "min_expected": (lambda x: _number(x) and x >= 0, "an expected count of 0 or more, e.g. 5"),
    "byar_min_observed": (lambda x: _integer(x) and x >= 0, "a whole number of 0 or more, e.g. 10"),
    "gof_min_expected": (lambda x: _number(x) and x >= 0, "an expected count of 0 or more, e.g. 5"),
    "gof_draws": (lambda x: _integer(x) and x >= 100, "a whole number of at least 100, e.g. 20000"),
    "gof_seed": (lambda x: _integer(x) and x >= 0, "a whole number of 0 or more"),
    "missing_sensitivity": (lambda x: isinstance(x, bool), "true or false"),
    "family_wise": (
        lambda x: x in FAMILY_WISE, "one of " + ", ".join(FAMILY_WISE) + ", e.g. holm"
    ),
    "exact_binomial_below": (
        lambda x: _integer(x) and x >= 0, "a whole number of 0 or more, e.g. 10"
    ),
    "tipping_plausible_factor": (lambda x: _number(x) and x >= 1, "a number of at least 1, e.g. 2"),
}

_NAMES = tuple(f.name for f in fields(Rules))
assert set(_NAMES) == set(_CHECKS), "every rule needs a check"


def _read_yaml(text: str, source: str | None) -> dict:
    values = parse_yaml(text, source, "the rules file", code="bad-rules")
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(
            "The rules file must be a list of 'key: value' lines",
            code="bad-rules",
            file=source,
            hint="For example:  under_ratio: 0.75",
        )
    return values


def load_rules(path: str | Path | None = None, **overrides: Any) -> Rules:
    """Packaged defaults, then a user's YAML file (only the keys it changes), then overrides."""
    defaults = files("eqia").joinpath("data/rules.yaml").read_text(encoding="utf-8")
    values = _read_yaml(defaults, "eqia/data/rules.yaml")
    source = None
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"The rules file could not be read: {exc.strerror or exc}",
                code="bad-rules",
                file=source,
                hint="Check the path given with --rules.",
            ) from exc
        values.update(_validated_keys(_read_yaml(text, source), source))
    if overrides:
        values.update(_validated_keys(overrides, None))
    return _validated(values, source)


def _validated_keys(values: dict, source: str | None) -> dict:
    for key in values:
        if key not in _CHECKS:
            raise ConfigError(
                f"'{key}' is not a representation rule",
                code="unknown-rule",
                file=source,
                value=values[key],
                hint="Known rules: "
                + ", ".join(_NAMES)
                + ". See eqia/data/rules.yaml for what each means.",
            )
    return values


def _validated(values: dict, source: str | None) -> Rules:
    _validated_keys(values, source)
    for key in _NAMES:
        if key not in values:
            raise ConfigError(
                f"The rule '{key}' has no value",
                code="bad-rule-value",
                file=source,
                hint=f"Give {key} {_CHECKS[key][1]}.",
            )
        ok, accepted = _CHECKS[key]
        if not ok(values[key]):
            raise ConfigError(
                f"The rule '{key}' has an impossible value",
                code="bad-rule-value",
                file=source,
                value=values[key],
                hint=f"{key} must be {accepted}.",
            )
    if values["strong_level"] <= values["level"]:
        raise ConfigError(
            "The rule 'strong_level' must be higher than 'level'",
            code="bad-rule-value",
            file=source,
            value=values["strong_level"],
            hint=f"level is {values['level']}; strong_level must lie between it and 1.",
        )
    return Rules(**{k: values[k] for k in _NAMES})


def default_rules() -> Rules:
    """The packaged defaults (data/rules.yaml)."""
    return load_rules()


def with_changes(rules: Rules, **changes: Any) -> Rules:
    """A copy of ``rules`` with some values changed, checked like a user's file."""
    values = {f.name: getattr(rules, f.name) for f in fields(Rules)}
    values.update(_validated_keys(changes, None))
    return _validated(values, None)


__all__ = ["FAMILY_WISE", "Rules", "default_rules", "load_rules", "with_changes"]

"""The disclosure policy: how small numbers are protected in published documents.

Defaults in ``data/disclosure.yaml``, then a council's file, then options; values
below ``MINIMUMS`` are refused, not weakened. The protection itself is in
``eqia.disclosure``; this module only says what is asked of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from importlib.resources import files
from pathlib import Path

import pandas as pd

from eqia.errors import ConfigError
from eqia.settings.yamlfile import read_yaml_doc, safe_load

METHODS = ("threshold", "nhs", "none")


#: The smallest values eqia accepts. Below them a published document identifies people
#: (a count of 1 or 2 does), so a policy asking for less is refused, not weakened.
#: ``threshold`` 5: counts of 1 to 4 are always hidden; ``nhs_small_max`` 7 and
#: ``rounding_base`` 5: the NHS rule is 1 to 7 as ``*`` and rounding to 5, never less.
MINIMUMS = {"threshold": 5, "nhs_small_max": 7, "rounding_base": 5, "min_range": 1,
            "share_decimals": 0}


#: The label renderers put on every page of a document made with method ``none``.
NOT_FOR_PUBLICATION = (
    "NOT FOR PUBLICATION - internal use only: small numbers are not suppressed."
)


@dataclass(frozen=True)
class DisclosurePolicy:
    """How small numbers are protected; see ``data/disclosure.yaml`` for each setting."""

    method: str = "threshold"
    threshold: int = 10
    suppress_zero: bool = False
    min_range: int = 1
    nhs_small_max: int = 7
    rounding_base: int = 5
    marker: str = "*"
    secondary_marker: str = "[c]"
    total_label: str = "Total"
    share_decimals: int = 1
    prose_small: str = "fewer than {limit}"
    prose_hidden_share: str = "share not shown"
    prose_hidden_count: str = "a number not shown"

    @property
    def publishable(self) -> bool:
        return self.method != "none"

    @property
    def page_label(self) -> str | None:
        """What to print on every page: ``NOT_FOR_PUBLICATION`` for internal output."""
        return None if self.publishable else NOT_FOR_PUBLICATION

    @property
    def smallest_shown(self) -> int:
        """The smallest non-zero count that is published as it is (or rounded)."""
        if self.method == "threshold":
            return self.threshold
        if self.method == "nhs":
            return self.nhs_small_max + 1
        return 1

    def note(self, shown: Sequence[pd.DataFrame]) -> str:
        """``footnote``, and what ``secondary_marker`` means where one of the ``shown``
        tables (as printed) has it."""
        used = any((t == self.secondary_marker).any().any() for t in shown)
        if self.method != "nhs" or not used:
            return self.footnote
        return (f"{self.footnote} {self.secondary_marker} = a larger number hidden so that a "
                f"{self.marker} cannot be worked out.")

    @property
    def footnote(self) -> str:
        """One sentence for under a published table, saying what the marker means."""
        if self.method == "threshold":
            zero = " (including 0)" if self.suppress_zero else ""
            return (f"{self.marker} = a number hidden to protect privacy: fewer than "
                    f"{self.threshold}{zero}, or hidden so that a smaller number cannot be "
                    "worked out from other figures.")
        if self.method == "nhs":
            return (f"{self.marker} = 1 to {self.nhs_small_max}. "
                    f"Other figures are rounded to the nearest {self.rounding_base}, and totals "
                    "are rounded on their own, so figures may not add up to the totals. "
                    "Percentages are worked out from the rounded figures.")
        return NOT_FOR_PUBLICATION

    def is_small(self, n: int) -> bool:
        """Whether a count is hidden on its own (primary suppression, or the NHS marker)."""
        if self.method == "threshold":
            return n < self.threshold and (n > 0 or self.suppress_zero)
        if self.method == "nhs":
            return 0 < n <= self.nhs_small_max
        return False

    def rounded(self, n: int) -> int:
        """The NHS rule's rounding (nearest ``rounding_base``, halves up); others: ``n``."""
        if self.method != "nhs" or n == 0:
            return n
        b = self.rounding_base
        return (2 * n + b) // (2 * b) * b

    def possible(self, shown: int) -> tuple[int, int]:
        """The true counts a published figure can stand for: itself, or under the NHS
        rule every count that rounds to it (never 1 to ``nhs_small_max``)."""
        if self.method != "nhs" or shown == 0:
            return shown, shown
        b = self.rounding_base
        return max(shown - b // 2, self.nhs_small_max + 1), shown + (b - 1) // 2


#: The policy for internal output: nothing hidden.
INTERNAL = DisclosurePolicy(method="none")


def load_policy(path: str | Path | None = None, **overrides: object) -> DisclosurePolicy:
    """Packaged defaults, then a user's YAML file, then explicit overrides (None ignored).

    The user's file holds the same keys as ``data/disclosure.yaml``, at the top level
    or under ``disclosure:``. Values below ``MINIMUMS`` are a ``ConfigError``.
    """
    text = files("eqia").joinpath("data/disclosure.yaml").read_text(encoding="utf-8")
    values = dict(safe_load(text))
    source = str(path) if path is not None else None
    doc, under = None, ()
    if path is not None:
        doc = read_yaml_doc(path, "the disclosure policy file", code="bad-disclosure-policy")
        user = doc.data or {}
        if isinstance(user, dict) and set(user) == {"disclosure"}:
            user, under = user["disclosure"] or {}, ("disclosure",)
        if not isinstance(user, dict):
            raise ConfigError("The disclosure policy file must hold settings as key: value",
                              code="bad-disclosure-policy", file=source,
                              hint="See eqia/data/disclosure.yaml for the settings.")
        values.update(user)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return _validated(values, source)
    except ConfigError as exc:  # name the line of a setting the file gave
        if doc is not None and exc.column and exc.column not in overrides:
            exc.line = doc.lines.get((*under, exc.column))
        raise


def _validated(values: dict, source: str | None) -> DisclosurePolicy:
    names = {f.name for f in fields(DisclosurePolicy)}

    def bad(message: str, key: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, code="bad-disclosure-policy", file=source,
                           column=key, value=values.get(key), hint=hint)

    for key in values:
        if key not in names:
            raise bad(f"'{key}' is not a disclosure setting", key,
                      "Known settings: " + ", ".join(sorted(names)) + ".")
    if values.get("method") not in METHODS:
        raise bad("method must be threshold, nhs or none", "method")
    for key, low in MINIMUMS.items():
        v = values.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad(f"{key} must be a whole number, at least {low}", key)
        if v < low:
            raise bad(f"{key} must be at least {low}: smaller values do not protect people "
                      "in published documents", key,
                      f"Set {key}: {low} or more (the documented minimum, see "
                      "eqia/data/disclosure.yaml), or leave it out to use the default.")
    if values["share_decimals"] > 4:
        raise bad("share_decimals must be at most 4", "share_decimals")
    if values["rounding_base"] > 2 * (values["nhs_small_max"] + 1):
        raise bad(f"rounding_base must be at most {2 * (values['nhs_small_max'] + 1)}: a larger "
                  f"base would round {values['nhs_small_max'] + 1} down to 0", "rounding_base")
    if not isinstance(values.get("suppress_zero"), bool):
        raise bad("suppress_zero must be true or false", "suppress_zero")
    for key in ("marker", "secondary_marker", "total_label", "prose_small",
                "prose_hidden_share", "prose_hidden_count"):
        v = values.get(key)
        if not isinstance(v, str) or not v.strip():
            raise bad(f"{key} must be some text", key)
    if values["marker"] == values["secondary_marker"]:
        raise bad("secondary_marker must differ from marker: under the NHS rule the marker "
                  "means 1 to 7", "secondary_marker")
    try:
        values["prose_small"].format(limit=10)
    except (KeyError, IndexError, ValueError) as exc:
        raise bad("prose_small may only use the placeholder {limit}", "prose_small") from exc
    return replace(DisclosurePolicy(), **values)

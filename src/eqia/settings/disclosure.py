"""The disclosure policy: how small numbers are protected in published documents.

Defaults in ``data/disclosure.yaml`` (with the meaning of each setting), then a council's
file, then options, through the one settings loader; values below ``MINIMUMS`` are
refused, not weakened. The protection itself is in ``eqia.disclosure``; this module only
says what is asked of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from eqia.errors import ErrorCode
from eqia.settings.loader import load_layers
from eqia.settings.schema import Choice, Fields, Flag, Number, Text

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


HINT = "See eqia/data/disclosure.yaml for the settings."


def _at_least(key: str, low: int, high: int | None = None) -> Number:
    protects = low > 1 and key != "share_decimals"
    return Number(min=low, max=high, integer=True, empty_ok=False,
                  words=f"a whole number, at least {low}" + (f" and at most {high}" if high
                                                             else ""),
                  hint=(f"Set {key}: {low} or more (the documented minimum: smaller values do "
                        "not protect people in published documents), or leave it out to use "
                        "the default." if protects else None))


def _placeholder(text: str) -> str | None:
    try:
        text.format(limit=10)
    except (KeyError, IndexError, ValueError):
        return "may only use the placeholder {limit}"
    return None


_TEXT = Text(empty_ok=False)
SCHEMA = Fields(noun="disclosure setting", fields={
    "method": Choice(options=METHODS, empty_ok=False),
    "threshold": _at_least("threshold", MINIMUMS["threshold"]),
    "suppress_zero": Flag(empty_ok=False),
    "min_range": _at_least("min_range", MINIMUMS["min_range"]),
    "nhs_small_max": _at_least("nhs_small_max", MINIMUMS["nhs_small_max"]),
    "rounding_base": _at_least("rounding_base", MINIMUMS["rounding_base"]),
    "marker": _TEXT,
    "secondary_marker": _TEXT,
    "total_label": _TEXT,
    "share_decimals": _at_least("share_decimals", MINIMUMS["share_decimals"], 4),
    "prose_small": Text(empty_ok=False, check=_placeholder),
    "prose_hidden_share": _TEXT,
    "prose_hidden_count": _TEXT,
})


def _together(v: dict) -> list[tuple[str, str, str | None]]:
    """Settings that must agree with each other."""
    out = []
    if v["rounding_base"] > 2 * (v["nhs_small_max"] + 1):
        out.append(("rounding_base", f"rounding_base must be at most "
                    f"{2 * (v['nhs_small_max'] + 1)}: a larger base would round "
                    f"{v['nhs_small_max'] + 1} down to 0", None))
    if v["marker"] == v["secondary_marker"]:
        out.append(("secondary_marker", "secondary_marker must differ from marker: under the "
                    "NHS rule the marker means 1 to 7", None))
    return out


def policy_settings(path: str | Path | None = None, **overrides: Any) -> dict:
    """Packaged defaults, then a user's file (the settings at the top level or under
    ``disclosure:``), then explicit overrides (None ignored); every problem at once."""
    values, _ = load_layers("disclosure.yaml", SCHEMA, ErrorCode.BAD_DISCLOSURE_POLICY,
                            path=path, what="the disclosure policy file", hint=HINT,
                            given={k: v for k, v in overrides.items() if v is not None},
                            section="disclosure", cross=_together)
    return values


def load_policy(path: str | Path | None = None, **overrides: object) -> DisclosurePolicy:
    """Packaged defaults, then a user's YAML file, then explicit overrides (None ignored).

    The user's file holds the same keys as ``data/disclosure.yaml``, at the top level
    or under ``disclosure:``. Values below ``MINIMUMS`` are a ``ConfigError``, every
    problem in the file at once.
    """
    return DisclosurePolicy(**policy_settings(path, **overrides))

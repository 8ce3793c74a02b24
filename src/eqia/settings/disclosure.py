"""What a disclosure policy file may hold, declared once (the defaults and the meaning of
each setting are in ``data/disclosure.yaml``); ``eqia.disclosure.engine.load_policy``
turns the checked values into a ``DisclosurePolicy``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

"""How complete equality data must be: the council's green / amber thresholds, and the
one rating of completeness that the audit, the annual report and anything else that
rates a known share all use.

The defaults, and what each setting means, are in ``data/thresholds.yaml``; a council's
file changes only the keys it gives. A share is rated on the exact counts, never on a
rounded percentage: 8,996 known of 10,000 (89.96%) is amber against a green of 90, and
every document shows it as "89.9%" (``eqia.words.percent_down``), so no page can show
"90.0%" beside an amber rating.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from importlib.resources import files
from pathlib import Path
from typing import Any

from eqia.errors import ConfigError
from eqia.settings import characteristics as chars
from eqia.settings.schema import Choice, Fields, ListOf, MapOf, Number, validate
from eqia.settings.yamlfile import YamlDoc, parse_yaml_doc, read_yaml_doc

#: The ratings, best first, and how documents name them.
RAG_LABELS = {"green": "Green", "amber": "Amber", "red": "Red"}
DEFAULT_SOURCE = "eqia defaults"


@dataclass(frozen=True)
class Thresholds:
    """Green and amber cut-offs (percent known), what is audited and what is required.

    The meaning of each setting is documented in ``data/thresholds.yaml``.
    """

    green: Fraction
    amber: Fraction
    characteristics: dict[str, tuple[Fraction, Fraction]] = field(default_factory=dict)
    audited: tuple[str, ...] = ()
    required: tuple[str, ...] | None = None
    excused: tuple[str, ...] = ()
    source: str = DEFAULT_SOURCE

    def cutoffs(self, key: str) -> tuple[Fraction, Fraction]:
        """(green, amber) for a characteristic, in percent."""
        return self.characteristics.get(key, (self.green, self.amber))

    def rag(self, key: str, known: int, records: int) -> str:
        """The one completeness rating, on the exact share: 90% known is green, 89.99%
        amber. No records at all is red (nothing is known)."""
        green, amber = self.cutoffs(key)
        if records <= 0:
            return "red"
        share = Fraction(100 * int(known), int(records))
        if share >= green:
            return "green"
        if share >= amber:
            return "amber"
        return "red"

    def is_required(self, key: str, collected: bool) -> bool:
        if self.required is None:
            return collected
        return key in self.required

    def must_collect(self, key: str) -> bool:
        """Whether a service that does not collect ``key`` at all fails ``--fail-under``:
        every audited characteristic (or, when ``required`` is a list, every one listed),
        unless excused."""
        if key in self.excused:
            return False
        return key in (self.audited if self.required is None else self.required)


THRESHOLD_KEYS = ("green", "amber", "characteristics", "audited", "required", "excused")
_PERCENT = Number(min=0, max=100, words="a percentage from 0 to 100, e.g. 90", empty_ok=False)
_KEYS = ListOf(item=Choice(options=tuple(chars.keys()), noun="a characteristic eqia knows"),
               single=True,
               hint="e.g. [age, sex, ethnicity]. Use: " + ", ".join(chars.keys()) + ".")
#: Everything a thresholds file may hold (the defaults are in ``data/thresholds.yaml``).
THRESHOLD_SCHEMA = Fields(noun="setting", fields={
    "green": _PERCENT,
    "amber": _PERCENT,
    "characteristics": MapOf(
        key=Choice(options=tuple(chars.keys()), noun="a characteristic eqia knows"),
        value=Fields(noun="setting", fields={"green": _PERCENT, "amber": _PERCENT}),
        hint="e.g.\ncharacteristics:\n  religion: {green: 80, amber: 60}"),
    "audited": replace(_KEYS, empty_ok=False),
    "required": _KEYS,
    "excused": _KEYS,
})
assert set(THRESHOLD_KEYS) == set(THRESHOLD_SCHEMA.fields)


def _thresholds_doc(doc: YamlDoc) -> dict:
    return validate(doc, THRESHOLD_SCHEMA, "bad-thresholds",
                    hint="The settings are explained in eqia's data/thresholds.yaml.")


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """The packaged thresholds, with a council's file (only the keys it changes) on top."""
    raw = _thresholds_doc(parse_yaml_doc(
        files("eqia").joinpath("data/thresholds.yaml").read_text(encoding="utf-8"),
        "eqia/data/thresholds.yaml", "eqia's thresholds file"))
    source = DEFAULT_SOURCE
    doc = None
    if path is not None:
        doc = read_yaml_doc(path, "the thresholds file",
                            missing_hint="Check the path given to --thresholds.")
        raw = {**raw, **_thresholds_doc(doc)}
        source = doc.source

    def order(green: Any, amber: Any, at: tuple, example: str) -> tuple[Fraction, Fraction]:
        g, a = Fraction(str(green)), Fraction(str(amber))
        if a > g:
            raise ConfigError(f"amber must not be above green{f' for {at[-1]}' if at else ''}",
                              code="bad-thresholds", file=source,
                              line=doc.line(at) if doc else None,
                              setting=doc.label(at) if doc and at else None,
                              hint="amber is the lowest share that is not red, e.g. "
                                   f"{example}.")
        return g, a

    green, amber = order(raw["green"], raw["amber"], (), "green: 90, amber: 70")
    per = {key: order(cut.get("green", green), cut.get("amber", amber),
                      ("characteristics", key), f"{key}: {{green: 80, amber: 60}}")
           for key, cut in (raw.get("characteristics") or {}).items()}
    audited = tuple(dict.fromkeys(raw["audited"]))
    required = raw.get("required")
    req = None if required is None else tuple(dict.fromkeys(required))
    if req is not None:
        audited = (*audited, *(k for k in req if k not in audited))
    excused = tuple(dict.fromkeys(raw.get("excused") or ()))
    return Thresholds(green=green, amber=amber, characteristics=per, audited=audited,
                      required=req, excused=excused, source=source)


__all__ = ["RAG_LABELS", "THRESHOLD_KEYS", "THRESHOLD_SCHEMA", "Thresholds",
           "load_thresholds"]

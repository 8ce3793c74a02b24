"""Standard code lists (NHS, Census 2011) spelt every way systems print them.

``data/standard_codes.yaml`` lists each code once, with its description(s), its heading
and the suffix clinical systems add; ``spellings`` combines them in the word orders the
file gives (``A``, ``A - White - British``, ``British (White)``, ``British or mixed
British - ethnic category 2001 census``). ``extend`` adds them to the vocabulary as extra
codes, never changing a meaning characteristics.yaml already gives: explicit wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

from eqia.settings.yamlfile import safe_load

UNKNOWN_MEANINGS = ("not_known", "not_stated")


@dataclass(frozen=True)
class Spelling:
    """One way a standard code is written, and what it means."""

    text: str  # as generated, before normalising ("A White British")
    means: str  # a standard category's label, or not_known / not_stated
    source: str  # the code list it comes from


@lru_cache(maxsize=1)
def _raw() -> dict:
    text = files("eqia").joinpath("data/standard_codes.yaml").read_text(encoding="utf-8")
    return safe_load(text)


def _words(order: str, code: str | None, group: str | None, name: str,
           suffix: str | None) -> str | None:
    parts = {"code": code, "group": group, "name": name, "suffix": suffix}
    chosen = [parts[w] for w in order.split()]
    return None if any(p is None for p in chosen) else " ".join(chosen)  # type: ignore[arg-type]


@cache
def spellings(key: str) -> tuple[Spelling, ...]:
    """Every spelling of every code list for one characteristic (``()`` if none)."""
    raw = _raw()
    out: list[Spelling] = []
    for code_list in raw.get(key) or ():
        groups = code_list.get("groups") or {}
        suffixes = code_list.get("suffix") or [None]
        for entry in code_list["codes"]:
            headings = groups.get(entry.get("group"), [None]) if entry.get("group") else [None]
            code = str(entry["code"]) if entry.get("code") is not None else None
            for order, name, group, suffix in itertools.product(
                    raw["spellings"], entry["names"], headings, suffixes):
                text = _words(order, code, group, str(name), suffix)
                if text is not None:
                    out.append(Spelling(text, str(entry["means"]), code_list["list"]))
    return tuple(out)


def extend(characteristics: dict, unknowns: dict, normalise: Callable[[object], str]) -> dict:
    """``characteristics`` (characteristics.yaml's section, as read) with every standard
    spelling added to its category's ``codes`` (or to ``unknown_codes``), unless the
    spelling already means something there or among the shared ``unknowns``. ``normalise``
    is the vocabulary's own (passed in: that module imports this one).

    Raises ``ValueError`` for a ``means`` that is no category: a fault in the packaged
    data, caught by the tests."""
    out = dict(characteristics)
    for key in _raw():
        if key == "spellings":
            continue
        body = dict(out[key])
        categories = [dict(c) for c in body.get("categories") or ()]
        by_label = {c["label"]: c for c in categories}
        unknown_codes = {r: list(v) for r, v in (body.get("unknown_codes") or {}).items()}
        taken = {normalise(v) for values in unknowns.values() for v in values}
        taken |= {normalise(v) for values in unknown_codes.values() for v in values}
        for item in (*categories, *(body.get("groups") or ())):
            taken |= {normalise(v) for v in (item["label"], *(item.get("codes") or ()),
                                             *(item.get("census") or ()))}
        for sp in spellings(key):
            norm = normalise(sp.text)
            if norm in taken:
                continue
            taken.add(norm)
            if sp.means in UNKNOWN_MEANINGS:
                unknown_codes.setdefault(sp.means, []).append(sp.text)
            elif sp.means in by_label:
                by_label[sp.means]["codes"] = [*(by_label[sp.means].get("codes") or ()), sp.text]
            else:
                raise ValueError(f"standard_codes.yaml, {sp.source}: {key} code '{sp.text}' means "
                                 f"'{sp.means}', which is no category of {key}")
        body["categories"] = categories
        body["unknown_codes"] = unknown_codes
        out[key] = body
    return out

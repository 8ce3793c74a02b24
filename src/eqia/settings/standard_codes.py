"""Standard code lists (NHS, Census 2011) spelt every way systems print them.

``data/standard_codes.yaml`` lists each code once, with its description(s), its heading
and the suffix clinical systems add; ``spellings`` combines them in the word orders the
file gives (``A``, ``A - White - British``, ``British (White)``, ``British or mixed
British - ethnic category 2001 census``). ``extend`` adds them to the vocabulary as extra
codes, never changing a meaning characteristics.yaml already gives: explicit wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
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


@cache
def _own_spellings(key: str) -> dict[str, frozenset[str]]:
    """For each code list of ``key`` with a ``note``, the normalised spellings of its
    categories that only it has (not another list, nor characteristics.yaml): a value
    among them, or one of its codes, shows the list is in use. Its codes for unknown
    (99, Z) do not."""
    from eqia.settings.characteristics import normalise

    raw = safe_load(files("eqia").joinpath("data/characteristics.yaml").read_text("utf-8"))
    explicit = _meanings(raw["characteristics"][key], raw["unknowns"], normalise)
    lists = {c["list"]: [sp for sp in spellings(key)
                         if sp.source == c["list"] and sp.means not in UNKNOWN_MEANINGS]
             for c in _raw().get(key) or ()}
    texts = {name: {normalise(sp.text) for sp in sps} for name, sps in lists.items()}
    codes = {name: {normalise(c["code"]) for c in code_list["codes"]
                    if c.get("code") is not None and c["means"] not in UNKNOWN_MEANINGS}
             for code_list in _raw().get(key) or () for name in [code_list["list"]]}
    return {name: frozenset((texts[name] - explicit
                             - set().union(*(t for n, t in texts.items() if n != name)))
                            | codes[name])
            for name in lists if _note(key, name)}


def _meanings(body: dict, unknowns: dict, normalise: Callable[[object], str]) -> set[str]:
    """Every normalised spelling a characteristic's section of characteristics.yaml (and
    the shared ``unknowns``) gives a meaning."""
    taken = {normalise(v) for values in unknowns.values() for v in values}
    taken |= {normalise(v) for values in (body.get("unknown_codes") or {}).values()
              for v in values}
    for item in (*(body.get("categories") or ()), *(body.get("groups") or ())):
        taken |= {normalise(v) for v in (item["label"], *(item.get("codes") or ()),
                                         *(item.get("census") or ()))}
    return taken


def _note(key: str, name: str) -> str | None:
    return next((" ".join(str(c["note"]).split()) for c in _raw().get(key) or ()
                 if c["list"] == name and c.get("note")), None)


def classification_notes(values: dict[str, Iterable[object]]) -> list[str]:
    """Notes for the older classifications an extract uses (``values``: each
    characteristic's distinct raw values), saying what they cannot record."""
    from eqia.settings.characteristics import normalise

    notes = []
    for key, raw in values.items():
        if key not in _raw() or key == "spellings":
            continue
        seen = {normalise(v) for v in raw if v is not None}
        notes += [_note(key, name) for name, own in _own_spellings(key).items() if seen & own]
    return notes


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
        taken = _meanings(body, unknowns, normalise)
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

"""One way to load a settings file: eqia's packaged defaults, then a user's file, then
values given from Python, each layer checked against the same declared spec.

Every setting has its default in the packaged YAML file (``data/<name>``) and nowhere
else: a setting missing from that file is an error, so code never carries a second
default. A user's file holds only the keys it changes. All the problems of a layer are
reported at once (``eqia.settings.schema``); checks between settings (``strong_level``
above ``level``) run on the merged values and name the user's line where the user set it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from eqia.errors import ErrorCode
from eqia.settings.schema import Checker, Fields, python_values, validate
from eqia.settings.yamlfile import YamlDoc, read_yaml_doc, safe_load

#: A check across settings: the merged values -> ``(setting, problem, hint)`` for each
#: problem found; ``problem`` is a whole sentence.
CrossCheck = Callable[[dict], list[tuple[str, str, str | None]]]


@cache
def _packaged_data(name: str) -> Any:
    """eqia's own ``data/<name>``, parsed once with libyaml (fast; it is trusted)."""
    return safe_load(files("eqia").joinpath(f"data/{name}").read_text(encoding="utf-8"))


def packaged(name: str, spec: Fields, code: ErrorCode) -> dict:
    """The packaged defaults: checked like a user's file, and holding every setting."""
    doc = YamlDoc(_packaged_data(name), f"eqia/data/{name}", f"eqia's data/{name}")
    values = validate(doc, spec, code)
    ck = Checker(doc)
    for key in spec.fields:
        if key not in values:
            ck.add((), f"The setting '{key}' has no default in eqia's data/{name}")
    ck.raise_if_any(code)
    return values


def _user_layer(path: str | Path, spec: Fields, code: ErrorCode, what: str,
                missing_hint: str, hint: str | None, section: str | None,
                ) -> tuple[dict, YamlDoc, tuple]:
    """A user's file: its values, the file, and the path its settings sit under (the
    file may hold them at the top level or under ``section:``)."""
    doc = read_yaml_doc(path, what, missing_hint)
    if section and isinstance(doc.data, Mapping) and set(doc.data) == {section}:
        nested = validate(doc, Fields(fields={section: spec}), code, hint)
        return nested.get(section) or {}, doc, (section,)
    return validate(doc, spec, code, hint), doc, ()


def load_layers(name: str, spec: Fields, code: ErrorCode, *, path: str | Path | None = None,
                what: str, missing_hint: str = "Check the path.", hint: str | None = None,
                given: Mapping[str, Any] | None = None, section: str | None = None,
                cross: CrossCheck | None = None) -> tuple[dict, str | None]:
    """The settings of ``data/<name>`` with a user's file (``what``: "the rules file")
    and the values ``given`` from Python on top; and the user's file's name, if any.

    Every problem is a ``ConfigError`` with ``code``; ``hint`` goes with problems in
    values, ``missing_hint`` with a file that is not there.
    """
    values = packaged(name, spec, code)
    doc, under, source = None, (), None
    if path is not None:
        mine, doc, under = _user_layer(path, spec, code, what, missing_hint, hint, section)
        values.update(mine)
        source = doc.source
    if given:
        values.update(validate(python_values(given), spec, code, hint))
    if cross is not None:
        ck = Checker(doc or python_values({}, what))
        for key, problem, why in cross(values):
            set_by_user = doc is not None and (*under, key) in doc.lines and key not in (given or {})
            ck.add((*under, key) if set_by_user else (key,), problem, values.get(key),
                   hint=why or hint)
        ck.raise_if_any(code, hint)
    return values, source

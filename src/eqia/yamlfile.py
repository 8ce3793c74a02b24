"""The YAML files people write (mappings, proposals, rules, thresholds, report files), read
one way: a file that is not YAML is a ``ConfigError`` naming the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from eqia.errors import ConfigError

SYNTAX_HINT = ("Check the indentation and the quoting near that line (text with ': ' in it "
               "needs quotes, or a | block).")


_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml where PyYAML has it (several times faster: every
    command reads the characteristics vocabulary); the same values either way."""
    return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - a safe loader


def parse_yaml(text: str, source: str | None, what: str, code: str = "invalid-yaml") -> Any:
    """``what`` names the file for people: "the mapping file", "the rules file"."""
    try:
        return safe_load(text)
    except yaml.YAMLError:
        pass
    try:  # the pure-Python parser's message and line, which read better than libyaml's
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"{what[0].upper()}{what[1:]} is not valid YAML: {getattr(exc, 'problem', exc)}",
            code=code, file=source, line=mark.line + 1 if mark else None, hint=SYNTAX_HINT,
        ) from exc


def read_yaml(path: str | Path, what: str, code: str = "invalid-yaml",
              missing_hint: str = "Check the path.") -> Any:
    """Read a user's YAML file: UTF-8 (with or without BOM), or Windows-1252 as saved by
    Notepad on an older council PC."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what[0].upper()}{what[1:]} does not exist", code="missing-file",
                          file=str(p), hint=missing_hint)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = p.read_text(encoding="cp1252")
    except OSError as exc:
        raise ConfigError(f"{what[0].upper()}{what[1:]} could not be read ({exc.strerror})",
                          code="unreadable-file", file=str(p),
                          hint="Check that the file is not open elsewhere and that you may "
                               "read it.") from exc
    return parse_yaml(text, str(p), what, code)


def key_line(path: str | Path, *keys: str) -> int | None:
    """The line (from 1) where ``keys`` (a path of mapping keys, ``"data", "area"``) is
    written in a YAML file, so that an error can point at it; ``None`` if not found."""
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = next(((k, v) for k, v in node.value if k.value == key), None)
        if found is None:
            return None
        line, node = found[0].start_mark.line + 1, found[1]
    return line

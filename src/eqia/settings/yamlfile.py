"""The YAML files people write (mappings, proposals, rules, thresholds, report files), read
one way: a file that is not YAML is a ``ConfigError`` naming the file and the line.

A user's file is read strictly, because it comes from outside:

* no aliases (``*name``): nine lines of nested aliases expand to billions of values (the
  "billion laughs"), and nobody needs them in a settings file;
* dates are left as the text written, so that ``eqia.settings.schema`` checks them where a date is
  expected and an impossible one (``2026-11-31``) is an error naming the field, not a crash;
* a key given twice in one mapping is reported (YAML would keep the second silently);
* every value's line, and the text of every scalar as written, are kept for messages and
  for text fields (``version: 1.10`` stays "1.10", ``how: yes`` stays "yes").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eqia.errors import ConfigError, ErrorCode

SYNTAX_HINT = ("Check the indentation and the quoting near that line (text with ': ' in it "
               "needs quotes, or a | block).")
ALIAS_HINT = ("eqia does not accept YAML aliases (*name) or anchors used through them: write "
              "the value out in full where it is needed.")
#: A settings file is a few kilobytes; anything this big is an extract given by mistake
#: (and would take the pure-Python parser minutes).
MAX_BYTES = 2 * 1024 * 1024
#: Nesting of [ ] and { } deeper than this is no settings file; PyYAML's scanner slows down
#: with the square of the depth.
MAX_FLOW_DEPTH = 100

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml where PyYAML has it (several times faster: every
    command reads the characteristics vocabulary); the same values either way. For eqia's
    own files only: users' files go through ``read_yaml_doc``."""
    return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - a safe loader


class _AliasRefused(yaml.composer.ComposerError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses aliases and deep [ ] / { } nesting, and leaves
    timestamps as text."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasRefused(None, None, f"an alias (*{event.anchor}) is not allowed",
                                event.start_mark)
        return super().compose_node(parent, index)

    def fetch_flow_collection_start(self, token_class: Any) -> None:
        if self.flow_level >= MAX_FLOW_DEPTH:
            raise yaml.scanner.ScannerError(
                None, None, f"more than {MAX_FLOW_DEPTH} levels of [ ] or {{ }} inside each "
                "other", self.get_mark())
        super().fetch_flow_collection_start(token_class)


_StrictLoader.add_constructor(_TIMESTAMP, yaml.SafeLoader.construct_yaml_str)


@dataclass
class YamlDoc:
    """A user's YAML file as plain values, with where each value was written.

    Paths are tuples of mapping keys and list indexes: ``("data", "extracts", 0)``.
    """

    data: Any
    source: str | None = None
    what: str = "the file"  # for messages: "the proposal file"
    lines: dict[tuple, int] = field(default_factory=dict)  # a key's line, or an item's
    raw: dict[tuple, str] = field(default_factory=dict)  # scalar text as written
    raw_keys: dict[tuple, str] = field(default_factory=dict)  # mapping keys as written
    duplicates: list[tuple[tuple, int, int]] = field(default_factory=list)  # path, lines

    def label(self, path: tuple) -> str:
        """``("characteristics", "age", "rating")`` -> "characteristics: age: rating";
        ``("data", "extracts", 1)`` -> "data: extracts: item 2"."""
        parts = []
        for i, p in enumerate(path):
            at = path[:i + 1]
            if at in self.raw_keys:
                parts.append(self.raw_keys[at])
            elif isinstance(p, int) and not isinstance(p, bool):  # a list's item
                parts.append(f"item {p + 1}")
            else:
                parts.append(str(p))
        return ": ".join(parts)

    def line(self, path: tuple = ()) -> int | None:
        """The line of ``path``, or of the nearest enclosing value that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def _walk(loader: _StrictLoader, node: yaml.Node, path: tuple, doc: YamlDoc) -> None:
    if isinstance(node, yaml.ScalarNode):
        doc.raw[path] = node.value
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            doc.lines[(*path, i)] = item.start_mark.line + 1
            _walk(loader, item, (*path, i), doc)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # refused when constructed (an unhashable key)
            key = loader.construct_object(key_node)
            at = (*path, key)
            line = key_node.start_mark.line + 1
            if at in doc.lines:
                doc.duplicates.append((at, doc.lines[at], line))
            doc.lines[at] = line
            doc.raw_keys[at] = key_node.value
            _walk(loader, value_node, at, doc)


def _title(what: str) -> str:
    return what[0].upper() + what[1:]


def parse_yaml_doc(text: str, source: str | None, what: str) -> YamlDoc:
    """Parse a user's YAML text strictly (see the module docstring). ``what`` names the
    file for people: "the mapping file", "the rules file"."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        doc = YamlDoc(data, source, what)
        if node is not None:
            _walk(loader, node, (), doc)
        return doc
    except _AliasRefused as exc:
        mark = exc.problem_mark
        raise ConfigError(f"{_title(what)} uses a YAML alias: {exc.problem}", code=ErrorCode.INVALID_YAML,
                          file=source, line=mark.line + 1, hint=ALIAS_HINT) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"{_title(what)} is not valid YAML: {getattr(exc, 'problem', None) or exc}",
            code=ErrorCode.INVALID_YAML, file=source, line=mark.line + 1 if mark else None, hint=SYNTAX_HINT,
        ) from exc
    except RecursionError as exc:
        raise ConfigError(f"{_title(what)} is nested too deeply to be a settings file",
                          code=ErrorCode.INVALID_YAML, file=source, hint=SYNTAX_HINT) from exc
    finally:
        loader.dispose()


def _decode(data: bytes, source: str, what: str) -> str:
    """UTF-8 (with or without BOM), or Windows-1252 as saved by Notepad on an older
    council PC (after a BOM too: some editors add one whatever the encoding)."""
    if b"\x00" in data:
        raise ConfigError(f"{_title(what)} is not a text file", code=ErrorCode.INVALID_YAML, file=source,
                          hint="Give the YAML file you wrote (see eqia init), not an extract "
                               "or a document.")
    body = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{_title(what)} is not a text file eqia can read (byte "
                          f"{exc.start + 1} is neither UTF-8 nor Windows-1252 text)",
                          code=ErrorCode.INVALID_YAML, file=source,
                          hint="Save the file as UTF-8 text from your editor.") from exc


def read_yaml_doc(path: str | Path, what: str, missing_hint: str = "Check the path.") -> YamlDoc:
    """Read and parse a user's YAML file; every way it can fail is a ``ConfigError``
    (``invalid-yaml`` for a file that is not YAML text, whichever file it is)."""
    p = Path(path)
    src = str(p)
    if p.is_dir():
        raise ConfigError(f"{_title(what)} is a folder, not a file", code=ErrorCode.NOT_A_FILE,
                          file=src, hint=missing_hint)
    if not p.exists():
        raise ConfigError(f"{_title(what)} does not exist", code=ErrorCode.MISSING_FILE, file=src,
                          hint=missing_hint)
    if not p.is_file():  # a FIFO or a device would block or never end
        raise ConfigError(f"{_title(what)} is not a regular file", code=ErrorCode.NOT_A_FILE,
                          file=src, hint=missing_hint)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(
                f"{_title(what)} is {size / 1024 / 1024:.1f} MB, too large for a settings file "
                f"(at most {MAX_BYTES // 1024 // 1024} MB)", code=ErrorCode.INVALID_YAML, file=src,
                hint="Is this an extract? Give the YAML file you wrote (see eqia init).")
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{_title(what)} could not be read ({exc.strerror})",
                          code=ErrorCode.UNREADABLE_FILE, file=src,
                          hint="Check that the file is not open elsewhere and that you may "
                               "read it.") from exc
    return parse_yaml_doc(_decode(data, src, what), src, what)

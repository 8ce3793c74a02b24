"""Which mapping reads which provider's files in an audit: ``eqia audit --providers``.

An equality lead's extracts come from several providers, each with its own column names,
codes and workbook layout. The providers file gives each provider a file-name pattern
and the mapping, Excel sheet and header row to read its files with; a file that matches
no pattern is read with the default mapping (``--map``). A file matched by two providers
is an error (which mapping is meant cannot be guessed); a pattern that matches no file
is reported by the audit, not an error (a provider may have sent nothing this quarter).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path

from eqia.errors import ConfigError, ErrorCode
from eqia.read.mapping import MappingFile, load_mapping
from eqia.settings.schema import Fields, ListOf, Number, Text, named_file, validate
from eqia.settings.yamlfile import read_yaml_doc

EXAMPLE = """\
providers:
  - name: Acme Care             # how the audit names it (default: its pattern)
    files: "acme_*.xlsx"        # file names it sends (* any text; a list for several)
    map: acme-mapping.yaml      # its mapping file, relative to this file
    sheet: Data                 # the Excel sheet to read (optional)
    header_row: 3               # the row holding the column names (optional)
  - files: ["brightway*.csv", "bw_*.csv"]
    map: brightway-mapping.yaml
"""

PROVIDER_SCHEMA = Fields(noun="setting", fields={
    "name": Text(empty_ok=False, hint="Give the provider's name, e.g. name: Acme Care."),
    "files": ListOf(item=Text(empty_ok=False), single=True, empty_ok=False,
                    hint='Give a file-name pattern, e.g. files: "acme_*.xlsx".'),
    "map": Text(empty_ok=False, hint="Give the provider's mapping file, e.g. map: acme.yaml."),
    "sheet": Text(empty_ok=False, hint="Give the name of the Excel sheet to read."),
    "header_row": Number(integer=True, min=1, words="a row number, 1 or more", empty_ok=False),
}, required={"files": 'Add the file names it sends, e.g. files: "acme_*.xlsx".'})
SCHEMA = Fields(noun="setting", fields={
    "providers": ListOf(item=PROVIDER_SCHEMA, empty_ok=False,
                        hint="A list of providers, e.g.\n" + EXAMPLE),
}, required={"providers": "Add the providers, e.g.\n" + EXAMPLE})


@dataclass(frozen=True)
class Provider:
    """One provider: the file names it sends and how to read them."""

    name: str
    patterns: tuple[str, ...]
    mapping: MappingFile  # its sheet and header_row included

    def matches(self, name: str) -> bool:
        """A file name matches a pattern ignoring case (Windows and exports disagree)."""
        return any(fnmatchcase(name.casefold(), p.casefold()) for p in self.patterns)


@dataclass(frozen=True)
class Providers:
    providers: tuple[Provider, ...] = ()
    source: str | None = None

    def choose(self, path: object) -> Provider | None:
        """The provider whose pattern matches the file's name; ``None`` for none (the
        default mapping) and for a table in a database; an error for two."""
        if not isinstance(path, str | Path):
            return None
        name = Path(path).name
        found = [p for p in self.providers if p.matches(name)]
        if len(found) > 1:
            raise ConfigError(
                f"File '{name}' matches the patterns of {len(found)} providers ("
                + "; ".join(f"{p.name}: {', '.join(p.patterns)}" for p in found)
                + "), so which mapping reads it cannot be chosen",
                code=ErrorCode.BAD_AUDIT_PROVIDERS, file=self.source, value=name,
                hint="Make the patterns in the providers file narrower, so that each file "
                     "matches one provider at most.")
        return found[0] if found else None

    def unmatched(self, paths: list) -> list[Provider]:
        """Providers whose patterns match none of ``paths``: worth a warning."""
        names = [Path(p).name for p in paths if isinstance(p, str | Path)]
        return [p for p in self.providers if not any(p.matches(n) for n in names)]


def load_providers(path: str | Path | None) -> Providers:
    """The providers file, each provider's mapping read and checked now (a wrong mapping
    is the lead's to fix before any file is read)."""
    if path is None:
        return Providers()
    doc = read_yaml_doc(path, "the providers file",
                        missing_hint="Check the path given to --providers.")
    raw = validate(doc, SCHEMA, ErrorCode.BAD_AUDIT_PROVIDERS,
                   hint="A providers file looks like this:\n" + EXAMPLE)
    out = []
    for i, p in enumerate(raw["providers"]):
        mapping = (load_mapping(named_file(doc, ("providers", i, "map"), p["map"],
                                           "The mapping file"))
                   if p.get("map") else MappingFile())
        given = {k: p[k] for k in ("sheet", "header_row") if p.get(k) is not None}
        out.append(Provider(name=p.get("name") or ", ".join(p["files"]),
                            patterns=tuple(p["files"]),
                            mapping=replace(mapping, **given) if given else mapping))
    return Providers(tuple(out), doc.source)


__all__ = ["EXAMPLE", "Provider", "Providers", "load_providers"]

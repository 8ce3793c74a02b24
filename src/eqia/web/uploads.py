"""Reading an uploaded text file (a mapping, proposal, rules, thresholds or policy file)
as the CLI reads the same file from disk: UTF-8 (with or without a byte-order mark), under
a safe name, and an error that names it when it is not text."""

from __future__ import annotations

from pathlib import Path

from flask import request

from eqia.errors import UsageError
from eqia.web.workspace import safe_name


def uploaded_text(field: str, what: str, code: str) -> tuple[str, str] | None:
    """An uploaded text file's safe name and text; ``None`` if none was chosen."""
    file = request.files.get(field)
    if file is None or not file.filename:
        return None
    name = safe_name(file.filename)
    try:
        return name, file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"The {what} is not text (UTF-8)", code=code, file=name,
                         hint="Upload the file itself, saved as UTF-8.") from None


def yaml_upload(field: str, what: str) -> dict | None:
    """An uploaded YAML file (mapping or proposal) as its fields; ``None`` if none."""
    from eqia.settings.yamlfile import parse_yaml_doc

    code = f"bad-{what.split()[0]}"
    got = uploaded_text(field, what, code)
    if got is None:
        return None
    name, text = got
    doc = parse_yaml_doc(text, name, f"the {what}").data  # as the CLI reads it
    if not isinstance(doc, dict):
        raise UsageError(f"The {what} holds no fields", code=code, file=name,
                         hint="Upload a file made with eqia (eqia init, or this site).")
    return doc


def as_uploaded(message: str, path: Path, name: str) -> str:
    """A message about a file saved as ``path``, naming it as the person uploaded it."""
    return message.replace(str(path), name).replace(path.name, name)

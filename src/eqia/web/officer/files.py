"""What the officer has said so far, kept in the workspace as the files the CLI reads.

The workspace's ``state.json`` holds the extract's name, the mapping (``mapping``), the
proposal (``proposal``, the fields of ``eqia init``'s file), the comparator files
(``comparators``: characteristic -> the name as uploaded) and the council's own files
(``council``, see ``council.py``). Before the library reads them they are written out as
``mapping.yaml`` and ``proposal.yaml``, naming the workspace's files; downloaded, they
name the files as uploaded instead, to sit beside the extract and be used with the CLI.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from flask import abort, redirect, url_for

from eqia.web.sessions import current_workspace
from eqia.web.workspace import Workspace

#: The proposal's data fields an uploaded proposal file may set; its extracts, mapping
#: and comparators name files on another computer, uploaded on their own pages.
PROPOSAL_DATA = ("area", "ages", "as_of", "adverse_direction")


def workspace() -> Workspace:
    """This session's workspace, or back to the start when it has none (or it expired)."""
    ws = current_workspace()
    if ws is None or "extract" not in ws.state():
        abort(redirect(url_for("officer.upload", expired=1 if ws is None else None)))
    return ws


def update(ws: Workspace, **changes) -> None:
    state = ws.state()
    state.update(changes)
    ws.save_state(state)


def extract_path(ws: Workspace) -> Path:
    return ws.path / "extract" / ws.state()["extract"]


def comparator_path(ws: Workspace, key: str, name: str) -> Path:
    """A comparator file, under its name as uploaded (the document names it)."""
    return ws.path / "comparators" / key / name


def download_name(ws: Workspace, what: str) -> str:
    """``extract_mapping.yaml``: named after the extract, to keep beside it."""
    return f"{Path(ws.state()['extract']).stem}_{what}.yaml"


def mapping_text(mapping: dict) -> str:
    head = ("# How this service's system writes equality data, made with eqia serve.\n"
            "# Use it again with: eqia profile EXTRACT --map THIS_FILE\n")
    return head + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)


def mapping_path(ws: Workspace) -> Path | None:
    """``mapping.yaml`` as the officer has made it so far; ``None`` if there is none."""
    mapping = ws.state().get("mapping")
    if not mapping:
        return None
    path = ws.path / "mapping.yaml"
    path.write_text(mapping_text(mapping), encoding="utf-8")
    return path


def proposal_dict(ws: Workspace, for_download: bool = False) -> dict:
    """The proposal file's fields; the data section names the workspace's files (or, to
    download, the file names as uploaded)."""
    state = ws.state()
    proposal = dict(state.get("proposal") or {})
    data = dict(proposal.get("data") or {})
    extract = extract_path(ws)
    data["extracts"] = [extract.name if for_download else str(extract)]
    if state.get("mapping"):
        data["mapping"] = (download_name(ws, "mapping") if for_download
                           else str(ws.path / "mapping.yaml"))
    else:
        data.pop("mapping", None)
    comparators = state.get("comparators") or {}
    if comparators:
        data["comparators"] = {k: name if for_download else str(comparator_path(ws, k, name))
                               for k, name in comparators.items()}
    else:
        data.pop("comparators", None)
    data.setdefault("as_of", state.get("as_of"))
    data.setdefault("area", "")
    proposal["data"] = data
    if not proposal.get("name"):
        proposal["name"] = "" if for_download else "Untitled proposal"
    return proposal


def proposal_text(ws: Workspace) -> str:
    """The proposal file to download."""
    return ("# EqIA proposal, made with eqia serve. Draft the documents again with:\n"
            "#     eqia screen THIS_FILE --out out/\n"
            "# (with the extract, the mapping file and any comparator files beside it)\n"
            + yaml.safe_dump(proposal_dict(ws, for_download=True), sort_keys=False,
                             allow_unicode=True))


def proposal_path(ws: Workspace) -> Path:
    """``proposal.yaml`` (and ``mapping.yaml``) as the officer has said so far."""
    mapping_path(ws)
    path = ws.path / "proposal.yaml"
    path.write_text(yaml.safe_dump(proposal_dict(ws), sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


def uploaded_proposal(doc: dict) -> tuple[dict, dict]:
    """An uploaded proposal file's fields to keep, and the comparator files it names
    (characteristic -> file name), which the officer then uploads on the area page."""
    data = doc.get("data") or {}
    named = data.get("comparators")
    doc["data"] = {k: v for k, v in data.items() if k in PROPOSAL_DATA}
    return doc, {str(k): str(v) for k, v in named.items()} if isinstance(named, dict) else {}

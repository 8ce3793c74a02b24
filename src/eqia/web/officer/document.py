"""Step 6 of the officer's journey: the document, drafted as ``eqia screen`` drafts it
(with the council's own templates, rules and disclosure policy, if given), previewed,
and downloaded as Word, HTML or Markdown, for internal use or for publication."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from flask import abort, g, redirect, render_template, request, send_file, url_for

from eqia.cli.screen_cmd import draft_screening
from eqia.web.officer.blueprint import bp
from eqia.web.officer.council import council_files
from eqia.web.officer.files import proposal_path, update, workspace
from eqia.web.workspace import Workspace

FORMATS = {"docx": "Word", "html": "HTML", "md": "Markdown (zip with its charts)"}
#: How the document page names the council's own files in use.
COUNCIL_WORDS = {"templates": "templates", "rules": "flag rules",
                 "assessment_rules": "rating rules", "policy": "disclosure policy (when published)"}
DOWNLOAD_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html", "md": "application/zip",
}


@bp.route("/document", methods=["GET", "POST"])
def document():
    ws = workspace()
    g.back = url_for("officer.proposal")
    publish = ws.state().get("publish", False)
    if request.method == "POST":
        publish = request.form.get("publish") == "yes"
        update(ws, publish=publish)
        return redirect(url_for("officer.document"))
    given = ws.state().get("council") or {}
    council = [(words, ", ".join(given[what]) if what == "templates" else given[what])
               for what, words in COUNCIL_WORDS.items() if given.get(what)]
    return render_template("officer/document.html", publish=publish, formats=FORMATS,
                           council=council, **_drafted(ws, publish))


def _drafted(ws: Workspace, publish: bool) -> dict:
    """The documents for what the officer has said, drafted again only when it changed
    (the page is shown again after each download and after the publish choice)."""
    key = _inputs_key(ws, publish)
    done = ws.state().get("drafted") or {}
    if done.get("key") == key and (ws.path / "out").is_dir():
        return done["view"]
    own = council_files(ws)  # eqia screen --templates --rules --assessment-rules --policy
    screening, _ = draft_screening(
        proposal_path(ws), ws.clear("out"), publish=publish, templates=own["templates"],
        rules=own["rules"], assessment_rules=own["assessment_rules"],
        policy=own["policy"] if publish else None, formats=tuple(FORMATS))
    view = {
        "grid": [{"label": r["label"], "rating": r["rating"]["value"],
                  "source": r["rating"]["source"], "suggested": r["suggested"]["rating"]}
                 for r in screening.context["grid"]],
        "suggested": screening.context["judgement"]["suggested_text"],
        "rows": screening.profile.rows, "area": screening.comparison.area.name,
        "name": screening.proposal.text["name"],
    }
    update(ws, drafted={"key": key, "view": view})
    return view


def _inputs_key(ws: Workspace, publish: bool) -> str:
    """A digest of everything the documents are drafted from: the proposal, the mapping,
    the comparator files and the council's own files, and the publish choice."""
    digest = hashlib.sha256(proposal_path(ws).read_bytes() + str(publish).encode())
    files = [ws.path / "mapping.yaml", *sorted((ws.path / "comparators").rglob("*")),
             *sorted((ws.path / "council").rglob("*"))]
    for path in files:
        if path.is_file():
            digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _document(ws: Workspace, fmt: str) -> Path:
    found = sorted((ws.path / "out").glob(f"*.{fmt}"))
    if not found:
        abort(404)
    return found[0]


@bp.get("/document/preview")
def preview():
    ws = workspace()
    resp = send_file(_document(ws, "html"), mimetype="text/html")
    # The document's own HTML: its styles inline, its charts as data: images; no script.
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'")
    return resp


@bp.get("/download/<fmt>")
def download(fmt: str):
    ws = workspace()
    if fmt not in FORMATS:
        abort(404)
    path = _document(ws, fmt)
    if fmt != "md":
        return send_file(path, mimetype=DOWNLOAD_TYPES[fmt], as_attachment=True,
                         download_name=path.name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(path, path.name)
        charts = path.with_name(f"{path.stem}_charts")
        for png in sorted(charts.glob("*.png")) if charts.is_dir() else []:
            zf.write(png, f"{charts.name}/{png.name}")
    buffer.seek(0)
    return send_file(buffer, mimetype=DOWNLOAD_TYPES[fmt], as_attachment=True,
                     download_name=f"{path.stem}_markdown.zip")

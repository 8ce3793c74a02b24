"""The equality lead's journey: this period's extracts (and last period's, and the
council's own mapping and thresholds) -> the completeness heatmap, with a page per
service and per characteristic -> the workbook and the narrative. ``eqia audit FOLDER
--previous FOLDER --map FILE --thresholds FILE --out OUT`` on the same files."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, g, redirect, render_template, request, send_file, url_for

from eqia.cli.common import parse_as_of
from eqia.documents import audit as au
from eqia.errors import EqiaError, ErrorCode, UsageError
from eqia.read.mapping import load_mapping
from eqia.settings import characteristics as chars
from eqia.settings.thresholds import load_thresholds
from eqia.web.sessions import current_workspace
from eqia.web.uploads import as_uploaded, uploaded_text
from eqia.web.workspace import EXTRACT_SUFFIXES, Workspace, safe_name, unpack_zip

bp = Blueprint("lead", __name__, url_prefix="/audit")

DOWNLOADS = {
    "workbook": (au.WORKBOOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "narrative-docx": (au.NARRATIVE_DOCX, "application/vnd.openxmlformats-officedocument."
                       "wordprocessingml.document"),
    "narrative-html": (au.NARRATIVE_HTML, "text/html"),
    "csv": (au.CSV_FILE, "text/csv"),
}


def _save_files(ws: Workspace, field: str, folder: str) -> int:
    """The uploaded extracts (and the extracts in any zip) in ``folder``; how many."""
    from flask import current_app

    target = ws.clear(folder)
    n = 0
    for file in request.files.getlist(field):
        if not file or not file.filename:
            continue
        name = safe_name(file.filename, "extract.csv")
        if name.lower().endswith(".zip"):
            archive = ws.path / "upload.zip"
            file.save(archive)
            try:
                n += len(unpack_zip(archive, target, current_app.config["MAX_CONTENT_LENGTH"]))
            finally:
                archive.unlink(missing_ok=True)
        elif name.lower().endswith(EXTRACT_SUFFIXES):
            if (target / name).exists():
                raise UsageError("Two uploaded extracts have the same name", code="duplicate-"
                                 "extract", value=name, hint="Give each service's file its "
                                 "own name: the name is the service's.")
            file.save(target / name)
            n += 1
        else:
            raise UsageError("This file is not an extract", code=ErrorCode.UNSUPPORTED_FORMAT, file=name,
                             hint="Upload CSV, Excel (.xlsx) or Parquet files, or a .zip of "
                             "them.")
    return n


def _workspace() -> Workspace:
    ws = current_workspace()
    if ws is None or "audit" not in ws.state():
        abort(redirect(url_for("lead.upload", expired=1 if ws is None else None)))
    return ws


def _result(ws: Workspace) -> au.AuditResult:
    """``eqia audit current/ [--previous previous/] --as-of DATE``, outputs written too."""
    state = ws.state()["audit"]
    result = au.audit_paths(
        [ws.path / "audit" / "current"],
        previous=[ws.path / "audit" / "previous"] if state.get("previous") else None,
        as_of=parse_as_of(state["as_of"]),
        mapping=ws.path / "audit" / "mapping.yaml" if state.get("mapping") else None,
        thresholds=ws.path / "audit" / "thresholds.yaml" if state.get("thresholds") else None)
    if result.summary.empty and result.failures:
        raise UsageError("No extract could be read: there is nothing to audit",
                         code="no-extracts", details=[f"{_name(f)}: {m}"
                                                      for f, m in result.failures],
                         hint="Fix the files named above, or upload others.")
    return result


def _name(path: str) -> str:
    from pathlib import Path

    return Path(path).name


@bp.route("/", methods=["GET", "POST"])
def upload():
    today = dt.date.today().isoformat()
    if request.method == "GET":
        return render_template("lead/upload.html", today=today, errors={},
                               expired=request.args.get("expired"))
    g.back = url_for("lead.upload")
    as_of = parse_as_of(request.form.get("as_of") or None).isoformat()
    ws = current_workspace(create=True)
    errors: dict[str, str] = {}
    thresholds = _save_setting(ws, errors, "thresholds")
    mapping = _save_setting(ws, errors, "mapping")
    current = _save_files(ws, "current", "audit/current")
    if not current:
        errors["current"] = "Choose this period's extracts (or a zip of them)"
    if errors:
        return render_template("lead/upload.html", today=today, errors=errors), 400
    previous = _save_files(ws, "previous", "audit/previous")
    state = ws.state()
    state["audit"] = {"as_of": as_of, "previous": previous > 0, "thresholds": thresholds,
                      "mapping": mapping}
    ws.save_state(state)
    _audit(ws)
    return redirect(url_for("lead.heatmap"))


#: The council's files an audit may take besides the extracts: (what it is called, its
#: error code, the loader that checks it as ``eqia audit`` does).
SETTINGS = {
    "thresholds": ("thresholds file", ErrorCode.BAD_THRESHOLDS, load_thresholds),
    "mapping": ("mapping file", ErrorCode.BAD_MAPPING, load_mapping),
}


def _save_setting(ws: Workspace, errors: dict[str, str], field: str) -> str | None:
    """The council's thresholds or mapping file, if one was chosen, checked as ``eqia
    audit --thresholds`` / ``--map`` reads it; its name as uploaded (its problem goes in
    ``errors``)."""
    what, code, load = SETTINGS[field]
    got = uploaded_text(field, what, code)
    path = ws.path / "audit" / f"{field}.yaml"
    path.unlink(missing_ok=True)
    if got is None:
        return None
    name, text = got
    ws.folder("audit")
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except EqiaError as exc:
        path.unlink()
        errors[field] = as_uploaded(exc.describe(), path, name)
        return None
    return name


def _audit(ws: Workspace) -> None:
    """Audit the uploads once: the outputs to download, and what the pages show."""
    import json

    result = _result(ws)
    au.write_outputs(result, ws.clear("audit/out"))
    ctx = au.page_context(result)
    for f in ctx["failures"]:
        f["file"] = _name(f["file"])
        f["message"] = ws.hide(f["message"])
    for w in ctx["warnings"]:
        w["message"] = ws.hide(w["message"])
    names = ctx["characteristics"]
    ctx["keys"] = [{"key": k, "name": au.characteristic_name(k)}
                   for k in result.thresholds.audited if au.characteristic_name(k) in names]
    (ws.path / "audit" / "page.json").write_text(json.dumps(ctx), encoding="utf-8")


def _page(ws: Workspace) -> dict:
    import json

    path = ws.path / "audit" / "page.json"
    if not path.is_file():
        abort(redirect(url_for("lead.upload")))
    return json.loads(path.read_text(encoding="utf-8"))


@bp.get("/heatmap")
def heatmap():
    ws = _workspace()
    ctx = _page(ws)
    for i, row in enumerate(ctx["rows"]):  # in au.service_order, as /service/<index>
        row["url"] = url_for("lead.service", index=i)
    keys = [{**k, "url": url_for("lead.characteristic", key=k["key"])} for k in ctx["keys"]]
    return render_template("lead/heatmap.html", ctx=ctx, keys=keys, gaps=ctx["gaps"],
                           downloads=DOWNLOADS)


@bp.get("/service/<int:index>")
def service(index: int):
    ws = _workspace()
    ctx = _page(ws)
    if not 0 <= index < len(ctx["rows"]):
        abort(404)
    name = ctx["rows"][index]["service"]
    return render_template("lead/detail.html", title=name, by="characteristic",
                           rows=[d for d in ctx["detail"] if d["service"] == name],
                           previous=ctx["previous_given"])


@bp.get("/characteristic/<key>")
def characteristic(key: str):
    ws = _workspace()
    if key not in chars.keys():
        abort(404)
    ctx = _page(ws)
    name = au.characteristic_name(key)
    return render_template("lead/detail.html", title=name, by="service",
                           rows=[d for d in ctx["detail"] if d["characteristic"] == name],
                           previous=ctx["previous_given"])


@bp.get("/download/<what>")
def download(what: str):
    ws = _workspace()
    if what not in DOWNLOADS:
        abort(404)
    name, mime = DOWNLOADS[what]
    path = ws.path / "audit" / "out" / name
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=mime, as_attachment=True, download_name=name)

"""Steps 1 and 2 of the officer's journey: upload the extract (and any mapping or
proposal file), choose its sheet, then see its profile with every row reconciled and map
each column and unrecognised code: what ``eqia profile --map`` reads and prints."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from flask import g, redirect, render_template, request, send_file, url_for

from eqia.analysis.profile import REASON_LABELS
from eqia.analysis.profiling import profile_file
from eqia.cli.common import parse_as_of, pct
from eqia.read.files import read_table
from eqia.read.mapping import load_mapping
from eqia.read.table import rows_text
from eqia.settings import characteristics as chars
from eqia.web.officer.blueprint import bp
from eqia.web.officer.files import (
    download_name,
    extract_path,
    mapping_path,
    mapping_text,
    update,
    uploaded_proposal,
    workspace,
)
from eqia.web.sessions import current_workspace
from eqia.web.uploads import yaml_upload
from eqia.web.workspace import EXTRACT_SUFFIXES, Workspace, safe_name

UNKNOWN_CHOICES = (("not_known", "Unknown: not known (not asked or not recorded)"),
                   ("not_stated", "Unknown: not stated (asked, declined)"))


def _profile(ws: Workspace):
    """The extract's profile, read as ``eqia profile --map mapping.yaml --as-of``."""
    state = ws.state()
    mapping = load_mapping(mapping_path(ws))
    return profile_file(extract_path(ws), mapping, as_of=parse_as_of(state.get("as_of")),
                        sheet=state.get("sheet"), by_age=False), mapping


# -- step 1: upload ----------------------------------------------------------------------


@bp.route("/", methods=["GET", "POST"])
def upload():
    if request.method == "GET":
        return render_template("officer/upload.html", today=dt.date.today().isoformat(),
                               expired=request.args.get("expired"))
    g.back = url_for("officer.upload")
    file = request.files.get("extract")
    if file is None or not file.filename:
        return render_template("officer/upload.html", today=dt.date.today().isoformat(),
                               errors={"extract": "Choose the extract file to upload"}), 400
    name = safe_name(file.filename, "extract.csv")
    if not name.lower().endswith(EXTRACT_SUFFIXES):
        return render_template("officer/upload.html", today=dt.date.today().isoformat(),
                               errors={"extract": "The extract must be a CSV, Excel (.xlsx) "
                                       "or Parquet file"}), 400
    as_of = parse_as_of(request.form.get("as_of") or None).isoformat()
    mapping = yaml_upload("mapping", "mapping file")
    proposal = yaml_upload("proposal", "proposal file")
    ws = current_workspace(create=True)
    folder = ws.clear("extract")
    file.save(folder / name)
    for stale in ("mapping.yaml", "proposal.yaml"):
        (ws.path / stale).unlink(missing_ok=True)
    ws.clear("out")
    ws.clear("comparators")
    state = {"extract": name, "as_of": as_of, "mapping": None, "proposal": {}, "sheet": None,
             "comparators": {}, "comparators_named": {}, "council": ws.state().get("council")}
    if proposal:
        proposal, named = uploaded_proposal(proposal)
        if proposal["data"].get("as_of"):
            state["as_of"] = str(proposal["data"]["as_of"])
        state.update(proposal=proposal, comparators_named=named)
    ws.save_state(state)
    if mapping is not None:
        mapping.pop("sheet", None)  # the sheet is chosen on the next page
        update(ws, mapping=mapping)
        load_mapping(mapping_path(ws))  # a wrong mapping fails here, with its message
    sheets = _sheets(folder / name)
    if len(sheets) > 1:
        return redirect(url_for("officer.sheet"))
    return redirect(url_for("officer.profile"))


def _sheets(path: Path) -> list[str]:
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return []
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - the reader says what is wrong with it, next page
        return []
    try:
        return list(book.sheetnames)
    finally:
        book.close()


@bp.route("/sheet", methods=["GET", "POST"])
def sheet():
    ws = workspace()
    sheets = _sheets(extract_path(ws))
    if request.method == "POST":
        chosen = request.form.get("sheet")
        if chosen not in sheets:
            return render_template("officer/sheet.html", sheets=sheets,
                                   error="Choose the sheet that holds the records"), 400
        update(ws, sheet=chosen)
        return redirect(url_for("officer.profile"))
    return render_template("officer/sheet.html", sheets=sheets, error=None)


# -- step 2: profile, column matches and codes -------------------------------------------


@bp.get("/profile")
def profile():
    ws = workspace()
    g.back = url_for("officer.upload")
    prof, _ = _profile(ws)
    return render_template("officer/profile.html", **_profile_view(ws, prof))


def _profile_view(ws: Workspace, prof) -> dict:
    """The profile as ``eqia profile`` prints it, and the mapping form's choices."""
    rec = prof.reconciliation().set_index("characteristic")
    blocks = []
    for key in [*chars.keys(), chars.ETHNICITY_DETAILED]:
        if key not in rec.index or not prof.is_collected(key):
            continue
        known = prof.known(key)
        rows = [{"category": str(c), "count": f"{n:,}", "share": pct(n / known) if known else ""}
                for c, n in prof.category_counts(key).items()]
        rows += [{"category": f"Unknown: {REASON_LABELS.get(r, r)}", "count": f"{n:,}",
                  "share": "", "muted": True}
                 for r, n in sorted(prof.unknown_by_reason(key).items())]
        invalid = []
        if key == "age":  # dates of birth are a person's data: counted by reason, as the CLI
            rows += [{"category": f"Invalid: {r}", "count": f"{n:,}", "share": "",
                      "muted": True} for r, n in sorted(prof.invalid_by_reason(key).items())]
        else:
            for r in prof.invalid_values(key).itertuples():
                rows.append({"category": f"Invalid: '{r.value}' ({r.reason})",
                             "count": f"{r.count:,}", "share": "", "muted": True})
                if key != chars.ETHNICITY_DETAILED:  # mapped once, under ethnicity
                    invalid.append({"value": str(r.value), "count": f"{r.count:,}"})
        r = rec.loc[key]
        blocks.append({
            "key": key, "name": chars.display_name(key), "rows": rows, "invalid": invalid,
            "column": prof.columns.get("ethnicity" if key == chars.ETHNICITY_DETAILED else key),
            "choices": [] if not invalid else [*((c, c) for c in chars.get(key).labels),
                                               *UNKNOWN_CHOICES],
            "reconciles": bool(r["balanced"]),
            "line": (f"{int(r['rows']):,} rows = {int(r['in_categories']):,} in categories + "
                     f"{int(r['unknown']):,} unknown + {int(r['invalid']):,} invalid: "
                     f"{'reconciles' if bool(r['balanced']) else 'DOES NOT RECONCILE'}. "
                     f"Known for {pct(known / r['rows'] if r['rows'] else 0, 0)}."),
        })
    shape = "one row per person" if prof.shape == "records" else "aggregated counts"
    if prof.set_aside and prof.shape == "records":
        summary = (f"{prof.file_rows:,} rows in file = {prof.rows:,} people + "
                   f"{rows_text(prof.set_aside)} ({shape})")
    else:
        summary = f"{prof.rows:,} rows ({shape})"
    state = ws.state()
    table = read_table(extract_path(ws), state.get("sheet"), load_mapping(mapping_path(ws)))
    return {
        "source": prof.source, "summary": summary, "age_source": prof.age_source,
        "blocks": blocks, "notes": prof.notes,
        "missing": [chars.display_name(k) for k in chars.keys() if not prof.is_collected(k)],
        "columns": [str(c) for c in table.data.columns],
        "matches": [{"key": k, "name": chars.display_name(k), "column": prof.columns.get(k)}
                    for k in chars.keys()],
        "has_mapping": bool(state.get("mapping")),
    }


@bp.post("/profile")
def save_mapping():
    """The column matches and code choices, added to the mapping; then the profile again."""
    ws = workspace()
    g.back = url_for("officer.profile")
    prof, _ = _profile(ws)
    mapping = dict(ws.state().get("mapping") or {})
    columns = dict(mapping.get("columns") or {})
    ignore = list(mapping.get("ignore_columns") or [])
    values = {k: dict(v or {}) for k, v in (mapping.get("values") or {}).items()}
    for key in chars.keys():
        chosen = request.form.get(f"column-{key}")
        now = prof.columns.get(key)
        if chosen is None or chosen == (now or ""):
            continue
        if chosen == "":
            if now and now not in ignore:
                ignore.append(now)
        else:
            columns["age" if key == "age" else key] = chosen
            if chosen in ignore:
                ignore.remove(chosen)
    for key in chars.keys():
        if key == "age" or not prof.is_collected(key):
            continue
        allowed = {c for c in chars.get(key).labels} | {c for c, _ in UNKNOWN_CHOICES}
        for i, r in enumerate(prof.invalid_values(key).itertuples()):
            target = request.form.get(f"value-{key}-{i}")
            if target in allowed:
                values.setdefault(key, {})[str(r.value)] = target
    mapping.update({k: v for k, v in (("columns", columns), ("values", values),
                                      ("ignore_columns", ignore)) if v})
    update(ws, mapping=mapping)
    load_mapping(mapping_path(ws))
    return redirect(url_for("officer.profile", _anchor="mapping"))


@bp.get("/mapping.yaml")
def mapping_file():
    ws = workspace()
    text = mapping_text(ws.state().get("mapping") or {})
    return send_file(io.BytesIO(text.encode("utf-8")), mimetype="application/x-yaml",
                     as_attachment=True,
                     download_name=download_name(ws, "mapping"))

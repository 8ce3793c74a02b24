"""The officer's journey: extract -> profile and mapping -> area -> comparison -> proposal
-> document. Each step calls what the matching CLI command calls.

What the officer has said so far is kept in the workspace's ``state.json`` as the two
files the CLI reads: a mapping (``mapping``) and a proposal (``proposal``, the fields of
``eqia init``'s file). They are written out as ``mapping.yaml`` and ``proposal.yaml``
before the library reads them, and can be downloaded to use with the CLI.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import yaml
from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from rich.text import Text

from eqia.agebands import parse_range
from eqia.analysis.profile import REASON_LABELS
from eqia.analysis.profiling import profile_file
from eqia.census.areas import find_area, list_areas
from eqia.cli.common import parse_as_of, pct
from eqia.cli.compare_cmd import _flag, _missing, _num, _ratio, _share
from eqia.cli.screen_cmd import draft_screening
from eqia.documents.proposal import OFFICER_FIELDS, SIGNOFF_FIELDS
from eqia.errors import EqiaError, UsageError
from eqia.judgement.assess import RATINGS
from eqia.judgement.findings import completeness_sentence, flag_sentences
from eqia.read.files import read_table
from eqia.read.mapping import load_mapping
from eqia.read.table import rows_text
from eqia.settings import changes
from eqia.settings import characteristics as chars
from eqia.web.sessions import current_workspace
from eqia.web.workspace import EXTRACT_SUFFIXES, Workspace, safe_name

bp = Blueprint("officer", __name__, url_prefix="/officer")

#: The proposal's free-text fields, in the order of the council's form.
TEXT_FIELDS = (
    ("name", "Name of the policy, procedure, project or service", "input"),
    ("directorate", "Directorate", "input"),
    ("assessed", "What is being assessed?", "input"),
    ("owner", "Responsible owner or senior officer", "input"),
    ("date_initial_screening", "Date of initial screening (YYYY-MM-DD)", "input"),
    ("context", "Why the change is proposed, and what it replaces", "textarea"),
    ("aims", "Aims and objectives", "textarea"),
    ("beneficiaries", "Who will benefit, and how", "textarea"),
    ("involvement", "Part 3: who was consulted or engaged, how, and what they said", "textarea"),
    ("potential_impact", "Part 4: the potential impact, in your words", "textarea"),
    ("monitoring", "How the impact will be monitored", "textarea"),
)
OFFICER_LABELS = {
    "affects": "Could it affect this group less favourably than others?",
    "how": "If yes, how",
    "rating": "Your rating (leave blank to take the data's suggestion)",
    "direction": "Direction of the impact",
    "internal_action": "Is internal action required? If yes, what?",
    "further_assessment": "Is further assessment required? If yes, why?",
    "promotes": "Could it promote equal opportunities for this group?",
    "promotes_how": "How good practice can promote equal opportunities",
}
SIGNOFF_LABELS = {
    "senior_officer": "Senior officer", "senior_job_title": "Senior officer's job title",
    "senior_date": "Date signed by the senior officer (YYYY-MM-DD)",
    "dmt_member": "Directorate Management Team member", "dmt_job_title": "DMT member's job title",
    "dmt_date": "Date signed for the DMT (YYYY-MM-DD)",
}
UNKNOWN_CHOICES = (("not_known", "Unknown: not known (not asked or not recorded)"),
                   ("not_stated", "Unknown: not stated (asked, declined)"))
FORMATS = {"docx": "Word", "html": "HTML", "md": "Markdown (zip with its charts)"}
DOWNLOAD_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html", "md": "application/zip",
}


# -- the workspace's files --------------------------------------------------------------


def _workspace() -> Workspace:
    """This session's workspace, or back to the start when it has none (or it expired)."""
    ws = current_workspace()
    if ws is None or "extract" not in ws.state():
        abort(redirect(url_for("officer.upload", expired=1 if ws is None else None)))
    return ws


def _extract(ws: Workspace) -> Path:
    return ws.path / "extract" / ws.state()["extract"]


def _mapping_path(ws: Workspace) -> Path | None:
    mapping = ws.state().get("mapping")
    if not mapping:
        return None
    path = ws.path / "mapping.yaml"
    path.write_text(_mapping_text(mapping), encoding="utf-8")
    return path


def _mapping_text(mapping: dict) -> str:
    head = ("# How this service's system writes equality data, made with eqia serve.\n"
            "# Use it again with: eqia profile EXTRACT --map THIS_FILE\n")
    return head + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)


def _proposal_dict(ws: Workspace, for_download: bool = False) -> dict:
    """The proposal file's fields; the data section names the workspace's files (or, to
    download, the file names as uploaded, to sit beside the extract)."""
    state = ws.state()
    proposal = dict(state.get("proposal") or {})
    data = dict(proposal.get("data") or {})
    extract, mapping = _extract(ws), ws.path / "mapping.yaml"
    data["extracts"] = [extract.name if for_download else str(extract)]
    if state.get("mapping"):
        data["mapping"] = _download_name(ws, "mapping") if for_download else str(mapping)
    else:
        data.pop("mapping", None)
    data.setdefault("as_of", state.get("as_of"))
    data.setdefault("area", "")
    proposal["data"] = data
    if not proposal.get("name"):
        proposal["name"] = "" if for_download else "Untitled proposal"
    return proposal


def _download_name(ws: Workspace, what: str) -> str:
    """``extract_mapping.yaml``: named after the extract, to keep beside it."""
    return f"{Path(ws.state()['extract']).stem}_{what}.yaml"


def _proposal_path(ws: Workspace) -> Path:
    _mapping_path(ws)
    path = ws.path / "proposal.yaml"
    path.write_text(yaml.safe_dump(_proposal_dict(ws), sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


def _update(ws: Workspace, **changes_) -> None:
    state = ws.state()
    state.update(changes_)
    ws.save_state(state)


def _profile(ws: Workspace):
    """The extract's profile, read as ``eqia profile --map mapping.yaml --as-of``."""
    state = ws.state()
    mapping = load_mapping(_mapping_path(ws))
    return profile_file(_extract(ws), mapping, as_of=parse_as_of(state.get("as_of")),
                        sheet=state.get("sheet"), by_age=False), mapping


def _plain(markup: str) -> str:
    """A cell the CLI prints with colours, as the same words without them."""
    return Text.from_markup(markup).plain


def _yaml_upload(field: str, what: str) -> dict | None:
    """An uploaded YAML file (mapping or proposal) as its fields; ``None`` if none."""
    file = request.files.get(field)
    if file is None or not file.filename:
        return None
    from eqia.settings.yamlfile import parse_yaml_doc

    name = safe_name(file.filename)
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"The {what} is not text (UTF-8)", code=f"bad-{what.split()[0]}",
                         file=name, hint="Upload the YAML file itself, saved as UTF-8.") from None
    doc = parse_yaml_doc(text, name, f"the {what}").data  # as the CLI reads it
    if not isinstance(doc, dict):
        raise UsageError(f"The {what} holds no fields", code=f"bad-{what.split()[0]}",
                         file=name,
                         hint="Upload a file made with eqia (eqia init, or this site).")
    return doc


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
    mapping = _yaml_upload("mapping", "mapping file")
    proposal = _yaml_upload("proposal", "proposal file")
    ws = current_workspace(create=True)
    folder = ws.clear("extract")
    file.save(folder / name)
    for stale in ("mapping.yaml", "proposal.yaml"):
        (ws.path / stale).unlink(missing_ok=True)
    ws.clear("out")
    state = {"extract": name, "as_of": as_of, "mapping": None, "proposal": {}, "sheet": None}
    if proposal:
        data = proposal.get("data") or {}
        proposal["data"] = {k: v for k, v in data.items() if k in ("area", "ages", "as_of",
                                                                    "adverse_direction")}
        if data.get("as_of"):
            state["as_of"] = str(data["as_of"])
        state["proposal"] = proposal
    ws.save_state(state)
    if mapping is not None:
        mapping.pop("sheet", None)  # the sheet is chosen on the next page
        _update(ws, mapping=mapping)
        load_mapping(_mapping_path(ws))  # a wrong mapping fails here, with its message
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
    ws = _workspace()
    sheets = _sheets(_extract(ws))
    if request.method == "POST":
        chosen = request.form.get("sheet")
        if chosen not in sheets:
            return render_template("officer/sheet.html", sheets=sheets,
                                   error="Choose the sheet that holds the records"), 400
        _update(ws, sheet=chosen)
        return redirect(url_for("officer.profile"))
    return render_template("officer/sheet.html", sheets=sheets, error=None)


# -- step 2: profile, column matches and codes -------------------------------------------


@bp.get("/profile")
def profile():
    ws = _workspace()
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
    table = read_table(_extract(ws), state.get("sheet"), load_mapping(_mapping_path(ws)))
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
    ws = _workspace()
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
    _update(ws, mapping=mapping)
    load_mapping(_mapping_path(ws))
    return redirect(url_for("officer.profile", _anchor="mapping"))


@bp.get("/mapping.yaml")
def mapping_file():
    ws = _workspace()
    text = _mapping_text(ws.state().get("mapping") or {})
    return send_file(io.BytesIO(text.encode("utf-8")), mimetype="application/x-yaml",
                     as_attachment=True,
                     download_name=_download_name(ws, "mapping"))


# -- step 3: area, ages and what is changing ----------------------------------------------


@bp.route("/area", methods=["GET", "POST"])
def area():
    ws = _workspace()
    proposal = ws.state().get("proposal") or {}
    data = proposal.get("data") or {}
    form = {"area": data.get("area") or "", "ages": data.get("ages") or "",
            "change": list(changes.parse(proposal.get("change")) if proposal.get("change")
                           else ())}
    errors = {}
    if request.method == "POST":
        form = {"area": request.form.get("area", "").strip(),
                "ages": request.form.get("ages", "").strip(),
                "change": request.form.getlist("change")}
        if not form["area"]:
            errors["area"] = "Enter the area to compare with, by name or ONS code"
        else:
            try:
                form["area"] = find_area(form["area"]).name
            except EqiaError as exc:  # unknown or ambiguous: the closest names
                errors["area"] = exc.describe()
        try:
            parse_range(form["ages"] or None)
        except EqiaError as exc:
            errors["ages"] = exc.describe()
        try:
            chosen = changes.parse(form["change"])
        except ValueError:
            errors["change"] = "Choose from the list"
            chosen = ()
        if not errors:
            proposal = dict(proposal)
            proposal["data"] = {**data, "area": form["area"], "ages": form["ages"] or None}
            proposal["change"] = list(chosen) or None
            _update(ws, proposal=proposal)
            return redirect(url_for("officer.compare"))
    areas = list_areas()
    return render_template("officer/area.html", form=form, errors=errors,
                           areas=[(r.name, r.code) for r in areas.itertuples()],
                           vocab=list(changes.vocabulary().values())), 400 if errors else 200


# -- step 4: the comparison ---------------------------------------------------------------


def _screen(ws: Workspace, publish: bool, formats: tuple[str, ...]):
    """``eqia screen proposal.yaml --out out/`` on what the officer has said so far."""
    out = ws.clear("out")
    return draft_screening(_proposal_path(ws), out, publish=publish, formats=formats)


@bp.get("/compare")
def compare():
    ws = _workspace()
    g.back = url_for("officer.area")
    if not (ws.state().get("proposal") or {}).get("data", {}).get("area"):
        return redirect(url_for("officer.area"))
    from eqia.documents.proposal import load_proposal
    from eqia.documents.screening import run_screening

    screening = run_screening(load_proposal(_proposal_path(ws)))  # as eqia screen, unwritten
    result = screening.comparison
    from eqia.render.charts import chart_png

    charts = ws.clear("charts")
    blocks = []
    part2 = {p["key"]: p for p in screening.context["part2"]}
    for key, r in result.results.items():
        if key == chars.ETHNICITY_DETAILED:
            continue
        block = {"key": key, "name": r.name, "status": r.status, "reason": r.reason,
                 "rows": [], "notes": list(dict.fromkeys(r.notes + r.caveats)),
                 "sentences": flag_sentences(result, key, result.area.name)
                 if r.status == "compared" else [],
                 "completeness": completeness_sentence(result, key)
                 if r.status != "not_collected" else "",
                 "age_adjusted": r.age_adjusted, "chart": None}
        if r.status not in ("not_collected", "no_baseline"):
            for _, row in result.headline(key).iterrows():
                users = f"{int(row['service_count']):,}"
                if row["flag"] in ("no_census_category", "outside_ages"):
                    block["rows"].append([str(row["category"]), users, "", "", "",
                                          _plain(_flag(row)), ""])
                    continue
                users += f" ({_num(row['expected'], '{:,.1f}')})"
                area_share = pct(row["baseline_share"]) + (
                    " estimated" if row["baseline_estimated"] else "")
                block["rows"].append([str(row["category"]), users, _share(row),
                                      area_share, _ratio(row), _plain(_flag(row)),
                                      _missing(row)])
            block["known"] = (f"Known for {r.known:,} of {r.rows:,} ({pct(r.known_share, 0)}); "
                              f"unknown {r.unknown:,} ({r.not_stated:,} not stated, "
                              f"{r.not_known:,} not known), invalid {r.invalid:,}.")
            census = (f"Compared with {r.population}: Census 2021 {r.table_id}" if r.table_id
                      else f"Compared with {r.population}")
            if r.baseline_unknown:
                census += (f"; {r.baseline_unknown:,} of {r.baseline_total:,} did not answer "
                           "and are left out of the shares")
            block["census"] = census + "."
            chart = (part2.get(key) or {}).get("chart")
            if chart and chart.get("categories"):
                _, alt = chart_png(chart, charts / f"{key}.png", r.name, result.area.name)
                block["chart"] = {"url": url_for("officer.chart", key=key), "alt": alt}
        blocks.append(block)
    return render_template("officer/compare.html", result=result, blocks=blocks,
                           focus=screening.focus, method=result.method.replace("\n", " "))


@bp.get("/chart/<key>.png")
def chart(key: str):
    ws = _workspace()
    if key not in chars.keys():
        abort(404)
    path = ws.path / "charts" / f"{key}.png"
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/png")


# -- step 5: the screening questions --------------------------------------------------------


def _clean(text: str | None) -> str | None:
    text = (text or "").replace("\r\n", "\n").strip()
    return text or None


@bp.route("/proposal", methods=["GET", "POST"])
def proposal():
    ws = _workspace()
    g.back = url_for("officer.proposal")
    state = ws.state()
    prop = dict(state.get("proposal") or {})
    if request.method == "POST":
        uploaded = _yaml_upload("proposal_file", "proposal file")
        if uploaded is not None:
            data = uploaded.get("data") or {}
            uploaded["data"] = {**(prop.get("data") or {}), **{
                k: v for k, v in data.items() if k in ("area", "ages", "adverse_direction")}}
            prop = uploaded
        else:
            for key, _label, _kind in TEXT_FIELDS:
                prop[key] = _clean(request.form.get(key))
            grid = {}
            for key in chars.keys():
                answers = {f: _clean(request.form.get(f"{key}-{f}")) for f in OFFICER_FIELDS}
                if any(answers.values()):
                    grid[key] = answers
            prop["characteristics"] = grid or None
            prop["judgement"] = {"option": _clean(request.form.get("judgement-option")),
                                 "text": _clean(request.form.get("judgement-text"))}
            prop["signoff"] = {f: _clean(request.form.get(f"signoff-{f}"))
                               for f in SIGNOFF_FIELDS}
        _update(ws, proposal=prop)
        from eqia.documents.proposal import load_proposal

        load_proposal(_proposal_path(ws))  # checked as eqia screen checks it
        if uploaded is not None:
            return redirect(url_for("officer.proposal"))
        if not prop.get("name"):
            return render_template("officer/proposal.html", **_proposal_view(prop), errors={
                "name": "Enter the name of the policy, procedure, project or service"}), 400
        return redirect(url_for("officer.document"))
    return render_template("officer/proposal.html", **_proposal_view(prop), errors={})


def _proposal_view(prop: dict) -> dict:
    grid = prop.get("characteristics") or {}
    return {
        "prop": prop, "text_fields": TEXT_FIELDS, "officer_fields": OFFICER_FIELDS,
        "labels": OFFICER_LABELS, "ratings": RATINGS,
        "grid": [{"key": k, "name": chars.get(k).grid_label,
                  "answers": {f: _answer(v) for f, v in (grid.get(k) or {}).items()}}
                 for k in chars.keys()],
        "judgement": prop.get("judgement") or {},
        "signoff": prop.get("signoff") or {}, "signoff_labels": SIGNOFF_LABELS,
    }


def _answer(value: object) -> str:
    """A grid answer as the form shows it: YAML reads an unquoted YES as true."""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return "" if value is None else str(value)


@bp.get("/proposal.yaml")
def proposal_file():
    ws = _workspace()
    text = ("# EqIA proposal, made with eqia serve. Draft the documents again with:\n"
            "#     eqia screen THIS_FILE --out out/\n"
            "# (with the extract, and the mapping file, beside this file)\n"
            + yaml.safe_dump(_proposal_dict(ws, for_download=True), sort_keys=False,
                             allow_unicode=True))
    return send_file(io.BytesIO(text.encode("utf-8")), mimetype="application/x-yaml",
                     as_attachment=True, download_name=_download_name(ws, "proposal"))


# -- step 6: the document -------------------------------------------------------------------


@bp.route("/document", methods=["GET", "POST"])
def document():
    ws = _workspace()
    g.back = url_for("officer.proposal")
    publish = ws.state().get("publish", False)
    if request.method == "POST":
        publish = request.form.get("publish") == "yes"
        _update(ws, publish=publish)
        return redirect(url_for("officer.document"))
    return render_template("officer/document.html", publish=publish, formats=FORMATS,
                           **_drafted(ws, publish))


def _drafted(ws: Workspace, publish: bool) -> dict:
    """The documents for what the officer has said, drafted again only when it changed
    (the page is shown again after each download and after the publish choice)."""
    import hashlib

    proposal = _proposal_path(ws).read_bytes()
    mapping = (ws.path / "mapping.yaml").read_bytes() if ws.state().get("mapping") else b""
    key = hashlib.sha256(proposal + b"\0" + mapping + str(publish).encode()).hexdigest()
    done = ws.state().get("drafted") or {}
    if done.get("key") == key and (ws.path / "out").is_dir():
        return done["view"]
    screening, _ = _screen(ws, publish=publish, formats=tuple(FORMATS))
    view = {
        "grid": [{"label": r["label"], "rating": r["rating"]["value"],
                  "source": r["rating"]["source"], "suggested": r["suggested"]["rating"]}
                 for r in screening.context["grid"]],
        "suggested": screening.context["judgement"]["suggested_text"],
        "rows": screening.profile.rows, "area": screening.comparison.area.name,
        "name": screening.proposal.text["name"],
    }
    _update(ws, drafted={"key": key, "view": view})
    return view


def _document(ws: Workspace, fmt: str) -> Path:
    found = sorted((ws.path / "out").glob(f"*.{fmt}"))
    if not found:
        abort(404)
    return found[0]


@bp.get("/document/preview")
def preview():
    ws = _workspace()
    resp = send_file(_document(ws, "html"), mimetype="text/html")
    # The document's own HTML: its styles inline, its charts as data: images; no script.
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'")
    return resp


@bp.get("/download/<fmt>")
def download(fmt: str):
    ws = _workspace()
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

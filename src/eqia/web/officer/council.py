"""The council's own files for the officer's journey, as ``eqia screen`` takes them:
templates (``--templates DIR``), flag rules (``--rules``), rating rules
(``--assessment-rules``) and a disclosure policy (``--policy``, used when publishing).

Each is checked when it is uploaded by the loader the CLI uses, so a mistake is shown on
this page with the CLI's message; templates are checked only for their names here and are
rendered later in the same sandbox as on the command line (plain data only, no file
outside their folder, which is the workspace's ``council/templates``). The state keeps
the names as uploaded (``council``: what -> name, or a list of names for templates).
"""

from __future__ import annotations

from pathlib import Path

from flask import redirect, render_template, request, url_for

from eqia.errors import EqiaError, ErrorCode, UsageError
from eqia.web.officer.blueprint import bp
from eqia.web.officer.files import update, workspace
from eqia.web.uploads import as_uploaded, uploaded_text
from eqia.web.workspace import Workspace, safe_name

#: The YAML settings files: what -> (label, hint, the loader that checks it, its code).
SETTINGS = {
    "rules": ("Flag rules (YAML)", "The thresholds for flagging a group as under- or "
              "over-represented, as eqia compare --rules FILE takes them.", ErrorCode.BAD_RULES),
    "assessment_rules": ("Rating rules (YAML)", "How the suggested HIGH, MEDIUM and LOW "
                         "ratings are decided, as eqia screen --assessment-rules FILE takes "
                         "them.", ErrorCode.BAD_RULES),
    "policy": ("Disclosure policy (YAML)", "How small numbers are protected in the document "
               "for publication, as eqia screen --publish --policy FILE takes it. Used only "
               "for the published document.", ErrorCode.BAD_DISCLOSURE_POLICY),
}
#: The files a templates folder may hold: Word templates and Jinja templates.
TEMPLATE_SUFFIXES = (".docx", ".j2")
#: Where the pages that link here go back to.
RETURNS = ("officer.compare", "officer.document", "officer.proposal")


def _load(what: str, path: Path) -> None:
    """Read a settings file as ``eqia screen`` will: its error, if any, is raised."""
    if what == "rules":
        from eqia.settings.rules import load_rules

        load_rules(path)
    elif what == "assessment_rules":
        from eqia.judgement.assess import load_assessment_rules

        load_assessment_rules(path)
    else:
        from eqia.settings.disclosure import load_policy

        load_policy(path)


def council_files(ws: Workspace) -> dict[str, Path | None]:
    """The paths to pass to ``draft_screening`` (``templates``, ``rules``,
    ``assessment_rules``, ``policy``); ``None`` for what the council has not given."""
    given = ws.state().get("council") or {}
    folder = ws.path / "council"
    paths: dict[str, Path | None] = {
        "templates": folder / "templates" if given.get("templates") else None}
    for what in SETTINGS:
        paths[what] = folder / f"{what}.yaml" if given.get(what) else None
    return paths


@bp.route("/council", methods=["GET", "POST"])
def council():
    ws = workspace()
    back = request.values.get("back")
    back = back if back in RETURNS else "officer.document"
    errors: dict[str, str] = {}
    if request.method == "POST":
        given = dict(ws.state().get("council") or {})
        _remove(ws, given, request.form.getlist("remove"))
        for what in SETTINGS:
            _save_setting(ws, given, what, errors)
        _save_templates(ws, given, errors)
        update(ws, council=given, drafted=None)
        if not errors:
            return redirect(url_for(back))
    return render_template("officer/council.html", **_view(ws), errors=errors,
                           back=back), 400 if errors else 200


def _view(ws: Workspace) -> dict:
    """The form's fields, and what the council has given so far (to remove)."""
    given = ws.state().get("council") or {}
    fields = [{"what": what, "label": label, "hint": hint, "now": given.get(what)}
              for what, (label, hint, _code) in SETTINGS.items()]
    present = [("templates", f"the templates ({', '.join(given['templates'])})")
               ] if given.get("templates") else []
    present += [(f["what"], f"the {f['label'].split(' (')[0].lower()} ({f['now']})")
                for f in fields if f["now"]]
    return {"given": given, "fields": fields, "present": present}


def _remove(ws: Workspace, given: dict, chosen: list[str]) -> None:
    for what in chosen:
        if what == "templates" and given.pop("templates", None):
            ws.clear("council/templates")
        elif what in SETTINGS and given.pop(what, None):
            (ws.path / "council" / f"{what}.yaml").unlink(missing_ok=True)


def _save_setting(ws: Workspace, given: dict, what: str, errors: dict[str, str]) -> None:
    """One settings file, kept only if its loader reads it without an error."""
    label, _hint, code = SETTINGS[what]
    got = uploaded_text(what, label.split(" (")[0].lower() + " file", code)
    if got is None:
        return
    name, text = got
    new = ws.folder("council") / f"{what}.new.yaml"
    new.write_text(text, encoding="utf-8")
    try:
        _load(what, new)
    except EqiaError as exc:
        new.unlink(missing_ok=True)
        errors[what] = as_uploaded(exc.describe(), new, name)
        return
    new.replace(ws.path / "council" / f"{what}.yaml")
    given[what] = name


def _save_templates(ws: Workspace, given: dict, errors: dict[str, str]) -> None:
    """The template files chosen replace the council's templates (all of them): one
    folder, flat, under safe names, as ``--templates DIR`` reads it."""
    files = [f for f in request.files.getlist("templates") if f and f.filename]
    if not files:
        return
    names = [safe_name(f.filename) for f in files]
    try:
        bad = [n for n in names if not n.lower().endswith(TEMPLATE_SUFFIXES)]
        if bad:
            raise UsageError("These files are not templates", code=ErrorCode.UNSUPPORTED_FORMAT,
                             details=bad, hint="Upload Word templates (.docx) and Jinja "
                             "templates (.html.j2, .md.j2), as in eqia's templates folder.")
        if len(set(names)) < len(names):
            raise UsageError("Two template files have the same name",
                             code=ErrorCode.UNSUPPORTED_FORMAT,
                             hint="Upload each template once.")
    except EqiaError as exc:
        errors["templates"] = exc.describe()
        return
    folder = ws.clear("council/templates")
    for file, name in zip(files, names, strict=True):
        file.save(folder / name)
    given["templates"] = names

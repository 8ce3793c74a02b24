"""Step 3 of the officer's journey: the area, the eligible ages and what is changing, and
(optionally) a comparator population per characteristic instead of the census: the
proposal's ``data: area, ages, comparators`` and ``change``, as ``eqia compare --area
--ages --comparator characteristic=file.csv`` takes them."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from eqia.agebands import parse_range
from eqia.census.areas import find_area, list_areas
from eqia.census.comparators import comparator_from_file
from eqia.errors import EqiaError
from eqia.settings import changes
from eqia.settings import characteristics as chars
from eqia.web.officer.blueprint import bp
from eqia.web.officer.files import comparator_path, update, workspace
from eqia.web.uploads import as_uploaded
from eqia.web.workspace import Workspace, safe_name


@bp.route("/area", methods=["GET", "POST"])
def area():
    ws = workspace()
    proposal = ws.state().get("proposal") or {}
    data = proposal.get("data") or {}
    form = {"area": data.get("area") or "", "ages": data.get("ages") or "",
            "change": list(changes.parse(proposal.get("change")) if proposal.get("change")
                           else ())}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {"area": request.form.get("area", "").strip(),
                "ages": request.form.get("ages", "").strip(),
                "change": request.form.getlist("change")}
        chosen = _check(form, errors)
        _save_comparators(ws, errors)
        if not errors:
            proposal = dict(proposal)
            proposal["data"] = {**data, "area": form["area"], "ages": form["ages"] or None}
            proposal["change"] = list(chosen) or None
            update(ws, proposal=proposal)
            if request.form.get("next") == "stay":
                return redirect(url_for("officer.area", _anchor="comparators"))
            return redirect(url_for("officer.compare"))
    state = ws.state()
    comparators = [{"key": k, "name": chars.display_name(k),
                    "file": (state.get("comparators") or {}).get(k),
                    "named": (state.get("comparators_named") or {}).get(k)}
                   for k in chars.keys()]
    return render_template(
        "officer/area.html", form=form, errors=errors,
        areas=[(r.name, r.code) for r in list_areas().itertuples()],
        vocab=list(changes.vocabulary().values()), comparators=comparators,
        comparators_open=any(c["file"] or c["named"] or f"comparator-{c['key']}" in errors
                             for c in comparators)), 400 if errors else 200


def _check(form: dict, errors: dict[str, str]) -> tuple[str, ...]:
    """The area found by name or code, the ages and the change, as the CLI checks them;
    what is wrong goes in ``errors`` by field. Returns the change's keys."""
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
        return changes.parse(form["change"])
    except ValueError:
        errors["change"] = "Choose from the list"
        return ()


def _save_comparators(ws: Workspace, errors: dict[str, str]) -> None:
    """The comparator files chosen, each read as ``--comparator key=file`` reads it
    (a file that fails is not kept, and its message goes by its field); those ticked
    to remove, removed."""
    state = ws.state()
    kept = dict(state.get("comparators") or {})
    named = dict(state.get("comparators_named") or {})
    for key in request.form.getlist("remove-comparator"):
        if kept.pop(key, None) is not None:
            ws.clear(f"comparators/{key}")
    for key in chars.keys():
        file = request.files.get(f"comparator-{key}")
        if file is None or not file.filename:
            continue
        name = safe_name(file.filename, f"{key}.csv")
        new = ws.folder("comparators") / f"{key}.new.csv"
        file.save(new)
        try:
            comparator_from_file(new, key)
        except EqiaError as exc:
            new.unlink(missing_ok=True)
            errors[f"comparator-{key}"] = as_uploaded(exc.describe(), new, name)
            continue
        ws.clear(f"comparators/{key}")
        new.replace(comparator_path(ws, key, name))
        kept[key] = name
        named.pop(key, None)
    update(ws, comparators=kept, comparators_named=named)

"""Step 5 of the officer's journey: the screening questions, the same fields as the
proposal file (``eqia init``'s), which can be uploaded instead and downloaded to keep:
the text about the proposal, the grid of answers per characteristic, the judgement, the
action plan's rows and the sign-off."""

from __future__ import annotations

import io

from flask import g, redirect, render_template, request, send_file, url_for

from eqia.documents.proposal import ACTION_FIELDS, OFFICER_FIELDS, SIGNOFF_FIELDS
from eqia.judgement.assess import RATINGS
from eqia.settings import characteristics as chars
from eqia.web.officer.blueprint import bp
from eqia.web.officer.files import (
    download_name,
    proposal_path,
    proposal_text,
    update,
    uploaded_proposal,
    workspace,
)
from eqia.web.uploads import yaml_upload

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
#: The action plan's columns, as the document heads them.
ACTION_LABELS = {
    "issue": "Issue", "action": "Action", "expected_outcome": "Expected outcome",
    "owner": "Owner", "timescale": "Timescale", "cost": "Cost",
}
SIGNOFF_LABELS = {
    "senior_officer": "Senior officer", "senior_job_title": "Senior officer's job title",
    "senior_date": "Date signed by the senior officer (YYYY-MM-DD)",
    "dmt_member": "Directorate Management Team member", "dmt_job_title": "DMT member's job title",
    "dmt_date": "Date signed for the DMT (YYYY-MM-DD)",
}


def _clean(text: str | None) -> str | None:
    text = (text or "").replace("\r\n", "\n").strip()
    return text or None


@bp.route("/proposal", methods=["GET", "POST"])
def proposal():
    ws = workspace()
    g.back = url_for("officer.proposal")
    prop = dict(ws.state().get("proposal") or {})
    if request.method == "GET":
        return render_template("officer/proposal.html", **_view(prop), errors={})
    uploaded = yaml_upload("proposal_file", "proposal file")
    if uploaded is not None:
        uploaded, named = uploaded_proposal(uploaded)
        uploaded["data"] = {**(prop.get("data") or {}), **{  # the extract's date stays
            k: v for k, v in uploaded["data"].items() if k != "as_of"}}
        update(ws, proposal=uploaded, comparators_named=named)
    else:
        prop.update(_answers())
        update(ws, proposal=prop)
    from eqia.documents.proposal import load_proposal

    load_proposal(proposal_path(ws))  # checked as eqia screen checks it
    if uploaded is not None:
        return redirect(url_for("officer.proposal"))
    if request.form.get("next") == "add-action":
        return redirect(url_for("officer.proposal", _anchor="action-plan"))
    if not prop.get("name"):
        return render_template("officer/proposal.html", **_view(prop), errors={
            "name": "Enter the name of the policy, procedure, project or service"}), 400
    return redirect(url_for("officer.document"))


def _answers() -> dict:
    """The form's answers as the proposal file's fields."""
    got: dict = {key: _clean(request.form.get(key)) for key, _label, _kind in TEXT_FIELDS}
    grid = {}
    for key in chars.keys():
        answers = {f: _clean(request.form.get(f"{key}-{f}")) for f in OFFICER_FIELDS}
        if any(answers.values()):
            grid[key] = answers
    got["characteristics"] = grid or None
    got["judgement"] = {"option": _clean(request.form.get("judgement-option")),
                        "text": _clean(request.form.get("judgement-text"))}
    rows = []
    for i in range(int(request.form.get("action-count") or 0)):
        row = {f: _clean(request.form.get(f"action-{i}-{f}")) for f in ACTION_FIELDS}
        if any(row.values()):  # a row left empty (or emptied) is not kept
            rows.append({f: v or "" for f, v in row.items()})
    got["action_plan"] = rows or None
    got["signoff"] = {f: _clean(request.form.get(f"signoff-{f}")) for f in SIGNOFF_FIELDS}
    return got


def _view(prop: dict) -> dict:
    grid = prop.get("characteristics") or {}
    actions = [{f: _answer((row or {}).get(f)) for f in ACTION_FIELDS}
               for row in prop.get("action_plan") or []]
    return {
        "prop": prop, "text_fields": TEXT_FIELDS, "officer_fields": OFFICER_FIELDS,
        "labels": OFFICER_LABELS, "ratings": RATINGS,
        "grid": [{"key": k, "name": chars.get(k).grid_label,
                  "answers": {f: _answer(v) for f, v in (grid.get(k) or {}).items()}}
                 for k in chars.keys()],
        "judgement": prop.get("judgement") or {},
        "actions": [*actions, dict.fromkeys(ACTION_FIELDS, "")],  # and one more to fill in
        "action_labels": ACTION_LABELS,
        "signoff": prop.get("signoff") or {}, "signoff_labels": SIGNOFF_LABELS,
    }


def _answer(value: object) -> str:
    """An answer as the form shows it: YAML reads an unquoted YES as true."""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    return "" if value is None else str(value)


@bp.get("/proposal.yaml")
def proposal_file():
    ws = workspace()
    return send_file(io.BytesIO(proposal_text(ws).encode("utf-8")),
                     mimetype="application/x-yaml", as_attachment=True,
                     download_name=download_name(ws, "proposal"))

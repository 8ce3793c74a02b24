"""The render context: formatting of numbers and the words templates show.

``prepare(context)`` returns a deep copy of the screening context (never changing the
caller's) with defaults for optional keys and a few derived, already-worded fields, so
that the three formats say exactly the same thing and a council's template needs no
logic to tell the officer's answer from the data's suggestion:

* ``grid[i].show``: ``affects``, ``officer`` ("Officer: LOW (Negative)" or None),
  ``suggested_label`` ("Suggested from data" or, where the officer gave no rating,
  "Suggested from data – officer to confirm"), ``suggested`` ("MEDIUM (Negative)"),
  ``reasons``, ``internal_action``, ``further_assessment``, ``promotes``.
* ``judgement.option_list``: ``[{number, text, suggested, chosen}]`` for Options 1-3.
* ``action_plan[i].source_text``: "Added by the officer", or "Suggested from data" and
  what for (mitigation, outreach, a gap in the data), from the row's ``kind``.
* ``proposal.date_full_eqia_text``: the date of the full EqIA, or what the judgement says
  about one ("Not required: the officer chose Option 1 ...", "To be set: ... Option 3").
* ``part2[i].chart_alt`` / ``chart_image``: filled by the renderer (plain strings).

Flags are always written in words (never carried by colour alone).
"""

from __future__ import annotations

import copy
from typing import Any

from eqia.analysis.comparison import FLAG_WORDS
from eqia.disclosure.engine import HIDDEN_FLAG_TEXT
from eqia.disclosure.published import UNSAID
from eqia.words import BLANK, missing
from eqia.words import percent as pct

OPTION_TEXT = {
    1: "Option 1 – Screening sufficient",
    2: "Option 2 – Internal action required",
    3: "Option 3 – Full impact assessment",
}

FLAG_TEXT = {**FLAG_WORDS, UNSAID: "Not shown"}

TO_COMPLETE = "Officer to complete"

#: What a suggested action row is for, after "Suggested from data".
ACTION_KIND_TEXT = {"mitigation": ": mitigation for a group disproportionately affected",
                    "outreach": ": outreach to a group under-reached",
                    "review": ": a group whose figures are not shown",
                    "data_gap": ": a gap in the data"}


def ci(row_or_low: Any, high: Any = None) -> str:
    """'12.2% to 14.6%' from a row (ci_low, ci_high) or two shares."""
    if isinstance(row_or_low, dict):
        low, high = row_or_low.get("ci_low"), row_or_low.get("ci_high")
    else:
        low = row_or_low
    if missing(low) or missing(high):
        return BLANK
    return f"{pct(low)} to {pct(high)}"


def flag_words(flag: str, hidden: bool) -> str:
    """A population comparison's flag in words, saying when its figures are hidden (the
    annual report's tables; ``flag_text`` says more for the EqIA)."""
    if flag == UNSAID:
        return HIDDEN_FLAG_TEXT[:1].upper() + HIDDEN_FLAG_TEXT[1:]
    text = FLAG_TEXT.get(flag, str(flag))
    return f"{text}; {HIDDEN_FLAG_TEXT}" if hidden else text


def flag_text(row: dict) -> str:
    """The flag in words, with its strength, whether missing data could explain it, and
    whether the group's figures are hidden (the finding stands without them); for a group
    with no flag, its screening signal (its own 95% test) where it has one."""
    flag = row.get("flag") or "none"
    text = FLAG_TEXT.get(flag, str(flag))
    if flag in ("under", "over"):
        if row.get("strength") == "99.8%":
            text += " (strong evidence)"
        if row.get("missing_could_explain") is True:
            text += "; could be due to missing data"
    elif flag == "none" and row.get("signal_95") in ("under", "over"):
        word = "fewer" if row["signal_95"] == "under" else "more"
        text += f" (screening signal: {word} on this group's own test)"
    if row.get("hidden"):
        text = (HIDDEN_FLAG_TEXT[:1].upper() + HIDDEN_FLAG_TEXT[1:] if flag == UNSAID
                else f"{text}; {HIDDEN_FLAG_TEXT}")
    if row.get("baseline_estimated"):
        text += "; population figure estimated"
    return text


def paras(text: Any, empty: str = f"Not given – {TO_COMPLETE.lower()}.") -> list[str]:
    """Split officer text into paragraphs on blank lines (single newlines kept as spaces)."""
    if missing(text) or not str(text).strip():
        return [empty]
    blocks = [b.strip() for b in str(text).replace("\r\n", "\n").split("\n\n")]
    return [" ".join(b.split("\n")) for b in blocks if b]


def or_text(value: Any, empty: str = "Not given") -> str:
    return empty if missing(value) or str(value).strip() == "" else str(value)


def mdcell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def rating_text(rating: Any, direction: Any) -> str:
    if missing(rating):
        return BLANK
    return f"{rating} ({direction})" if direction else str(rating)


def _answer(answer: Any, how: Any) -> str | None:
    if missing(answer):
        return None
    return f"{answer} – {how}" if how else str(answer)


def _grid_show(row: dict) -> dict:
    officer = row.get("officer") or {}
    suggested = row.get("suggested") or {}
    has_officer = not missing(officer.get("rating"))
    return {
        "affects": _answer(row["affects"].get("answer"), row["affects"].get("how"))
        or TO_COMPLETE,
        "officer": (f"Officer: {rating_text(officer['rating'], officer.get('direction'))}"
                    if has_officer else None),
        "suggested_label": ("Suggested from data" if has_officer
                            else "Suggested from data – officer to confirm"),
        "suggested": rating_text(suggested.get("rating"), suggested.get("direction")),
        "reasons": list(suggested.get("reasons") or []),
        "internal_action": f"a) Internal action: {or_text(row.get('internal_action'), TO_COMPLETE)}",
        "further_assessment": "b) Further assessment: "
        + or_text(row.get("further_assessment"), TO_COMPLETE),
        "promotes": _answer(row["promotes"].get("answer"), row["promotes"].get("how"))
        or TO_COMPLETE,
    }


def full_eqia_text(date: Any, officer_option: Any, suggested_option: Any) -> str:
    """What the header says under "Date of full EqIA": a full EqIA is Option 3's outcome,
    so without a date it follows the officer's option (or says it is not yet decided)."""
    if not missing(date) and str(date).strip():
        return str(date)
    if officer_option == 3:
        return "To be set: the officer chose Option 3, a full impact assessment"
    if officer_option in (1, 2):
        return (f"Not required: the officer chose {OPTION_TEXT[officer_option]}, not a full "
                "impact assessment")
    if suggested_option == 3:
        return ("Not yet decided: the data suggests Option 3, a full impact assessment; the "
                "officer decides")
    return "Not yet decided: it follows the officer's judgement"


def _option_list(j: dict) -> list[dict]:
    texts = {int(k): v for k, v in (j.get("options") or OPTION_TEXT).items()}
    return [{"number": n, "text": texts.get(n, OPTION_TEXT[n]),
             "suggested": j.get("suggested_option") == n, "chosen": j.get("officer_option") == n}
            for n in (1, 2, 3)]


def prepare(context: dict) -> dict:
    """A deep copy of ``context`` ready for the templates (see the module docstring)."""
    ctx = copy.deepcopy(context)
    meta = ctx.setdefault("meta", {})
    meta.setdefault("eligible_ages", None)
    meta.setdefault("extracts", [])
    meta.setdefault("census_notes", [])
    meta.setdefault("method_summary", None)
    meta.setdefault("rating_rules", [])
    meta.setdefault("not_for_publication", meta.get("mode") != "publish")
    meta["internal"] = meta.get("mode", "internal") != "publish"
    p = ctx.setdefault("proposal", {})
    p.setdefault("versions", [])
    p.setdefault("signoff", {})
    p.setdefault("change", [])
    p.setdefault("change_text", None)
    p.setdefault("scope", "services")
    meta.setdefault("focus", None)
    for row in ctx.get("grid", []):
        row.setdefault("affects", {"answer": None, "how": None, "source": None})
        row.setdefault("promotes", {"answer": None, "how": None})
        row.setdefault("officer", {"rating": None, "direction": None})
        row.setdefault("suggested", {"rating": None, "direction": None, "reasons": []})
        row["suggested"].setdefault("direction", None)
        row["suggested"].setdefault("readings", [])
        row.setdefault("internal_action", None)
        row.setdefault("further_assessment", None)
        row["show"] = _grid_show(row)
    for c in ctx.get("part2", []):
        for key, default in (("guidance", None), ("caveats", []), ("rows", []),
                             ("unknown_rows", []), ("sentences", []), ("chart", None),
                             ("age_adjusted", False), ("table_id", None), ("base", None),
                             ("readings", [])):
            c.setdefault(key, default)
        c.setdefault("status", "compared" if c.get("available") else "not_compared")
        c["chart_alt"] = None
        c["chart_image"] = None
        if c["chart"]:
            c["chart"].setdefault("area", meta.get("area", "the area"))
            c["chart"].setdefault("title", c.get("name"))
    j = ctx.setdefault("judgement", {})
    j.setdefault("officer_option", None)
    j.setdefault("officer_text", None)
    j.setdefault("suggested_reasons", [])
    if j.get("suggested_option") in OPTION_TEXT:
        j.setdefault("suggested_text", OPTION_TEXT[j["suggested_option"]])
    j["option_list"] = _option_list(j)
    p["date_full_eqia_text"] = full_eqia_text(p.get("date_full_eqia"), j.get("officer_option"),
                                              j.get("suggested_option"))
    for a in ctx.setdefault("action_plan", []):
        a.setdefault("kind", "officer" if a.get("source") == "officer" else None)
        a["source_text"] = ("Added by the officer" if a.get("source") == "officer" else
                            "Suggested from data" + ACTION_KIND_TEXT.get(a["kind"], ""))
    return ctx

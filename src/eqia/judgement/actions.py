"""From suggested ratings to what the officer does next: the judgement option to suggest, and the action plan's rows (one per group of concern, with the numbers behind it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eqia.judgement.assess import (
    HIDDEN_SHARE,
    RATINGS,
    UNSAID_TEXT,
    Suggestion,
    group_text,
    shown_figures,
    versus_text,
)
from eqia.settings import characteristics as chars
from eqia.settings.changes import Focus, focus_for
from eqia.settings.thresholds import load_thresholds
from eqia.words import percentage

if TYPE_CHECKING:
    from eqia.analysis.comparison import Comparison
    from eqia.disclosure.published import Published


def suggest_option(
    suggestions: dict[str, Suggestion],
    officer_ratings: dict[str, str | None] | None = None,
    focus: Focus | None = None,
) -> tuple[int, list[str]]:
    """Suggested judgement option (1, 2 or 3) and why, from the grid's ratings.

    The grid's rating is the officer's where given (``officer_ratings``), otherwise the
    data's suggestion; the reasons say which, and (with ``focus``) which groups each
    reading of the data points to, the main concern first.
    """
    officer_ratings = officer_ratings or {}
    by: dict[str, list[str]] = {r: [] for r in RATINGS}
    for key, s in suggestions.items():
        mine = officer_ratings.get(key)
        label = chars.get(key).grid_label
        if mine:
            by[mine].append(f"{label} (officer)")
        else:
            by[s.rating].append(f"{label} (suggested from data)")
    if by["HIGH"]:
        option, reasons = 3, ["Rated HIGH: " + ", ".join(by["HIGH"]) + ".",
                              "A full impact assessment is suggested."]
    elif by["MEDIUM"] or by["UNKNOWN"]:
        reasons = []
        if by["MEDIUM"]:
            reasons.append("Rated MEDIUM (a possible adverse impact, or incomplete data): "
                           + ", ".join(by["MEDIUM"]) + ".")
        if by["UNKNOWN"]:
            reasons.append("Rated UNKNOWN (the impact cannot be assessed from service data): "
                           + ", ".join(by["UNKNOWN"]) + ".")
        option, reasons = 2, reasons + ["Internal action (see the action plan) is suggested."]
    else:
        option, reasons = 1, ["No characteristic is rated HIGH, MEDIUM or UNKNOWN."]
    if focus is None:
        return option, reasons
    found: dict[tuple[str, bool], list[str]] = {}
    for key, s in suggestions.items():
        for reading in s.readings:
            if reading["groups"]:
                found.setdefault((reading["label"], reading["primary"]), []).append(
                    f"{chars.get(key).grid_label} ({', '.join(reading['groups'])})")
    said = [f"{label} ({f'the main concern for {focus.what}' if primary else 'secondary'}): "
            + "; ".join(items) + "."
            for (label, primary), items in sorted(found.items(), key=lambda kv: not kv[0][1])]
    return option, [focus.explanation, *reasons, *said]


def action_rows(comparison: Comparison, suggestions: dict[str, Suggestion],
                focus: Focus | None = None, shown: Published | None = None) -> list[dict]:
    """Pre-filled action plan: a row per data gap and per robust difference of concern.

    A group disproportionately affected gets a mitigation row; an under-reached group an
    outreach row. ``kind`` says which (``data_gap``, ``mitigation``, ``outreach``; and
    ``review`` for a group whose finding may not be said, see ``published.UNSAID``). The
    figures are quoted from ``shown``, as for ``suggest``. A data gap's target is the
    completeness thresholds' green (``data/thresholds.yaml``).
    """
    focus = focus or focus_for()
    shown = shown_figures(comparison, shown)
    green = load_thresholds().cutoffs
    rows: list[dict] = []
    for key, s in suggestions.items():
        r = comparison.results[key]
        if s.data_gap:
            rows.append(_data_gap_row(shown, key, r, percentage(green(key)[0])))
        for f in s.flagged:
            if f.get("adverse") and f.get("robust"):
                rows.append(_difference_row(shown, key, r, f, focus))
    # The people who lose most first, then those not reached, then the gaps in the data.
    order = {"mitigation": 0, "outreach": 1, "review": 1, "data_gap": 2}
    return sorted(rows, key=lambda row: order[row["kind"]])


def _row(issue: str, action: str, expected_outcome: str, kind: str) -> dict:
    """An action-plan row drawn from the data, its owner, timescale and cost left to the
    officer."""
    return {"issue": issue, "action": action, "expected_outcome": expected_outcome,
            "owner": "", "timescale": "", "cost": "", "source": "data", "kind": kind}


def _data_gap_row(shown: Published, key: str, r, target: str) -> dict:
    """Record the characteristic for at least the completeness thresholds' green."""
    if r.status == "not_collected":
        issue = f"{r.name} is not recorded by the service."
    else:
        recorded = shown.recorded_share(key)
        issue = (f"{r.name} is recorded for only {shown.share_text(recorded)} of "
                 "people using the service." if recorded is not None else
                 f"{r.name} is not recorded for everyone who should have it "
                 f"({HIDDEN_SHARE}).")
    return _row(issue,
                f"Ask about and record {r.name.lower()} at assessment and review; "
                "report completeness to the equality lead each quarter.",
                f"{r.name} known for at least {target} of people.", "data_gap")


def _difference_row(shown: Published, key: str, r, f: dict, focus: Focus) -> dict:
    """A robust difference of concern: mitigation for a group that would lose most,
    outreach for one the service under-reaches, a review where the finding may not be
    said (``published.UNSAID``)."""
    if not shown.says_finding(key, f["category"]):
        return _row(f"{r.name}: {UNSAID_TEXT}.",
                    f"Find out how {focus.what} affects this group, with people in it and "
                    "organisations that represent them, using the figures in the internal "
                    "version of this assessment.",
                    "Effect on the group understood; mitigation or outreach agreed.", "review")
    head = (f"{r.name} – {group_text(key, f['category'])}: "
            f"{versus_text(shown, key, f, focus.people)}.")
    if f["flag"] != "over":
        return _row(f"{head} Fewer use the service than expected.",
                    "Plan outreach: find out why fewer use the service (referral routes, "
                    f"access, awareness) and how {focus.what} will reach them, with people "
                    "in this group and organisations that represent them.",
                    "Reasons understood; outreach agreed; their share of users monitored.",
                    "outreach")
    action = (f"Plan mitigation for them before {focus.what}: find out what they rely on the "
              "service for, agree alternatives (and any travel or transition support) with "
              "them, their carers and organisations that represent them, and check that no "
              "one is left without support." if focus.covers_services else
              f"Plan mitigation for them before {focus.what}: check that the selection "
              "criteria and process do not put them at a disadvantage, and agree support "
              "(redeployment, reasonable adjustments) with them and their representatives.")
    return _row(f"{head} They would lose most from {focus.what}.", action,
                "Mitigation agreed and recorded before the decision; the effect on this "
                "group monitored after the change.", "mitigation")

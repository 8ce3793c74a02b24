"""Proposal + extracts -> the EqIA document's content (a plain dict for the templates).

``run_screening`` is the whole job behind ``eqia screen``: profile the extracts,
compare with the area, suggest ratings, and assemble the context the renderers fill
templates with. The context holds aggregate figures only, never a record, and every figure
in it comes from ``published.publish``: the one protection step (under ``INTERNAL`` for an
internal document). Ratings and findings are worked out from the true comparison first, so
``--publish`` changes which figures are shown, never a rating or a finding.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import pandas as pd

from eqia import __version__
from eqia.analysis.compare import compare
from eqia.analysis.comparison import Comparison
from eqia.analysis.profile import Profile, merge_profiles
from eqia.analysis.profiling import profile_file
from eqia.analysis.stats import family_text
from eqia.census.areas import find_area
from eqia.census.comparators import comparator_from_file
from eqia.disclosure.published import NOT_RECORDED, PEOPLE, RECORDED, Published
from eqia.disclosure.published import publish as publish_figures
from eqia.documents.proposal import Proposal
from eqia.judgement.actions import action_rows, suggest_option
from eqia.judgement.assess import AssessmentRules, Suggestion, load_assessment_rules, suggest
from eqia.judgement.findings import completeness_sentence, flag_sentences
from eqia.settings import characteristics as chars
from eqia.settings.changes import Focus, focus_for, vocabulary
from eqia.settings.disclosure import INTERNAL, load_policy
from eqia.settings.yamlfile import safe_load

OPTION_TEXT = {
    1: "Option 1 – Screening sufficient",
    2: "Option 2 – Internal action required",
    3: "Option 3 – Full impact assessment",
}


@dataclass
class Screening:
    proposal: Proposal
    profile: Profile
    comparison: Comparison  # the true comparison: ratings and findings come from it
    suggestions: dict[str, Suggestion]
    context: dict
    #: INTERNAL ONLY, never publish: the true values of the figures a published
    #: document hides (empty for an internal document).
    suppression_log: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Which reading of the data is the main concern (from the proposal's ``change``).
    focus: Focus = field(default_factory=focus_for)


def document_name(proposal: Proposal) -> str:
    """The documents' file name (no suffix): the proposal's name in lower-case words."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", proposal.text["name"] or "eqia").strip("-").lower()
    return slug[:60] or "eqia"


def guidance() -> dict[str, str]:
    text = files("eqia").joinpath("data/guidance.yaml").read_text(encoding="utf-8")
    return safe_load(text)


def run_screening(
    proposal: Proposal,
    publish: bool = False,
    rules_path: str | Path | None = None,
    assessment_path: str | Path | None = None,
    today: dt.date | None = None,
    policy_path: str | Path | None = None,
) -> Screening:
    """Profile the extracts, compare them with the area and draft the document's content.

    Ratings come from the true comparison; with ``publish`` every figure the document
    shows is protected under the disclosure policy (``published.publish``).
    """
    # Everything that can be checked without reading the extracts is checked first, so
    # that a typo in the area or the rules fails in a moment, not after profiling.
    area = find_area(proposal.area)
    policy = load_policy(policy_path) if publish else INTERNAL
    arules = load_assessment_rules(assessment_path, **{
        **proposal.assessment,
        **({"adverse_direction": proposal.adverse_direction}
           if proposal.adverse_direction else {}),
    })
    comparators = {key: comparator_from_file(path, key)
                   for key, path in proposal.comparators.items()}
    profiles = [
        profile_file(path, proposal.mapping, as_of=proposal.as_of) for path in proposal.extracts
    ]
    profile = merge_profiles(profiles)
    comparison = compare(profile, area, ages=proposal.ages, rules=rules_path,
                         comparators=comparators, data_date=proposal.as_of)
    shown = publish_figures(comparison, policy, extracts=[(p.source, p.rows) for p in profiles])
    affects = {k: v.get("affects") for k, v in proposal.officer.items()}
    focus = focus_for(proposal.change, proposal.scope, arules.adverse_direction)
    suggestions = suggest(comparison, arules, affects, focus, shown)
    context = build_context(proposal, shown, suggestions, today or dt.date.today(),
                            arules=arules, focus=focus)
    return Screening(proposal, profile, comparison, suggestions, context, shown.log, focus)


def _num(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _part2(shown: Published, suggestions: dict[str, Suggestion] | None,
           unknown_below: float) -> list[dict]:
    """Part 2 (information and data): per characteristic, its table, chart, unknown
    figures, sentences and the flags read for the proposal."""
    notes = guidance()
    suggestions = suggestions or {}
    comparison = shown.comparison
    area = comparison.area.name
    out = []
    for key in chars.keys():
        r = comparison.results[key]
        rows = shown.headline(key)
        data_rows = rows[rows["category"] != ""] if len(rows) else rows
        table_rows = [_table_row(row, shown.policy.marker) for _, row in data_rows.iterrows()]
        sentences = flag_sentences(shown, key, area)
        if key == "ethnicity":
            detail = flag_sentences(shown, chars.ETHNICITY_DETAILED, area)
            sentences += [s for s in detail if s.count(":") >= 2 and "than expected" in s]
        guide = notes.get(key)
        if r.status == "no_baseline" and not guide:
            guide = r.reason
        out.append({
            "key": key,
            "name": r.name,
            "base": r.base,
            "table_id": r.table_id,
            # Census or the service's own comparator population (``data: comparators``).
            "compared_with": _compared_with(r),
            "population": r.population,
            "age_confounded": r.age_confounded,
            "baseline_label": f"{area} share" if r.table_id else "Comparator share",
            "available": r.status == "compared",
            "status": r.status,
            "completeness": completeness_sentence(shown, key, unknown_below),
            "sentences": sentences,
            "guidance": guide,
            "caveats": list(dict.fromkeys(r.caveats + r.notes)),
            "rows": table_rows,
            "unknown_rows": _unknown_rows(shown, key),
            "chart": _chart(table_rows, area, r),
            "age_adjusted": r.age_adjusted,
            # The flags read for the proposal: the main concern first (``assess._readings``).
            "readings": [x["text"] for x in suggestions[key].readings]
            if key in suggestions else [],
        })
    return out


def _table_row(row: pd.Series, marker: str) -> dict:
    """One category's row of the Part 2 table; a hidden one shows the marker and no
    share, interval or ratio."""
    if row["hidden"]:
        return {"category": row["category"], "service_count": marker,
                "service_share": marker, "ci_low": None, "ci_high": None,
                "baseline_share": _num(row["baseline_share"]), "ratio": None,
                "flag": row["flag"], "hidden": True, "strength": row["strength"] or "",
                "signal_95": "", "missing_could_explain": None}
    return {
        "category": row["category"],
        "baseline_estimated": bool(row.get("baseline_estimated")),
        "service_count": int(row["service_count"]),
        "service_share": _num(row["service_share"]),
        "ci_low": _num(row["ci_low"]),
        "ci_high": _num(row["ci_high"]),
        "baseline_share": _num(row["baseline_share"]),
        "ratio": _num(row["ratio"]),
        "flag": row["flag"],
        "hidden": False,
        "strength": row["strength"] or "",
        "signal_95": row["signal_95"] if isinstance(row["signal_95"], str) else "",
        "missing_could_explain": None if pd.isna(row["missing_could_explain"])
        else bool(row["missing_could_explain"]),
    }


def _chart(table_rows: list[dict], area: str, r) -> dict | None:
    """The chart's data: the categories compared and shown (none hidden)."""
    compared = [t for t in table_rows if t["baseline_share"] is not None
                and not t["hidden"] and t["service_share"] is not None]
    if not compared:
        return None
    return {
        "categories": [t["category"] for t in compared],
        "service": [t["service_share"] for t in compared],
        "ci_low": [t["ci_low"] for t in compared],
        "ci_high": [t["ci_high"] for t in compared],
        "baseline": [t["baseline_share"] for t in compared],
        "area": area,
        "population": r.population,
        "title": r.name,
    }


def _unknown_rows(shown: Published, key: str) -> list[dict]:
    """The figures of people not in a category: split by why internally; published, one
    figure, as the annual report does (the split could give back a small count by
    subtraction)."""
    r = shown.comparison.results[key]
    if r.status == "not_collected":
        return []
    if shown.policy.publishable:
        return [{"label": "Not recorded, or in a small group not compared",
                 "count": shown.tables[key].display.at[NOT_RECORDED, "service"]}]
    return [
        {"label": "Not stated (asked, declined)", "count": r.not_stated},
        {"label": "Not known (not asked or not recorded)", "count": r.not_known},
        {"label": "Invalid (not a recognised code)", "count": r.invalid},
    ]


def _compared_with(r) -> str:
    """"Compared with Maidstone's population aged 65 and over, Census 2021 ethnic group by
    age": the exact population, the census table, and whether age could explain a
    difference."""
    if not r.table_id:
        return f"Compared with {r.population}, not the census"
    table = f"table {r.table_id}" if r.table_id.startswith("TS") else r.table_id
    text = f"Compared with {r.population}, Census 2021 {table}"
    if r.age_confounded:
        text += ("; age-confounded: the service's ages differ markedly from that "
                 "population's, so a difference may come from age alone")
    return text


def _grid(proposal: Proposal, suggestions: dict[str, Suggestion]) -> list[dict]:
    grid = []
    for key in chars.keys():
        char = chars.get(key)
        s = suggestions[key]
        o = proposal.officer.get(key, {})
        officer_rating = o.get("rating")
        grid.append({
            "key": key,
            "label": char.grid_label,
            "affects": {
                "answer": o.get("affects"),
                "how": o.get("how"),
                "source": "officer" if o.get("affects") else None,
            },
            "rating": {
                "value": officer_rating or s.rating,
                "direction": (o.get("direction") if officer_rating else s.direction),
                "source": "officer" if officer_rating else "data",
            },
            "suggested": {"rating": s.rating, "direction": s.direction, "reasons": s.reasons,
                          "readings": s.readings},
            "officer": {"rating": officer_rating, "direction": o.get("direction")},
            "internal_action": o.get("internal_action"),
            "further_assessment": o.get("further_assessment"),
            "promotes": {"answer": o.get("promotes"), "how": o.get("promotes_how")},
        })
    return grid


def build_context(
    proposal: Proposal,
    shown: Published,
    suggestions: dict[str, Suggestion],
    today: dt.date,
    arules: AssessmentRules | None = None,
    focus: Focus | None = None,
) -> dict:
    """The document's content, every figure from ``shown`` (see ``published``)."""
    arules = arules or load_assessment_rules()
    focus = focus or focus_for(proposal.change, proposal.scope, arules.adverse_direction)
    comparison = shown.comparison
    part2, census_notes = _shared_caveats(
        _part2(shown, suggestions, arules.unknown_below_known_share))
    option, option_reasons = suggest_option(
        suggestions, {k: v.get("rating") for k, v in proposal.officer.items()}, focus)
    return {
        "meta": _meta(shown, today, arules, focus, comparison.notes + census_notes),
        "proposal": _proposal_part(proposal, focus),
        "grid": _grid(proposal, suggestions),
        "part2": part2,
        "judgement": {
            "suggested_option": option,
            "suggested_text": OPTION_TEXT[option],
            "suggested_reasons": option_reasons,
            "officer_option": proposal.option,
            "officer_text": proposal.option_text,
            "options": OPTION_TEXT,
        },
        "action_plan": action_rows(comparison, suggestions, focus, shown)
        + [{**a, "kind": "officer"} for a in proposal.action_plan],
    }


def _meta(shown: Published, today: dt.date, arules: AssessmentRules, focus: Focus,
          census_notes: list[str]) -> dict:
    """What the document was made from and how: area, census tables, extracts and their
    reconciliation, method, rating rules, the proposal's focus."""
    comparison, policy = shown.comparison, shown.policy
    area = comparison.area
    tables = sorted({r.table_id for r in comparison.results.values() if r.table_id})
    return {
        "tool": f"eqia {__version__}",
        "generated": today.strftime("%d %B %Y").lstrip("0"),
        "mode": "publish" if policy.publishable else "internal",
        "not_for_publication": not policy.publishable,
        "area": area.name,
        "area_code": area.code,
        "baseline_source": f"ONS Census 2021 ({', '.join(tables)}), {area.name} ({area.code}). "
                           "Counts as published by ONS via Nomis; released 2022-2023.",
        "extracts": [{"name": name, "rows": rows} for name, rows in shown.extracts()],
        "rows": shown.people(),
        "method": comparison.method,
        "method_summary": method_summary(comparison) + (
            f" Small numbers are protected for publication: "
            f"{policy.note([t.display for t in shown.tables.values()])} Flags "
            "and suggested ratings are worked out from the true figures before any is "
            "hidden or rounded, so publishing changes none of them; where a group's "
            "figures are hidden, its finding says so." if policy.publishable else ""),
        "rating_rules": rating_rules(arules, focus),
        "focus": {"primary": list(focus.primary), "source": focus.source,
                  "scope": focus.scope, "explanation": focus.explanation},
        "eligible_ages": f"{comparison.ages}" if comparison.ages else None,
        "reconciliation": _reconciliation(shown),
        "census_notes": census_notes,
    }


def _proposal_part(proposal: Proposal, focus: Focus) -> dict:
    """The officer's words from the proposal file, and what it changes, in words."""
    vocab = vocabulary()
    return {
        **{k: v for k, v in proposal.text.items()},
        "versions": proposal.versions,
        "signoff": proposal.signoff,
        "change": [{"value": c, "label": vocab[c].label, "means": vocab[c].means}
                   for c in proposal.change],
        "change_text": "; ".join(f"{vocab[c].label[:1].upper()}{vocab[c].label[1:]} – "
                                 f"{vocab[c].means}" for c in proposal.change) or None,
        "scope": focus.scope,
    }


def _pc(x: float) -> str:
    return f"{100 * x:.10g}%"


def method_summary(comparison: Comparison) -> str:
    """The statistical method in plain English, from the rules actually used."""
    r = comparison.rules
    if r.family_wise == "none":
        chance = f"at {_pc(r.level)} confidence for that group on its own"
        signal = ""
    else:
        chance = (f"allowing for the number of groups compared at once ({family_text(r)}; "
                  f"{_pc(r.level)} confidence overall)")
        signal = (f" A \u201cscreening signal\u201d is a group that passes its own "
                  f"{_pc(r.level)} test but not the test that allows for the other groups: "
                  "worth a look, not a finding.")
    text = (f"A group is marked fewer (or more) than expected only when its share of service "
            f"users is well below (or above) its share of the area's population (a ratio "
            f"below {r.under_ratio:g} or above {r.over_ratio:g}) and the difference is too "
            f"large to be chance, {chance}.{signal} \u201cStrong evidence\u201d means the "
            f"difference also passes a stricter {_pc(r.strong_level)} test. Groups where fewer "
            f"than {r.min_expected:g} people would be expected are not tested.")
    if r.missing_sensitivity:
        text += (" \u201cCould be due to missing data\u201d means the difference would go if "
                 "the people with no recorded value were in the group at a rate no more than "
                 f"{r.tipping_plausible_factor:g} times its share among those recorded or in "
                 "the area (for more than expected: at a rate no less than that share divided "
                 f"by {r.tipping_plausible_factor:g}).")
    return text


def rating_rules(rules: AssessmentRules, focus: Focus | None = None) -> list[str]:
    """How the suggested ratings were worked out, in words, from the rules used."""
    focus = focus or focus_for(adverse_direction=rules.adverse_direction)
    concern = " or ".join(focus.label(x).lower() for x in focus.primary)
    out = [
        focus.explanation,
        f"UNKNOWN when the service does not record the characteristic, when there is no "
        f"census figure, or when it is recorded for fewer than "
        f"{100 * rules.unknown_below_known_share:.0f}% of people.",
        f"HIGH (Negative) when a group is {concern}, allowing for the number of groups "
        "compared" + (" and for the number of characteristics screened (its adjusted p-value "
                      "below the flag's level divided by that number)"
                      if rules.high_across_grid else "")
        + ", and missing data could not plausibly explain it, unless the officer says the "
        "proposal does not affect the group, or the comparison is age-confounded (the census "
        "has no age breakdown for the characteristic and the service's ages differ markedly "
        "from the population's) and age alone could explain it: then MEDIUM. A screening signal alone (one group's own 95% "
        "test) never raises a rating; the secondary reading is shown but does not raise it "
        "either.",
        f"MEDIUM when the difference could be due to missing data, or when the "
        f"characteristic is recorded for fewer than "
        f"{100 * rules.complete_from_known_share:.0f}% of people.",
        "LOW otherwise. Data alone never suggests NONE: only the officer can say there is no "
        "impact.",
    ]
    if not focus.covers_employment:
        out.append("Marriage and civil partnership: NONE, as a matter of law rather than data: "
                   "the Equality Act's provisions on services do not cover it (it is protected "
                   "at work), so no service action is proposed.")
    out.append(f"Pregnancy and maternity: LOW, with no action to record it, where the eligible "
               f"ages include none of the child-bearing ages ({rules.childbearing_ages}).")
    if rules.not_adverse_categories:
        out.append("Not counted towards a rating: " + "; ".join(rules.not_adverse_categories)
                   + " (people without the protected characteristic).")
    for key, cap in rules.max_rating.items():
        if key == "marriage_civil_partnership" and not focus.covers_employment:
            continue
        out.append(f"The data alone suggests at most {cap} for {chars.display_name(key).lower()}.")
    out.append("Any rating the officer gives replaces the suggestion in the grid.")
    return out


def _shared_caveats(part2: list[dict]) -> tuple[list[dict], list[str]]:
    """Caveats that apply to more than one characteristic, said once for all of them.

    A document that repeats the same three notes under every heading buries the one
    note that matters for that characteristic.
    """
    seen: dict[str, int] = {}
    for c in part2:
        for text in c["caveats"]:
            seen[text] = seen.get(text, 0) + 1
    compared = sum(1 for c in part2 if c["rows"])
    shared = [t for t, n in seen.items() if n >= max(2, compared / 2)]
    for c in part2:
        c["caveats"] = [t for t in c["caveats"] if t not in shared]
    return part2, shared


def _reconciliation(shown: Published) -> list[dict]:
    """Rows = categories + unknown + invalid per characteristic, as published: one "not
    recorded" figure (``unknown``; ``invalid`` None) when published, as in Part 2."""
    out = []
    for key in chars.keys():
        r = shown.comparison.results[key]
        if r.status == "not_collected":
            out.append({"name": chars.display_name(key), "status": "not collected",
                        "rows": None, "in_categories": None, "unknown": None,
                        "invalid": None})
            continue
        merged = shown.policy.publishable
        out.append({
            "name": chars.display_name(key),
            "status": "collected",
            "rows": shown.count(key, PEOPLE),
            "in_categories": shown.count(key, RECORDED),
            "unknown": shown.count(key, NOT_RECORDED) if merged else f"{r.unknown:,}",
            "invalid": None if merged else f"{r.invalid:,}",
        })
    return out

"""Proposal + extracts -> the EqIA document's content (a plain dict for the templates).

``run_screening`` is the whole job behind ``eqia screen``: profile the extracts,
compare with the area, suggest ratings, and assemble the context the renderers fill
templates with. The context holds aggregate figures only, never a record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pandas as pd
import yaml

from eqia import __version__
from eqia import characteristics as chars
from eqia.assess import Suggestion, action_rows, load_assessment_rules, suggest, suggest_option
from eqia.compare import Comparison, compare
from eqia.counts import Profile, merge_profiles
from eqia.findings import completeness_sentence, flag_sentences
from eqia.profile import profile_file
from eqia.proposal import Proposal

OPTION_TEXT = {
    1: "Option 1 – Screening sufficient",
    2: "Option 2 – Internal action required",
    3: "Option 3 – Full impact assessment",
}


@dataclass
class Screening:
    proposal: Proposal
    profile: Profile
    comparison: Comparison
    suggestions: dict[str, Suggestion]
    context: dict


def guidance() -> dict[str, str]:
    text = files("eqia").joinpath("data/guidance.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def run_screening(
    proposal: Proposal,
    publish: bool = False,
    rules_path: str | Path | None = None,
    assessment_path: str | Path | None = None,
    today: dt.date | None = None,
) -> Screening:
    profiles = [
        profile_file(path, proposal.mapping, as_of=proposal.as_of) for path in proposal.extracts
    ]
    profile = merge_profiles(profiles)
    comparison = compare(profile, proposal.area, ages=proposal.ages, rules=rules_path)
    arules = load_assessment_rules(assessment_path, adverse_direction=proposal.adverse_direction)
    affects = {k: v.get("affects") for k, v in proposal.officer.items()}
    suggestions = suggest(comparison, arules, affects)
    context = build_context(proposal, profiles, profile, comparison, suggestions, publish,
                            today or dt.date.today())
    return Screening(proposal, profile, comparison, suggestions, context)


def _num(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _part2(comparison: Comparison, fmt) -> list[dict]:
    notes = guidance()
    area = comparison.area.name
    out = []
    for key in chars.keys():
        r = comparison.results[key]
        rows = comparison.headline(key)
        table_rows, chart = [], None
        data_rows = rows[rows["category"] != ""] if len(rows) else rows
        for _, row in data_rows.iterrows():
            table_rows.append({
                "category": row["category"],
                "service_count": int(row["service_count"]),
                "service_share": _num(row["service_share"]),
                "ci_low": _num(row["ci_low"]),
                "ci_high": _num(row["ci_high"]),
                "baseline_share": _num(row["baseline_share"]),
                "ratio": _num(row["ratio"]),
                "flag": row["flag"],
                "strength": row["strength"] or "",
                "robust_to_missing": None if pd.isna(row["robust_to_missing"])
                else bool(row["robust_to_missing"]),
            })
        compared = [t for t in table_rows if t["baseline_share"] is not None]
        if compared:
            chart = {
                "categories": [t["category"] for t in compared],
                "service": [t["service_share"] for t in compared],
                "ci_low": [t["ci_low"] for t in compared],
                "ci_high": [t["ci_high"] for t in compared],
                "baseline": [t["baseline_share"] for t in compared],
                "area": area,
                "title": r.name,
            }
        unknown_rows = []
        if r.status != "not_collected":
            unknown_rows = [
                {"label": "Not stated (asked, declined)", "count": r.not_stated},
                {"label": "Not known (not asked or not recorded)", "count": r.not_known},
                {"label": "Invalid (not a recognised code)", "count": r.invalid},
            ]
        sentences = flag_sentences(comparison, key, area)
        if key == "ethnicity":
            detail = flag_sentences(comparison, chars.ETHNICITY_DETAILED, area)
            sentences += [s for s in detail if s.count(":") >= 2 and "than expected" in s]
        guide = notes.get(key)
        if r.status == "no_baseline" and not guide:
            guide = r.reason
        out.append({
            "key": key,
            "name": r.name,
            "base": r.base,
            "table_id": r.table_id,
            "available": r.status == "compared",
            "status": r.status,
            "completeness": completeness_sentence(r, fmt),
            "sentences": sentences,
            "guidance": guide,
            "caveats": list(dict.fromkeys(r.caveats + r.notes)),
            "rows": table_rows,
            "unknown_rows": unknown_rows,
            "chart": chart,
            "age_adjusted": r.age_adjusted,
        })
    return out


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
            "suggested": {"rating": s.rating, "direction": s.direction, "reasons": s.reasons},
            "officer": {"rating": officer_rating, "direction": o.get("direction")},
            "internal_action": o.get("internal_action"),
            "further_assessment": o.get("further_assessment"),
            "promotes": {"answer": o.get("promotes"), "how": o.get("promotes_how")},
        })
    return grid


def build_context(
    proposal: Proposal,
    extracts: list[Profile],
    profile: Profile,
    comparison: Comparison,
    suggestions: dict[str, Suggestion],
    publish: bool,
    today: dt.date,
    fmt=lambda n: f"{n:,}",
) -> dict:
    option, option_reasons = suggest_option(suggestions)
    area = comparison.area
    tables = sorted({r.table_id for r in comparison.results.values() if r.table_id})
    ages = f"{comparison.ages}" if comparison.ages else None
    return {
        "meta": {
            "tool": f"eqia {__version__}",
            "generated": today.strftime("%d %B %Y").lstrip("0"),
            "mode": "publish" if publish else "internal",
            "not_for_publication": not publish,
            "area": area.name,
            "area_code": area.code,
            "baseline_source": f"ONS Census 2021 ({', '.join(tables)}), {area.name} ({area.code}). "
                               "Counts as published by ONS via Nomis; released 2022-2023.",
            "extracts": [{"name": p.source, "rows": p.rows} for p in extracts],
            "rows": profile.rows,
            "method": comparison.method,
            "eligible_ages": ages,
            "reconciliation": _reconciliation(profile),
        },
        "proposal": {
            **{k: v for k, v in proposal.text.items()},
            "versions": proposal.versions,
            "signoff": proposal.signoff,
        },
        "grid": _grid(proposal, suggestions),
        "part2": _part2(comparison, fmt),
        "judgement": {
            "suggested_option": option,
            "suggested_text": OPTION_TEXT[option],
            "suggested_reasons": option_reasons,
            "officer_option": proposal.option,
            "officer_text": proposal.option_text,
            "options": OPTION_TEXT,
        },
        "action_plan": action_rows(comparison, suggestions) + proposal.action_plan,
    }


def _reconciliation(profile: Profile) -> list[dict]:
    rec = profile.reconciliation()
    out = []
    for r in rec.itertuples():
        if r.characteristic == chars.ETHNICITY_DETAILED:
            continue
        out.append({
            "name": chars.display_name(r.characteristic),
            "status": r.status,
            "rows": None if pd.isna(r.rows) else int(r.rows),
            "in_categories": None if pd.isna(r.in_categories) else int(r.in_categories),
            "unknown": None if pd.isna(r.unknown) else int(r.unknown),
            "invalid": None if pd.isna(r.invalid) else int(r.invalid),
        })
    return out

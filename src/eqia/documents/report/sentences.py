"""The report's findings in plain English: significant changes and differences from the
population, quoting only what the protected tables show."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from eqia.agebands import parse_range
from eqia.analysis.stats import p_text
from eqia.disclosure.published import UNSAID
from eqia.documents.report.model import CharacteristicSection
from eqia.settings import characteristics as chars
from eqia.settings.report import ReportConfig
from eqia.words import join_and, one_in, percent

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    pass


def area_phrase(config: ReportConfig, ages: str | None) -> str:
    band = parse_range(ages) if ages else None
    if band is None:
        return f"{config.area}'s population"
    if band.hi is None:
        return f"{config.area}'s population aged {band.lo} and over"
    return f"{config.area}'s population aged {band.lo} to {band.hi}"


def section_findings(sec: CharacteristicSection, config: ReportConfig, ages: str | None
                     ) -> tuple[list[str], list[str]]:
    """Sentences for significant changes, and for categories flagged against the census.

    Every share is quoted from the protected table, so prose never shows more than the
    tables do; a category whose count is hidden is named with the direction of its
    difference only, where ``population_rows`` allows. Category names are quoted (‘...’):
    census labels have commas and read oddly as prose.
    """
    where = sec.compared_with or area_phrase(config, ages)
    pop = sec.population.set_index("category") if len(sec.population) else None
    latest = sec.periods[-1] if sec.periods else None
    changes = [_change_sentence(sec, ch, pop, where)
               for _, ch in sec.changes[sec.changes["significant"]].iterrows()]
    said = set(sec.changes.loc[sec.changes["significant"], "category"])
    if pop is None or latest is None:
        return changes, []
    population = []
    flagged = pop[pop["flag"].isin(["under", "over"])]
    compared = pop[pop["baseline_share"].notna() & ~pop["hidden"].astype(bool)]
    if len(compared) == 2 and len(flagged) == 2:
        # Two groups that make up everyone (disabled / not disabled): one says it all.
        flagged = flagged.sort_values("baseline_share").iloc[:1]
    text = _population_sentence(sec, flagged, said, latest, where)
    if text:
        population.append(text)
    unsaid = int((pop["flag"] == UNSAID).sum())
    if unsaid:
        population.append(
            f"{sec.name}, {latest}: the comparison with {where} for {unsaid} "
            f"group{'s' if unsaid > 1 else ''} whose figures are not shown is not said "
            "either, to protect people's privacy.")
    return changes, population


def _base_text(row, where: str) -> str:
    """The baseline share, marked where it is an estimate the population does not say."""
    mark = (" (estimated)" if bool(row.get("estimated"))
            and not where.endswith("(estimated)") else "")
    return percent(float(row["baseline_share"]), trim=True) + mark


def _change_sentence(sec: CharacteristicSection, ch, pop: pd.DataFrame | None,
                     where: str) -> str:
    """"Of service users whose ... is recorded, the share in the group ‘X’ rose from ...",
    and where it now stands against the population."""
    cat = ch["category"]
    word = "rose" if ch["change_pp"] > 0 else "fell"
    before = sec.table.share_text(cat, ch["period_from"])
    after = sec.table.share_text(cat, ch["period_to"])
    text = (f"Of service users whose {subject(sec.key)} is recorded, the share in the group "
            f"‘{cat}’ {word} from {before} in {ch['period_from']} to {after} in "
            f"{ch['period_to']} (a significant change, {p_text(ch['p_adjusted'])})")
    if pop is not None and cat in pop.index and pd.notna(pop.at[cat, "baseline_share"]):
        base = float(pop.at[cat, "baseline_share"])
        share_to, share_from = float(ch["share_to"]), float(ch["share_from"])
        if abs(share_to - base) < 0.0005:
            rel = "now close to"
        elif share_to < base:
            rel = "still below" if share_from < base else "now below"
        else:
            rel = "still above" if share_from > base else "now above"
        text += f", {rel} the {_base_text(pop.loc[cat], where)} of {where}"
    return text + "."


def _population_sentence(sec: CharacteristicSection, flagged: pd.DataFrame, said: set,
                         latest: str, where: str) -> str | None:
    """The groups with fewer and more users than expected in one sentence (those whose
    change was said already left out), then whether missing data or age could explain
    them."""
    what = subject(sec.key)
    parts: dict[str, list] = {"under": [], "over": []}
    shaky = []
    for cat, row in flagged.iterrows():
        if cat in said:
            continue
        share = None if row["hidden"] else sec.table.share_text(cat, latest)
        parts[row["flag"]].append((cat, share, _base_text(row, where)))
        if row.get("missing_could_explain") is True:
            tip = row.get("tipping_share")
            shaky.append(f"‘{cat}’" + (
                f" (it would go if {one_in(tip)} of them were in the group, against "
                f"{one_in(row['baseline_share'])} of {where})" if pd.notna(tip) and tip > 0
                else ""))
    # "of those whose ... is recorded" once, after the first share shown.
    first = next(((f, i) for f in ("under", "over") for i, item in enumerate(parts[f])
                  if item[1] is not None), None)
    for flag, items in parts.items():
        parts[flag] = [
            (f"‘{cat}’ ({share}"
             + (f" of those whose {what} is recorded" if (flag, i) == first else "")
             if share is not None else f"‘{cat}’ (its figures not shown")
            + f", against {base})" for i, (cat, share, base) in enumerate(items)]
    clauses = []
    if parts["under"]:
        clauses.append("fewer service users than expected were in the group"
                       + ("s " if len(parts["under"]) > 1 else " ") + join_and(parts["under"]))
    if parts["over"]:
        clauses.append(("more than expected were in " if clauses else
                        "more service users than expected were in the group"
                        + ("s " if len(parts["over"]) > 1 else " ")) + join_and(parts["over"]))
    if not clauses:
        return None
    text = f"{sec.name}, {latest}: compared with {where}, " + "; ".join(clauses) + "."
    if shaky:
        text += (f" The difference{'s' if len(shaky) > 1 else ''} for {join_and(shaky)} "
                 f"could be explained by the people whose {what} is not recorded.")
    if sec.age_confounded:
        explained = [row.get("robust_to_age") is not True for _, row in flagged.iterrows()]
        text += (" The service's ages differ markedly from that population's, so age "
                 "alone could explain some or all of this." if any(explained) else
                 " The service's ages differ markedly from that population's, but age "
                 "alone could not explain differences this large.")
    return text


def subject(key: str) -> str:
    """How a characteristic reads in "Of service users whose ... is recorded"."""
    return chars.recorded(key)

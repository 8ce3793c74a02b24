"""Building the report: every service's extracts profiled per period, protected in one
step (``protect``), compared with the census and tested for change; what it could not use
becomes a data note."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from eqia.agebands import parse_band, parse_range
from eqia.analysis.profile import Profile, category_order, merge_profiles, no_census_category
from eqia.analysis.profiling import profile_file
from eqia.disclosure.engine import Line, ProtectedTable, protect_lines
from eqia.disclosure.published import NOT_RECORDED, PEOPLE, counted_as_not_recorded
from eqia.documents.report.change import change_table
from eqia.documents.report.completeness import completeness_findings, rate_completeness
from eqia.documents.report.model import (
    CHANGE_COLUMNS,
    PEOPLE_TABLE,
    AnnualReport,
    CharacteristicSection,
    DataNote,
    ServiceReport,
)
from eqia.documents.report.population import category_set_notes, population_rows
from eqia.documents.report.sentences import section_findings
from eqia.settings import characteristics as chars
from eqia.settings.disclosure import INTERNAL, DisclosurePolicy
from eqia.settings.report import PERIOD_HINT, Period, ReportConfig, ServiceConfig
from eqia.settings.rules import Rules, default_rules
from eqia.settings.thresholds import Thresholds, load_thresholds

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    from eqia.analysis.comparison import Comparison


def build_report(
    config: ReportConfig,
    publish: bool = False,
    today: dt.date | None = None,
) -> AnnualReport:
    """Everything the report says, worked out from the services' extracts."""
    policy = config.policy if publish else INTERNAL
    notes: list[DataNote] = []
    report_periods = config.periods
    thresholds = load_thresholds(config.thresholds)
    rules = default_rules()
    services = [_service_report(config, s, report_periods, policy, thresholds, rules)
                for s in config.services]
    return AnnualReport(
        config=config, publish=publish, policy=policy, services=services, notes=notes,
        generated=today or dt.date.today(), thresholds=thresholds, rules=rules,
    )


def _service_report(
    config: ReportConfig, svc: ServiceConfig, report_periods: list[Period],
    policy: DisclosurePolicy, thresholds: Thresholds, rules: Rules,
) -> ServiceReport:
    notes: list[DataNote] = []

    def note(code: str, text: str) -> None:
        notes.append(DataNote(code, text, svc.name))

    used = _extracts_used(config, svc, note)
    periods = sorted(p for p, _ in used.values())
    _missing_periods(config, svc.name, report_periods, periods, note)
    profiles: dict[str, Profile] = {}
    for p in periods:
        paths = used[p.label][1]
        parts = [profile_file(path, svc.mapping, as_of=p.end) for path in paths]
        profiles[p.label] = merge_profiles(parts, source=" + ".join(x.name for x in paths))
    if len(periods) == 1:
        note("single-period",
             f"{svc.name}: data for one period only ({periods[0].label}), so changes over "
             "time cannot be shown.")
    latest = periods[-1] if periods else None
    previous = periods[-2] if len(periods) > 1 else None
    comparison = _comparison(config, svc, profiles, latest, note)
    counted = {}
    for key in chars.keys():
        found = _counts(svc.name, key, periods, profiles, policy, previous, latest, note,
                        svc.ages)
        if found is not None:
            counted[key] = found
    tables = protect(svc.name, periods, profiles, counted, policy)
    sections = [_section(key, counts, tables[key], comparison, previous, latest, note,
                         config, svc.ages, rules) for key, counts in counted.items()]
    completeness, totals = rate_completeness(periods, profiles, tables, policy, thresholds)
    logs = [t.log for t in tables.values() if len(t.log)]
    protection_log = (pd.concat(logs, ignore_index=True) if logs
                      else pd.DataFrame(columns=["table", "row", "column", "value", "reason",
                                                 "protects", "lower", "upper"]))
    findings = (_key_findings(sections, previous, latest)
                + completeness_findings(svc.name, completeness, periods, thresholds))
    return ServiceReport(
        name=svc.name, description=svc.description, periods=periods, profiles=profiles,
        comparison=comparison, sections=sections, completeness=completeness,
        protection_log=protection_log, totals=totals, findings=findings, notes=notes,
        ages=svc.ages,
    )


def _extracts_used(config: ReportConfig, svc: ServiceConfig, note
                   ) -> dict[str, tuple[Period, list]]:
    """The service's extracts by period label; those it cannot use (a label that does not
    parse, a period after the report's) are noted, and two labels for the same year are
    added together."""
    used: dict[str, tuple[Period, list]] = {}
    for ex in svc.extracts:
        names = ", ".join(p.name for p in ex.paths)
        if ex.period is None:
            note("unparsed-period",
                 f"{svc.name}: the period label '{ex.label}' (extract {names}) could not be "
                 f"read, so this extract is not used. {PERIOD_HINT}")
            continue
        if ex.period > config.period:
            note("later-period",
                 f"{svc.name}: the extract for {ex.label} ({names}) is after the report's "
                 f"period ({config.period.label}) and is not used.")
            continue
        same = [k for k, (p, _) in used.items() if (p.start, p.end) == (ex.period.start,
                                                                        ex.period.end)]
        if same:
            note("duplicate-period",
                 f"{svc.name}: the periods '{same[0]}' and '{ex.label}' are the same year; "
                 f"their extracts are added together under '{same[0]}'.")
            used[same[0]][1].extend(ex.paths)
            continue
        used[ex.label] = (ex.period, list(ex.paths))
    return used


def _missing_periods(config: ReportConfig, service: str, report_periods: list[Period],
                     periods: list[Period], note) -> None:
    have = {(p.start, p.end) for p in periods}
    for p in report_periods:
        if (p.start, p.end) not in have:
            if p == config.period or (p.start, p.end) == (config.period.start,
                                                          config.period.end):
                latest = f"; its latest figures are for {periods[-1].label}" if periods else ""
                note("missing-period",
                     f"{service}: no extract for the report's period, {p.label}{latest}.")
            else:
                note("missing-period",
                     f"{service}: no extract for {p.label}, so this period is missing from "
                     "its tables and charts.")


def _comparison(config: ReportConfig, svc: ServiceConfig, profiles: dict[str, Profile],
                latest: Period | None, note) -> Comparison | None:
    """The latest period against the census, at the middle of the period."""
    if latest is None:
        return None
    from eqia.analysis.compare import compare  # with the census baselines: only when used

    middle = latest.start + (latest.end - latest.start) / 2
    comparison = compare(profiles[latest.label], config.area, ages=svc.ages,
                         data_date=middle)
    for text in comparison.notes:
        if "Census Day" in text:
            note("census-distance", f"{svc.name}, {latest.label}: {text}")
    return comparison


def _key_findings(sections: list[CharacteristicSection], previous: Period | None,
                  latest: Period | None) -> list[str]:
    """Changes first (or that none was significant), then differences from the
    population; gaps in the data follow (``completeness_findings``)."""
    findings = [f for sec in sections for f in sec.change_findings]
    tested = [sec for sec in sections if len(sec.changes) and sec.changes["p_value"].notna().any()]
    if tested and not findings and previous is not None and latest is not None:
        findings.append(
            f"No group's share of service users changed significantly between "
            f"{previous.label} and {latest.label}, in any of the {len(tested)} "
            f"characteristic{'s' if len(tested) != 1 else ''} recorded in both years.")
    return findings + [f for sec in sections for f in sec.population_findings]


def _counts(
    service: str, key: str, periods: list[Period], profiles: dict[str, Profile],
    policy: DisclosurePolicy, previous: Period | None, latest: Period | None, note,
    ages: str | None,
) -> pd.DataFrame | None:
    """True counts of one characteristic: categories x the periods its table shows (None
    when it is collected in no period); the data notes about what is left out."""
    name = chars.display_name(key)
    collected = [p for p in periods if profiles[p.label].is_collected(key)]
    if not collected:
        return None
    missing = [p.label for p in periods if p not in collected]
    if missing:
        have = ", ".join(p.label for p in collected)
        change_lost = latest in collected and previous is not None and previous.label in missing
        consequence = ("its change over time cannot be shown" if change_lost
                       else "those periods are left out of its table")
        note("not-collected",
             f"{service}: {name.lower()} is in the extract for {have} but not for "
             f"{', '.join(missing)}, so {consequence}.")
    if latest not in collected:
        note("not-collected",
             f"{service}: {name.lower()} is not in the latest extract ({latest.label}); its "
             "table shows earlier periods only and is not compared with the population.")
    # Age bands can differ between extracts (e.g. dates of birth one year, bands the next):
    # periods whose categories differ from the latest's are left out, and said so.
    ref = collected[-1]
    ref_order = category_order(key, profiles[ref.label])
    usable = []
    for p in collected:
        order = category_order(key, profiles[p.label])
        if key == "age" and order != ref_order:
            note("categories-differ",
                 f"{service}: the age groups in the {p.label} extract "
                 f"({', '.join(order) or 'none'}) differ from those in {ref.label}, so "
                 f"{p.label} is left out of the age table.")
            continue
        usable.append(p)
    counts = pd.DataFrame({p.label: profiles[p.label].category_counts(key) for p in usable})
    counts = counts.fillna(0).astype("int64")
    if key == "age" and ages:
        # Age groups outside the service's ages with nobody in them say nothing.
        empty = [c for c in counts.index
                 if _outside_ages(str(c), ages) and not counts.loc[c].any()]
        counts = counts.drop(index=empty)
    if policy.publishable:
        counts = counts.drop(index=counted_as_not_recorded(counts, no_census_category(key),
                                                           policy))
    clash = {NOT_RECORDED, PEOPLE, policy.total_label} & set(counts.index)
    if clash:
        raise ValueError(f"A category is named like a total: {sorted(clash)}")
    counts.index.name = name
    counts.columns.name = "Period"
    return counts


def protect(service: str, periods: list[Period], profiles: dict[str, Profile],
             counted: dict[str, pd.DataFrame], policy: DisclosurePolicy
             ) -> dict[object, ProtectedTable]:
    """The service's one protection step: every characteristic's categories, the number
    recorded (``total_label``), the number not recorded and the number of people, each
    period on its own. Keys: characteristic keys; (key, period) for a period whose
    categories are not in the key's table (only its numbers recorded and not); and
    ``PEOPLE_TABLE``."""
    total = policy.total_label
    blocks: dict[object, tuple[pd.DataFrame, list[Line]]] = {}
    names: dict[object, str] = {}
    for key, counts in counted.items():
        rows = {c: counts.loc[c] for c in counts.index}
        rows[NOT_RECORDED] = pd.Series({p: profiles[p].rows - int(counts[p].sum())
                                        for p in counts.columns})
        frame = pd.DataFrame(rows).T[list(counts.columns)]
        frame.index.name, frame.columns.name = counts.index.name, counts.columns.name
        cats = tuple(counts.index)
        blocks[key] = (frame, [*(Line(c, (c,), share_of=total) for c in cats),
                               Line(total, cats, level=2), Line(NOT_RECORDED, (NOT_RECORDED,)),
                               Line(PEOPLE, (*cats, NOT_RECORDED), level=2)])
        names[key] = f"{service} | {counts.index.name}"
        for p in periods:
            prof = profiles[p.label]
            if prof.is_collected(key) and p.label not in counts.columns:
                frame = pd.DataFrame({p.label: [prof.known(key), prof.rows - prof.known(key)]},
                                     index=[total, NOT_RECORDED])
                blocks[(key, p.label)] = (frame, [
                    Line(total, (total,), level=2), Line(NOT_RECORDED, (NOT_RECORDED,)),
                    Line(PEOPLE, (total, NOT_RECORDED), level=2)])
                names[(key, p.label)] = f"{service} | {counts.index.name} {p.label}"
    blocks[PEOPLE_TABLE] = (pd.DataFrame({p.label: [profiles[p.label].rows] for p in periods},
                                         index=[PEOPLE]), [Line(PEOPLE, (PEOPLE,), level=2)])
    names[PEOPLE_TABLE] = f"{service} | People"
    keys = list(blocks)
    tables = protect_lines({names[k]: blocks[k] for k in keys}, policy, shared=[PEOPLE])
    return {k: tables[names[k]] for k in keys}


def _section(
    key: str, counts: pd.DataFrame, full: ProtectedTable, comparison: Comparison | None,
    previous: Period | None, latest: Period | None, note, config: ReportConfig,
    ages: str | None, rules: Rules,
) -> CharacteristicSection:
    service = full.table_name.split(" | ")[0]
    name = chars.display_name(key)
    total = full.policy.total_label
    table = full.lines([*counts.index, total] if len(counts.index) > 1 else list(counts.index))
    labels = list(counts.columns)
    category_set_notes(service, name, table, labels, note)
    if previous is not None and latest is not None and previous.label in labels \
            and latest.label in labels:
        changes = change_table(key, table, previous.label, latest.label, rules)
    else:
        changes = pd.DataFrame(columns=CHANGE_COLUMNS)
    population = population_rows(key, comparison, full, latest.label if latest else None)
    result = comparison.results.get(key) if comparison is not None else None
    section = CharacteristicSection(key=key, name=name, periods=labels, counts=counts,
                                    table=table, changes=changes, population=population,
                                    compared_with=result.population if result else "",
                                    age_confounded=result.age_confounded if result else None)
    section.change_findings, section.population_findings = section_findings(section, config, ages)
    return section


def _outside_ages(label: str, ages: str) -> bool:
    """Whether an age group lies wholly outside the service's eligible ages."""
    band, eligible = parse_band(label), parse_range(ages)
    if band is None or eligible is None:
        return False
    below = band.hi is not None and band.hi < eligible.lo
    above = eligible.hi is not None and band.lo > eligible.hi
    return below or above

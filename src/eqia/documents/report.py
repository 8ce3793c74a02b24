"""The annual equality report's content: services over several periods, safe to publish.

``build_report(config, publish=...)`` profiles every service's extract for every period,
compares the latest period with the area's Census 2021 population (``compare``), tests
each category's change in share since the previous period, audits completeness, and
writes findings in plain English. ``write_report`` renders it to .docx, .html and .xlsx.

Publication safety: every count and share that reaches a document, in a table, a chart
or a sentence, is read from the ``ProtectedTable``s that one call of
``disclosure.protect_lines`` makes for a service under one ``DisclosurePolicy``
(``INTERNAL`` when not publishing): each characteristic's categories, the number
recorded, the number not recorded and the number of people (the same figure in every
characteristic's table) are protected together, period by period, so no figure can be
worked out from the others. With ``--publish`` everything derived from the counts
(shares, changes, the change test, intervals) is worked out from the published
figures, so nothing shown can be used to recover a hidden or unrounded count. The
suppression log (true values of hidden cells) is only ever written under
``internal/``. Problems the report survives (a missing period, a period label that
does not parse, a characteristic collected one year and not the next) become data
notes, shown in the document and returned to the caller; nothing is dropped silently.
Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as st

from eqia import __version__
from eqia.analysis.compare import FLAG_WORDS
from eqia.analysis.stats import holm, p_text, share_interval
from eqia.disclosure.engine import (
    HIDDEN_FLAG_TEXT,
    INTERNAL,
    DisclosurePolicy,
    Line,
    ProtectedTable,
    direction_is_safe,
    protect_lines,
)
from eqia.disclosure.published import NOT_RECORDED, PEOPLE, UNSAID
from eqia.judgement.findings import one_in, pct
from eqia.outputs import atomic_write
from eqia.read.counts import Profile, category_order, merge_profiles
from eqia.read.extract import profile_file
from eqia.settings import characteristics as chars
from eqia.settings.report import PERIOD_HINT, Period, ReportConfig, ServiceConfig

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    from eqia.analysis.compare import Comparison

#: Significance level of the change test, after Holm's adjustment within a characteristic.
ALPHA = 0.05
#: Below this expected count in any cell of the 2x2 table, Fisher's exact test is used.
MIN_EXPECTED = 5

CHANGE_METHOD = (
    "Change in a category's share between two periods: two-sided test of two proportions "
    "(share of people with a known value), Pearson's chi-squared test on the 2x2 table "
    "without continuity correction (scipy.stats.chi2_contingency, correction=False; the same "
    "as the pooled two-proportion z-test), or Fisher's exact test (scipy.stats.fisher_exact) "
    f"when any expected count is below {MIN_EXPECTED}. p-values are adjusted with Holm's "
    "method across the categories of each characteristic, and a change is called "
    f"significant when the adjusted p-value is below {ALPHA:g}. The two periods are "
    "treated as independent samples; people using the service in both years make the test "
    "slightly conservative."
)
PUBLISH_METHOD = (
    "In this published version every count is protected under one rule before anything "
    "is worked out from it: shares, changes in share and their tests use the published "
    "counts. Where counts are rounded, each change's p-value is the largest that any true "
    "counts consistent with the rounded ones could give, so rounding cannot make a change "
    "look significant. Comparisons with the population are worked out from the true "
    "counts, so publishing changes no finding; for a group whose count is hidden the "
    "finding says only whether it is above or below the population's share, and only "
    "where that cannot narrow its count down to one value. Completeness ratings are "
    "worked out from the true figures too, and shown where the share is. The number of "
    "people, the number with a characteristic recorded and the number without it are "
    "protected together with the characteristic's table. A small group with no census "
    "category (such as sex 'Other') is counted with the people whose characteristic is not "
    "recorded, so that no other group has to be hidden to protect it."
)

FLAG_TEXT = {**FLAG_WORDS, UNSAID: "Not shown"}


def flag_words(flag: str, hidden: bool) -> str:
    """A population comparison's flag in words, saying when its figures are hidden."""
    if flag == UNSAID:
        return HIDDEN_FLAG_TEXT[:1].upper() + HIDDEN_FLAG_TEXT[1:]
    text = FLAG_TEXT.get(flag, str(flag))
    return f"{text}; {HIDDEN_FLAG_TEXT}" if hidden else text

#: RAG ratings of completeness (share of people with a known value): the audit module's
#: thresholds are used when it provides them.
RAG_TEXT = {"green": "Green", "amber": "Amber", "red": "Red"}

CHANGE_COLUMNS = [
    "characteristic", "category", "period_from", "period_to", "count_from", "known_from",
    "count_to", "known_to", "share_from", "share_to", "change_pp", "p_value", "p_adjusted",
    "test", "significant",
]


@dataclass
class DataNote:
    """Something about the data a reader must know; shown in the report's "Data notes"."""

    code: str  # kebab-case: missing-period, unparsed-period, not-collected, ...
    text: str
    service: str | None = None


@dataclass
class CharacteristicSection:
    """One characteristic of one service: its table over periods and its findings."""

    key: str
    name: str
    periods: list[str]  # period labels in the table, oldest first
    counts: pd.DataFrame  # true counts: categories x periods (never published as is)
    table: ProtectedTable  # the categories and their total as they may be shown
    changes: pd.DataFrame  # CHANGE_COLUMNS, latest vs previous period
    population: pd.DataFrame  # category, baseline_share, flag, ci_low, ci_high, robust,
    # hidden, estimated, robust_to_age (latest)
    #: The population compared with, e.g. "Kent's population aged 18 and over" (empty
    #: when there is no comparison).
    compared_with: str = ""
    #: True when the census has no age breakdown for it and the service's ages differ
    #: markedly from that population's (``CharacteristicResult.age_confounded``).
    age_confounded: bool | None = None
    change_findings: list[str] = field(default_factory=list)
    population_findings: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[str]:
        return self.change_findings + self.population_findings


@dataclass
class ServiceReport:
    name: str
    description: str | None
    periods: list[Period]  # periods with an extract, oldest first
    profiles: dict[str, Profile]  # by period label
    comparison: Comparison | None
    sections: list[CharacteristicSection]
    completeness: pd.DataFrame  # characteristic x period: rows, known, share, rag (published)
    protection_log: pd.DataFrame  # INTERNAL ONLY: every hidden figure of the service
    totals: dict[str, str]  # people using the service, by period, as they may be shown
    findings: list[str]
    notes: list[DataNote]
    ages: str | None

    @property
    def latest(self) -> Period | None:
        return self.periods[-1] if self.periods else None

    @property
    def previous(self) -> Period | None:
        return self.periods[-2] if len(self.periods) > 1 else None


@dataclass
class AnnualReport:
    config: ReportConfig
    publish: bool
    policy: DisclosurePolicy
    services: list[ServiceReport]
    notes: list[DataNote]
    generated: dt.date
    rag_thresholds: dict[str, float]

    @property
    def all_notes(self) -> list[DataNote]:
        return self.notes + [n for s in self.services for n in s.notes]

    def suppression_log(self) -> pd.DataFrame:
        """INTERNAL ONLY: every hidden cell with its true value. Never publish."""
        logs = [s.protection_log.assign(service=s.name) for s in self.services
                if len(s.protection_log)]
        if not logs:
            return pd.DataFrame(columns=["service", "table", "row", "column", "value", "reason",
                                         "protects", "lower", "upper"])
        log = pd.concat(logs, ignore_index=True)
        return log[["service", *[c for c in log.columns if c != "service"]]]


# --- statistics --------------------------------------------------------------------------


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, str]:
    """Two-sided p-value for "the share k1/n1 equals k2/n2", and the test's name.

    Pearson's chi-squared on the 2x2 table without Yates' correction is the pooled
    two-proportion z-test (z squared = chi-squared); Fisher's exact test replaces it when
    an expected count is under ``MIN_EXPECTED``. NaN when there is nothing to test.
    """
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]], dtype=float)
    if n1 <= 0 or n2 <= 0 or (table < 0).any():
        return float("nan"), ""
    if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
        return float("nan"), "not tested: no one, or everyone, in the category in both periods"
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if (expected < MIN_EXPECTED).any():
        return float(st.fisher_exact(table.astype(int)).pvalue), "Fisher's exact test"
    res = st.chi2_contingency(table, correction=False)
    return float(res.pvalue), "chi-squared test"


def possible_counts(shown: int, policy: DisclosurePolicy) -> tuple[int, int]:
    """The true counts a published figure can stand for: itself, or under the NHS rule
    every count that rounds to it (nearest ``rounding_base``, halves up, never 1 to
    ``nhs_small_max``, which are shown as the marker)."""
    return policy.possible(int(shown))


def published_change_test(k1: int, n1: int, k2: int, n2: int, policy: DisclosurePolicy
                          ) -> tuple[float, str]:
    """``two_proportion_test`` on published figures: when they are rounded, the largest
    p-value over every set of true counts they could stand for (so rounding can never
    make a change look significant), worked out from the published figures alone."""
    ranges = [possible_counts(x, policy) for x in (k1, n1, k2, n2)]
    if all(lo == hi for lo, hi in ranges):
        return two_proportion_test(k1, n1, k2, n2)
    grid = np.array(np.meshgrid(*[np.arange(lo, hi + 1) for lo, hi in ranges],
                                indexing="ij")).reshape(4, -1).astype(float)
    a, n, c, m = grid
    ok = (a <= n) & (c <= m) & (n > 0) & (m > 0)
    a, n, c, m = a[ok], n[ok], c[ok], m[ok]
    if not len(a):
        return two_proportion_test(k1, n1, k2, n2)
    col1, col2, total = a + c, (n - a) + (m - c), n + m
    if (col1 == 0).any() or (col2 == 0).any():
        return float("nan"), "not tested: no one, or everyone, in the category in both periods"
    expected_min = np.minimum.reduce([n * col1, n * col2, m * col1, m * col2]) / total
    small = expected_min < MIN_EXPECTED
    pooled = col1 / total
    se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(c / m - a / n) / se
    p = np.where(se > 0, _erfc(z / np.sqrt(2)), 1.0)
    test = "chi-squared test"
    if small.any():
        test = "Fisher's exact test" if small.all() else "chi-squared or Fisher's exact test"
        p = p.copy()
        for i in np.nonzero(small)[0]:
            p[i] = st.fisher_exact(np.array([[a[i], n[i] - a[i]], [c[i], m[i] - c[i]]],
                                            dtype=int)).pvalue
    return float(min(1.0, p.max())), test


def _erfc(x: np.ndarray) -> np.ndarray:
    from scipy.special import erfc

    return erfc(x)


def change_table(key: str, table: ProtectedTable, before: str, after: str) -> pd.DataFrame:
    """Each category's share of the known in two periods, from the figures as shown.

    A category whose count is hidden in either period is not tested. Under the NHS
    rule's rounding the p-value is the largest the true counts could give
    (``published_change_test``).
    """
    values = table.values
    total = table.policy.total_label
    rows = [r for r in values.index if r != total]
    n1 = values.at[total, before] if total in values.index else values[before].sum()
    n2 = values.at[total, after] if total in values.index else values[after].sum()
    out = []
    for cat in rows:
        k1, k2 = values.at[cat, before], values.at[cat, after]
        hidden = pd.isna(k1) or pd.isna(k2) or pd.isna(n1) or pd.isna(n2)
        if hidden:
            out.append((key, cat, before, after, k1, n1, k2, n2, np.nan, np.nan, np.nan,
                        np.nan, np.nan, "not tested: a figure is hidden", False))
            continue
        k1, k2, n1i, n2i = int(k1), int(k2), int(n1), int(n2)
        s1 = k1 / n1i if n1i else np.nan
        s2 = k2 / n2i if n2i else np.nan
        p, test = published_change_test(k1, n1i, k2, n2i, table.policy)
        out.append((key, cat, before, after, k1, n1i, k2, n2i, s1, s2, 100 * (s2 - s1), p,
                    np.nan, test, False))
    frame = pd.DataFrame(out, columns=CHANGE_COLUMNS)
    frame["p_adjusted"] = holm(frame["p_value"].astype(float))
    frame["significant"] = (frame["p_adjusted"] < ALPHA).fillna(False).astype(bool)
    return frame


# --- building -----------------------------------------------------------------------------


def build_report(
    config: ReportConfig,
    publish: bool = False,
    today: dt.date | None = None,
) -> AnnualReport:
    """Everything the report says, worked out from the services' extracts."""
    policy = config.policy if publish else INTERNAL
    notes: list[DataNote] = []
    report_periods = config.periods
    thresholds = rag_thresholds()
    services = [_service_report(config, s, report_periods, policy, thresholds)
                for s in config.services]
    return AnnualReport(
        config=config, publish=publish, policy=policy, services=services, notes=notes,
        generated=today or dt.date.today(), rag_thresholds=thresholds,
    )


def rag_thresholds() -> dict[str, float]:
    """Completeness RAG thresholds (share known at or above which a rating applies)."""
    from eqia.documents.audit import load_thresholds

    th = load_thresholds()
    return {"green": float(th.green) / 100, "amber": float(th.amber) / 100}


def rag_of(share: float, thresholds: dict[str, float]) -> str:
    if share is None or share != share:
        return ""
    if share >= thresholds["green"]:
        return "green"
    if share >= thresholds["amber"]:
        return "amber"
    return "red"


def _service_report(
    config: ReportConfig, svc: ServiceConfig, report_periods: list[Period],
    policy: DisclosurePolicy, thresholds: dict[str, float],
) -> ServiceReport:
    notes: list[DataNote] = []

    def note(code: str, text: str) -> None:
        notes.append(DataNote(code, text, svc.name))

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
    periods = sorted(p for p, _ in used.values())
    have = {(p.start, p.end) for p in periods}
    for p in report_periods:
        if (p.start, p.end) not in have:
            if p == config.period or (p.start, p.end) == (config.period.start,
                                                          config.period.end):
                latest = f"; its latest figures are for {periods[-1].label}" if periods else ""
                note("missing-period",
                     f"{svc.name}: no extract for the report's period, {p.label}{latest}.")
            else:
                note("missing-period",
                     f"{svc.name}: no extract for {p.label}, so this period is missing from "
                     "its tables and charts.")
    profiles: dict[str, Profile] = {}
    for p in periods:
        paths = used[p.label][1]
        parts = [profile_file(path, svc.mapping, as_of=p.end) for path in paths]
        profiles[p.label] = merge_profiles(parts, source=" + ".join(x.name for x in paths))
    if len(periods) == 1:
        note("single-period",
             f"{svc.name}: data for one period only ({periods[0].label}), so changes over "
             "time cannot be shown.")

    comparison = None
    latest = periods[-1] if periods else None
    previous = periods[-2] if len(periods) > 1 else None
    if latest is not None:
        from eqia.analysis.compare import compare

        middle = latest.start + (latest.end - latest.start) / 2
        comparison = compare(profiles[latest.label], config.area, ages=svc.ages,
                             data_date=middle)
        for text in comparison.notes:
            if "Census Day" in text:
                note("census-distance", f"{svc.name}, {latest.label}: {text}")
    counted = {}
    for key in chars.keys():
        found = _counts(svc.name, key, periods, profiles, policy, previous, latest, note,
                        svc.ages)
        if found is not None:
            counted[key] = found
    tables = _protect(svc.name, periods, profiles, counted, policy)
    sections = [_section(key, counts, tables[key], comparison, previous, latest, note,
                         config, svc.ages) for key, counts in counted.items()]
    completeness, totals = _completeness(periods, profiles, tables, policy, thresholds)
    logs = [t.log for t in tables.values() if len(t.log)]
    protection_log = (pd.concat(logs, ignore_index=True) if logs
                      else pd.DataFrame(columns=["table", "row", "column", "value", "reason",
                                                 "protects", "lower", "upper"]))
    # Key findings: changes first, then differences from the population, then gaps in
    # the data.
    findings = [f for sec in sections for f in sec.change_findings]
    tested = [sec for sec in sections if len(sec.changes) and sec.changes["p_value"].notna().any()]
    if tested and not findings and previous is not None and latest is not None:
        findings.append(
            f"No group's share of service users changed significantly between "
            f"{previous.label} and {latest.label}, in any of the {len(tested)} "
            f"characteristic{'s' if len(tested) != 1 else ''} recorded in both years.")
    findings += [f for sec in sections for f in sec.population_findings]
    findings += _completeness_findings(svc.name, completeness, periods, thresholds)
    return ServiceReport(
        name=svc.name, description=svc.description, periods=periods, profiles=profiles,
        comparison=comparison, sections=sections, completeness=completeness,
        protection_log=protection_log, totals=totals, findings=findings, notes=notes,
        ages=svc.ages,
    )


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
        # A small group with no census category is counted with the people not recorded
        # rather than hidden: hiding it would mean hiding a compared group too (as in the
        # EqIA, eqia.disclosure.published).
        categories = chars.get(key).categories
        no_census = ({c.label for c in categories if not c.census}
                     if any(c.census for c in categories) else set())
        small = [c for c in counts.index if c in no_census
                 and all(n == 0 or policy.is_small(int(n)) for n in counts.loc[c])]
        counts = counts.drop(index=small)
    clash = {NOT_RECORDED, PEOPLE, policy.total_label} & set(counts.index)
    if clash:
        raise ValueError(f"A category is named like a total: {sorted(clash)}")
    counts.index.name = name
    counts.columns.name = "Period"
    return counts


#: The table ``_protect`` adds for the number of people in each period.
PEOPLE_TABLE = "people"


def _protect(service: str, periods: list[Period], profiles: dict[str, Profile],
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
    ages: str | None,
) -> CharacteristicSection:
    service = full.table_name.split(" | ")[0]
    name = chars.display_name(key)
    total = full.policy.total_label
    table = full.lines([*counts.index, total] if len(counts.index) > 1 else list(counts.index))
    labels = list(counts.columns)
    _category_set_notes(service, name, table, labels, note)
    if previous is not None and latest is not None and previous.label in labels \
            and latest.label in labels:
        changes = change_table(key, table, previous.label, latest.label)
    else:
        changes = pd.DataFrame(columns=CHANGE_COLUMNS)
    population = _population(key, comparison, full, latest.label if latest else None)
    result = comparison.results.get(key) if comparison is not None else None
    section = CharacteristicSection(key=key, name=name, periods=labels, counts=counts,
                                    table=table, changes=changes, population=population,
                                    compared_with=result.population if result else "",
                                    age_confounded=result.age_confounded if result else None)
    section.change_findings, section.population_findings = _findings(section, config, ages)
    return section


def _outside_ages(label: str, ages: str) -> bool:
    """Whether an age group lies wholly outside the service's eligible ages."""
    from eqia.agebands import parse_band, parse_range

    band, eligible = parse_band(label), parse_range(ages)
    if band is None or eligible is None:
        return False
    below = band.hi is not None and band.hi < eligible.lo
    above = eligible.hi is not None and band.lo > eligible.hi
    return below or above


#: A category with nobody in one period is noted when, at its share in another period,
#: at least this many people would be expected: too many for the zero to be chance
#: (the chance of none when 5 are expected is under 1%).
CATEGORY_GAP_EXPECTED = 5


def _category_set_notes(service: str, name: str, table: ProtectedTable, labels: list[str],
                        note) -> None:
    """A category recorded in one period's extract and absent from another's, when the
    absence is unlikely to be chance: the extracts may use different category sets (a
    new code, a list changed), so the change between them may not be real. Worked out
    from the published figures, so the note shows nothing the tables do not."""
    values = table.values
    total = table.policy.total_label
    if total not in values.index or len(labels) < 2:
        return
    for cat in values.index:
        if cat == total:
            continue
        for p in labels:
            k, n = values.at[cat, p], values.at[total, p]
            if pd.isna(k) or pd.isna(n) or k != 0 or not n:
                continue
            for q in labels:
                kq, nq = values.at[cat, q], values.at[total, q]
                if q == p or pd.isna(kq) or pd.isna(nq) or not nq or not kq:
                    continue
                if kq / nq * n >= CATEGORY_GAP_EXPECTED:
                    note("categories-differ",
                         f"{service}: no one is recorded as '{cat}' ({name.lower()}) in "
                         f"{p}, but {table.share_text(cat, q)} of those recorded are in "
                         f"{q}. Check that both extracts offer this category before "
                         "reading the change between them.")
                    break


def _population(key: str, comparison: Comparison | None, table: ProtectedTable,
                latest: str | None) -> pd.DataFrame:
    """Latest period vs the census: shares and flags; intervals from the published counts.

    Flags are the true comparison's (publishing changes no finding). Where a count is
    hidden its finding says only its direction, and only where that cannot narrow the
    count to one value (``disclosure.direction_is_safe``; otherwise ``UNSAID``); nor
    whether missing data or age could explain it.
    """
    cols = ["category", "baseline_share", "flag", "ci_low", "ci_high", "missing_could_explain",
            "tipping_share", "hidden", "estimated", "robust_to_age"]
    if comparison is None or latest is None or latest not in table.values.columns:
        return pd.DataFrame(columns=cols)
    r = comparison.results.get(key)
    if r is None or r.status not in ("compared", "no_known"):
        return pd.DataFrame(columns=cols)
    rows = comparison.headline(key)
    rows = rows[rows["category"] != ""]
    total = table.policy.total_label
    values = table.values[latest]
    n = values.get(total, pd.NA)
    ranges = table.log[table.log["column"] == latest].set_index("row")[["lower", "upper"]]
    out = []
    for _, row in rows.iterrows():
        cat = row["category"]
        if cat not in values.index:
            continue
        k = values[cat]
        flag, hidden = row["flag"], pd.isna(k)
        explain = row.get("missing_could_explain")
        explain = None if explain is None or pd.isna(explain) or hidden else bool(explain)
        tip = np.nan if hidden else row.get("tipping_share", np.nan)
        lo = hi = np.nan
        if hidden:
            lower, upper = ranges.loc[cat]
            if not direction_is_safe(flag, int(row["service_count"]), lower, upper,
                                     row["expected"]):
                flag = UNSAID
        elif pd.notna(n) and n:
            rules = comparison.rules
            lo, hi, _ = share_interval(float(k), float(n), rules.level,
                                       rules.exact_binomial_below)
        out.append((cat, row["baseline_share"], flag, lo, hi, explain, tip, hidden,
                    bool(row.get("baseline_estimated")),
                    None if hidden else row.get("robust_to_age")))
    return pd.DataFrame(out, columns=cols)


def _area_phrase(config: ReportConfig, ages: str | None) -> str:
    from eqia.agebands import parse_range

    band = parse_range(ages) if ages else None
    if band is None:
        return f"{config.area}'s population"
    if band.hi is None:
        return f"{config.area}'s population aged {band.lo} and over"
    return f"{config.area}'s population aged {band.lo} to {band.hi}"


def _findings(sec: CharacteristicSection, config: ReportConfig, ages: str | None
              ) -> tuple[list[str], list[str]]:
    """Sentences for significant changes, and for categories flagged against the census.

    Every share is quoted from the protected table, so prose never shows more than the
    tables do; a category whose count is hidden is named with the direction of its
    difference only, where ``_population`` allows. Category names are quoted (‘...’):
    census labels have commas and read oddly as prose.
    """
    where = sec.compared_with or _area_phrase(config, ages)
    subject = _subject(sec.key)

    def base_text(row) -> str:
        """The baseline share, marked where it is an estimate the population does not say."""
        mark = (" (estimated)" if bool(row.get("estimated"))
                and not where.endswith("(estimated)") else "")
        return pct(float(row["baseline_share"])) + mark
    pop = sec.population.set_index("category") if len(sec.population) else None
    latest = sec.periods[-1] if sec.periods else None
    changes, said = [], set()
    for _, ch in sec.changes[sec.changes["significant"]].iterrows():
        cat = ch["category"]
        word = "rose" if ch["change_pp"] > 0 else "fell"
        before = sec.table.share_text(cat, ch["period_from"])
        after = sec.table.share_text(cat, ch["period_to"])
        text = (f"Of service users whose {subject} is recorded, the share in the group "
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
            text += f", {rel} the {base_text(pop.loc[cat])} of {where}"
        changes.append(text + ".")
        said.add(cat)
    population: list[str] = []
    if pop is None or latest is None:
        return changes, population
    flagged = pop[pop["flag"].isin(["under", "over"])]
    compared = pop[pop["baseline_share"].notna() & ~pop["hidden"].astype(bool)]
    if len(compared) == 2 and len(flagged) == 2:
        # Two groups that make up everyone (disabled / not disabled): one says it all.
        flagged = flagged.sort_values("baseline_share").iloc[:1]
    parts: dict[str, list[str]] = {"under": [], "over": []}
    shaky = []
    for cat, row in flagged.iterrows():
        if cat in said:
            continue
        share = None if row["hidden"] else sec.table.share_text(cat, latest)
        parts[row["flag"]].append((cat, share, base_text(row)))
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
             + (f" of those whose {subject} is recorded" if (flag, i) == first else "")
             if share is not None else f"‘{cat}’ (its figures not shown")
            + f", against {base})" for i, (cat, share, base) in enumerate(items)]
    clauses = []
    if parts["under"]:
        clauses.append("fewer service users than expected were in the group"
                       + ("s " if len(parts["under"]) > 1 else " ") + _and(parts["under"]))
    if parts["over"]:
        clauses.append(("more than expected were in " if clauses else
                        "more service users than expected were in the group"
                        + ("s " if len(parts["over"]) > 1 else " ")) + _and(parts["over"]))
    if clauses:
        text = f"{sec.name}, {latest}: compared with {where}, " + "; ".join(clauses) + "."
        unknown = f"the people whose {subject} is not recorded"
        if shaky:
            text += (f" The difference{'s' if len(shaky) > 1 else ''} for {_and(shaky)} "
                     f"could be explained by {unknown}.")
        if sec.age_confounded:
            explained = [row.get("robust_to_age") is not True for _, row in flagged.iterrows()]
            text += (" The service's ages differ markedly from that population's, so age "
                     "alone could explain some or all of this." if any(explained) else
                     " The service's ages differ markedly from that population's, but age "
                     "alone could not explain differences this large.")
        population.append(text)
    unsaid = int((pop["flag"] == UNSAID).sum())
    if unsaid:
        population.append(
            f"{sec.name}, {latest}: the comparison with {where} for {unsaid} "
            f"group{'s' if unsaid > 1 else ''} whose figures are not shown is not said "
            "either, to protect people's privacy.")
    return changes, population


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --- completeness -------------------------------------------------------------------------

COMPLETENESS_COLUMNS = ["characteristic", "name", "period", "collected", "people",
                        "recorded", "share", "share_text", "rag", "hidden"]


def _completeness(
    periods: list[Period], profiles: dict[str, Profile], tables: dict[object, ProtectedTable],
    policy: DisclosurePolicy, thresholds: dict[str, float],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per characteristic and period: people, people with it recorded, the share, RAG.

    The numbers are the protected tables' (``_protect``): the number recorded is the
    total of the characteristic's table, the number of people the figure every table
    shares, so nothing here can differ from, or be worked out against, another table.
    The share is worked out from the published figures and the rating from the true
    ones (publishing changes no rating); neither is shown where a figure is hidden.
    Returns the frame and the number of people per period as a sentence may quote it.
    """
    total = policy.total_label
    people_table = tables[PEOPLE_TABLE]
    rows, people_text = [], {}
    for p in periods:
        prof = profiles[p.label]
        people = people_table.value(PEOPLE, p.label)
        people_text[p.label] = people_table.count_text(PEOPLE, p.label)
        for key in chars.keys():
            name = chars.display_name(key)
            if not prof.is_collected(key):
                rows.append((key, name, p.label, False, "not collected", "not collected",
                             np.nan, "not collected", "", False))
                continue
            t = tables[key] if p.label in tables[key].values.columns else tables[(key, p.label)]
            recorded = t.value(total, p.label)
            if recorded is None or people is None:
                share, share_text, rag = np.nan, policy.prose_hidden_share, ""
            elif not people:
                share, share_text, rag = np.nan, "-", ""
            else:
                share = round(recorded / people, policy.share_decimals + 2)
                share_text = f"{100 * share:.{policy.share_decimals}f}%"
                rag = rag_of(prof.known(key) / prof.rows if prof.rows else np.nan, thresholds)
            rows.append((key, name, p.label, True,
                         people_table.display.at[PEOPLE, p.label], t.display.at[total, p.label],
                         share, share_text, rag, recorded is None or people is None))
    return pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS), people_text


def _subject(key: str) -> str:
    """How a characteristic reads in "Of service users whose ... is recorded"."""
    return chars.recorded(key)


def _completeness_findings(service: str, comp: pd.DataFrame, periods: list[Period],
                           thresholds: dict[str, float]) -> list[str]:
    """Red characteristics in one sentence (with last period's share); ratings that
    changed since the previous period in another."""
    if not periods:
        return []
    latest = periods[-1].label
    prev = periods[-2].label if len(periods) > 1 else None
    red, moved = [], []
    for key, rows in comp.groupby("characteristic", sort=False):
        now = rows[rows["period"] == latest]
        if now.empty or not bool(now["collected"].iloc[0]):
            continue
        r = now.iloc[0]
        before = rows[rows["period"] == prev].iloc[0] if prev else None
        had = before is not None and bool(before["collected"])
        if r["rag"] == "red":
            red.append(f"{_subject(key)} {r['share_text']}"
                       + (f" ({before['share_text']} in {prev})" if had else ""))
        elif had and before["rag"] and r["rag"] and r["rag"] != before["rag"]:
            moved.append(f"{_subject(key)} from {RAG_TEXT[before['rag']].lower()} "
                         f"({before['share_text']} in {prev}) to "
                         f"{RAG_TEXT[r['rag']].lower()} ({r['share_text']})")
    out = []
    if red:
        out.append(f"Recorded for fewer than {pct(thresholds['amber'], 0)} of service users in "
                   f"{latest} (red): " + _and(red) + ".")
    if moved:
        out.append(f"Recording changed rating in {latest}: " + _and(moved) + ".")
    return out


# --- what the documents show --------------------------------------------------------------


def _blocks(text: str) -> list[dict]:
    """Narrative text -> paragraphs and bullet lists ("- item" lines; blank line = break)."""
    blocks: list[dict] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            blocks.append({"type": "p", "text": " ".join(para)})
            para.clear()
        if items:
            blocks.append({"type": "ul", "items": list(items)})
            items.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith(("- ", "* ", "• ")):
            if para:
                flush()
            items.append(line[2:].strip())
        elif items and raw.startswith((" ", "\t")):
            items[-1] += " " + line
        else:
            if items:
                flush()
            para.append(line)
    flush()
    return blocks


def _signed(x: float) -> str:
    if x != x:
        return "-"
    return f"{x:+.1f}"


def _cell(table: ProtectedTable, row, col) -> str:
    """"1,235 (45.2%)" as the table may show it."""
    count = table.display.at[row, col]
    share = table.shares_display.at[row, col]
    if count == table.policy.marker:
        return count
    if share in ("-", table.policy.marker):
        return count
    return f"{count} ({share})"


def _characteristic_table(sec: CharacteristicSection, area: str, latest: str | None) -> dict:
    t = sec.table
    total = t.policy.total_label
    columns = ["Category", *[f"{p}: number (% of known)" for p in sec.periods]]
    has_change = len(sec.changes) > 0
    if has_change:
        columns += ["Change (percentage points)", "Significant change?"]
    has_pop = len(sec.population) > 0
    if has_pop:
        columns += [f"{area} population %", f"Compared with population ({latest})"]
    changes = sec.changes.set_index("category") if has_change else None
    pop = sec.population.set_index("category") if has_pop else None
    rows = []
    for cat in t.display.index:
        is_total = cat == total and total not in sec.counts.index
        label = "Total recorded" if is_total else str(cat)
        row = [label, *[_cell(t, cat, p) if not is_total else t.display.at[cat, p]
                        for p in sec.periods]]
        if has_change:
            if is_total or cat not in changes.index:
                row += ["", ""]
            else:
                ch = changes.loc[cat]
                if pd.isna(ch["p_value"]):
                    row += [_signed(ch["change_pp"]), "Not tested"]
                else:
                    row += [_signed(ch["change_pp"]),
                            ("Yes" if ch["significant"] else "No") + f" ({p_text(ch['p_adjusted'])})"]
        if has_pop:
            if is_total or cat not in pop.index:
                row += ["", "" if is_total else FLAG_TEXT["no_census_category"]]
            else:
                pr = pop.loc[cat]
                row += [pct(pr["baseline_share"]) if pd.notna(pr["baseline_share"]) else "-",
                        flag_words(pr["flag"], bool(pr["hidden"]))]
        rows.append(row)
    return {"columns": columns, "rows": rows, "total_row": total in t.display.index}


def _chart_spec(sec: CharacteristicSection, area: str) -> dict | None:
    """Share of the known by period for each category (published shares), with the
    population's share: what the trend chart draws and its alt text says."""
    t = sec.table
    cats = [c for c in t.shares.index if c != t.policy.total_label]
    if not cats or not sec.periods:
        return None
    pop = sec.population.set_index("category") if len(sec.population) else None
    series = {p: [None if pd.isna(t.shares.at[c, p]) else float(t.shares.at[c, p]) / 100
                  for c in cats] for p in sec.periods}
    if all(v is None for vals in series.values() for v in vals):
        return None
    baseline = [float(pop.at[c, "baseline_share"]) if pop is not None and c in pop.index
                and pd.notna(pop.at[c, "baseline_share"]) else None for c in cats]
    parts = []
    for i, c in enumerate(cats):
        vals = ", ".join(f"{p} {pct(series[p][i]) if series[p][i] is not None else 'not shown'}"
                         for p in sec.periods)
        base = f"; {area} {pct(baseline[i])}" if baseline[i] is not None else ""
        parts.append(f"{c}: {vals}{base}")
    periods = " and ".join(sec.periods) if len(sec.periods) <= 2 else \
        f"{sec.periods[0]} to {sec.periods[-1]}"
    alt = (f"Bar chart of the share of service users whose {_subject(sec.key)} is recorded "
           f"in each category, {periods}"
           + (f", with the share of {sec.compared_with or area + chr(39) + 's population'} "
              "marked" if any(baseline) else "")
           + ". " + ". ".join(parts) + ".")
    return {"title": f"{sec.name}: share of service users by period", "categories": cats,
            "periods": sec.periods, "series": series, "baseline": baseline, "area": area,
            "alt": alt}


def _completeness_table(s: ServiceReport) -> dict:
    labels = [p.label for p in s.periods]
    latest = labels[-1] if labels else None
    columns = ["Characteristic", *[f"{p}: % recorded (number of people)" for p in labels]]
    if latest:
        columns.append(f"Rating ({latest})")
    rows = []
    comp = s.completeness
    for key in chars.keys():
        part = comp[comp["characteristic"] == key]
        if part.empty:
            continue
        row = [chars.display_name(key)]
        for p in labels:
            r = part[part["period"] == p]
            if r.empty or not bool(r["collected"].iloc[0]):
                row.append("Not collected")
            elif bool(r["hidden"].iloc[0]):
                row.append(f"Not shown (small number; {r['people'].iloc[0]} people)")
            else:
                r = r.iloc[0]
                row.append(f"{r['share_text']} ({r['recorded']} of {r['people']})")
        if latest:
            r = part[part["period"] == latest]
            if r.empty or not bool(r["collected"].iloc[0]):
                row.append("Not collected")
            else:
                row.append(RAG_TEXT.get(r["rag"].iloc[0], "Not shown"))
        rows.append(row)
    return {"columns": columns, "rows": rows, "total_row": False,
            "rag_columns": [len(columns) - 1] if latest else []}


def report_context(report: AnnualReport) -> dict:
    """The plain dict the templates fill in: aggregate, published figures only."""
    cfg = report.config
    policy = report.policy
    area_name = cfg.area
    services = []
    key_findings = []
    sources: list[str] = []
    for i, s in enumerate(report.services, start=1):
        if s.comparison is not None:
            area_name = s.comparison.area.name
        latest = s.latest.label if s.latest else None
        chars_out = []
        for sec in s.sections:
            chars_out.append({
                "key": sec.key, "name": sec.name, "id": f"s{i}-{sec.key}",
                "table": _characteristic_table(sec, area_name, latest),
                "chart": _chart_spec(sec, area_name),
                "findings": sec.findings,
                "caption": f"{s.name}: {sec.name.lower()} of service users by period"
                           + (f", compared with {sec.compared_with}"
                              if len(sec.population) and sec.compared_with else ""),
                "figure": f"{sec.name}: share of service users whose {_subject(sec.key)} "
                          "is recorded, by period"
                          + (f", with the share of {sec.compared_with or area_name}"
                             if len(sec.population) else ""),
            })
        overview = [f"{p.label}: {s.totals.get(p.label, '-')} people" for p in s.periods]
        sources += [f"{s.name}, {p.label}: {', '.join(s.profiles[p.label].source.split(' + '))}"
                    for p in s.periods]
        if s.findings:
            key_findings.append({"service": s.name, "items": s.findings})
        services.append({
            "name": s.name, "id": f"s{i}", "description": s.description,
            "ages": _area_phrase(cfg, s.ages).split("population", 1)[1].strip()
                                             .removeprefix("aged ") or "all ages",
            "periods": [p.label for p in s.periods], "overview": overview,
            "completeness": _completeness_table(s),
            "findings": s.findings, "characteristics": chars_out,
            "notes": [n.text for n in s.notes],
        })
    tables = sorted({r.table_id for s in report.services if s.comparison
                     for r in s.comparison.results.values() if r.table_id})
    method = [
        "Shares are of the people whose characteristic is recorded (a valid, known value); "
        "people whose value is not stated, not known or invalid are left out of the shares, "
        "and the completeness table shows how many people have each characteristic "
        "recorded.",
        f"Population shares: ONS Census 2021 ({', '.join(tables) or 'no tables'}), "
        f"{area_name}. Each table names the population it is compared with: the service's "
        "eligible ages where the census publishes the characteristic by age (sex, ethnic "
        "group, religion, legal partnership status; religion by age and the detailed ethnic "
        "groups by age are estimates), otherwise all ages or the census' own base (aged 16, "
        "or 5, and over), said as 'no age breakdown published'.",
        "Compared with population: " + (report.services[0].comparison.method
                                        if report.services and report.services[0].comparison
                                        else "not available."),
        CHANGE_METHOD,
        "Completeness ratings: Green when at least "
        f"{pct(report.rag_thresholds['green'], 0)} of people have the characteristic "
        f"recorded, Amber from {pct(report.rag_thresholds['amber'], 0)}, Red below that.",
        "Ages are worked out at the end of each period (31 March for a financial year).",
        "Extracts used: " + "; ".join(sources) + "." if sources else "Extracts used: none.",
    ]
    footnote = policy.note([sec.table.display for s in report.services for sec in s.sections]
                           + [s.completeness[["people", "recorded"]] for s in report.services])
    if report.publish:
        method += [f"Small numbers: {footnote}", PUBLISH_METHOD]
    sections_before = [k for k in ("summary", "introduction", "policy_context", "achievements")
                       if k in cfg.narrative]
    sections_after = [k for k in ("priorities", "challenges", "governance", "conclusion")
                      if k in cfg.narrative]
    from eqia.settings.report import NARRATIVE_SECTIONS

    def narrative(keys: list[str]) -> list[dict]:
        return [{"id": k, "heading": NARRATIVE_SECTIONS[k], "blocks": _blocks(cfg.narrative[k])}
                for k in keys]

    return {
        "meta": {
            "title": cfg.title, "organisation": cfg.organisation,
            "period": cfg.period.label, "period_text": cfg.period.describe,
            "area": area_name, "classification": cfg.classification, "contact": cfg.contact,
            "generated": f"{report.generated.day} {report.generated:%B %Y}",
            "tool": f"eqia {__version__}",
            "mode": "publish" if report.publish else "internal",
            "not_for_publication": not report.publish,
            "banner": INTERNAL_BANNER if not report.publish else None,
            "footnote": footnote if report.publish else INTERNAL_BANNER,
            "language": "en-GB",
        },
        "narrative_before": narrative(sections_before),
        "narrative_after": narrative(sections_after),
        "key_findings": key_findings,
        "services": services,
        "data_notes": [n.text for n in report.all_notes],
        "method": method,
    }


#: Shown on every page of an internal report (docx header and footer, HTML banner).
INTERNAL_BANNER = "Internal – not for publication"


# --- writing ------------------------------------------------------------------------------


@dataclass
class Written:
    public: list  # files safe to publish (with --publish)
    internal: list  # files that must never be published (the suppression log)

    def __iter__(self):
        return iter(self.public + self.internal)


def _slug(text: str) -> str:
    import re

    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:60] or "report"


def write_report(report: AnnualReport, out_dir, formats=("docx", "html", "xlsx")) -> Written:
    """Write the report's files; the suppression log only ever goes under ``internal/``.

    All are written first and then moved into place together (``eqia.outputs.Staged``):
    a run that fails leaves the previous report as it was.
    """
    from pathlib import Path

    from eqia.outputs import Staged
    from eqia.spreadsheet import to_csv

    out = Path(out_dir)
    context = report_context(report)
    stem = _slug(report.config.title)
    charts = render_charts(context) if {"docx", "html"} & set(formats) else {}
    public, internal = [], []
    with Staged(out) as stage:
        if "docx" in formats:
            write_docx(context, charts, stage.path(f"{stem}.docx"))
            public.append(out / f"{stem}.docx")
        if "html" in formats:
            write_html(context, charts, stage.path(f"{stem}.html"))
            public.append(out / f"{stem}.html")
        if "xlsx" in formats:
            write_xlsx(report, context, stage.path(f"{stem}.xlsx"))
            public.append(out / f"{stem}.xlsx")
        if report.publish:
            stage.write_text("internal/suppression_log.csv", to_csv(report.suppression_log()))
            internal.append(out / "internal" / "suppression_log.csv")
    return Written(public=public, internal=internal)


# --- charts -------------------------------------------------------------------------------

#: Bar colours by period, oldest to newest: lighter to darker blue, so that the order
#: reads in greyscale too. The population's share is a line in the EqIA charts' colour.
PERIOD_COLOURS = ("#9ecae1", "#4292c6", "#2171b5", "#08306b")


def render_charts(context: dict) -> dict[str, bytes]:
    """PNG bytes for every characteristic's trend chart, keyed by its id."""
    return {c["id"]: trend_chart_png(c["chart"])
            for s in context["services"] for c in s["characteristics"] if c["chart"]}


def trend_chart_png(spec: dict, dpi: int = 150) -> bytes:
    """Horizontal bars: each category's share of the known, one bar per period (newest
    darkest), and the population's share as a marked line. A hidden share is labelled
    "not shown", never drawn as zero."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    from eqia.render.charts import BASELINE_COLOUR, WIDTH_IN, _wrap

    cats, periods = spec["categories"], spec["periods"]
    n_p = len(periods)
    if n_p == 2:
        colours = [PERIOD_COLOURS[0], PERIOD_COLOURS[-1]]
    else:
        colours = [PERIOD_COLOURS[max(0, len(PERIOD_COLOURS) - n_p + j)] for j in range(n_p)]
    labels = [_wrap(str(c)) for c in cats]
    extra = sum(lab.count("\n") for lab in labels)
    fig = Figure(figsize=(WIDTH_IN, 1.1 + len(cats) * (0.17 * n_p + 0.14) + 0.1 * extra),
                 dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    values = [v for p in periods for v in spec["series"][p] if v is not None]
    values += [b for b in spec["baseline"] if b is not None]
    top = max([*values, 0.01])
    xmax = top * 1.22 if top < 0.8 else 1.12
    bar_h = 0.8 / n_p
    for j, p in enumerate(periods):
        for i, v in enumerate(spec["series"][p]):
            y = i + (j - (n_p - 1) / 2) * bar_h
            if v is None:
                ax.text(xmax * 0.01, y, f"{p}: not shown (small number)", va="center",
                        fontsize=7, color="#333333")
                continue
            ax.barh(y, v, height=bar_h * 0.9, color=colours[j], edgecolor="#08306b",
                    linewidth=0.4)
            ax.text(v + xmax * 0.01, y, f"{100 * v:.1f}%", va="center", fontsize=7,
                    color="#1f1f1f", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6,
                          "alpha": 0.85})
    has_base = any(b is not None for b in spec["baseline"])
    for i, b in enumerate(spec["baseline"]):
        if b is not None:
            ax.plot([b, b], [i - 0.46, i + 0.46], color=BASELINE_COLOUR, linewidth=2.4,
                    zorder=3)
    ax.set_yticks(range(len(cats)), labels, fontsize=8)
    ax.set_ylim(len(cats) - 0.5, -0.5)  # top to bottom; room for "not shown" labels too
    ax.set_xlim(0, xmax)
    ax.set_xticks([t for t in ax.get_xticks() if 0 <= t <= min(1.0, xmax)])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("Share of service users with a known value", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    handles = [Patch(facecolor=colours[j], edgecolor="#08306b", label=p)
               for j, p in enumerate(periods)]
    if has_base:
        handles.append(Line2D([0], [0], color=BASELINE_COLOUR, linewidth=2.4,
                              label=f"{spec['area']} population (Census 2021)"))
    fig.legend(handles=handles, fontsize=7, loc="upper center", ncol=len(handles),
               frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# --- docx ---------------------------------------------------------------------------------


def write_docx(context: dict, charts: dict[str, bytes], path):
    """The report as an accessible Word document: real headings, repeated table header
    rows, alt text on every chart, title and language set."""
    import hashlib
    import io

    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.shared import Cm, Pt, RGBColor

    from eqia.render.docx import describe_pictures, mark_header_rows

    meta = context["meta"]
    alt_by_hash: dict[str, tuple[str, str]] = {}
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    section.top_margin = section.bottom_margin = Cm(2.0)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    for name in ("Header", "Footer"):
        doc.styles[name].font.size = Pt(9)
    for name, size in (("Title", 24), ("Heading 1", 16), ("Heading 2", 13), ("Heading 3", 12)):
        st_ = doc.styles[name]
        st_.font.name = "Arial"
        st_.font.size = Pt(size)
        st_.font.color.rgb = RGBColor(0x1F, 0x1F, 0x1F) if name == "Title" else \
            RGBColor(0x08, 0x30, 0x6B)

    label = meta["banner"] or f"{meta['title']} – {meta['organisation']}"
    for part in (section.header, section.footer):
        para = part.paragraphs[0]
        para.text = label
        para.runs[0].font.size = Pt(9)
        para.runs[0].bold = bool(meta["banner"])
        if meta["banner"]:
            para.runs[0].font.color.rgb = RGBColor(0x8B, 0x00, 0x00)
    _page_number(section.footer.add_paragraph(), Pt(9))

    doc.add_paragraph(meta["title"], style="Title")
    doc.add_paragraph(meta["organisation"], style="Subtitle")
    facts = [("Period", meta["period_text"]), ("Compared with", f"{meta['area']} (Census 2021)")]
    if meta["classification"]:
        facts.append(("Classification", meta["classification"]))
    if meta["contact"]:
        facts.append(("Contact", meta["contact"]))
    facts.append(("Produced", f"{meta['generated']} with {meta['tool']}"))
    for k, v in facts:
        p = doc.add_paragraph()
        p.add_run(f"{k}: ").bold = True
        p.add_run(v)
    if meta["banner"]:
        p = doc.add_paragraph()
        r = p.add_run(f"{meta['banner']}. Every figure is shown, including small numbers. "
                      "Run eqia report with --publish for the version to publish.")
        r.bold = True

    def blocks(items: list[dict]) -> None:
        for b in items:
            if b["type"] == "p":
                doc.add_paragraph(b["text"])
            else:
                for it in b["items"]:
                    doc.add_paragraph(it, style="List Bullet")

    def table(spec: dict, caption: str) -> None:
        cap = doc.add_paragraph()
        cap.add_run(caption).bold = True
        cap.paragraph_format.keep_with_next = True
        cols = spec["columns"]
        t = doc.add_table(rows=1, cols=len(cols))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        widths = _column_widths(cols, spec["rows"], 17.0)
        for j, column in enumerate(t.columns):
            column.width = Cm(widths[j])
            for c in column.cells:
                c.width = Cm(widths[j])
        for cell, text in zip(t.rows[0].cells, cols, strict=True):
            cell.text = ""
            run = cell.paragraphs[0].add_run(text)
            run.bold = True
            run.font.size = Pt(8.5)
            _shade(cell, "DEEBF7")
        for i, row in enumerate(spec["rows"]):
            new_row = t.add_row()
            _cant_split(new_row)
            cells = new_row.cells
            last = spec.get("total_row") and i == len(spec["rows"]) - 1
            for j, (cell, text) in enumerate(zip(cells, row, strict=True)):
                cell.width = Cm(widths[j])
                cell.text = ""
                run = cell.paragraphs[0].add_run(str(text))
                run.font.size = Pt(8.5)
                run.bold = bool(last)
                if j in spec.get("rag_columns", ()) and str(text).lower() in RAG_FILLS:
                    _shade(cell, RAG_FILLS[str(text).lower()])
        if meta["mode"] == "publish":
            note = doc.add_paragraph()
            run = note.add_run(meta["footnote"])
            run.font.size = Pt(8.5)
            run.italic = True

    for sec in context["narrative_before"]:
        doc.add_heading(sec["heading"], level=1)
        blocks(sec["blocks"])
    doc.add_heading("Key findings", level=1)
    if not context["key_findings"]:
        doc.add_paragraph("No significant changes or differences from the population were "
                          "found, and every characteristic collected is well recorded.")
    for group in context["key_findings"]:
        doc.add_heading(group["service"], level=2)
        for f in group["items"]:
            doc.add_paragraph(f, style="List Bullet")
    n_table = 0
    n_figure = 0
    for s in context["services"]:
        doc.add_heading(s["name"], level=1).paragraph_format.page_break_before = True
        if s["description"]:
            doc.add_paragraph(s["description"])
        doc.add_paragraph(f"Eligible ages: {s['ages']}. People using the service, by period:")
        for line in s["overview"] or ["No usable extract."]:
            doc.add_paragraph(line, style="List Bullet")
        for n in s["notes"]:
            doc.add_paragraph(f"Data note: {n}")
        doc.add_heading("Completeness of equality data", level=2)
        n_table += 1
        table(s["completeness"], f"Table {n_table}: {s['name']}: share of people with each "
                                 "characteristic recorded")
        for c in s["characteristics"]:
            doc.add_heading(c["name"], level=2)
            for f in c["findings"]:
                doc.add_paragraph(f)
            n_table += 1
            table(c["table"], f"Table {n_table}: {c['caption']}")
            if c["id"] in charts:
                png = charts[c["id"]]
                n_figure += 1
                cap = doc.add_paragraph()
                cap.add_run(f"Figure {n_figure}: {c['figure']}").bold = True
                cap.paragraph_format.keep_with_next = True
                cap.paragraph_format.space_before = Pt(10)
                doc.add_picture(io.BytesIO(png), width=Cm(15))
                alt_by_hash[hashlib.sha1(png).hexdigest()] = (c["chart"]["alt"],
                                                              c["chart"]["title"])
    for sec in context["narrative_after"]:
        doc.add_heading(sec["heading"], level=1)
        blocks(sec["blocks"])
    doc.add_heading("Data notes", level=1)
    if context["data_notes"]:
        for n in context["data_notes"]:
            doc.add_paragraph(n, style="List Bullet")
    else:
        doc.add_paragraph("None: every service has an extract for every period.")
    doc.add_heading("Method and sources", level=1)
    for m in context["method"]:
        doc.add_paragraph(m)
    # The same accessibility post-processing as the EqIA documents.
    mark_header_rows(doc)
    describe_pictures(doc, alt_by_hash)
    props = doc.core_properties
    props.title = meta["title"]
    props.subject = f"Annual equality report, {meta['organisation']}, {meta['period']}"
    props.author = meta["organisation"]
    props.language = meta["language"]
    props.keywords = "equality; diversity; Public Sector Equality Duty; annual report"
    props.comments = f"Produced with {meta['tool']} on {meta['generated']}"
    _set_language(doc, meta["language"])
    atomic_write(path, lambda p: doc.save(str(p)))
    return path


#: Cell fills for the completeness ratings (the rating is also written in the cell).
RAG_FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}


def _column_widths(columns: list[str], rows: list[list], total: float) -> list[float]:
    """Widths (cm) of a table's columns at 8.5 pt: each at least as wide as its longest
    word (so that no word breaks), the rest shared in proportion to typical text, so
    that labels wrap in the first column rather than numbers in the others."""
    char_cm, pad_cm = 0.18, 0.4
    minimum, typical = [], []
    for j, head in enumerate(columns):
        texts = [str(r[j]) for r in rows]
        words = [len(w) for t in [head, *texts] for w in t.split()] or [4]
        minimum.append(max(words) * char_cm + pad_cm)
        lengths = sorted(len(t) for t in texts) or [6]
        typical.append(min(lengths[len(lengths) * 3 // 4], 40 if j == 0 else 18) * char_cm
                       + pad_cm)
    spare = total - sum(minimum)
    if spare <= 0:
        return [w * total / sum(minimum) for w in minimum]
    extra = [max(0.0, t - m) for t, m in zip(typical, minimum, strict=True)]
    if sum(extra) == 0:
        return [m + spare / len(minimum) for m in minimum]
    grow = min(1.0, spare / sum(extra))
    widths = [m + e * grow for m, e in zip(minimum, extra, strict=True)]
    left = total - sum(widths)
    return [w + left * w / sum(widths) for w in widths]


def _cant_split(row) -> None:
    """Keep a table row on one page."""
    from docx.oxml import OxmlElement

    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))


def _shade(cell, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _page_number(para, size) -> None:
    """"Page N of M" as Word fields (updated by Word and LibreOffice when shown)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT

    def field(code: str) -> None:
        run = para.add_run()
        run.font.size = size
        for kind, text in (("begin", None), ("instr", code), ("separate", None),
                           ("text", "1"), ("end", None)):
            if kind == "instr":
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = f" {text} "
            elif kind == "text":
                el = OxmlElement("w:t")
                el.text = text
            else:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            run._r.append(el)

    run = para.add_run("Page ")
    run.font.size = size
    field("PAGE")
    run = para.add_run(" of ")
    run.font.size = size
    field("NUMPAGES")


def _set_language(doc, language: str) -> None:
    """The document's default language (w:lang in the default run properties)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault")) if defaults is not None else None
    rpr = rpr_default.find(qn("w:rPr")) if rpr_default is not None else None
    if rpr is None:
        return
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    for attr in ("w:val", "w:eastAsia", "w:bidi"):
        lang.set(qn(attr), language)


# --- html ---------------------------------------------------------------------------------


def write_html(context: dict, charts: dict[str, bytes], path):
    """The report as one self-contained, semantic HTML page (charts embedded), rendered
    in the same sandboxed, strict Jinja2 environment as the EqIA documents."""
    import base64

    from eqia.render import _jinja

    env = _jinja.environment(None, autoescape=True)
    images = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii")
              for k, v in charts.items()}
    html = _jinja.render_text(env, "report.html.j2", {**context, "charts": images})
    atomic_write(path, lambda p: p.write_text(html, encoding="utf-8"))
    return path


# --- xlsx ---------------------------------------------------------------------------------


def _number(text: str):
    """A published cell as a number for a spreadsheet ("1,235" -> 1235); the marker and
    words stay text."""
    t = str(text).replace(",", "").strip()
    try:
        return int(t)
    except ValueError:
        try:
            return float(t)
        except ValueError:
            return text


def publishable_tables(report: AnnualReport) -> dict[str, pd.DataFrame]:
    """Every table of the report as the documents show it (numbers where shown, the
    marker where hidden), for the spreadsheet. Sheet name -> table."""
    policy = report.policy
    tables: dict[str, pd.DataFrame] = {}
    area = report.config.area
    rows = [(s.name, f) for s in report.services for f in s.findings]
    tables["Key findings"] = pd.DataFrame(rows, columns=["Service", "Finding"])
    for i, s in enumerate(report.services, start=1):
        comp = s.completeness[s.completeness["collected"]]
        frame = pd.DataFrame({
            "Characteristic": comp["name"], "Period": comp["period"],
            "People": comp["people"].map(_number), "Recorded": comp["recorded"].map(_number),
            "% recorded": [round(100 * x, policy.share_decimals) if pd.notna(x) else
                           policy.marker for x in comp["share"]],
            "Rating": comp["rag"].map(lambda r: RAG_TEXT.get(r, "")),
        })
        tables[f"S{i} completeness"] = frame
        if s.comparison is not None:
            area = s.comparison.area.name
        for sec in s.sections:
            t = sec.table
            out = pd.DataFrame({"Category": [str(c) for c in t.display.index]})
            for p in sec.periods:
                out[f"{p} number"] = [_number(x) for x in t.display[p]]
                out[f"{p} % of known"] = [
                    policy.marker if x == policy.marker else (_number(x.rstrip("%"))
                                                              if x != "-" else "")
                    for x in t.shares_display[p]]
            if len(sec.changes):
                ch = sec.changes.set_index("category")
                out["Change (points)"] = [round(ch.at[c, "change_pp"], 1) if c in ch.index and
                                          pd.notna(ch.at[c, "change_pp"]) else ""
                                          for c in t.display.index]
                out["p (Holm)"] = [round(ch.at[c, "p_adjusted"], 4) if c in ch.index and
                                   pd.notna(ch.at[c, "p_adjusted"]) else ""
                                   for c in t.display.index]
                out["Significant change"] = [("Yes" if ch.at[c, "significant"] else "No")
                                             if c in ch.index else "" for c in t.display.index]
            if len(sec.population):
                pop = sec.population.set_index("category")

                def val(c, col, scale=100.0, pop=pop):
                    if c not in pop.index or pd.isna(pop.at[c, col]):
                        return ""
                    return round(scale * float(pop.at[c, col]), 1)

                latest = sec.periods[-1]
                out[f"{latest} 95% CI low %"] = [val(c, "ci_low") for c in t.display.index]
                out[f"{latest} 95% CI high %"] = [val(c, "ci_high") for c in t.display.index]
                out[f"{area} population %"] = [val(c, "baseline_share")
                                               for c in t.display.index]
                out["Compared with population"] = [
                    flag_words(pop.at[c, "flag"], bool(pop.at[c, "hidden"]))
                    if c in pop.index else ""
                    for c in t.display.index]
            tables[f"S{i} {sec.name}"[:31]] = out
    tables["Data notes"] = pd.DataFrame({"Note": [n.text for n in report.all_notes]})
    return tables


def write_xlsx(report: AnnualReport, context: dict, path):
    """One sheet per table, header row frozen; a contents sheet says what each holds."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from eqia.spreadsheet import save_workbook, write_frame

    meta = context["meta"]
    tables = publishable_tables(report)
    wb = Workbook()
    ws = wb.active
    ws.title = "Contents"
    lines = [meta["title"], meta["organisation"], f"Period: {meta['period_text']}"]
    if meta["banner"]:
        lines.append(f"{meta['banner']}: every figure is shown, including small numbers.")
    else:
        lines.append(meta["footnote"])
    lines.append("")
    lines += [f"{name}" for name in tables]
    lines.append("")
    lines += context["method"]
    write_frame(ws, pd.DataFrame({"": lines}), header=False)
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 110
    for name, frame in tables.items():
        sheet = wb.create_sheet(name)
        write_frame(sheet, frame)
        for j, col in enumerate(frame.columns, start=1):
            sheet.cell(row=1, column=j).font = Font(bold=True)
            width = max([len(str(col))] + [len(str(v)) for v in frame[col]])
            sheet.column_dimensions[get_column_letter(j)].width = min(60, max(10, width + 2))
        sheet.freeze_panes = "A2"
    for sheet in wb.worksheets:
        label = meta["banner"] or meta["title"]
        sheet.oddHeader.center.text = label
        sheet.oddFooter.center.text = label
    wb.properties.title = meta["title"]
    wb.properties.language = meta["language"]
    atomic_write(path, lambda p: save_workbook(wb, p))
    return path

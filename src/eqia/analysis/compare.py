"""Service vs baseline, per characteristic and category: shares, intervals, ratios, flags.

``compare(profile, area)`` returns a ``Comparison`` whose ``table`` has one row per
characteristic x category (the documented csv columns and more). Where the census
crosses a characteristic with age (sex, ethnic group, religion, legal partnership
status: ``age_crossings``), the baseline is the eligible ages' population and the
expected counts are indirectly standardised for the service's own age profile (from
each person's age and value, or, in a table of counts, from the two given apart); both
crude and age-adjusted rows are given and ``headline`` marks the one the flag should be
read from. Where it does not, each result names the population actually used and says
whether the service's ages differ from it so much that the comparison is
*age-confounded*. Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from eqia.agebands import AgeBand
from eqia.analysis import stats
from eqia.census import age_crossings as ac
from eqia.census import baselines as bl
from eqia.read.counts import Profile
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED
from eqia.settings.rules import Rules, load_rules

CSV_COLUMNS = [
    "characteristic", "category", "service_count", "service_share", "ci_low", "ci_high",
    "ci_low_strong", "ci_high_strong", "baseline_share", "expected", "ratio", "ratio_low",
    "ratio_high", "difference_pp", "p_value", "p_adjusted", "flag", "signal_95", "strength",
    "tipping_share", "missing_could_explain", "age_adjusted", "population",
    "baseline_estimated", "age_confounded",
]

#: Age bands used to standardise (Census 2021 TS009 five-year bands, 90+ at the top).
STANDARD_BANDS = ",".join(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ",90+"
#: TS009 counts everyone aged 90 and over together: no band can start above this.
STANDARD_TOP = 90

#: ``flag`` values of rows that are not a comparison of a category with the census.
STATUS_FLAGS = ("not_collected", "no_baseline", "no_census_category", "outside_ages")

#: Each flag in plain words, for documents (neutral: higher/lower, not better/worse).
FLAG_WORDS = {
    "under": "Fewer than expected",
    "over": "More than expected",
    "none": "In line",
    "too_few": "Too few to test",
    "no_census_category": "No census figure",
    "outside_ages": "Outside the service's ages",
    "no_baseline": "No census figure",
    "not_collected": "Not collected",
}

STATUS_TEXT = {
    "compared": "compared with the census",
    "not_collected": "not collected in the extract",
    "no_baseline": "no Census 2021 baseline",
    "no_known": "no known values to compare",
}

#: What each column means (the xlsx method sheet and docs/compare-method.md list these).
COLUMN_TEXT = {
    "characteristic": "Protected characteristic (eqia key), e.g. sex, ethnicity.",
    "category": "Standard category (Census 2021 wording); empty on a status row.",
    "service_count": "O: the service's users in the category.",
    "service_share": "O / N, where N is the service's users with a known value that the "
                     "census counts (a fraction 0-1).",
    "ci_low": "Lower limit of service_share's interval at the rules' level (95%): Wilson "
              "score, or exact (Clopper-Pearson) for small counts (exact_binomial_below); on "
              "age-adjusted rows the ratio's limit times E / N.",
    "ci_high": "Upper limit of service_share's interval (95%).",
    "ci_low_strong": "Lower limit of service_share's interval at the stricter level (99.8%).",
    "ci_high_strong": "Upper limit of service_share's interval at the stricter level (99.8%).",
    "baseline_share": "The category's share of the area's population (eligible ages where "
                      "the census allows), people who did not answer left out (0-1).",
    "expected": "E: users expected if the service matched the area; N x baseline_share "
                "(crude) or indirectly standardised for age (age_adjusted true).",
    "ratio": "Representation ratio O / E.",
    "ratio_low": "Lower limit of the ratio (95%): crude rows, the share's limit divided by "
                 "baseline_share; age-adjusted rows, Byar when O >= 10, exact Poisson below.",
    "ratio_high": "Upper limit of the ratio (95%).",
    "difference_pp": "service_share minus E / N, in percentage points (for crude rows, "
                     "minus baseline_share).",
    "p_value": "Two-sided p-value of the category's own test, the one its intervals invert "
               "(score or exact binomial; Byar or exact Poisson); empty when not tested.",
    "p_adjusted": "p_value allowing for the characteristic's other categories (Holm by "
                  "default: family_wise in the rules).",
    "flag": "under / over / none / too_few, allowing for the number of categories compared "
            "(p_adjusted below 0.05 and the ratio beyond 0.8 / 1.25); or a status: "
            "not_collected, no_baseline, no_census_category, outside_ages.",
    "signal_95": "Screening signal: under / over / none from the category's own test at "
                 "95% (p_value) and the ratio, not allowing for the other categories.",
    "strength": "For a signal: 99.8% when the 99.8% interval excludes the baseline too, "
                "else 95%.",
    "tipping_share": "For a flag: the share of the unknowns who would have to be in the "
                     "group for the flag to go (under: at least this share; over: at most). "
                     "Empty when no share would remove it or nothing is unknown.",
    "missing_could_explain": "For a flag: true when the tipping share is plausible (at most "
                             "tipping_plausible_factor times the larger of the group's share "
                             "among the recorded and its expected share; for over, at least "
                             "the smaller divided by it).",
    "age_adjusted": "true: expected count indirectly standardised for age; false: crude.",
    "population": "The population the row is compared with, e.g. \"Maidstone's population "
                  "aged 65 and over\" or \"Maidstone's population of all ages (no age "
                  "breakdown published)\".",
    "baseline_estimated": "true: the baseline share or expected count rests on an estimate "
                          "(religion by age, detailed ethnic groups by age, separated vs "
                          "divorced by age), not a published count.",
    "age_confounded": "true: the census has no age breakdown for the characteristic and the "
                      "service's age mix differs markedly from the population's (see "
                      "age_mismatch in the characteristics sheet), so a difference may come "
                      "from age alone; empty when the service's ages are not known.",
    "expected_share": "E / N.",
    "ratio_low_strong": "Lower limit of the ratio at the stricter level (99.8%).",
    "ratio_high_strong": "Upper limit of the ratio at the stricter level (99.8%).",
    "ratio_method": "Method of the row's intervals and test: Wilson score, exact binomial, "
                    "Byar or exact Poisson.",
    "flag_reason": "Why a row is too_few or not compared.",
    "unknown": "The characteristic's unknowns (not stated + not known).",
    "not_stated": "Unknowns who were asked and declined.",
    "not_known": "Unknowns not asked or not recorded (incl. blank, broad group only).",
    "invalid": "Values that could not be read (treated as unknown in the missing-data test).",
    "headline": "true on the rows to read the flag from (age-adjusted where available).",
    "expected_age_low": "Age-confounded rows: the fewest users age alone could give the "
                        "group (its share by age unknown; the census total and the two age "
                        "mixes fixed).",
    "expected_age_high": "Age-confounded rows: the most users age alone could give the group.",
    "robust_to_age": "Age-confounded flags: true when the flag holds even against the expected "
                     "count age alone could most explain it with (expected_age_high for over, "
                     "expected_age_low for under); false when age alone could explain it.",
    "holds_across_grid": "For a flag: true when p_adjusted is also below 0.05 divided by the "
                         "number of screening-grid characteristics with a tested category "
                         "(the evidence a HIGH suggested rating needs).",
}

#: Columns of ``Comparison.table`` after the csv ones (the xlsx sheet has them all).
EXTRA_COLUMNS = [
    "expected_share", "ratio_low_strong", "ratio_high_strong", "ratio_method", "flag_reason",
    "unknown", "not_stated", "not_known", "invalid", "headline", "holds_across_grid",
    "expected_age_low", "expected_age_high", "robust_to_age",
]


@dataclass
class CharacteristicResult:
    """What is known about one characteristic, beyond its category rows."""

    key: str
    name: str
    status: str  # compared / not_collected / no_baseline / no_known
    rows: int = 0
    known: int = 0
    unknown: int = 0
    not_stated: int = 0
    not_known: int = 0
    invalid: int = 0
    base: str | None = None
    table_id: str | None = None
    age_adjusted: bool = False
    gof: dict | None = None
    caveats: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None
    no_census_categories: dict[str, int] = field(default_factory=dict)
    outside_ages: dict[str, int] = field(default_factory=dict)
    baseline_unknown: int = 0
    baseline_total: int = 0
    #: The population compared with, in words that follow "compared with".
    population: str = ""
    #: Categories whose baseline rests on an estimate (see ``age_crossings``).
    estimated: list[str] = field(default_factory=list)
    #: How the expected counts were standardised for age: "joint" (each person's age
    #: and value), "marginal" (a table giving ages and values apart), or None (crude).
    standardisation: str | None = None
    #: Dissimilarity of the service's ages from the compared population's (0-1), where
    #: the comparison is not matched for age; None where it is, or cannot be told.
    age_mismatch: float | None = None
    age_confounded: bool | None = None

    @property
    def known_share(self) -> float:
        return self.known / self.rows if self.rows else 0.0


@dataclass
class Comparison:
    area: bl.Area
    ages: AgeBand | None
    table: pd.DataFrame
    results: dict[str, CharacteristicResult]
    rules: Rules
    source: str
    rows: int
    notes: list[str] = field(default_factory=list)
    #: How many screening-grid characteristics had a category tested: the flags'
    #: ``holds_across_grid`` allows for them all.
    screened: int = 0

    def csv_table(self) -> pd.DataFrame:
        return self.table[CSV_COLUMNS]

    def headline(self, key: str) -> pd.DataFrame:
        t = self.table
        return t[(t["characteristic"] == key) & t["headline"]]

    @property
    def method(self) -> str:
        return stats.method_text(self.rules)


def compare(
    profile: Profile,
    area: str | bl.Area,
    ages: AgeBand | str | None = None,
    rules: Rules | str | None = None,
    comparators: dict[str, bl.Baseline] | None = None,
    data_date: dt.date | None = None,
) -> Comparison:
    """Compare a service's profile with an area's census population.

    ``ages``: the eligible age range (``"18-"``, ``"65-"``, ``"18-64"`` or an ``AgeBand``);
    the baseline is restricted to it where the census allows, and each characteristic's
    ``notes`` say where it could not be. ``rules``: a ``Rules`` or the path of a rules
    YAML file (``None``: the packaged defaults). ``comparators``: non-census baselines by
    characteristic key (compared crude: the census age breakdown does not apply to them).
    ``data_date``: when the service data are from (the middle of their period; default:
    the middle of ``profile.period`` if it names a year), for the note on how far that is
    from Census Day. Raises ``UsageError`` for an unknown area or a bad age range and ``ConfigError`` for
    a bad rules file; everything else about the data is reported in the result.
    """
    from eqia.agebands import parse_range

    age_range = parse_range(ages) if isinstance(ages, str) else ages
    rules_obj = rules if isinstance(rules, Rules) else load_rules(rules)
    area_obj = area if isinstance(area, bl.Area) else bl.find_area(area)
    frames, results = [], {}
    for key in chars.all_keys():
        comparator = (comparators or {}).get(key)
        frame, result = _compare_one(profile, area_obj, key, age_range, rules_obj, comparator)
        results[key] = result
        if frame is not None:
            frames.append(frame)
    table = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=CSV_COLUMNS + EXTRA_COLUMNS))
    table = table.reindex(columns=CSV_COLUMNS + EXTRA_COLUMNS + [
        c for c in table.columns if c not in CSV_COLUMNS + EXTRA_COLUMNS])
    screened = _across_grid(table, rules_obj)
    notes = []
    outside = results["age"].outside_ages if "age" in results else {}
    if outside:
        n_out = sum(outside.values())
        notes.append(
            f"{n_out:,} {'person' if n_out == 1 else 'people'} using the service "
            f"({', '.join(f'{n:,} aged {b}' for b, n in outside.items())}) "
            f"{'is' if n_out == 1 else 'are'} outside the ages {age_range} the baseline "
            "covers. They are shown but not compared in the age table; in the other "
            "characteristics' crude comparisons they are counted among the service's users."
        )
    when = data_date or period_middle(profile.period)
    distance = census_distance_note(when, rules_obj)
    if distance:
        notes.append(distance)
    return Comparison(
        area=area_obj, ages=age_range, table=table.reset_index(drop=True), results=results,
        rules=rules_obj, source=profile.source, rows=profile.rows, notes=notes,
        screened=screened,
    )


#: Census Day 2021: the date every Census 2021 baseline describes.
CENSUS_DAY = dt.date(2021, 3, 21)


def period_middle(label: str | None) -> dt.date | None:
    """The middle of a reporting period named like 2015-16 or 2025 (None if it is not)."""
    from eqia.settings.report import parse_period

    period = parse_period(label) if label else None
    if period is None:
        return None
    return period.start + (period.end - period.start) / 2


def census_distance_note(when: dt.date | None, rules: Rules) -> str | None:
    """A note when ``when`` is more than ``rules.census_distance_years`` from Census Day."""
    if when is None:
        return None
    years = (when - CENSUS_DAY).days / 365.25
    if abs(years) <= rules.census_distance_years:
        return None
    side = "before" if years < 0 else "after"
    amount = f"{abs(years):.1f} years"
    if round(abs(years), 1) <= rules.census_distance_years:  # e.g. 5.03: not "5.0 years"
        amount = f"just over {rules.census_distance_years:g} years"
    text = (f"The service data are from around {when.day} {when:%B %Y}, {amount} {side} "
            "Census Day (21 March 2021) that every baseline here describes: the area's "
            "population may have changed in between")
    if years < 0:
        text += ", and the 2011 Census is nearer in time"
    return text + "."


def _across_grid(table: pd.DataFrame, rules: Rules) -> int:
    """Set ``holds_across_grid`` on flagged rows: does the flag also hold when every
    screening-grid characteristic with a tested category is allowed for, its adjusted
    p-value below the flag's level divided by their number (Bonferroni across the grid,
    on top of the family-wise control within each)? Returns that number.

    The flag allows for a characteristic's own categories; a screening grid asks about
    nine or ten characteristics at once, so "any flag anywhere in the grid" needs this
    second allowance to be held to 5% (benchmarks/README.md).
    """
    grid = table["characteristic"].isin(chars.keys()) & table["headline"].astype(bool)
    screened = int(table.loc[grid & table["p_value"].notna(), "characteristic"].nunique())
    flagged = table["flag"].isin(["under", "over"])
    holds = table["p_adjusted"] < stats.flag_alpha(rules) / max(screened, 1)
    table["holds_across_grid"] = pd.array(
        [bool(h) if f else None for h, f in zip(holds, flagged, strict=True)], dtype=object)
    return screened


def _overlap(band: AgeBand, ages: AgeBand | None) -> str:
    """``inside``, ``outside`` or ``partly`` inside the eligible range ``ages``."""
    if ages is None:
        return "inside"
    band_hi = band.hi if band.hi is not None else float("inf")
    ages_hi = ages.hi if ages.hi is not None else float("inf")
    if band_hi < ages.lo or band.lo > ages_hi:
        return "outside"
    if band.lo >= ages.lo and band_hi <= ages_hi:
        return "inside"
    return "partly"


def _status_row(key: str, flag: str) -> pd.DataFrame:
    row = dict.fromkeys(CSV_COLUMNS, np.nan)
    row.update(characteristic=key, category="", flag=flag, signal_95="", strength="",
               missing_could_explain=None, age_adjusted=False, headline=True)
    return pd.DataFrame([row])


def _compare_one(
    profile: Profile,
    area: bl.Area,
    key: str,
    ages: AgeBand | None,
    rules: Rules,
    comparator: bl.Baseline | None,
) -> tuple[pd.DataFrame | None, CharacteristicResult]:
    name = chars.display_name(key)
    if not profile.is_collected(key):
        result = CharacteristicResult(key, name, "not_collected",
                                      reason=f"{name} is not collected in the extract.")
        return (_status_row(key, "not_collected") if key != ETHNICITY_DETAILED else None), result

    reasons = profile.unknown_by_reason(key)
    result = CharacteristicResult(
        key, name, "compared", rows=profile.inputs[key], known=profile.known(key),
        unknown=profile.unknown(key), not_stated=reasons.get("not_stated", 0),
        not_known=reasons.get("not_known", 0) + reasons.get("blank", 0)
        + reasons.get("group_only", 0),
        invalid=profile.invalid(key),
    )
    bands = list(profile.age_bands) if key == "age" else None
    base = comparator or bl.baseline(area, key, ages=ages, bands=bands)
    result.base, result.table_id = base.base, base.table
    result.caveats = list(base.caveats)
    if getattr(base, "age_note", None):
        result.notes.append(base.age_note)
    if not base.available:
        result.status, result.reason = "no_baseline", base.reason
        return _status_row(key, "no_baseline"), result
    result.baseline_unknown, result.baseline_total = int(base.unknown), int(base.total)
    result.population = population_text(area, base, ages)
    result.estimated = [c for c in base.counts["category"] if c in base.estimated]

    service = profile.category_counts(key)
    shares = base.counts.set_index("category")["share"]
    comparable = [c for c in service.index if c in shares.index]
    for c in service.index:
        if c in shares.index or service[c] <= 0:
            continue
        band = _age_band(profile, c) if key == "age" else None
        if band is not None and _overlap(band, ages) == "outside":
            result.outside_ages[c] = int(service[c])
        else:
            result.no_census_categories[c] = int(service[c])
    observed = service.reindex(comparable).astype(float)
    n = float(observed.sum())
    u = float(result.unknown + result.invalid)
    if n == 0:
        result.status = "no_known"
        if result.no_census_categories or result.outside_ages:
            result.reason = (f"No one using the service is in a {name.lower()} category the "
                             "census counts, so there is nothing to compare.")
        else:
            result.reason = (f"No one using the service has a known {name.lower()}, so there "
                             "is nothing to compare.")
    frame = pd.DataFrame({
        "category": comparable,
        "observed": observed.to_numpy(),
        "n": n,
        "unknown": u,
        "baseline_share": shares.reindex(comparable).to_numpy(),
    })
    frame["expected"] = frame["n"] * frame["baseline_share"]
    crude = stats.compare_table(frame, rules)
    crude["age_adjusted"] = False
    if n == 0:
        crude["flag_reason"] = result.reason
    out = [crude]
    crude["baseline_estimated"] = crude["category"].isin(base.estimated)
    standardised = None
    if comparator is None and n > 0:
        standardised = _standardised_expected(profile, area, key, comparable, ages)
    if standardised is not None:
        expected, how, crossing = standardised
        adj_frame = frame.copy()
        adj_frame["expected"] = expected.reindex(comparable).to_numpy()
        adj = stats.compare_table(adj_frame, rules, standardised=True)
        adj["age_adjusted"] = True
        adj["baseline_estimated"] = adj["category"].isin(crossing.estimated)
        out.append(adj)
        result.age_adjusted, result.standardisation = True, how
        result.estimated = [c for c in comparable if c in crossing.estimated]
        result.notes.append(_standardised_note(area, name, how, crossing))
    if result.estimated:
        result.notes.append(_estimated_note(key, base, standardised, result.estimated))
    mixes = _age_mixes(profile, area, key, base, ages, result) if (
        comparator is None and n > 0) else None
    if mixes is not None:
        result.age_mismatch = dissimilarity(*mixes)
        result.age_confounded = result.age_mismatch > rules.age_confounded_distance
        note = _confounded_note(result, rules)
        if note:
            result.notes.append(note)
        if result.age_confounded:
            for t in out:
                _age_retest(t, mixes, rules, n)
    if comparator is None and result.estimated and set(result.estimated) >= set(comparable):
        result.population += " (estimated)"
    for t in out:
        t["headline"] = bool(t["age_adjusted"].iloc[0]) == result.age_adjusted
    table = pd.concat(out, ignore_index=True)
    table.insert(0, "characteristic", key)
    if n > 0:
        expected = table.loc[table["headline"], "expected"].to_numpy()
        result.gof = stats.goodness_of_fit(observed.to_numpy(), expected / expected.sum(), rules)
    extras = [(c, n, "no_census_category",
               f"the census has no {name.lower()} category matching '{c}'")
              for c, n in result.no_census_categories.items()]
    extras += [(c, n, "outside_ages", f"aged {c}: outside the ages {ages} the baseline covers")
               for c, n in result.outside_ages.items()]
    for cat, count, flag, why in extras:
        extra = dict.fromkeys(CSV_COLUMNS, np.nan)
        extra.update(characteristic=key, category=cat, service_count=count, flag=flag,
                     signal_95="", strength="", missing_could_explain=None, age_adjusted=False,
                     headline=True, flag_reason=why)
        table = pd.concat([table, pd.DataFrame([extra])], ignore_index=True)
    table["population"] = result.population
    table["baseline_estimated"] = table["baseline_estimated"].fillna(False).astype(bool)
    table["age_confounded"] = result.age_confounded
    table["unknown"] = result.unknown
    table["not_stated"] = result.not_stated
    table["not_known"] = result.not_known
    table["invalid"] = result.invalid
    return table, result


def _age_band(profile: Profile, label: str) -> AgeBand | None:
    return next((b for b in profile.age_bands if b.label == label), None)


def standard_bands(ages: AgeBand | None, starts: tuple[int, ...] = ()) -> list[AgeBand]:
    """Five-year bands 0-4 ... 85-89, 90+, split where the eligible range starts and ends
    (e.g. 15-17 and 18-19 for ``18-``) so that no band mixes eligible and ineligible ages,
    and where a census crossing's own bands start (``starts``, e.g. 16, 20 and 22 for
    ethnic group), so that no band mixes two of the census' bands.
    """
    cuts = set(range(0, STANDARD_TOP + 1, 5)) | set(starts)
    if ages is not None:
        cuts.add(ages.lo)
        if ages.hi is not None:
            cuts.add(ages.hi + 1)
    cuts = sorted(c for c in cuts if c <= STANDARD_TOP)
    bands = [AgeBand(a, b - 1) for a, b in zip(cuts, cuts[1:], strict=False)]
    return [*bands, AgeBand(cuts[-1], None)]


def _standardised_expected(
    profile: Profile, area: bl.Area, key: str, categories: list[str], ages: AgeBand | None
) -> tuple[pd.Series, str, ac.Crossing] | None:
    """E_g = sum over age bands of (service's known count in band x area share of g in band).

    The service's count in a band comes from each person's age and value ("joint"); in
    a table of counts that gives ages and values apart, from the age mix ("marginal"):
    n_band = N x (share of the service's known ages in the band), which assumes the
    characteristic is independent of age within the service. ``None`` where the census
    does not cross the characteristic with age or the service's ages are not known.
    People whose category is known but whose age is not (or whose band the census does
    not cover) are expected at the eligible area's crude share, so every known person
    counts exactly once.
    """
    if key not in ac.CROSSED:
        return None
    crossing = ac.crossing(area, key)
    if crossing is None:
        return None
    known_total = float(profile.category_counts(key).reindex(categories).sum())
    svc = profile.by_age[
        (profile.by_age["characteristic"] == key) & profile.by_age["category"].isin(categories)
    ]
    banded = profile.age_source == "age band"
    bands = list(profile.age_bands) if banded else standard_bands(ages, crossing.band_starts)
    if len(svc):
        how = "joint"
        people = [(int(r.age_lo), float(r.count)) for r in svc.itertuples()]
    elif (profile.shape == "aggregated" and profile.is_collected("age")
          and profile.known("age") > 0 and known_total > 0):
        # Ages and values given apart (a published table of counts): the age mix.
        how = "marginal"
        ages_known = profile.category_counts("age")
        people = [(b.lo, known_total * float(ages_known.get(b.label, 0)) / ages_known.sum())
                  for b in profile.age_bands]
    else:
        return None
    area_by_age = ac.by_bands(crossing, bands)
    area_tab = area_by_age.pivot_table(index="age_band", columns="category", values="count",
                                       aggfunc="sum").fillna(0)
    area_tab = area_tab[area_tab.sum(axis=1) > 0]
    area_share = area_tab.div(area_tab.sum(axis=1), axis=0)
    n_band: dict[str, float] = {}
    for lo, count in people:
        band = next((b for b in bands if b.contains(lo)), None)
        if band is None or band.label not in area_share.index or not count:
            continue
        n_band[band.label] = n_band.get(band.label, 0) + count
    if not n_band:
        return None
    share_by_band = {
        label: area_share.loc[label].reindex(categories).fillna(0.0) for label in n_band
    }
    expected = pd.Series(
        {c: stats.expected_standardised(n_band, {b: s[c] for b, s in share_by_band.items()})
         for c in categories}, dtype=float,
    )
    # Known category, unknown (or uncovered) age: the crude share of the eligible area.
    rest = known_total - sum(n_band.values())
    if rest > 1e-9:
        base = bl.baseline(area, key, ages=ages)
        crude = base.counts.set_index("category")["share"].reindex(categories).fillna(0)
        expected += rest * crude
    return expected, how, crossing


def _standardised_note(area: bl.Area, name: str, how: str, crossing: ac.Crossing) -> str:
    text = (f"Flags are read from the age-adjusted rows: expected counts are indirectly "
            f"standardised for the service's own age profile with {area.name}'s "
            f"{name.lower()} by age ({crossing.method}).")
    if how == "marginal":
        text += (" The extract gives ages and this characteristic as separate counts, not "
                 "together, so the adjustment uses the service's age mix and assumes the "
                 f"{name.lower()} of its users does not depend on their age.")
    return text + (f" The crude comparison (the service's known total times {area.name}'s "
                   "share) is given too.")


def _estimated_note(key: str, base: bl.Baseline, standardised, estimated: list[str]) -> str:
    crossing = standardised[2] if standardised is not None else None
    method = crossing.method if crossing is not None else base.method
    if key == "marriage_civil_partnership":
        what = "Separated and divorced people by age are"
    elif key in ("religion", ETHNICITY_DETAILED):
        what = f"{chars.display_name(key)} by age is"
    else:
        what = "; ".join(estimated) + ": by age is"
    return (f"Estimated, not published: {what} estimated from {method}. Read these "
            "comparisons as approximate.")


def population_text(area: bl.Area, base: bl.Baseline, ages: AgeBand | None) -> str:
    """The population a characteristic is compared with, in words that follow "compared
    with": "Maidstone's population aged 65 and over", "Maidstone's population of all
    ages (no age breakdown published)", "the comparator population (eligible.csv)"."""
    if base.area is None:
        return f"the {base.base}"
    who = str(base.base or "")
    restricted = base.age_restricted or ages is None
    if who.startswith("usual residents "):
        phrase = f"{area.name}'s population {who.removeprefix('usual residents ')}"
    else:
        phrase = f"{area.name}'s population of all ages"
    if not restricted:
        phrase += " (no age breakdown published)"
    return phrase


def _age_mixes(profile: Profile, area: bl.Area, key: str, base: bl.Baseline,
               ages: AgeBand | None, result: CharacteristicResult
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """(service, population): each one's shares over the extract's age bands, plus a last
    cell for the population's ages in none of them, where the compared population is not
    matched to the service's ages (``None`` where it is, or the service's ages are not
    known). Detailed ethnic groups are split by their shares at all ages, so they are
    measured against the whole population."""
    if key == "age" or base.area is None:
        return None
    if key != ETHNICITY_DETAILED and (result.age_adjusted or base.age_restricted):
        return None
    info = bl.metadata().tables[chars.get(
        "ethnicity" if key == ETHNICITY_DETAILED else key).census_table]
    if profile.is_collected("age") and profile.known("age") > 0:
        bands = list(profile.age_bands)
        service = profile.category_counts("age").reindex([b.label for b in bands]).fillna(0)
        service = service.to_numpy(dtype=float) / service.sum()
    elif ages is not None:  # no ages in the extract: its eligible population stands in
        bands = standard_bands(ages)
        eligible = bl.baseline(area, "age", ages=ages, bands=bands)
        service = _band_shares(eligible, bands)
    else:
        return None
    floor = info.base_min_age
    population = bl.baseline(area, "age", ages=AgeBand(floor, None) if floor else None,
                             bands=bands)
    pop = _band_shares(population, bands)
    outside = max(0.0, 1.0 - pop.sum())  # the population's ages in none of the bands
    return np.append(service, 0.0), np.append(pop, outside)


def dissimilarity(service: np.ndarray, population: np.ndarray) -> float:
    """Half the sum of |service share - population share| over age bands: the share of the
    service that would have to be in another band for the two age mixes to match."""
    return float(0.5 * np.abs(np.asarray(service) - np.asarray(population)).sum())


def age_explained_range(share: float, service: np.ndarray,
                        population: np.ndarray) -> tuple[float, float]:
    """The lowest and highest share of a group the service could expect from its ages alone,
    when the group's share by age is unknown: of all prevalences by age p_b in [0, 1] with
    sum_b population_b x p_b = ``share`` (the population's own share), the extremes of
    sum_b service_b x p_b. A linear programme solved greedily: the highest puts the group
    in the bands where the service is most over-represented first (a fractional knapsack),
    the lowest in those where it is least."""
    service = np.asarray(service, dtype=float)
    population = np.asarray(population, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(population > 0, service / population, np.inf)

    def fill(order: np.ndarray) -> float:
        budget, got = float(share), 0.0
        for i in order:
            if budget <= 0 or population[i] <= 0:
                continue
            take = min(population[i], budget)
            got += weight[i] * take
            budget -= take
        return got

    ranked = np.argsort(-weight, kind="stable")
    return fill(ranked[::-1]), min(1.0, fill(ranked))


def _age_retest(t: pd.DataFrame, mixes: tuple[np.ndarray, np.ndarray], rules: Rules,
                n: float) -> None:
    """The expected counts age alone could give (``expected_age_low/high``, for ``n``
    people with a known value) and whether each flag holds even against the one age could
    most explain it with (``robust_to_age``)."""
    ranges = [age_explained_range(share, *mixes) for share in t["baseline_share"]]
    t["expected_age_low"] = [n * lo for lo, _ in ranges]
    t["expected_age_high"] = [n * hi for _, hi in ranges]
    worst = np.where(t["flag"] == "over", t["expected_age_high"], t["expected_age_low"])
    observed = t["service_count"].to_numpy(dtype=float)
    standardised = bool(t["age_adjusted"].iloc[0]) if len(t) else False
    p_worst = stats.row_p(observed, np.full(len(t), n), worst, standardised, rules)
    p_adjusted, _ = stats.family_wise(p_worst, rules)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(worst > 0, observed / worst, np.nan)
    again = stats.decide(ratio, p_adjusted, stats.flag_alpha(rules), worst, rules)
    t["robust_to_age"] = [bool(a == f) if f in ("under", "over") else None
                          for a, f in zip(again, t["flag"], strict=True)]


def _band_shares(base: bl.Baseline, bands: list[AgeBand]) -> np.ndarray:
    """Each band's share of the baseline's whole population (total, not just the bands)."""
    counts = base.counts.set_index("category")["count"]
    return np.array([float(counts.get(b.label, 0)) for b in bands]) / float(base.total)


def _confounded_note(result: CharacteristicResult, rules: Rules) -> str | None:
    d = result.age_mismatch
    if result.key == ETHNICITY_DETAILED:
        what = ("The detailed groups within each broad ethnic group are split by their shares "
                "at all ages")
    else:
        title = bl.metadata().tables[str(result.table_id).lower()].title
        what = (f"The census publishes no {title.lower()} by age, so the comparison is with "
                f"{result.population}")
    if not result.age_confounded:
        return None
    return (f"Age-confounded: {what}, and the service's age mix differs markedly from that "
            f"population's (dissimilarity {d:.2f}, above {rules.age_confounded_distance:g}): a "
            "difference may come from age alone. Each difference says whether age alone could "
            "explain it; one it could suggests at most MEDIUM, not HIGH.")

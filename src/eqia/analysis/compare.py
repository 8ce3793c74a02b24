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

import numpy as np
import pandas as pd

from eqia.agebands import AgeBand
from eqia.analysis import stats
from eqia.analysis.age_adjust import (
    age_band_of,
    age_mixes,
    age_retest,
    dissimilarity,
    standardised_expected,
    standardised_note,
)
from eqia.analysis.comparison import (
    CSV_COLUMNS,
    EXTRA_COLUMNS,
    CharacteristicResult,
    Comparison,
)
from eqia.analysis.profile import Profile
from eqia.census import baselines as bl
from eqia.census.areas import Area, find_area
from eqia.census.tables import metadata
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED
from eqia.settings.rules import Rules, load_rules


def compare(
    profile: Profile,
    area: str | Area,
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
    area_obj = area if isinstance(area, Area) else find_area(area)
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
    # No baseline, so no estimate; False, not NaN, also keeps the joined column boolean
    # (pandas 2 turned the other rows' True into 1.0 beside a NaN).
    row.update(characteristic=key, category="", flag=flag, signal_95="", strength="",
               missing_could_explain=None, age_adjusted=False, headline=True,
               baseline_estimated=False)
    return pd.DataFrame([row])


def _compare_one(
    profile: Profile,
    area: Area,
    key: str,
    ages: AgeBand | None,
    rules: Rules,
    comparator: bl.Baseline | None,
) -> tuple[pd.DataFrame | None, CharacteristicResult]:
    """One characteristic: its rows of the comparison table (None: none to show) and its
    result."""
    name = chars.display_name(key)
    if not profile.is_collected(key):
        result = CharacteristicResult(key, name, "not_collected",
                                      reason=f"{name} is not collected in the extract.")
        return (_status_row(key, "not_collected") if key != ETHNICITY_DETAILED else None), result
    result = _counted(profile, key, name)
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
    _not_comparable(result, profile, service, shares, ages)
    observed = service.reindex(comparable).astype(float)
    n = float(observed.sum())
    if n == 0:
        result.status, result.reason = "no_known", _nothing_to_compare(result, name)
    frame = pd.DataFrame({
        "category": comparable,
        "observed": observed.to_numpy(),
        "n": n,
        "unknown": float(result.unknown + result.invalid),
        "baseline_share": shares.reindex(comparable).to_numpy(),
    })
    frame["expected"] = frame["n"] * frame["baseline_share"]
    crude = stats.compare_table(frame, rules)
    crude["age_adjusted"] = False
    if n == 0:
        crude["flag_reason"] = result.reason
    crude["baseline_estimated"] = crude["category"].isin(base.estimated)
    out = [crude]
    if comparator is None and n > 0:
        out = _by_age(result, profile, area, base, frame, ages, rules, crude)
    if comparator is None and result.estimated and set(result.estimated) >= set(comparable):
        result.population += " (estimated)"
    for t in out:
        t["headline"] = bool(t["age_adjusted"].iloc[0]) == result.age_adjusted
    table = pd.concat(out, ignore_index=True)
    table.insert(0, "characteristic", key)
    if n > 0:
        expected = table.loc[table["headline"], "expected"].to_numpy()
        result.gof = stats.goodness_of_fit(observed.to_numpy(), expected / expected.sum(), rules)
    return _with_set_aside(table, result, ages), result


def _counted(profile: Profile, key: str, name: str) -> CharacteristicResult:
    """A collected characteristic's result, with its known, unknown and invalid counts."""
    reasons = profile.unknown_by_reason(key)
    return CharacteristicResult(
        key, name, "compared", rows=profile.inputs[key], known=profile.known(key),
        unknown=profile.unknown(key), not_stated=reasons.get("not_stated", 0),
        not_known=reasons.get("not_known", 0) + reasons.get("blank", 0)
        + reasons.get("group_only", 0),
        invalid=profile.invalid(key),
    )


def _nothing_to_compare(result: CharacteristicResult, name: str) -> str:
    """Why a collected characteristic with a baseline has no one to compare."""
    if result.no_census_categories or result.outside_ages:
        return (f"No one using the service is in a {name.lower()} category the census "
                "counts, so there is nothing to compare.")
    return f"No one using the service has a known {name.lower()}, so there is nothing to compare."


def _not_comparable(result: CharacteristicResult, profile: Profile, service: pd.Series,
                    shares: pd.Series, ages: AgeBand | None) -> None:
    """The service's groups the population has no share for: outside the ages compared
    (age bands), or with no census category."""
    for c in service.index:
        if c in shares.index or service[c] <= 0:
            continue
        band = age_band_of(profile, c) if result.key == "age" else None
        if band is not None and _overlap(band, ages) == "outside":
            result.outside_ages[c] = int(service[c])
        else:
            result.no_census_categories[c] = int(service[c])


def _by_age(result: CharacteristicResult, profile: Profile, area: Area, base: bl.Baseline,
            frame: pd.DataFrame, ages: AgeBand | None, rules: Rules,
            crude: pd.DataFrame) -> list[pd.DataFrame]:
    """The crude rows, then age-standardised rows where the census crosses the
    characteristic with age; every set re-tested when the service's ages differ much from
    the area's. The result's notes say what was done."""
    out = [crude]
    key, name, n = result.key, result.name, float(frame["n"].iloc[0])
    comparable = list(frame["category"])
    standardised = standardised_expected(profile, area, key, comparable, ages)
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
        result.notes.append(standardised_note(area, name, how, crossing))
    if result.estimated:
        result.notes.append(_estimated_note(key, base, standardised, result.estimated))
    mixes = age_mixes(profile, area, key, base, ages, result.age_adjusted)
    if mixes is not None:
        result.age_mismatch = dissimilarity(*mixes)
        result.age_confounded = result.age_mismatch > rules.age_confounded_distance
        note = _confounded_note(result, rules)
        if note:
            result.notes.append(note)
        if result.age_confounded:
            for t in out:
                age_retest(t, mixes, rules, n)
    return out


def _with_set_aside(table: pd.DataFrame, result: CharacteristicResult,
                    ages: AgeBand | None) -> pd.DataFrame:
    """The comparison rows, then a row for each group not compared (no census category,
    outside the ages), and the characteristic's reconciliation on every row."""
    key, name = result.key, result.name
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
    return table


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


def population_text(area: Area, base: bl.Baseline, ages: AgeBand | None) -> str:
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


def _confounded_note(result: CharacteristicResult, rules: Rules) -> str | None:
    d = result.age_mismatch
    if result.key == ETHNICITY_DETAILED:
        what = ("The detailed groups within each broad ethnic group are split by their shares "
                "at all ages")
    else:
        title = metadata().tables[str(result.table_id).lower()].title
        what = (f"The census publishes no {title.lower()} by age, so the comparison is with "
                f"{result.population}")
    if not result.age_confounded:
        return None
    return (f"Age-confounded: {what}, and the service's age mix differs markedly from that "
            f"population's (dissimilarity {d:.2f}, above {rules.age_confounded_distance:g}): a "
            "difference may come from age alone. Each difference says whether age alone could "
            "explain it; one it could suggests at most MEDIUM, not HIGH.")

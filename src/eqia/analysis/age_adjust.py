"""Age in a comparison: expected counts standardised for age, and how far the service's ages
differ from its population's (the dissimilarity index, the range age alone could explain,
and the crude rows re-tested against it).

Indirect standardisation reads the census crossings of a characteristic with age
(``eqia.census.age_crossings``); detailed ethnic groups are split by their shares at all
ages, so they are measured against the whole population."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eqia.agebands import AgeBand
from eqia.analysis import stats
from eqia.analysis.profile import Profile
from eqia.census import age_crossings as ac
from eqia.census import baselines as bl
from eqia.census.areas import Area
from eqia.census.tables import metadata
from eqia.settings import characteristics as chars
from eqia.settings.characteristics import ETHNICITY_DETAILED
from eqia.settings.rules import Rules

#: TS009 counts everyone aged 90 and over together: no band can start above this.
STANDARD_TOP = 90


def age_band_of(profile: Profile, label: str) -> AgeBand | None:
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


def standardised_expected(
    profile: Profile, area: Area, key: str, categories: list[str], ages: AgeBand | None
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
    found = _people_by_age(profile, svc, known_total)
    if found is None:
        return None
    how, people = found
    area_share = _area_shares_by_band(crossing, bands)
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


def _people_by_age(profile: Profile, svc: pd.DataFrame,
                   known_total: float) -> tuple[str, list[tuple[int, float]]] | None:
    """The service's known people as (lowest age of their band or age, count): from each
    person's age and value ("joint"), or from the age mix of a table of counts that gives
    ages and values apart ("marginal"); None when neither is known."""
    if len(svc):
        return "joint", [(int(r.age_lo), float(r.count)) for r in svc.itertuples()]
    if (profile.shape == "aggregated" and profile.is_collected("age")
            and profile.known("age") > 0 and known_total > 0):
        ages_known = profile.category_counts("age")
        return "marginal", [(b.lo, known_total * float(ages_known.get(b.label, 0))
                             / ages_known.sum()) for b in profile.age_bands]
    return None


def _area_shares_by_band(crossing: ac.Crossing, bands: list[AgeBand]) -> pd.DataFrame:
    """The area's share of each category within each age band (bands with no one left
    out)."""
    area_by_age = ac.by_bands(crossing, bands)
    area_tab = area_by_age.pivot_table(index="age_band", columns="category", values="count",
                                       aggfunc="sum").fillna(0)
    area_tab = area_tab[area_tab.sum(axis=1) > 0]
    return area_tab.div(area_tab.sum(axis=1), axis=0)


def standardised_note(area: Area, name: str, how: str, crossing: ac.Crossing) -> str:
    text = (f"Flags are read from the age-adjusted rows: expected counts are indirectly "
            f"standardised for the service's own age profile with {area.name}'s "
            f"{name.lower()} by age ({crossing.method}).")
    if how == "marginal":
        text += (" The extract gives ages and this characteristic as separate counts, not "
                 "together, so the adjustment uses the service's age mix and assumes the "
                 f"{name.lower()} of its users does not depend on their age.")
    return text + (f" The crude comparison (the service's known total times {area.name}'s "
                   "share) is given too.")


def age_mixes(profile: Profile, area: Area, key: str, base: bl.Baseline,
               ages: AgeBand | None, age_adjusted: bool
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """(service, population): each one's shares over the extract's age bands, plus a last
    cell for the population's ages in none of them, where the compared population is not
    matched to the service's ages (``None`` where it is, or the service's ages are not
    known). Detailed ethnic groups are split by their shares at all ages, so they are
    measured against the whole population."""
    if key == "age" or base.area is None:
        return None
    if key != ETHNICITY_DETAILED and (age_adjusted or base.age_restricted):
        return None
    info = metadata().tables[chars.get(
        "ethnicity" if key == ETHNICITY_DETAILED else key).census_table]
    if profile.is_collected("age") and profile.known("age") > 0:
        bands = list(profile.age_bands)
        service = profile.category_counts("age").reindex([b.label for b in bands]).fillna(0)
        service = service.to_numpy(dtype=float) / service.sum()
    elif ages is not None:  # no ages in the extract: its eligible population stands in
        bands = standard_bands(ages)
        eligible = bl.baseline(area, "age", ages=ages, bands=bands)
        service = band_shares(eligible, bands)
    else:
        return None
    floor = info.base_min_age
    population = bl.baseline(area, "age", ages=AgeBand(floor, None) if floor else None,
                             bands=bands)
    pop = band_shares(population, bands)
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


def age_retest(t: pd.DataFrame, mixes: tuple[np.ndarray, np.ndarray], rules: Rules,
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


def band_shares(base: bl.Baseline, bands: list[AgeBand]) -> np.ndarray:
    """Each band's share of the baseline's whole population (total, not just the bands)."""
    counts = base.counts.set_index("category")["count"]
    return np.array([float(counts.get(b.label, 0)) for b in bands]) / float(base.total)

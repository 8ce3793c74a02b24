"""Service vs baseline, per characteristic and category: shares, intervals, ratios, flags.

``compare(profile, area)`` returns a ``Comparison`` whose ``table`` has one row per
characteristic x category (the documented csv columns and more). Where the census
crosses age with a characteristic (sex), expected counts are indirectly standardised
for the service's own age profile and both crude and age-adjusted rows are given;
``headline`` marks the one the flag should be read from. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from eqia import baselines as bl
from eqia import characteristics as chars
from eqia import stats
from eqia.agebands import AgeBand, parse_bands
from eqia.characteristics import ETHNICITY_DETAILED
from eqia.counts import Profile
from eqia.rules import Rules, load_rules

CSV_COLUMNS = [
    "characteristic", "category", "service_count", "service_share", "ci_low", "ci_high",
    "baseline_share", "expected", "ratio", "ratio_low", "ratio_high", "difference_pp", "flag",
    "strength", "robust_to_missing", "age_adjusted",
]

#: Characteristics compared, in screening-grid order (ethnicity's detail after its groups).
COMPARED = (
    "age", "disability", "sex", "gender_identity", "ethnicity", ETHNICITY_DETAILED, "religion",
    "sexual_orientation", "pregnancy_maternity", "marriage_civil_partnership", "carers",
)

#: Age bands used to standardise (Census 2021 TS009 five-year bands, 90+ at the top).
STANDARD_BANDS = ",".join(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ",90+"

STATUS_TEXT = {
    "compared": "compared with the census",
    "not_collected": "not collected in the extract",
    "no_baseline": "no Census 2021 baseline",
    "no_known": "no known values to compare",
}


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
    baseline_unknown: int = 0
    baseline_total: int = 0

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
) -> Comparison:
    """Compare a service's profile with an area's census population."""
    from eqia.agebands import parse_range

    area_obj = area if isinstance(area, bl.Area) else bl.find_area(area)
    age_range = parse_range(ages) if isinstance(ages, str) else ages
    rules_obj = rules if isinstance(rules, Rules) else load_rules(rules)
    frames, results = [], {}
    for key in COMPARED:
        comparator = (comparators or {}).get(key)
        frame, result = _compare_one(profile, area_obj, key, age_range, rules_obj, comparator)
        results[key] = result
        if frame is not None:
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CSV_COLUMNS)
    return Comparison(
        area=area_obj, ages=age_range, table=table, results=results, rules=rules_obj,
        source=profile.source, rows=profile.rows,
    )


def _status_row(key: str, flag: str) -> pd.DataFrame:
    row = dict.fromkeys(CSV_COLUMNS, np.nan)
    row.update(characteristic=key, category="", flag=flag, strength="", robust_to_missing=np.nan,
               age_adjusted=False, headline=True)
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

    service = profile.category_counts(key)
    shares = base.counts.set_index("category")["share"]
    comparable = [c for c in service.index if c in shares.index]
    result.no_census_categories = {
        c: int(service[c]) for c in service.index if c not in shares.index and service[c] > 0
    }
    observed = service.reindex(comparable).astype(float)
    n = float(observed.sum())
    u = float(result.unknown + result.invalid)
    if n == 0:
        result.status = "no_known"
        result.reason = f"No one using the service has a known {name.lower()}."
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
    out = [crude]
    adjusted_expected = _standardised_expected(profile, area, key, comparable, ages)
    if adjusted_expected is not None and n > 0:
        adj_frame = frame.copy()
        adj_frame["expected"] = adjusted_expected.reindex(comparable).to_numpy()
        adj = stats.compare_table(adj_frame, rules)
        adj["age_adjusted"] = True
        out.append(adj)
        result.age_adjusted = True
    for t in out:
        t["headline"] = bool(t["age_adjusted"].iloc[0]) == result.age_adjusted
    table = pd.concat(out, ignore_index=True)
    table.insert(0, "characteristic", key)
    if n > 0:
        expected = table.loc[table["headline"], "expected"].to_numpy()
        result.gof = stats.goodness_of_fit(observed.to_numpy(), expected / expected.sum(), rules)
    for cat, count in result.no_census_categories.items():
        extra = dict.fromkeys(CSV_COLUMNS, np.nan)
        extra.update(characteristic=key, category=cat, service_count=count,
                     flag="no_census_category", strength="", age_adjusted=False, headline=True)
        table = pd.concat([table, pd.DataFrame([extra])], ignore_index=True)
    table["unknown"] = result.unknown
    table["not_stated"] = result.not_stated
    table["not_known"] = result.not_known
    table["invalid"] = result.invalid
    return table, result


def _standardised_expected(
    profile: Profile, area: bl.Area, key: str, categories: list[str], ages: AgeBand | None
) -> pd.Series | None:
    """E_g = sum over age bands of (service's known count in band x area share of g in band).

    People whose category is known but whose age is not are expected at the area's
    all-ages share (the crude rate), so every known person counts once.
    """
    svc = profile.by_age[
        (profile.by_age["characteristic"] == key) & profile.by_age["category"].isin(categories)
    ]
    if svc.empty:
        return None
    if profile.age_source == "age band":
        bands = list(profile.age_bands)
    else:
        bands = parse_bands(STANDARD_BANDS)
    area_by_age = bl.baseline_by_age(area, key, bands)
    if area_by_age is None or area_by_age.empty:
        return None
    area_tab = area_by_age.pivot_table(index="age_band", columns="category", values="count",
                                       aggfunc="sum").fillna(0)
    area_share = area_tab.div(area_tab.sum(axis=1), axis=0)
    labels = {b.label: b for b in bands}
    n_band = {}
    for r in svc.itertuples():
        lo = int(r.age_lo)
        band = next((b for b in bands if b.contains(lo)), None)
        if band is None:
            continue
        n_band[band.label] = n_band.get(band.label, 0) + r.count
    if not n_band:
        return None
    expected = pd.Series(0.0, index=categories)
    for label, n in n_band.items():
        if label not in area_share.index or label not in labels:
            return None
        expected += n * area_share.loc[label].reindex(categories).fillna(0)
    # Known category, unknown age: the crude share of the (possibly age-restricted) area.
    known_total = float(profile.category_counts(key).reindex(categories).sum())
    rest = known_total - sum(n_band.values())
    if rest > 0:
        base = bl.baseline(area, key, ages=ages)
        crude = base.counts.set_index("category")["share"].reindex(categories).fillna(0)
        expected += rest * crude
    return expected

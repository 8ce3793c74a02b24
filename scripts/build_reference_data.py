"""Build eqia's shipped Census 2021 reference data from the shared ONS counts.

    python scripts/build_reference_data.py --source ../shared/census2021 --out reference_data

Reads the long-form table files described in ``census2021/SOURCES.md`` and writes, to
``--out``:

* ``tsNNN.parquet`` per table: long form ``geography_code, category, count`` with every
  row of the source (totals, subtotals and leaves; every geography level), each area
  once (the source lists a unitary as ltla and utla with the same counts). The counts
  are copied unchanged: nothing is estimated, rounded or re-summed.
* ``areas.csv``: one row per geography and type (a unitary authority is both ``ltla``
  and ``utla``; Wales is both ``region`` and ``country``), with its parents' codes
  and names and the Nomis spelling where it differs.
* ``geographies.csv``: the LTLA21 lookup, copied unchanged.
* ``metadata.yaml``: per table its id, title, base population, release, source note,
  caveats, total label, leaf categories and file; per age crossing the same, with the
  repository, path and commit it was copied from.
* Age crossings, from ``census2021/age_crossed/`` (its SOURCES.md): long form
  ``geography_code, age_band, category, count``, summed over sex. Ethnic group (5 broad
  groups) by age and legal partnership status by age are published for districts and
  summed here to counties, regions, countries and England and Wales; religion by single
  year of age exists for England and Wales only (the seed eqia fits each area's own
  religion and age counts to, ``eqia.census.ipf``).

The build refuses to write anything if a check fails (leaves must add up to the total
for every geography, every file must hold every geography).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

SDC = (
    "ONS protected confidentiality by swapping some records and adding small random "
    "adjustments to counts (cell key perturbation), so small counts are not exact and "
    "two tables for the same area can differ by a few people."
)
SUMMED = (
    "County, region and country figures are sums of their districts; figures ONS "
    "publishes directly for those areas can differ by a few people."
)
OA_SUMS = (
    "District figures are sums of ONS output-area figures (the ONS district table was not "
    "available), so they can differ from ONS's district table by up to about 120 people."
)
AGED_16 = (
    "The base is usual residents aged 16 and over, not all residents: the question was "
    "asked only of people aged 16 and over."
)
VOLUNTARY = (
    "This was a voluntary question. People who did not answer are shown as 'Not answered' "
    "and are left out of the shares."
)

DEMOGRAPHY = "Census 2021 (21 March 2021), ONS release 'Demography and migration', 2 November 2022"
ETHNIC_RELIGION = (
    "Census 2021 (21 March 2021), ONS release 'Ethnic group, national identity, language "
    "and religion', 29 November 2022"
)
HEALTH = (
    "Census 2021 (21 March 2021), ONS release 'Health, disability and unpaid care', "
    "19 January 2023"
)
SOGI = (
    "Census 2021 (21 March 2021), ONS release 'Sexual orientation and gender identity', "
    "6 January 2023"
)


def _age_label(age: int) -> str:
    if age == 0:
        return "Aged under 1 year"
    return f"Aged {age} year" if age == 1 else f"Aged {age} years"


TS007_LEAVES = [_age_label(a) for a in range(100)] + ["Aged 100 years and over"]
TS009_LEAVES = [
    f"{sex}; {label}"
    for sex in ("Female", "Male")
    for label in [_age_label(a) for a in range(90)] + ["Aged 90 years and over"]
]

#: What each shipped table is. ``leaves`` add up to ``total`` for every geography.
TABLES: dict[str, dict] = {
    "ts002": {
        "source_file": "ts002_legal_partnership_status.csv",
        "title": "Legal partnership status",
        "base": "usual residents aged 16 and over",
        "release": DEMOGRAPHY,
        "source": "ONS output-area bulk values (Nomis census2021-ts002) summed to districts.",
        "total": "Total",
        "leaves": [
            "Never married and never registered a civil partnership",
            "Married or in a registered civil partnership: Married: Opposite sex",
            "Married or in a registered civil partnership: Married: Same sex",
            "Married or in a registered civil partnership: In a registered civil partnership: Opposite sex",
            "Married or in a registered civil partnership: In a registered civil partnership: Same sex",
            "Separated, but still legally married or still legally in a civil partnership: Separated, but still married",
            "Separated, but still legally married or still legally in a civil partnership: Separated, but still in a registered civil partnership",
            "Divorced or civil partnership dissolved: Divorced",
            "Divorced or civil partnership dissolved: Formerly in a civil partnership now legally dissolved",
            "Widowed or surviving civil partnership partner: Widowed",
            "Widowed or surviving civil partnership partner: Surviving partner from civil partnership",
        ],
        "caveats": [
            AGED_16,
            "It records legal status only: couples who live together without marrying or "
            "registering a civil partnership are counted by their legal status.",
            SDC,
        ],
        "data_gaps": {"ltla": OA_SUMS, "above_ltla": SUMMED},
    },
    "ts007": {
        "source_file": "ts007_age_single_year.csv",
        "title": "Age by single year",
        "base": "all usual residents",
        "release": DEMOGRAPHY,
        "source": "Nomis bulk file census2021-ts007 (direct ONS values at every level).",
        "total": "Total",
        "leaves": TS007_LEAVES,
        "caveats": [
            "Ages run from under 1 to 100 and over; people aged 100 and over are one group.",
            SDC,
        ],
        "data_gaps": {
            "above_ltla": "County, region and country figures are ONS's own, so they can "
            "differ by a few people from the sum of their districts.",
        },
    },
    "ts008": {
        "source_file": "ts008_sex.csv",
        "title": "Sex",
        "base": "all usual residents",
        "release": DEMOGRAPHY,
        "source": "ONS output-area bulk values (Nomis census2021-ts008) summed to districts.",
        "total": "All persons",
        "leaves": ["Female", "Male"],
        "caveats": [
            "The census asked for sex as female or male; there is no other category.",
            SDC,
        ],
        "data_gaps": {"ltla": OA_SUMS, "above_ltla": SUMMED},
    },
    "ts009": {
        "source_file": "ts009_sex_by_single_year_age.csv",
        "title": "Sex by single year of age",
        "base": "all usual residents",
        "release": DEMOGRAPHY,
        "source": "Nomis bulk file census2021-ts009-ltla (direct ONS district values).",
        "total": "All persons; Total",
        "leaves": TS009_LEAVES,
        "caveats": [
            "Ages run from under 1 to 90 and over; people aged 90 and over are one group.",
            "The census asked for sex as female or male; there is no other category.",
            SDC,
        ],
        "data_gaps": {"above_ltla": SUMMED},
    },
    "ts021": {
        "source_file": "ts021_ethnic_group.csv",
        "title": "Ethnic group",
        "base": "all usual residents",
        "release": ETHNIC_RELIGION,
        "source": "ONS district counts of the 19 detailed groups (bulletin 'Ethnic group, "
        "England and Wales: Census 2021', data download for Figure 3).",
        "total": "Total: All usual residents",
        "leaves": [
            "Asian, Asian British or Asian Welsh: Bangladeshi",
            "Asian, Asian British or Asian Welsh: Chinese",
            "Asian, Asian British or Asian Welsh: Indian",
            "Asian, Asian British or Asian Welsh: Pakistani",
            "Asian, Asian British or Asian Welsh: Other Asian",
            "Black, Black British, Black Welsh, Caribbean or African: African",
            "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
            "Black, Black British, Black Welsh, Caribbean or African: Other Black",
            "Mixed or Multiple ethnic groups: White and Asian",
            "Mixed or Multiple ethnic groups: White and Black African",
            "Mixed or Multiple ethnic groups: White and Black Caribbean",
            "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",
            "White: English, Welsh, Scottish, Northern Irish or British",
            "White: Irish",
            "White: Gypsy or Irish Traveller",
            "White: Roma",
            "White: Other White",
            "Other ethnic group: Arab",
            "Other ethnic group: Any other ethnic group",
        ],
        "caveats": [
            "Ethnic group is how people described themselves. The five broad groups are sums "
            "of the 19 detailed groups.",
            "Everyone has an ethnic group in the census: ONS filled in missing answers "
            "(imputation), so there is no 'Not answered' count.",
            SDC,
        ],
        "data_gaps": {"above_ltla": SUMMED},
    },
    "ts030": {
        "source_file": "ts030_religion.csv",
        "title": "Religion",
        "base": "all usual residents",
        "release": ETHNIC_RELIGION,
        "source": "ONS API download of TS030 at district level (version 3, 28 March 2023).",
        "total": "Total: All usual residents",
        "leaves": [
            "No religion", "Christian", "Buddhist", "Hindu", "Jewish", "Muslim", "Sikh",
            "Other religion", "Not answered", "Does not apply",
        ],
        "not_answered": "Not answered",
        "caveats": [
            VOLUNTARY,
            "Religion is the religion people identify with, not whether they practise it.",
            SDC,
        ],
        "data_gaps": {"above_ltla": SUMMED},
    },
    "ts038": {
        "source_file": "ts038_disability.csv",
        "title": "Disability",
        "base": "all usual residents",
        "release": HEALTH,
        "source": "ONS output-area bulk values (Nomis census2021-ts038) summed to districts.",
        "total": "Total: All usual residents",
        "leaves": [
            "Disabled under the Equality Act: Day-to-day activities limited a lot",
            "Disabled under the Equality Act: Day-to-day activities limited a little",
            "Not disabled under the Equality Act: Has long term physical or mental health "
            "condition but day-to-day activities are not limited",
            "Not disabled under the Equality Act: No long term physical or mental health "
            "conditions",
        ],
        "caveats": [
            "Disability is self-reported: people with a long-term condition who said it "
            "limits their day-to-day activities a little or a lot count as disabled under "
            "the Equality Act.",
            SDC,
        ],
        "data_gaps": {"ltla": OA_SUMS, "above_ltla": SUMMED},
    },
    "ts039": {
        "source_file": "ts039_unpaid_care.csv",
        "title": "Provision of unpaid care",
        "base": "usual residents aged 5 and over",
        "release": HEALTH,
        "source": "ONS output-area bulk values (Nomis census2021-ts039) summed to districts.",
        "total": "Total: All usual residents aged 5 and over",
        "leaves": [
            "Provides no unpaid care",
            "Provides 9 hours or less unpaid care a week",
            "Provides 10 to 19 hours unpaid care a week",
            "Provides 20 to 34 hours unpaid care a week",
            "Provides 35 to 49 hours unpaid care a week",
            "Provides 50 or more hours unpaid care a week",
        ],
        "caveats": [
            "The base is usual residents aged 5 and over, not all residents.",
            "Unpaid care means looking after or supporting someone because of long-term "
            "illness, disability or old age; it is not the same as being known to the "
            "council as a carer.",
            SDC,
        ],
        "data_gaps": {"ltla": OA_SUMS, "above_ltla": SUMMED},
    },
    "ts077": {
        "source_file": "ts077_sexual_orientation.csv",
        "title": "Sexual orientation",
        "base": "usual residents aged 16 and over",
        "release": SOGI,
        "source": "ONS API download of TS077 at district level.",
        "total": "Total: All usual residents aged 16 years and over",
        "leaves": [
            "Straight or Heterosexual", "Gay or Lesbian", "Bisexual",
            "All other sexual orientations", "Not answered", "Does not apply",
        ],
        "not_answered": "Not answered",
        "caveats": [AGED_16, VOLUNTARY, SDC],
        "data_gaps": {"above_ltla": SUMMED},
    },
    "ts078": {
        "source_file": "ts078_gender_identity.csv",
        "title": "Gender identity",
        "base": "usual residents aged 16 and over",
        "release": SOGI,
        "source": "ONS API download of TS078 at district level.",
        "total": "Total: All usual residents aged 16 years and over",
        "leaves": [
            "Gender identity the same as sex registered at birth",
            "Gender identity different from sex registered at birth but no specific "
            "identity given",
            "Trans woman", "Trans man", "All other gender identities", "Not answered",
            "Does not apply",
        ],
        "not_answered": "Not answered",
        "caveats": [
            AGED_16,
            VOLUNTARY,
            "ONS publishes the gender identity estimates as official statistics in "
            "development: the regulator found the question may have been misunderstood by "
            "some people, so the share whose gender identity differs from their sex at "
            "birth may be overstated, particularly where many people do not have English "
            "as a first language.",
            SDC,
        ],
        "data_gaps": {"above_ltla": SUMMED},
    },
}

#: 2023 reorganisations (SOURCES.md): shown as a caveat for the areas concerned.
REORGANISED_2023 = {
    "E10000006": "Cumbria (and its districts) is shown on 2021 boundaries. Since April 2023 "
    "it is Cumberland (Allerdale + Carlisle + Copeland) and Westmorland and Furness "
    "(Barrow-in-Furness + Eden + South Lakeland).",
    "E10000023": "North Yorkshire is shown on 2021 boundaries. Since April 2023 the county "
    "and its 7 districts are one unitary council, North Yorkshire (E06000065), covering "
    "the same area.",
    "E10000027": "Somerset is shown on 2021 boundaries. Since April 2023 the county and its "
    "4 districts are one unitary council, Somerset (E06000066), covering the same area.",
}

NOMIS_NAMES = {"Rhondda Cynon Taf": "Rhondda Cynon Taff", "East of England": "East"}

TYPE_ORDER = ["ltla", "utla", "region", "country", "england_and_wales"]


AGE_CROSSED = "age_crossed"
VIRTUK = {"repository": "CallumMCB/VirtUK",
          "commit": "1fd7a3f086f9ab36fb2f5fa5cac97aeeb009eb61"}
ETHNIC_GROUPS = {  # the custom dataset's names -> TS021's broad-group labels
    "Asian": "Asian, Asian British or Asian Welsh",
    "Black": "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed": "Mixed or Multiple ethnic groups",
    "White": "White",
    "Other": "Other ethnic group",
}
PARTNERSHIP = {  # the workbook's columns -> plain labels (TS002's where they match one)
    "never_partnered": "Never married and never registered a civil partnership",
    "partnered": "Married or in a registered civil partnership",
    "divorced_separated": "Separated, divorced or civil partnership dissolved",
    "widowed": "Widowed or surviving civil partnership partner",
}
SUMMED_DISTRICTS = (
    "Counties, regions, countries and England and Wales are sums of their districts."
)

#: What each shipped age crossing is. ``bands`` are the published age bands, in order
#: (``65+``: 65 and over); every area's cells add up over bands and categories.
CROSSINGS: dict[str, dict] = {
    "ethnic_group_by_age": {
        "characteristic": "ethnicity",
        "title": "Ethnic group (5 broad groups) by age",
        "base": "all usual residents",
        "levels": "every district, summed to counties, regions, countries and England and Wales",
        "source": {
            **VIRTUK,
            "paths": ["data_2021/input/demography/ethnicity_female_age.csv",
                      "data_2021/input/demography/ethnicity_male_age.csv",
                      "data_2021/input/geography/MSOA11_to_MSOA21_to_LAD22_Lookup.csv"],
            "note": "An ONS Census 2021 custom dataset: 7,264 MSOAs x ethnic group (5) x sex "
                    "x 13 age bands, summed here over sex and to districts (MSOAs nest "
                    "exactly in the 2021 districts).",
        },
        "bands": ["0-15", "16-19", "20-21", "22-24", "25-29", "30-34", "35-39", "40-44",
                  "45-49", "50-54", "55-59", "60-64", "65+"],
        "categories": list(ETHNIC_GROUPS.values()),
        "caveats": [
            "Ethnic group by age is an ONS custom dataset for small areas (MSOAs): district "
            "figures are their sums, so they differ from TS021 by a few people a cell (8 on "
            "average, 67 at most).",
            "Everyone aged 65 and over is one band.",
            SDC,
            SUMMED_DISTRICTS,
        ],
    },
    "legal_partnership_by_age": {
        "characteristic": "marriage_civil_partnership",
        "title": "Legal partnership status by age",
        "base": "usual residents aged 16 and over",
        "levels": "every district, summed to counties, regions, countries and England and Wales",
        "source": {
            **VIRTUK,
            "paths": ["data_2021/input/demography/partnership_status/lad/f_legal_partnership.csv",
                      "data_2021/input/demography/partnership_status/lad/m_legal_partnership.csv"],
            "note": "Converted from an ONS workbook of legal partnership status by age and sex "
                    "for local authorities; summed here over sex.",
        },
        "bands": ["16-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
                  "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+"],
        "categories": list(PARTNERSHIP.values()),
        "caveats": [
            "Every value is rounded to a multiple of 5, and cells ONS suppressed are stored "
            "as 0 (not every 0 is a suppression), so small groups in small areas are not exact.",
            "Separated people who are still legally married are counted with the divorced, "
            "not with the married.",
            SDC,
            SUMMED_DISTRICTS,
        ],
    },
    "religion_by_age_ew": {
        "characteristic": "religion",
        "title": "Religion by single year of age, England and Wales",
        "base": "all usual residents",
        "levels": "England and Wales only",
        "source": {
            "repository": "arafatazam/EW-population-dashboard",
            "commit": "5d69fbe202d7ab390de2054ef073c3e5d2b57098",
            "paths": ["EW_Religion_Sex_Age_Ethnic_group.csv"],
            "note": "An ONS Census 2021 custom dataset for England and Wales: religion x sex x "
                    "single year of age (0 to 90 and over) x ethnic group, summed here over "
                    "sex and ethnic group.",
        },
        "bands": [str(a) for a in range(90)] + ["90+"],
        "categories": ["No religion", "Christian", "Buddhist", "Hindu", "Jewish", "Muslim",
                       "Sikh", "Other religion", "Not answered"],
        "caveats": [
            "Published for England and Wales only. An area's religion by age is estimated "
            "from it by iterative proportional fitting to the area's own religion (TS030) and "
            "age (TS007) counts, and labelled an estimate wherever it is shown.",
            SDC,
        ],
    },
}


def _lower_tiers(districts: pd.DataFrame, geos: pd.DataFrame) -> pd.DataFrame:
    """District cells plus their sums for every county, region, country and England and
    Wales. A unitary is its own county and Wales its own region: each area once."""
    parents = geos.set_index("ltla21_code")
    keys = ["geography_code", "age_band", "category"]
    levels = [districts] + [
        districts.assign(geography_code=districts["geography_code"].map(parents[col]))
        for col in ("utla21_code", "region_code", "country_code")
    ] + [districts.assign(geography_code="K04000001")]
    sums = [level.groupby(keys, sort=False)["count"].sum().reset_index() for level in levels]
    return pd.concat(sums, ignore_index=True).drop_duplicates(keys, keep="first")


def build_ethnic_by_age(source: Path, geos: pd.DataFrame) -> pd.DataFrame:
    folder = source / AGE_CROSSED / "msoa_ethnic_group_by_age_by_sex"
    spec = CROSSINGS["ethnic_group_by_age"]
    lookup = pd.read_csv(folder / "MSOA11_to_MSOA21_to_LAD22_Lookup.csv", dtype=str,
                         encoding="utf-8-sig").drop_duplicates("MSOA21CD")
    lad = lookup.set_index("MSOA21CD")["LAD22CD"]
    parts = []
    for name in ("ethnicity_female_age.csv", "ethnicity_male_age.csv"):
        raw = pd.read_csv(folder / name)
        bands = [c for c in raw.columns if c not in ("msoa", "Ethnicity", "Total")]
        if (raw[bands].sum(axis=1) != raw["Total"]).any():
            raise SystemExit(f"{name}: the age bands do not add up to Total")
        parts.append(raw.melt(id_vars=["msoa", "Ethnicity"], value_vars=bands,
                              var_name="age_band", value_name="count"))
    long = pd.concat(parts, ignore_index=True)
    if long["msoa"].map(lad).isna().any():
        raise SystemExit("ethnic group by age: an MSOA is not in the lookup")
    long["geography_code"] = long["msoa"].map(lad)
    long["age_band"] = long["age_band"].replace({"65-99": "65+"})
    long["category"] = long["Ethnicity"].map(ETHNIC_GROUPS)
    districts = long.groupby(["geography_code", "age_band", "category"], sort=False)[
        "count"].sum().reset_index()
    # The derived district file beside it is the same sum: check that it is.
    derived = pd.read_csv(source / AGE_CROSSED / "derived" / "ltla21_ethnic5_age13_sex_counts.csv")
    derived = derived.groupby(["ltla21_code", "ethnic_group_5", "age_band"])["count"].sum()
    ours = districts.assign(e=districts["category"].map({v: k for k, v in ETHNIC_GROUPS.items()}),
                            b=districts["age_band"].replace({"65+": "65-99"}))
    ours = ours.groupby(["geography_code", "e", "b"])["count"].sum()
    ours.index.names = derived.index.names
    if not ours.sort_index().equals(derived.sort_index()):
        raise SystemExit("ethnic group by age: the MSOA sums differ from the derived district file")
    _check_crossing("ethnic_group_by_age", spec, districts, set(geos["ltla21_code"]))
    return _lower_tiers(districts, geos)


def build_partnership_by_age(source: Path, geos: pd.DataFrame) -> pd.DataFrame:
    folder = source / AGE_CROSSED / "ltla_legal_partnership_by_age_by_sex"
    spec = CROSSINGS["legal_partnership_by_age"]
    parts = []
    for name in ("f_legal_partnership.csv", "m_legal_partnership.csv"):
        raw = pd.read_csv(folder / name, dtype={"lad_code": str})
        parts.append(raw.melt(id_vars=["lad_code", "age_bracket"], value_vars=list(PARTNERSHIP),
                              var_name="status", value_name="count"))
    long = pd.concat(parts, ignore_index=True)
    long["age_band"] = long["age_bracket"].replace({"85-99": "85+"})
    long["category"] = long["status"].map(PARTNERSHIP)
    long = long.rename(columns={"lad_code": "geography_code"})
    districts = long.groupby(["geography_code", "age_band", "category"], sort=False)[
        "count"].sum().reset_index()
    _check_crossing("legal_partnership_by_age", spec, districts, set(geos["ltla21_code"]))
    return _lower_tiers(districts, geos)


def build_religion_by_age(source: Path) -> pd.DataFrame:
    spec = CROSSINGS["religion_by_age_ew"]
    raw = pd.read_csv(source / AGE_CROSSED / "ew_religion_by_sex_by_age_by_ethnic_group"
                      / "EW_Religion_Sex_Age_Ethnic_group.csv", keep_default_na=False)
    empty = raw[(raw["Religion"] == "Does not apply") | raw["Ethnic Group"].isin(
        ["NA", "Does not apply"])]
    if empty["Observation"].any():
        raise SystemExit("religion by age: a 'Does not apply' or 'NA' cell is not 0")
    raw = raw.drop(index=empty.index)
    raw["age_band"] = [str(a) if a < 90 else "90+" for a in raw["Age Code"]]
    out = raw.groupby(["age_band", "Religion"], sort=False)["Observation"].sum().reset_index()
    out = out.rename(columns={"Religion": "category", "Observation": "count"})
    out.insert(0, "geography_code", "K04000001")
    _check_crossing("religion_by_age_ew", spec, out, {"K04000001"})
    return out


def _check_crossing(key: str, spec: dict, frame: pd.DataFrame, codes: set[str]) -> None:
    if set(frame["geography_code"]) != codes:
        raise SystemExit(f"{key}: areas differ from the 2021 districts")
    if set(frame["age_band"]) != set(spec["bands"]):
        raise SystemExit(f"{key}: age bands {sorted(set(frame['age_band']))}")
    if set(frame["category"]) != set(spec["categories"]):
        raise SystemExit(f"{key}: categories {sorted(set(frame['category']))}")
    if frame.duplicated(["geography_code", "age_band", "category"]).any() or (
            len(frame) != len(codes) * len(spec["bands"]) * len(spec["categories"])):
        raise SystemExit(f"{key}: not one cell per area, band and category")
    if (frame["count"] < 0).any():
        raise SystemExit(f"{key}: a negative count")


def write_crossings(source: Path, out: Path, geos: pd.DataFrame) -> tuple[list[str], dict]:
    frames = {
        "ethnic_group_by_age": build_ethnic_by_age(source, geos),
        "legal_partnership_by_age": build_partnership_by_age(source, geos),
        "religion_by_age_ew": build_religion_by_age(source),
    }
    written, meta = [], {}
    for key, frame in frames.items():
        spec = CROSSINGS[key]
        frame = frame.copy()
        frame["age_band"] = pd.Categorical(frame["age_band"], spec["bands"])
        frame["category"] = pd.Categorical(frame["category"], spec["categories"])
        frame = frame.sort_values(["geography_code", "age_band", "category"]).reset_index(
            drop=True)
        frame["geography_code"] = frame["geography_code"].astype("category")
        frame["count"] = frame["count"].astype("int64")
        file = f"{key}.parquet"
        frame.to_parquet(out / file, index=False, compression="zstd")
        written.append(file)
        meta[key] = {"file": file, **{k: v for k, v in spec.items()}}
    return written, meta


def read_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"count": "int64"}, keep_default_na=False)


def check_table(table_id: str, spec: dict, frame: pd.DataFrame, codes: set[str]) -> None:
    cats = set(frame["category"])
    missing = [c for c in [spec["total"], *spec["leaves"]] if c not in cats]
    if missing:
        raise SystemExit(f"{table_id}: categories missing from the source: {missing}")
    if set(frame["geography_code"]) != codes:
        raise SystemExit(f"{table_id}: geographies differ from ts007")
    wide = frame.pivot_table(
        index=["geography_code", "geography_type"], columns="category", values="count",
        aggfunc="sum",
    )
    bad = wide[wide[spec["leaves"]].sum(axis=1) != wide[spec["total"]]]
    if len(bad):
        raise SystemExit(f"{table_id}: leaves do not add up to the total for {list(bad.index)[:5]}")


def build_areas(ts007: pd.DataFrame, geos: pd.DataFrame) -> pd.DataFrame:
    areas = (
        ts007[["geography_code", "geography_name", "geography_type"]]
        .drop_duplicates()
        .rename(columns={"geography_code": "code", "geography_name": "name",
                         "geography_type": "type"})
    )
    parent: dict[str, dict[str, str]] = {}
    for g in geos.itertuples(index=False):
        parent[g.ltla21_code] = {
            "utla_code": g.utla21_code, "utla_name": g.utla21_name,
            "region_code": g.region_code, "region_name": g.region_name,
            "country_code": g.country_code, "country_name": g.country_name,
        }
        parent.setdefault(g.utla21_code + "/utla", {
            "region_code": g.region_code, "region_name": g.region_name,
            "country_code": g.country_code, "country_name": g.country_name,
        })
        parent.setdefault(g.region_code + "/region", {
            "country_code": g.country_code, "country_name": g.country_name,
        })
    rows = []
    for a in areas.itertuples(index=False):
        row = {"code": a.code, "name": a.name, "type": a.type,
               "nomis_name": NOMIS_NAMES.get(a.name, "")}
        info = parent.get(a.code) if a.type == "ltla" else parent.get(f"{a.code}/{a.type}")
        for col in ("utla_code", "utla_name", "region_code", "region_name", "country_code",
                    "country_name"):
            row[col] = (info or {}).get(col, "")
        if a.type == "region" and a.code == row["country_code"]:  # Wales is its own country
            row["country_code"] = row["country_name"] = ""
        rows.append(row)
    out = pd.DataFrame(rows)
    out["type"] = pd.Categorical(out["type"], TYPE_ORDER, ordered=True)
    return out.sort_values(["type"], kind="stable").astype({"type": str})


def build(source: Path, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    ts007 = read_table(source / TABLES["ts007"]["source_file"])
    codes = set(ts007["geography_code"])
    written = []
    metadata: dict = {
        "census": "Census 2021, England and Wales (Office for National Statistics)",
        "source": "Published ONS/Nomis Census 2021 counts as documented in the shared "
        "census2021/SOURCES.md; copied unchanged, nothing estimated or rounded.",
        "licence": "Contains public sector information licensed under the Open Government "
        "Licence v3.0. Source: Office for National Statistics.",
        "layout": "One parquet file per table, long form: geography_code, category, count. "
        "Every geography level of the source is kept (ltla, utla, region, country, "
        "england_and_wales), each area once; areas.csv names them and their types. Total and subtotal rows are kept: add up "
        "only the `leaves`.",
        "data_gaps": "Per table, caveats about the shipped copy only: `ltla` applies to every "
        "area, `above_ltla` to counties, regions, countries and England and Wales.",
        "reorganised_2023": REORGANISED_2023,
        "age_crossings_layout": "Each age crossing: long form geography_code, age_band, "
        "category, count (summed over sex). Bands are as published ('65+' is 65 and over); "
        "`source` names the public repository, path and commit the file was copied from.",
        "tables": {},
    }
    frames = {}
    for table_id, spec in TABLES.items():
        frame = read_table(source / spec["source_file"])
        check_table(table_id, spec, frame, codes)
        frames[table_id] = frame
    for table_id, spec in TABLES.items():
        frame = frames[table_id]
        # A unitary (ltla and utla) and Wales (region and country) are listed twice with
        # the same counts: keep one copy; areas.csv records every type.
        cols = ["geography_code", "category", "count"]
        if len(frame.drop_duplicates(cols)) != len(frame.drop_duplicates(cols[:2])):
            raise SystemExit(f"{table_id}: an area listed twice has different counts")
        slim = frame[cols].drop_duplicates(cols[:2]).reset_index(drop=True)
        slim["geography_code"] = slim["geography_code"].astype("category")
        slim["category"] = pd.Categorical(slim["category"],
                                          list(dict.fromkeys(frame["category"])))
        file = f"{table_id}.parquet"
        slim.to_parquet(out / file, index=False, compression="zstd")
        written.append(file)
        metadata["tables"][table_id] = {
            "id": table_id.upper(),
            "title": spec["title"],
            "file": file,
            "base": spec["base"],
            "release": spec["release"],
            "source": spec["source"],
            "total": spec["total"],
            "not_answered": spec.get("not_answered"),
            "caveats": spec["caveats"],
            "data_gaps": spec.get("data_gaps", {}),
            "leaves": spec["leaves"],
        }
    geos = pd.read_csv(source / "geographies.csv", dtype=str, keep_default_na=False)
    crossed, metadata["age_crossings"] = write_crossings(source, out, geos)
    written += crossed
    shutil.copyfile(source / "geographies.csv", out / "geographies.csv")
    build_areas(ts007, geos).to_csv(out / "areas.csv", index=False)
    written += ["geographies.csv", "areas.csv"]
    header = (
        "# eqia's shipped Census 2021 reference data: what each table is.\n"
        "# Generated by scripts/build_reference_data.py; do not edit by hand.\n"
    )
    (out / "metadata.yaml").write_text(
        header + yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )
    written.append("metadata.yaml")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/census2021"))
    parser.add_argument("--out", type=Path, default=Path("reference_data"))
    args = parser.parse_args(argv)
    if not (args.source / "ts007_age_single_year.csv").exists():
        print(f"No Census 2021 files in {args.source}", file=sys.stderr)
        return 2
    written = build(args.source, args.out)
    size = sum((args.out / f).stat().st_size for f in written)
    print(f"Wrote {len(written)} files to {args.out} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

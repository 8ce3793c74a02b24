"""Make the bundled example extracts (seeded, so the files are always the same).

A made-up Kent community mental health support service: about 3,000 people, with
the gaps real extracts have (religion and sexual orientation mostly unrecorded, a
few invalid codes, some blank dates of birth), in a case-management system's own
codes. Nobody in it is real.

    python examples/make_example.py            # write the files
    python examples/make_example.py --check    # fail if the committed files differ

It also writes two quarters of extracts from five teams into ``audit/`` for ``eqia audit``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

ETHNICITY = [  # (code as the system writes it, weight)
    ("WBRI", 815), ("White British", 40), ("WOTH", 52), ("WIRI", 6), ("WIRT", 5), ("WROM", 2),
    ("MWBC", 9), ("MWBA", 6), ("MWAS", 8), ("MOTH", 6),
    ("AIND", 9), ("APKN", 3), ("ABAN", 2), ("ACHN", 2), ("AOTH", 5), ("Asian / Asian British", 3),
    ("BAFR", 17), ("BCRB", 7), ("BOTH", 3),
    ("OARA", 2), ("OOTH", 5),
    ("Not Yet Obtained", 45), ("REFU", 20), ("", 30), ("W9", 2), ("XX", 1),
]
GENDER = [("Female", 548), ("Male", 440), ("Other", 3), ("Unknown", 9)]
RELIGION = [
    ("", 520), ("Not Recorded", 170), ("Prefer not to say", 12),
    ("Christian", 140), ("No Religion", 120), ("Muslim", 10), ("Hindu", 4), ("Sikh", 6),
    ("Buddhist", 3), ("Jewish", 1), ("Other", 8), ("Pagan", 2), ("Jedi", 1),
]
ORIENTATION = [
    ("", 600), ("Not Known", 180), ("Prefer not to say", 25),
    ("Heterosexual", 170), ("Gay Man/Woman", 12), ("Bisexual", 9), ("Other", 4),
]
DISABILITY = [("Y", 560), ("N", 340), ("Unknown", 90), ("", 10)]
CARER = [("Yes", 120), ("No", 700), ("", 180)]
MARITAL = [
    ("Single", 470), ("Married", 220), ("Civil Partnership", 8), ("Divorced", 90),
    ("Separated", 45), ("Widowed", 35), ("Not Known", 120), ("Cohabiting", 12),
]
GENDER_SAME = [("", 700), ("Yes", 260), ("No", 8), ("Prefer not to say", 32)]

# Age of adults using the service: 18-64 mostly, some older.
AGE_WEIGHTS = {18: 5, 25: 9, 35: 9, 45: 9, 55: 7, 65: 3, 75: 1.5, 85: 0.5}


def pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def age_for(rng: random.Random) -> int:
    starts = sorted(AGE_WEIGHTS)
    start = rng.choices(starts, weights=[AGE_WEIGHTS[s] for s in starts], k=1)[0]
    width = 7 if start == 18 else 10
    return start + rng.randrange(width)


def make_rows(seed: int, n: int, as_of: dt.date, id_start: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        age = age_for(rng)
        born = as_of - dt.timedelta(days=int(age * 365.25) + rng.randrange(365))
        dob = born.strftime("%d/%m/%Y")
        roll = rng.random()
        if roll < 0.02:
            dob = ""
        elif roll < 0.0215:
            dob = "31/02/1980"  # not a date
        rows.append({
            "Client ID": f"KMH{id_start + i:06d}",
            "Date of Birth": dob,
            "Gender": pick(rng, GENDER),
            "Ethnicity": pick(rng, ETHNICITY),
            "Religion": pick(rng, RELIGION),
            "Sexual Orientation": pick(rng, ORIENTATION),
            "Disability": pick(rng, DISABILITY),
            "Carer": pick(rng, CARER),
            "Marital Status": pick(rng, MARITAL),
            "Gender same as at birth": pick(rng, GENDER_SAME),
            "Referral Date": (as_of - dt.timedelta(days=rng.randrange(365))).strftime("%d/%m/%Y"),
        })
    # Two data-entry slips every system has: a birth date in the future, one in 1890.
    rows[17 % n]["Date of Birth"] = "14/06/2031"
    rows[211 % n]["Date of Birth"] = "02/01/1890"
    return rows


def to_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def aggregated(rows: list[dict[str, str]]) -> str:
    """The same people as already-made counts (what a provider often sends instead)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["characteristic", "category", "count"])
    for column, name in (("Gender", "Sex"), ("Ethnicity", "Ethnicity"), ("Religion", "Religion"),
                         ("Disability", "Disability"), ("Carer", "Carer")):
        for value, n in sorted(Counter(r[column] for r in rows).items()):
            w.writerow([name, value or "Not recorded", n])
    return buf.getvalue()


MAPPING = """\
# How this service's case-management system writes equality data.
# eqia finds most columns and codes by itself; this file adds what is local.
columns:
  id: Client ID
  age: Date of Birth
  sex: Gender
  gender_identity: Gender same as at birth
values:
  ethnicity:
    XX: not_known          # the system's "not asked" code
  religion:
    Pagan: Other religion
  marriage_civil_partnership:
    Cohabiting: Never married and never registered a civil partnership
"""


# Quarterly extracts from several teams, for `eqia audit`: (file name, seed, people, columns
# the team's system does not have, share of each column's values left blank on export).
AUDIT_SERVICES = [
    ("Community Mental Health Support.csv", 11, 820, (), {"Religion": 0.15}),
    ("Older People's Day Opportunities.csv", 12, 430,
     ("Sexual Orientation", "Gender same as at birth"), {"Religion": 0.45, "Carer": 0.2}),
    ("Carers' Support Service.csv", 13, 610, ("Gender same as at birth",), {}),
    ("Shared Lives.csv", 14, 180, ("Religion", "Sexual Orientation"), {"Ethnicity": 0.3}),
    ("Supported Living.csv", 15, 260, (), {"Disability": 0.5, "Marital Status": 0.4}),
]
QUARTERS = {  # folder: (as-of date, seed offset, extra share blanked last time)
    "2025-26-q4": (dt.date(2026, 3, 31), 0, 0.0),
    "2025-26-q3": (dt.date(2025, 12, 31), 100, 0.12),
}


def audit_extract(name: str, seed: int, n: int, dropped: tuple[str, ...],
                  blanked: dict[str, float], as_of: dt.date, worse: float) -> str:
    rows = make_rows(seed=seed, n=n, as_of=as_of, id_start=seed * 10_000)
    rng = random.Random(seed)
    for row in rows:
        for column in row:
            if column == "Client ID":
                continue
            if rng.random() < blanked.get(column, 0.0) + worse:
                row[column] = ""
        for column in dropped:
            del row[column]
    return to_csv(rows)


def audit_outputs() -> dict[str, str]:
    out = {}
    for folder, (as_of, offset, worse) in QUARTERS.items():
        services = AUDIT_SERVICES if offset == 0 else AUDIT_SERVICES[:-1]  # a new service
        for name, seed, n, dropped, blanked in services:
            size = n if offset == 0 else int(n * 0.93)
            out[f"audit/{folder}/{name}"] = audit_extract(
                name, seed + offset, size, dropped, blanked, as_of, worse)
    return out


def outputs() -> dict[str, str]:
    current = make_rows(seed=2026, n=3012, as_of=dt.date(2026, 3, 31), id_start=1)
    previous = make_rows(seed=2025, n=2874, as_of=dt.date(2025, 3, 31), id_start=4001)
    return {
        "mh_support_extract.csv": to_csv(current),
        "mh_support_extract_2024-25.csv": to_csv(previous),
        "mh_support_aggregated.csv": aggregated(current),
        "mh_support_mapping.yaml": MAPPING,
        **audit_outputs(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if committed files differ")
    args = parser.parse_args()
    stale = []
    for name, text in outputs().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("Example files differ from make_example.py: " + ", ".join(stale), file=sys.stderr)
        print("Run: python examples/make_example.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

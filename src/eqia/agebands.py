"""Age bands: parsing labels such as ``18-24``, ``85+``, ``<18``, and assigning ages.

A band is ``AgeBand(lo, hi)`` with ``hi=None`` for an open top band. Bands are
inclusive of both ends, in whole years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eqia.errors import ErrorCode, UsageError

MAX_AGE = 120  # an age above this is invalid, not a person

DEFAULT_BANDS = "0-17,18-24,25-34,35-44,45-54,55-64,65-74,75-84,85+"


@dataclass(frozen=True, order=True)
class AgeBand:
    lo: int
    hi: int | None = None

    @property
    def label(self) -> str:
        if self.hi is None:
            return f"{self.lo}+"
        if self.lo == self.hi:
            return str(self.lo)
        return f"{self.lo}-{self.hi}"

    def contains(self, age: int) -> bool:
        return age >= self.lo and (self.hi is None or age <= self.hi)

    def __str__(self) -> str:
        return self.label


_RANGE = re.compile(r"^(\d{1,3})\s*(?:-|to|–|—)\s*(\d{1,3})$")
_PLUS = re.compile(r"^(\d{1,3})\s*(?:\+|and over|and above|or over|or older|plus)$")
_UNDER = re.compile(r"^(?:<|under|below|less than)\s*(\d{1,3})$")
_SINGLE = re.compile(r"^(\d{1,3})$")


def parse_band(text: str) -> AgeBand | None:
    """A band from a label (``18-24``, ``18 to 24``, ``85+``, ``<18``, ``under 18``,
    ``aged 18 to 24 years``); ``None`` if the label is not a band."""
    t = str(text).strip().lower()
    t = re.sub(r"^(aged|age|ages)\s+", "", t)
    t = re.sub(r"\s*(years?|yrs?)(\s+old)?", "", t).strip()
    if m := _RANGE.match(t):
        lo, hi = int(m.group(1)), int(m.group(2))
        return AgeBand(lo, hi) if lo <= hi else None
    if m := _PLUS.match(t):
        return AgeBand(int(m.group(1)), None)
    if m := _UNDER.match(t):
        hi = int(m.group(1)) - 1
        return AgeBand(0, hi) if hi >= 0 else None
    if m := _SINGLE.match(t):
        n = int(m.group(1))
        return AgeBand(n, n)
    return None


def parse_bands(spec: str) -> list[AgeBand]:
    """Bands from ``0-17,18-64,65+``. They must not overlap; gaps are allowed."""
    bands = []
    for part in str(spec).split(","):
        if not part.strip():
            continue
        band = parse_band(part)
        if band is None:
            raise UsageError(
                f"'{part.strip()}' is not an age band",
                code=ErrorCode.BAD_AGE_BAND,
                hint="Write bands like 0-17,18-64,65+ (whole years, open top band with +).",
            )
        bands.append(band)
    if not bands:
        raise UsageError("No age bands given", code=ErrorCode.BAD_AGE_BAND, hint="Example: 0-17,18-64,65+")
    bands.sort()
    for a, b in zip(bands, bands[1:], strict=False):
        if a.hi is None or a.hi >= b.lo:
            raise UsageError(
                f"Age bands {a} and {b} overlap",
                code=ErrorCode.BAD_AGE_BAND,
                hint="Each age must fall in one band at most.",
            )
    return bands


def parse_range(spec: str | None) -> AgeBand | None:
    """An eligible age range from ``18-``, ``65-``, ``18-64``, ``16+`` (``None`` = all ages)."""
    if spec is None or str(spec).strip() in ("", "all"):
        return None
    t = str(spec).strip()
    if t.endswith("-"):
        t = t[:-1] + "+"
    band = parse_band(t)
    if band is None:
        lo_hi = re.match(r"^(\d+)\s*-\s*(\d+)$", t)
        if lo_hi and int(lo_hi.group(1)) > int(lo_hi.group(2)):
            raise UsageError(
                f"Age range '{spec}' is reversed",
                code=ErrorCode.BAD_AGE_RANGE,
                hint="Give the youngest age first, e.g. --ages 18-64.",
            )
        raise UsageError(
            f"'{spec}' is not an age range",
            code=ErrorCode.BAD_AGE_RANGE,
            hint="Examples: --ages 18- (18 and over), --ages 65-, --ages 18-64.",
        )
    if band.lo > 100 or (band.hi is not None and band.hi > MAX_AGE):
        raise UsageError(
            f"Age range '{spec}' is outside 0-100+",
            code=ErrorCode.BAD_AGE_RANGE,
            hint="Census ages run from 0 to 100 and over; e.g. --ages 65-.",
        )
    return band


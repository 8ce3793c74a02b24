"""How eqia writes numbers: counts, percentages, changes and the blank for "no figure".

One module so that the same figure reads the same in every output. The choices:

* **Blanks.** In a document (Word, HTML, Markdown: tables and prose) a figure that does
  not exist (no one to take a share of, no previous period, no census figure) is
  ``BLANK``, an en dash. In data outputs (CSV, spreadsheets, the terminal's tables) it
  is ``EMPTY``, an empty cell, so that a spreadsheet reads the column as numbers.
* **Shares** (0-1) are rounded to the nearest ``digits`` (``percent``), except a
  **known share** rated against a threshold, which is rounded *down* from the exact
  counts (``percent_down``): a share shown as "90.0%" always meets a 90% threshold, so
  a rating never contradicts the figure beside it.
* **Changes** are signed, with a true minus sign, and a change that rounds to nothing
  is "0.0" with no sign (``signed``).
* A figure already protected for publication (a string such as "*" or "<10") is
  written as it is.
Nothing here knows about characteristics, ratings or documents.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

#: A figure that does not exist, in a document (table cell or sentence).
BLANK = "–"
#: A figure that does not exist, in a data output (CSV, spreadsheet, terminal table).
EMPTY = ""
MINUS = "−"


def missing(x: Any) -> bool:
    """None, NaN or pandas' NA: no figure."""
    if x is None:
        return True
    try:
        return bool(x != x)
    except TypeError:  # pandas.NA
        return True


def percent(share: Any, digits: int = 1, *, trim: bool = False, blank: str = BLANK) -> str:
    """A share (0-1) as a percentage: 0.0441 -> "4.4%". ``trim``: a whole percentage of
    10 or more without its decimals ("25%", as prose says it). A string (a protected
    figure) is returned as it is."""
    if isinstance(share, str):
        return share
    if missing(share):
        return blank
    value = 100 * float(share)
    if trim and digits and abs(value - round(value)) < 1e-9 and value >= 10:
        return f"{value:.0f}%"
    return f"{value:.{digits}f}%"


def percent_down(known: int, records: int, digits: int = 1, blank: str = BLANK) -> str:
    """A known share from exact counts, rounded DOWN: 8,996 of 10,000 -> "89.9%", so that
    a share shown as "90.0%" always meets a 90% threshold."""
    if records <= 0:
        return blank
    scale = 10**digits
    value = math.floor(Fraction(100 * scale * int(known), int(records))) / scale
    return f"{value:.{digits}f}%"


def share_down(known: int, records: int, digits: int = 1) -> float:
    """``percent_down``'s figure as a fraction (0-1), for a spreadsheet cell."""
    if records <= 0:
        return float("nan")
    scale = 10**digits
    return math.floor(Fraction(100 * scale * int(known), int(records))) / scale / 100


def percentage(value: Fraction | float) -> str:
    """A percentage setting as written: 90 -> "90%", 87.5 -> "87.5%"."""
    return f"{float(value):g}%"


def signed(x: Any, digits: int = 1, unit: str = "", blank: str = BLANK) -> str:
    """A change: "+1.2", "−0.4" (a true minus), "0.0" when it rounds to nothing."""
    if missing(x):
        return blank
    value = round(float(x), digits)
    if value == 0:
        return f"{0:.{digits}f}{unit}"
    return f"{value:+.{digits}f}{unit}".replace("-", MINUS)


def count(n: Any, blank: str = BLANK) -> str:
    """3012 -> "3,012"; a string (a protected figure) as it is."""
    if isinstance(n, str):
        return n
    if missing(n):
        return blank
    return f"{int(n):,}"


def ratio(x: Any, blank: str = BLANK) -> str:
    """An observed / expected ratio to two places."""
    if isinstance(x, str):
        return x
    if missing(x):
        return blank
    return f"{float(x):.2f}"


def one_in(share: Any) -> str:
    """A share as people say it: 0.2 -> "1 in 5", 0.0143 -> "1 in 70", 0.62 -> "6 in 10"."""
    if missing(share):
        return BLANK
    if share <= 0:
        return "none"
    if share < 0.5:
        return f"1 in {round(1 / share):,}"
    if share > 0.99:
        return "more than 99 in 100"
    tenths = round(10 * share)
    return f"{round(100 * share)} in 100" if tenths == 10 else f"{tenths} in 10"


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 service", "3 services"."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def join_and(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


__all__ = ["BLANK", "EMPTY", "MINUS", "count", "join_and", "missing", "one_in", "percent",
           "percent_down", "percentage", "plural", "ratio", "share_down", "signed"]

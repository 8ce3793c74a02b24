"""What the reading step hands over: a file's distinct raw values and their counts.

Every reader (in memory, streamed, aggregated counts) produces ``ValueCounts``, so the
readers cannot disagree after it; ``eqia.analysis.profiling`` maps them to categories.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class ValueCounts:
    """Distinct raw values and how often they occur, for one file (or one part of it).

    ``values[key]`` is a Series (index: raw text, values: counts); ``pairs[key]`` a Series
    indexed by (raw age value, raw characteristic value).
    """

    source: str
    shape: str
    rows: int
    columns: dict[str, str]
    values: dict[str, pd.Series]
    pairs: dict[str, pd.Series] = field(default_factory=dict)
    inputs: dict[str, int] | None = None
    age_hint: str | None = None
    notes: list[str] = field(default_factory=list)
    duplicates: int = 0
    service: str | None = None
    period: str | None = None
    set_aside: dict[str, int] = field(default_factory=dict)  # see ``Profile.set_aside``


#: ValueCounts per part of a file, keyed by (service, period); ``(None, None)`` unsplit.
Parts = dict[tuple[str | None, str | None], ValueCounts]

"""How local spellings of a code or label are compared: one normal form for all of them."""

from __future__ import annotations

import re


def normalise(value: object) -> str:
    """Fold case, punctuation and spacing so that local spellings compare equal."""
    text = str(value).strip().lower()
    text = text.replace("'", "").replace("\u2019", "")
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return text.strip()

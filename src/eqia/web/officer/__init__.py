"""The officer's journey: extract -> profile and mapping -> area (and comparators) ->
comparison -> screening questions (and action plan) -> document, with the council's own
templates and settings on a page of their own. Each step calls what the matching CLI
command calls; what the officer has said so far is kept as the files the CLI reads
(``files.py``).

One module per step: ``extract`` (1 and 2), ``area`` (3), ``comparison`` (4),
``answers`` (5), ``document`` (6) and ``council`` (the council's own files).
"""

from __future__ import annotations

from eqia.web.officer import answers, area, comparison, council, document, extract  # noqa: F401
from eqia.web.officer.blueprint import bp

__all__ = ["bp"]

"""How completely each characteristic is recorded, period by period, rated with the one
completeness rating (``eqia.settings.thresholds``) and said in findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eqia.disclosure.engine import (
    DisclosurePolicy,
    ProtectedTable,
)
from eqia.disclosure.published import PEOPLE
from eqia.documents.report.model import PEOPLE_TABLE, RAG_TEXT
from eqia.documents.report.sentences import subject
from eqia.read.counts import Profile
from eqia.settings import characteristics as chars
from eqia.settings.report import Period
from eqia.settings.thresholds import DEFAULT_SOURCE, Thresholds
from eqia.words import BLANK, join_and, percent_down, percentage, share_down

if TYPE_CHECKING:  # compare (and the census baselines it reads) load only when used
    pass



COMPLETENESS_COLUMNS = ["characteristic", "name", "period", "collected", "people",
                        "recorded", "share", "share_text", "rag", "hidden"]


def rate_completeness(
    periods: list[Period], profiles: dict[str, Profile], tables: dict[object, ProtectedTable],
    policy: DisclosurePolicy, thresholds: Thresholds,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per characteristic and period: people, people with it recorded, the share, RAG.

    The numbers are the protected tables' (``protect``): the number recorded is the
    total of the characteristic's table, the number of people the figure every table
    shares, so nothing here can differ from, or be worked out against, another table.
    The share is worked out from the published figures and the rating from the true
    ones (publishing changes no rating); neither is shown where a figure is hidden.
    Returns the frame and the number of people per period as a sentence may quote it.
    """
    total = policy.total_label
    people_table = tables[PEOPLE_TABLE]
    rows, people_text = [], {}
    for p in periods:
        prof = profiles[p.label]
        people = people_table.value(PEOPLE, p.label)
        people_text[p.label] = people_table.count_text(PEOPLE, p.label)
        for key in chars.keys():
            name = chars.display_name(key)
            if not prof.is_collected(key):
                rows.append((key, name, p.label, False, "not collected", "not collected",
                             np.nan, "not collected", "", False))
                continue
            t = tables[key] if p.label in tables[key].values.columns else tables[(key, p.label)]
            recorded = t.value(total, p.label)
            if recorded is None or people is None:
                share, share_text, rag = np.nan, policy.prose_hidden_share, ""
            elif not people:
                share, share_text, rag = np.nan, BLANK, ""
            else:
                # Shown rounded down and rated on the exact true counts (as in the
                # audit): a share shown as 90.0% is never beside an amber rating.
                share = share_down(recorded, people, policy.share_decimals)
                share_text = percent_down(recorded, people, policy.share_decimals)
                rag = thresholds.rag(key, prof.known(key), prof.rows)
            rows.append((key, name, p.label, True,
                         people_table.display.at[PEOPLE, p.label], t.display.at[total, p.label],
                         share, share_text, rag, recorded is None or people is None))
    return pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS), people_text


def completeness_findings(service: str, comp: pd.DataFrame, periods: list[Period],
                           thresholds: Thresholds) -> list[str]:
    """Red characteristics in one sentence (with last period's share); ratings that
    changed since the previous period in another. A characteristic with its own
    thresholds says its own cut-off."""
    if not periods:
        return []
    latest = periods[-1].label
    prev = periods[-2].label if len(periods) > 1 else None
    red, moved = [], []
    for key, rows in comp.groupby("characteristic", sort=False):
        now = rows[rows["period"] == latest]
        if now.empty or not bool(now["collected"].iloc[0]):
            continue
        r = now.iloc[0]
        before = rows[rows["period"] == prev].iloc[0] if prev else None
        had = before is not None and bool(before["collected"])
        if r["rag"] == "red":
            own = thresholds.cutoffs(key)[1]
            red.append(f"{subject(key)} {r['share_text']}"
                       + (f" ({before['share_text']} in {prev})" if had else "")
                       + (f" (red below {percentage(own)})" if own != thresholds.amber else ""))
        elif had and before["rag"] and r["rag"] and r["rag"] != before["rag"]:
            moved.append(f"{subject(key)} from {RAG_TEXT[before['rag']].lower()} "
                         f"({before['share_text']} in {prev}) to "
                         f"{RAG_TEXT[r['rag']].lower()} ({r['share_text']})")
    out = []
    if red:
        out.append(f"Recorded for fewer than {percentage(thresholds.amber)} of service users in "
                   f"{latest} (red): " + join_and(red) + ".")
    if moved:
        out.append(f"Recording changed rating in {latest}: " + join_and(moved) + ".")
    return out


def completeness_method(th: Thresholds) -> str:
    """How completeness is rated: the council's thresholds, exactly as the audit rates."""
    own = [f"{chars.display_name(k).lower()} {percentage(g)} and {percentage(a)}"
           for k, (g, a) in th.characteristics.items()]
    return ("Completeness ratings: Green when at least "
            f"{percentage(th.green)} of people have the characteristic recorded, Amber from "
            f"{percentage(th.amber)}, Red below that"
            + (f" (own thresholds: {join_and(own)})" if own else "")
            + ("" if th.source == DEFAULT_SOURCE else f"; thresholds from {th.source}")
            + ". Rated on the exact share of the true counts; shares are shown rounded "
              "down, as in eqia audit.")

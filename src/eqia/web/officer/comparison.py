"""Step 4 of the officer's journey: the comparison with the area, its flags and reasons,
charts and plain-English sentences: what ``eqia compare`` prints and ``eqia screen``
writes, for the proposal so far (with the council's flag and rating rules, if given)."""

from __future__ import annotations

from pathlib import Path

from flask import abort, g, redirect, render_template, send_file, url_for

from eqia.cli.common import pct
from eqia.judgement.findings import completeness_sentence, flag_sentences
from eqia.render.comparison_cells import flag_cell, missing_cell, number, ratio_cell, share_cell
from eqia.settings import characteristics as chars
from eqia.web.officer.blueprint import bp
from eqia.web.officer.council import council_files
from eqia.web.officer.files import proposal_path, workspace


@bp.get("/compare")
def compare():
    ws = workspace()
    g.back = url_for("officer.area")
    if not (ws.state().get("proposal") or {}).get("data", {}).get("area"):
        return redirect(url_for("officer.area"))
    from eqia.documents.proposal import load_proposal
    from eqia.documents.screening import run_screening

    own = council_files(ws)  # as eqia screen --rules --assessment-rules, unwritten
    screening = run_screening(load_proposal(proposal_path(ws)), rules_path=own["rules"],
                              assessment_path=own["assessment_rules"])
    result = screening.comparison
    charts = ws.clear("charts")
    part2 = {p["key"]: p for p in screening.context["part2"]}
    blocks = [_block(result, key, (part2.get(key) or {}).get("chart"), charts)
              for key in result.results if key != chars.ETHNICITY_DETAILED]
    return render_template("officer/compare.html", result=result, blocks=blocks,
                           focus=screening.focus, method=result.method.replace("\n", " "),
                           council=ws.state().get("council") or {})


def _block(result, key: str, chart: dict | None, charts: Path) -> dict:
    """One characteristic as ``eqia compare`` prints it: its table, the known and unknown,
    the population it was compared with, its sentences and its chart."""
    r = result.results[key]
    block = {"key": key, "name": r.name, "status": r.status, "reason": r.reason,
             "rows": [], "notes": list(dict.fromkeys(r.notes + r.caveats)),
             "sentences": flag_sentences(result, key, result.area.name)
             if r.status == "compared" else [],
             "completeness": completeness_sentence(result, key)
             if r.status != "not_collected" else "",
             "age_adjusted": r.age_adjusted, "chart": None}
    if r.status in ("not_collected", "no_baseline"):
        return block
    block["rows"] = [_row(row) for _, row in result.headline(key).iterrows()]
    block["known"] = (f"Known for {r.known:,} of {r.rows:,} ({pct(r.known_share, 0)}); "
                      f"unknown {r.unknown:,} ({r.not_stated:,} not stated, "
                      f"{r.not_known:,} not known), invalid {r.invalid:,}.")
    census = (f"Compared with {r.population}: Census 2021 {r.table_id}" if r.table_id
              else f"Compared with {r.population}")
    if r.baseline_unknown:
        census += (f"; {r.baseline_unknown:,} of {r.baseline_total:,} did not answer "
                   "and are left out of the shares")
    block["census"] = census + "."
    if chart and chart.get("categories"):
        from eqia.render.charts import chart_png

        _, alt = chart_png(chart, charts / f"{key}.png", r.name, result.area.name)
        block["chart"] = {"url": url_for("officer.chart", key=key), "alt": alt}
    return block


def _row(row) -> list[str]:
    """A category's cells: users (expected), share, area share, ratio, flag, missing data."""
    users = f"{int(row['service_count']):,}"
    if row["flag"] in ("no_census_category", "outside_ages"):
        return [str(row["category"]), users, "", "", "", flag_cell(row), ""]
    users += f" ({number(row['expected'], '{:,.1f}')})"
    area_share = pct(row["baseline_share"]) + (" estimated" if row["baseline_estimated"]
                                               else "")
    return [str(row["category"]), users, share_cell(row), area_share, ratio_cell(row),
            flag_cell(row), missing_cell(row)]


@bp.get("/chart/<key>.png")
def chart(key: str):
    ws = workspace()
    if key not in chars.keys():
        abort(404)
    path = ws.path / "charts" / f"{key}.png"
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/png")

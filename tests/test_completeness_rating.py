"""The audit and the annual report rate completeness alike: one rating, from the council's
thresholds, on the exact share, and the same figure beside it.

8,996 of 10,000 known is 89.96%: below a green of 90, so amber, and shown as "89.9%" (a
share rounded up to "90.0%" beside "Amber" would contradict itself).
"""

from __future__ import annotations

import datetime as dt

import pytest

from eqia.documents import audit as au
from eqia.documents.report import build_report, report_context
from eqia.settings.report import load_report_config


def _service(folder, known: int, total: int) -> None:
    """An aggregated extract: sex known for ``known`` of ``total`` people."""
    female = known // 2
    (folder / "svc.csv").write_text(
        "characteristic,category,count\n"
        f"sex,Female,{female}\nsex,Male,{known - female}\nsex,Not known,{total - known}\n",
        encoding="utf-8")


def _report_file(folder, thresholds: str | None) -> None:
    text = ("title: T\norganisation: O\nperiod: 2025-26\narea: Kent\n"
            "services:\n  - name: S\n    extracts:\n      2025-26: svc.csv\n")
    if thresholds:
        (folder / "th.yaml").write_text(thresholds, encoding="utf-8")
        text += "thresholds: th.yaml\n"
    (folder / "r.yaml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("known", "total", "thresholds", "rag", "shown"), [
    (8996, 10000, None, "amber", "89.9%"),   # 89.96%: amber, never shown as 90.0%
    (9000, 10000, None, "green", "90.0%"),   # exactly 90%: green
    (6999, 10000, None, "red", "69.9%"),     # 69.99%: red
    (7000, 10000, None, "amber", "70.0%"),   # exactly 70%: amber
    # a council's per-characteristic cut-offs, honoured by both
    (8996, 10000, "characteristics:\n  sex: {green: 85, amber: 60}\n", "green", "89.9%"),
    (5999, 10000, "characteristics:\n  sex: {green: 85, amber: 60}\n", "red", "59.9%"),
])
def test_audit_and_report_give_the_same_rating_and_share_at_the_boundary(
        tmp_path, known, total, thresholds, rag, shown):
    _service(tmp_path, known, total)
    _report_file(tmp_path, thresholds)
    th = tmp_path / "th.yaml" if thresholds else None
    audit = au.audit_paths(tmp_path / "svc.csv", thresholds=th, as_of=dt.date(2026, 3, 31))
    row = audit.summary.set_index("characteristic").loc["sex"]
    assert (row["rag"], au.share_text(row["known"], row["records"])) == (rag, shown)

    report = build_report(load_report_config(tmp_path / "r.yaml"))
    comp = report.services[0].completeness.set_index("characteristic").loc["sex"]
    assert (comp["rag"], comp["share_text"]) == (rag, shown)
    table = report_context(report)["services"][0]["completeness"]
    sex = next(r for r in table["rows"] if r[0] == "Sex")
    assert sex[1:] == [f"{shown} ({known:,} of {total:,})", rag.capitalize()]

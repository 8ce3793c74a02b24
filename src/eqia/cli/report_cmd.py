"""``eqia report``: the annual equality report from several services and periods."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eqia.cli.app import app, err, guarded
from eqia.cli.common import check_policy_option, old_spelling, parse_formats, wrote
from eqia.errors import ErrorCode, UsageError

DEFAULT_FORMATS = "docx,html,xlsx"


@app.command("report")
@guarded
def report_command(
    report_file: Annotated[Path, typer.Argument(help="The report file (see eqia init --report).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report.")] = Path(
        "report"
    ),
    publish: Annotated[
        bool, typer.Option("--publish", help="Protect small numbers in every table and sentence.")
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Disclosure policy (YAML) for --publish (only with "
                     "--publish); overrides the report file's."),
    ] = None,
    formats: Annotated[
        str | None, typer.Option("--format", "-f", help="Comma-separated, any of docx, html, "
                                 "xlsx (the documents) and csv, parquet, json (the tidy "
                                 f"table for BI tools)  [default: {DEFAULT_FORMATS}]")
    ] = None,
    old_formats: Annotated[str | None, typer.Option("--formats", hidden=True)] = None,
) -> None:
    """Build the annual equality report (.docx, .html, .xlsx) from services' extracts.

    Example: eqia report examples/annual_report.yaml --out report/ --publish
    """
    from eqia.documents.report import build_report, write_report
    from eqia.outputs import check_folder
    from eqia.render.formats import REPORT, TIDY
    from eqia.settings.disclosure import load_policy
    from eqia.settings.report import load_report_config

    formats = old_spelling(formats, old_formats, "--format", "--formats")
    wanted = parse_formats(formats or DEFAULT_FORMATS, (*REPORT, *TIDY))
    check_policy_option(policy, publish, "report")
    if policy is not None and not policy.is_file():
        raise UsageError("The disclosure policy file does not exist", code=ErrorCode.MISSING_FILE,
                         file=str(policy), hint="Give a YAML file like eqia/data/disclosure.yaml.")
    check_folder(out_dir)
    config = load_report_config(report_file, policy=load_policy(policy) if policy else None)
    report = build_report(config, publish=publish)
    written = write_report(report, out_dir, formats=wanted)
    _print_summary(config, report)
    for p in written.public:
        wrote(p)
    for p in written.internal:
        wrote(p, " (internal: never publish this file)")
    if publish:
        err.print(f"Small numbers are protected ({report.policy.method} rule). Publish only "
                  f"the files directly in {out_dir}, not the 'internal' folder.")
    else:
        err.print("This report is for internal use (every figure shown): add --publish to "
                  "protect small numbers.")


def _print_summary(config, report) -> None:
    """The report's services and periods, and its data notes (on stderr: stdout is for
    data, and the report is in the files)."""
    area = next((s.comparison.area.name for s in report.services if s.comparison), config.area)
    err.print(f"[bold]{config.title}[/] ({config.period.label}), compared with {area}.")
    for s in report.services:
        periods = ", ".join(f"{p.label}: {s.totals.get(p.label, '-')} people"
                            for p in s.periods) or "no usable extract"
        err.print(f"  {s.name} ({periods}); {len(s.findings)} finding(s)")
    notes = report.all_notes
    if notes:
        err.print(f"[bold yellow]{len(notes)} data note(s)[/] (also in the report's "
                  "'Data notes' section):")
        for n in notes:
            err.print(f"  - {n.text}", markup=False)

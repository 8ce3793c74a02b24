"""``eqia init`` and ``eqia screen``: draft an EqIA screening document from data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from eqia.cli.app import app, guarded, out
from eqia.errors import UsageError
from eqia.outputs import check_folder, write_text
from eqia.proposal import load_proposal, template_text

FORMATS = ("docx", "html", "md")


@app.command("init")
@guarded
def init_command(
    file: Annotated[Path, typer.Argument(help="The proposal file to create (YAML).")],
    report: Annotated[bool, typer.Option("--report", help="Write an annual report file instead.")]
    = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
) -> None:
    """Write a commented proposal file to fill in (or, with --report, a report file).

    Example: eqia init my-proposal.yaml
    """
    if file.exists() and not force:
        raise UsageError("The file already exists", code="file-exists", file=str(file),
                         hint="Choose another name, or add --force to overwrite it.")
    check_folder(file.parent)
    if report:
        from eqia.report_config import report_template_text

        text = report_template_text()
        then = f"eqia report {file} --out report/"
    else:
        text = template_text()
        then = f"eqia screen {file} --out out/"
    write_text(file, text)
    out.print(f"Wrote {file}. Fill it in, then run: {then}")


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return slug[:60] or "eqia"


@app.command("screen")
@guarded
def screen_command(
    proposal_file: Annotated[Path, typer.Argument(help="The proposal file (see eqia init).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the documents.")] = Path(
        "out"
    ),
    templates: Annotated[
        Path | None, typer.Option("--templates", help="Folder with your council's own templates.")
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Protect small numbers for publication, under the "
                           "same rule as the annual report.")
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Disclosure policy (YAML) for --publish; default: hide "
                     "counts under 10 and whatever would reveal them."),
    ] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Flag thresholds (YAML).")] = None,
    assessment_rules: Annotated[
        Path | None, typer.Option("--assessment-rules", help="Rating rules (YAML).")
    ] = None,
    formats: Annotated[
        str, typer.Option("--formats", help="Comma-separated: docx,html,md.")
    ] = "docx,html,md",
) -> None:
    """Draft the EqIA screening document (.docx, .html, .md) with the evidence filled in.

    Example: eqia screen examples/mh_support_proposal.yaml --out out/
    """
    from eqia.render import render_all
    from eqia.screening import run_screening
    from eqia.spreadsheet import to_csv

    wanted = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise UsageError(f"Unknown format(s): {', '.join(bad) or '(none)'}", code="bad-format",
                         hint="Use any of docx, html, md, e.g. --formats docx,html")
    if templates is not None and not templates.is_dir():
        raise UsageError("The templates folder does not exist", code="missing-file",
                         file=str(templates), hint="Give a folder holding your own templates.")
    check_folder(out_dir)
    proposal = load_proposal(proposal_file)
    screening = run_screening(proposal, publish=publish, rules_path=rules,
                              assessment_path=assessment_rules, policy_path=policy)
    log = Path("internal") / "suppression_log.csv"
    extra = {}
    if publish and len(screening.suppression_log):
        extra[log.as_posix()] = lambda p: p.write_text(
            to_csv(screening.suppression_log), encoding="utf-8", newline="")
    paths = render_all(screening.context, out_dir, _slug(proposal.text["name"] or "eqia"),
                       templates_dir=templates, formats=wanted, extra=extra)
    grid = screening.context["grid"]
    out.print(f"[bold]{proposal.text['name']}[/]: screening drafted from "
              f"{screening.profile.rows:,} records, compared with {screening.comparison.area.name}.")
    for row in grid:
        if row["rating"]["source"] == "officer":
            src = f"officer; the data suggests {row['suggested']['rating']}"
        else:
            src = "suggested from data"
        out.print(f"  {row['label']:<32} {row['rating']['value']:<8} ({src})")
    j = screening.context["judgement"]
    out.print(f"Suggested judgement: {j['suggested_text']}.")
    for p in paths:
        if p != out_dir / log:
            out.print(f"Wrote {p}", markup=False)
    if extra:
        out.print(f"Wrote {out_dir / log} [bold](internal: never publish this file)[/]")
        out.print(f"Small numbers are protected. Publish only the files directly in {out_dir}, "
                  "not the 'internal' folder.")
    if not publish:
        out.print("These documents are for internal use: add --publish to suppress small numbers.")

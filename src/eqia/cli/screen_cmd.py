"""``eqia init`` and ``eqia screen``: draft an EqIA screening document from data."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from eqia.cli.app import app, err, guarded, out
from eqia.cli.common import check_policy_option, old_spelling, parse_formats, wrote
from eqia.errors import ErrorCode, UsageError
from eqia.outputs import check_folder, write_text
from eqia.settings import changes


def _interactive() -> bool:
    """Whether a person is at the terminal to answer a question."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask_change() -> tuple[str, ...]:
    """Ask what the proposal changes, until the answer is one (or more) of the values."""
    vocab = list(changes.vocabulary().values())
    out.print("What does the proposal change? It decides how eqia reads the data.")
    for i, c in enumerate(vocab, 1):
        out.print(f"  {i:>2}. {c.key}: {c.means}")
    while True:
        answer = typer.prompt("Number(s) or name(s), separated by commas (Enter to leave "
                              "it blank)", default="", show_default=False)
        words = [w.strip() for w in answer.split(",") if w.strip()]
        words = [vocab[int(w) - 1].key if w.isdigit() and 0 < int(w) <= len(vocab) else w
                 for w in words]
        try:
            return changes.parse(words)
        except ValueError as exc:
            out.print(f"'{exc}' is not one of them; try again.")


def _with_change(text: str, chosen: tuple[str, ...]) -> str:
    """The template with ``change:`` filled in."""
    if not chosen:
        return text
    value = chosen[0] if len(chosen) == 1 else "[" + ", ".join(chosen) + "]"
    return re.sub(r"(?m)^change:$", f"change: {value}", text, count=1)


@app.command("init")
@guarded
def init_command(
    file: Annotated[Path, typer.Argument(help="The proposal file to create (YAML).")],
    report: Annotated[bool, typer.Option("--report", help="Write an annual report file instead.")]
    = False,
    change: Annotated[
        str | None,
        typer.Option("--change", help="What the proposal changes: "
                     + ", ".join(changes.vocabulary())
                     + " (several separated by commas). Asked for at a terminal if not given."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
) -> None:
    """Write a commented proposal file to fill in (or, with --report, a report file).

    Example: eqia init my-proposal.yaml --change closure
    """
    from eqia.documents.proposal import template_text

    if file.exists() and not force:
        raise UsageError("The file already exists", code=ErrorCode.FILE_EXISTS, file=str(file),
                         hint="Choose another name, or add --force to overwrite it.")
    check_folder(file.parent)
    if report and change is not None:
        raise UsageError("--change applies to a proposal file, not to --report",
                         code=ErrorCode.OPTION_MISMATCH, hint="Leave out --change with --report: an "
                         "annual report covers services, not one change.")
    if report:
        from eqia.settings.report import report_template_text

        text = report_template_text()
        then = f"eqia report {file} --out report/"
    else:
        try:
            chosen = changes.parse(change)
        except ValueError as exc:
            raise UsageError("--change must be one of: " + ", ".join(changes.vocabulary()),
                             code=ErrorCode.BAD_CHANGE, value=str(exc),
                             hint="What each means:\n" + changes.help_text()) from None
        if change is None and _interactive():
            chosen = _ask_change()
        text = _with_change(template_text(), chosen)
        then = f"eqia screen {file} --out out/"
        if not chosen:
            then += (" (first say what is changing under 'change:'; the file lists the "
                     "choices)")
    write_text(file, text)
    wrote(file, f". Fill it in, then run: {then}")


#: With --publish, the true values of the hidden figures: internal, never published.
SUPPRESSION_LOG = Path("internal") / "suppression_log.csv"


def draft_screening(proposal_file: Path, out_dir: Path, *, publish: bool = False,
                    templates: Path | None = None, rules: Path | None = None,
                    assessment_rules: Path | None = None, policy: Path | None = None,
                    formats: tuple[str, ...] | None = None):
    """Screen a proposal and write its documents (and, published, the suppression log).

    What ``eqia screen`` and ``eqia serve`` both do, so that the two give the same
    documents. Returns the ``Screening`` and the paths written."""
    from eqia.documents.proposal import load_proposal
    from eqia.documents.screening import document_name, run_screening
    from eqia.render import FORMATS, render_all
    from eqia.spreadsheet import to_csv

    proposal = load_proposal(proposal_file)
    screening = run_screening(proposal, publish=publish, rules_path=rules,
                              assessment_path=assessment_rules, policy_path=policy)
    extra = {}
    if publish and len(screening.suppression_log):
        extra[SUPPRESSION_LOG.as_posix()] = lambda p: p.write_text(
            to_csv(screening.suppression_log), encoding="utf-8", newline="")
    paths = render_all(screening.context, out_dir, document_name(proposal),
                       templates_dir=templates, formats=formats or FORMATS, extra=extra)
    return screening, paths


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
        typer.Option("--policy", help="Disclosure policy (YAML) for --publish (only with "
                     "--publish); default: hide counts under 10 and whatever would reveal "
                     "them."),
    ] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Flag thresholds (YAML).")] = None,
    assessment_rules: Annotated[
        Path | None, typer.Option("--assessment-rules", help="Rating rules (YAML).")
    ] = None,
    formats: Annotated[
        str | None, typer.Option("--format", "-f", help="Comma-separated, any of docx, html, "
                                 "md  [default: docx,html,md]")
    ] = None,
    old_formats: Annotated[str | None, typer.Option("--formats", hidden=True)] = None,
) -> None:
    """Draft the EqIA screening document (.docx, .html, .md) with the evidence filled in.

    Example: eqia screen examples/mh_support_proposal.yaml --out out/
    """
    from eqia.render import FORMATS

    formats = old_spelling(formats, old_formats, "--format", "--formats")
    wanted = parse_formats(formats or ",".join(FORMATS), FORMATS)
    check_policy_option(policy, publish, "document")
    if templates is not None and not templates.is_dir():
        raise UsageError("The templates folder " + ("is a file, not a folder"
                                                    if templates.exists() else "does not exist"),
                         code=ErrorCode.MISSING_FILE,
                         file=str(templates), hint="Give a folder holding your own templates.")
    check_folder(out_dir)
    screening, paths = draft_screening(proposal_file, out_dir, publish=publish,
                                       templates=templates, rules=rules,
                                       assessment_rules=assessment_rules, policy=policy,
                                       formats=wanted)
    proposal = screening.proposal
    log = SUPPRESSION_LOG
    _print_summary(proposal, screening)
    for p in paths:
        if p != out_dir / log:
            wrote(p)
    if publish and len(screening.suppression_log):
        wrote(out_dir / log, " (internal: never publish this file)")
        err.print(f"Small numbers are protected. Publish only the files directly in {out_dir}, "
                  "not the 'internal' folder.")
    if not publish:
        err.print("These documents are for internal use: add --publish to suppress small numbers.")


def _print_summary(proposal, screening) -> None:
    """Each characteristic's rating and where it came from, the judgement and the focus
    (on stderr: the documents are the output)."""
    grid = screening.context["grid"]
    err.print(f"[bold]{proposal.text['name']}[/]: screening drafted from "
              f"{screening.profile.rows:,} records, compared with {screening.comparison.area.name}.")
    for row in grid:
        if row["rating"]["source"] == "officer":
            src = f"officer; the data suggests {row['suggested']['rating']}"
        else:
            src = "suggested from data"
        err.print(f"  {row['label']:<32} {row['rating']['value']:<8} ({src})")
    j = screening.context["judgement"]
    err.print(f"Suggested judgement: {j['suggested_text']}.")
    focus = screening.focus
    if focus.source == "unstated":
        err.print("[bold]Note:[/] the proposal does not say what is changing, so groups using "
                  "the service more and less than expected are both treated as the main "
                  "concern. Add 'change:' to the proposal file (e.g. change: closure).")
    else:
        err.print("Main concern for " + focus.what + ": "
                  + " and ".join(focus.label(x).lower() for x in focus.primary) + " groups"
                  + (" (data: adverse_direction override)." if focus.source == "override"
                     else "."))

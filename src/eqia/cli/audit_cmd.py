"""``eqia audit``: completeness of equality data across services, against thresholds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table as RichTable

from eqia.cli.app import EXIT_INPUT, EXIT_OK, EXIT_THRESHOLD, app, err, guarded, out
from eqia.cli.common import (
    AsOfOpt,
    DayFirstOpt,
    DuplicatesOpt,
    HeaderRowOpt,
    ListInvalidOpt,
    MapOpt,
    format_choice,
    format_option,
    needs_out,
    parse_as_of,
    reading_mapping,
    write_tidy,
)
from eqia.cli.database import DbOpt, PasswordPromptOpt, TablesOpt, database_tables
from eqia.errors import ErrorCode, UsageError

if TYPE_CHECKING:
    from eqia.documents import audit as au

#: Show a progress bar from this many files (or for any file big enough to stream).
PROGRESS_FILES = 5
RAG_STYLES = {"green": "green", "amber": "yellow", "red": "red"}


AuditFormat = format_choice("AuditFormat", ("table", "csv", "parquet", "json"))


@app.command("audit")
@guarded
def audit_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Extract files, or folders of them (CSV, XLSX, Parquet); "
                       "record-level or aggregated (or tables with --db).", show_default=False),
    ] = None,
    previous: Annotated[
        list[Path] | None,
        typer.Option("--previous", "-p", help="Last time's extracts (files or folders), "
                     "matched by service name, to show the change. Repeatable."),
    ] = None,
    map_file: MapOpt = None,
    as_of: AsOfOpt = None,
    thresholds: Annotated[
        Path | None,
        typer.Option("--thresholds", "-t", help="YAML file of green/amber thresholds and the "
                     "required characteristics (default: 90% / 70%, see data/thresholds.yaml)."),
    ] = None,
    fail_under: Annotated[
        float | None,
        typer.Option("--fail-under", min=0, max=100, metavar="PCT",
                     help="Exit with code 1 if any required characteristic's known share is "
                     "below PCT percent, or a service does not collect one at all (unless "
                     "excused)."),
    ] = None,
    excuse: Annotated[
        list[str] | None,
        typer.Option("--excuse", metavar="CHARACTERISTIC",
                     help="A characteristic services need not collect: not collecting it "
                     "does not fail --fail-under (e.g. pregnancy_maternity). Repeatable; "
                     "the same as excused: in the thresholds file."),
    ] = None,
    providers: Annotated[
        Path | None,
        typer.Option("--providers", metavar="FILE",
                     help="YAML file giving each provider's files (a file-name pattern) the "
                     "mapping, Excel sheet and header row to read them with; other files "
                     "are read with --map."),
    ] = None,
    fmt: format_option(AuditFormat, "Output format: table (the screen) or a tidy table: csv, "
                       "parquet or json (on the screen, or with --out in the folder).") = (
        AuditFormat.table
    ),
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write audit.xlsx, audit.html, "
                     "audit_narrative.docx/.html and audit.csv (and audit.parquet or "
                     "audit.json with that --format) to this folder."),
    ] = None,
    top: Annotated[int | None, typer.Option(
        "--top", min=0, help="How many gaps to list (table output only)  [default: 10]")] = None,
    allow_duplicates: DuplicatesOpt = False,
    list_invalid: ListInvalidOpt = False,
    dayfirst: DayFirstOpt = None,
    header_row: HeaderRowOpt = None,
    db: DbOpt = None,
    tables: TablesOpt = None,
    password_prompt: PasswordPromptOpt = False,
) -> None:
    """Audit how completely services record protected characteristics.

    For each service and characteristic: records known, unknown (and why) and invalid,
    rated green/amber/red, with the change since --previous and the worst gaps to chase.
    A file that cannot be read is reported and the rest are audited (exit code 2).
    audit.xlsx counts invalid values by reason; --list-invalid-values lists them (personal
    data, for internal use only).

    Example: eqia audit extracts/ --previous last-quarter/ --out audit/ --as-of 2026-03-31

    Tables in a database are audited where they live (only counts come back):
    eqia audit --db postgresql://analyst@warehouse/council --table mh_support --table carers
    """
    from eqia.documents import audit as au
    from eqia.outputs import check_folder

    paths = [*(paths or []), *database_tables(db, tables or [], password_prompt)]
    date = parse_as_of(as_of)
    if top is not None and fmt is not AuditFormat.table:
        raise UsageError("--top applies to the table output only", code=ErrorCode.OPTION_MISMATCH,
                         hint=f"--format {fmt.value} writes every service and characteristic; "
                              "leave out --top, or use the table output.")
    needs_out(fmt.value, out_dir, "eqia audit extracts/ -f parquet --out audit/")
    if out_dir is not None:
        check_folder(out_dir)
    with audit_progress([*paths, *(previous or [])]) as progress:
        result = au.audit_paths(
            paths, previous=previous or None,
            mapping=reading_mapping(map_file, dayfirst, header_row), thresholds=thresholds,
            as_of=date, progress=progress, allow_duplicates=allow_duplicates,
            providers=providers, excuse=excuse or (),
        )
    if result.summary.empty and result.failures:  # an empty grid would say "no gaps"
        err.print("[bold red]No extract could be read[/]: there is nothing to audit.")
        _report_failures(result.failures)
        raise typer.Exit(EXIT_INPUT)
    if fmt is AuditFormat.table:
        print_audit(result, 10 if top is None else top)
    elif out_dir is None:  # with --out, the table is a file in the folder
        from eqia.documents.tidy import audit_tidy

        write_tidy(audit_tidy(result), fmt.value, None, float_format="%.6f")
    _write_files(result, out_dir, list_invalid, fmt.value)
    raise typer.Exit(_exit_code(result, fail_under))


def _write_files(result: au.AuditResult, out_dir: Path | None, list_invalid: bool,
                 fmt: str) -> None:
    from eqia.documents import audit as au

    if out_dir is not None:
        tidy = (fmt,) if fmt != "table" else ()
        written = au.write_outputs(result, out_dir, list_invalid_values=list_invalid, tidy=tidy)
        err.print("Wrote " + ", ".join(str(p) for p in written), markup=False)
        if list_invalid:
            err.print(f"[bold]{escape(str(out_dir / au.WORKBOOK))} lists invalid values exactly "
                      "as they appear in the extracts: personal data, for internal use only.[/]")
    elif list_invalid:
        err.print("--list-invalid-values lists them in audit.xlsx: add --out FOLDER.")


def _exit_code(result: au.AuditResult, fail_under: float | None) -> int:
    """1 when a required characteristic is below --fail-under or not collected (and not
    excused), 2 when a file was not read (each said on stderr), else 0."""
    from eqia.documents import audit as au

    code = EXIT_OK
    if fail_under is not None:
        low = au.below(result, fail_under)
        if len(low):
            err.print(f"[bold red]Below {fail_under:g}%[/]: {len(low)} required "
                      f"characteristic{'s' if len(low) != 1 else ''} (--fail-under):")
            for r in low.itertuples():
                err.print(f"  {r.service}: {au.characteristic_name(r.characteristic)} "
                          f"{_share(r)}", markup=False)
            code = EXIT_THRESHOLD
        missing = au.uncollected(result)
        if len(missing):
            err.print(f"[bold red]Not collected at all[/]: {len(missing)} required "
                      f"characteristic{'s' if len(missing) != 1 else ''} (--fail-under):")
            for r in missing.itertuples():
                err.print(f"  {r.service}: {au.characteristic_name(r.characteristic)} "
                          "not collected" + (f" (column '{r.lookalike}' looks like it: "
                                             "see the warnings)" if r.lookalike else ""),
                          markup=False)
            keys = list(dict.fromkeys(missing["characteristic"]))
            err.print("A service that has no reason to collect one can be excused: "
                      + " ".join(f"--excuse {k}" for k in keys)
                      + ", or excused: [" + ", ".join(keys) + "] in the thresholds file.",
                      markup=False)
            code = EXIT_THRESHOLD
    if result.failures:
        _report_failures(result.failures)
        code = EXIT_INPUT
    return code


def _report_failures(failures: list[tuple[str, str]]) -> None:
    err.print(f"[bold red]Files not read[/] ({len(failures)}): their records are not in "
              "any figure.")
    for file, message in failures:
        err.print(f"  {file}: {message}", markup=False)


def _share(r) -> str:
    from eqia.documents import audit as au

    if r.status == au.NOT_COLLECTED:
        return "not collected"
    return au.share_text(r.known, r.records)


@contextmanager
def audit_progress(paths: list[Path]) -> Iterator[au.AuditProgress | None]:
    """A progress bar on stderr (on a terminal) when there are many files or large ones."""
    from eqia.documents import audit as au
    from eqia.read.extract import streams

    files, _ = au.find_extracts(paths)
    big = any(streams(f) for f in files if isinstance(f, Path))
    if not err.is_terminal or not (len(files) >= PROGRESS_FILES or big):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    # Redrawn on each update, not by a thread of its own: an audit of many files reads
    # them on two processes (``audit.collect``), started only where no other thread runs.
    with Progress("Reading {task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True,
                  auto_refresh=False) as bar:
        task = bar.add_task("", total=len(files))

        def update(done: float, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name, refresh=True)

        yield update


def _cell(r) -> str:
    from eqia.documents import audit as au

    style = RAG_STYLES[r["rag"]]
    letter = au.RAG_LABELS[r["rag"]][0]
    if r["status"] == au.NOT_COLLECTED:
        text = "n/c?" if r["lookalike"] else "n/c"
    else:
        text = au.share_text(r["known"], r["records"], 0)
    cell = f"[{style}]{text} {letter}[/]"
    change = r["change_pp"]
    if change == change and not (r["status"] == au.NOT_COLLECTED and change == 0):
        cell += "\n" + au.change_text(change, 0).removesuffix(" pp")
    return cell


def print_audit(result: au.AuditResult, top: int = 10) -> None:
    """The grid (services worst first), the worst gaps and the files not read."""
    from eqia.documents import audit as au
    from eqia.settings import characteristics as chars

    th = result.thresholds
    s = result.summary
    services = au.service_order(result)
    out.print(f"[bold]Equality data completeness[/], as at {result.as_of.isoformat()}: "
              f"{len(services)} service{'s' if len(services) != 1 else ''}, worst first.")
    keys = au.grid_keys(result)
    nobody = [k for k in th.audited if k not in keys]
    grid = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1),
                     show_lines=result.previous_given)
    cells = s.set_index(["service", "characteristic"])
    # Each characteristic column needs about 9 characters and the names at least 16: in a
    # narrower terminal, one block per service reads better than a squeezed grid.
    if out.width >= 16 + 9 * len(keys):
        grid.add_column("Service", style="bold", overflow="fold", min_width=16)
        for key in keys:
            grid.add_column(chars.short_label(key), justify="right", no_wrap=True)
        for name in services:
            grid.add_row(name, *(_cell(cells.loc[(name, k)]) for k in keys))
        out.print(grid)
    else:
        for name in services:
            out.print(f"[bold]{escape(name)}[/]")
            out.print("  " + ", ".join(f"{chars.short_label(k)} " + _cell(cells.loc[(name, k)])
                                       .replace("\n", " ") for k in keys))
    out.print("Known share of records (rounded down) with its rating: G green (at least "
              f"{float(th.green):g}%), A amber (at least {float(th.amber):g}%), R red; "
              "n/c not collected (red)"
              + ("; n/c? not collected, but a column looks like it (see the warnings)"
                 if (s["lookalike"] != "").any() else "")
              + (f"; excused: {', '.join(th.excused)}" if th.excused else "")
              + ("; +/- N: change since the previous audit in percentage points"
                 if result.previous_given else "")
              + f". Thresholds: {th.source}.", markup=False)
    out.print("Columns: " + ", ".join(f"{chars.short_label(k)} = {au.characteristic_name(k)}"
                                       for k in keys) + ".", markup=False)
    if nobody:
        out.print("[bold]Not collected by any service[/] (red for all): "
                  + ", ".join(au.characteristic_name(k) for k in nobody) + ".")
    gaps = au.worst_gaps(result, top)
    if top and len(gaps):
        out.print("\n[bold]Worst gaps to chase[/]")
        for i, g in enumerate(gaps.itertuples(), start=1):
            change = au.change_text(g.change_pp)
            out.print(f"{i:>3}. {g.service}: {au.characteristic_name(g.characteristic)} "
                      f"{_share(g)} ({au.RAG_LABELS[g.rag]}), {g.records:,} records"
                      + (f", {change}" if change else ""), markup=False)
    elif top:
        out.print("\nNo gaps: every characteristic of every service is green.")
    if result.missing_services:
        out.print("\nIn the previous audit but with no extract this time: "
                  + ", ".join(result.missing_services) + ".", markup=False)
    failed = result.files[result.files["status"] == "not read"]
    out.print("\n[bold]Files not read[/]: " + (
        ", ".join(Path(f).name for f in failed["file"])
        + " (reasons below; their records are not in any figure)." if len(failed)
        else "none."))
    if result.skipped:
        out.print("Skipped (not an extract format): " + ", ".join(result.skipped) + ".",
                  markup=False)
    _print_mappings(result)
    if len(result.warnings):
        out.print(f"\n[bold]Warnings[/] ({len(result.warnings)}): read, but check")
        for message in result.warnings["message"]:
            out.print(f"  - {message}", markup=False)


def _print_mappings(result: au.AuditResult) -> None:
    """Which mapping read which file, when providers were given (else it is one for all)."""
    from eqia.documents import audit as au

    read = result.files[result.files["provider"] != ""]
    if not len(read):
        return
    out.print("\n[bold]Read with[/] (--providers)")
    for r in result.files.itertuples():
        mapping = r.mapping if r.mapping == au.NO_MAPPING else Path(r.mapping).name
        out.print(f"  {Path(r.file).name}: {r.provider or 'no provider'}, mapping {mapping}",
                  markup=False)

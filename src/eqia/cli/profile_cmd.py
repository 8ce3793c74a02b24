"""``eqia profile``: what is in an extract, characteristic by characteristic."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table as RichTable
from rich.text import Text

from eqia.cli.app import app, err, guarded, out
from eqia.cli.common import (
    AgeBandsOpt,
    AsOfOpt,
    DayFirstOpt,
    DuplicatesOpt,
    HeaderRowOpt,
    ListInvalidOpt,
    MapOpt,
    PeriodOpt,
    ServiceOpt,
    SheetOpt,
    format_choice,
    format_option,
    needs_out,
    old_spelling,
    parse_as_of,
    pct,
    reading_mapping,
    service_name,
    write_text,
    write_tidy,
    wrote,
)
from eqia.cli.database import (
    DbOpt,
    OptionalExtractArg,
    PasswordPromptOpt,
    QueryOpt,
    TableOpt,
    extract_or_database,
)
from eqia.errors import ErrorCode, UsageError

if TYPE_CHECKING:
    from eqia.analysis.profile import Profile

ProfileFormat = format_choice("ProfileFormat", ("table", "csv", "parquet", "json"))


@app.command("profile")
@guarded
def profile_command(
    extract: OptionalExtractArg = None,
    map_file: MapOpt = None,
    as_of: AsOfOpt = None,
    sheet: SheetOpt = None,
    dayfirst: DayFirstOpt = None,
    header_row: HeaderRowOpt = None,
    age_bands: AgeBandsOpt = None,
    allow_duplicates: DuplicatesOpt = False,
    fmt: format_option(ProfileFormat, "Output format: table (the screen), or a tidy table: "
                       "csv, parquet or json (JSON: the profile with its reconciliation).") = (
        ProfileFormat.table
    ),
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the csv, parquet or json to "
                                  "this file (default: the screen; parquet needs it).")
    ] = None,
    service: ServiceOpt = None,
    period: PeriodOpt = None,
    list_invalid: ListInvalidOpt = False,
    db: DbOpt = None,
    table: TableOpt = None,
    query: QueryOpt = None,
    password_prompt: PasswordPromptOpt = False,
    old_output: Annotated[Path | None, typer.Option("--output", hidden=True)] = None,
) -> None:
    """Count each protected characteristic in an extract: categories, unknown, invalid.

    The table shows each invalid code in full (to fix the mapping with); dates of birth
    and ages, and the csv and json formats, count invalid values by reason unless
    --list-invalid-values is given.

    Example: eqia profile examples/mh_support_extract.csv --map examples/mh_support_mapping.yaml

    A table in a database or Spark is counted where it lives (only counts come back):
    eqia profile --db postgresql://analyst@warehouse/council --table social_care.mh_support
    """
    from eqia.analysis.profiling import profile_file
    from eqia.documents.tidy import profile_tidy
    from eqia.outputs import check_folder

    output = old_spelling(out_file, old_output, "--out", "--output")
    if output is not None and fmt is ProfileFormat.table:
        raise UsageError("--out needs --format csv, parquet or json",
                         code=ErrorCode.OPTION_MISMATCH, file=str(output),
                         hint="The table is printed on the screen; to save the figures, add "
                         "e.g. --format csv --out profile.csv.")
    needs_out(fmt.value, output, "eqia profile extract.csv -f parquet --out profile.parquet")
    if output is not None:
        check_folder(output.parent)
    mapping = reading_mapping(map_file, dayfirst, header_row)
    source = extract_or_database(extract, db, table, query, password_prompt)
    with read_progress(source) as progress:
        profile = profile_file(
            source, mapping, as_of=parse_as_of(as_of), sheet=sheet, age_bands=age_bands,
            allow_duplicates=allow_duplicates, progress=progress, by_age=False,
        )
    keys = {"service": service_name(service, source, profile.source),
            "period": period or as_of or ""}
    if fmt is ProfileFormat.json:
        body = {**keys, **profile_json(profile, list_invalid)}
        write_text(output, json.dumps(body, indent=2) + "\n")
    elif fmt is not ProfileFormat.table:
        write_tidy(profile_tidy(profile, **keys, list_invalid_values=list_invalid), fmt.value,
                   output, float_format="%.6f")
    else:
        print_profile(profile, list_invalid)
    if output is not None:
        wrote(output)
    if list_invalid and fmt is not ProfileFormat.table:
        err.print(f"[bold]{'The output' if output is None else output} lists invalid values "
                  "exactly as they appear in the extract: personal data, for internal use "
                  "only.[/]")


@contextmanager
def read_progress(path: Path) -> Iterator[Callable[[float], None] | None]:
    """A progress bar on stderr while a large extract is read (on a terminal only)."""
    from eqia.read.extract import streams

    if not (err.is_terminal and isinstance(path, Path) and streams(path)):
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    columns = (BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with Progress("Reading {task.description}", *columns, console=err, transient=True) as bar:
        task = bar.add_task(path.name, total=1.0)
        yield lambda done: bar.update(task, completed=done)


def profile_json(profile: Profile, list_invalid: bool = False) -> dict:
    """The profile as JSON; invalid values counted by reason unless ``list_invalid``."""
    from eqia.settings import characteristics as chars

    rec = profile.reconciliation().set_index("characteristic")
    body = {}
    for key in chars.all_keys():
        if key not in rec.index:
            continue
        if not profile.is_collected(key):
            body[key] = {"status": "not collected"}
            continue
        known = profile.known(key)
        body[key] = {
            "status": "collected",
            "column": profile.columns.get(chars.parent(key)),
            "rows": int(rec.at[key, "rows"]),
            "known": known,
            "categories": [
                {"category": c, "count": int(n), "share_of_known": (n / known) if known else None}
                for c, n in profile.category_counts(key).items()
            ],
            "unknown": profile.unknown_by_reason(key),
            "invalid": [
                {"value": r.value, "reason": r.reason, "count": int(r.count)}
                for r in profile.invalid_values(key).itertuples()
            ] if list_invalid else [
                {"reason": reason, "count": n}
                for reason, n in sorted(profile.invalid_by_reason(key).items())
            ],
        }
    return {
        "source": profile.source,
        "shape": profile.shape,
        "rows": profile.rows,
        "rows_in_file": profile.file_rows if profile.shape == "records" else None,
        "set_aside": profile.set_aside,
        "age_source": profile.age_source,
        "notes": profile.notes,
        "characteristics": body,
    }


def print_profile(profile: Profile, list_invalid: bool = False) -> None:
    """The officer's own view. Invalid codes are shown in full, each apart, to fix the
    mapping with; invalid dates of birth and ages (which no mapping fixes, and which are
    a person's data) by reason, unless ``list_invalid``."""
    from eqia.analysis.profile import REASON_LABELS
    from eqia.read.table import rows_text
    from eqia.settings import characteristics as chars

    shape = "one row per person" if profile.shape == "records" else "aggregated counts"
    if profile.set_aside and profile.shape == "records":
        out.print(f"[bold]{profile.source}[/]: {profile.file_rows:,} rows in file = "
                  f"{profile.rows:,} people + {rows_text(profile.set_aside)} ({shape})")
    else:
        out.print(f"[bold]{profile.source}[/]: {profile.rows:,} rows ({shape})")
    if profile.age_source:
        out.print(f"Age worked out from {profile.age_source}.")
    rec = profile.reconciliation().set_index("characteristic")
    hidden = False
    for key in chars.all_keys():
        if key not in rec.index or not profile.is_collected(key):
            continue
        name = chars.display_name(key)
        column = profile.columns.get(chars.parent(key))
        known = profile.known(key)
        table = RichTable(
            title=f"{name}  (column '{column}')", title_justify="left", title_style="bold"
        )
        table.add_column("Category")
        table.add_column("People", justify="right")
        table.add_column("Share of known", justify="right")
        for cat, n in profile.category_counts(key).items():
            table.add_row(str(cat), f"{n:,}", pct(n / known) if known else "")
        for reason, n in sorted(profile.unknown_by_reason(key).items()):
            table.add_row(f"[italic]Unknown: {REASON_LABELS.get(reason, reason)}[/]", f"{n:,}", "")
        if key == "age" and not list_invalid:
            for reason, n in sorted(profile.invalid_by_reason(key).items()):
                table.add_row(Text(f"Invalid: {reason}", style="italic"), f"{n:,}", "")
                hidden = True
        else:
            for r in profile.invalid_values(key).itertuples():
                table.add_row(Text(f"Invalid: '{r.value}' ({r.reason})", style="italic"),
                              f"{r.count:,}", "")
        out.print(table)
        r = rec.loc[key]
        status = "reconciles" if bool(r["balanced"]) else "DOES NOT RECONCILE"
        out.print(
            f"  {int(r['rows']):,} rows = {int(r['in_categories']):,} in categories + "
            f"{int(r['unknown']):,} unknown + {int(r['invalid']):,} invalid: {status}. "
            f"Known for {pct(known / r['rows'] if r['rows'] else 0, 0)}.\n"
        )
    missing = [chars.display_name(k) for k in chars.keys() if not profile.is_collected(k)]
    if missing:
        out.print("[bold]Not collected[/] (no column in the extract): " + ", ".join(missing) + ".")
    print_unrecognised(profile)
    for note in profile.notes:
        out.print(f"Note: {note}")
    if hidden:
        out.print(f"Invalid ages ({profile.age_source}) are counted by reason; add "
                  "--list-invalid-values to see each value (personal data).")


def print_unrecognised(profile: Profile) -> None:
    """Each unrecognised code in full, one to a line, ready to paste under ``values:`` in
    a mapping file (the table wraps long values; these lines are never cut)."""
    from eqia.settings import characteristics as chars

    keys = [k for k in chars.keys() if k != "age" and profile.is_collected(k)
            and profile.invalid(k)]
    if not keys:
        return
    out.print("Unrecognised codes, in full: to count them, copy these lines under 'values:' "
              "in a mapping file and write each one's standard category after the colon "
              f"(eqia map suggest {profile.source} drafts the file):", markup=False)
    for key in keys:
        out.print(f"  {key}:", markup=False)
        for r in profile.invalid_values(key).itertuples():
            out.print(f"    {json.dumps(str(r.value), ensure_ascii=False)}:    # {r.count:,} "
                      f"row{'s' if r.count != 1 else ''}", markup=False)

"""``eqia baselines``: Census 2021 populations for every area in England and Wales."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table as RichTable

from eqia.agebands import parse_bands, parse_range
from eqia.census.areas import ENV_BASELINE_DIR, Area, find_area, list_areas
from eqia.cli.app import app, err, guarded, out
from eqia.cli.common import format_choice, pct, write_text
from eqia.errors import ErrorCode, UsageError

if TYPE_CHECKING:
    from eqia.census import baselines as bl

baselines_app = typer.Typer(
    name="baselines",
    help="Census 2021 baselines: list areas, show an area's population, import Nomis tables.",
    no_args_is_help=True,
)
app.add_typer(baselines_app, name="baselines")


class AreaType(str, Enum):
    ltla = "ltla"
    utla = "utla"
    region = "region"
    country = "country"
    england_and_wales = "england_and_wales"


ShowFormat = format_choice("ShowFormat", ("table", "csv"))


DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help=f"User baseline directory (default: ${ENV_BASELINE_DIR} or "
                 "~/.config/eqia/baselines).", file_okay=False),
]


@baselines_app.command("list")
@guarded
def list_command(
    area_type: Annotated[
        AreaType | None,
        typer.Option("--type", "-t", help="Only this type: ltla (districts), utla (counties "
                     "and unitaries), region, country."),
    ] = None,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ShowFormat.table
    ),
    baseline_dir: DirOpt = None,
) -> None:
    """List the areas with a Census 2021 baseline.

    Example: eqia baselines list --type ltla
    """
    from eqia.spreadsheet import to_csv

    areas = list_areas(area_type.value if area_type else None, baseline_dir=baseline_dir)
    if fmt is ShowFormat.csv:
        write_text(None, to_csv(areas))
        return
    table = RichTable(title=f"{len(areas)} areas", title_justify="left")
    for col in ("code", "name", "type", "county", "region", "country"):
        table.add_column(col)
    for row in areas.itertuples(index=False):
        table.add_row(row.code, row.name, row.type, row.utla, row.region, row.country)
    out.print(table)


@baselines_app.command("show")
@guarded
def show_command(
    area: Annotated[str, typer.Argument(help="Area name or ONS code, e.g. Kent or E10000016.",
                                        show_default=False)],
    characteristic: Annotated[
        str | None,
        typer.Option("--characteristic", "-c",
                     help="One characteristic, e.g. ethnicity, ethnicity_detailed, sex, age."),
    ] = None,
    ages: Annotated[
        str | None,
        typer.Option("--ages", help="Eligible ages, e.g. 18- (18 and over) or 18-64."),
    ] = None,
    bands: Annotated[
        str | None, typer.Option("--bands", help="Age bands for age, e.g. 0-17,18-64,65+."),
    ] = None,
    fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ShowFormat.table
    ),
    baseline_dir: DirOpt = None,
) -> None:
    """Show an area's resident population for each protected characteristic.

    Example: eqia baselines show Kent --characteristic ethnicity --format csv
    """
    from eqia.census import baselines as bl
    from eqia.spreadsheet import to_csv

    age_range = parse_range(ages)
    band_list = parse_bands(bands) if bands else None
    keys = [characteristic.strip().lower().replace(" ", "_")] if characteristic else None
    if band_list and keys and keys != ["age"]:
        raise UsageError("--bands applies to age only", code=ErrorCode.OPTION_MISMATCH,
                         hint=f"Leave out --bands for {characteristic}, or use "
                              "--characteristic age.")
    area_obj = find_area(area, baseline_dir=baseline_dir)
    results = bl.area_profile(area_obj, keys, ages=age_range, bands=band_list,
                              baseline_dir=baseline_dir)
    if fmt is ShowFormat.csv:
        frame = bl.profile_table(results)
        frame["share"] = frame["share"].astype(float).round(6)
        write_text(None, to_csv(frame))
        return
    _print_area(area_obj)
    for b in results:
        _print_baseline(b)


def _print_area(area: Area) -> None:
    within = ", ".join(p for p in (area.utla, area.region, area.country) if p)
    out.print(f"[bold]{area.name}[/] ({area.code}): {area.kind}" + (f", in {within}" if within
                                                                       else ""))
    out.print("Census 2021 usual residents, 21 March 2021.\n")


def _print_baseline(b: bl.Baseline) -> None:
    from eqia.census.tables import SHIPPED_SOURCE

    if not b.available:
        out.print(f"[bold]{b.name}[/]")
        out.print(f"  {b.reason}\n", markup=False)
        return
    title = f"{b.table} {b.title or ''}" if str(b.table).startswith("TS") else b.table
    table = RichTable(
        title=f"{b.name}: Census 2021 {title}".rstrip(), title_justify="left",
        caption=f"Base: {b.base}, {b.total:,} people."
        + (" Shares are of those who answered." if b.unknown_label else ""),
        caption_justify="left",
    )
    table.add_column("Category")
    table.add_column("People", justify="right")
    table.add_column("Share", justify="right")
    if b.estimated:
        table.add_column("Estimated")
    for row in b.counts.itertuples(index=False):
        mark = ["yes" if row.category in b.estimated else ""] if b.estimated else []
        table.add_row(row.category, f"{int(row.count):,}", pct(row.share), *mark)
    if b.unknown_label:
        table.add_row(b.unknown_label, f"{b.unknown:,}", "", *([""] if b.estimated else []),
                      style="dim")
    out.print(table)
    notes = [b.age_note] if b.age_note else []
    if b.estimated:
        notes.append(f"Estimated, not published: from {b.method}.")
    if b.source != SHIPPED_SOURCE:
        notes.append(f"Source: {b.source}.")
    for text in [*notes, *b.caveats]:
        out.print(f"  - {text}", markup=False)
    out.print()


@baselines_app.command("import")
@guarded
def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="Nomis bulk Census 2021 CSVs, e.g. census2021-ts021-ltla.csv.",
                       exists=True, dir_okay=False, readable=True, show_default=False),
    ],
    baseline_dir: DirOpt = None,
) -> None:
    """Import Nomis Census 2021 tables; eqia then uses them instead of its own copy.

    Example: eqia baselines import census2021-ts021-ltla.csv census2021-ts021-utla.csv
    """
    from eqia.census.nomis import import_nomis

    for r in import_nomis(files, baseline_dir=baseline_dir):
        err.print(f"{Path(r.file).name}: {r.table} {r.title}, {r.areas} areas -> {r.directory}",
                  markup=False)
        if r.new_areas:
            err.print(f"  {len(r.new_areas)} areas new to eqia: {', '.join(r.new_areas[:10])}"
                      + (" ..." if len(r.new_areas) > 10 else ""), markup=False)
        if r.ignored_columns:
            err.print(f"  {len(r.ignored_columns)} columns not used (subtotals eqia does not "
                      "need).", markup=False)

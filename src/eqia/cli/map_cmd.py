"""``eqia map``: help with the mapping file (``map suggest`` drafts one from extracts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eqia.cli.app import app, err, guarded
from eqia.cli.common import HeaderRowOpt, MapOpt, SheetOpt, reading_mapping, write_text

map_app = typer.Typer(
    name="map",
    help="Help with the mapping file: draft one from your extracts.",
    no_args_is_help=True,
)
app.add_typer(map_app, name="map")


@map_app.command("suggest")
@guarded
def suggest_command(
    extracts: Annotated[list[Path], typer.Argument(
        help="One or more extracts (CSV, XLSX or Parquet) written by the same system.",
        show_default=False)],
    map_file: MapOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the draft mapping to this file (default: the screen).",
        dir_okay=False)] = None,
) -> None:
    """Draft a mapping file: each column matched and why, each value eqia does not
    recognise with its count and the closest standard category, for you to check.

    With --map, starts from your mapping: the draft keeps all it says and lists only what
    it leaves unrecognised.
    The draft lists values of coded columns only, never IDs or dates of birth.

    Example: eqia map suggest extract.csv --out mapping.yaml
    """
    from eqia.analysis import suggest as sg
    from eqia.outputs import check_folder

    if out_file is not None:
        check_folder(out_file.parent)
    mapping = reading_mapping(map_file, None, header_row)
    result = sg.suggest(extracts, mapping, sheet=sheet)
    write_text(out_file, sg.draft_yaml(result))
    proposed = sum(1 for v in result.values if v.means is not None)
    unmatched = len(result.values) - proposed
    summary = (f"{len(result.columns)} column{'s' if len(result.columns) != 1 else ''} matched; "
               f"{len(result.values)} unrecognised value{'s' if len(result.values) != 1 else ''}"
               f" ({proposed} with a proposed category, {unmatched} with no close match).")
    if out_file is not None:
        err.print(f"Wrote {out_file}: {summary} Check it, then use it with --map {out_file}.",
                  markup=False)
    else:
        err.print(summary, markup=False)

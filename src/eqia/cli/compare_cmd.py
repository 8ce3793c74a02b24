"""``eqia compare``: the service's users vs the area's population, with the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table as RichTable

from eqia.agebands import parse_range
from eqia.cli.app import app, guarded, out
from eqia.cli.common import (
    AgeBandsOpt,
    AsOfOpt,
    DayFirstOpt,
    DuplicatesOpt,
    HeaderRowOpt,
    MapOpt,
    PeriodOpt,
    ServiceOpt,
    SheetOpt,
    format_choice,
    format_option,
    needs_out,
    parse_as_of,
    pct,
    reading_mapping,
    service_name,
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
from eqia.outputs import atomic_write, check_folder

if TYPE_CHECKING:
    import pandas as pd

    from eqia.analysis.comparison import CharacteristicResult, Comparison
    from eqia.census.baselines import Baseline

#: Flags are coloured AND marked in words, so they survive a black-and-white printout.
FLAG_TEXT = {
    "under": "[bold magenta]▼ UNDER[/]",
    "over": "[bold cyan]▲ OVER[/]",
    "none": "none",
    "too_few": "too few",
    "no_census_category": "no census\ncategory",
    "outside_ages": "outside\nthe ages",
}


CompareFormat = format_choice("CompareFormat", ("table", "csv", "parquet", "json", "xlsx"))


AreaOpt = Annotated[
    str, typer.Option("--area", "-a", help="Area to compare with: name or ONS code, e.g. Kent.")
]
AgesOpt = Annotated[
    str | None,
    typer.Option("--ages", help="Eligible ages, e.g. 18- (adults) or 65- (older people)."),
]
RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="YAML file overriding the flag thresholds.")
]


@app.command("compare")
@guarded
def compare_command(
    area: AreaOpt,
    extract: OptionalExtractArg = None,
    ages: AgesOpt = None,
    map_file: MapOpt = None,
    rules: RulesOpt = None,
    as_of: AsOfOpt = None,
    sheet: SheetOpt = None,
    dayfirst: DayFirstOpt = None,
    header_row: HeaderRowOpt = None,
    age_bands: AgeBandsOpt = None,
    allow_duplicates: DuplicatesOpt = False,
    fmt: format_option(CompareFormat, "Output format: table (the screen), a tidy table (csv, "
                       "parquet or json) or an xlsx workbook.") = CompareFormat.table,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write compare.csv (or "
                                  ".parquet, .json, .xlsx) to (default: csv and json on the "
                                  "screen).")
    ] = None,
    service: ServiceOpt = None,
    period: PeriodOpt = None,
    comparator: Annotated[
        list[str] | None,
        typer.Option(
            "--comparator", metavar="CHARACTERISTIC=FILE",
            help="Compare one characteristic with your own population instead of the census, "
            "e.g. ethnicity=eligible.csv (a CSV of category,count or category,share). "
            "Repeatable.",
        ),
    ] = None,
    db: DbOpt = None,
    table: TableOpt = None,
    query: QueryOpt = None,
    password_prompt: PasswordPromptOpt = False,
) -> None:
    """Is each group under- or over-represented among the service's users?

    Example: eqia compare examples/mh_support_extract.csv --area Kent --ages 18-
    """
    from eqia.analysis.compare import compare
    from eqia.analysis.profiling import profile_file
    from eqia.census.areas import find_area
    from eqia.documents.tidy import comparison_tidy
    from eqia.settings.rules import load_rules

    # Check the cheap arguments before reading the extract, so a typo fails at once.
    age_range = parse_range(ages)
    rules_obj = load_rules(rules)
    area_obj = find_area(area)
    comparators = parse_comparators(comparator or [])
    needs_out(fmt.value, out_dir, f"eqia compare extract.csv --area Kent -f {fmt.value} "
              "--out out/")
    if fmt is CompareFormat.table and out_dir is not None:
        raise UsageError("--out needs --format csv, parquet, json or xlsx",
                         code=ErrorCode.OPTION_MISMATCH,
                         file=str(out_dir), hint="The table is printed on the screen; to save "
                         "the figures, add e.g. --format xlsx --out out/.")
    if out_dir is not None:
        check_folder(out_dir)
    source = extract_or_database(extract, db, table, query, password_prompt)
    profile = profile_file(
        source, reading_mapping(map_file, dayfirst, header_row), as_of=parse_as_of(as_of),
        sheet=sheet, age_bands=age_bands, allow_duplicates=allow_duplicates,
    )
    # An --as-of date says when the data are from (for the note on Census Day); today does not.
    result = compare(profile, area_obj, ages=age_range, rules=rules_obj, comparators=comparators,
                     data_date=parse_as_of(as_of) if as_of else None)
    keys = {"service": service_name(service, source, profile.source),
            "period": period or as_of or ""}
    if fmt is CompareFormat.xlsx:
        wrote(write_xlsx(result, out_dir / "compare.xlsx", **keys))
    elif fmt is not CompareFormat.table:  # full precision: every number round-trips
        tidy = comparison_tidy(result, **keys)
        path = out_dir / f"compare.{fmt.value}" if out_dir else None
        write_tidy(tidy, fmt.value, path)
        if path is not None:
            wrote(path)
    else:
        print_comparison(result)


def write_xlsx(result: Comparison, path: Path, service: str, period: str = "") -> Path:
    """Sheets: comparison (the csv columns, then the rest), characteristics, method."""
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from eqia.analysis.comparison import STATUS_TEXT
    from eqia.documents.tidy import with_keys
    from eqia.spreadsheet import save_workbook, write_frame

    summary = pd.DataFrame([
        {"characteristic": r.key, "name": r.name, "status": STATUS_TEXT[r.status],
         "reason": r.reason or "", "rows": r.rows, "known": r.known, "unknown": r.unknown,
         "not_stated": r.not_stated, "not_known": r.not_known, "invalid": r.invalid,
         "base": r.base, "census_table": r.table_id, "census_not_answered": r.baseline_unknown,
         "population": r.population, "age_adjusted": r.age_adjusted,
         "standardisation": r.standardisation or "",
         "baseline_estimated": "; ".join(r.estimated),
         "age_mismatch": r.age_mismatch, "age_confounded": r.age_confounded,
         "chi_square": (r.gof or {}).get("statistic"), "dof": (r.gof or {}).get("dof"),
         "p_value": (r.gof or {}).get("p_value"), "cohen_w": (r.gof or {}).get("cohen_w"),
         "test": (r.gof or {}).get("method"),
         "caveats": " ".join(r.caveats), "notes": " ".join(r.notes)}
        for r in result.results.values()
    ])
    wb = Workbook()
    wb.remove(wb.active)
    table = with_keys(result.table, area=result.area.name, service=service, period=period)
    for name, frame in (("comparison", table), ("characteristics", summary),
                        ("method", method_sheet(result))):
        ws = wb.create_sheet(name)
        write_frame(ws, frame)
        ws.freeze_panes = "A2"
        for i, col in enumerate(frame.columns, start=1):
            ws.cell(row=1, column=i).font = Font(bold=True)
            width = 100 if name == "method" and i == 2 else len(str(col)) + 2
            ws.column_dimensions[get_column_letter(i)].width = max(12, width)
    return atomic_write(path, lambda p: save_workbook(wb, p))


def method_sheet(result: Comparison) -> pd.DataFrame:
    """``item, detail`` rows: what was compared, how, with which settings, and the columns."""
    from dataclasses import fields

    import pandas as pd

    from eqia import __version__
    from eqia.analysis.comparison import COLUMN_TEXT

    area = result.area
    rows = [
        ("Extract", result.source),
        ("Rows", f"{result.rows:,}"),
        ("Area", f"{area.name} ({area.code})"),
        ("Eligible ages", str(result.ages) if result.ages else "all ages"),
        ("Made by", f"eqia {__version__}"),
    ]
    rows += [("Note", n) for n in result.notes]
    rows += [("Method", s.strip() + ("" if s.strip().endswith(".") else "."))
             for s in result.method.replace("e.g.", "e.g").split(". ") if s.strip()]
    rows += [(f"Rule: {f.name}", str(getattr(result.rules, f.name)))
             for f in fields(result.rules)]
    rows.append(("Rules", "Defaults and where they come from: eqia/data/rules.yaml "
                          "(override with --rules FILE)."))
    rows += [(f"Column: {c}", t) for c, t in COLUMN_TEXT.items() if c in result.table.columns]
    return pd.DataFrame(rows, columns=["item", "detail"])


def parse_comparators(items: list[str]) -> dict[str, Baseline]:
    """``["ethnicity=eligible.csv", ...]`` -> comparator baselines, checked before any reading."""
    from eqia.census.comparators import comparator_from_file

    found: dict[str, Baseline] = {}
    for item in items:
        key, sep, path = item.partition("=")
        if not sep or not key.strip() or not path.strip():
            raise UsageError(f"--comparator '{item}' is not CHARACTERISTIC=FILE",
                             code=ErrorCode.BAD_COMPARATOR, value=item,
                             hint="Example: --comparator ethnicity=eligible_population.csv")
        if key.strip() in found:
            raise UsageError(f"--comparator names {key.strip()} twice", code=ErrorCode.BAD_COMPARATOR,
                             value=item, hint="Give one comparator file per characteristic.")
        found[key.strip()] = comparator_from_file(path.strip(), key.strip())
    return found


def print_comparison(result: Comparison) -> None:
    from eqia.analysis.comparison import STATUS_TEXT
    from eqia.analysis.stats import family_text
    from eqia.settings.characteristics import ETHNICITY_DETAILED

    area = result.area
    ages = f", ages {result.ages}" if result.ages else ""
    out.print(f"[bold]{result.source}[/] vs [bold]{area.name}[/] ({area.code}) Census 2021"
              f"{ages}: {result.rows:,} rows\n")
    for note in result.notes:
        out.print(f"Note: {note}\n")
    for key, r in result.results.items():
        if key == ETHNICITY_DETAILED and r.status == "not_collected":
            continue  # said once, under ethnicity
        if r.status == "not_collected":
            out.print(f"[bold]{r.name}[/]: not collected in the extract, so not compared.\n")
            continue
        if r.status == "no_baseline":
            out.print(f"[bold]{r.name}[/]: not compared: {r.reason or STATUS_TEXT[r.status]}\n")
            continue
        if r.status == "no_known":
            out.print(f"[bold]{r.name}[/]: too few to tell: {r.reason}")
        else:
            _print_table(result, key, r)
        _print_footer(r)
    out.print(
        "[bold]Flags[/]: ▼ UNDER / ▲ OVER = fewer / more users than expected from the area's "
        f"population (not better or worse), allowing for the number of groups compared "
        f"({family_text(result.rules)}); p = that allowance's adjusted p-value; 95% or 99.8% "
        "= the strictest level at which the group's own interval excludes the baseline; "
        "signal = the group's own 95% test differs but not once the other groups are allowed "
        "for (a screening signal, not a finding); too few = fewer than "
        f"{result.rules.min_expected:g} expected. Users (expected): the service's users in the "
        "group and how many it would have if they matched the area. Missing data: the share "
        "of the people with an unknown value who would have to be in the group for the flag "
        "to go (≤: at most that share), and whether that is plausible."
    )
    out.print("[bold]Method[/]: " + result.method.replace("\n", " "))


def _print_table(result: Comparison, key: str, r: CharacteristicResult) -> None:
    """One characteristic's rows: users (expected), share, area share, ratio, flag and
    what missing data could do; the crude ratios under an age-adjusted table."""
    from rich import box

    from eqia.render.comparison_cells import (
        flag_cell,
        missing_cell,
        number,
        ratio_cell,
        share_cell,
    )

    rows = result.headline(key)
    adj = " (age-adjusted)" if r.age_adjusted else ""
    table = RichTable(title=f"{r.name}{adj}", title_justify="left", title_style="bold",
                      box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for col, just in (("Category", "left"), ("Users\n(expected)", "right"),
                      ("Share\n(95% CI)", "right"), ("Area\nshare", "right"),
                      ("Ratio\n(95% CI)", "right"), ("Flag", "left"),
                      ("Missing\ndata", "left")):
        table.add_column(col, justify=just, overflow="fold",
                         no_wrap=col != "Category", min_width=10 if col == "Category"
                         else None)
    for _, row in rows.iterrows():
        users = f"{int(row['service_count']):,}"
        if row["flag"] in ("no_census_category", "outside_ages"):
            table.add_row(str(row["category"]), users, "", "", "",
                          FLAG_TEXT[row["flag"]], "")
            continue
        users += f"\n({number(row['expected'], '{:,.1f}')})"
        area_share = pct(row["baseline_share"]) + (
            "\nestimated" if row["baseline_estimated"] else "")
        table.add_row(str(row["category"]), users, share_cell(row), area_share,
                      ratio_cell(row), flag_cell(row, FLAG_TEXT), missing_cell(row))
    out.print(table)
    if r.age_adjusted:
        crude = result.table[(result.table["characteristic"] == key)
                             & ~result.table["age_adjusted"].astype(bool)
                             & result.table["flag"].isin(["under", "over", "none",
                                                          "too_few"])]
        parts = [f"{c['category']} {ratio_cell(c).replace(chr(10), ' ')} "
                 f"{c['flag']}{' ' + c['strength'] if c['strength'] else ''}"
                 for _, c in crude.iterrows()]
        out.print("  Crude (not age-adjusted), for comparison: " + "; ".join(parts) + ".")


def _print_footer(r: CharacteristicResult) -> None:
    """Known, unknown and invalid; the test of the whole mix; the population compared
    with; the notes."""
    import numpy as np

    from eqia.analysis.stats import p_text

    out.print(
        f"  Known for {r.known:,} of {r.rows:,} ({pct(r.known_share, 0)}); unknown "
        f"{r.unknown:,} ({r.not_stated:,} not stated, {r.not_known:,} not known), invalid "
        f"{r.invalid:,}."
    )
    if r.gof and np.isfinite(r.gof["p_value"]):
        out.print(f"  Whole mix: {r.gof['method']}, chi-square {r.gof['statistic']:.1f} on "
                  f"{r.gof['dof']} df, {p_text(r.gof['p_value'])}, Cohen's w = "
                  f"{r.gof['cohen_w']:.2f}.")
    elif r.gof:
        out.print(f"  Whole mix: {r.gof['method']}.")
    census = (f"  Compared with {r.population}: Census 2021 {r.table_id}" if r.table_id
              else f"  Compared with {r.population}")
    if r.baseline_unknown:
        census += (f"; {r.baseline_unknown:,} of {r.baseline_total:,} did not answer and "
                   "are left out of the shares")
    out.print(census + ".")
    for note in r.notes + r.caveats:
        out.print(f"  Note: {note}")
    out.print("")

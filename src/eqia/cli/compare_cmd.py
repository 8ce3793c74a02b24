"""``eqia compare``: the service's users vs the area's population, with the numbers."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table as RichTable

from eqia.cli.app import app, guarded, out
from eqia.cli.common import (
    AgeBandsOpt,
    AsOfOpt,
    DuplicatesOpt,
    ExtractArg,
    MapOpt,
    SheetOpt,
    parse_as_of,
    pct,
    write_text,
)
from eqia.compare import STATUS_TEXT, Comparison, compare
from eqia.errors import UsageError
from eqia.profile import profile_file

FLAG_TEXT = {
    "under": "[bold magenta]▼ LOWER[/]",
    "over": "[bold cyan]▲ HIGHER[/]",
    "none": "no difference",
    "too_few": "too few to tell",
    "no_census_category": "no census category",
}


class CompareFormat(str, Enum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"


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
    extract: ExtractArg,
    area: AreaOpt,
    ages: AgesOpt = None,
    map_file: MapOpt = None,
    rules: RulesOpt = None,
    as_of: AsOfOpt = None,
    sheet: SheetOpt = None,
    age_bands: AgeBandsOpt = None,
    allow_duplicates: DuplicatesOpt = False,
    fmt: Annotated[CompareFormat, typer.Option("--format", "-f", help="Output format.")] = (
        CompareFormat.table
    ),
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder to write compare.csv / compare.xlsx to.")
    ] = None,
) -> None:
    """Is each group under- or over-represented among the service's users?

    Example: eqia compare examples/mh_support_extract.csv --area Kent --ages 18-
    """
    profile = profile_file(
        extract, map_file, as_of=parse_as_of(as_of), sheet=sheet, age_bands=age_bands,
        allow_duplicates=allow_duplicates,
    )
    result = compare(profile, area, ages=ages, rules=rules)
    if fmt is CompareFormat.csv:
        text = result.csv_table().to_csv(index=False, float_format="%.6g")
        write_text(out_dir / "compare.csv" if out_dir else None, text)
    elif fmt is CompareFormat.xlsx:
        if out_dir is None:
            raise UsageError("--format xlsx needs --out FOLDER", code="missing-option",
                             hint="Example: eqia compare extract.csv --area Kent -f xlsx --out out/")
        path = write_xlsx(result, out_dir / "compare.xlsx")
        out.print(f"Wrote {path}")
    else:
        print_comparison(result)


def write_xlsx(result: Comparison, path: Path) -> Path:
    from openpyxl.utils import get_column_letter

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.xlsx")
    summary = pd.DataFrame([
        {"characteristic": r.key, "name": r.name, "status": STATUS_TEXT[r.status],
         "rows": r.rows, "known": r.known, "not_stated": r.not_stated, "not_known": r.not_known,
         "invalid": r.invalid, "base": r.base, "census_table": r.table_id,
         "age_adjusted": r.age_adjusted,
         "chi_square": (r.gof or {}).get("statistic"), "p_value": (r.gof or {}).get("p_value"),
         "cohen_w": (r.gof or {}).get("cohen_w"), "test": (r.gof or {}).get("method"),
         "caveats": " ".join(r.caveats), "notes": " ".join(r.notes)}
        for r in result.results.values()
    ])
    method = pd.DataFrame({"method": result.method.split("\n")})
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        result.table.to_excel(writer, sheet_name="comparison", index=False)
        summary.to_excel(writer, sheet_name="characteristics", index=False)
        method.to_excel(writer, sheet_name="method", index=False)
        for ws in writer.book.worksheets:
            ws.freeze_panes = "A2"
            for i, col in enumerate(ws.iter_cols(min_row=1, max_row=1), start=1):
                ws.column_dimensions[get_column_letter(i)].width = max(12, len(str(col[0].value)) + 2)
    tmp.replace(path)
    return path


def _ratio(row: pd.Series) -> str:
    if pd.isna(row["ratio"]):
        return ""
    return f"{row['ratio']:.2f} ({row['ratio_low']:.2f}-{row['ratio_high']:.2f})"


def print_comparison(result: Comparison) -> None:
    area = result.area
    ages = f", ages {result.ages}" if result.ages else ""
    out.print(f"[bold]{result.source}[/] vs [bold]{area.name}[/] ({area.code}){ages}: "
              f"{result.rows:,} rows\n")
    for key, r in result.results.items():
        if r.status in ("not_collected", "no_baseline"):
            out.print(f"[bold]{r.name}[/]: {STATUS_TEXT[r.status]}. {r.reason or ''}\n")
            continue
        rows = result.headline(key)
        adj = " (age-adjusted)" if r.age_adjusted else ""
        table = RichTable(title=f"{r.name}{adj}", title_justify="left", title_style="bold")
        for col, just in (("Category", "left"), ("Service n", "right"),
                          ("Service % (95% CI)", "right"), (f"{area.name} %", "right"),
                          ("Ratio (95% CI)", "right"), ("Flag", "left"), ("Robust to missing", "left")):
            table.add_column(col, justify=just)
        for _, row in rows.iterrows():
            if row["flag"] == "no_census_category":
                table.add_row(str(row["category"]), f"{int(row['service_count']):,}", "", "", "",
                              FLAG_TEXT["no_census_category"], "")
                continue
            share = f"{pct(row['service_share'])} ({pct(row['ci_low'])}-{pct(row['ci_high'])})"
            flag = FLAG_TEXT.get(row["flag"], row["flag"])
            if row["strength"]:
                flag += f" [{row['strength']}]"
            robust = "" if row["flag"] in ("none", "too_few") else (
                "yes" if row["robust_to_missing"] else "NO")
            table.add_row(str(row["category"]), f"{int(row['service_count']):,}", share,
                          pct(row["baseline_share"]), _ratio(row), flag, robust)
        out.print(table)
        out.print(
            f"  Known for {r.known:,} of {r.rows:,} ({pct(r.known_share, 0)}); unknown {r.unknown:,} "
            f"({r.not_stated:,} not stated, {r.not_known:,} not known), invalid {r.invalid:,}."
        )
        if r.gof:
            out.print(f"  {r.gof['method']}: statistic {r.gof['statistic']:.1f}, "
                      f"p = {r.gof['p_value']:.3g}, Cohen's w = {r.gof['cohen_w']:.2f}.")
        out.print(f"  Census base: {r.base} ({r.table_id}).")
        for note in r.notes + r.caveats:
            out.print(f"  Note: {note}")
        out.print("")
    out.print("[bold]Method[/]: " + result.method.replace("\n", " "))

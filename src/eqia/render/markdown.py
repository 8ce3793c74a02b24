"""The Markdown document: the same content as the Word and HTML ones, for wikis, Git
and plain-text review. Charts are separate PNG files referred to by relative path."""

from __future__ import annotations

import shutil
from pathlib import Path

import eqia.render._jinja as _jinja


def render_markdown(ctx: dict, charts: dict[str, str | tuple[str, str]],
                    templates_dir: str | Path | None = None) -> str:
    """``charts`` maps a Part 2 key to (relative image path, alt text)."""
    for c in ctx["part2"]:
        found = charts.get(c["key"])
        c["chart_image"], c["chart_alt"] = (str(found[0]), found[1]) if found else (None, None)
    env = _jinja.environment(templates_dir, autoescape=False)
    env.filters["mdtext"] = _jinja.FILTERS["mdcell"]
    return _jinja.render_text(env, _jinja.MD_TEMPLATE, ctx)


def write(ctx: dict, stage, basename: str, charts: dict[str, tuple[Path, str]],
          templates_dir: str | Path | None = None) -> None:
    """``basename.md`` into the staged folder, its charts in ``basename_charts/``."""
    folder = f"{basename}_charts"
    rel = {k: (f"{folder}/{Path(p).name}", alt) for k, (p, alt) in charts.items()}
    stage.write_text(f"{basename}.md", render_markdown(ctx, rel, templates_dir))
    if charts:
        staged_dir = stage.path(folder)
        staged_dir.mkdir()
        for p, _alt in charts.values():
            shutil.copy2(p, staged_dir / Path(p).name)

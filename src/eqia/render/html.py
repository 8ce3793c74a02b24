"""The HTML document: one self-contained file (charts as data URIs), semantic markup
(headings, tables with caption and scoped headers, alt text), lang="en-GB", and CSS that
prints cleanly."""

from __future__ import annotations

import base64
from pathlib import Path

import eqia.render._jinja as _jinja


def render_html(ctx: dict, charts: dict[str, tuple[Path, str]],
                templates_dir: str | Path | None = None) -> str:
    for c in ctx["part2"]:
        found = charts.get(c["key"])
        if found:
            path, alt = found
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            c["chart_image"] = f"data:image/png;base64,{data}"
            c["chart_alt"] = alt
        else:
            c["chart_image"] = c["chart_alt"] = None
    env = _jinja.environment(templates_dir, autoescape=True)
    return _jinja.render_text(env, _jinja.HTML_TEMPLATE, ctx)


def write(ctx: dict, stage, basename: str, charts: dict[str, tuple[Path, str]],
          templates_dir: str | Path | None = None) -> None:
    """``basename.html`` into the staged folder."""
    stage.write_text(f"{basename}.html", render_html(ctx, charts, templates_dir))

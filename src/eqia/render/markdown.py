"""The Markdown document: the same content as the Word and HTML ones, for wikis, Git
and plain-text review. Charts are separate PNG files referred to by relative path."""

from __future__ import annotations

from pathlib import Path

from eqia.render import _jinja


def render_markdown(ctx: dict, charts: dict[str, str | tuple[str, str]],
                    templates_dir: str | Path | None = None) -> str:
    """``charts`` maps a Part 2 key to (relative image path, alt text)."""
    for c in ctx["part2"]:
        found = charts.get(c["key"])
        c["chart_image"], c["chart_alt"] = (str(found[0]), found[1]) if found else (None, None)
    env = _jinja.environment(templates_dir, autoescape=False)
    env.filters["mdtext"] = _jinja.FILTERS["mdcell"]
    return _jinja.render_text(env, _jinja.MD_TEMPLATE, ctx)

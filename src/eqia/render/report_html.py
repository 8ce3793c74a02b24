"""The annual report as one self-contained, semantic HTML page (charts embedded),
rendered from eqia's ``report.html.j2`` in the same sandboxed, strict Jinja2 environment
as the EqIA documents."""

from __future__ import annotations

import base64
from pathlib import Path

import eqia.render._jinja as _jinja
from eqia.outputs import atomic_write


def write(context: dict, charts: dict[str, bytes], tables: dict, path: str | Path) -> Path:
    """Write the page to ``path`` (``tables`` are the spreadsheet's; not used here)."""
    images = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii")
              for k, v in charts.items()}
    html = _jinja.render_own("report.html.j2", {**context, "charts": images})
    atomic_write(path, lambda p: p.write_text(html, encoding="utf-8"))
    return Path(path)

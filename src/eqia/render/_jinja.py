"""The sandboxed Jinja2 environment every renderer uses, and its error translation.

Templates may come from a council (``--templates DIR``), so they run in
``jinja2.sandbox.SandboxedEnvironment`` with ``StrictUndefined``: a misspelt or missing
value stops the render with a ``TemplateError`` naming it and the template, instead of
leaving a blank in a document that goes to a decision maker; anything the sandbox
refuses (``''.__class__`` and the like) is a ``TemplateError`` too.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from eqia.errors import TemplateError
from eqia.render import view  # noqa: I001

#: Template file names; a council's folder may hold any of them.
DOCX_TEMPLATE = "eqia_screening.docx"
HTML_TEMPLATE = "eqia_screening.html.j2"
MD_TEMPLATE = "eqia_screening.md.j2"

FILTERS: dict[str, Callable] = {
    "pct": view.pct,
    "count": view.count,
    "ci": view.ci,
    "ratio": view.ratio,
    "flag_text": view.flag_text,
    "paras": view.paras,
    "or_text": view.or_text,
    "mdcell": view.mdcell,
}


def packaged_templates():
    """The templates shipped with eqia (a Traversable: works from a wheel or a zip)."""
    return files("eqia") / "templates"


def find_template(name: str, templates_dir: str | Path | None) -> tuple[str, bytes]:
    """(where it was found, its bytes): the council's folder first, then eqia's own."""
    if templates_dir is not None:
        own = Path(templates_dir) / name
        if own.is_file():
            return str(own), own.read_bytes()
    packaged = packaged_templates() / name
    if packaged.is_file():
        return f"eqia/templates/{name}", packaged.read_bytes()
    raise TemplateError(
        f"Template {name} was not found", code="template-not-found",
        file=str(Path(templates_dir) / name) if templates_dir else name,
        hint="Copy it from eqia's templates folder, or leave --templates out to use eqia's own.",
    )


def environment(templates_dir: str | Path | None = None, *, autoescape: bool = False,
                text: bool = True) -> SandboxedEnvironment:
    """A sandboxed, strict environment loading from ``templates_dir`` then eqia's own.

    ``text`` turns on ``trim_blocks``/``lstrip_blocks`` (for HTML and Markdown, where block
    tags sit on lines of their own); docxtpl needs them off.
    """

    def load(name: str):
        where, data = find_template(name, templates_dir)
        return data.decode("utf-8-sig"), where, lambda: False

    env = SandboxedEnvironment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=text,
        lstrip_blocks=text,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def _line(exc: BaseException, where: str) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if lineno:
        return lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename in (where, "<template>")]
    return frames[-1].lineno if frames else None


def _missing_name(exc: jinja2.UndefinedError) -> str:
    """'foo' from "'foo' is undefined" or "'dict object' has no attribute 'foo'"."""
    msg = exc.message or ""
    if "has no attribute" in msg:
        return msg.rsplit("has no attribute", 1)[1].strip().strip("'\"")
    if msg.endswith("is undefined"):
        return msg[: -len("is undefined")].strip().strip("'\"")
    return msg


def translate(exc: BaseException, where: str, *, docx: bool = False) -> TemplateError:
    """Turn anything a template raised into a TemplateError naming the template.

    For a .docx the XML line number means nothing to a person, so the text around the
    problem (which docxtpl attaches as ``docx_context``) is given instead.
    """
    line = None if docx else _line(exc, where)
    at = f" (line {line})" if line else ""
    name_only = Path(where).name
    details = []
    if docx and getattr(exc, "docx_context", None):
        details = [f"near: {t.strip()}" for t in exc.docx_context if t.strip()][:4]
    if isinstance(exc, SecurityError):
        return TemplateError(
            f"Template {name_only}{at} tried something templates are not allowed to do: {exc}",
            code="unsafe-template", file=where, details=details,
            hint="Templates may only show the document's content; remove that expression "
                 "(names starting with '_' and Python internals are blocked).",
        )
    if isinstance(exc, jinja2.UndefinedError):
        missing = _missing_name(exc)
        return TemplateError(
            f"Template {name_only}{at} uses '{missing}', which is not in the document's content "
            f"({exc.message})", code="template-missing-value", file=where, value=None,
            details=details,
            hint="Check the spelling against the context schema in eqia.render, or guard it "
                 "with {% if ... is defined %}.",
        )
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(
            f"Template {name_only}{at} has a syntax error: {exc.message}",
            code="template-syntax", file=where, details=details,
            hint="Check that every {% ... %} block is closed and every {{ ... }} balanced.",
        )
    if isinstance(exc, TemplateError):
        return exc
    return TemplateError(
        f"Template {name_only}{at} failed to render: {type(exc).__name__}: {exc}",
        code="template-failed", file=where, details=details,
        hint="Check the expressions near that place in the template.",
    )


def render_text(env: SandboxedEnvironment, name: str, ctx: dict) -> str:
    """Load and render a text template, every failure as a TemplateError naming it."""
    where = name
    try:
        template = env.get_template(name)
        where = template.filename or name
        return template.render(ctx)
    except TemplateError:
        raise
    except Exception as exc:
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
            where = exc.filename
        raise translate(exc, where) from exc

"""The sandboxed Jinja2 environment every renderer uses, and its error translation.

Templates may come from a council (``--templates DIR``), so nothing a template can
reach is live. Three rules hold, and each one alone stops the known escapes:

* **Plain data only.** A template is rendered with dicts, lists, str, int, float, bool,
  None and dates, nothing else (``plain_data`` checks the whole context before every
  render; numpy scalars become Python numbers, anything else is a bug in eqia and
  stops the render). Charts reach the Word template as an inert marker string that
  ``eqia.render.docx`` replaces with the picture after rendering.
* **A sandbox that only knows those types.** ``PlainSandbox`` (an immutable
  ``jinja2.sandbox`` environment) reads attributes and calls methods of plain values
  and of Jinja's own loop, cycler, joiner, namespace and macros only; names starting
  with ``_`` are refused as always; ``str.format`` is sandboxed; repeating a string or
  list, or raising to a power, is capped so one line cannot exhaust memory.
* **No file outside the folder.** ``{% include %}``, ``{% import %}`` and
  ``{% extends %}`` take a relative name inside the templates folder (or eqia's own):
  absolute paths, drive letters, backslashes and ``..`` are refused, and so is a
  symbolic link that leads out of the folder.

``StrictUndefined``: a misspelt or missing value stops the render with a
``TemplateError`` naming it and the template, instead of leaving a blank in a document
that goes to a decision maker; anything the sandbox refuses is a ``TemplateError``
(``unsafe-template``) too.
"""

from __future__ import annotations

import datetime as dt
import traceback
import types
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import jinja2.filters
import jinja2.runtime
import jinja2.utils
import numpy as np
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

import eqia.render.view as view
from eqia import words
from eqia.errors import TemplateError

#: Template file names; a council's folder may hold any of them.
DOCX_TEMPLATE = "eqia_screening.docx"
HTML_TEMPLATE = "eqia_screening.html.j2"
MD_TEMPLATE = "eqia_screening.md.j2"

FILTERS: dict[str, Callable] = {
    "pct": words.percent,
    "count": words.count,
    "ci": view.ci,
    "ratio": words.ratio,
    "flag_text": view.flag_text,
    "paras": view.paras,
    "or_text": view.or_text,
    "mdcell": view.mdcell,
}


def packaged_templates():
    """The templates shipped with eqia (a Traversable: works from a wheel or a zip)."""
    return files("eqia") / "templates"


def check_name(name: str) -> str:
    """``name`` if it is a relative name inside a templates folder; otherwise an
    ``unsafe-template`` error (absolute paths, drive letters, backslashes, ``..``)."""
    parts = PurePosixPath(name).parts
    if (not name or "\\" in name or ":" in name or name.startswith("/")
            or any(p in ("..", ".") for p in name.split("/")) or not parts):
        raise TemplateError(
            f"A template asked for the file '{name}', which is not a file in its own folder",
            code="unsafe-template", file=name,
            hint="Templates may include, import or extend only other templates in the same "
                 "folder, by a relative name such as 'part.html.j2' (no '/' at the start, "
                 "no '..', no drive letter or backslash).")
    return name


def find_template(name: str, templates_dir: str | Path | None) -> tuple[str, bytes]:
    """(where it was found, its bytes): the council's folder first, then eqia's own."""
    check_name(name)
    if templates_dir is not None:
        folder = Path(templates_dir)
        own = folder / name
        if own.is_file():
            if not own.resolve().is_relative_to(folder.resolve()):
                raise TemplateError(
                    f"Template {name} is a link to a file outside the templates folder",
                    code="unsafe-template", file=str(own),
                    hint="Copy the file itself into the templates folder.")
            return str(own), own.read_bytes()
    packaged = packaged_templates().joinpath(*name.split("/"))
    if packaged.is_file():
        return f"eqia/templates/{name}", packaged.read_bytes()
    raise TemplateError(
        f"Template {name} was not found", code="missing-file",
        file=str(Path(templates_dir) / name) if templates_dir else name,
        hint="Copy it from eqia's templates folder, or leave --templates out to use eqia's own.",
    )


class NotPlainData(TypeError):
    """eqia tried to give a template something other than plain data (a bug, not the
    template's fault: it is never turned into a ``TemplateError``)."""


#: The only types a template's data is made of (exact types: a subclass may carry
#: methods that write files, as numpy's ``float64.tofile`` does).
PLAIN_SCALARS = (str, int, float, bool, type(None), dt.date, dt.datetime)


def plain_data(value: Any, path: str = "context") -> Any:
    """A copy of ``value`` made of plain data only (see the module docstring).

    numpy scalars become the Python numbers they hold and tuples become lists; anything
    else (a DataFrame, a template object, a function) raises ``NotPlainData`` naming
    where it is: it would give a template something live.
    """
    kind = type(value)
    if kind in PLAIN_SCALARS:
        return value
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) not in (str, int):
                raise NotPlainData(f"{path} has a key that is not text or a whole number "
                                   f"({type(k).__name__}): templates get plain data only")
            out[k] = plain_data(v, f"{path}.{k}")
        return out
    if kind in (list, tuple):
        return [plain_data(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return plain_data(value.item(), path)
    raise NotPlainData(f"{path} is a {kind.__module__}.{kind.__qualname__}: templates get "
                       "plain data only (dict, list, str, int, float, bool, None, dates)")


class PlainTemplate(jinja2.Template):
    """A template that renders plain data only, whoever calls it (docxtpl too)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        return super().render(plain_data(dict(*args, **kwargs)))

    def generate(self, *args: Any, **kwargs: Any):
        return super().generate(plain_data(dict(*args, **kwargs)))


#: Objects whose attributes a template may read and whose methods it may call: plain
#: data, and what Jinja itself makes while rendering (loops, macros, cyclers...).
_OWNERS = (*PLAIN_SCALARS, dict, list, tuple, range, Markup, jinja2.runtime.LoopContext,
           jinja2.runtime.BlockReference, jinja2.runtime.Macro, jinja2.utils.Cycler,
           jinja2.utils.Joiner, jinja2.utils.Namespace, jinja2.filters._GroupTuple)
_METHODS = (types.BuiltinMethodType, types.MethodType)
#: ``'x' * n`` and ``[..] * n`` longer than this, or ``a ** b`` with b above the cap,
#: are refused: one expression must not exhaust the memory or the processor.
MAX_REPEAT = 1_000_000
MAX_POWER = 1_000


class PlainSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, restricted to plain data (see the module docstring)."""

    template_class = PlainTemplate
    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return type(obj) in _OWNERS and super().is_safe_attribute(obj, attr, value)

    def is_safe_callable(self, obj: Any) -> bool:
        if not super().is_safe_callable(obj):
            return False
        if isinstance(obj, _METHODS):
            return type(getattr(obj, "__self__", None)) in _OWNERS
        if type(obj) in (jinja2.runtime.Macro, jinja2.runtime.BlockReference,
                         jinja2.utils.Joiner):
            return True
        wrapped = getattr(obj, "__wrapped__", None)  # the sandbox's own str.format
        if isinstance(wrapped, _METHODS) and wrapped.__name__ in ("format", "format_map"):
            return isinstance(getattr(wrapped, "__self__", None), str)
        return any(obj is g for g in self.globals.values())

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and right > MAX_POWER:
            raise SecurityError(f"a power above {MAX_POWER} is not allowed in a template")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and \
                        len(seq) * n > MAX_REPEAT:
                    raise SecurityError("repeating text or a list more than "
                                        f"{MAX_REPEAT:,} long is not allowed in a template")
        return super().call_binop(context, operator, left, right)


def environment(templates_dir: str | Path | None = None, *, autoescape: bool = False,
                text: bool = True) -> PlainSandbox:
    """A sandboxed, strict environment loading from ``templates_dir`` then eqia's own.

    ``text`` turns on ``trim_blocks``/``lstrip_blocks`` (for HTML and Markdown, where block
    tags sit on lines of their own); docxtpl needs them off.
    """

    def load(name: str):
        where, data = find_template(name, templates_dir)
        return data.decode("utf-8-sig"), where, lambda: False

    env = PlainSandbox(
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


def render_text(env: PlainSandbox, name: str, ctx: dict) -> str:
    """Load and render a text template, every failure as a TemplateError naming it."""
    where = name
    try:
        template = env.get_template(name)
        where = template.filename or name
        return template.render(ctx)
    except (TemplateError, NotPlainData):
        raise
    except Exception as exc:
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
            where = exc.filename
        raise translate(exc, where) from exc


def render_own(name: str, ctx: dict) -> str:
    """One of eqia's own HTML templates (the audit's, the report's), autoescaped, in the
    same sandbox as every other document."""
    return render_text(environment(None, autoescape=True), name, ctx)

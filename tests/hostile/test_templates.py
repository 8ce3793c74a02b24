"""Hostile templates: a council's ``--templates`` folder is run, not trusted.

Every case is an input (a template holding one expression or tag), the expected exit
code or error code, and proof that nothing happened outside the document: no command
ran (its marker file does not exist), no file was written, no file outside the
templates folder was read into the output.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest
from docx import Document

from eqia.errors import TemplateError
from eqia.render import _jinja, prepare, render_all
from eqia.render.docx import render_docx

from ..conftest import EXAMPLES, FIXTURES

SECRET = "THE-SECRET-CONTENTS"


@pytest.fixture(scope="module")
def context() -> dict:
    ctx = json.loads((FIXTURES / "screen_context.json").read_text(encoding="utf-8"))
    for c in ctx["part2"]:
        c["chart"] = None  # no matplotlib: these tests are about the template
    return ctx


def _tiny_png(path: Path) -> Path:
    """A 2 x 2 PNG, written with matplotlib's own image writer (no chart needed)."""
    import matplotlib.image

    matplotlib.image.imsave(path, np.zeros((2, 2, 3)))
    return path


def _docx_template(folder: Path, *lines: str) -> Path:
    doc = Document()
    for line in lines:
        doc.add_paragraph(line)
    folder.mkdir(parents=True, exist_ok=True)
    doc.save(str(folder / _jinja.DOCX_TEMPLATE))
    return folder


def _text_template(folder: Path, fmt: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = _jinja.HTML_TEMPLATE if fmt == "html" else _jinja.MD_TEMPLATE
    (folder / name).write_text(body, encoding="utf-8")
    return folder


def _render(context, tmp_path, fmt: str, body: str) -> TemplateError:
    """Render a one-expression template in ``fmt`` and return the error it must raise."""
    own = tmp_path / "tpl"
    if fmt == "docx":
        _docx_template(own, body)
    else:
        _text_template(own, fmt, body)
    out = tmp_path / "out"
    with pytest.raises(TemplateError) as info:
        render_all(context, out, "x", templates_dir=own, formats=(fmt,))
    assert not out.exists() or list(out.iterdir()) == []  # nothing written
    return info.value


# --- the escapes found in issue 13: live docxtpl objects in the Word template ------------

@pytest.mark.parametrize("expr", [
    # the live template re-rendered outside the sandbox, then a shell command in pass two
    "{{ c.chart_image.tpl.render({'x': \"{{ cycler.__init__.__globals__.os.popen('touch MARK') }}\"}) }}",
    "{{ c.chart_image.tpl.save('MARK') }}",
    "{{ c.chart_image.tpl.docx.save('MARK') }}",
    "{{ c.chart_image.image_descriptor }}",
])
def test_a_chart_in_the_word_template_gives_no_handle_on_docxtpl(context, tmp_path, expr):
    mark = tmp_path / "MARK"
    expr = expr.replace("MARK", str(mark))
    ctx = prepare(context)
    own = _docx_template(tmp_path / "tpl", "{%p for c in part2 %}",
                         "{%p if c.key == 'age' %}", expr, "{%p endif %}", "{%p endfor %}")
    charts = {"age": (_tiny_png(tmp_path / "age.png"), "Age chart")}
    with pytest.raises(TemplateError) as info:
        render_docx(ctx, tmp_path / "x.docx", charts, own)
    assert info.value.code in ("template-missing-value", "unsafe-template")
    assert not mark.exists() and not (tmp_path / "x.docx").exists()


@pytest.mark.slow
def test_the_cli_refuses_the_issue_13_word_template_and_writes_nothing(cli, tmp_path):
    """End to end, as a council would run it: exit 2, no document, no file, no command."""
    mark = tmp_path / "MARK"
    own = _docx_template(
        tmp_path / "tpl", "{%p for c in part2 %}", "{%p if c.chart_image %}",
        "{{ c.chart_image.tpl.save('" + str(tmp_path / "saved.docx") + "') }}",
        "{{ c.chart_image.tpl.render({'part2': []}) }}",
        "{%p endif %}", "{%p endfor %}")
    result = cli("screen", EXAMPLES / "mh_support_proposal.yaml", "--out", tmp_path / "out",
                 "--templates", own, "--format", "docx")
    assert result.exit_code == 2, result.output
    assert "[template-missing-value]" in result.stderr and "'tpl'" in result.stderr
    assert "This is a bug" not in result.stderr
    assert not (tmp_path / "saved.docx").exists() and not mark.exists()
    assert not (tmp_path / "out").exists()


def test_the_chart_reaches_the_word_template_as_inert_text_and_the_picture_follows(
        context, tmp_path):
    """The marker a template sees is a plain string; the picture and its alt text are
    put in its place after rendering, with the text around it kept."""
    seen = tmp_path / "seen"
    own = _docx_template(tmp_path / "tpl", "{%p for c in part2 %}", "{%p if c.chart_image %}",
                         "Before {{ c.chart_image }} after",
                         "Type: {{ c.chart_image is string }}",
                         "{%p endif %}", "{%p endfor %}")
    charts = {"age": (_tiny_png(tmp_path / "age.png"), "Age chart: 3 bars")}
    seen.mkdir()
    render_docx(prepare(context), seen / "x.docx", charts, own)
    doc = Document(str(seen / "x.docx"))
    texts = [p.text for p in doc.paragraphs]
    assert texts == ["Before  after", "Type: True"]
    (docpr,) = doc.element.body.iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr")
    assert (docpr.get("descr"), docpr.get("title")) == ("Age chart: 3 bars", "Chart: Age")


# --- the standard Jinja sandbox escapes, in every format ----------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "{{ lipsum.__globals__.os.popen('touch MARK').read() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ range.__init__.__globals__ }}",
    "{{ range(3).__class__ }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{{ '{0.__class__}'.format(proposal) }}",
    "{{ '{x.__class__}'.format_map({'x': grid}) }}",
    "{{ proposal|attr('__class__') }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ (grid|first).__class__.__init__ }}",
    "{{ grid.append(1) }}",
    "{{ proposal.update({'name': 'changed'}) }}",
    "{{ proposal.clear() }}",
    "{{ dict.fromkeys('ab') }}",
    "{{ cycler('a').__class__ }}",
    "{{ 'x' * 100000000 }}",
    "{{ [1] * 100000000 }}",
    "{{ 10 ** 100000000 }}",
]
UNDEFINED = ["{{ config.items() }}", "{{ request.application.__globals__ }}",
             "{{ get_flashed_messages.__globals__ }}", "{{ url_for.__globals__ }}"]


@pytest.mark.parametrize("fmt", ["md", "html", "docx"])
@pytest.mark.parametrize("expr", ESCAPES)
def test_sandbox_escapes_are_refused_in_every_format(context, tmp_path, fmt, expr):
    mark = tmp_path / "MARK"
    err = _render(context, tmp_path, fmt, expr.replace("MARK", str(mark)))
    # the first unsafe step is refused; a chain after it stops as undefined
    assert err.code in ("unsafe-template", "template-missing-value"), err.describe()
    assert "<class" not in err.describe() and "This is a bug" not in err.describe()
    assert not mark.exists()


@pytest.mark.parametrize("expr", UNDEFINED)
def test_names_other_template_systems_provide_are_simply_undefined(context, tmp_path, expr):
    err = _render(context, tmp_path, "md", expr)
    assert err.code == "template-missing-value"


def test_a_template_may_still_use_the_ordinary_jinja_tools(context, tmp_path):
    """The sandbox refuses internals, not templating: loops, macros, namespace, cycler,
    joiner, string methods, format, filters and the document's own data all work."""
    own = _text_template(tmp_path / "tpl", "md", (
        "{% macro row(r) %}{{ r.label|upper }}{% endmacro %}"
        "{% set ns = namespace(n=0) %}{% set c = cycler('odd', 'even') %}{% set j = joiner('/') %}"
        "{% for r in grid[:2] %}{% set ns.n = ns.n + 1 %}{{ j() }}{{ row(r) }}-{{ c.next() }}"
        "-{{ loop.index }}{% endfor %}|{{ ns.n }}|{{ '{:>4}'.format(proposal.name[:3]) }}"
        "|{{ proposal.name.split(' ')|length > 1 }}|{{ grid|map(attribute='key')|first }}"
        "|{{ range(3)|list }}|{{ meta.extracts|length }}|{{ dict(a=1).items()|list }}\n"))
    (path,) = render_all(context, tmp_path / "out", "x", templates_dir=own, formats=("md",))
    name = context["proposal"]["name"]
    assert path.read_text(encoding="utf-8") == (
        f"AGE-odd-1/DISABILITY-even-2|2| {name[:3]}|True|age|[0, 1, 2]|"
        f"{len(context['meta']['extracts'])}|[('a', 1)]\n")


# --- include, import and extends: nothing outside the templates folder --------------------

@pytest.fixture
def outside(tmp_path) -> Path:
    """A file next to the templates folder that a template must never read."""
    secret = tmp_path / "secret.j2"
    secret.write_text(SECRET, encoding="utf-8")
    return secret


@pytest.mark.parametrize("tag", [
    "{% include '/etc/passwd' %}",
    "{% include 'SECRET_ABS' %}",
    "{% include '../secret.j2' %}",
    "{% include 'sub/../../secret.j2' %}",
    "{% include './../secret.j2' %}",
    "{% include '..\\\\secret.j2' %}",
    "{% include 'C:/Windows/win.ini' %}",
    "{% include 'c:secret.j2' %}",
    "{% import '../secret.j2' as s %}{{ s }}",
    "{% from '../secret.j2' import x %}",
    "{% extends '../secret.j2' %}",
    "{% extends '/etc/passwd' %}",
    "{% include ['nope.j2', '../secret.j2'] %}",
])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_templates_cannot_load_files_outside_their_folder(context, tmp_path, outside, tag, fmt):
    err = _render(context, tmp_path, fmt, tag.replace("SECRET_ABS", str(outside)))
    assert err.code in ("unsafe-template", "missing-file"), err.describe()
    assert SECRET not in err.describe()


def test_a_word_template_cannot_include_a_file_outside_its_folder(context, tmp_path, outside):
    err = _render(context, tmp_path, "docx", "{% include '../secret.j2' %}")
    assert err.code == "unsafe-template"


def test_a_link_out_of_the_templates_folder_is_refused(context, tmp_path, outside):
    own = _text_template(tmp_path / "tpl", "md", "{% include 'part.j2' %}\n")
    try:
        os.symlink(outside, own / "part.j2")
    except OSError:
        pytest.skip("this system cannot make symbolic links")
    with pytest.raises(TemplateError) as info:
        render_all(context, tmp_path / "out", "x", templates_dir=own, formats=("md",))
    assert info.value.code == "unsafe-template" and SECRET not in info.value.describe()


def test_includes_inside_the_folder_still_work(context, tmp_path):
    own = _text_template(tmp_path / "tpl", "md",
                         "{% include 'parts/head.j2' %}{% include 'eqia_screening.md.j2' "
                         "if false else 'parts/head.j2' %}")
    (own / "parts").mkdir()
    (own / "parts" / "head.j2").write_text("# {{ proposal.name }}\n", encoding="utf-8")
    (path,) = render_all(context, tmp_path / "out", "x", templates_dir=own, formats=("md",))
    assert path.read_text(encoding="utf-8") == f"# {context['proposal']['name']}\n" * 2


# --- plain data only -------------------------------------------------------------------

def test_only_plain_data_reaches_a_template():
    data = {"a": [np.int64(3), np.float64(0.5), (1, "x")], "d": dt.date(2026, 3, 31),
            "t": dt.datetime(2026, 3, 31, 12), 4: None, "b": True}
    plain = _jinja.plain_data(data)
    assert plain == {"a": [3, 0.5, [1, "x"]], "d": dt.date(2026, 3, 31),
                     "t": dt.datetime(2026, 3, 31, 12), 4: None, "b": True}
    assert [type(v) for v in plain["a"][:2]] == [int, float]
    for live in (open, Path("x"), object(), {"x": {"y": [print]}}, {("k",): 1},
                 np.array([1, 2]), _jinja.environment()):
        with pytest.raises(_jinja.NotPlainData):
            _jinja.plain_data(live)


def test_a_live_object_in_the_context_stops_the_render_as_a_bug(context, tmp_path):
    """If eqia itself ever put a live object in the context, the render stops (a bug in
    eqia, never turned into a template error blaming the council's template)."""
    ctx = copy.deepcopy(context)
    ctx["meta"]["tool"] = Path("/")
    env = _jinja.environment(None)
    with pytest.raises(_jinja.NotPlainData, match=r"context\.meta\.tool"):
        _jinja.render_text(env, _jinja.MD_TEMPLATE, ctx)

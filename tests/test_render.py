"""The screening documents: what a reader (and a screen reader) finds in them.

The fixture is a Kent community mental health support service with all ten
characteristics, including one not collected (pregnancy and maternity), one mostly
unrecorded (religion), gender identity with its census caveat, and flagged rows.
Documents are checked by their extracted text and structure, never by bytes.
"""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from eqia.errors import TemplateError
from eqia.render import render_all
from eqia.render.charts import alt_text
from eqia.render.view import ci, flag_text
from eqia.words import percent as pct
from eqia.words import ratio

from .conftest import GRID_LABELS, NS_WP

FIXTURE = Path(__file__).parent / "fixtures" / "screen_context.json"


@pytest.fixture(scope="module")
def context() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rendered(context, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("out")
    paths = render_all(context, out, "mh-support")
    return {p.suffix.lstrip(".") or "charts": p for p in paths}


@pytest.fixture(scope="module")
def doc(rendered):
    return Document(str(rendered["docx"]))


def _table_starting(doc, first_header: str):
    return [t for t in doc.tables if t.rows[0].cells[0].text.strip() == first_header]


def _grid(doc):
    (grid,) = _table_starting(doc, "Characteristic")
    return grid


def _row_texts(table) -> list[list[str]]:
    return [[c.text.strip() for c in row.cells] for row in table.rows]


# --- the Word document --------------------------------------------------------------

@pytest.mark.slow
def test_render_all_writes_every_format_and_the_markdown_charts(rendered):
    assert set(rendered) == {"docx", "html", "md", "charts"}
    assert sorted(p.name for p in rendered["charts"].iterdir()) == sorted(
        f"{k}.png" for k in ["age", "disability", "sex", "gender_identity", "ethnicity",
                             "religion", "sexual_orientation", "marriage_civil_partnership",
                             "carers"])
    leftovers = [p.name for p in rendered["docx"].parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_grid_has_the_ten_characteristics_in_order(doc):
    rows = _row_texts(_grid(doc))
    assert len(rows) == 11
    assert [r[0] for r in rows[1:]] == GRID_LABELS


def test_grid_shows_the_officers_rating_first_and_the_data_suggestion_beside_it(doc, context):
    grid = _grid(doc)
    age_cell = grid.rows[1].cells[2]
    lines = [p.text for p in age_cell.paragraphs if p.text.strip()]
    assert lines[0] == "Officer: LOW (Negative)"
    assert lines[1] == "Suggested from data: MEDIUM (Negative)"
    assert lines[2].startswith("– 75 and over: 4.9% of service users")
    for i, row in enumerate(context["grid"], start=1):
        text = grid.rows[i].cells[2].text
        value = row["rating"]["value"]
        if row["officer"]["rating"]:
            assert text.startswith(f"Officer: {row['officer']['rating']}")
            assert "officer to confirm" not in text
        else:
            assert text.startswith(f"Suggested from data – officer to confirm: {value}")


def test_grid_marks_unanswered_officer_questions(doc):
    race = _row_texts(_grid(doc))[5]
    assert race[1] == "Officer to complete"
    assert race[2].startswith("Suggested from data – officer to confirm: MEDIUM (Negative)")
    assert "Asian, Asian British or Asian Welsh: 1.3%" in race[2]
    assert race[3] == ("a) Internal action: Officer to complete\n"
                       "b) Further assessment: Officer to complete")
    assert _row_texts(_grid(doc))[1][1].startswith("YES – Moving support to evening group")


def test_part2_tables_show_formatted_shares_intervals_ratios_and_flags_in_words(doc, context):
    tables = _table_starting(doc, "Category")
    compared = [c for c in context["part2"] if c["rows"]]
    assert len(tables) == len(compared) == 9
    for table, c in zip(tables, compared, strict=True):
        assert _row_texts(table)[0] == ["Category", "Service users (n)", "Service share",
                                        "95% CI", "Kent share", "Ratio", "Flag"]
        expected = [[r["category"], f"{r['service_count']:,}", pct(r["service_share"]), ci(r),
                     pct(r["baseline_share"]), ratio(r["ratio"]), flag_text(r)]
                    for r in c["rows"]]
        assert _row_texts(table)[1:] == expected
    ethnicity = _row_texts(tables[4])
    assert ethnicity[1] == ["Asian, Asian British or Asian Welsh", "35", "1.3%",
                            "1.0% to 1.8%", "4.4%", "0.30",
                            "Fewer than expected (strong evidence)"]


def test_part2_gives_completeness_unknowns_guidance_and_sentences(doc):
    text = "\n".join(p.text for p in doc.paragraphs)
    assert ("Sexual orientation is not recorded for 82% of the 3,012 people using the "
            "service (12 not stated, 2,470 not known)") in text
    assert "Not known (not asked or not recorded): 2,470" in text
    assert "Religion or belief is not recorded for 70% of the 3,012 people" in text
    assert "Guidance: Census 2021 does not measure pregnancy and maternity" in text
    assert "Guidance: The protected characteristic is gender reassignment." in text
    assert ("Asian, Asian British or Asian Welsh: 1.3% of service users with a known "
            "ethnicity") in text


def test_document_keeps_the_kent_order_of_sections(doc):
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    top = [h for h, p in zip(headings, [p for p in doc.paragraphs
                                        if p.style.name.startswith("Heading")], strict=True)
           if p.style.name in ("Heading 1", "Heading 2")]
    assert top == [
        "Equality Analysis / Impact Assessment (EqIA)", "Version history", "Screening Grid",
        "Part 1: Initial screening", "Part 2: Information and data",
        "Part 3: Involvement and engagement", "Part 4: Potential impact", "Judgement",
        "Action plan", "Monitoring and review", "Sign off", "About this document",
    ]
    h3 = [p.text for p in doc.paragraphs if p.style.name == "Heading 3"]
    assert h3[:3] == ["Context", "Aims and objectives", "Beneficiaries"]
    assert h3[3:] == ["Age", "Disability", "Sex", "Gender identity", "Ethnicity",
                      "Religion or belief", "Sexual orientation", "Pregnancy and maternity",
                      "Marriage and civil partnership", "Carers"]


def test_header_block_versions_judgement_actions_and_about(doc):
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Directorate: Adult Social Care and Health" in text
    # no date and no option chosen yet: the header says it follows the judgement
    assert "Date of full EqIA: Not yet decided: it follows the officer's judgement" in text
    assert "What is changing: Not stated in the proposal file" in text
    (versions,) = _table_starting(doc, "Version")
    assert _row_texts(versions)[2] == ["V2", "Jane Okafor", "24 November 2026",
                                       "Officer ratings added after review & engagement"]
    assert "Option 2 – Internal action required – SUGGESTED FROM DATA" in text
    assert "Officer's judgement: The officer has not yet chosen an option." in text
    (actions,) = _table_starting(doc, "Issue")
    assert len(actions.rows) == 5
    assert actions.rows[1].cells[0].text.endswith("Suggested from data")
    assert _row_texts(actions)[4][3:] == ["Jane Okafor", "From April 2027",
                                          "Within contract value"]
    assert "Service data: mh_support_extract.csv (3,012 rows)." in text
    assert "Population figures: ONS Census 2021 (TS002" in text


def test_every_table_has_a_repeating_header_row_and_no_merged_cells(doc):
    tables = list(doc.element.body.iter(qn("w:tbl")))
    assert len(tables) == 13
    for tbl in tables:
        rows = tbl.findall(qn("w:tr"))
        header = rows[0].find(qn("w:trPr")).find(qn("w:tblHeader"))
        assert header is not None and header.get(qn("w:val"), "true") in ("true", "1")
        assert not list(tbl.iter(qn("w:gridSpan")))
        assert not list(tbl.iter(qn("w:vMerge")))


def test_every_chart_has_alt_text_in_words(doc):
    pictures = list(doc.element.body.iter(f"{NS_WP}docPr"))
    assert len(pictures) == 9
    assert all(p.get("descr", "").startswith("Chart comparing") for p in pictures)
    assert all(p.get("title", "").startswith("Chart: ") for p in pictures)
    ethnicity = [p.get("descr") for p in pictures if p.get("title") == "Chart: Ethnicity"]
    assert ethnicity and ("Largest difference: Asian, Asian British or Asian Welsh 1.3% of "
                          "service users vs 4.4% of Kent residents.") in ethnicity[0]


def test_headings_title_and_language_are_set_for_assistive_technology(doc):
    assert doc.core_properties.title == ("Equality Impact Assessment: Community Mental Health "
                                         "Support Service: move to a hub-and-outreach model")
    assert doc.core_properties.language == "en-GB"
    lang = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(
        qn("w:rPr")).find(qn("w:lang"))
    assert lang.get(qn("w:val")) == "en-GB"
    assert doc.paragraphs[0].style.name == "Heading 1"


def test_internal_documents_say_so_on_every_page(doc):
    for section in doc.sections:
        assert "INTERNAL – NOT FOR PUBLICATION" in section.header.paragraphs[0].text
        assert "eqia 0.1.0" in section.footer.paragraphs[0].text
    assert doc.sections[1].orientation == 1  # the grid is landscape


def test_published_documents_carry_no_internal_banner(context, tmp_path):
    ctx = copy.deepcopy(context)
    ctx["meta"].update(mode="publish", not_for_publication=False)
    for c in ctx["part2"]:
        c["chart"] = None
    paths = render_all(ctx, tmp_path, "pub", formats=("docx", "md"))
    d = Document(str(paths[0]))
    assert all("INTERNAL" not in s.header.paragraphs[0].text for s in d.sections)
    assert "NOT FOR PUBLICATION" not in paths[1].read_text(encoding="utf-8")


def test_officers_judgement_is_shown_beside_the_suggestion(context, tmp_path):
    ctx = copy.deepcopy(context)
    ctx["judgement"].update(officer_option=3, officer_text="Consultation showed wider impact.")
    for c in ctx["part2"]:
        c["chart"] = None
    (md,) = render_all(ctx, tmp_path, "j", formats=("md",))
    text = md.read_text(encoding="utf-8")
    assert "- Option 2 – Internal action required **– SUGGESTED FROM DATA**" in text
    assert "- Option 3 – Full impact assessment **– CHOSEN BY THE OFFICER**" in text
    assert "**Officer’s judgement:** Consultation showed wider impact." in text


@pytest.mark.slow
def test_rendering_does_not_change_the_callers_context(context, tmp_path):
    before = copy.deepcopy(context)
    render_all(context, tmp_path, "x", formats=("md",))
    assert context == before


def test_committed_docx_template_matches_the_script(tmp_path):
    import importlib.util

    script = Path(__file__).parents[1] / "scripts" / "make_docx_template.py"
    spec = importlib.util.spec_from_file_location("make_docx_template", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.build()
    from importlib.resources import files

    committed = Document(str(files("eqia") / "templates" / "eqia_screening.docx"))
    assert fresh.element.xml == committed.element.xml


# --- HTML and Markdown -------------------------------------------------------------

class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_is_semantic_and_self_contained(rendered):
    html = rendered["html"].read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(html)
    tags = parser.tags
    assert ("html", {"lang": "en-GB"}) in tags
    names = [t for t, _ in tags]
    assert names.count("h1") == 1
    assert names.count("table") == names.count("caption") == names.count("thead") == 13
    assert all(a.get("scope") in ("col", "row") for t, a in tags if t == "th")
    imgs = [a for t, a in tags if t == "img"]
    assert len(imgs) == 9
    assert all(a["src"].startswith("data:image/png;base64,") for a in imgs)
    assert all(a["alt"].startswith("Chart comparing") for a in imgs)
    assert "INTERNAL – NOT FOR PUBLICATION" in html
    assert "Officer: LOW (Negative)" in html
    assert "Suggested from data – officer to confirm:</span> MEDIUM (Negative)" in html
    assert "review &amp; engagement" in html  # escaped


def test_markdown_has_the_grid_tables_and_chart_links(rendered):
    md = rendered["md"].read_text(encoding="utf-8")
    assert "| **Race** | Officer to complete | Suggested from data – officer to confirm: " \
           "MEDIUM (Negative)" in md
    assert ("| Asian, Asian British or Asian Welsh | 35 | 1.3% | 1.0% to 1.8% | 4.4% | 0.30 | "
            "Fewer than expected (strong evidence) |") in md
    assert "](mh-support_charts/ethnicity.png)" in md
    assert md.index("## Screening Grid") < md.index("## Part 1") < md.index("## Part 2") \
        < md.index("## Judgement") < md.index("## About this document")


def test_alt_text_names_the_largest_difference_in_figures(context):
    chart = next(c["chart"] for c in context["part2"] if c["key"] == "ethnicity")
    assert alt_text(chart, "Ethnicity", "Kent").endswith(
        "Largest difference: Asian, Asian British or Asian Welsh 1.3% of service users vs "
        "4.4% of Kent residents. The table gives every figure.")


# --- a council's own templates --------------------------------------------------------

@pytest.fixture
def small(context) -> dict:
    """The fixture without charts: the template tests need no matplotlib."""
    ctx = copy.deepcopy(context)
    for c in ctx["part2"]:
        c["chart"] = None
    return ctx


def test_own_templates_are_used_first_and_eqias_fill_the_gaps(small, tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "eqia_screening.md.j2").write_text(
        "# {{ proposal.name }}\n{% for row in grid %}{{ row.label }}: {{ row.rating.value }}\n"
        "{% endfor %}", encoding="utf-8")
    paths = render_all(small, tmp_path / "out", "own", templates_dir=own,
                       formats=("md", "html"))
    md = paths[0].read_text(encoding="utf-8")
    assert md.splitlines()[1:3] == ["Age: LOW", "Disability: LOW"]
    assert "<h2 id=\"grid\">Screening Grid</h2>" in paths[1].read_text(encoding="utf-8")


def test_missing_value_in_a_template_names_it_and_the_template(small, tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "eqia_screening.html.j2").write_text(
        "<p>{{ proposal.name }}</p>\n<p>{{ proposal.budget_code }}</p>\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.html").write_text("earlier run", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        render_all(small, out, "x", templates_dir=own, formats=("docx", "html"))
    err = info.value
    assert err.code == "template-missing-value"
    assert "'budget_code'" in str(err)
    assert "eqia_screening.html.j2" in str(err) and "(line 2)" in str(err)
    # nothing half-written: the docx rendered first was not moved into place either
    assert sorted(p.name for p in out.iterdir()) == ["old.html"]


def test_missing_value_in_a_word_template_names_it(small, tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    d = Document()
    d.add_paragraph("Budget: {{ proposal.budget_code }}")
    d.save(str(own / "eqia_screening.docx"))
    with pytest.raises(TemplateError) as info:
        render_all(small, tmp_path / "out", "x", templates_dir=own, formats=("docx",))
    assert "'budget_code'" in str(info.value)
    assert "eqia_screening.docx" in str(info.value)


@pytest.mark.parametrize("expr", [
    "{{ ''.__class__.__mro__ }}",
    "{{ proposal.__class__ }}",
    "{{ grid.__len__() }}",
])
def test_unsafe_template_expressions_are_refused(small, tmp_path, expr):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "eqia_screening.md.j2").write_text(f"# x\n{expr}\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        render_all(small, tmp_path / "out", "x", templates_dir=own, formats=("md",))
    assert info.value.code == "unsafe-template"
    assert "eqia_screening.md.j2" in str(info.value)


def test_template_syntax_errors_give_the_line(small, tmp_path):
    own = tmp_path / "tpl"
    own.mkdir()
    (own / "eqia_screening.md.j2").write_text("# x\n\n{% for row in grid %}\n",
                                              encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        render_all(small, tmp_path / "out", "x", templates_dir=own, formats=("md",))
    assert info.value.code == "template-syntax"
    assert "line" in str(info.value)


def test_numbers_protected_for_publication_are_shown_as_given():
    row = {"service_share": "[c]", "ci_low": None, "ci_high": None, "ratio": "[c]",
           "flag": "too_few", "strength": "", "missing_could_explain": None}
    assert (pct(row["service_share"]), ci(row), ratio(row["ratio"]), flag_text(row)) == (
        "[c]", "–", "[c]", "Too few to test")


def test_flag_text_says_strength_missing_data_and_screening_signals_in_words():
    assert flag_text({"flag": "under", "strength": "99.8%", "signal_95": "under",
                      "missing_could_explain": False}) == "Fewer than expected (strong evidence)"
    assert flag_text({"flag": "over", "strength": "95%", "signal_95": "over",
                      "missing_could_explain": True}) == (
        "More than expected; could be due to missing data")
    # A group's own 95% test differs but not once the other groups are allowed for.
    assert flag_text({"flag": "none", "strength": "95%", "signal_95": "under",
                      "missing_could_explain": None}) == (
        "In line (screening signal: fewer on this group's own test)")
    assert flag_text({"flag": "none", "strength": "", "signal_95": "none"}) == "In line"

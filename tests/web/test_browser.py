"""Both journeys in a real browser (the system's Chromium), with the keyboard alone, and
axe-core on every page they pass through.

The officer's journey ends with a Word document that must say exactly what ``eqia screen``
writes from the proposal and mapping files the pages let the officer download; the equality
lead's ends at the heatmap, whose shares are worked out here from ``eqia audit``'s counts.
"""

from __future__ import annotations

import io
import math
import shutil
import zipfile

import pandas as pd
import pytest
from docx import Document

pytestmark = pytest.mark.slow

#: A made-up eligible population (percentages), the comparator for ethnicity.
ELIGIBLE = {"White": 80, "Asian, Asian British or Asian Welsh": 8,
            "Black, Black British, Black Welsh, Caribbean or African": 5,
            "Mixed or Multiple ethnic groups": 4, "Other ethnic group": 3}


def check_axe(page) -> None:
    """axe-core (WCAG 2.0-2.2 A and AA rules, and best practice) finds no violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={
        "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "wcag22aa", "best-practice"]},
        "iframes": False,  # the document preview is checked on its own
    })
    found = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
             for v in results.response["violations"]]
    assert found == [], f"{page.url}: {found}"


def tab_to(page, selector: str, limit: int = 400) -> None:
    """Press Tab until ``selector`` has the focus: reachable by keyboard, in page order."""
    focused = "s => document.activeElement && document.activeElement.matches(s)"
    if page.evaluate(focused, selector):
        return
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(focused, selector):
            return
    raise AssertionError(f"{selector} was not reached with the Tab key on {page.url}")


def press(page, selector: str, key: str = "Enter") -> None:
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press(key)


def choose_files(page, selector: str, files) -> None:
    """Space on the focused file input opens the chooser (intercepted from the start:
    see the ``page`` fixture); the test goes on once the input holds the files."""
    tab_to(page, selector)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(files)
    page.wait_for_function("s => document.querySelector(s).files.length > 0", arg=selector)


def choose_option(page, selector: str, label: str) -> None:
    """Choose an option of a closed dropdown with the arrow keys, as a keyboard user can,
    until it is the one labelled ``label`` (typing its first letters would do too, but
    Chromium forgets typed letters after a second: not on a loaded machine)."""
    tab_to(page, selector)
    page.keyboard.press("Home")
    count = page.locator(f"{selector} option").count()
    for _ in range(count):
        if page.evaluate("s => document.querySelector(s).selectedOptions[0].text",
                         selector) == label:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{label!r} is not an option of {selector}")


def download(page, selector: str, folder) -> object:
    tab_to(page, selector)
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def docx_text(path) -> list[str]:
    doc = Document(path)
    text = [p.text for p in doc.paragraphs]
    text += [" | ".join(c.text for c in row.cells) for t in doc.tables for row in t.rows]
    for s in doc.sections:
        text += [p.text for p in (*s.header.paragraphs, *s.footer.paragraphs)]
    return text


def test_officer_journey_from_upload_to_the_word_document(live_server, page, example_files,
                                                          tmp_path, cli):
    page.goto(live_server.url + "/")
    check_axe(page)
    press(page, "#start-officer")

    # 1. Upload the extract, the mapping and the proposal.
    check_axe(page)
    choose_files(page, "#extract", example_files["extract"])
    tab_to(page, "#as_of")
    page.keyboard.press("Control+A")
    page.keyboard.type("2026-03-31")
    tab_to(page, "summary.govuk-details__summary")
    page.keyboard.press("Enter")  # open "I already have a mapping or proposal file"
    choose_files(page, "#mapping", example_files["mapping"])
    choose_files(page, "#proposal", example_files["proposal"])
    press(page, "#upload")

    # 2. The profile; map the two codes eqia did not recognise with their dropdowns.
    assert page.url.endswith("/officer/profile")
    check_axe(page)
    assert "3,012 rows" in page.inner_text("#profile-summary")
    assert "+ 3 invalid" in page.inner_text("#reconcile-ethnicity")
    assert "+ 6 invalid" in page.inner_text("#reconcile-religion")
    before = int(page.inner_text("#profile-ethnicity_detailed tr:has(th:text-is('White: Other White')) td")
                 .replace(",", ""))
    choose_option(page, "#value-ethnicity-0", "White: Other White")
    choose_option(page, "#value-religion-0", "Other religion")
    press(page, "#save-mapping")
    check_axe(page)
    assert "+ 0 invalid" in page.inner_text("#reconcile-ethnicity")
    assert "+ 0 invalid" in page.inner_text("#reconcile-religion")
    after = int(page.inner_text("#profile-ethnicity_detailed tr:has(th:text-is('White: Other White')) td")
                .replace(",", ""))
    assert after == before + 3
    mapping = download(page, "#download-mapping", tmp_path)
    text = mapping.read_text()
    assert "W9: 'White: Other White'" in text and "Jedi: Other religion" in text
    press(page, "#to-area")

    # 3. Area, ages and change come from the proposal file; the page says them back.
    check_axe(page)
    assert page.input_value("#area") == "Kent"
    assert page.input_value("#ages") == "18-"
    assert page.is_checked("#change-reduction") and page.is_checked("#change-relocation")
    # ... and the eligible population for ethnicity, instead of the census.
    eligible = tmp_path / "eligible.csv"
    pd.DataFrame({"category": list(ELIGIBLE), "share": list(ELIGIBLE.values())}).to_csv(
        eligible, index=False)
    tab_to(page, "#comparators summary")
    page.keyboard.press("Enter")
    choose_files(page, "#comparator-ethnicity", eligible)
    press(page, "#save-comparators")
    check_axe(page)
    assert "eligible.csv" in page.inner_text("#comparator-ethnicity-now")
    press(page, "#to-compare")

    # 4. The comparison, its sentences and charts; ethnicity against the file's shares.
    check_axe(page)
    assert "Kent (E10000016)" in page.inner_text("#compare-summary")
    assert page.locator("img.eqia-chart").count() >= 4
    white = page.locator("#compare-ethnicity tr:has(th:text-is('White')) td").all_inner_texts()
    assert white[2] == "80.0%"

    # The council's own flag rules: a wrong file gets the CLI's message by its field.
    strict, wrong = tmp_path / "strict.yaml", tmp_path / "wrong.yaml"
    strict.write_text("under_ratio: 0.95\nover_ratio: 1.05\n")
    wrong.write_text("under_ratio: 1.5\n")
    press(page, "#to-council")
    check_axe(page)
    choose_files(page, "#rules", wrong)
    press(page, "#save-council")
    check_axe(page)
    assert "under_ratio must be a ratio above 0 and at most 1" in page.inner_text(
        ".govuk-error-summary")
    tab_to(page, ".govuk-error-summary a[href='#rules']")  # the summary's link ...
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.id === 'rules'")  # ... to the field
    choose_files(page, "#rules", strict)
    press(page, "#save-council")
    assert page.url.endswith("/officer/compare")
    assert "flag rules (strict.yaml)" in page.inner_text("#council-rules")
    press(page, "#to-proposal")

    # 5. The screening questions, filled in from the proposal file; an action added.
    check_axe(page)
    assert page.input_value("#name") == "Community Mental Health Support Service redesign"
    assert page.input_value("#age-rating") == "MEDIUM"
    new = int(page.input_value("input[name='action-count']")) - 1  # the empty row
    tab_to(page, f"#action-{new}-issue")
    page.keyboard.type("Few Asian service users")
    tab_to(page, f"#action-{new}-action")
    page.keyboard.type("Outreach with the mosque and gurdwara")
    press(page, "#add-action")
    check_axe(page)
    assert page.input_value(f"#action-{new}-issue") == "Few Asian service users"
    assert page.locator(f"#action-{new + 1}-issue").count() == 1  # and an empty one again
    proposal = download(page, "#download-proposal", tmp_path)
    press(page, "#to-document")

    # 6. The document: preview, publish option and the downloads.
    assert page.url.endswith("/officer/document")
    check_axe(page)
    word = download(page, "#download-docx", tmp_path)
    html = download(page, "#download-html", tmp_path)
    md = download(page, "#download-md", tmp_path)
    assert "<h1" in html.read_text() and zipfile.ZipFile(md).namelist()[0].endswith(".md")

    # The same inputs through the CLI: the downloaded files beside the extract.
    shutil.copy(example_files["extract"], tmp_path / example_files["extract"].name)
    said = cli("screen", proposal, "--out", tmp_path / "cli", "--formats", "docx",
               "--rules", strict)
    assert said.exit_code == 0, said.output
    (cli_word,) = (tmp_path / "cli").glob("*.docx")
    assert docx_text(word) == docx_text(cli_word)
    assert any("Outreach with the mosque and gurdwara" in t for t in docx_text(word))

    # Published: small numbers protected.
    tab_to(page, "#publish")  # a radio group is one Tab stop; its arrows choose
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#publish-yes")
    press(page, "#redraft")
    check_axe(page)
    (tmp_path / "pub").mkdir()
    published = download(page, "#download-docx", tmp_path / "pub")
    assert docx_text(published) != docx_text(word)

    # The preview on its own page, as the iframe shows it.
    page.goto(live_server.url + "/officer/document/preview")
    check_axe(page)
    page.go_back()

    # Finish: the session's files are deleted, and the pages know it.
    assert len(list(live_server.spaces.root.iterdir())) == 1
    press(page, "#finish")
    check_axe(page)
    assert list(live_server.spaces.root.iterdir()) == []
    page.goto(live_server.url + "/officer/profile")
    assert "/officer/?expired=1" in page.url
    check_axe(page)


def test_equality_lead_journey_from_upload_to_the_heatmap(live_server, page, example_files,
                                                          tmp_path, cli):
    previous_zip = tmp_path / "q3.zip"
    with zipfile.ZipFile(previous_zip, "w") as zf:
        for f in example_files["previous"]:
            zf.write(f, f"2025-26-q3/{f.name}")
    page.goto(live_server.url + "/")
    press(page, "#start-lead")
    check_axe(page)
    choose_files(page, "#current", example_files["current"])
    choose_files(page, "#previous", previous_zip)
    tab_to(page, "#as_of")
    page.keyboard.press("Control+A")
    page.keyboard.type("2026-03-31")
    press(page, "#audit")

    assert page.url.endswith("/audit/heatmap")
    check_axe(page)
    said = cli("audit", example_files["current"][0].parent, "--previous",
               example_files["previous"][0].parent, "--as-of", "2026-03-31", "-f", "csv")
    figures = pd.read_csv(io.StringIO(said.stdout))
    heads = page.locator("#heatmap thead th").all_inner_texts()[1:]
    for row in page.locator("#heatmap tbody tr").all():
        service = row.locator("th").inner_text()
        for name, cell in zip(heads, row.locator("td").all_inner_texts(), strict=True):
            r = figures[(figures["service"] == service)
                        & (figures["characteristic"].map(_name) == name)].iloc[0]
            if cell.startswith("Not collected"):
                assert r["known"] == 0
            else:  # rounded down, to one decimal place
                share = math.floor(1000 * r["known"] / r["records"]) / 10
                assert cell.startswith(f"{share:.1f}%"), (service, name, cell)
            assert r["rag"].capitalize() in cell
    assert len(page.locator("#heatmap tbody tr").all()) == figures["service"].nunique() == 5

    # Drill down: a service, then a characteristic, and back.
    press(page, "#heatmap tbody tr:first-child th a")
    check_axe(page)
    page.go_back()
    press(page, "#heatmap thead th:nth-child(2) a")
    check_axe(page)
    assert page.locator("#detail tbody tr").count() == 5
    press(page, ".govuk-back-link")

    workbook = download(page, "#download-workbook", tmp_path)
    narrative = download(page, "#download-narrative-docx", tmp_path)
    from openpyxl import load_workbook

    assert "summary" in [s.lower() for s in load_workbook(workbook).sheetnames]
    assert any("completeness" in t.lower() for t in docx_text(narrative))
    press(page, "#finish")
    assert list(live_server.spaces.root.iterdir()) == []


def _name(key: str) -> str:
    from eqia.documents.audit import characteristic_name

    return characteristic_name(key)

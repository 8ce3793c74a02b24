"""eqia serve takes everything the proposal file and ``eqia screen``'s options can hold:
comparator populations, action-plan rows, and the council's own templates, flag rules,
rating rules, disclosure policy (and, for the audit, thresholds). Each gives the numbers
and documents the CLI gives for the same files, and a bad file gets the CLI's message by
its field."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from html import unescape

import pandas as pd
import pytest
import yaml

from tests.conftest import EXAMPLES
from tests.web.test_web import EXTRACT, MAPPING, PROPOSAL, cells, problem, token, upload

#: A made-up eligible population from a needs assessment, as percentages.
ELIGIBLE = {"White": 80, "Asian, Asian British or Asian Welsh": 8,
            "Black, Black British, Black Welsh, Caribbean or African": 5,
            "Mixed or Multiple ethnic groups": 4, "Other ethnic group": 3}
ASIAN = "Asian, Asian British or Asian Welsh"


def post(client, path: str, data: dict, files: dict | None = None):
    form = {"csrf_token": token(client, path), **data}
    for field, (name, content) in (files or {}).items():
        form[field] = (io.BytesIO(content), name)
    return client.post(path, data=form, content_type="multipart/form-data")


def area_form(**more) -> dict:
    return {"area": "Kent", "ages": "18-", "change": ["reduction", "relocation"], **more}


def eligible_csv() -> bytes:
    frame = pd.DataFrame({"category": list(ELIGIBLE), "share": list(ELIGIBLE.values())})
    return frame.to_csv(index=False).encode()


def state(client) -> dict:
    from eqia.web.app import workspaces_of

    (ws,) = workspaces_of(client.application)._spaces.values()
    return ws.state()


def md_text(client) -> str:
    """The Markdown document the page offers (the zip's .md file)."""
    client.get("/officer/document")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/officer/download/md").data))
    (name,) = [n for n in archive.namelist() if n.endswith(".md")]
    return archive.read(name).decode("utf-8")


def cli_md(cli, proposal, folder, *options) -> str:
    said = cli("screen", proposal, "--out", folder, "--formats", "md", *options)
    assert said.exit_code == 0, said.output
    (md,) = folder.glob("*.md")
    return md.read_text(encoding="utf-8")


def downloaded_proposal(client, folder):
    """The proposal file the page offers, saved beside copies of the files it names."""
    resp = client.get("/officer/proposal.yaml")
    name = re.search(r"filename=([^;]+)", resp.headers["Content-Disposition"]).group(1)
    path = folder / name.strip('"')
    path.write_bytes(resp.data)
    shutil.copy(EXTRACT, folder / EXTRACT.name)
    return path


# -- comparator populations ----------------------------------------------------------------


def test_a_comparator_file_replaces_the_census_as_eqia_compare_does(client, cli, tmp_path):
    upload(client, proposal=PROPOSAL)
    resp = post(client, "/officer/area", area_form(),
                {"comparator-ethnicity": ("eligible.csv", eligible_csv())})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/officer/compare")
    rows = {r[0]: r[1:] for r in cells(client.get("/officer/compare").data.decode(),
                                        "compare-ethnicity")}
    for category, share in ELIGIBLE.items():  # the area share is the file's, not the census
        assert rows[category][2] == f"{share:.1f}%"
    # 2,738 people with a known ethnicity (test_compare counts them from the raw file).
    assert f"({2738 * 0.08:,.1f})" in rows[ASIAN][0]

    # The same file through the CLI: the same expected counts and ratios.
    (tmp_path / "eligible.csv").write_bytes(eligible_csv())
    said = cli("compare", EXTRACT, "--area", "Kent", "--ages", "18-", "--map", MAPPING,
               "--as-of", "2026-03-31", "-f", "csv", "--out", tmp_path,
               "--comparator", f"ethnicity={tmp_path / 'eligible.csv'}")
    assert said.exit_code == 0, said.output
    table = pd.read_csv(tmp_path / "compare.csv")
    for r in table[table["characteristic"] == "ethnicity"].itertuples():
        assert rows[r.category][0].endswith(f"({r.expected:,.1f})")
        assert rows[r.category][3].startswith(f"{r.ratio:.2f}")

    # The downloaded proposal names it, to sit beside it.
    (tmp_path / "dl").mkdir()
    saved = downloaded_proposal(client, tmp_path / "dl")
    assert yaml.safe_load(saved.read_text())["data"]["comparators"] == {
        "ethnicity": "eligible.csv"}


def test_a_bad_comparator_file_is_shown_by_its_field_and_not_kept(client):
    upload(client, proposal=PROPOSAL)
    post(client, "/officer/area", area_form(),
         {"comparator-ethnicity": ("eligible.csv", eligible_csv())})
    bad = b"category,count\nChristian,100\nMartian,5\n"
    resp = post(client, "/officer/area", area_form(),
                {"comparator-religion": ("faiths.csv", bad)})
    html = resp.data.decode()
    assert resp.status_code == 400
    assert 'href="#comparator-religion"' in html  # the error summary links to the field
    assert "1 category is not standard religion or belief categories" in unescape(html)
    assert "- 'Martian'" in unescape(html)
    assert "faiths.csv" in html and "comparators/" not in html  # its name, not our path
    assert state(client)["comparators"] == {"ethnicity": "eligible.csv"}

    # Removed: compared with the census again.
    post(client, "/officer/area", area_form(**{"remove-comparator": "ethnicity"}))
    assert state(client)["comparators"] == {}


def test_a_proposal_file_naming_comparators_asks_for_them(client, tmp_path):
    proposal = yaml.safe_load(PROPOSAL.read_text())
    proposal["data"]["comparators"] = {"ethnicity": "eligible.csv"}
    path = tmp_path / "proposal.yaml"
    path.write_text(yaml.safe_dump(proposal))
    upload(client, proposal=path)
    html = client.get("/officer/area").data.decode()
    assert "The proposal file names eligible.csv: upload it here" in html


# -- action plan ------------------------------------------------------------------------


# -- the council's own files --------------------------------------------------------------


def test_council_flag_rules_change_the_flags_as_eqia_compare_rules_does(client, cli, tmp_path):
    rules = b"under_ratio: 0.95\nover_ratio: 1.05\n"
    upload(client, proposal=PROPOSAL)
    resp = post(client, "/officer/council", {"back": "officer.compare"},
                {"rules": ("strict.yaml", rules)})
    assert resp.headers["Location"].endswith("/officer/compare")
    html = client.get("/officer/compare").data.decode()
    assert "your council's own flag rules (strict.yaml)" in html
    (tmp_path / "strict.yaml").write_bytes(rules)
    said = cli("compare", EXTRACT, "--area", "Kent", "--ages", "18-", "--map", MAPPING,
               "--as-of", "2026-03-31", "-f", "csv", "--out", tmp_path,
               "--rules", tmp_path / "strict.yaml")
    assert said.exit_code == 0, said.output
    strict = pd.read_csv(tmp_path / "compare.csv")
    # Flags the default rules (a ratio below 0.8 or above 1.25) would not give.
    assert (strict["flag"].isin(["under", "over"]) & strict["ratio"].between(0.8, 1.25)).any()
    for key in ("sex", "ethnicity", "religion", "disability"):
        rows = {r[0]: r[1:] for r in cells(html, f"compare-{key}")}
        head = strict[strict["characteristic"] == key]
        if head["age_adjusted"].any():  # the page's rows are the age-adjusted ones
            head = head[head["age_adjusted"]]
        for r in head.itertuples():
            if r.flag in ("under", "over"):
                assert rows[r.category][4].startswith("▼ UNDER" if r.flag == "under"
                                                      else "▲ OVER"), (key, r.category)
            elif r.category in rows:
                assert "UNDER" not in rows[r.category][4] and "OVER" not in rows[r.category][4]


@pytest.mark.parametrize(("field", "text", "words"), [
    ("rules", "under_ratio: 1.5\n", "under_ratio must be a ratio above 0 and at most 1"),
    ("assessment_rules", "no_such_rule: 1\n", "no_such_rule"),
    ("policy", "threshold: -3\n", "threshold"),
])
def test_a_bad_council_file_gets_the_cli_message_by_its_field(client, field, text, words):
    upload(client)
    resp = post(client, "/officer/council", {}, {field: ("ours.yaml", text.encode())})
    html = resp.data.decode()
    assert resp.status_code == 400
    assert f'href="#{field}"' in html and words in html and "ours.yaml" in html
    assert "council/" not in html and not (state(client).get("council") or {}).get(field)


def test_council_templates_are_used_and_sandboxed_as_on_the_cli(client):
    upload(client, proposal=PROPOSAL)
    ours = b"# Our council's EqIA: {{ proposal.name }}\n"
    post(client, "/officer/council", {}, {"templates": ("eqia_screening.md.j2", ours)})
    assert state(client)["council"]["templates"] == ["eqia_screening.md.j2"]
    assert md_text(client) == ("# Our council's EqIA: Community Mental Health Support Service "
                               "redesign\n")

    # A template reaching outside its folder, or into Python, stops with the CLI's error.
    escape = b"{% include '../../state.json' %}"
    post(client, "/officer/council", {}, {"templates": ("eqia_screening.md.j2", escape)})
    resp = client.get("/officer/document")
    assert resp.status_code == 400 and "unsafe-template" in resp.data.decode()
    assert "not a file in its own folder" in problem(resp)

    resp = post(client, "/officer/council", {}, {"templates": ("notes.txt", b"hello")})
    assert resp.status_code == 400 and "These files are not templates" in resp.data.decode()
    post(client, "/officer/council", {"remove": "templates"})
    assert "templates" not in state(client)["council"]


def test_action_plan_rows_and_the_councils_policy_reach_the_document_as_on_the_cli(
        client, cli, tmp_path):
    upload(client, proposal=PROPOSAL)
    form = {"name": "Day services review", "action-count": "2",
            "action-0-issue": "Few Asian service users", "action-0-action": "Outreach with "
            "the mosque and gurdwara", "action-0-owner": "Service manager",
            "action-0-timescale": "By June 2026", "action-1-issue": "", "next": "add-action"}
    resp = post(client, "/officer/proposal", form)
    assert resp.headers["Location"].endswith("/officer/proposal#action-plan")
    html = client.get("/officer/proposal").data.decode()
    assert 'value="By June 2026"' in html and 'id="action-1-issue"' in html  # and a new one
    saved = downloaded_proposal(client, tmp_path)
    assert yaml.safe_load(saved.read_text())["action_plan"] == [{
        "issue": "Few Asian service users", "action": "Outreach with the mosque and gurdwara",
        "expected_outcome": "", "owner": "Service manager", "timescale": "By June 2026",
        "cost": ""}]

    # Published under the council's policy: the document eqia screen --publish --policy
    # writes from the downloaded proposal.
    policy = b"threshold: 30\n"
    post(client, "/officer/council", {}, {"policy": ("policy.yaml", policy)})
    post(client, "/officer/document", {"publish": "yes"})
    web = md_text(client)
    shutil.copy(MAPPING, tmp_path / yaml.safe_load(saved.read_text())["data"]["mapping"])
    (tmp_path / "policy.yaml").write_bytes(policy)
    ours = cli_md(cli, saved, tmp_path / "ours", "--publish", "--policy", tmp_path / "policy.yaml")
    assert web == ours
    assert "Outreach with the mosque and gurdwara" in web
    assert "fewer than 30" in web  # the policy's threshold, not the default 10

    # Emptied, the row is gone.
    post(client, "/officer/proposal", {"name": "Day services review", "action-count": "1"})
    assert state(client)["proposal"]["action_plan"] is None


# -- the audit's thresholds ---------------------------------------------------------------


def test_the_audit_uses_the_councils_thresholds_as_eqia_audit_does(client, cli, tmp_path):
    thresholds = b"green: 99\namber: 95\n"
    current = sorted((EXAMPLES / "audit" / "2025-26-q4").glob("*.csv"))
    form = {"csrf_token": token(client, "/audit/"), "as_of": "2026-03-31",
            "current": [(io.BytesIO(f.read_bytes()), f.name) for f in current],
            "thresholds": (io.BytesIO(thresholds), "strict.yaml")}
    resp = client.post("/audit/", data=form, content_type="multipart/form-data")
    assert resp.status_code == 302, problem(resp)
    html = client.get("/audit/heatmap").data.decode()
    (tmp_path / "strict.yaml").write_bytes(thresholds)
    said = cli("audit", current[0].parent, "--as-of", "2026-03-31", "-f", "csv",
               "--thresholds", tmp_path / "strict.yaml")
    figures = pd.read_csv(io.StringIO(said.stdout))
    assert figures["rag"].value_counts().get("green", 0) < len(figures) / 2
    thead = re.search(r'id="heatmap".*?<thead[^>]*>(.*?)</thead>', html, re.S).group(1)
    heads = [" ".join(unescape(re.sub(r"<[^>]+>", " ", h)).split())
             for h in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)][1:]
    checked = 0
    for row in cells(html, "heatmap"):
        for name, cell in zip(heads, row[1:], strict=True):
            got = figures[(figures["service"] == row[0])
                          & (figures["characteristic"].map(_name) == name)]
            if not cell.startswith("Not collected"):
                assert got.iloc[0]["rag"].capitalize() in cell, (row[0], name, cell)
                checked += 1
    assert checked > 10

    bad = {"csrf_token": token(client, "/audit/"), "as_of": "2026-03-31",
           "current": [(io.BytesIO(current[0].read_bytes()), current[0].name)],
           "thresholds": (io.BytesIO(b"green: 50\namber: 70\n"), "strict.yaml")}
    resp = client.post("/audit/", data=bad, content_type="multipart/form-data")
    assert resp.status_code == 400 and 'href="#thresholds"' in resp.data.decode()


def test_the_audit_reads_the_extracts_with_the_councils_mapping_as_eqia_audit_does(
        client, cli):
    """The example extract's local codes (mapped by its mapping file): every heatmap cell
    is the rating ``eqia audit --map`` gives; a file that is not a mapping gets the CLI's
    message by its field."""
    form = {"csrf_token": token(client, "/audit/"), "as_of": "2026-03-31",
            "current": [(io.BytesIO(EXTRACT.read_bytes()), "MH support.csv")],
            "mapping": (io.BytesIO(MAPPING.read_bytes()), "our_codes.yaml")}
    resp = client.post("/audit/", data=form, content_type="multipart/form-data")
    assert resp.status_code == 302, problem(resp)
    html = client.get("/audit/heatmap").data.decode()
    said = cli("audit", EXTRACT, "--map", MAPPING, "--as-of", "2026-03-31", "-f", "csv")
    figures = pd.read_csv(io.StringIO(said.stdout))
    without = cli("audit", EXTRACT, "--as-of", "2026-03-31", "-f", "csv")
    assert said.stdout != without.stdout  # the mapping changes what is counted
    thead = re.search(r'id="heatmap".*?<thead[^>]*>(.*?)</thead>', html, re.S).group(1)
    heads = [" ".join(unescape(re.sub(r"<[^>]+>", " ", h)).split())
             for h in re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)][1:]
    (row,) = cells(html, "heatmap")
    checked = 0
    for name, cell in zip(heads, row[1:], strict=True):
        got = figures[figures["characteristic"].map(_name) == name]
        if len(got) and not cell.startswith("Not collected"):
            assert got.iloc[0]["rag"].capitalize() in cell, (name, cell)
            checked += 1
    assert checked >= 5

    bad = {"csrf_token": token(client, "/audit/"), "as_of": "2026-03-31",
           "current": [(io.BytesIO(EXTRACT.read_bytes()), "MH support.csv")],
           "mapping": (io.BytesIO(b"columns: [not, a, mapping]\n"), "wrong.yaml")}
    resp = client.post("/audit/", data=bad, content_type="multipart/form-data")
    page = resp.data.decode()
    assert resp.status_code == 400 and 'href="#mapping"' in page and "wrong.yaml" in page


def _name(key: str) -> str:
    from eqia.documents.audit import characteristic_name

    return characteristic_name(key)

"""eqia serve without a browser: safety (workspaces, CSRF, limits, errors, logging) and
that the pages show the numbers the CLI prints for the same inputs."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import urllib.request
import zipfile
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from eqia.web.workspace import Workspaces, safe_name, unpack_zip
from tests.conftest import EXAMPLES

EXTRACT = EXAMPLES / "mh_support_extract.csv"
MAPPING = EXAMPLES / "mh_support_mapping.yaml"
PROPOSAL = EXAMPLES / "mh_support_proposal.yaml"


def token(client, path: str = "/officer/") -> str:
    html = client.get(path).data.decode()
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def upload(client, extract: Path = EXTRACT, mapping: Path | None = MAPPING,
           proposal: Path | None = None, as_of: str = "2026-03-31"):
    data = {"csrf_token": token(client), "as_of": as_of,
            "extract": (io.BytesIO(extract.read_bytes()), extract.name)}
    if mapping:
        data["mapping"] = (io.BytesIO(mapping.read_bytes()), mapping.name)
    if proposal:
        data["proposal"] = (io.BytesIO(proposal.read_bytes()), proposal.name)
    return client.post("/officer/", data=data, content_type="multipart/form-data")


def problem(resp) -> str:
    html = resp.data.decode()
    found = re.search(r'id="problem-text">(.*?)</p>', html, re.S)
    return unescape(found.group(1)) if found else ""


def workspace_dirs(client) -> list[Path]:
    from eqia.web.app import workspaces_of

    return list(workspaces_of(client.application).root.iterdir())


def cells(html: str, table_id: str) -> list[list[str]]:
    """A table's body rows as text cells (header cell first)."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody[^>]*>(.*?)</tbody>', html, re.S)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [[" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split())
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]


# -- safety -------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_kept(client):
    resp = client.post("/officer/", data={"extract": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "security check" in problem(resp)
    assert workspace_dirs(client) == []


def test_an_upload_over_the_limit_gets_a_clear_message():
    from eqia.web import create_app
    from eqia.web.app import workspaces_of

    app = create_app(max_upload_mb=1)
    client = app.test_client()
    big = io.BytesIO(b"x" * (1024 * 1024 + 10))
    resp = client.post("/officer/", data={"csrf_token": token(client), "extract": (big, "a.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "larger than 1 MB" in problem(resp)
    assert list(workspaces_of(app).root.iterdir()) == []
    workspaces_of(app).close()


def test_bad_input_gets_the_cli_message_never_a_traceback(client, cli, tmp_path):
    bad = tmp_path / "extract.csv"
    bad.write_text("Client ID,Favourite colour\nA1,blue\n", encoding="utf-8")
    resp = upload(client, bad, mapping=None)
    assert resp.status_code == 302
    page = client.get("/officer/profile")
    assert page.status_code == 400
    shown = problem(page)
    said = cli("profile", bad)
    assert said.exit_code == 2
    # The CLI's own paragraph (its path made the file's name), and no trace of the server.
    cli_text = " ".join(said.stderr.split()).split(": ", 1)[1].replace(str(tmp_path) + "/", "")
    assert " ".join(shown.split()) == cli_text
    assert "Traceback" not in page.data.decode() and "/tmp" not in page.data.decode()


def test_an_unknown_area_gets_the_cli_message_by_the_field(client, cli):
    upload(client)
    resp = client.post("/officer/area", data={"csrf_token": token(client, "/officer/area"),
                                              "area": "Narnia", "ages": "18-"})
    assert resp.status_code == 400
    said = cli("compare", EXTRACT, "--area", "Narnia")
    first = said.stderr.split("]: ", 1)[1].splitlines()[0]
    assert first in unescape(resp.data.decode())


def test_a_session_never_reaches_another_sessions_files(client):
    from eqia.web.app import create_app

    assert upload(client).status_code == 302
    assert client.get("/officer/profile").status_code == 200
    other = client.application.test_client()  # a second browser, same server
    resp = other.get("/officer/profile")
    assert resp.status_code == 302 and "/officer/" in resp.headers["Location"]
    for path in ("/officer/download/docx", "/officer/mapping.yaml", "/officer/proposal.yaml",
                 "/officer/chart/age.png", "/audit/heatmap", "/audit/download/workbook"):
        assert other.get(path).status_code == 302, path
    # A session cookie carrying the first session's data but signed elsewhere is worthless.
    stolen = create_app().session_interface.get_signing_serializer(create_app())
    forged = stolen.dumps({"ws": "x" * 43})
    other.set_cookie("eqia_session", forged)
    assert other.get("/officer/profile").status_code == 302
    # No page takes a path: names that try to climb out are not found.
    for path in ("/officer/chart/..%2Fstate.json", "/officer/chart/../../state.png",
                 "/officer/download/..%2Fstate.json", "/audit/characteristic/..%2F..",
                 "/static/../officer.py"):
        assert client.get(path).status_code in (404, 308), path


def test_finishing_deletes_the_sessions_files(client):
    upload(client)
    client.get("/officer/profile")
    assert len(workspace_dirs(client)) == 1
    resp = client.post("/finish", data={"csrf_token": token(client, "/officer/profile")})
    assert resp.status_code == 302
    assert workspace_dirs(client) == []
    assert client.get("/officer/profile").status_code == 302


def test_idle_workspaces_are_deleted_and_shutdown_removes_the_root(tmp_path):
    spaces = Workspaces(idle_seconds=600, root=tmp_path)
    a, b = spaces.create(), spaces.create()
    (a.path / "extract.csv").write_text("x")
    b.last_seen += 500  # b was used 500 s after a
    assert spaces.reap(now=a.last_seen + 601) == 1
    assert not a.path.exists() and b.path.exists()
    spaces.close()
    assert list(tmp_path.iterdir()) == []


def test_a_zip_is_unpacked_flat_with_no_path_from_it_and_within_the_limit(tmp_path):
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../evil.csv", "a\n1\n")
        zf.writestr("q4/Shared Lives.csv", "a\n1\n")
        zf.writestr("notes.docx", "not an extract")
    out = tmp_path / "out"
    out.mkdir()
    assert sorted(p.name for p in unpack_zip(archive, out, 10_000)) == [
        "Shared Lives.csv", "evil.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["Shared Lives.csv", "evil.csv"]
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", "0" * 50_000)
    with pytest.raises(Exception, match="more than the upload limit"):
        unpack_zip(bomb, tmp_path / "out", 10_000)
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\me\\a<b>.csv") == "a_b_.csv"


@pytest.mark.slow
def test_nothing_from_the_extract_is_logged(client, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    upload(client, proposal=PROPOSAL)
    for path in ("/officer/profile", "/officer/document"):
        assert client.get(path).status_code == 200
    captured = capfd.readouterr()
    seen = caplog.text + captured.out + captured.err
    first_ids = pd.read_csv(EXTRACT, nrows=50)["Client ID"]
    assert not any(i in seen for i in first_ids)
    assert "mh_support_extract" not in seen


def test_a_workbook_with_several_sheets_asks_which_one(client, tmp_path):
    book = tmp_path / "extract.xlsx"
    with pd.ExcelWriter(book) as xl:
        pd.DataFrame({"Notes": ["Exported 1 April"]}).to_excel(xl, sheet_name="About", index=False)
        pd.DataFrame({"Client ID": ["A1", "A2", "A3"], "Gender": ["F", "M", "F"]}).to_excel(
            xl, sheet_name="Clients", index=False)
    resp = upload(client, book, mapping=None)
    assert resp.headers["Location"].endswith("/officer/sheet")
    html = client.get("/officer/sheet").data.decode()
    assert 'value="About"' in html and 'value="Clients"' in html
    resp = client.post("/officer/sheet", data={"csrf_token": token(client, "/officer/sheet"),
                                               "sheet": "Clients"})
    assert resp.headers["Location"].endswith("/officer/profile")
    rows = {r[0]: r[1:] for r in cells(client.get("/officer/profile").data.decode(),
                                        "profile-sex")}
    assert rows["Female"] == ["2", "66.7%"] and rows["Male"] == ["1", "33.3%"]


def test_a_counts_table_is_profiled_as_counts(client, cli, tmp_path):
    counts = EXAMPLES / "mh_support_aggregated.csv"
    upload(client, counts, mapping=None)
    html = client.get("/officer/profile").data.decode()
    out = tmp_path / "p.json"
    assert cli("profile", counts, "-f", "json", "-o", out).exit_code == 0
    data = json.loads(out.read_text())
    assert data["shape"] == "aggregated"
    assert f"{data['rows']:,} rows (aggregated counts)" in html


# -- the same numbers as the CLI -------------------------------------------------------------


def test_the_profile_page_shows_eqia_profiles_numbers(client, cli, tmp_path):
    upload(client)
    html = client.get("/officer/profile").data.decode()
    out = tmp_path / "p.json"
    said = cli("profile", EXTRACT, "--map", MAPPING, "--as-of", "2026-03-31", "-f", "json",
               "-o", out)
    assert said.exit_code == 0
    data = json.loads(out.read_text())
    assert f"{data['rows']:,} rows" in html
    for key, c in data["characteristics"].items():
        if c["status"] != "collected" or key == "ethnicity_detailed":
            continue
        rows = {r[0]: r[1:] for r in cells(html, f"profile-{key}")}
        for cat in c["categories"]:
            count, share = rows[cat["category"]]
            assert count == f"{cat['count']:,}"
            assert share == f"{100 * cat['share_of_known']:.1f}%"
        unknown = sum(c["unknown"].values())
        invalid = sum(r["count"] for r in c["invalid"])
        line = re.search(rf'id="reconcile-{key}">(.*?)</p>', html, re.S).group(1)
        assert (f"{c['rows']:,} rows = {c['known']:,} in categories + {unknown:,} unknown + "
                f"{invalid:,} invalid: reconciles") in line


@pytest.mark.slow
def test_the_comparison_page_shows_eqia_compares_numbers(client, cli, tmp_path):
    upload(client, proposal=PROPOSAL)
    html = client.get("/officer/compare").data.decode()
    said = cli("compare", EXTRACT, "--area", "Kent", "--ages", "18-", "--map", MAPPING,
               "--as-of", "2026-03-31", "-f", "csv", "--out", tmp_path)
    assert said.exit_code == 0
    table = pd.read_csv(tmp_path / "compare.csv")
    checked = 0
    for key in ("sex", "ethnicity", "religion", "disability", "age"):
        rows = {r[0]: r[1:] for r in cells(html, f"compare-{key}")}
        head = table[table["characteristic"] == key]
        assert set(rows) == set(head["category"])
        if head["age_adjusted"].any():  # the headline figures are the age-adjusted ones
            head = head[head["age_adjusted"] | ~head["category"].isin(
                head.loc[head["age_adjusted"], "category"])]
        for r in head.itertuples():
            users, share, area_share, ratio = rows[r.category][:4]
            assert users.startswith(f"{int(r.service_count):,}")
            if pd.notna(r.expected) and r.flag not in ("no_census_category", "outside_ages"):
                assert f"({r.expected:,.1f})" in users
                assert share.startswith(f"{100 * r.service_share:.1f}%")
                assert area_share.startswith(f"{100 * r.baseline_share:.1f}%")
                if pd.notna(r.ratio):
                    assert ratio.startswith(f"{r.ratio:.2f}")
                checked += 1
    assert checked > 20


@pytest.mark.slow
def test_eqia_serve_prints_its_address_and_deletes_everything_when_stopped(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("eqia")), "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200 and b"Draft a screening" in resp.read()
        assert [p.name[:9] for p in tmp_path.iterdir()] == ["eqia-web-"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "deleted" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_document_page_shows_the_ratings_eqia_screen_prints(client, cli, tmp_path):
    upload(client, proposal=PROPOSAL)
    grid = cells(client.get("/officer/document").data.decode(), "grid")
    said = cli("screen", PROPOSAL, "--out", tmp_path, "--format", "md")
    assert said.exit_code == 0
    printed = re.findall(r"^  (.+?)\s{2,}(HIGH|MEDIUM|LOW|NONE|UNKNOWN)\s+\((.*)\)$",
                         said.stderr, re.M)
    assert len(printed) == 10
    assert [[label, rating, source[:1].upper() + source[1:]]
            for label, rating, source in printed] == grid

"""Outputs under failure: a run that breaks, is interrupted, runs out of disk, or races
another run into the same folder never leaves a corrupt or half-written file, and a
place that cannot be written is a clear error (exit 2, ``output-not-writable``).

Each case: the run, its exit code and error code, and the files afterwards (byte for
byte the previous ones, or complete new ones that open).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from eqia import outputs
from eqia.errors import OutputError
from eqia.render import render_all
from eqia.render.formats import REPORT, Writer

from ..conftest import EXAMPLES, FIXTURES

AUDIT_IN = FIXTURES / "audit" / "previous"  # three small extracts, all readable
PROPOSAL = EXAMPLES / "mh_support_proposal.yaml"


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _half_then(exc: BaseException):
    """A writer that writes part of a file and then fails as ``exc``."""
    def write(*args, **kwargs):
        path = next(a for a in [*args, *kwargs.values()] if isinstance(a, Path))
        Path(path).write_bytes(b"PK\x03\x04 half a file")
        raise exc
    return write


# --- one file ------------------------------------------------------------------------

def test_a_write_that_fails_half_way_leaves_the_previous_file(tmp_path):
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"the previous report")

    def half(path):
        path.write_bytes(b"half")
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        outputs.atomic_write(target, half)
    assert _snapshot(tmp_path) == {"report.xlsx": b"the previous report"}
    outputs.write_text(target, "new")
    assert _snapshot(tmp_path) == {"report.xlsx": b"new"}


def test_staged_files_move_together_or_not_at_all(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    with pytest.raises(KeyboardInterrupt), outputs.Staged(tmp_path) as stage:
        stage.write_text("a.txt", "new a")
        stage.write_text("internal/log.csv", "new log")
        raise KeyboardInterrupt  # Ctrl-C after the first file
    assert _snapshot(tmp_path) == {"a.txt": b"old a", "b.txt": b"old b"}
    with outputs.Staged(tmp_path) as stage:
        stage.write_text("a.txt", "new a")
        stage.write_text("internal/log.csv", "new log")
    assert _snapshot(tmp_path) == {"a.txt": b"new a", "b.txt": b"old b",
                                   "internal/log.csv": b"new log"}


# --- a command that fails half way: the previous outputs stay, byte for byte ---------------

@pytest.mark.slow
@pytest.mark.parametrize(("target", "exc", "code"), [
    ("audit_xlsx", OSError(errno.ENOSPC, "No space left on device"), 2),
    ("audit_docx", KeyboardInterrupt(), 130),  # Ctrl-C: the usual exit code
])
def test_audit_that_fails_while_writing_leaves_the_previous_audit(
        cli, tmp_path, monkeypatch, target, exc, code):
    out = tmp_path / "audit"
    assert cli("audit", AUDIT_IN, "--out", out, "--as-of", "2026-03-31").exit_code == 0
    before = _snapshot(out)
    assert set(before) == {"audit.csv", "audit.xlsx", "audit.html", "audit_narrative.docx",
                           "audit_narrative.html"}
    monkeypatch.setattr(f"eqia.render.{target}.write", _half_then(exc))
    r = cli("audit", AUDIT_IN, "--out", out, "--as-of", "2025-03-31")  # other figures
    assert r.exit_code == code
    assert _snapshot(out) == before
    if code == 2:
        assert "[output-not-writable]" in r.stderr and "the disk is full" in r.stderr
        assert "This is a bug" not in r.stderr


@pytest.mark.slow
def test_report_that_runs_out_of_disk_leaves_the_previous_report(cli, tmp_path, monkeypatch):
    (tmp_path / "report.yaml").write_text(
        "title: Report 2025-26\norganisation: Test Council\nperiod: 2025-26\narea: Kent\n"
        "publication:\n  policy: nhs\nservices:\n  - name: Day Service\n"
        f"    mapping: {EXAMPLES / 'mh_support_mapping.yaml'}\n"
        f"    extracts:\n      2025-26: {EXAMPLES / 'mh_support_extract.csv'}\n",
        encoding="utf-8")
    out = tmp_path / "report"
    args = ("report", tmp_path / "report.yaml", "--out", out, "--format", "xlsx")
    assert cli(*args, "--publish").exit_code == 0
    before = _snapshot(out)
    assert set(before) == {"report-2025-26.xlsx", "internal/suppression_log.csv"}
    monkeypatch.setitem(REPORT, "xlsx", Writer(
        _half_then(OSError(errno.ENOSPC, "No space left on device")), charts=False))
    r = cli(*args)  # internal this time: the workbook would change, the log go
    assert r.exit_code == 2
    assert "[output-not-writable]" in r.stderr and "This is a bug" not in r.stderr
    assert str(out) in r.stderr
    assert _snapshot(out) == before


def test_documents_that_fail_in_the_last_one_leave_the_previous_set(tmp_path, monkeypatch):
    """The EqIA's documents (and the internal log that goes with them) move together."""
    context = json.loads((FIXTURES / "screen_context.json").read_text(encoding="utf-8"))
    for c in context["part2"]:
        c["chart"] = None
    out = tmp_path / "out"
    log = {"internal/suppression_log.csv": lambda p: p.write_text("category,count\n")}
    render_all(context, out, "x", extra=log)
    before = _snapshot(out)
    assert set(before) == {"x.docx", "x.html", "x.md", "internal/suppression_log.csv"}
    monkeypatch.setattr("eqia.render.markdown.render_markdown",
                        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    context["proposal"]["name"] = "Another name"
    with pytest.raises(KeyboardInterrupt):
        render_all(context, out, "x", extra=log)
    assert _snapshot(out) == before


# --- two runs into one folder at once --------------------------------------------------

@pytest.mark.slow
def test_concurrent_runs_into_one_folder_leave_complete_files(tmp_path):
    out = tmp_path / "audit"
    cmd = [sys.executable, "-c", "from eqia.cli import main; main()", "audit", str(AUDIT_IN),
           "--out", str(out), "--as-of", "2026-03-31"]
    runs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(2)]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr.decode()
    assert sorted(p.name for p in out.iterdir()) == [
        "audit.csv", "audit.html", "audit.xlsx", "audit_narrative.docx",
        "audit_narrative.html"]  # no temporary file left behind
    assert load_workbook(out / "audit.xlsx").sheetnames[0] == "Summary"
    assert Document(str(out / "audit_narrative.docx")).paragraphs[0].text
    assert (out / "audit.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


# --- a place that cannot be written -----------------------------------------------------

@pytest.fixture
def a_file(tmp_path) -> Path:
    f = tmp_path / "notes.txt"
    f.write_text("keep me", encoding="utf-8")
    return f


def _commands(where: Path) -> list[list]:
    return [
        ["audit", AUDIT_IN, "--out", where, "--as-of", "2026-03-31"],
        ["report", EXAMPLES / "annual_report.yaml", "--out", where],
        ["screen", PROPOSAL, "--out", where],
        ["compare", EXAMPLES / "mh_support_extract.csv", "--area", "Kent", "--format", "xlsx",
         "--out", where],
        ["compare", EXAMPLES / "mh_support_extract.csv", "--area", "Kent", "--format", "csv",
         "--out", where],
    ]


@pytest.mark.parametrize("index", range(5))
@pytest.mark.parametrize("under", [False, True])
def test_out_naming_a_file_is_a_clear_error(cli, a_file, index, under):
    where = a_file / "sub" if under else a_file
    r = cli(*_commands(where)[index])
    assert r.exit_code == 2
    assert r.stderr.startswith("Error [output-not-writable]") and str(where) in r.stderr
    assert "folder" in r.stderr and "This is a bug" not in r.stderr
    assert a_file.read_text(encoding="utf-8") == "keep me"


def test_a_file_output_naming_a_folder_is_a_clear_error(cli, tmp_path):
    r = cli("profile", EXAMPLES / "mh_support_extract.csv", "--format", "csv", "--out",
            tmp_path)
    assert r.exit_code == 2
    assert "[output-not-writable]" in r.stderr and "a folder of that name" in r.stderr


def test_init_under_a_file_is_a_clear_error(cli, a_file):
    r = cli("init", a_file / "proposal.yaml")
    assert r.exit_code == 2 and "[output-not-writable]" in r.stderr


def test_a_read_only_folder_is_a_clear_error(cli, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user whom permissions do not stop (root)")
        r = cli("audit", AUDIT_IN, "--out", locked / "audit", "--as-of", "2026-03-31")
        assert r.exit_code == 2
        assert "[output-not-writable]" in r.stderr and "permission denied" in r.stderr
    finally:
        locked.chmod(0o755)


def test_a_write_refused_by_the_system_is_a_clear_error(tmp_path):
    """As a read-only folder does for a user who is not root: the error from the system
    (here made to happen) is named, with what to do."""
    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    with pytest.raises(OutputError) as info:
        outputs.atomic_write(tmp_path / "x.csv", refuse)
    assert info.value.code == "output-not-writable"
    assert "permission denied" in str(info.value) and "write access" in str(info.value)
    assert str(tmp_path / "x.csv") in str(info.value) and list(tmp_path.iterdir()) == []


def test_outputs_are_shared_as_other_files_are(tmp_path):
    """Written with the usual permissions, and keeping those of the file they replace."""
    new = outputs.write_text(tmp_path / "new.csv", "a\n")
    mask = os.umask(0)
    os.umask(mask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~mask
    old = tmp_path / "old.csv"
    old.write_text("a\n")
    old.chmod(0o640)
    assert outputs.write_text(old, "b\n").stat().st_mode & 0o777 == 0o640

"""Every ``eqia`` command the README shows runs on the bundled data, and says what it claims."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eqia.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("eqia ")]


def _into(tmp: Path, args: list[str]) -> list[str]:
    """Send whatever a command writes into ``tmp`` instead of the checkout."""
    out = list(args)
    for i, arg in enumerate(out):
        if out[i - 1] == "--out" and i:
            out[i] = str(tmp / arg)
    if out[0] == "init":
        out[-1] = str(tmp / out[-1])
    return out


def test_the_readme_shows_each_command():
    shown = {shlex.split(c)[1] for c in readme_commands()}
    assert {"profile", "baselines", "compare", "init", "screen", "audit", "report"} <= shown


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs_on_the_bundled_data(command, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "160")
    args = _into(tmp_path, shlex.split(command)[1:])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{command}\n{result.output}"


def test_the_reconciliation_line_quoted_in_the_readme_is_what_profile_prints(monkeypatch):
    (quoted,) = re.findall(r"`(3,012 rows = [^`]*)`", README)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, [
        "profile", "examples/mh_support_extract.csv", "--map", "examples/mh_support_mapping.yaml",
        "--as-of", "2026-03-31"])
    assert quoted in " ".join(result.output.split())

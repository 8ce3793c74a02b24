"""Every command and every option of the ``eqia`` command line is documented: each command
in the README or a guide in docs/ and in its own section of the reference (docs/cli.md),
each option in its command's section. A new option without words for the people who use
it fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from eqia.cli import app

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple, object]]:
    """Every command under ``group`` (Typer's click objects: a group has ``commands``)."""
    out = []
    for name, cmd in sorted(group.commands.items()):
        if cmd.hidden:
            continue
        out.append(((*prefix, name), cmd))
        out += _commands(cmd, (*prefix, name)) if hasattr(cmd, "commands") else []
    return out


def _section(path: tuple[str, ...]) -> str:
    """The reference's section for ``eqia <path>``: from its heading to the next."""
    heading = re.search(r"^## eqia" + "".join(r"\s+" + re.escape(p) for p in path)
                        + r"(?:\s+[A-Z_.]+)*\s*$", REFERENCE, flags=re.M)
    assert heading, f"docs/cli.md has no section '## eqia {' '.join(path)}'"
    rest = REFERENCE[heading.end():]
    end = re.search(r"^## ", rest, flags=re.M)
    return rest[:end.start()] if end else rest


ROOT_COMMAND = typer.main.get_command(app)
COMMANDS = _commands(ROOT_COMMAND)
OPTIONS = [(path, opt) for path, cmd in [((), ROOT_COMMAND), *COMMANDS]
           for param in cmd.params if param.param_type_name == "option" and not param.hidden
           for opt in (*param.opts, *param.secondary_opts) if opt != "--help"]


def test_the_walk_finds_the_commands_and_options():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"profile", "compare", "screen", "audit", "report", "init", "baselines show"} <= names
    assert ((), "--debug") in OPTIONS and (("compare",), "--monthfirst") in OPTIONS


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_its_section_and_is_in_the_readme_or_a_guide(path):
    _section(path)
    guides = "\n".join(p.read_text(encoding="utf-8") for p in
                       [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
                       if p.name != "cli.md")
    assert re.search(r"eqia\s+" + r"\s+".join(map(re.escape, path)), guides), \
        f"'eqia {' '.join(path)}' is in no guide"


@pytest.mark.parametrize(("path", "option"), OPTIONS,
                         ids=[f"{' '.join(p) or 'eqia'} {o}" for p, o in OPTIONS])
def test_every_option_is_in_its_commands_section(path, option):
    assert re.search(r"`" + re.escape(option) + r"`", _section(path)), \
        f"{option} of 'eqia {' '.join(path)}' is not in its section of docs/cli.md"

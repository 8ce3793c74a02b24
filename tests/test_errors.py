"""Error codes are a closed, documented set: every code the source uses is an
``ErrorCode``, every ``ErrorCode`` is used and explained in docs/errors.md, and a code
outside the set cannot be raised."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from eqia.errors import ConfigError, ErrorCode, InputError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "eqia"
VALUES = {c.value for c in ErrorCode}


def _source_trees() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py"))
            if p.name != "errors.py"]


def _code_expressions(tree: ast.AST) -> list[ast.expr]:
    """What is passed as ``code=`` or assigned to a name ``code``, or as the code of the
    CLI's ``_fail`` and the settings checks (``validate``, ``raise_if_any``)."""
    at = {"_fail": 0, "raise_if_any": 0, "validate": 2}
    out: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            out += [k.value for k in node.keywords if k.arg == "code"]
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in at and len(node.args) > at[name]:
                out.append(node.args[at[name]])
        elif isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "code" for t in node.targets):
            out.append(node.value)
    return out


def _leaves(expr: ast.expr) -> list[ast.expr]:
    if isinstance(expr, ast.IfExp):
        return _leaves(expr.body) + _leaves(expr.orelse)
    return [expr]


def _used() -> tuple[set[str], list[str]]:
    """(codes used, as values; places that use a code that is not an ErrorCode)."""
    used, wrong = set(), []
    for path, tree in _source_trees():
        for node in ast.walk(tree):  # ErrorCode.NAME anywhere counts as a use
            if (isinstance(node, ast.Attribute) and getattr(node.value, "id", None) ==
                    "ErrorCode"):
                if node.attr not in ErrorCode.__members__:
                    wrong.append(f"{path.name}:{node.lineno}: ErrorCode.{node.attr}")
                else:
                    used.add(ErrorCode[node.attr].value)
        for expr in _code_expressions(tree):
            for leaf in _leaves(expr):
                if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                    if leaf.value in VALUES:
                        used.add(leaf.value)
                    else:
                        wrong.append(f"{path.name}:{leaf.lineno}: '{leaf.value}'")
    return used, wrong


def _documented() -> list[str]:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.M)


def test_every_code_the_source_uses_is_an_error_code():
    _, wrong = _used()
    assert wrong == []


def test_every_error_code_is_used_somewhere():
    used, _ = _used()
    assert sorted(VALUES - used) == []


def test_every_error_code_is_documented_once_and_nothing_else_is():
    documented = _documented()
    assert sorted(documented) == sorted(VALUES)


def test_codes_are_kebab_case():
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", v) for v in VALUES)


def test_an_error_with_a_code_outside_the_set_cannot_be_made():
    with pytest.raises(ValueError, match="file-not-found"):
        InputError("The file does not exist", code="file-not-found")


def test_a_code_given_as_text_becomes_the_member_and_prints_as_its_value():
    err = ConfigError("Bad", code="bad-rules", file="rules.yaml")
    assert err.code is ErrorCode.BAD_RULES
    assert (f"[{err.code}]", str(err.code), err.code == "bad-rules") == (
        "[bad-rules]", "bad-rules", True)

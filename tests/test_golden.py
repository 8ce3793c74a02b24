"""Whole outputs of the README tour against reviewed copies in tests/golden/.

Every other test checks a number or a sentence it worked out itself; these check that
nothing else moved. A change that is meant is made with ``make golden`` (``pytest
tests/test_golden.py --update-golden``) and shows in ``git diff tests/golden/`` for review.
Dates are fixed (``--as-of``, the drafting date), so the files do not age.
"""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import EXAMPLE_EXTRACT, EXAMPLE_MAPPING, EXAMPLES

AS_OF = "2026-03-31"
#: The example proposal's date of initial screening, as the drafting date.
DRAFTED = dt.date(2026, 11, 24)
AUDIT = EXAMPLES / "audit"


def test_profile_csv(cli, golden):
    res = cli("profile", EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING, "--as-of", AS_OF,
              "--format", "csv", "--list-invalid-values")
    assert res.exit_code == 0, res.output
    golden("example_profile.csv", res.stdout)


def test_compare_csv(cli, golden):
    res = cli("compare", EXAMPLE_EXTRACT, "--map", EXAMPLE_MAPPING, "--area", "Kent",
              "--ages", "18-", "--as-of", AS_OF, "--format", "csv")
    assert res.exit_code == 0, res.output
    golden("example_compare.csv", res.stdout)


@pytest.mark.slow
def test_audit_csv(cli, golden, tmp_path):
    """The file ``--out`` writes, and the same table on the terminal with --format csv."""
    args = ("audit", AUDIT / "2025-26-q4", "--previous", AUDIT / "2025-26-q3", "--as-of", AS_OF)
    res = cli(*args, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    golden("example_audit.csv", (tmp_path / "audit.csv").read_bytes().decode("utf-8"))
    res = cli(*args, "--format", "csv")
    assert res.exit_code == 0, res.output
    assert res.stdout == (tmp_path / "audit.csv").read_bytes().decode("utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("publish", [False, True], ids=["internal", "published"])
def test_screening_markdown(golden, tmp_path, publish):
    """``eqia screen examples/mh_support_proposal.yaml`` (and with --publish), drafted on
    a fixed day: the library calls the command makes, minus its terminal summary."""
    from eqia.documents.proposal import load_proposal
    from eqia.documents.screening import document_name, run_screening
    from eqia.render import render_all

    proposal = load_proposal(EXAMPLES / "mh_support_proposal.yaml")
    screening = run_screening(proposal, publish=publish, today=DRAFTED)
    paths = render_all(screening.context, tmp_path, document_name(proposal), formats=("md",))
    (md,) = [p for p in paths if p.suffix == ".md"]
    name = "example_screening" + ("_published" if publish else "") + ".md"
    golden(name, md.read_bytes().decode("utf-8"))

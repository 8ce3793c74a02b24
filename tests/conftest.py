"""Shared test helpers: paths to the examples, fixtures and the shared census data."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

# The terminal width the CLI's tables wrap at: eqia uses 120 when output is piped, but
# pytest-xdist's workers set COLUMNS=80; pin it so tables wrap alike however tests run.
os.environ["COLUMNS"] = "120"

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"
SHARED_CENSUS = ROOT.parent / "shared" / "census2021"
EXAMPLE_EXTRACT = EXAMPLES / "mh_support_extract.csv"
EXAMPLE_MAPPING = EXAMPLES / "mh_support_mapping.yaml"
EXAMPLE_AS_OF = dt.date(2026, 3, 31)
#: The rows of the council screening grid, in the Kent EqIA's order.
GRID_LABELS = [
    "Age", "Disability", "Sex/Gender", "Gender identity", "Race", "Religion or belief",
    "Sexual orientation", "Pregnancy and maternity", "Marriage and civil partnership",
    "Carer's responsibilities",
]
NS_WP = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner):
    """Run the eqia CLI and return the result (stdout and stderr kept apart)."""
    from eqia.cli import app

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return run

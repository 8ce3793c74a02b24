"""Shared test helpers: paths to the examples, fixtures and the shared census data."""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import math
import os
import pickle
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


#: Module fixtures that render documents or run a whole command (a second or more each).
#: Every test that uses one is slow, and left out of make test-fast: marking only the
#: test that happens to run first would move the cost to the next one.
SLOW_FIXTURES = {
    "test_screen.py": {"screened", "published", "comparison"},
    "test_population_e2e.py": {"screened"},
    "test_direction_of_harm.py": {"closure", "new_service", "example"},
    "test_render.py": {"rendered"},
    "test_report.py": {"written", "internal", "published"},
    "test_report_findings.py": {"reports"},
    "test_engines.py": {"duckdb_file", "postgres_url", "spark_url"},
    "test_disclosure_leaks.py": {"black_28"},
}


@pytest.fixture(scope="session", autouse=True)
def charts_drawn_once():
    """Each distinct chart is drawn once per test process, then copied.

    Drawing a chart (matplotlib, 150 dpi) is a third of the time of rendering an EqIA,
    and the suite renders the example's nine charts dozens of times. A chart is a pure
    function of its arguments, so a drawing of the same arguments is reused (written with
    the same ``atomic_write``, so a test that breaks writing still breaks it); any chart
    not drawn before, e.g. in tests of the charts themselves, is drawn for real.
    """
    from eqia.render import charts, report_charts

    drawn: dict[bytes, tuple[bytes, str]] = {}
    screening_png, trend_png = charts.chart_png, report_charts.trend_chart_png

    def chart_png(chart, path, name=None, area=None, dpi=charts.DPI):
        key = pickle.dumps(("screening", chart, name, area, dpi))
        if key not in drawn:
            path, alt = screening_png(chart, path, name, area, dpi)
            drawn[key] = (Path(path).read_bytes(), alt)
            return path, alt
        png, alt = drawn[key]
        return charts.atomic_write(path, lambda p: p.write_bytes(png)), alt

    def trend_chart_png(spec, dpi=150):
        key = pickle.dumps(("trend", spec, dpi))
        if key not in drawn:
            drawn[key] = (trend_png(spec, dpi), "")
        return drawn[key][0]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(charts, "chart_png", chart_png)
        mp.setattr(report_charts, "trend_chart_png", trend_chart_png)
        yield


#: The files that take longest (CPU, or the browser's wall time), run first: make test
#: hands each worker whole files (--dist loadfile), and a long file started last would
#: leave one worker busy while the other has finished.
LONGEST_FIRST = ["web/test_browser.py", "test_screen.py", "test_streaming.py",
                 "hostile/test_disclosure_leaks.py", "test_engines.py", "test_baselines.py",
                 "test_disclosure.py", "test_readme.py", "test_packaging.py", "test_golden.py",
                 "test_report.py", "test_false_flags.py"]


def _longest_first(item) -> int:
    path = item.path.as_posix()
    return next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith("/tests/" + name)),
                len(LONGEST_FIRST))


def pytest_collection_modifyitems(config, items):
    items.sort(key=_longest_first)  # stable: each file's tests keep their order
    for item in items:
        if SLOW_FIXTURES.get(item.path.name, set()) & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden", action="store_true",
        help="Rewrite the files in tests/golden/ from today's outputs instead of checking "
             "them (make golden); review the change with git diff before committing it.")


def _same_csv(got: str, want: str) -> bool:
    """Whether two CSV texts hold the same cells, numbers equal to 1 part in 10^9 (the
    last digits of a float can move with a numpy or scipy release; nothing else may)."""
    a, b = list(csv.reader(io.StringIO(got))), list(csv.reader(io.StringIO(want)))
    if [len(r) for r in a] != [len(r) for r in b]:
        return False
    for x, y in zip(sum(a, []), sum(b, []), strict=True):
        if x == y:
            continue
        try:
            if not math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-12):
                return False
        except ValueError:
            return False
    return True


@pytest.fixture
def golden(request):
    """Check a whole output against its file in tests/golden/ (or, with --update-golden,
    write it there): a change in any output shows up as a diff to review, not a fragment
    that happens to survive."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.write_bytes(text.encode("utf-8"))
            return
        assert path.exists(), f"No golden file {path.name}: run make golden and review it."
        want = path.read_bytes().decode("utf-8")
        if text == want or (path.suffix == ".csv" and _same_csv(text, want)):
            return
        diff = "".join(difflib.unified_diff(
            want.splitlines(keepends=True), text.splitlines(keepends=True),
            f"tests/golden/{name}", "this run", n=1))
        pytest.fail(f"{name} differs from its golden file. If the change is meant, run "
                    f"make golden and commit the reviewed diff.\n{diff[:6000]}",
                    pytrace=False)

    return check


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

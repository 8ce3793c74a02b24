# One entry point for people and CI. Needs only Python 3.10+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast golden bench lint install clean reference-data serve

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/make_example.py --check
	$(BIN)/eqia profile examples/mh_support_extract.csv --map examples/mh_support_mapping.yaml --as-of 2026-03-31
	$(BIN)/eqia screen examples/mh_support_proposal.yaml --out out/

# The web pages (eqia serve) on http://127.0.0.1:8000/; Ctrl+C stops them and deletes uploads.
serve: $(STAMP)
	$(BIN)/eqia serve

# On every core (pytest-xdist): the suite is CPU-bound and CI's machine has two.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile

# The edit-run loop (under a minute): everything but the tests marked slow (the CLI in a
# subprocess, documents rendered, LibreOffice, simulations, many hypothesis examples).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slow"

# Rewrite tests/golden/ (the README tour's whole outputs) from this checkout; review the
# change with git diff tests/golden/ before committing it.
golden: $(STAMP)
	$(BIN)/python -m pytest -n auto tests/test_golden.py --update-golden

# Byte-compiled first, as an installed wheel is (an editable install is not, and where
# PYTHONDONTWRITEBYTECODE is set every run would compile eqia's modules again).
bench: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks examples

reference-data: $(STAMP)
	$(BIN)/python scripts/build_reference_data.py --source ../shared/census2021 --out reference_data

clean:
	rm -rf $(VENV) build dist .pytest_cache

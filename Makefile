# logbridge: every target installs what it needs into .venv first (from pyproject.toml).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lint test demo bench lambda-zip generate clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The product code (tests are not linted: hostile inputs and fixtures break style on purpose).
lint: $(STAMP)
	$(VENV)/bin/ruff check shipper lambdas demo bench

test: lint
	$(PY) -m pytest -q -p no:randomly

demo: $(STAMP)
	$(PY) demo/run.py

bench: $(STAMP)
	@set -e; for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f; done

# After a registry change: the generated files (fluentd config and schema files, column docs) and
# the golden files of the generated judges (tests/**/golden/: read their diff before you commit).
generate: $(STAMP)
	$(VENV)/bin/shipper schemas generate
	SHIPPER_UPDATE_GOLDEN=1 $(PY) -m pytest -q -p no:randomly -k golden tests

lambda-zip: $(STAMP)
	$(PY) lambdas/build_zip.py

clean:
	rm -rf build dist .pytest_cache

# logbridge: every target installs what it needs into .venv first (from pyproject.toml).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lint test demo bench lambda-zip generate dist clean

# First run only (~30 s): pip's whole output goes to $(VENV)/install.log; each package it
# fetches is shown as it goes.
$(STAMP): pyproject.toml
	@echo "== installing logbridge with its extras into $(VENV) (first run only; full log: $(VENV)/install.log)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; { $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[dev]'; } 2>&1 \
	  | tee $(VENV)/install.log \
	  | awk '/^Collecting /{n++; printf "  %3d fetching %s\n", n, $$2; fflush()} /^Successfully installed/{print "  installed."}' \
	  || { echo "pip install failed: see $(VENV)/install.log"; exit 1; }
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

# A wheel of the library (registry included) for `pip install dist/logbridge-*.whl`.
dist: $(STAMP)
	$(PY) -m pip wheel --no-deps -q -w dist .
	@ls dist/logbridge-*.whl

clean:
	rm -rf build dist .pytest_cache

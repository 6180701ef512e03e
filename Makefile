# `make test` and `make demo` do all the set-up: each first creates/updates the virtual environment in $(VENV).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= demo_out
E2E_OUT ?= runs/e2e
# extra papermill parameters for `make e2e`, e.g. E2E_ARGS='-y "{config: {seeds: [0], arms: [tpo, sft]}}"'
E2E_ARGS ?=

.PHONY: install test test-nbs check-clean check-export check-readme readme pytest demo e2e reproduce reproduce-quick clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps lmms-eval==0.7.3   # its needs: the lmms extra (nbs/57_lmms)
	@touch $(STAMP)

install: $(STAMP)

# notebooks are clean: nbdev-clean changes nothing
check-clean: install
	@before=$$(md5sum nbs/*.ipynb); $(BIN)/nbdev-clean; after=$$(md5sum nbs/*.ipynb); \
	if [ "$$before" != "$$after" ]; then echo "FAIL: nbdev-clean changed notebooks; run it and commit them:"; \
	  diff <(echo "$$before") <(echo "$$after"); exit 1; fi; echo "notebooks are clean"

# notebooks and library are in sync: nbdev-export changes nothing
check-export: install
	@before=$$(md5sum timepref/*.py timepref/*/*.py); $(BIN)/nbdev-export; after=$$(md5sum timepref/*.py timepref/*/*.py); \
	if [ "$$before" != "$$after" ]; then echo "FAIL: nbdev-export changed timepref/; the package was out of sync with nbs/:"; \
	  diff <(echo "$$before") <(echo "$$after"); exit 1; fi; echo "notebooks and library are in sync"

# README.md is generated from nbs/index.ipynb (executed): `make readme` writes it, CI checks it is up to date
readme: install
	$(BIN)/python scripts/make_readme.py

check-readme: install
	$(BIN)/python scripts/make_readme.py --check

test-nbs: install
	$(BIN)/nbdev-test --n-workers 2

pytest: install
	$(BIN)/python -m pytest -q tests

test: check-clean check-export check-readme test-nbs pytest reproduce-quick

demo: install
	$(BIN)/timepref demo --out $(DEMO_OUT)

# the end-to-end experiment: papermill executes experiments/e2e.ipynb into $(E2E_OUT)/ (results.json, table.md, e2e.png)
e2e: install
	@mkdir -p $(E2E_OUT)
	$(BIN)/papermill experiments/e2e.ipynb $(E2E_OUT)/e2e.ipynb -p out $(abspath $(E2E_OUT)) $(E2E_ARGS)

# the reproduction grid (experiments/grid.yaml): every experiment notebook of a profile, executed and indexed
reproduce: install
	$(BIN)/timepref reproduce --profile cpu --out runs/cpu --jobs 2

reproduce-quick: install
	$(BIN)/timepref reproduce --profile quick --out runs/quick --jobs 2

clean:
	rm -rf $(DEMO_OUT) .pytest_cache _proc _docs

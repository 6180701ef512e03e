# `make test` and `make demo` do all the set-up: each first creates/updates the virtual environment in $(VENV).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= demo_out

.PHONY: install test test-nbs check-clean check-export pytest demo clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
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

test-nbs: install
	$(BIN)/nbdev-test --n-workers 2

pytest: install
	$(BIN)/python -m pytest -q tests

test: check-clean check-export test-nbs pytest

demo: install
	$(BIN)/timepref demo --out $(DEMO_OUT)

clean:
	rm -rf $(DEMO_OUT) .pytest_cache _proc _docs

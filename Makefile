# make demo: install into .venv and run the whole pipeline locally (sesmail demo).
# make test: install into .venv and run lint + the whole test suite (what CI runs).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install lint test privileges builds floors bench preview demo reliability fuzz

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(BIN)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Spread over the cores (pytest-xdist): each worker is its own process, with its own moto.
# A test file stays on one worker (its module fixtures, such as a local mode, start once); a
# third worker fills the time local-mode tests spend waiting on their emulator.
test: lint
	$(BIN)/python -m pytest -n 3 --dist loadfile -m "not trace and not build and not browser"

# The Lambda layer and the wheel built with pip, installed and imported, and the templates
# rendered in headless Chromium (CI runs it).
builds: install
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "build or browser"

# Least privilege: re-runs the handler tests tracing every AWS call, and compares each role's
# policy with what its handler calls (CI runs it after `make test`).
privileges: install
	$(BIN)/python -m pytest -m trace

# The lowest version of every direct dependency pyproject.toml allows, in its own venv, against
# the infrastructure and handler tests: proves the floors (CI runs it after `make test`).
FLOORS ?= .venv-floors
floors: install
	rm -rf $(FLOORS)
	$(BIN)/uv venv -q --seed --python $(BIN)/python $(FLOORS)
	VIRTUAL_ENV=$(FLOORS) $(BIN)/uv pip install -q --resolution lowest-direct -e ".[test]"
	$(FLOORS)/bin/python -m pytest -q -n 2 tests/infra tests/handlers

bench: install
	$(BIN)/python bench/bench_sender.py
	$(BIN)/python bench/bench_artifact.py
	$(BIN)/python bench/bench_local.py
	$(BIN)/python bench/bench_pacing.py

# Every parser fuzzed with Hypothesis's long profile (thousands of examples per property;
# `make test` runs the same properties with the fast, deterministic `ci` profile).
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz -p no:cacheprovider

# Fault scenarios on local mode, one line each; fails if any email is duplicated, lost,
# dead-lettered, stuck or missing a status event (not part of `make test`: minutes).
reliability: install
	$(BIN)/python bench/reliability.py

STACK ?= dev
preview: install
	$(BIN)/python -m sesmailengine.testing $(STACK)

demo: install
	$(BIN)/sesmail demo --report .sesmail/demo-report.html

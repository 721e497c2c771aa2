# Fjordbank group register: the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PERSONS ?= 10000
SEED ?= 42
TARGET ?= duckdb

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := true
export FJORDBANK_SYNTHETIC_DATA ?= true
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: venv run ui test test-slow bench lint format clean

# The virtual environment is (re)built when it is missing or pyproject.toml changed.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/fjordbank run --persons $(PERSONS) --seed $(SEED) --target $(TARGET)

ui: venv
	$(BIN)/fjordbank ui

# pytest exits 5 when a selection holds no test: that is not a failure of the suite.
test: venv
	$(BIN)/python -m pytest -m "not slow" -q || [ $$? -eq 5 ]

test-slow: venv
	$(BIN)/python -m pytest -m slow -q || [ $$? -eq 5 ]

bench: venv
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf data dbt/target dbt/logs .pytest_cache

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

.PHONY: venv spark-venv spark-cluster spark-cluster-stop run ui test test-slow test-spark bench lint format clean

# The virtual environment is (re)built when it is missing or pyproject.toml changed.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# The optional Spark extra (dbt-spark session method + pyspark, large): only for TARGET=spark and
# make test-spark. Java 17 must be on the PATH; nothing is downloaded at run time.
$(BIN)/.installed-spark: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $@

spark-venv: $(BIN)/.installed-spark

# WAIT=no: when another run holds the warehouse, exit 2 at once instead of waiting for it.
run: venv $(if $(filter spark,$(TARGET)),spark-venv)
	$(BIN)/fjordbank run --persons $(PERSONS) --seed $(SEED) --target $(TARGET) \
		$(if $(filter no,$(WAIT)),--no-wait)

ui: venv
	$(BIN)/fjordbank ui

# pytest exits 5 when a selection holds no test: that is not a failure of the suite.
test: venv
	$(BIN)/python -m pytest -m "not slow" -q || [ $$? -eq 5 ]

test-slow: venv
	$(BIN)/python -m pytest -m "slow and not spark" -q || [ $$? -eq 5 ]

# The platform on local Spark and on a standalone cluster against DuckDB (slow: about 25 minutes
# on two cores). One pytest process per module: Spark's Hive metastore client stays bound to the
# first data dir of a process. Exit 5 (a module with no Spark test) is not a failure.
test-spark: spark-venv
	@rc=0; for module in tests/spark/test_*.py; do \
		$(BIN)/python -m pytest -m spark -q $$module; status=$$?; \
		if [ $$status -ne 0 ] && [ $$status -ne 5 ]; then rc=$$status; fi; \
	done; exit $$rc

# A Spark standalone master and two workers on 127.0.0.1 (pyspark's own scripts, nothing
# downloaded; pid files, logs and work dirs under $FJORDBANK_DATA_DIR/spark-cluster). Use it with
# FJORDBANK_SPARK_MASTER=spark://127.0.0.1:7077 make run TARGET=spark.
spark-cluster: spark-venv
	$(BIN)/python -m dagster_project.spark_cluster start

spark-cluster-stop: spark-venv
	$(BIN)/python -m dagster_project.spark_cluster stop

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

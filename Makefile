# attrition: `make demo` runs the whole lifecycle on generated data; `make test` runs the tests.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo

.PHONY: help setup demo test test-fast lint typecheck format benchmark ui clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/attrition: pyproject.toml uv.lock
	@if [ -z "$(UV)" ] && ! $(PYTHON) -m uv --version >/dev/null 2>&1; then \
		echo "uv not found: installing it with pip"; $(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv; fi
	@UV_BIN="$$(command -v uv || echo "$(PYTHON) -m uv")"; \
		$$UV_BIN sync --frozen --extra spark --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(BIN)/attrition ## Create .venv with the locked dependencies

demo: setup ## Run the whole lifecycle on generated data
	@bash scripts/demo.sh $(DEMO)

test: setup ## Run the whole test suite (slow and PostgreSQL tests included)
	$(BIN)/pytest -n 2 --dist loadgroup

test-fast: setup ## Run the tests without the slow end-to-end ones
	$(BIN)/pytest -n 2 -m "not slow"

lint: setup ## Ruff lint and format check, and the import contract (layers, no cycles)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports --no-cache

typecheck: setup ## mypy on the package
	$(BIN)/mypy

format: setup ## Apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

benchmark: setup ## Run the benchmarks on the IBM file (../shared/data)
	$(BIN)/python benchmarks/model_quality.py
	$(BIN)/python benchmarks/train_time.py

ui: setup ## MLflow UI on http://127.0.0.1:5001 for the local store
	$(BIN)/attrition ui

clean: ## Remove generated files (keeps .venv)
	rm -rf $(DEMO) mlflow.db mlartifacts mlruns predictions.db .pytest_cache .mypy_cache .ruff_cache

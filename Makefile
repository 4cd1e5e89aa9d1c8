# Two commands do everything on a fresh machine: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
# `python3 -m uv` rather than `uv`: a pyenv shim named uv may belong to another Python version.
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never

.PHONY: help bootstrap demo test dev bench lint format check-defs db-stop clean

help:
	@echo "make demo    run the whole pipeline on the embedded local stack and print a report"
	@echo "make test    run the test suite"
	@echo "make dev     open the Dagster UI (http://127.0.0.1:3000) on the local stack"
	@echo "make bench   print throughput, refresh cost and peak memory figures"
	@echo "make lint    ruff check + format check; make format to fix"
	@echo "make db-stop stop the embedded PostgreSQL"

$(BIN)/confluence-pipeline: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@

bootstrap: $(BIN)/confluence-pipeline

demo: bootstrap
	$(BIN)/confluence-pipeline demo

test: bootstrap
	$(BIN)/pytest

dev: bootstrap
	$(BIN)/confluence-pipeline dev

bench: bootstrap
	$(BIN)/python -m benchmarks

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: bootstrap
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-defs: bootstrap
	$(BIN)/confluence-pipeline validate

db-stop: bootstrap
	$(BIN)/confluence-pipeline db stop

clean: db-stop
	rm -rf .local

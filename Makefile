# Two commands do everything on a fresh machine: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
# `python3 -m uv` rather than `uv`: a pyenv shim named uv may belong to another Python version.
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never

.PHONY: help bootstrap demo test dev sandbox bench lint format check-defs wheel screenshots db-stop clean

help:
	@echo "make demo    run the whole pipeline on the embedded local stack and print a report"
	@echo "make test    run the test suite"
	@echo "make dev     open the Dagster UI (http://127.0.0.1:3000) on the local stack (dagster dev -w workspace.yaml)"
	@echo "make sandbox run the local Confluence on its own (SANDBOX_PORT, SANDBOX_PAGES, SANDBOX_SEED)"
	@echo "make bench   print throughput, refresh cost and peak memory figures (python -m benchmarks)"
	@echo "make lint    ruff check + format check; make format to fix"
	@echo "make check-defs  dagster definitions validate -w workspace.yaml on the local stack"
	@echo "make wheel   build the product's wheel into dist/"
	@echo "make screenshots  browser check: dagster dev + GraphQL + headless Chromium, PNGs into docs/"
	@echo "make db-stop stop the embedded PostgreSQL"

$(BIN)/confluence-pipeline: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	# Bytecode is compiled at install: every Dagster run, step and code server is a new Python process, and where
	# PYTHONDONTWRITEBYTECODE is set (CI, containers) each one would otherwise compile Dagster, SQLAlchemy and
	# alembic from source again, seconds per process.
	$(UV) sync --frozen --compile-bytecode
	$(BIN)/python -m compileall -q confluence_pipeline confluence_sandbox benchmarks >/dev/null
	@touch $@

bootstrap: $(BIN)/confluence-pipeline

demo: bootstrap
	$(BIN)/confluence-pipeline demo

test: bootstrap
	$(BIN)/pytest

dev: bootstrap
	$(BIN)/confluence-pipeline dev

sandbox: bootstrap
	$(BIN)/python -m confluence_sandbox serve --port $${SANDBOX_PORT:-8765} --pages $${SANDBOX_PAGES:-500} \
		--seed $${SANDBOX_SEED:-7}

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

wheel: bootstrap
	$(UV) build --wheel --out-dir dist

screenshots: bootstrap
	$(BIN)/python scripts/ui_screenshots.py

db-stop: bootstrap
	$(BIN)/confluence-pipeline db stop

clean: db-stop
	rm -rf .local

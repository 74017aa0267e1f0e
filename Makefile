# The two commands: `make run` and `make test`. Both bootstrap everything they need from
# the system Python: .venv, uv inside it, and the locked dependencies.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
HOST ?=
PORT ?=
WORKERS ?= 1

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test test-fast bench lint typecheck format openapi clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(VENV)/bin/python
	@touch $@

install: $(VENV)/.synced

## Start TicketBook (embedded PostgreSQL unless DATABASE_URL is set) with demo data.
run: install
	$(VENV)/bin/ticketbook serve --seed-if-empty --workers $(WORKERS) \
		$(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

## The whole test suite (embedded PostgreSQL 18 unless TEST_DATABASE_URL is set): tests/unit,
## tests/service, tests/http, then tests/system (server processes, faults, browser, fuzz).
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## The fast layers only: unit, service and http (everything in-process), no tests/system.
test-fast: install
	$(VENV)/bin/pytest -m "not system" $(PYTEST_ARGS)

## Benchmark a fresh database and the production server against raw SQL (BENCH_ARGS=--rows 1000000).
bench: install
	$(VENV)/bin/ticketbook bench --output docs/benchmarks/latest.json $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Regenerate the committed OpenAPI document (a test fails when it is stale).
openapi: install
	$(VENV)/bin/ticketbook openapi --output docs/openapi.json

## Regenerate the settings tables in docs/configuration.md (a test fails when they are stale).
.PHONY: config-docs
config-docs: install
	$(VENV)/bin/python -m ticketbook.settings_doc docs/configuration.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .tmp

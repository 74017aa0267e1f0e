# The two commands: `make run` and `make test`. Both bootstrap everything they need from
# the system Python: .venv, uv inside it, and the locked dependencies.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
HOST ?=
PORT ?=
WORKERS ?= 1
TEST_WORKERS ?= 2

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test test-fast bench lint typecheck format openapi clean mailbox

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

## The whole test suite (embedded PostgreSQL 18 unless TEST_DATABASE_URL is set): the fast
## layers (below), then tests/system (server processes, faults, browser, fuzz) one test at a
## time: those measure timeouts and recovery under load, which two at a time on two cores
## would make flaky. SYSTEM_TESTS narrows that part (paths or -k), PYTEST_ARGS goes to both.
## Either part may select no tests (pytest's exit status 5) when PYTEST_ARGS narrows the run.
SYSTEM_TESTS ?=
test: test-fast
	$(VENV)/bin/pytest -m system $(SYSTEM_TESTS) $(PYTEST_ARGS) || [ $$? -eq 5 ]

## The fast layers: unit, service and http (all in-process), on two pytest workers
## (pytest-xdist), one test file at a time each so a file's tests share their module fixtures;
## each worker has its own PostgreSQL databases.
test-fast: install
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile -m "not system" $(PYTEST_ARGS) \
		|| [ $$? -eq 5 ]

## Development: an SMTP server on 127.0.0.1:8025 keeping every email in DATA_DIR/mailbox
## (start the server with the settings it prints to send it mail).
mailbox: install
	$(VENV)/bin/ticketbook mailbox

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

## Retake the README's screenshots (docs/screenshots/) with the browser tests.
.PHONY: screenshots
screenshots: install
	TICKETBOOK_UPDATE_SCREENSHOTS=1 $(VENV)/bin/pytest -q tests/system/browser/test_screenshots.py \
		tests/system/browser/test_scanner.py tests/system/browser/test_waiting_room.py

## Regenerate the settings tables in docs/configuration.md (a test fails when they are stale).
.PHONY: config-docs
config-docs: install
	$(VENV)/bin/python -m ticketbook.settings_doc docs/configuration.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .tmp

## Re-fetch the scanner's vendored browser libraries (jsQR, noble) from npm at their pinned
## versions, checking each tarball's integrity (src/ticketbook/web/static/vendor/README.md).
.PHONY: vendor
vendor: install
	$(VENV)/bin/python scripts/vendor_js.py

# Clinicflow. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
ENV := source infra/env.sh &&
HOST ?= 0.0.0.0
PORT ?= 8000
# The links the app writes (the demo's logins, the operator's chain list, e-mails) name the port it serves on.
export CLINICFLOW_PORT ?= $(PORT)

.PHONY: help setup up down migrate demo-data demo run test test-fast test-future lint format bench provision-bench

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

setup: ## Install what is missing (apt packages, .venv)
	bash infra/bootstrap.sh

up: setup ## Start PostgreSQL and Redis under .data/
	bash infra/services.sh up

down: ## Stop PostgreSQL and Redis
	bash infra/services.sh down

migrate: up ## Apply migrations to the public schema and every clinic chain (as the owner role)
	$(ENV) export CLINICFLOW_DB_ROLE=owner && $(PY) manage.py migrate_schemas --shared && \
	  $(PY) manage.py migrate_schemas --tenant --executor=multiprocessing

demo-data: migrate ## Load the demo clinic chain (idempotent) and print its logins
	$(ENV) $(PY) manage.py demo_load

demo: demo-data ## Set everything up and serve the app with its worker and beat (Ctrl-C stops)
	$(ENV) PORT=$(PORT) HOST=$(HOST) .venv/bin/honcho -f infra/Procfile start

run: up ## Serve the app, worker and beat without reloading demo data
	$(ENV) PORT=$(PORT) HOST=$(HOST) .venv/bin/honcho -f infra/Procfile start

# The suite runs in TEST_PROCS processes (pytest-xdist), each with its own test database and Redis
# database (config/settings/test.py); a long test does not hold the others back (worksteal).
TEST_PROCS ?= 2
XDIST := -n $(TEST_PROCS) --dist worksteal

test: up ## Set everything up and run the whole test suite (browser tests included) over TEST_PROCS (2) processes
	$(ENV) $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: up ## Run the suite without the browser tests
	$(ENV) $(PY) -m pytest -m "not browser" $(XDIST) $(PYTEST_ARGS)

FUTURE_DAYS ?= 1100
test-future: up ## The whole suite with the run's clock FUTURE_DAYS (1100) days ahead (tests/clock.py)
	$(ENV) CLINICFLOW_TEST_CLOCK_SHIFT_DAYS=$(FUTURE_DAYS) $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

lint: setup ## ruff, format check, mypy, import-linter, makemigrations --check, check --deploy
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .
	.venv/bin/lint-imports
	$(PY) -m config.lint_pages
	$(ENV) DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(ENV) DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	  $(PY) manage.py check --deploy --fail-level WARNING
	$(ENV) for urls in config.urls_tenant config.urls_public; do \
	  DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py spectacular --fail-on-warn --urlconf $$urls --file /dev/null || exit 1; done

format: setup ## Apply ruff's fixes and formatting
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench: up ## Run the benchmarks in bench/ and print their figures
	$(ENV) $(PY) bench/provision.py
	$(ENV) $(PY) bench/scheduling.py
	$(ENV) $(PY) bench/patients.py
	$(ENV) $(PY) bench/pages.py
	$(ENV) $(PY) bench/billing.py
	$(ENV) $(PY) bench/outbox.py
	$(ENV) $(PY) bench/reporting.py --reuse --defer

# Everyday commands. `make help` lists them; `make run` starts a local server with
# demo data and `make test` runs every check that CI runs.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
# Incidents that `make run` imports from the sample log; 0 imports all of them.
IMPORT_LIMIT ?= 2000
RUN_ADDRESS ?= 127.0.0.1:8000
IMPORT_FILE ?= data/incident_event_log.zip

BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
export PYTHON VENV

.PHONY: help venv run test test-sqlite test-postgres lint format bench clean

help: ## List the targets
	@echo "Usage: make TARGET [VARIABLE=value ...]"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: IMPORT_LIMIT=$(IMPORT_LIMIT) (0 = all), RUN_ADDRESS=$(RUN_ADDRESS),"
	@echo "  PYTHON=$(PYTHON), VENV=$(VENV), PYTEST_ARGS (extra pytest arguments)."
	@echo "See docs/operations.md."

venv: ## Create .venv and install requirements.txt (skipped when unchanged)
	@scripts/venv.sh

run: venv ## Migrate, create roles, import sample incidents, add demo users, serve
	$(MANAGE) migrate --no-input
	$(MANAGE) setup_roles
	$(MANAGE) import_incidents $(IMPORT_FILE) --limit $(IMPORT_LIMIT)
	$(MANAGE) recompute_service_levels
	$(MANAGE) create_demo_users
	$(MANAGE) runserver $(RUN_ADDRESS)

test: ## Run every check: packages, lint, migrations, pytest on SQLite and PostgreSQL
	@scripts/test.sh all

test-sqlite: ## Run pytest on SQLite only
	@scripts/test.sh sqlite

test-postgres: ## Run pytest on a throwaway PostgreSQL cluster only
	@scripts/test.sh postgres

lint: ## Check formatting, lint rules and missing migrations
	@scripts/test.sh lint

format: venv ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv ## Run each benchmarks/*.py script
	@shopt -s nullglob; scripts=(benchmarks/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "No benchmarks/*.py to run."; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
		echo "==> $$script"; \
		PYTHONPATH=. $(BIN)/python "$$script" || exit 1; \
	done

clean: ## Remove .venv, the SQLite database and tool caches
	rm -rf $(VENV) .pytest_cache .ruff_cache
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm db.sqlite3-journal

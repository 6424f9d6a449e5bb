# One entry point for every chore; `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: help dev test test-python test-dashboard lint format typecheck migrate protos protos-check install dashboard bench clean drill

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): protos/pyproject.toml control_plane/pyproject.toml probe_agent/pyproject.toml requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e protos -e control_plane -e probe_agent -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)  ## Create the virtual environment and install everything

dashboard/node_modules/.package-lock.json: dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund

dashboard: dashboard/node_modules/.package-lock.json  ## Build the dashboard into dashboard/dist
	cd dashboard && npm run build

dev: install dashboard  ## Run the whole stack locally (embedded PostgreSQL/Redis unless MOMETRICS_*_URL are set)
	$(VENV)/bin/mometrics-control dev

test: install dashboard/node_modules/.package-lock.json  ## Run every test suite (Python and dashboard)
	$(MAKE) protos-check
	$(MAKE) test-python
	$(MAKE) test-dashboard

test-python: install
	$(VENV)/bin/pytest -q

test-dashboard: dashboard/node_modules/.package-lock.json
	cd dashboard && npm test && npm run build

lint: install  ## Lint and check formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install  ## Format the Python code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install  ## Type-check with mypy
	$(VENV)/bin/mypy

migrate: install  ## Apply migrations to MOMETRICS_DATABASE_URL
	$(VENV)/bin/mometrics-control migrate

protos: install  ## Regenerate the Python stubs from protos/
	PYTHON=$(PY) scripts/gen_protos.sh

protos-check: install  ## Fail when the committed stubs are stale
	PYTHON=$(PY) scripts/gen_protos.sh --check

drill: install  ## Run the full fault drills and regenerate docs/reliability.md
	$(PY) scripts/drill.py

clean:  ## Remove the dev data folder (databases, agent spools)
	rm -rf .data

# The front door. `make dev` runs the service locally, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 is the Lambda runtime's version; pyenv has it even where python3.12 is not on PATH.
PYTHON312 ?= $(shell for candidate in $$(ls -d $$HOME/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V -r) $$(command -v python3.12); do \
	"$$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null && { echo "$$candidate"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
PORT ?= 8111
TOKEN ?=
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: help install install-sam test unit lint format emulator dev clean bench

help:
	@echo "make install        create $(VENV) (Python 3.12) with requirements-dev.txt"
	@echo "make test           lint, types and the whole test suite"
	@echo "make lint           ruff and mypy"
	@echo "make emulator       run the Airtable emulator with the demo base (PORT=$(PORT) TOKEN=...)"
	@echo "make dev            the whole service locally on http://127.0.0.1:3000 (DEV_ARGS=\"--port 0 ...\"; Ctrl-C stops it)"
	@echo "make webhook-register  register the Airtable webhook (STACK_NAME=... or NOTIFICATION_URL=...)"

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found (PATH or ~/.pyenv/versions/3.12.*)"; exit 1; }
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

$(SAM_VENV)/.installed: requirements-sam.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found"; exit 1; }
	test -x $(SAM_VENV)/bin/python || $(PYTHON312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

install-sam: $(SAM_VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install install-sam node_modules/.installed lint
	PATH="$(dir $(PYTHON312)):$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

emulator: install
	PYTHONPATH=local:layers/common $(PY) -m airtable_emulator --port $(PORT) $(if $(TOKEN),--token $(TOKEN))

# The whole service on this machine, from template.yaml: dynalite (data in .local-data/), the Airtable
# emulator (or real Airtable with AIRTABLE_API_KEY and AIRTABLE_BASE_ID), the HTTP API on :3000, the
# webhook function URL on :3001, queues and schedules. DEV_ARGS: see `python -m dev_stack --help`.
DEV_ARGS ?=
dev: install node_modules/.installed
	PYTHONPATH=layers/common:local:. $(PY) -m dev_stack $(DEV_ARGS)

# The records API's OpenAPI document, committed as docs/openapi.json (a test checks it matches the code)
.PHONY: openapi
openapi: install
	PYTHONPATH=layers/common:. POWERTOOLS_TRACE_DISABLED=true $(PY) -c \
		'from functions.records.app import openapi_document; print(openapi_document())' > docs/openapi.json.tmp
	mv docs/openapi.json.tmp docs/openapi.json

# Register the Airtable webhook of the configured base: STACK_NAME=... reads the function URL, base,
# token secret and tables from the deployed stack (MAC secret to Secrets Manager); without it, the
# environment is used and NOTIFICATION_URL=... is required. TABLES=People,Tasks narrows the scope.
.PHONY: webhook-register
webhook-register: install
	PYTHONPATH=layers/common $(PY) -m airtable_mirror.webhooks.cli register \
		$(if $(STACK_NAME),--stack-name $(STACK_NAME)) $(if $(AWS_REGION),--region $(AWS_REGION)) \
		$(if $(NOTIFICATION_URL),--notification-url $(NOTIFICATION_URL)) $(if $(TABLES),--tables $(TABLES))

# The benchmarks: full sync, records API, webhooks (bench/*_bench.py); BENCH_ARGS="--quick" for a smoke run.
bench: install node_modules/.installed
	PATH="$(dir $(PYTHON312)):$$PATH" PYTHONPATH=layers/common:local:. $(PY) -m bench.sync_bench $(BENCH_ARGS)
	PATH="$(dir $(PYTHON312)):$$PATH" PYTHONPATH=layers/common:local:. $(PY) -m bench.records_bench $(BENCH_ARGS)
	PATH="$(dir $(PYTHON312)):$$PATH" PYTHONPATH=layers/common:local:. $(PY) -m bench.webhook_bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(SAM_VENV) node_modules .aws-sam

# The two commands: `make run` serves EventHub on the embedded default; `make test` runs every test.
.PHONY: run test lint test-sqlite test-postgres services bench worker clean

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_POSTGRES_URL ?= postgresql+psycopg://eventhub:eventhub@127.0.0.1:5432/eventhub_test
HOST ?= 127.0.0.1
PORT ?= 5000

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/flask --app wsgi db upgrade
	@echo "EventHub on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	$(BIN)/gunicorn --workers 1 --threads 8 --no-control-socket --bind $(HOST):$(PORT) wsgi:app

worker: $(VENV)/.run-installed
	$(BIN)/python worker.py

services:
	bash scripts/test-services.sh

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test-sqlite: $(VENV)/.test-installed
	$(BIN)/pytest -p no:cacheprovider

test-postgres: $(VENV)/.test-installed
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -p no:cacheprovider

# Both runs at once (PostgreSQL's output printed after SQLite's): each waits on servers and processes
# for much of its time, so together they take little longer than one.
test: $(VENV)/.test-installed services lint
	bash scripts/test-both.sh $(BIN)/pytest $(TEST_POSTGRES_URL)

bench: $(VENV)/.test-installed services
	$(BIN)/python -m bench.run $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Everyday commands. `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
MARIADB_URL ?= mysql://root@127.0.0.1:3306/test
PYTEST_ARGS ?=

.PHONY: demo test test-sqlite test-mariadb lint format bench load clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-prod.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## demo: the whole product on SQLite, embedded Redis and simulated prices at http://127.0.0.1:8000
demo: $(VENV)/.runtime
	DJANGO_SETTINGS_MODULE=stocking.settings.development $(PY) manage.py demo

## test: lint, migrations in step, the whole suite on SQLite and then on MariaDB
test: $(VENV)/.dev lint
	DJANGO_SETTINGS_MODULE=stocking.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) test-sqlite test-mariadb

test-sqlite: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

test-mariadb: $(VENV)/.dev
	DATABASE_URL=$(MARIADB_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) scripts/check_translations.py

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: throughput figures, measured side by side in one run (not part of the test suite)
bench: $(VENV)/.dev
	$(PY) bench/run.py

## load: 200 traders for 3 minutes against MariaDB at half the measured market-buy capacity (not part of the test suite)
load: $(VENV)/.dev
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) .test-db.sqlite3* .demo staticfiles

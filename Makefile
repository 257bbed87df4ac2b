# The two commands: `make run` (app with demo data on http://127.0.0.1:8000) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Parallel test processes (one per core, at most this many): each gets its own database and Redis db.
TEST_PROCESSES ?= 4

.PHONY: run test install install-dev services services-down lint format migrate demo worker beat bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT)

services:
	@./scripts/test-services.sh up

services-down:
	@./scripts/test-services.sh down

# Real PostgreSQL and Redis (throwaway servers under .tmp/), real Chromium for the browser tests.
test: install-dev
	@eval "$$(./scripts/test-services.sh up)" && \
	  export PASSWORD_HASHERS=django.contrib.auth.hashers.MD5PasswordHasher AXES_ENABLED=true && \
	  $(PY) manage.py makemigrations --check --dry-run >/dev/null && \
	  $(PY) -m pytest -n auto --maxprocesses $(TEST_PROCESSES) $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: install
	$(VENV)/bin/celery -A backoffice worker -l info

beat: install
	$(VENV)/bin/celery -A backoffice beat -l info

bench: install-dev
	@eval "$$(./scripts/test-services.sh up)" && export DATABASE_URL=$${DATABASE_URL%/*}/backoffice_bench && \
	  for b in bench/bench_*.py; do $(PY) $$b; done

clean: services-down
	rm -rf .tmp db.sqlite3 staticfiles

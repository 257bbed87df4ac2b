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

# DEBUG stays off (the app's own error pages, static files through whitenoise) unless asked for:
# `make run DEBUG=1`, or DEBUG=1 in the environment. With no broker, background jobs (imports, exports)
# run on threads of this process, and Ctrl-C lets the running ones finish (the autoreloader would kill
# them half-way, hence --noreload); with REDIS_URL set, start `make worker` beside it.
run: demo
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	DEBUG=$(or $(DEBUG),0) $(PY) manage.py runserver --noreload $(HOST):$(PORT)

services:
	@./scripts/test-services.sh up

services-down:
	@./scripts/test-services.sh down

# Real PostgreSQL and Redis (throwaway servers, scripts/test-services.sh), real Chromium for the browser tests.
# When they cannot start, stop here with the script's reason: the suite never falls back to SQLite.
SERVICES_UP = services_env=$$(./scripts/test-services.sh up) || { echo "make: stopped before the suite: the test PostgreSQL/Redis did not start (reason above)" >&2; exit 1; }; \
	eval "$$services_env" && ./scripts/test-services.sh check

# The JavaScript the browser tests inject into pages (axe-core for the accessibility sweep), pinned by
# package-lock.json. npm comes with the test services: scripts/test-services.sh installs it beside chromium
# (and neither with WITH_BROWSER=0, for a run without the browser tests).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: install-dev
	@$(SERVICES_UP) && \
	  { [ "$${WITH_BROWSER:-1}" = 0 ] || $(MAKE) --no-print-directory node_modules/.installed; } && \
	  export AXES_ENABLED=true REQUIRE_TEST_SERVICES=1 && \
	  $(PY) manage.py makemigrations --check --dry-run >/dev/null && \
	  $(PY) -m pytest -n auto --maxprocesses $(TEST_PROCESSES) $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: install
	@$(PY) manage.py shell -v 0 -c "import sys; from django.conf import settings; sys.exit(0 if settings.CELERY_BROKER_URL \
	  else 'make worker: no broker (set REDIS_URL or CELERY_BROKER_URL). Without one, make run runs the jobs itself.')"
	$(VENV)/bin/celery -A backoffice worker -l info

beat: install
	$(VENV)/bin/celery -A backoffice beat -l info

bench: install-dev
	@$(SERVICES_UP) && export DATABASE_URL=$${DATABASE_URL%/*}/backoffice_bench && \
	  for b in bench/bench_*.py; do $(PY) $$b; done

clean:
	./scripts/test-services.sh clean
	rm -rf .tmp db.sqlite3 staticfiles node_modules

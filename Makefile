# kapclinic: `make run` serves a demo practice, `make test` runs the whole suite.
# Needs only Python 3.11 and GNU make; everything else goes into .venv.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
# Tests, lint and the fuzz also need the tools in requirements-dev.txt (which includes requirements.txt).
DEV_STAMP := $(VENV)/.installed-requirements-dev
PORT ?= 8000
VAR := var

# The test suite sets what it needs on top of these (fast hashers, eager Celery, locmem mail).
TEST_ENV := DEBUG=1 TESTING=1
PYTEST_ARGS ?= -n auto --dist loadfile

.PHONY: help install install-dev run demo test bench lint format migrations-check check-deploy fuzz-api backup restore clean distclean

help:
	@echo "make install           create .venv with the runtime requirements only (requirements.txt)"
	@echo "make install-dev       the runtime and the test and check tools (requirements-dev.txt)"
	@echo "make run               install, migrate, load the demo practice, serve http://127.0.0.1:$(PORT) with a Celery worker and beat"
	@echo "make test              run the whole test suite (DATABASE_URL / REDIS_URL honoured)"
	@echo "make bench             issue 15's benchmarks at 10k and 100k courses (PostgreSQL; BENCH_SIZES=10000 for one)"
	@echo "make lint              ruff check, ruff format --check and lint-imports (the layers between apps)"
	@echo "make format            ruff format and the safe ruff fixes"
	@echo "make migrations-check  fail if a model change has no migration"
	@echo "make check-deploy      manage.py check --deploy with production-like settings"
	@echo "make fuzz-api          schemathesis against the OpenAPI schema on a live server, per role (PostgreSQL; DATABASE_URL=…/kapclinic_fuzz)"
	@echo "make backup            pg_dump DATABASE_URL into var/backups/ (or DEST=folder) with a manifest (docs/backup.md)"
	@echo "make restore FILE=…    restore a backup into a new database (TARGET=postgres://…, default DATABASE_URL) and verify it"
	@echo "make clean             remove var/ (demo database, broker folder, beat schedule) and caches"
	@echo "make distclean         clean, and remove .venv"

# The venv is made once; pip runs again only when requirements.txt changes.
$(STAMP): requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install python3.11 or set PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "kapclinic needs Python 3.11 or newer; remove .venv and set PYTHON")'
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# The test and check tools, on top of the runtime; pip runs again when either file changes.
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(STAMP)

install-dev: $(DEV_STAMP)

demo: $(STAMP)
	@mkdir -p $(VAR)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py demo_practice | tee $(VAR)/demo-logins.txt

# The demo ticks every minute (production default: 5) so invitations show up soon after start.
run: demo
	DEBUG=1 LOG_FORMAT=$${LOG_FORMAT:-plain} MEASURES_TICK_SECONDS=$${MEASURES_TICK_SECONDS:-60} CLINIC_BASE_URL=$${CLINIC_BASE_URL:-http://127.0.0.1:$(PORT)} PORT=$(PORT) $(PY) bin/run-all --port $(PORT) --banner $(VAR)/demo-logins.txt

# pytest exits 5 when it collected no test: a non-zero status, so make fails, as it should.
# -rs prints why tests were skipped (e.g. the browser tests when Chromium is missing).
test: $(DEV_STAMP)
	$(TEST_ENV) $(PY) -m pytest -rs $(PYTEST_ARGS)

# The practices are kept in kapclinic_bench_<size> on BENCH_SERVER and reused; loading 100,000
# courses takes minutes the first time. Ratios are measured in one run, with the machine's load.
BENCH_SIZES ?= 10000,100000
BENCH_SERVER ?= postgres://postgres@127.0.0.1:5432
bench: $(DEV_STAMP)
	$(PY) -m devtools.bench --sizes $(BENCH_SIZES) --server $(BENCH_SERVER)

# ruff skips files without .py, so the Python scripts in bin/ are named.
PY_SCRIPTS := bin/run-all bin/backup bin/restore

# lint-imports: the layers and directions between and inside the apps (pyproject.toml [tool.importlinter]).
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check . $(PY_SCRIPTS)
	$(VENV)/bin/ruff format --check . $(PY_SCRIPTS)
	$(VENV)/bin/lint-imports --no-logo

format: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix . $(PY_SCRIPTS)
	$(VENV)/bin/ruff format . $(PY_SCRIPTS)

migrations-check: $(STAMP)
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

# Production-like: DEBUG off, a throwaway random key, a real-looking host. Must come out clean.
check-deploy: $(STAMP)
	DEBUG=0 SECRET_KEY="$$(head -c 48 /dev/urandom | base64 | tr -d '\n')" ALLOWED_HOSTS=kapclinic.example.invalid \
		$(PY) manage.py check --deploy --fail-level WARNING

# PostgreSQL only: drops and recreates DATABASE_URL (default …/kapclinic_fuzz; a name without "fuzz" is refused).
fuzz-api: $(DEV_STAMP)
	bin/fuzz-api

# PostgreSQL only; see docs/backup.md. Not echoed: a DATABASE_URL may carry a password.
backup: $(STAMP)
	@$(PY) bin/backup $(DEST)

restore: $(STAMP)
	@test -n "$(FILE)" || { echo "usage: make restore FILE=var/backups/kapclinic-….dump [TARGET=postgres://…/kapclinic_restored]"; exit 2; }
	@$(PY) bin/restore "$(FILE)" $(TARGET)

clean:
	rm -rf $(VAR) .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

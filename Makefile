# cxdesk: `make run` serves the demo, `make test` runs every test (SQLite, PostgreSQL, browser).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_PORT ?= 5499
PG_DIR ?= /tmp/cxdesk-pg-$(PG_PORT)
PG_BIN ?= /usr/lib/postgresql/15/bin

.PHONY: run test install lint test-sqlite test-postgres test-e2e test-spark system-deps pg-start pg-stop clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip<27"
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: install, migrate, load demo data, serve on http://127.0.0.1:8000 with a task worker
run: install
	$(BIN)/cxdesk migrate --noinput
	$(BIN)/cxdesk demo
	$(BIN)/cxdesk run

## system-deps: Debian packages the tests need (chromium for browser tests, postgresql, redis-server,
## dovecot-imapd + openssl for the IMAP tests)
system-deps:
	@missing=""; \
	  [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	  command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	  [ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd"; \
	  command -v openssl >/dev/null || missing="$$missing openssl"; \
	  [ -x $(PG_BIN)/initdb ] || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/cxdesk makemigrations --check --dry-run >/dev/null || { echo "models changed without a migration"; exit 1; }

test-sqlite: install system-deps
	$(BIN)/pytest -q --ignore=tests/e2e

pg-start: system-deps
	@scripts/pg-throwaway.sh start $(PG_DIR) $(PG_PORT) $(PG_BIN)

pg-stop:
	@scripts/pg-throwaway.sh stop $(PG_DIR) $(PG_PORT) $(PG_BIN)

test-postgres: install pg-start
	@set -e; trap '$(MAKE) --no-print-directory pg-stop' EXIT; \
	  DATABASE_URL=postgres://cx:cx@127.0.0.1:$(PG_PORT)/cx $(BIN)/pytest -q --ignore=tests/e2e

## test-spark (optional, not in `make test`): the journey SQL on PySpark local mode equals DuckDB's (~500 MB)
test-spark: install
	command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }
	$(BIN)/python -c "import pyspark" 2>/dev/null || $(BIN)/pip install -q pyspark==4.0.5
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python cx/journeys/tests/spark_check.py

test-e2e: install system-deps
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -q -p no:asyncio tests/e2e

## test: everything CI runs: lint, unit+integration on SQLite and on PostgreSQL, then browser tests
test: install system-deps lint test-sqlite test-postgres test-e2e

clean:
	rm -rf $(VENV) var .pytest_cache

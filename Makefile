# Two commands from nothing: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
# npm installs the browser tests' accessibility auditor (package.json); without it they skip.
NPM := $(shell command -v npm)
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve migrate static test lint install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps make the install step a no-op until a requirements file changes.
$(VENV)/.runtime: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	@touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev $(if $(NPM),node_modules/.installed)

node_modules/.installed: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

# runserver speaks plain HTTP only: no SSL redirect, secure cookies or HSTS, even with
# DEBUG off (DATABASE_URL set); README, LODGETIX_HTTPS.
run: export LODGETIX_HTTPS ?= off
# npm (when there) installs the door page's QR decoder (package.json); without it the door
# page scans by typed code, USB scanner and search only.
run: install $(if $(NPM),node_modules/.installed)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "LodgeTix Live is starting at http://$(HOST):$(PORT)/  (staff admin: http://$(HOST):$(PORT)/admin/)"
	@echo ""
	@# With REDIS_URL set the hold sweeper runs as its own process and broadcasts through Redis;
	@# on the embedded default it runs inside the server process (see README, "How it runs").
	@if [ -n "$$REDIS_URL" ]; then \
		trap 'kill 0' EXIT INT TERM; \
		DB_POOL_MAX_SIZE=2 $(BIN)/python manage.py release_expired_holds --loop & \
		$(BIN)/python manage.py runserver $(HOST):$(PORT); \
	else \
		exec $(BIN)/python manage.py runserver $(HOST):$(PORT); \
	fi

# Deploy steps of the production shape, run once per deploy rather than at every start:
# `make serve` refuses to start until both are done (deployment/serve.py).
migrate: install
	$(BIN)/python manage.py migrate --noinput

static: install
	STATIC_COLLECTED=1 $(BIN)/python manage.py collectstatic --noinput -v 0

# The production shape (README, "Production shape"): supervisord runs nginx in front of
# gunicorn (HTTP) and uvicorn (/ws/), plus the hold sweeper (deployment/supervisord.conf).
# Needs DATABASE_URL (PostgreSQL), REDIS_URL and nginx, and `make migrate static` done.
serve: install
	exec $(BIN)/python -m deployment.serve --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/lint-imports

clean:
	rm -rf $(VENV) node_modules var/*.sqlite3* var/static var/serve-*

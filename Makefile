# Two commands from nothing: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
# npm installs the browser tests' accessibility auditor (package.json); without it they skip.
NPM := $(shell command -v npm)
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint install install-dev clean

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
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "LodgeTix Live is starting at http://$(HOST):$(PORT)/  (staff admin: http://$(HOST):$(PORT)/admin/)"
	@echo ""
	@# With REDIS_URL set the hold sweeper runs as its own process and broadcasts through Redis;
	@# on the embedded default it runs inside the server process (see README, "How it runs").
	@if [ -n "$$REDIS_URL" ]; then \
		trap 'kill 0' EXIT INT TERM; \
		$(BIN)/python manage.py release_expired_holds --loop & \
		$(BIN)/python manage.py runserver $(HOST):$(PORT); \
	else \
		exec $(BIN)/python manage.py runserver $(HOST):$(PORT); \
	fi

# The production shape (README, "Production shape"): supervisord runs nginx in front of
# gunicorn (HTTP) and uvicorn (/ws/), plus the hold sweeper (deployment/supervisord.conf).
# Needs DATABASE_URL (PostgreSQL), REDIS_URL and nginx.
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

# The books API three ways. `make serve-django|serve-flask|serve-fastapi` to run one, `make test` to test all three.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
CPUS := $(shell nproc 2>/dev/null || echo 1)
export HOST

.PHONY: help install lock lint format test serve-django serve-flask serve-fastapi clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed: make PYTHON=/path/to/python3.x ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# One install at a time: `make serve-django & make serve-flask` on a fresh checkout share one .venv.
install:  ## Create .venv with the pinned dependencies
	@if command -v flock >/dev/null; then flock $(VENV).lock $(MAKE) --no-print-directory $(BIN)/.installed; \
	else $(MAKE) --no-print-directory $(BIN)/.installed; fi

lock:  ## Re-resolve pyproject.toml into constraints.txt
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	{ sed -n '1,2p' constraints.txt; $(VENV)-lock/bin/python -m pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt && rm -rf $(VENV)-lock

lint: install  ## ruff: lint and check formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install  ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install  ## Run the contract suite against all three, plus the framework-specific tests
	$(BIN)/python -m pytest

.PHONY: test-postgres migrate test-live test-live-postgres

test-postgres: install  ## The same suite on PostgreSQL, in throwaway databases (TEST_DATABASE_URL)
	$(BIN)/python -m pytest --database=postgresql

# --server=live: each framework's serve target, on a free port and the suite's test database, over real sockets.
test-live: install  ## The suite against the real servers, as the serve targets start them, plus live-only checks
	$(BIN)/python -m pytest --server=live

test-live-postgres: install  ## The live suite on PostgreSQL
	$(BIN)/python -m pytest --server=live --database=postgresql

# The serve targets' prepare steps, all three: each migrates DATABASE_URL, or else its own SQLite file.
migrate: install  ## Migrate and seed the databases of all three (as the serve targets do)
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/flask --app flask_books init-db
	$(BIN)/python -m fastapi_books.initial_data

# gunicorn's control socket (one fixed path per user) is not used here; without it, the Django and
# Flask servers can run side by side.
GUNICORN := $(BIN)/gunicorn --no-control-socket

# $(call serve,LABEL,PORT,PREPARE,SERVER): prepare the database, print a banner, then exec the production server.
# Without BOOKS_API_TOKEN in the environment, one random token is made once into var/api-token and used by every worker
# (`ln` refuses to replace it, so servers started at the same moment still share one token). BOOKS_API_TOKEN set but
# empty is kept: a server that refuses every write.
define serve
	@mkdir -p var
	@[ -n "$${BOOKS_API_TOKEN+set}" ] || [ -s var/api-token ] || { \
		$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > var/api-token.$$$$ && \
		{ ln var/api-token.$$$$ var/api-token 2>/dev/null; rm var/api-token.$$$$; }; }
	$(3)
	@token="$${BOOKS_API_TOKEN-$$(cat var/api-token)}"; url="http://$(HOST):$(2)"; \
	printf '\n%s on %s (%s workers)\n' "$(1)" "$$url" "$(WORKERS)"; \
	printf 'Write token: %s\n\nTry:\n' "$$token"; \
	printf '  curl -i %s/books\n' "$$url"; \
	printf "  curl -i -X POST %s/books -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"title\": \"Snow Crash\", \"author\": \"Neal Stephenson\"}'\n\n" "$$url" "$$token"; \
	BOOKS_API_TOKEN="$$token" PORT="$(2)" exec $(4)
endef

# WORKERS defaults to each server's own advice. gunicorn's docs: 2 x CPUs + 1 sync workers, as each one waits on the
# client and the database in turn. uvicorn's workers are event loops that each keep one CPU busy: one per CPU (FastAPI's
# docs: worker processes to use the cores; uvicorn's own default is 1).
serve-django serve-flask: WORKERS ?= $(shell echo $$(( 2 * $(CPUS) + 1 )))
serve-fastapi: WORKERS ?= $(CPUS)

serve-django: PORT ?= 8001
serve-django: install  ## Django + DRF under gunicorn on :8001
	$(call serve,Django + DRF,$(PORT),$(BIN)/python manage.py migrate --verbosity 0,\
		$(GUNICORN) django_books.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS))

serve-flask: PORT ?= 8002
serve-flask: install  ## Flask under gunicorn on :8002
	$(call serve,Flask,$(PORT),$(BIN)/flask --app flask_books init-db,\
		$(GUNICORN) 'flask_books:create_app()' --bind $(HOST):$(PORT) --workers $(WORKERS))

serve-fastapi: PORT ?= 8003
serve-fastapi: install  ## FastAPI under uvicorn on :8003
	$(call serve,FastAPI,$(PORT),$(BIN)/python -m fastapi_books.initial_data,\
		$(BIN)/uvicorn fastapi_books.main:app --host $(HOST) --port $(PORT) --workers $(WORKERS))

clean:  ## Remove .venv and var/ (the databases and the generated token)
	rm -rf $(VENV) var

# The books API three ways. `make serve-django|serve-flask|serve-fastapi` to run one, `make test` to test all three.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
CPUS := $(shell nproc 2>/dev/null || echo 1)
WORKERS ?= $(shell echo $$(( 2 * $(CPUS) + 1 )))
export HOST WORKERS

.PHONY: help install lock lint format test serve-django serve-flask serve-fastapi clean compare compare-check

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

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

# gunicorn's control socket (one fixed path per user) is not used here; without it, the Django and
# Flask servers can run side by side.
GUNICORN := $(BIN)/gunicorn --no-control-socket

# $(call serve,LABEL,PORT,PREPARE,SERVER): prepare the database, print a banner, then exec the production server.
# Without BOOKS_API_TOKEN in the environment, one random token is made once into var/api-token and used by every worker
# (`ln` refuses to replace it, so servers started at the same moment still share one token).
define serve
	@mkdir -p var
	@[ -n "$$BOOKS_API_TOKEN" ] || [ -s var/api-token ] || { \
		$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > var/api-token.$$$$ && \
		{ ln var/api-token.$$$$ var/api-token 2>/dev/null; rm var/api-token.$$$$; }; }
	$(3)
	@token="$${BOOKS_API_TOKEN:-$$(cat var/api-token)}"; url="http://$(HOST):$(2)"; \
	printf '\n%s on %s (%s workers)\n' "$(1)" "$$url" "$(WORKERS)"; \
	printf 'Write token: %s\n\nTry:\n' "$$token"; \
	printf '  curl -i %s/books\n' "$$url"; \
	printf "  curl -i -X POST %s/books -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"title\": \"Snow Crash\", \"author\": \"Neal Stephenson\"}'\n\n" "$$url" "$$token"; \
	BOOKS_API_TOKEN="$$token" PORT="$(2)" exec $(4)
endef

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

compare: install  ## Write docs/compare.html: the three packages' code side by side, concern by concern
	$(BIN)/python -m sidebyside page

compare-check: compare  ## Check docs/compare.html in headless Chromium (1440 and 390 px), with screenshots
	$(BIN)/python -m sidebyside check-layout

clean:  ## Remove .venv and var/ (the databases and the generated token)
	rm -rf $(VENV) var

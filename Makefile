# The books API three ways. `make serve-django|serve-flask|serve-fastapi` to run one, `make test` to test all three.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
CPUS := $(shell nproc 2>/dev/null || echo 1)
export HOST

.PHONY: help install lock lint typecheck format test fuzz serve-django serve-flask serve-fastapi createsuperuser bench report compare compare-check clean

help:  ## List the targets
	@grep -E '^[a-z -]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-19s %s\n", $$1, $$2}'

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

typecheck: install  ## mypy, strict, over the three packages, the comparison page's code and the tests
	$(BIN)/mypy django_books flask_books fastapi_books sidebyside tests

format: install  ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install  ## Run the contract suite against all three, plus the framework-specific tests
	$(BIN)/python -m pytest

.PHONY: test-postgres migrate test-live test-live-postgres test-stack

test-postgres: install  ## The same suite on PostgreSQL, in throwaway databases (TEST_DATABASE_URL)
	$(BIN)/python -m pytest --database=postgresql

# --server=live: each framework's serve target, on a free port and the suite's test database, over real sockets.
test-live: install  ## The suite against the real servers, as the serve targets start them, plus live-only checks
	$(BIN)/python -m pytest --server=live

test-live-postgres: install  ## The live suite on PostgreSQL
	$(BIN)/python -m pytest --server=live --database=postgresql

# --server=stack: each live server is a whole stack (make stack-*: nginx, two instances, PgBouncer), on PostgreSQL.
# The in-process checks (tests/frameworks, tests/sidebyside) start no server: make test-postgres runs them.
test-stack: install  ## The live suite through nginx and PgBouncer, plus faults: killed instances, restarts (PostgreSQL)
	@command -v nginx >/dev/null && command -v pgbouncer >/dev/null || { \
		echo "make $@ needs nginx and PgBouncer: apt-get install nginx pgbouncer (Debian, Ubuntu)" >&2; exit 1; }
	$(BIN)/python -m pytest --server=stack --database=postgresql --ignore=tests/frameworks --ignore=tests/sidebyside

# The serve targets' prepare steps: each migrates and seeds DATABASE_URL, or else its own SQLite file. A serve target
# runs its own first, unless PREPARE=0 (make stack-* migrates once, before its instances start).
.PHONY: prepare-django prepare-flask prepare-fastapi
prepare-django: install
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

prepare-flask: install
	$(BIN)/flask --app flask_books init-db

prepare-fastapi: install
	$(BIN)/python -m fastapi_books.initial_data

migrate: prepare-django prepare-flask prepare-fastapi  ## Migrate and seed the databases of all three (as the serve targets do)

PREPARE ?= 1
prepare-unless-told = $(if $(filter 0,$(PREPARE)),,prepare-$(1))

# The long run by default; CI passes a small budget and a fixed seed (.ci/run).
FUZZ_EXAMPLES ?= 500
ifndef FUZZ_SEED
FUZZ_SEED := $(shell date +%s)
endif

fuzz: install  ## schemathesis against each server, and the differential test, at a larger budget
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m tests.fuzz_servers
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_differential.py --hypothesis-seed=$(FUZZ_SEED)

# gunicorn's control socket (one fixed path per user) is not used here; without it, the Django and
# Flask servers can run side by side. deploy/gunicorn.conf.py: gevent workers with deadlines for
# slow clients, and the contract's head limits, so that no proxy is needed in front.
GUNICORN := $(BIN)/gunicorn --no-control-socket --config deploy/gunicorn.conf.py

# Without BOOKS_API_TOKEN in the environment, one random token is made once into var/api-token and used by every worker
# (`ln` refuses to replace it, so servers started at the same moment still share one token). BOOKS_API_TOKEN set but
# empty is kept: a server that refuses every write.
define make-token
	@mkdir -p var
	@[ -n "$${BOOKS_API_TOKEN+set}" ] || [ -s var/api-token ] || { \
		$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > var/api-token.$$$$ && \
		{ ln var/api-token.$$$$ var/api-token 2>/dev/null; rm var/api-token.$$$$; }; }
endef
TOKEN := $${BOOKS_API_TOKEN-$$(cat var/api-token)}

# $(call serve,LABEL,PORT,SERVER): print a banner, then exec the production server (the database was prepared first).
define serve
	$(make-token)
	@token="$(TOKEN)"; url="http://$(HOST):$(2)"; \
	printf '\n%s on %s (%s workers)\n' "$(1)" "$$url" "$(WORKERS)"; \
	printf 'Write token: %s\n' "$$token"; \
	printf 'Docs: %s/docs (Swagger UI of %s/openapi.json)\n\nTry:\n' "$$url" "$$url"; \
	printf '  curl -i %s/books\n' "$$url"; \
	printf "  curl -i -X POST %s/books -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"title\": \"Snow Crash\", \"author\": \"Neal Stephenson\"}'\n\n" "$$url" "$$token"; \
	BOOKS_API_TOKEN="$$token" PORT="$(2)" exec $(3)
endef

# WORKERS defaults to each server's own advice. gunicorn's docs: 2 x CPUs + 1 sync workers, as each one waits on the
# client and the database in turn. uvicorn's workers are event loops that each keep one CPU busy: one per CPU (FastAPI's
# docs: worker processes to use the cores; uvicorn's own default is 1).
serve-django serve-flask: WORKERS ?= $(shell echo $$(( 2 * $(CPUS) + 1 )))
serve-fastapi: WORKERS ?= $(CPUS)

# Every worker signs sessions with one DJANGO_SECRET_KEY: without one in the environment, a random key is made once into
# var/django-secret-key (as the token above). The admin's static files are collected into var/static for WhiteNoise.
define make-django-secret-key
	@mkdir -p var; [ -n "$$DJANGO_SECRET_KEY" ] || [ -s var/django-secret-key ] || { \
		$(BIN)/python -c 'from django.core.management.utils import get_random_secret_key as key; print(key())' \
		> var/django-secret-key.$$$$ && \
		{ ln var/django-secret-key.$$$$ var/django-secret-key 2>/dev/null; rm var/django-secret-key.$$$$; }; }
endef

serve-django: PORT ?= 8001
serve-django: install $(call prepare-unless-told,django)  ## Django + DRF under gunicorn on :8001, with Django's admin at /admin/
	$(make-django-secret-key)
	$(call serve,Django + DRF,$(PORT),\
		env DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat var/django-secret-key)}" \
		$(GUNICORN) django_books.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS))

# Django's createsuperuser asks for the name, e-mail and password; with DJANGO_SUPERUSER_PASSWORD set it runs without
# asking, taking DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_EMAIL too.
createsuperuser: install  ## Create a user for Django's admin (on DATABASE_URL, migrated first)
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py createsuperuser $${DJANGO_SUPERUSER_PASSWORD:+--noinput}

serve-flask: PORT ?= 8002
serve-flask: install $(call prepare-unless-told,flask)  ## Flask under gunicorn on :8002
	$(call serve,Flask,$(PORT),\
		$(GUNICORN) 'flask_books:create_app()' --bind $(HOST):$(PORT) --workers $(WORKERS))

# uvicorn's own defaults, stated because the contract promises them: 5 s for a request head (the
# protocol in deploy/ holds the first head to it too, which uvicorn does not) and 30 s to finish
# the requests in progress on SIGTERM (uvicorn's default would wait for ever). WebSockets: a ping
# every 30 s, and 1001 to each on SIGTERM (deploy/ again; uvicorn's is 1012).
UVICORN_DEADLINES := --http deploy.uvicorn_protocol:HeadDeadlineProtocol --timeout-keep-alive 5 \
	--timeout-graceful-shutdown 30 --ws deploy.uvicorn_protocol:GoingAwayWebSocketProtocol --ws-ping-interval 30
# uvicorn believes X-Forwarded-For and -Proto from 127.0.0.1 unless told otherwise; here, only from
# FORWARDED_ALLOW_IPS (the proxy's addresses), as gunicorn in deploy/gunicorn.conf.py.
UVICORN_PROXY = $(if $(FORWARDED_ALLOW_IPS),--forwarded-allow-ips '$(FORWARDED_ALLOW_IPS)',--no-proxy-headers)

serve-fastapi: PORT ?= 8003
serve-fastapi: install $(call prepare-unless-told,fastapi)  ## FastAPI under uvicorn on :8003
	$(call serve,FastAPI,$(PORT),\
		$(BIN)/uvicorn fastapi_books.main:app --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		$(UVICORN_DEADLINES) $(UVICORN_PROXY))

# nginx on PORT in front of INSTANCES of one package's serve target, each on a free port, and PgBouncer between them and
# DATABASE_URL's PostgreSQL (created if missing): deploy/stack.py. nginx and pgbouncer come from the system.
STACK_DATABASE := postgresql://postgres@127.0.0.1:5432
stack-django: PORT ?= 8011
stack-flask: PORT ?= 8012
stack-fastapi: PORT ?= 8013
.PHONY: stack-django stack-flask stack-fastapi
stack-django stack-flask stack-fastapi: stack-%: install  ## nginx, 2 instances and PgBouncer on :8011, :8012, :8013 (PostgreSQL)
	@command -v nginx >/dev/null && command -v pgbouncer >/dev/null || { \
		echo "make $@ needs nginx and PgBouncer: apt-get install nginx pgbouncer (Debian, Ubuntu)" >&2; exit 1; }
	$(make-token)
	$(if $(filter stack-django,$@),$(make-django-secret-key))
	@BOOKS_API_TOKEN="$(TOKEN)" PORT=$(PORT) DATABASE_URL="$${DATABASE_URL:-$(STACK_DATABASE)/books_$*}" \
		exec $(BIN)/python -m deploy.stack $*

# Each server started as its serve target starts it, its /docs opened in Debian's chromium.
.PHONY: docs-check
docs-check: install  ## Open each server's Swagger UI in headless Chromium (screenshots: var/docs-check/)
	$(BIN)/python -m tests.docs_check

# The benchmark: wrk from the system; matplotlib (the charts), py-spy and pyinstrument from the bench extra.
# The catalog's upstream is the test suite's stub (tests/catalog_stub.py), which make bench starts itself.
# A quick run writes its own file, so it never replaces the last full run's results.
BENCH_RESULTS ?= bench/results/$(if $(filter-out 0,$(BENCH_QUICK)),quick,bench).json
REPORT_DOCS ?= docs
REPORT_README ?= README.md

$(BIN)/.installed-bench: pyproject.toml constraints.txt | install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	@touch $@

# The peers make bench compares FastAPI with: Go from Debian's packages alone (GOPATH mode, as Debian ships Go
# libraries as source under /usr/share/gocode; no module download), and Node.js's from npm.
PEERS := bench/peers
GO_PACKAGES := golang-go golang-github-lib-pq-dev golang-github-mattn-go-sqlite3-dev
.PHONY: peers
peers: $(PEERS)/go/books-go $(PEERS)/node/node_modules/.package-lock.json  ## Build the Go and Node.js servers for make bench

$(PEERS)/go/books-go: $(PEERS)/go/main.go
	@command -v go >/dev/null && [ -d /usr/share/gocode/src/github.com/lib/pq ] && \
		[ -d /usr/share/gocode/src/github.com/mattn/go-sqlite3 ] || \
		{ echo "make peers needs Go and its database drivers: apt-get install $(GO_PACKAGES)" >&2; exit 1; }
	cd $(PEERS)/go && GO111MODULE=off GOPATH=/usr/share/gocode go build -o books-go main.go

$(PEERS)/node/node_modules/.package-lock.json: $(PEERS)/node/package.json $(PEERS)/node/package-lock.json
	@command -v npm >/dev/null || { echo "make peers needs Node.js 20 or newer and npm" >&2; exit 1; }
	cd $(PEERS)/node && npm ci --no-audit --no-fund

# On SQLite and on PostgreSQL: throwaway databases on TEST_DATABASE_URL's server, as the test suite makes them.
bench: $(BIN)/.installed-bench peers  ## Load-test the three and what they compare with, on SQLite and PostgreSQL (needs wrk; ~50 min)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk (Debian, Ubuntu)" >&2; exit 1; }
	$(BIN)/python bench/run.py --output $(BENCH_RESULTS)

report: $(BIN)/.installed-bench  ## Write docs/benchmark.md, its chart and README's measured table from bench results
	$(BIN)/python bench/report.py --results $(BENCH_RESULTS) --docs $(REPORT_DOCS) --readme $(REPORT_README)

compare: install  ## Write docs/compare.html: the three packages' code side by side, concern by concern
	$(BIN)/python -m sidebyside page

compare-check: compare  ## Check docs/compare.html in headless Chromium (1440 and 390 px), with screenshots
	$(BIN)/python -m sidebyside check-layout

clean:  ## Remove .venv and var/ (the databases, static files and generated secrets)
	rm -rf $(VENV) var

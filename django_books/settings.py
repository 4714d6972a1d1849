"""Settings for the books API: whatever differs between deployments comes from the environment."""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

# The repository root: manage.py, shared_fixtures/ and var/ live here.
BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# It signs the admin's sessions, so every worker and host needs the same one: `make serve-django`
# makes a random key once (var/django-secret-key). The default serves other manage.py commands and
# says so (Django flags "django-insecure-" keys in `manage.py check --deploy`).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-development-only-key")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# The admin's forms check a browser's Origin against the Host it asked for; behind a proxy that
# changes the host or the scheme, list the origins people use (e.g. https://books.example.com).
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# DATABASES
# ------------------------------------------------------------------------------
DEFAULT_DATABASE_PATH = BASE_DIR / "var" / "django.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DEFAULT_DATABASE_PATH}")}
# "transaction" when DATABASE_URL leads to PgBouncer in transaction pooling (below).
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "transaction"):
    raise ImproperlyConfigured(
        f"DATABASE_POOLER is {DATABASE_POOLER!r}; it must be empty (DATABASE_URL leads to "
        "PostgreSQL itself) or 'transaction' (to PgBouncer in transaction pooling)."
    )
# Persistent connections, as the other two packages' pools keep them (without, Django opens and
# closes one per request), checked before each request reuses one: after a database restart the
# next request reconnects by itself. Django keeps a connection per thread, which under gunicorn's
# gevent workers is a client connection's greenlet: the worker closes it when the client's
# connection ends (deploy/gunicorn.conf.py). On PostgreSQL a pool takes their place (below).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Several workers share the file: with WAL, readers and a writer proceed together; a
        # write takes the lock when its transaction begins (IMMEDIATE) and waits up to 20 s for
        # another worker's write, instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode = WAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        **DATABASES["default"].get("OPTIONS", {}),
    }
else:
    # PostgreSQL: give up connecting after 3 s, so an unreachable database is a quick 503.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # Django's psycopg pool, one per worker process, in place of persistent connections (the pool
    # needs CONN_MAX_AGE 0), which would be one per client. Several workers, and several servers,
    # share PostgreSQL's max_connections (100 by default): 4 per worker is 20 for
    # `make serve-django`'s 5 workers. A worker runs one query at a time (gevent does not patch
    # select), and a request holds its connection only while it runs, so more would sit idle. A
    # request waits up to 3 s for one, then is a 503; a failed reconnection is given up after 1 s,
    # so that the next request tries again at once rather than after psycopg_pool's backoff (up to
    # minutes), and a database that is back serves every worker at once.
    DATABASES["default"]["OPTIONS"].setdefault(
        "pool",
        {
            "name": "django_books",
            "min_size": 1,
            "max_size": env.int("DJANGO_DATABASE_POOL_SIZE", default=4),
            "timeout": 3,
            "reconnect_timeout": 1,
        },
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if DATABASE_POOLER == "transaction":
        # PgBouncer gives each transaction whichever server connection is free, so nothing may
        # outlive one. Not a server-side cursor (QuerySet.iterator()'s, WITH HOLD outside a
        # transaction; Django's docs, "Transaction pooling and server-side cursors"), nor a
        # prepared statement: one psycopg prepared on a server connection is missing on the next
        # ("prepared statement "_pg3_0" does not exist"). Django's psycopg backend prepares none
        # unless OPTIONS names a prepare_threshold, which DATABASE_URL's query can do: here it
        # cannot. PgBouncer 1.21 keeps track of protocol-level prepared statements when its
        # max_prepared_statements is set; psycopg 3.2 can use that with PgBouncer 1.22 and libpq
        # 17, and then a threshold could stay.
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
        # The pool stays: its connections are now PgBouncer's clients, which hold a PostgreSQL
        # connection only while a transaction runs, and it still bounds each worker's share and
        # answers a request that waits 3 s for one with a 503.
if DATABASES["default"]["NAME"] == str(DEFAULT_DATABASE_PATH):
    # SQLite creates the database file, but not the directory it lives in.
    DEFAULT_DATABASE_PATH.parent.mkdir(exist_ok=True)

# URLS
# ------------------------------------------------------------------------------
ROOT_URLCONF = "django_books.urls"
WSGI_APPLICATION = "django_books.wsgi.application"
# The contract has no trailing-slash routes and no redirects: /books/ is a 404.
APPEND_SLASH = False

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    # Django's admin and what it needs: users, sessions, messages, its templates and static files.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_books.books",
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
# Sessions, CSRF, users and messages serve the admin only: DRF's views are exempt from CSRF, and the
# API authenticates with its token alone.
# The proxy's addresses, from FORWARDED_ALLOW_IPS (the variable gunicorn reads for the same
# proxy): a request from one of them comes from the client its X-Forwarded-For names. Empty, the
# default, believes nobody. The middleware is always listed and, with nobody to believe, drops
# itself at start (MiddlewareNotUsed): one MIDDLEWARE for every deployment, and the proxies a
# setting like any other. The scheme needs nothing here: gunicorn sets wsgi.url_scheme from
# X-Forwarded-Proto for the same peers (its forwarded_allow_ips), where SECURE_PROXY_SSL_HEADER
# would believe the header from any peer. USE_X_FORWARDED_HOST stays off: the proxy passes the
# client's Host on as it is.
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", cast=str.strip, default=[])
for address in FORWARDED_ALLOW_IPS:
    # gunicorn would also take "*" and networks, which the middleware does not compare.
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ImproperlyConfigured(
            f"FORWARDED_ALLOW_IPS lists the proxy's addresses one by one: {address!r} is not an "
            "IP address ('*' and networks are not accepted)."
        ) from None
MIDDLEWARE = [
    # First, so that everything after it sees the client's address.
    "django_books.books.middleware.client_address_from_proxy",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_books.books.middleware.HeadWithoutBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# A failed CSRF check is a 403 problem, like every other error (Django's own page is HTML).
CSRF_FAILURE_VIEW = "django_books.books.problems.csrf_failure"

# TEMPLATES
# ------------------------------------------------------------------------------
# The admin's pages and Swagger UI at /docs; the API renders JSON only.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# STATIC FILES
# ------------------------------------------------------------------------------
# The admin's and Swagger UI's (drf-spectacular-sidecar) CSS and JavaScript, served by WhiteNoise
# from the gunicorn workers themselves. `manage.py collectstatic` (run by `make serve-django`)
# copies them to STATIC_ROOT under content-hashed names, which WhiteNoise serves compressed and
# cacheable forever.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# REQUESTS
# ------------------------------------------------------------------------------
# The contract's 413 limit (64 KiB); Django enforces it when the body is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

# LOGGING
# ------------------------------------------------------------------------------
# Django's defaults print to the console only when DEBUG is on: log to stderr always, so a 500's
# traceback reaches the server log (and never the client).
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "level": LOG_LEVEL}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

# DJANGO REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # JSON only: no browsable API.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["django_books.books.parsers.JSONBodyParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "django_books.books.negotiation.IgnoreAcceptNegotiation",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "django_books.books.authentication.BearerTokenAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["django_books.books.permissions.WritesNeedToken"],
    # The API has a token but no users (the admin's users are not the API's).
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "django_books.books.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Escape non-ASCII as \uXXXX, so that any string renders, even a lone surrogate echoed back
    # as an unknown field's name in a 422.
    "UNICODE_JSON": False,
}

# DRF-SPECTACULAR: GET /openapi.json and Swagger UI at GET /docs
# ------------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "Books API",
    "VERSION": "1.3.0",
    "OAS_VERSION": "3.1.0",
    # Request bodies get their own components, without the read-only id.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "django_books.books.schema.require_request_bodies",
    ],
    # The document describes the API, not the documentation routes themselves.
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's JavaScript, CSS and favicon from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No online validator badge: the page makes no request beyond this server.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# THE BOOKS API
# ------------------------------------------------------------------------------
# The bearer token that writes need; unset or empty means every write is refused.
BOOKS_API_TOKEN = env.str("BOOKS_API_TOKEN", default="")

# The upstream catalog that GET /books/{id}/catalog asks (Open Library's search API), and the
# seconds the whole exchange with it may take. Views read both at request time.
CATALOG_URL = env.str("CATALOG_URL", default="https://openlibrary.org")
CATALOG_TIMEOUT = env.float("CATALOG_TIMEOUT", default=2.0)

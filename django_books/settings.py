"""Settings for the books API: whatever differs between deployments comes from the environment."""

from pathlib import Path

import environ

# The repository root: manage.py, shared_fixtures/ and var/ live here.
BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The default is for development only, and says so (Django flags "django-insecure-" keys in
# `manage.py check --deploy`): set DJANGO_SECRET_KEY wherever the server is reachable by others.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-development-only-key")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# DATABASES
# ------------------------------------------------------------------------------
DEFAULT_DATABASE_PATH = BASE_DIR / "var" / "django.sqlite3"
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DEFAULT_DATABASE_PATH}")}
# Persistent connections, checked before each request reuses one: after a database restart the
# next request reconnects by itself.
DATABASES["default"]["CONN_MAX_AGE"] = 60
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
    "rest_framework",
    "django_books.books",
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_books.books.middleware.HeadWithoutBodyMiddleware",
    "django.middleware.common.CommonMiddleware",
]

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
    # The API has a token but no users, so django.contrib.auth is not needed.
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "django_books.books.problems.problem_exception_handler",
    # Escape non-ASCII as \uXXXX, so that any string renders, even a lone surrogate echoed back
    # as an unknown field's name in a 422.
    "UNICODE_JSON": False,
}

# THE BOOKS API
# ------------------------------------------------------------------------------
# The bearer token that writes need; unset or empty means every write is refused.
BOOKS_API_TOKEN = env.str("BOOKS_API_TOKEN", default="")

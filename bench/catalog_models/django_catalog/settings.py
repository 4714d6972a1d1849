"""Django with nothing but the catalog view, on django_books's table; the package's connection
settings (CONN_MAX_AGE 60, health checks)."""

import os

import environ

SECRET_KEY = "benchmark-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django_catalog"]
MIDDLEWARE: list[str] = []
# asgi.py names the urls with the async view.
ROOT_URLCONF = os.environ.get("CATALOG_URLCONF", "django_catalog.urls")
DATABASES = {"default": environ.Env().db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

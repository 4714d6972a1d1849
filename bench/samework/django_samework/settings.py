"""Django + DRF with nothing but the books list: no middleware, no admin, no contract.

The database comes from DATABASE_URL. Its connection is kept as `make serve-django` keeps
django_books's: DJANGO_CONN_MAX_AGE, which the serve target sets to 0 under gevent workers.
"""

import environ

SECRET_KEY = "benchmark-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework", "django_samework"]
MIDDLEWARE = []
ROOT_URLCONF = "django_samework.urls"
WSGI_APPLICATION = "django_samework.wsgi.application"
DATABASES = {"default": environ.Env().db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = environ.Env().int("DJANGO_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

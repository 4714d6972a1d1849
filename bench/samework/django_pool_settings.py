"""django_books's settings with Django's psycopg connection pool (Django 5.1+, psycopg[pool]) in
place of persistent connections (CONN_MAX_AGE), for make bench's side-by-side row.

DJANGO_SETTINGS_MODULE=django_pool_settings, with bench/samework/ on PYTHONPATH.
"""

from django_books.settings import *  # noqa: F403
from django_books.settings import DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool replaces persistent connections: Django refuses both at once.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = True

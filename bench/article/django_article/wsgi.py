"""The WSGI application for gunicorn: gunicorn django_article.wsgi."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_article.settings")
application = get_wsgi_application()

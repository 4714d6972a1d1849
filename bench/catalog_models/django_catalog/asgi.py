import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_catalog.settings")
os.environ.setdefault("CATALOG_URLCONF", "django_catalog.async_urls")
application = get_asgi_application()

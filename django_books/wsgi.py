"""WSGI entry point: `gunicorn django_books.wsgi` serves `application`."""

import os

import django
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_books.settings")


class LenientContentTypeRequest(WSGIRequest):
    """A WSGIRequest that treats an unparseable Content-Type as absent.

    Django raises ValueError for some (such as an unknown RFC 2231 charset) while building the
    request, before any middleware or error handler could turn it into a response.
    """

    def _set_content_type_params(self, meta: dict) -> None:
        """Parse Content-Type as Django does; on ValueError, act as if there were none."""
        try:
            super()._set_content_type_params(meta)
        except ValueError:
            self.content_type, self.content_params = "", {}


class BooksWSGIHandler(WSGIHandler):
    """Django's WSGI handler, with requests that survive a malformed Content-Type."""

    request_class = LenientContentTypeRequest


# What django.core.wsgi.get_wsgi_application() does, with the handler above.
django.setup(set_prefix=False)
application = BooksWSGIHandler()

"""WSGI entry point: `gunicorn django_books.wsgi` serves `application`."""

import io
import os
from wsgiref.types import StartResponse, WSGIEnvironment

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponseBase

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_books.settings")


class BooksWSGIHandler(WSGIHandler):
    """Django's WSGI handler, taking the chunked bodies and Content-Types Django alone cannot."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> HttpResponseBase:
        give_terminated_body_a_length(environ)
        drop_content_type_parameters(environ)
        return super().__call__(environ, start_response)


def give_terminated_body_a_length(environ: WSGIEnvironment) -> None:
    """Read a body that has no Content-Length (a chunked one), and give it one.

    Django reads a body only up to CONTENT_LENGTH, so it would see none. The server sets
    wsgi.input_terminated when wsgi.input ends where the body does (gunicorn does, de-chunking
    it). Reading one byte past the limit is enough for Django's own check to refuse it (413).
    """
    if environ.get("CONTENT_LENGTH") or not environ.get("wsgi.input_terminated"):
        return
    body = environ["wsgi.input"].read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def drop_content_type_parameters(environ: WSGIEnvironment) -> None:
    """Keep only the Content-Type's media type, and a multipart body's boundary (the admin's forms
    need it): the contract ignores the parameters.

    Django and DRF would not. Django raises ValueError for some (such as an RFC 2231 value in an
    unknown charset) while building the request, before any error handler could answer; it decodes
    the query string in the charset named (the contract says UTF-8); and DRF refuses a Content-Type
    longer than 256 characters (415).
    """
    if "CONTENT_TYPE" not in environ:
        return
    media_type, _, parameters = environ["CONTENT_TYPE"].partition(";")
    content_type = media_type.strip()
    if content_type.lower().startswith("multipart/"):
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "boundary":
                content_type += f"; boundary={value.strip()}"
                break
    environ["CONTENT_TYPE"] = content_type


# What django.core.wsgi.get_wsgi_application() does, with the handler above.
django.setup(set_prefix=False)
application = BooksWSGIHandler()

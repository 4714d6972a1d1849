"""Conditional requests (RFC 9110 §13): a book's ETag, If-None-Match on reads, If-Match on writes.

Django's own tools decide at the wrong moment for this API, so the views call these instead, and
use Django's parse_etags and quote_etag. The condition() decorator answers before the view runs:
a 412 would come before DRF's 401, the body's 422 and the missing book's 404, and its check is a
query apart from the write (two writers naming one version would both pass).
ConditionalGetMiddleware works on a GET's finished response. And get_conditional_response, which
both use, takes an If-Match with no valid entity-tag (`If-Match: 3`) for no condition, holds reads
to If-Match and writes to If-None-Match (both ignored here), and answers 412 without a problem.
"""

from django.utils.http import parse_etags, quote_etag
from rest_framework.request import Request

from django_books.books.exceptions import PreconditionFailed
from django_books.books.models import Book


def etag(book: Book) -> str:
    return quote_etag(str(book.version))


def requested_etags(request: Request, header: str) -> list[str] | None:
    """The entity-tags the header names (["*"] for any); None when it is absent or blank.

    parse_etags drops the elements that are not entity-tags (3, w/"3", a * in a list), so that
    they match nothing.
    """
    value = request.headers.get(header, "")
    return parse_etags(value) if value.strip() else None


def is_not_modified(request: Request, book: Book) -> bool:
    """Whether If-None-Match names the book's tag (weak comparison: W/"3" names "3") or is *."""
    etags = requested_etags(request, "If-None-Match")
    if etags is None:
        return False
    return etags == ["*"] or etag(book) in {tag.removeprefix("W/") for tag in etags}


def check_if_match(request: Request, book: Book) -> None:
    """Raise 412 unless If-Match is absent, *, or names the book's tag (strong comparison)."""
    etags = requested_etags(request, "If-Match")
    if etags is not None and etags != ["*"] and etag(book) not in etags:
        raise PreconditionFailed

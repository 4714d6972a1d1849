"""Conditional requests (RFC 9110 §13): a book's ETag, If-None-Match on reads, If-Match on writes.

flask-smorest's own ETag feature (`@blp.etag`) does not fit the contract: its tag is a hash of the
body rather than the stored version, and it answers 428 to a write without If-Match.
"""

import re

from flask import request
from webargs.flaskparser import abort
from werkzeug.datastructures import ETags
from werkzeug.http import quote_etag

from flask_books.models import Book

# One element of the header's list that is an entity-tag: "…" or W/"…", the W uppercase.
ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')

# The OpenAPI description of the tag and of the two request headers.
ETAG_HEADERS = {"ETag": {"required": True, "schema": {"type": "string"}}}
IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "schema": {"type": "string"}}
IF_MATCH = {"in": "header", "name": "If-Match", "schema": {"type": "string"}}


def requested_etags(header: str) -> ETags | None:
    # Not request.if_match / if_none_match: Werkzeug's parse_etags takes an unquoted 3 for the tag
    # "3" and w/"3" for a weak one, so `If-Match: 3` would match. Here an element that is not an
    # entity-tag matches nothing, as in Django's parse_etags; Werkzeug's ETags does the comparing.
    value = request.headers.get(header, "").strip()
    if not value:
        return None
    if value == "*":
        return ETags(star_tag=True)
    tags = [ENTITY_TAG.fullmatch(element.strip()) for element in value.split(",")]
    strong = [tag[2] for tag in tags if tag and not tag[1]]
    weak = [tag[2] for tag in tags if tag and tag[1]]
    return ETags(strong, weak)


def etag(book: Book) -> str:
    return quote_etag(str(book.version))


def is_not_modified(book: Book) -> bool:
    """Tell whether If-None-Match is * or names the book's tag (weakly: W/"3" names "3")."""
    tags = requested_etags("If-None-Match")
    return tags is not None and tags.contains_weak(str(book.version))


def check_if_match(book: Book) -> None:
    """Answer 412 unless If-Match is absent, `*`, or names the book's tag (strong comparison)."""
    tags = requested_etags("If-Match")
    if tags is not None and not tags.contains(str(book.version)):
        abort(412, message="If-Match does not name the book's current ETag.")

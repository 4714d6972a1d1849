"""The books resource: list, read, create, replace, update and delete, and a book's record in
the upstream catalog."""

from typing import Any
from urllib.parse import quote

from flask import Response, request, url_for
from flask_smorest import Blueprint
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from webargs.flaskparser import abort

from flask_books.auth import NEEDS_TOKEN, require_write_token
from flask_books.catalog import search_catalog
from flask_books.changes import record_change
from flask_books.conditional import (
    ETAG_HEADERS,
    IF_MATCH,
    IF_NONE_MATCH,
    check_if_match,
    etag,
    is_not_modified,
)
from flask_books.db import close_session, get_session, retry_when_stale
from flask_books.folding import ASCII_LOWERCASE, ascii_lower
from flask_books.models import Book
from flask_books.parsing import BooksParser, require_json_body
from flask_books.problems import problem_responses
from flask_books.schemas import (
    BookInSchema,
    BookListQuerySchema,
    BookPatchSchema,
    BookSchema,
    CatalogRecordSchema,
)

blp = Blueprint("books", __name__, url_prefix="/books", description="The catalog.")
# @blp.arguments parses with webargs' FlaskParser held to the contract (parsing.py). flask-smorest
# documents a Blueprint subclass for this; only this blueprint parses, so it alone gets the parser.
blp.ARGUMENTS_PARSER = BooksParser()

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}

# The problems each write can answer with.
CREATE_PROBLEMS = (400, 401, 409, 413, 415, 422, 503)
CHANGE_PROBLEMS = (400, 401, 404, 409, 412, 413, 415, 422, 503)
DELETE_PROBLEMS = (401, 404, 412, 503)

# The OpenAPI description of the writes' condition, and of the list's and a create's headers.
CONDITIONAL_WRITE = {**NEEDS_TOKEN, "parameters": [IF_MATCH]}
PAGE_HEADERS = {
    "X-Total-Count": {"required": True, "schema": {"type": "integer", "minimum": 0}},
    "Link": {"required": False, "schema": {"type": "string"}},
}
LOCATION_HEADERS = {"Location": {"required": True, "schema": {"type": "string"}}, **ETAG_HEADERS}


@blp.before_request
def check_write_request() -> None:
    # Blueprint hooks run only for matched routes, so 404 and 405 have already won.
    if request.method in WRITE_METHODS:
        require_write_token()
    if request.method in BODY_METHODS:
        require_json_body()


def get_book_or_404(book_id: int) -> Book:
    book = get_session().get(Book, book_id)
    if book is None:
        abort(404, message="There is no book with this id.")
    return book


def get_book_to_change(book_id: int) -> Book:
    book = get_book_or_404(book_id)
    check_if_match(book)
    return book


def save_book(book: Book, changes: dict[str, str]) -> None:
    """Apply the changes and commit with their event; the unique constraint, not a SELECT, decides
    a 409."""
    session = get_session()
    created, version = book.id is None, book.version
    for field, value in changes.items():
        setattr(book, field, value)
    session.add(book)
    try:
        # The flush UPDATEs only the changed columns, WHERE the version is still the one read: a
        # PATCH keeps another's change to the other field, and StaleDataError stops a write to a
        # book deleted or changed meanwhile (retry_when_stale). No savepoint around it: on SQLite,
        # pysqlite begins no transaction before a SAVEPOINT, whose RELEASE then commits the book
        # alone, ahead of its event. A failed write ends the request, rolled back (409).
        session.flush()
    except IntegrityError:
        abort(409, message="Another book already has this title and author.")
    if created:
        record_change(session, "created", book)
    elif book.version != version:  # no net change is no UPDATE, and no event
        record_change(session, "updated", book)
    session.commit()


def matches_search(search: str) -> ColumnElement[bool]:
    """Title or author contains search, A-Z case-insensitively: %, _ and \\ are literal."""
    if "\x00" in search:
        return false()  # no stored text contains NUL, and PostgreSQL refuses it even in a query
    folded = search.translate(ASCII_LOWERCASE)
    # autoescape: SQLAlchemy escapes % and _ with "/" (and "/" itself), and its ESCAPE '/'
    # replaces PostgreSQL's default escape, \.
    return or_(
        ascii_lower(Book.title).contains(folded, autoescape=True),
        ascii_lower(Book.author).contains(folded, autoescape=True),
    )


def page_links(*, limit: int, offset: int, total: int, search: str | None) -> str | None:
    """The Link header (RFC 8288): next, then prev, for whichever of them exists."""

    def target(page_offset: int) -> str:
        search_part = "" if search is None else f"&search={quote(search, safe='')}"
        return f"<{url_for('.list_books')}?limit={limit}&offset={page_offset}{search_part}>"

    links = []
    if offset + limit < total:
        links.append(f'{target(offset + limit)}; rel="next"')
    if offset > 0:
        links.append(f'{target(max(offset - limit, 0))}; rel="prev"')
    return ", ".join(links) or None


@blp.get("")
@blp.arguments(BookListQuerySchema, location="query")
@blp.response(200, BookSchema(many=True), headers=PAGE_HEADERS)
@blp.doc(responses=problem_responses(422, 503))
def list_books(query: dict[str, Any]) -> tuple[list[Book], dict[str, str]]:
    """List books by id, a page at a time, filtered by a search of title and author."""
    limit, offset, search = query["limit"], query["offset"], query.get("search")
    matching = [matches_search(search)] if search else []
    session = get_session()
    total = session.execute(select(func.count()).select_from(Book).where(*matching)).scalar_one()
    page = select(Book).where(*matching).order_by(Book.id)
    books = session.scalars(page.limit(limit).offset(offset)).all()
    headers = {"X-Total-Count": str(total)}
    if links := page_links(limit=limit, offset=offset, total=total, search=search):
        headers["Link"] = links
    return list(books), headers


@blp.get("/<book_id:book_id>")
@blp.response(200, BookSchema, headers=ETAG_HEADERS)
@blp.alt_response(304, description="The book is unchanged.", headers=ETAG_HEADERS)
@blp.doc(parameters=[IF_NONE_MATCH], responses=problem_responses(404, 503))
def read_book(book_id: int) -> Response | tuple[Book, dict[str, str]]:
    """Return one book, or 304 if If-None-Match names its ETag."""
    book = get_book_or_404(book_id)
    if is_not_modified(book):
        # Werkzeug sends a 304 without a body, Content-Type or Content-Length.
        return Response(status=304, headers={"ETag": etag(book)})
    return book, {"ETag": etag(book)}


@blp.get("/<book_id:book_id>/catalog")
@blp.response(200, CatalogRecordSchema)
@blp.doc(responses=problem_responses(404, 502, 503, 504))
def read_book_catalog(book_id: int) -> dict[str, Any]:
    """Return the book's record in the upstream catalog (Open Library's search)."""
    book = get_book_or_404(book_id)
    title, author = book.title, book.author
    # End the transaction and give the connection back before the wait. Held across it, every
    # request waiting on the catalog would keep a database connection (idle in transaction, on
    # PostgreSQL): as many waits as the pool has connections would leave every other request a 503.
    close_session()
    record = search_catalog(title, author)
    if record is None:
        abort(404, message="The catalog has no record of this book.")
    return record


@blp.post("")
@blp.arguments(BookInSchema)
@blp.response(201, BookSchema, headers=LOCATION_HEADERS)
@blp.doc(**NEEDS_TOKEN, responses=problem_responses(*CREATE_PROBLEMS))
def create_book(book_in: dict[str, str]) -> tuple[Book, dict[str, str]]:
    """Create a book; its URL is in the Location header."""
    book = Book()
    save_book(book, book_in)
    return book, {"Location": url_for(".read_book", book_id=book.id), "ETag": etag(book)}


@blp.put("/<book_id:book_id>")
@blp.arguments(BookInSchema)
@blp.response(200, BookSchema, headers=ETAG_HEADERS)
@blp.doc(**CONDITIONAL_WRITE, responses=problem_responses(*CHANGE_PROBLEMS))
@retry_when_stale
def update_book(book_in: dict[str, str], book_id: int) -> tuple[Book, dict[str, str]]:
    """Replace a book's title and author."""
    book = get_book_to_change(book_id)
    save_book(book, book_in)
    return book, {"ETag": etag(book)}


@blp.patch("/<book_id:book_id>")
@blp.arguments(BookPatchSchema(partial=True))
@blp.response(200, BookSchema, headers=ETAG_HEADERS)
@blp.doc(**CONDITIONAL_WRITE, responses=problem_responses(*CHANGE_PROBLEMS))
@retry_when_stale
def patch_book(book_in: dict[str, str], book_id: int) -> tuple[Book, dict[str, str]]:
    """Change the given fields of a book; an empty object changes nothing."""
    book = get_book_to_change(book_id)
    save_book(book, book_in)
    return book, {"ETag": etag(book)}


@blp.delete("/<book_id:book_id>")
@blp.response(204)
@blp.doc(**CONDITIONAL_WRITE, responses=problem_responses(*DELETE_PROBLEMS))
@retry_when_stale
def delete_book(book_id: int) -> None:
    """Delete a book; the 204 response has no body."""
    book = get_book_to_change(book_id)
    session = get_session()
    # DELETE … WHERE id = … AND version = <the version read>: if another request deleted (or
    # changed) the book meanwhile, no row matches and the flush raises StaleDataError, so only
    # the request that removed the row goes on to its event and a 204; the others read again and
    # answer 404.
    session.delete(book)
    session.flush()
    record_change(session, "deleted", book)
    session.commit()

"""The books resource: list, read, create, replace, update and delete."""

from typing import Any
from urllib.parse import quote

from flask import request, url_for
from flask_smorest import abort
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.exc import IntegrityError

from flask_books.auth import require_write_token
from flask_books.db import get_session
from flask_books.folding import ASCII_LOWERCASE, ascii_lower
from flask_books.models import Book
from flask_books.parsing import BooksBlueprint, require_json_body
from flask_books.schemas import BookListQuerySchema, BookPatchSchema, BookSchema

blp = BooksBlueprint("books", __name__, url_prefix="/books", description="The catalog.")

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


@blp.before_request
def check_write_request() -> None:
    """Gate every write: the token (401), then the body's size (413) and type (415)."""
    # Blueprint hooks run only for matched routes, so 404 and 405 have already won.
    if request.method in WRITE_METHODS:
        require_write_token()
    if request.method in BODY_METHODS:
        require_json_body()


def get_book_or_404(book_id: int) -> Book:
    """Return the book with this id, or answer 404."""
    book = get_session().get(Book, book_id)
    if book is None:
        abort(404, message=f"There is no book with id {book_id}.")
    return book


def save_book(book: Book, changes: dict[str, str]) -> Book:
    """Apply the changes and commit; the unique constraint, not a SELECT, decides a 409."""
    session = get_session()
    try:
        # The savepoint keeps the transaction usable after the failed write (PostgreSQL needs it).
        with session.begin_nested():
            for field, value in changes.items():
                setattr(book, field, value)
            session.add(book)
    except IntegrityError:
        abort(409, message="Another book already has this title and author.")
    session.commit()
    return book


def matches_search(search: str) -> ColumnElement[bool]:
    """Title or author contains search, A-Z case-insensitively: %, _ and \\ are literal."""
    if "\x00" in search:
        return false()  # no stored text contains NUL, and databases mishandle it in a pattern
    folded = search.translate(ASCII_LOWERCASE)
    # autoescape: SQLAlchemy escapes % and _ with "/" (and "/" itself), and its ESCAPE '/'
    # replaces PostgreSQL's default escape, \.
    return or_(
        ascii_lower(Book.title).contains(folded, autoescape=True),
        ascii_lower(Book.author).contains(folded, autoescape=True),
    )


def page_links(query: dict[str, Any], total: int) -> dict[str, str]:
    """Return the Link header (RFC 8288) to the next and previous pages, if there are any."""
    limit, offset, search = query["limit"], query["offset"], query["search"]

    def target(page_offset: int) -> str:
        """Return the relative URL of the page that starts at page_offset."""
        search_part = "" if search is None else f"&search={quote(search, safe='')}"
        return f"<{url_for('.list_books')}?limit={limit}&offset={page_offset}{search_part}>"

    links = []
    if offset + limit < total:
        links.append(f'{target(offset + limit)}; rel="next"')
    if offset > 0:
        links.append(f'{target(max(offset - limit, 0))}; rel="prev"')
    return {"Link": ", ".join(links)} if links else {}


@blp.get("")
@blp.arguments(BookListQuerySchema, location="query")
@blp.response(200, BookSchema(many=True))
def list_books(query: dict[str, Any]) -> tuple[list[Book], dict[str, str]]:
    """List books by id, a page at a time, filtered by a search of title and author."""
    matching = [matches_search(query["search"])] if query["search"] else []
    session = get_session()
    total = session.execute(select(func.count()).select_from(Book).where(*matching)).scalar_one()
    page = select(Book).where(*matching).order_by(Book.id)
    books = session.scalars(page.limit(query["limit"]).offset(query["offset"])).all()
    return list(books), {"X-Total-Count": str(total), **page_links(query, total)}


@blp.get("/<book_id:book_id>")
@blp.response(200, BookSchema)
def read_book(book_id: int) -> Book:
    """Return one book."""
    return get_book_or_404(book_id)


@blp.post("")
@blp.arguments(BookSchema)
@blp.response(201, BookSchema)
def create_book(book_in: dict[str, str]) -> tuple[Book, dict[str, str]]:
    """Create a book; its URL is in the Location header."""
    book = save_book(Book(), book_in)
    return book, {"Location": url_for(".read_book", book_id=book.id)}


@blp.put("/<book_id:book_id>")
@blp.arguments(BookSchema)
@blp.response(200, BookSchema)
def update_book(book_in: dict[str, str], book_id: int) -> Book:
    """Replace a book's title and author."""
    return save_book(get_book_or_404(book_id), book_in)


@blp.patch("/<book_id:book_id>")
@blp.arguments(BookPatchSchema(partial=True))
@blp.response(200, BookSchema)
def patch_book(book_in: dict[str, str], book_id: int) -> Book:
    """Change the given fields of a book; an empty object changes nothing."""
    return save_book(get_book_or_404(book_id), book_in)


@blp.delete("/<book_id:book_id>")
@blp.response(204)
def delete_book(book_id: int) -> None:
    """Delete a book; the 204 response has no body."""
    session = get_session()
    session.delete(get_book_or_404(book_id))
    session.commit()

"""The /books resource: list, read, create, replace, patch and delete books."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, false, func, or_, select

from fastapi_books.db import SessionDep
from fastapi_books.folding import ASCII_LOWERCASE, ascii_lower
from fastapi_books.methods import options_response
from fastapi_books.models import Book, BookCreate, BookPublic, BookUpdate, DecimalInt
from fastapi_books.routing import BookRoute

router = APIRouter(prefix="/books", tags=["books"], route_class=BookRoute)

# The largest OFFSET the databases take, as for ids: a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1


def page_links(*, limit: int, offset: int, total: int, search: str | None) -> str | None:
    """The Link header (RFC 8288): next, then prev, for whichever of them exists."""

    def target(page_offset: int) -> str:
        """The URL of the page at this offset, keeping limit and search."""
        query = f"limit={limit}&offset={page_offset}"
        if search is not None:
            query += f"&search={quote(search, safe='')}"
        return f"<{router.prefix}?{query}>"

    links = []
    if offset + limit < total:
        links.append(f'{target(offset + limit)}; rel="next"')
    if offset > 0:
        links.append(f'{target(max(offset - limit, 0))}; rel="prev"')
    return ", ".join(links) or None


def matches_search(search: str) -> ColumnElement[bool]:
    """Title or author contains search: ASCII letters case-insensitively, % _ \\ as themselves."""
    if "\x00" in search:
        return false()  # no book contains NUL, and PostgreSQL refuses it even in a query
    folded = search.translate(ASCII_LOWERCASE)
    return or_(
        ascii_lower(col(Book.title)).contains(folded, autoescape=True),
        ascii_lower(col(Book.author)).contains(folded, autoescape=True),
    )


def get_book_or_404(session: Session, book_id: int) -> Book:
    """The book with this id, or 404."""
    book = session.get(Book, book_id)
    if book is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Book not found.")
    return book


def save_book(session: Session, book: Book, changes: dict[str, str]) -> Book:
    """Apply the changes and store the book; 409 if another book has the same title and author."""
    # The unique constraint decides, in a savepoint, so concurrent writes cannot both pass. The
    # changes go inside it: begin_nested() first flushes whatever is already pending.
    try:
        with session.begin_nested():
            book.sqlmodel_update(changes)
            session.add(book)
    except IntegrityError as error:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail="Another book already has this title and author.",
        ) from error
    session.commit()
    session.refresh(book)
    return book


@router.get("", response_model=list[BookPublic])
def read_books(
    session: SessionDep,
    response: Response,
    limit: Annotated[DecimalInt, Query(ge=1, le=100)] = 100,
    offset: Annotated[DecimalInt, Query(ge=0, le=MAX_OFFSET)] = 0,
    search: str | None = None,
) -> list[Book]:
    """List books by id, a page at a time, matching search in title or author if given."""
    matching = [matches_search(search)] if search else []
    total = session.exec(select(func.count()).select_from(Book).where(*matching)).one()
    page = select(Book).where(*matching).order_by(col(Book.id)).offset(offset).limit(limit)
    response.headers["X-Total-Count"] = str(total)
    if links := page_links(limit=limit, offset=offset, total=total, search=search):
        response.headers["Link"] = links
    return list(session.exec(page).all())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BookPublic)
def create_book(
    session: SessionDep, book_in: BookCreate, request: Request, response: Response
) -> Book:
    """Create a book; its URL is in the Location header."""
    book = save_book(session, Book(), book_in.model_dump())
    response.headers["Location"] = request.app.url_path_for("read_book", book_id=book.id)
    return book


@router.options("", status_code=status.HTTP_204_NO_CONTENT)
def options_books(request: Request) -> Response:
    """List the methods /books allows."""
    return options_response(request)


@router.get("/{book_id:book_id}", response_model=BookPublic)
def read_book(session: SessionDep, book_id: int) -> Book:
    """Get one book."""
    return get_book_or_404(session, book_id)


@router.put("/{book_id:book_id}", response_model=BookPublic)
def update_book(session: SessionDep, book_id: int, book_in: BookCreate) -> Book:
    """Replace a book's title and author."""
    book = get_book_or_404(session, book_id)
    return save_book(session, book, book_in.model_dump())


@router.patch("/{book_id:book_id}", response_model=BookPublic)
def patch_book(session: SessionDep, book_id: int, book_in: BookUpdate) -> Book:
    """Change the given fields of a book; {} changes nothing."""
    book = get_book_or_404(session, book_id)
    return save_book(session, book, book_in.model_dump(exclude_unset=True))


@router.delete(
    "/{book_id:book_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
def delete_book(session: SessionDep, book_id: int) -> None:
    """Delete a book; its id is never handed out again."""
    book = get_book_or_404(session, book_id)
    session.delete(book)
    session.commit()


@router.options("/{book_id:book_id}", status_code=status.HTTP_204_NO_CONTENT)
def options_book(request: Request) -> Response:
    """List the methods /books/{id} allows."""
    return options_response(request)

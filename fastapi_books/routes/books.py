"""The /books resource: list, read, create, replace, patch and delete books."""

from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, Security, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, false, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Match
from starlette.types import Scope

from fastapi_books.auth import require_write_token
from fastapi_books.catalog import CatalogRecord, CatalogSessionDep, search_catalog
from fastapi_books.changes import record_change
from fastapi_books.conditional import EntityTags, IfMatch, IfNoneMatch, etag, require_match
from fastapi_books.db import SessionDep
from fastapi_books.folding import ASCII_LOWERCASE, ascii_lower
from fastapi_books.json_body import JSONBodyRequest
from fastapi_books.models import (
    DECIMAL_DIGITS,
    Book,
    BookCreate,
    BookPublic,
    BookUpdate,
)
from fastapi_books.openapi import (
    ETAG_HEADERS,
    LOCATION_HEADERS,
    NOT_MODIFIED,
    PAGE_HEADERS,
    problem_responses,
)

MAX_BOOK_ID = 2**63 - 1
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The writes' security scheme, for the OpenAPI document: it refuses nothing, BookRoute checks.
BEARER_SCHEME = Security(HTTPBearer(auto_error=False))


class BookIdConvertor(Convertor[int]):
    """A canonical id in a path: [1-9][0-9]*, so "01", "+1" and "abc" are no route (404)."""

    # At most 19 digits: int() of the match never fails; BookRoute drops the few above 2**63-1.
    regex = "[1-9][0-9]{0,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("book_id", BookIdConvertor())


class BookRoute(APIRoute):
    """Routes ids up to 2**63-1 only. A write needs the bearer token: the route documents the
    scheme, and checks the token, then the body, before FastAPI reads the body."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if WRITE_METHODS & set(kwargs.get("methods") or ()):
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), BEARER_SCHEME]
        super().__init__(path, endpoint, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        book_id = child_scope.get("path_params", {}).get("book_id")
        if isinstance(book_id, int) and book_id > MAX_BOOK_ID:
            return Match.NONE, {}
        return match, child_scope

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # FastAPI reads and parses the body before it solves dependencies, so a token dependency
        # would answer too late: the contract puts 401 before 413, 415 and 400.
        handle = super().get_route_handler()

        async def handle_checked(request: Request) -> Response:
            request = JSONBodyRequest(request.scope, request.receive)
            if request.method in WRITE_METHODS:
                require_write_token(request)
            if request.method in BODY_METHODS:
                await request.json()
            return await handle(request)

        return handle_checked


router = APIRouter(prefix="/books", tags=["books"], route_class=BookRoute)

# How often a write reads the book again after another request changed or deleted it first. Each
# retry means another write to this book committed meanwhile, so N simultaneous writes of one
# book need at most N - 1.
MAX_WRITE_ATTEMPTS = 20

# The largest OFFSET the databases take, as for ids: a signed 64-bit integer.
MAX_OFFSET = 2**63 - 1

# The problems each write can answer, as the OpenAPI document lists them.
CREATE_PROBLEMS = (400, 401, 409, 413, 415, 422, 503)
CHANGE_PROBLEMS = (400, 401, 404, 409, 412, 413, 415, 422, 503)
DELETE_PROBLEMS = (401, 404, 412, 503)

# The id in a path. BookRoute routes no other, so the bounds are for the OpenAPI document.
BookId = Annotated[int, Path(ge=1, le=MAX_BOOK_ID)]


def page_links(*, limit: int, offset: int, total: int, search: str | None) -> str | None:
    """The Link header (RFC 8288): next, then prev, for whichever of them exists."""

    def target(page_offset: int) -> str:
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
    """Title or author contains search, A-Z case-insensitively: %, _ and \\ are literal."""
    if "\x00" in search:
        return false()  # no stored text contains NUL, and PostgreSQL refuses it even in a query
    folded = search.translate(ASCII_LOWERCASE)
    # autoescape: SQLAlchemy escapes % and _ with "/" (and "/" itself), and its ESCAPE '/'
    # replaces PostgreSQL's default escape, \.
    return or_(
        ascii_lower(col(Book.title)).contains(folded, autoescape=True),
        ascii_lower(col(Book.author)).contains(folded, autoescape=True),
    )


async def get_book_or_404(session: AsyncSession, book_id: int) -> Book:
    book = await session.get(Book, book_id)
    if book is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND, detail="There is no book with this id."
        )
    return book


async def save_book(session: AsyncSession, book: Book, changes: dict[str, str]) -> None:
    """Apply the changes and flush them; 409 if another book has the same title and author."""
    book.sqlmodel_update(changes)
    session.add(book)
    # The unique constraint decides, so concurrent writes cannot both pass. No savepoint around the
    # flush: on SQLite, pysqlite (under aiosqlite) begins no transaction before a SAVEPOINT, whose
    # RELEASE then commits the book alone, ahead of its event. A failed write ends the request,
    # its session rolled back (409).
    try:
        await session.flush()
    except IntegrityError as error:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail="Another book already has this title and author.",
        ) from error


async def write_current_book(
    session: AsyncSession,
    book_id: int,
    if_match: EntityTags | None,
    write: Callable[[Book], Awaitable[None]],
) -> Book:
    """Write the book as it is now: 404 if gone, 412 unless If-Match holds, else write and commit.

    The write's UPDATE or DELETE names the version read here (version_id_col). If another request
    changed or deleted the book in between, it matches no row and SQLAlchemy raises StaleDataError
    instead of overwriting that change, answering 204 twice or a 500: then the book is read and
    judged again, so the answer is the one this request gets when it comes after the other.
    """
    for _ in range(MAX_WRITE_ATTEMPTS):
        book = await get_book_or_404(session, book_id)
        require_match(book, if_match)  # checked on the version the write will name: atomic
        try:
            await write(book)
            await session.commit()
        except StaleDataError:
            await session.rollback()
            continue
        return book
    raise HTTPException(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        detail="The book kept changing while this request tried to write it; try again.",
    )


async def change_book(
    session: AsyncSession,
    book_id: int,
    if_match: EntityTags | None,
    changes: dict[str, str],
    response: Response,
) -> Book:
    """Store the changes in the book as it is now, and give the response its new ETag."""

    async def write(book: Book) -> None:
        version = book.version
        await save_book(session, book, changes)
        if book.version != version:  # no net change is no UPDATE, and no event
            await record_change(session, "updated", book)

    book = await write_current_book(session, book_id, if_match, write)
    response.headers["ETag"] = etag(book)
    return book


@router.get(
    "",
    response_model=list[BookPublic],
    responses={200: {"headers": PAGE_HEADERS}, **problem_responses(422, 503)},
)
async def list_books(
    session: SessionDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=100), DECIMAL_DIGITS] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET), DECIMAL_DIGITS] = 0,
    search: str | None = None,
) -> list[Book]:
    """List books by id, a page at a time, matching search in title or author if given."""
    matching = [matches_search(search)] if search else []
    total = (await session.exec(select(func.count()).select_from(Book).where(*matching))).one()
    page = select(Book).where(*matching).order_by(col(Book.id)).offset(offset).limit(limit)
    response.headers["X-Total-Count"] = str(total)
    if links := page_links(limit=limit, offset=offset, total=total, search=search):
        response.headers["Link"] = links
    return list((await session.exec(page)).all())


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BookPublic,
    responses={
        201: {"headers": {**LOCATION_HEADERS, **ETAG_HEADERS}},
        **problem_responses(*CREATE_PROBLEMS),
    },
)
async def create_book(
    session: SessionDep, book_in: BookCreate, request: Request, response: Response
) -> Book:
    """Create a book; its URL is in the Location header."""
    book = Book.model_validate(book_in)
    await save_book(session, book, {})
    await record_change(session, "created", book)
    await session.commit()
    response.headers["Location"] = request.app.url_path_for("read_book", book_id=book.id)
    response.headers["ETag"] = etag(book)
    return book


@router.get(
    "/{book_id:book_id}",
    response_model=BookPublic,
    responses={200: {"headers": ETAG_HEADERS}, **NOT_MODIFIED, **problem_responses(404, 503)},
)
async def read_book(
    session: SessionDep, book_id: BookId, if_none_match: IfNoneMatch, response: Response
) -> Book | Response:
    """Get one book; 304 if If-None-Match names its current ETag."""
    book = await get_book_or_404(session, book_id)
    if if_none_match is not None and if_none_match.match_weakly(book):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag(book)})
    response.headers["ETag"] = etag(book)
    return book


@router.put(
    "/{book_id:book_id}",
    response_model=BookPublic,
    responses={
        200: {"headers": ETAG_HEADERS},
        **problem_responses(*CHANGE_PROBLEMS),
    },
)
async def update_book(
    session: SessionDep,
    book_id: BookId,
    book_in: BookCreate,
    if_match: IfMatch,
    response: Response,
) -> Book:
    """Replace a book's title and author."""
    return await change_book(session, book_id, if_match, book_in.model_dump(), response)


@router.patch(
    "/{book_id:book_id}",
    response_model=BookPublic,
    responses={
        200: {"headers": ETAG_HEADERS},
        **problem_responses(*CHANGE_PROBLEMS),
    },
)
async def patch_book(
    session: SessionDep,
    book_id: BookId,
    book_in: BookUpdate,
    if_match: IfMatch,
    response: Response,
) -> Book:
    """Change the given fields of a book; {} changes nothing."""
    return await change_book(
        session, book_id, if_match, book_in.model_dump(exclude_unset=True), response
    )


@router.delete(
    "/{book_id:book_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*DELETE_PROBLEMS),
)
async def delete_book(session: SessionDep, book_id: BookId, if_match: IfMatch) -> None:
    """Delete a book; its id is never handed out again."""

    async def delete(book: Book) -> None:
        await session.delete(book)
        # The DELETE's row count decides: of simultaneous DELETEs, only the one that removed the
        # row goes on to its event and a 204; the others find no book when they look again (404).
        await session.flush()
        await record_change(session, "deleted", book)

    await write_current_book(session, book_id, if_match, delete)


@router.get(
    "/{book_id:book_id}/catalog",
    response_model=CatalogRecord,
    responses=problem_responses(404, 502, 503, 504),
)
async def read_book_catalog(
    session: SessionDep, catalog_session: CatalogSessionDep, book_id: BookId
) -> CatalogRecord:
    """Get the book's record in the upstream catalog, which is asked only for a book that exists."""
    book = await get_book_or_404(session, book_id)
    # SessionDep closes the session only after the route returns: closed here, the read's
    # transaction ends and its connection goes back to the pool before the wait. Held across it,
    # a slow catalog would leave PostgreSQL connections idle in transaction and empty the pool,
    # so that every other request, GET /books/1 too, would queue for a connection behind it.
    await session.close()
    return await search_catalog(catalog_session, title=book.title, author=book.author)

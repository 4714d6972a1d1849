"""The upstream catalog: the worker's one HTTP session with it, and the search for a book."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import aiohttp
import anyio
from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fastapi_books.config import get_settings

logger = logging.getLogger(__name__)

# Open Library asks its API clients to name themselves.
USER_AGENT = "books-three-ways/1.2 (fastapi_books)"
SEARCH_FIELDS = "key,first_publish_year,isbn"
MAX_ISBNS = 5
# A request waiting on the catalog holds one connection to it: enough for 1,000 at once, so that
# none waits for a free one.
MAX_CONNECTIONS = 1000

CatalogSession = aiohttp.ClientSession


class CatalogRecord(BaseModel):
    """A book's record in the upstream catalog."""

    key: str
    first_publish_year: int | None
    isbns: list[str] = Field(max_length=MAX_ISBNS)


class CatalogSearch(BaseModel):
    """The catalog's answer. Only its first record is read: the others may be anything."""

    model_config = ConfigDict(strict=True)

    docs: list[Any]


class CatalogDoc(BaseModel):
    """The first record of the catalog's answer. Strict: true is no year, and 1965 no key."""

    model_config = ConfigDict(strict=True)

    key: str
    first_publish_year: int | None = None
    isbn: list[str] = []


class AskedOnce(aiohttp.ClientConnectionError):
    """The connection to the catalog was lost before its answer: not asked again."""


async def ask_once(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Pass on a lost connection as AskedOnce, which aiohttp does not retry.

    aiohttp sends a GET again when its connection is lost before the answer (RFC 9112 9.3.1),
    with no public switch to turn that off (aio-libs/aiohttp#10790); the contract asks the catalog
    exactly once. A middleware is aiohttp's public hook around each attempt.
    """
    try:
        return await handler(request)
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as error:
        raise AskedOnce(str(error)) from error


@asynccontextmanager
async def catalog_session() -> AsyncIterator[CatalogSession]:
    """The worker's one session with the catalog, for the app's lifespan."""
    # aiohttp, not httpx2 (the project's default client): measured in this route, one uvicorn
    # worker, a catalog answering in 50 ms, wrk with 64 and 256 connections, it served 406 and
    # 417 requests/s to httpx2's 254 and 215 (medians of 5), and spent 1.9 and 2.3 ms of CPU per
    # request to httpx2's 3.2 and 4.4: httpx2's async pool costs more per request the more
    # requests wait on it (see encode/httpx#3215).
    # Idle connections are kept alive for the next requests (15 s, aiohttp's default).
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
    # No timeout of aiohttp's own (its default is 5 minutes): search_catalog's deadline bounds
    # the whole exchange.
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        timeout=timeout,
        middlewares=(ask_once,),
    ) as session:
        yield session


def get_catalog_session(request: Request) -> CatalogSession:
    session: CatalogSession = request.state.catalog_session
    return session


CatalogSessionDep = Annotated[CatalogSession, Depends(get_catalog_session)]


def catalog_unreadable(reason: str) -> HTTPException:
    """A 502, after one WARNING line that names what was wrong."""
    logger.warning("The catalog could not be read: %s", reason)
    return HTTPException(
        status_code=status.HTTP_502_BAD_GATEWAY, detail="The catalog could not be read."
    )


async def fetch_search(session: CatalogSession, title: str, author: str) -> bytes:
    """The body of the catalog's 200 answer to a search for the book."""
    settings = get_settings()
    url = f"{settings.catalog_url.rstrip('/')}/search.json"
    params = {"title": title, "author": author, "limit": "1", "fields": SEARCH_FIELDS}
    try:
        # One deadline for connecting, sending and reading the whole body: a body that trickles in
        # is cut at it too, which no per-read timeout of a client would do.
        with anyio.fail_after(settings.catalog_timeout):
            # A redirect is an answer other than 200 (a 502), as the contract says: not followed.
            async with session.get(url, params=params, allow_redirects=False) as response:
                body = await response.read()
    except TimeoutError:
        logger.warning("The catalog did not answer within %s seconds", settings.catalog_timeout)
        raise HTTPException(
            status_code=status.HTTP_504_GATEWAY_TIMEOUT,
            detail="The catalog did not answer in time.",
        ) from None
    except aiohttp.ClientError as error:
        fault = error.__cause__ if isinstance(error, AskedOnce) else error
        raise catalog_unreadable(f"{type(fault).__name__}: {fault}") from None
    if response.status != 200:
        raise catalog_unreadable(f"it answered {response.status}")
    return body


async def search_catalog(session: CatalogSession, *, title: str, author: str) -> CatalogRecord:
    """The catalog's first record of the book; 404 if it has none, 502 or 504 if it fails."""
    body = await fetch_search(session, title, author)
    try:
        docs = CatalogSearch.model_validate_json(body).docs
        doc = CatalogDoc.model_validate(docs[0]) if docs else None
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise catalog_unreadable(
            f"its answer is not {error.title} JSON: {where or 'the body'}: {first['msg']}"
        ) from None
    if doc is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND, detail="The catalog has no record of this book."
        )
    return CatalogRecord(
        key=doc.key, first_publish_year=doc.first_publish_year, isbns=doc.isbn[:MAX_ISBNS]
    )

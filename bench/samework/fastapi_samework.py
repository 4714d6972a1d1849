"""FastAPI doing the package's `GET /books` work without the contract, as FastAPI's docs advise for
an async driver: `async def`, SQLModel's `AsyncSession` from a dependency, the count and the first
page of 100 on the table fastapi_books's migrations made. And its `GET /books/{id}/catalog` work:
the book by id, then the upstream call with an async client, httpx2's `AsyncClient` or, with
CATALOG_CLIENT=aiohttp, aiohttp's `ClientSession` (catalog.py).

aiosqlite on SQLite, psycopg 3's async mode on PostgreSQL (ASYNC_DRIVERS).

uvicorn fastapi_samework:app    (from bench/samework/, with DATABASE_URL)
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import aiohttp
import catalog
import httpx2
from fastapi import Depends, FastAPI, HTTPException, Response
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, SQLModel, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
backend, rest = os.environ["DATABASE_URL"].split(":", 1)
engine = create_async_engine(f"{ASYNC_DRIVERS[backend]}:{rest}", pool_pre_ping=True)
CATALOG_CLIENT = os.environ.get("CATALOG_CLIENT", "httpx2")


class Book(SQLModel, table=True):
    id: int = Field(primary_key=True)
    title: str
    author: str


async def get_session() -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine) as session:
        yield session


# One client for the app's life: it is made in the event loop that uses it, as aiohttp requires.
search: Callable[[dict[str, str]], Awaitable[dict]]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global search
    if CATALOG_CLIENT == "aiohttp":
        connector = aiohttp.TCPConnector(limit=0)  # no cap, as catalog.LIMITS
        timeout = aiohttp.ClientTimeout(total=catalog.TIMEOUT)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def search_aiohttp(params: dict[str, str]) -> dict:
                async with session.get(catalog.URL, params=params, raise_for_status=True) as got:
                    return await got.json()

            search = search_aiohttp
            yield
    else:
        async with httpx2.AsyncClient(timeout=catalog.TIMEOUT, limits=catalog.LIMITS) as client:

            async def search_httpx2(params: dict[str, str]) -> dict:
                answer = await client.get(catalog.URL, params=params)
                return answer.raise_for_status().json()

            search = search_httpx2
            yield


SessionDep = Annotated[AsyncSession, Depends(get_session)]
app = FastAPI(lifespan=lifespan)


@app.get("/books", response_model=list[Book])
async def read_books(session: SessionDep, response: Response):
    total = (await session.exec(select(func.count()).select_from(Book))).one()
    books = (await session.exec(select(Book).order_by(Book.id).limit(100).offset(0))).all()
    response.headers["X-Total-Count"] = str(total)
    return books


@app.get("/books/{book_id}/catalog")
async def book_catalog(book_id: int) -> dict:
    # A session of its own, closed before the call: its connection goes back to the pool rather
    # than wait on the upstream (a dependency's session would hold it to the end of the request).
    async with AsyncSession(engine) as session:
        book = await session.get(Book, book_id)
    if book is None:
        raise HTTPException(404)
    return catalog.record(await search(catalog.query(book.title, book.author)))

"""Flask for bench/catalog_models.py: read book 1 with SQLAlchemy 2, then ask the catalog upstream.

`app` has the sync view (one httpx2.Client per worker), `async_app` the same view as `async def`
(flask[async]: asgiref runs each call in an event loop of its own). CATALOG_UPSTREAMS maps the
`?upstream=` key to a stub's base URL ("50=http://127.0.0.1:P,200=...").
"""

import os
from typing import Any

import httpx2
from flask import Flask, abort, request
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

# The package's engine options: a pooled connection is checked before a request uses it.
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
UPSTREAMS = dict(item.split("=", 1) for item in os.environ["CATALOG_UPSTREAMS"].split(","))
HEADERS = {"User-Agent": "books-three-ways/1.2 (flask_books)"}
# Long enough for the 5 s upstream of the memory test (the contract's CATALOG_TIMEOUT is 2 s).
TIMEOUT = 30
# No cap on connections to the upstream: the pool should never be what requests wait on.
LIMITS = httpx2.Limits(max_connections=None, max_keepalive_connections=None)
client = httpx2.Client(timeout=TIMEOUT, limits=LIMITS, headers=HEADERS)


class Base(DeclarativeBase):
    pass


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author: Mapped[str]


def read_book(book_id: int) -> Book:
    """The book, its connection back in the pool before the upstream is asked."""
    with Session(engine) as session:
        book = session.get(Book, book_id)
    if book is None:
        abort(404)
    return book


def search(book: Book) -> tuple[str, dict[str, str | int]]:
    url = UPSTREAMS[request.args.get("upstream", "50")] + "/search.json"
    query = {"title": book.title, "author": book.author, "limit": 1}
    return url, {**query, "fields": "key,first_publish_year,isbn"}


def record(answer: httpx2.Response) -> dict[str, Any]:
    answer.raise_for_status()
    doc = answer.json()["docs"][0]
    isbns = doc.get("isbn", [])[:5]
    return {"key": doc["key"], "first_publish_year": doc.get("first_publish_year"), "isbns": isbns}


app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/books/<int:book_id>/catalog")
def catalog(book_id: int) -> dict[str, Any]:
    url, query = search(read_book(book_id))
    return record(client.get(url, params=query))


async_app = Flask(f"{__name__}_async")
async_app.get("/health")(health)


@async_app.get("/books/<int:book_id>/catalog")
async def catalog_async(book_id: int) -> dict[str, Any]:
    url, query = search(read_book(book_id))  # the sync ORM: Flask's docs have nothing else
    # Each call runs in a new event loop (asgiref), which an AsyncClient cannot outlive: one
    # client per request, no connections kept to the upstream.
    async with httpx2.AsyncClient(timeout=TIMEOUT, headers=HEADERS) as upstream:
        return record(await upstream.get(url, params=query))

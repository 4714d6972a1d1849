"""Flask doing the package's `GET /books` work without the contract: the count and the first page
of 100, through the SQLAlchemy ORM, on the table flask_books's migrations made; and its
`GET /books/{id}/catalog` work: the book by id, then the upstream call with httpx2's sync client
(catalog.py). The session ends before the call, so no connection waits on the upstream.

No query parameters, problems, links or schemas: what is left is the framework and the ORM.

gunicorn flask_samework:app    (from bench/samework/, with DATABASE_URL)
"""

import os

import catalog
import httpx2
from flask import Flask, abort
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

# The package's engine options: a pooled connection is checked before a request uses it.
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)


class Base(DeclarativeBase):
    pass


class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author: Mapped[str]


app = Flask(__name__)


@app.get("/books")
def list_books():
    with Session(engine) as session:
        total = session.execute(select(func.count()).select_from(Book)).scalar_one()
        books = session.scalars(select(Book).order_by(Book.id).limit(100).offset(0)).all()
        page = [{"id": book.id, "title": book.title, "author": book.author} for book in books]
    return page, {"X-Total-Count": str(total)}


# GET /books/{id}/catalog: the book, then the upstream call, in the request's thread (or greenlet).
catalog_client = httpx2.Client(timeout=catalog.TIMEOUT, limits=catalog.LIMITS)


@app.get("/books/<int:book_id>/catalog")
def book_catalog(book_id: int):
    with Session(engine) as session:
        book = session.get(Book, book_id)
        if book is None:
            abort(404)
        params = catalog.query(book.title, book.author)
    answer = catalog_client.get(catalog.URL, params=params)
    answer.raise_for_status()
    return catalog.record(answer.json())

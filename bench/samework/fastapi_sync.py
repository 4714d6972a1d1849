"""FastAPI doing the `GET /books/{id}/catalog` work in its plain sync form: a `def` route, which
FastAPI runs in its thread pool (40 threads), reading the book with SQLModel's sync `Session`, then
calling the upstream with httpx2's sync client (catalog.py).

uvicorn fastapi_sync:app    (from bench/samework/, with DATABASE_URL)
"""

import os

import catalog
import httpx2
from fastapi import FastAPI, HTTPException
from sqlmodel import Field, Session, SQLModel, create_engine

# The package's engine options: a pooled connection is checked before a request uses it.
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
client = httpx2.Client(timeout=catalog.TIMEOUT, limits=catalog.LIMITS)


class Book(SQLModel, table=True):
    id: int = Field(primary_key=True)
    title: str
    author: str


app = FastAPI()


@app.get("/books/{book_id}/catalog")
def book_catalog(book_id: int) -> dict:
    # The session ends before the call: no pooled connection waits on the upstream.
    with Session(engine) as session:
        book = session.get(Book, book_id)
    if book is None:
        raise HTTPException(404)
    answer = client.get(catalog.URL, params=catalog.query(book.title, book.author))
    return catalog.record(answer.raise_for_status().json())

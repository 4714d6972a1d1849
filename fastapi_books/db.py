"""The database: the engine, one session per request, and the schema with its seed."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel, create_engine

from fastapi_books.config import get_settings
from fastapi_books.models import Book

SEED_FILE = Path(__file__).resolve().parent.parent / "shared_fixtures" / "books.json"

# SQLAlchemy's default pool: 5 connections kept, 10 more on demand.
POOL_SIZE, MAX_OVERFLOW = 5, 10
engine = create_engine(get_settings().database_url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)


def get_session() -> Iterator[Session]:
    """A session for one request, closed once the response is sent."""
    with Session(engine) as session:
        yield session


# A session keeps its connection until the response is serialized, and serializing a sync route's
# response needs a thread from the pool of 40. Uncapped, 40 requests waiting for a connection take
# every thread while the connections wait for one: a deadlock, seen from ~128 concurrent requests.
# Capped at the pool's size, the other requests wait for a session without holding a thread.
SessionDep = Annotated[Session, Depends(get_session, max_concurrency=POOL_SIZE + MAX_OVERFLOW)]


def init_db(engine: Engine) -> None:
    """Create the schema and load the seed, only if the book table does not exist yet."""
    if inspect(engine).has_table(Book.__tablename__):
        return
    SQLModel.metadata.create_all(engine)
    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    with Session(engine) as session:
        session.add_all(Book.model_validate(book) for book in seed)
        session.commit()

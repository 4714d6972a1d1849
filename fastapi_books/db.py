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

engine = create_engine(get_settings().database_url)


def get_session() -> Iterator[Session]:
    """A session for one request, closed once the response is sent."""
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def init_db(engine: Engine) -> None:
    """Create the schema and load the seed, only if the book table does not exist yet."""
    if inspect(engine).has_table(Book.__tablename__):
        return
    SQLModel.metadata.create_all(engine)
    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    with Session(engine) as session:
        session.add_all(Book.model_validate(book) for book in seed)
        session.commit()

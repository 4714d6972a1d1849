"""FastAPI in the style of the full-stack FastAPI template's backend: sync `def` routes, SQLModel,
`SessionDep = Annotated[Session, Depends(get_session)]` and `create_engine(url)` with SQLAlchemy's
default pool, doing the count and the first page of 100 as the template's `read_items` does.

FastAPI runs the route and the session's generator in its thread pool (40 threads), while the pool
holds 15 connections: under enough concurrent requests every thread waits for a connection that
only a thread could give back. make bench reports what that does to the requests.

uvicorn fastapi_template:app    (from bench/samework/, with DATABASE_URL)
"""

import os
from collections.abc import Generator
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlmodel import Field, Session, SQLModel, create_engine, func, select

engine = create_engine(os.environ["DATABASE_URL"])


class Book(SQLModel, table=True):
    id: int = Field(primary_key=True)
    title: str
    author: str


class BooksPublic(SQLModel):
    data: list[Book]
    count: int


def get_session() -> Generator[Session, None, None]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
app = FastAPI()


@app.get("/books", response_model=BooksPublic)
def read_books(session: SessionDep, skip: int = 0, limit: int = 100) -> BooksPublic:
    count = session.exec(select(func.count()).select_from(Book)).one()
    books = session.exec(select(Book).order_by(Book.id).offset(skip).limit(limit)).all()
    return BooksPublic(data=books, count=count)

"""FastAPI doing the package's `GET /books` work without the contract, as FastAPI's docs advise for
an async driver: `async def`, SQLModel's `AsyncSession` from a dependency, the count and the first
page of 100 on the table fastapi_books's migrations made.

aiosqlite on SQLite, psycopg 3's async mode on PostgreSQL (ASYNC_DRIVERS).

uvicorn fastapi_samework:app    (from bench/samework/, with DATABASE_URL)
"""

import os
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, Response
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, SQLModel, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
backend, rest = os.environ["DATABASE_URL"].split(":", 1)
engine = create_async_engine(f"{ASYNC_DRIVERS[backend]}:{rest}", pool_pre_ping=True)


class Book(SQLModel, table=True):
    id: int = Field(primary_key=True)
    title: str
    author: str


async def get_session() -> AsyncIterator[AsyncSession]:
    async with AsyncSession(engine) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
app = FastAPI()


@app.get("/books", response_model=list[Book])
async def read_books(session: SessionDep, response: Response):
    total = (await session.exec(select(func.count()).select_from(Book))).one()
    books = (await session.exec(select(Book).order_by(Book.id).limit(100).offset(0))).all()
    response.headers["X-Total-Count"] = str(total)
    return books

"""The database: the engine, one session per request, and the migrations (schema and seed)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from alembic import command
from alembic.config import Config
from fastapi import Depends
from sqlalchemy import Engine, event, make_url
from sqlmodel import Session, create_engine

from fastapi_books.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# SQLAlchemy's default pool: 5 connections kept, 10 more on demand.
POOL_SIZE, MAX_OVERFLOW = 5, 10
# SQLite: how long a write waits for another worker's write to finish, instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 20
# PostgreSQL: how long to try to connect before the request gives up with a 503.
CONNECT_TIMEOUT_SECONDS = 3


def use_write_ahead_log(dbapi_connection: Any, connection_record: Any) -> None:
    """On each new SQLite connection: readers and a writer proceed together (WAL)."""
    dbapi_connection.execute("PRAGMA journal_mode = WAL")


def create_db_engine(database_url: str) -> Engine:
    """An engine for SQLite or PostgreSQL (psycopg), set up for several workers."""
    url = make_url(database_url)
    pool = {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}
    if url.get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        engine = create_engine(url, connect_args=connect_args, **pool)
        event.listen(engine, "connect", use_write_ahead_log)
        return engine
    # A connect_timeout in the URL's query wins over the default.
    connect_args = (
        {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    # Pre-ping: a connection the server closed (a restart) is replaced, not handed to a request.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)


engine = create_db_engine(get_settings().database_url)


def get_session() -> Iterator[Session]:
    """A session for one request, closed once the response is sent."""
    # Not expired on commit: a route answers with the book as it stored it, with no reload that
    # could find it deleted by another request since (a 500 where a 200 is true).
    with Session(engine, expire_on_commit=False) as session:
        yield session


# A session keeps its connection until the response is serialized, and serializing a sync route's
# response needs a thread from the pool of 40. Uncapped, 40 requests waiting for a connection take
# every thread while the connections wait for one: a deadlock, seen from ~128 concurrent requests.
# Capped at the pool's size, the other requests wait for a session without holding a thread.
SessionDep = Annotated[Session, Depends(get_session, max_concurrency=POOL_SIZE + MAX_OVERFLOW)]


def init_db(engine: Engine) -> None:
    """Apply the Alembic migrations not applied yet: the schema, then the seed, each once."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection  # migrations/env.py runs on it
        command.upgrade(config, "head")

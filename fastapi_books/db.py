"""The database: the async engine, one session per request, and the migrations (schema and seed)."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from alembic import command
from alembic.config import Config
from fastapi import Depends
from sqlalchemy import Connection, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from fastapi_books.config import Pooler, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# DATABASE_URL names the database as the other two packages read it; these are the drivers that
# can be awaited: aiosqlite, and psycopg 3 in its async mode (the same driver the others use).
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
# SQLite: how long a write waits for another worker's write to finish, instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 20
# PostgreSQL: how long to try to connect before the request gives up with a 503.
CONNECT_TIMEOUT_SECONDS = 3
# How long a request waits for a pooled connection before it answers 503 (SQLAlchemy's default is
# 30 s, longer than a client waits).
POOL_TIMEOUT_SECONDS = 3


def use_write_ahead_log(dbapi_connection: Any, connection_record: Any) -> None:
    """On each new SQLite connection: readers and a writer proceed together (WAL)."""
    dbapi_connection.execute("PRAGMA journal_mode = WAL")


def create_db_engine(database_url: str, pooler: Pooler = "") -> AsyncEngine:
    """An async engine for SQLite or PostgreSQL, set up for several workers."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    url = url.set(drivername=ASYNC_DRIVERS[backend])
    if backend == "sqlite":
        engine = create_async_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            pool_timeout=POOL_TIMEOUT_SECONDS,
        )
        event.listen(engine.sync_engine, "connect", use_write_ahead_log)
        return engine
    # A connect_timeout in the URL's query wins over the default.
    connect_args: dict[str, Any] = (
        {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    if pooler == "transaction":
        # PgBouncer gives each transaction whichever server connection is free: a statement that
        # psycopg prepared on one (a query's sixth run on a connection, by default) is missing on
        # the next ("prepared statement "_pg3_0" does not exist"). PgBouncer 1.21 keeps track of
        # protocol-level prepared statements when its max_prepared_statements is set; psycopg
        # 3.2 can use that with PgBouncer 1.22 and libpq 17, and then they could stay on.
        connect_args["prepare_threshold"] = None
    # SQLAlchemy's pool stays behind PgBouncer: its docs advise NullPool there (the asyncpg
    # dialect's notes) lest prepared statements pile up in pooled connections, and none are
    # prepared then; the pool's connections are PgBouncer's clients, which hold a PostgreSQL
    # connection only while a transaction runs. Pre-ping: a connection the server (PostgreSQL, or
    # PgBouncer) closed is replaced, not handed to a request.
    return create_async_engine(
        url, pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_SECONDS, connect_args=connect_args
    )


engine = create_db_engine(get_settings().database_url, get_settings().database_pooler)


async def get_session() -> AsyncIterator[AsyncSession]:
    # Not expired on commit: a route answers with the book as it stored it, with no reload that
    # could find it deleted by another request since (a 500 where a 200 is true).
    session = AsyncSession(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        try:
            await session.close()
        except OperationalError:
            # The database, or PgBouncer, went away with the connection still checked out: giving
            # it back fails, after the request's answer was decided (a 503 if a query failed).
            # Raised here, it would reach uvicorn as an error, and the client no answer at all.
            await session.invalidate()


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def upgrade(connection: Connection) -> None:
    """Apply the Alembic migrations not applied yet: the schema, then the seed, each once."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection  # migrations/env.py runs on it
    command.upgrade(config, "head")


async def init_db(engine: AsyncEngine) -> None:
    """Migrate the database, in one transaction; Alembic itself is sync, so it runs in run_sync."""
    async with engine.begin() as connection:
        await connection.run_sync(upgrade)

"""The database: one SQLAlchemy engine per app, one session per request, writes retried when
their book changed under them, and `flask init-db`."""

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g
from flask.cli import with_appcontext
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# SQLite: how long a write waits for another worker's write to finish, instead of failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 20
# PostgreSQL: how long to try to connect before the request gives up with a 503.
CONNECT_TIMEOUT_SECONDS = 3
# DATABASE_POOLER: empty when DATABASE_URL leads to PostgreSQL itself, "transaction" when to
# PgBouncer in transaction pooling.
POOLERS = ("", "transaction")
# The pool of each worker process (SQLAlchemy's default grows to 15). A gevent worker runs a
# request per connection, but a query blocks the whole worker (select is not patched), so it uses
# one database connection at a time; more are held only by requests suspended between queries.
# At most 4 per worker, 5 workers (2 x 2 CPUs + 1) hold 20 of PostgreSQL's max_connections of 100,
# which the other servers, the tests and psql share.
POOL_SIZE = 2
MAX_OVERFLOW = 2
# How long a request waits for a pooled connection before it answers 503 (SQLAlchemy's default is
# 30 s, longer than a client waits).
POOL_TIMEOUT_SECONDS = 3
# How many times a write reads its book again after another request changed or deleted it first
# (then a 503). Each retry means another write of this book committed meanwhile, so N
# simultaneous writes of one book need at most N - 1.
MAX_WRITE_ATTEMPTS = 20


def use_write_ahead_log(dbapi_connection: Any, connection_record: Any) -> None:
    """On each new SQLite connection: readers and a writer proceed together (WAL)."""
    dbapi_connection.execute("PRAGMA journal_mode = WAL")


def create_db_engine(database_url: str, pooler: str = "") -> Engine:
    if pooler not in POOLERS:
        raise ValueError(
            f"DATABASE_POOLER is {pooler!r}; it must be empty (DATABASE_URL leads to PostgreSQL "
            "itself) or 'transaction' (to PgBouncer in transaction pooling)."
        )
    url = make_url(database_url)
    pool = {
        "pool_size": POOL_SIZE,
        "max_overflow": MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT_SECONDS,
    }
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **pool)
        event.listen(engine, "connect", use_write_ahead_log)
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
    # The pool stays, behind PgBouncer too. SQLAlchemy's docs advise NullPool with PgBouncer (the
    # asyncpg dialect's notes) lest prepared statements pile up in pooled connections; none are
    # prepared then. And the pool keeps what NullPool would drop: each worker's bound of 4
    # connections (PgBouncer's clients then, each holding a PostgreSQL connection only while its
    # transaction runs), the 503 after POOL_TIMEOUT_SECONDS when all are taken, and pre-ping: a
    # connection the server (PostgreSQL, or PgBouncer) closed is replaced, not handed to a request.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)


def get_engine() -> Engine:
    engine: Engine = current_app.extensions["books_engine"]
    return engine


def get_session() -> Session:
    if "db_session" not in g:
        # Objects stay readable after commit, so a view can return what it just saved.
        g.db_session = Session(get_engine(), expire_on_commit=False)
    session: Session = g.db_session
    return session


Params = ParamSpec("Params")
Result = TypeVar("Result")


def retry_when_stale(view: Callable[Params, Result]) -> Callable[Params, Result]:
    """Run a view that reads a book, then writes it, again whenever the book changed in between."""
    # Optimistic, not a lock: the UPDATE or DELETE names the version read (version_id_col), so
    # the check and the write are one statement, on both databases. SQLite has no SELECT … FOR
    # UPDATE, and pysqlite begins its transaction only at the first write, after the lookup: only
    # the version in the WHERE clause ties the two together.

    @wraps(view)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        for _ in range(MAX_WRITE_ATTEMPTS - 1):
            try:
                return view(*args, **kwargs)
            except StaleDataError:
                # Another request changed or deleted the row between this one's read and its
                # flush (the version check matched no row). Read it afresh and decide again, as if
                # this request came second: 404 if it is gone, 412 if If-Match no longer names
                # it, else the write applied to the book as it is now.
                get_session().rollback()
        return view(*args, **kwargs)

    return run


def close_session(exception: BaseException | None = None) -> None:
    """Close the request's session, if it opened one; uncommitted work is rolled back."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()
    except OperationalError:
        # The database, or PgBouncer, went away with the connection still checked out: giving it
        # back fails, after the answer was decided (a 503 if a query failed). Raised from a
        # teardown function, it would reach gunicorn, which answers with its own HTML 500.
        session.invalidate()


def init_db() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection  # migrations/env.py runs on it
        command.upgrade(config, "head")


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Migrate the database to the latest revision; what is applied already is left as it is."""
    init_db()
    click.echo("The database is migrated and seeded.")


def init_app(app: Flask) -> None:
    app.extensions["books_engine"] = create_db_engine(
        app.config["DATABASE_URL"], app.config["DATABASE_POOLER"]
    )
    app.teardown_appcontext(close_session)
    app.cli.add_command(init_db_command)

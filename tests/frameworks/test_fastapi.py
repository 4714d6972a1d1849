"""FastAPI-specific checks: schema and seed setup, settings from the environment, the CLI,
writes racing other requests at the moments a race can be pinned down in-process, and the catalog
client's life and the database connection while the catalog is awaited."""

import asyncio
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, QueuePool, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import Session, col, create_engine, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fastapi_books import db, main
from fastapi_books.catalog import CatalogSession, catalog_session
from fastapi_books.config import REPO_ROOT, Pooler, get_settings
from fastapi_books.db import create_db_engine, init_db
from fastapi_books.limits import head_refusal
from fastapi_books.main import app
from fastapi_books.models import Book
from tests.catalog_stub import CatalogStub
from tests.contract import (
    AUTH,
    CATALOG_TIMEOUT,
    CATALOG_TOO_SLOW,
    CATALOG_UNREADABLE,
    DATABASE_UNAVAILABLE,
    NO_BOOK,
    SEED,
    assert_problem,
    describe,
)
from tests.frameworks.stack import postgresql_url, prepared_statements
from tests.live.servers import wait_for

if TYPE_CHECKING:
    from tests.databases import TestDatabases


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A new, empty SQLite file."""
    return f"sqlite:///{tmp_path / 'books.sqlite3'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A plain (sync) engine on it, to look at what the migrations stored."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def migrate(database_url: str) -> None:
    """init_db on the package's own engine, as initial_data runs it."""

    async def run() -> None:
        engine = create_db_engine(database_url)
        try:
            await init_db(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Forget the cached settings before and after the test."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def stored_books(engine: Engine) -> list[dict[str, object]]:
    """Every stored book as a dict, ordered by id."""
    with Session(engine) as session:
        books = session.exec(select(Book).order_by(col(Book.id))).all()
        return [{"id": book.id, "title": book.title, "author": book.author} for book in books]


def test_init_db_creates_the_table_with_its_unique_constraint(
    database_url: str, engine: Engine
) -> None:
    """init_db creates the book table with a unique constraint on (title, author)."""
    migrate(database_url)
    constraints = inspect(engine).get_unique_constraints("book")
    assert [constraint["column_names"] for constraint in constraints] == [["title", "author"]]


def test_init_db_loads_the_seed(database_url: str, engine: Engine) -> None:
    """A new database holds exactly the seed from shared_fixtures/books.json."""
    migrate(database_url)
    assert stored_books(engine) == SEED


def test_init_db_loads_the_seed_only_once(database_url: str, engine: Engine) -> None:
    """A second init_db does not duplicate the seed."""
    migrate(database_url)
    migrate(database_url)
    assert stored_books(engine) == SEED


def test_deleted_seed_books_do_not_come_back(database_url: str, engine: Engine) -> None:
    """init_db never re-seeds an existing database, not even one whose books were all deleted."""
    migrate(database_url)
    with Session(engine) as session:
        for book in session.exec(select(Book)).all():
            session.delete(book)
        session.commit()
    migrate(database_url)
    assert stored_books(engine) == []


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    """DATABASE_URL, DATABASE_POOLER, BOOKS_API_TOKEN and the catalog's are read from the
    environment."""
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.sqlite3")
    monkeypatch.setenv("DATABASE_POOLER", "transaction")
    monkeypatch.setenv("BOOKS_API_TOKEN", "s3cret")
    monkeypatch.setenv("CATALOG_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CATALOG_TIMEOUT", "0.5")
    settings = get_settings()
    assert settings.database_url == "sqlite:////tmp/elsewhere.sqlite3"
    assert settings.database_pooler == "transaction"
    assert settings.books_api_token.get_secret_value() == "s3cret"
    assert settings.catalog_url == "http://127.0.0.1:9"
    assert settings.catalog_timeout == 0.5


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> None:
    """Unset: a SQLite file under var/ of the repository, no pooler, no token (every write is
    401), and Open Library with 2 seconds for the whole exchange."""
    for name in (
        "DATABASE_URL",
        "DATABASE_POOLER",
        "BOOKS_API_TOKEN",
        "CATALOG_URL",
        "CATALOG_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'fastapi.sqlite3'}"
    assert settings.database_pooler == ""
    assert settings.books_api_token.get_secret_value() == ""
    assert settings.catalog_url == "https://openlibrary.org"
    assert settings.catalog_timeout == 2


def test_an_unknown_database_pooler_fails_validation(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    """DATABASE_POOLER is "transaction" or empty: anything else fails the settings, which db.py
    reads as it is imported, so the worker does not start."""
    monkeypatch.setenv("DATABASE_POOLER", "session")
    with pytest.raises(ValidationError, match="database_pooler"):
        get_settings()


@pytest.mark.parametrize("entry", ["*", "10.0.0.0/8", "proxy.example"])
def test_forwarded_allow_ips_other_than_addresses_fails_validation(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None, entry: str
) -> None:
    """FORWARDED_ALLOW_IPS lists addresses, as for the other two: "*", a network or a name fails
    the settings, though uvicorn would take the first two."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", f"127.0.0.1, {entry}")
    with pytest.raises(ValidationError, match=f"one by one: {re.escape(repr(entry))} is not an IP"):
        get_settings()


@pytest.mark.parametrize(
    ("forwarded_allow_ips", "fields", "refused"),
    [("", 100, False), ("", 101, True), ("127.0.0.1", 102, False), ("127.0.0.1", 103, True)],
)
def test_a_proxy_in_front_may_add_its_two_header_fields(
    monkeypatch: pytest.MonkeyPatch,
    fresh_settings: None,
    forwarded_allow_ips: str,
    fields: int,
    refused: bool,
) -> None:
    """The client's 100 fields, and behind a proxy (FORWARDED_ALLOW_IPS) the two it adds."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", forwarded_allow_ips)
    headers = [(f"x-field-{number}".encode(), b"1") for number in range(fields)]
    scope = {"method": "GET", "raw_path": b"/books", "query_string": b"", "http_version": "1.1"}
    refusal = head_refusal({**scope, "headers": headers})
    assert refusal == ((431, "The request has more than 100 header fields.") if refused else None)


@pytest.mark.parametrize(("pooler", "prepares"), [("", True), ("transaction", False)])
def test_behind_a_transaction_pooler_no_statement_is_prepared(
    test_databases: "TestDatabases", pooler: Pooler, prepares: bool
) -> None:
    """DATABASE_POOLER=transaction: the async engine's connections prepare no statement, which
    PgBouncer would run on another server connection; without it, psycopg prepares."""
    engine = create_db_engine(postgresql_url(test_databases, "fastapi"), pooler)

    async def count() -> int:
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(prepared_statements)
        finally:
            await engine.dispose()

    assert (asyncio.run(count()) > 0) is prepares


def test_initial_data_command_prepares_the_database(tmp_path: Path) -> None:
    """python -m fastapi_books.initial_data creates the directory, schema and seed, once."""
    database = tmp_path / "new-directory" / "books.sqlite3"
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    command = [sys.executable, "-m", "fastapi_books.initial_data"]
    for _ in range(2):
        subprocess.run(command, cwd=REPO_ROOT, env=environment, check=True, timeout=60)
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert stored_books(engine) == SEED
    finally:
        engine.dispose()


def test_openapi_documents_the_routes() -> None:
    """The OpenAPI schema shows /books/{book_id}, not the custom convertor's {book_id:book_id}."""
    paths = app.openapi()["paths"]
    assert set(paths) == {
        "/books",
        "/books/changes",
        "/books/{book_id}",
        "/books/{book_id}/catalog",
        "/health",
    }
    assert set(paths["/books/{book_id}"]) == {"get", "put", "patch", "delete"}
    assert set(paths["/books/{book_id}/catalog"]) == {"get"}


def test_a_docs_asset_answers_other_methods_with_its_own_allow() -> None:
    """The docs' mounted files serve GET and HEAD; their 405 says so, as a problem."""
    with TestClient(app) as client:
        response = client.post("/docs/assets/swagger-ui.css")
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, HEAD"
    assert response.headers["content-type"] == "application/problem+json"


def test_init_db_gives_the_books_already_stored_version_1(
    database_url: str, engine: Engine
) -> None:
    """Migration 0003 adds the version to the seeded rows of 0002: each is at 1."""
    migrate(database_url)
    with engine.connect() as connection:
        versions = list(connection.scalars(text("SELECT version FROM book")))
    assert versions == [1] * len(SEED)


def test_several_lines_of_a_condition_header_are_one_list(fastapi_client: httpx2.Client) -> None:
    """Contract, conditional requests: a tag on the second If-None-Match or If-Match line counts
    (FastAPI gives a str header parameter only the first line)."""
    stale_then_current = [("If-None-Match", '"7"'), ("If-None-Match", 'W/"1"')]
    response = fastapi_client.get("/books/1", headers=stale_then_current)
    assert response.status_code == 304, describe(response)
    lines = [*AUTH.items(), ("If-Match", '"7"'), ("If-Match", '"1"')]
    response = fastapi_client.patch("/books/1", json={"title": "Renamed"}, headers=lines)
    assert response.status_code == 200, describe(response)


# Racing writes, pinned down: another request's write lands at a chosen moment of this request's,
# on another connection, on the suite's database (SQLite or PostgreSQL). The app runs with its own
# session dependency (get_session) on an engine of that database; the other request, and the look
# at what was stored, use a plain (sync) engine of their own.

BOOK = SEED[0]
OTHER_AUTHOR = "Someone Else"


@pytest.fixture
def racing_url(test_databases: "TestDatabases") -> str:
    """The suite's database, holding exactly the seed."""
    return test_databases.seeded("fastapi").url


@pytest.fixture
def app_engine(
    racing_url: str, fastapi_token: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncEngine:
    """The engine get_session uses."""
    engine = create_db_engine(racing_url)
    monkeypatch.setattr(db, "engine", engine)
    return engine


def running_app_client(app_engine: AsyncEngine) -> Iterator[TestClient]:
    """A TestClient of the app as it runs (its lifespan included); its engine disposed after."""
    with TestClient(app, base_url="http://localhost", follow_redirects=False) as client:
        try:
            yield client
        finally:  # the connections belong to the client's event loop: closed in it
            assert client.portal is not None  # it is while the client is open
            client.portal.call(app_engine.dispose)


@pytest.fixture
def racing_client(app_engine: AsyncEngine) -> Iterator[httpx2.Client]:
    """A client of the app as it runs, with no dependency overridden."""
    yield from running_app_client(app_engine)


def test_a_connection_lost_before_the_session_closes_leaves_the_answer(
    racing_client: httpx2.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database (or PgBouncer) gone with a connection still checked out, so that giving it
    back fails once the answer is decided: the answer stands, and no exception escapes."""

    async def close_over_a_lost_connection(self: AsyncSession) -> None:
        lost = psycopg.OperationalError("server closed the connection unexpectedly")
        raise OperationalError("ROLLBACK", {}, lost)

    monkeypatch.setattr(AsyncSession, "close", close_over_a_lost_connection)
    response = racing_client.get("/books/1")
    assert response.status_code == 200, response.text


@pytest.fixture
def racing_engine(racing_url: str) -> Iterator[Engine]:
    """The other requests' engine."""
    engine = create_engine(racing_url)
    yield engine
    engine.dispose()


def another_request(engine: Engine, statement: str) -> Callable[[], None]:
    """A write committed by another request, on a connection of its own."""

    def run() -> None:
        with engine.begin() as connection:
            connection.execute(text(statement), {"id": BOOK["id"], "author": OTHER_AUTHOR})

    return run


DELETE_BOOK = "DELETE FROM book WHERE id = :id"
CHANGE_AUTHOR = "UPDATE book SET author = :author, version = version + 1 WHERE id = :id"
# The statement each method's write sends.
WRITES = {"PUT": "UPDATE book", "PATCH": "UPDATE book", "DELETE": "DELETE FROM book"}


def just_before(engine: AsyncEngine, prefix: str, write: Callable[[], None]) -> None:
    """Run write once, just before the app's first statement that starts with prefix."""
    written = False

    def run(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal written
        if not written and statement.startswith(prefix):
            written = True  # first: write's own statements come through here too
            write()

    event.listen(engine.sync_engine, "before_cursor_execute", run)


def just_after_commit(monkeypatch: pytest.MonkeyPatch, write: Callable[[], None]) -> None:
    """Run write once, just after the app's session commits (not at a savepoint's release)."""
    commit = Session.commit

    def commit_then_write(session: Session) -> None:
        commit(session)
        monkeypatch.setattr(Session, "commit", commit)
        write()

    monkeypatch.setattr(Session, "commit", commit_then_write)


def stored_book(engine: Engine) -> dict[str, Any] | None:
    """The raced book as stored, with its version; None once deleted."""
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT id, title, author, version FROM book WHERE id = :id"), {"id": BOOK["id"]}
        ).one_or_none()
    return None if row is None else dict(row._mapping)


@pytest.mark.parametrize(
    ("method", "body"),
    [("PATCH", {"title": "Renamed"}), ("PUT", {"title": "Renamed", "author": "Anyone"})],
)
def test_a_write_to_a_book_deleted_after_it_was_read_is_404(
    racing_client: httpx2.Client,
    app_engine: AsyncEngine,
    racing_engine: Engine,
    method: str,
    body: dict[str, str],
) -> None:
    """Contract, concurrent requests: a write racing a DELETE that committed first is 404, not a
    500 (SQLAlchemy's StaleDataError), and the book stays deleted."""
    just_before(app_engine, WRITES[method], another_request(racing_engine, DELETE_BOOK))
    response = racing_client.request(method, f"/books/{BOOK['id']}", json=body, headers=AUTH)
    assert_problem(response, 404, NO_BOOK)
    assert stored_book(racing_engine) is None


def test_a_delete_of_a_book_deleted_after_it_was_read_is_404(
    racing_client: httpx2.Client, app_engine: AsyncEngine, racing_engine: Engine
) -> None:
    """Contract, concurrent requests: of two DELETEs of one book, the one whose DELETE finds no
    row is 404, not a second 204."""
    just_before(app_engine, WRITES["DELETE"], another_request(racing_engine, DELETE_BOOK))
    assert_problem(racing_client.delete(f"/books/{BOOK['id']}", headers=AUTH), 404, NO_BOOK)


def test_a_delete_of_a_book_changed_after_it_was_read_deletes_it(
    racing_client: httpx2.Client, app_engine: AsyncEngine, racing_engine: Engine
) -> None:
    """A DELETE without If-Match whose book another request changed meanwhile deletes the book
    as changed: 204, and it is gone."""
    just_before(app_engine, WRITES["DELETE"], another_request(racing_engine, CHANGE_AUTHOR))
    response = racing_client.delete(f"/books/{BOOK['id']}", headers=AUTH)
    assert response.status_code == 204, describe(response)
    assert stored_book(racing_engine) is None


def test_a_patch_racing_a_patch_of_the_other_field_keeps_both(
    racing_client: httpx2.Client, app_engine: AsyncEngine, racing_engine: Engine
) -> None:
    """Contract, concurrent requests: both changes are stored, and the version counts both."""
    just_before(app_engine, WRITES["PATCH"], another_request(racing_engine, CHANGE_AUTHOR))
    response = racing_client.patch(f"/books/{BOOK['id']}", json={"title": "Renamed"}, headers=AUTH)
    both = {"id": BOOK["id"], "title": "Renamed", "author": OTHER_AUTHOR}
    assert response.status_code == 200, describe(response)
    assert response.json() == both
    assert response.headers["etag"] == '"3"', describe(response)
    assert stored_book(racing_engine) == {**both, "version": 3}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_is_checked_in_the_same_step_as_the_write(
    racing_client: httpx2.Client, app_engine: AsyncEngine, racing_engine: Engine, method: str
) -> None:
    """Contract, If-Match: a write whose If-Match named the version another request replaced
    between the check and the write is 412, and the other request's change stays."""
    just_before(app_engine, WRITES[method], another_request(racing_engine, CHANGE_AUTHOR))
    body = {"title": "Renamed", "author": "Anyone"} if method != "DELETE" else None
    response = racing_client.request(
        method, f"/books/{BOOK['id']}", json=body, headers={**AUTH, "If-Match": '"1"'}
    )
    assert_problem(response, 412)
    assert stored_book(racing_engine) == {**BOOK, "author": OTHER_AUTHOR, "version": 2}


def test_a_write_whose_book_is_deleted_after_its_commit_answers_what_it_stored(
    racing_client: httpx2.Client, racing_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contract, concurrent requests: a PATCH that committed before a DELETE is 200 with the
    book it stored, though the book is gone before the answer is sent (no reload, no 500)."""
    just_after_commit(monkeypatch, another_request(racing_engine, DELETE_BOOK))
    response = racing_client.patch(f"/books/{BOOK['id']}", json={"title": "Renamed"}, headers=AUTH)
    assert response.status_code == 200, describe(response)
    assert response.json() == {**BOOK, "title": "Renamed"}
    assert response.headers["etag"] == '"2"', describe(response)
    assert stored_book(racing_engine) is None


# The catalog: the lifespan's one HTTP session, and the database connection while the catalog is
# awaited. The suite's stub (tests/catalog_stub.py, conftest's `catalog`) plays the catalog.


@pytest.fixture
def catalog_client(
    catalog: CatalogStub, fastapi_catalog: None, app_engine: AsyncEngine
) -> Iterator[httpx2.Client]:
    """A client of the app as it runs, started once CATALOG_URL names the stub."""
    yield from running_app_client(app_engine)


def test_the_app_makes_one_catalog_session_and_closes_it_when_it_stops(
    catalog: CatalogStub,
    fastapi_catalog: None,
    app_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Contract, calling the catalog: one HTTP client per worker, made at startup and used by
    every request, closed when the worker stops."""
    made: list[CatalogSession] = []

    @asynccontextmanager
    async def recording_catalog_session() -> AsyncIterator[CatalogSession]:
        async with catalog_session() as session:
            made.append(session)
            yield session

    monkeypatch.setattr(main, "catalog_session", recording_catalog_session)
    with TestClient(app, base_url="http://localhost") as client:
        for _ in range(3):
            response = client.get(f"/books/{BOOK['id']}/catalog")
            assert response.status_code == 200, describe(response)
        assert len(made) == 1
        assert not made[0].closed
        assert client.portal is not None  # it is while the client is open
        client.portal.call(app_engine.dispose)
    assert made[0].closed
    assert len(catalog.requests()) == 3


def connections_idle_in_transaction(engine: Engine) -> int:
    """PostgreSQL: the database's connections that are idle in a transaction; 0 on SQLite."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as connection:
        count: int = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        )
        return count


def test_no_database_connection_is_held_while_the_catalog_is_awaited(
    catalog: CatalogStub,
    catalog_client: httpx2.Client,
    app_engine: AsyncEngine,
    racing_engine: Engine,
) -> None:
    """Contract, waiting holds nothing else: the book is read and its connection is back in the
    pool, with no transaction left open, before the catalog is asked."""
    catalog.configure(delay=CATALOG_TIMEOUT * 0.9)
    pool = app_engine.pool
    assert isinstance(pool, QueuePool), pool  # the pool of a file database and of PostgreSQL
    with ThreadPoolExecutor(max_workers=1) as executor:
        waiting = executor.submit(catalog_client.get, f"/books/{BOOK['id']}/catalog")
        wait_for(lambda: bool(catalog.requests()), 10, "the catalog request")
        checked_out = pool.checkedout()
        idle_in_transaction = connections_idle_in_transaction(racing_engine)
        still_waiting = not waiting.done()
        response = waiting.result(timeout=CATALOG_TIMEOUT * 2)
    assert response.status_code == 200, describe(response)
    assert still_waiting, "the catalog answered before the connections were counted"
    assert checked_out == 0
    assert idle_in_transaction == 0


def test_waiting_too_long_for_a_pooled_connection_is_a_503(
    catalog: CatalogStub,
    fastapi_catalog: None,
    racing_url: str,
    fastapi_token: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every connection the pool will give out held, a request gives up after pool_timeout
    with a 503 (not a 500), and never asks the catalog."""
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 0.2)
    engine = create_db_engine(racing_url)
    monkeypatch.setattr(db, "engine", engine)
    for client in running_app_client(engine):
        assert client.portal is not None  # it is while the client is open
        held: list[AsyncConnection] = []
        try:
            while True:  # the pool's size and overflow, then no more
                assert len(held) < 100, "the pool never refused a connection"
                try:
                    held.append(client.portal.call(engine.connect().start))
                except PoolTimeoutError:
                    break
            for path in ("/books/1", "/books/1/catalog", "/health"):
                started = time.monotonic()
                assert_problem(client.get(path), 503, DATABASE_UNAVAILABLE)
                assert time.monotonic() - started < 2, path
        finally:
            for connection in held:
                client.portal.call(connection.close)
    assert not catalog.requests()


def test_a_catalog_answer_that_trickles_in_is_cut_at_the_timeout(
    catalog: CatalogStub, catalog_client: httpx2.Client
) -> None:
    """Contract, calling the catalog: CATALOG_TIMEOUT bounds the whole exchange, so a body whose
    bytes each come in well within it is still cut at the timeout: 504, answered then."""
    catalog.configure(fault="trickle", trickle_interval=CATALOG_TIMEOUT / 20)
    started = time.monotonic()
    response = catalog_client.get(f"/books/{BOOK['id']}/catalog")
    elapsed = time.monotonic() - started
    assert_problem(response, 504, CATALOG_TOO_SLOW)
    assert CATALOG_TIMEOUT <= elapsed < CATALOG_TIMEOUT + 1, elapsed


def test_a_catalog_fault_is_one_warning_line_without_a_traceback(
    catalog: CatalogStub, catalog_client: httpx2.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Contract, calling the catalog: a connection the catalog closes without answering is a 502,
    and at most one line at WARNING that names it, with no traceback."""
    catalog.configure(fault="close")
    with caplog.at_level(logging.INFO):
        response = catalog_client.get(f"/books/{BOOK['id']}/catalog")
    assert_problem(response, 502, CATALOG_UNREADABLE)
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1, caplog.text
    (warning,) = warnings
    assert warning.levelno == logging.WARNING, caplog.text
    assert warning.exc_info is None, caplog.text
    assert "\n" not in warning.getMessage(), caplog.text

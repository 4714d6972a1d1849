"""Each framework's migrations on SQLite or PostgreSQL (`--database`), run as `make serve-*` does.

The prepare step (`manage.py migrate`, `flask init-db`, `python -m fastapi_books.initial_data`)
creates the schema and loads the seed once; ids continue past the seed and are never reused; the
suite's reset restores exactly the seed; SQLite databases are in WAL mode.
"""

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from django.core.management import call_command
from django.db import connection

# django-stubs 5.2 leaves this module out; it is Django's own switch between psycopg 2 and 3.
from django.db.backends.postgresql import psycopg_any as postgresql_backend  # type: ignore[attr-defined]
from fastapi.testclient import TestClient
from sqlalchemy import Engine, TableClause, column, create_engine, delete, insert, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from fastapi_books.db import create_db_engine as fastapi_engine
from fastapi_books.db import get_session as fastapi_get_session
from fastapi_books.main import app as fastapi_app
from fastapi_books.models import Book as FastAPIBook
from flask_books import create_app
from flask_books.db import create_db_engine as flask_engine
from flask_books.models import Book as FlaskBook
from tests.contract import SEED
from tests.databases import REPO_ROOT, TABLES, TestDatabases, prepare

FRAMEWORKS = list(TABLES)


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    """The framework whose migrations are under test."""
    name: str = request.param
    return name


@pytest.fixture
def connect() -> Iterator[Any]:
    """Open engines on database URLs; all are disposed of after the test."""
    engines: list[Engine] = []

    def engine_for(url: str) -> Engine:
        engines.append(create_engine(url))
        return engines[-1]

    yield engine_for
    for engine in engines:
        engine.dispose()


def books_table(framework: str) -> TableClause:
    """The framework's books table, as plain SQL sees it."""
    return table(TABLES[framework], column("id"), column("title"), column("author"))


def stored_books(engine: Engine, framework: str) -> list[dict[str, Any]]:
    """Every stored book, by id."""
    books = books_table(framework)
    with engine.connect() as connection:
        rows = connection.execute(select(books).order_by(books.c.id))
        return [dict(row._mapping) for row in rows]


def add_book(engine: Engine, framework: str, title: str) -> int:
    """Insert a book without an id, as the APIs do; return the id the database gave it."""
    books = books_table(framework)
    with engine.begin() as connection:
        statement = insert(books).values(title=title, author="Test").returning(books.c.id)
        return connection.execute(statement).scalar_one()


def delete_book(engine: Engine, framework: str, book_id: int) -> None:
    """Delete one book by id."""
    books = books_table(framework)
    with engine.begin() as connection:
        connection.execute(delete(books).where(books.c.id == book_id))


def test_prepare_seeds_once_and_ids_continue_past_the_seed(
    test_databases: TestDatabases, connect: Any, framework: str
) -> None:
    """A new database gets the schema and the seed; the next id is 3, and no id is reused;
    preparing again (every server start does) applies nothing twice: no deleted book comes back.
    """
    url = test_databases.empty_url(framework)
    prepare(framework, url)
    engine = connect(url)
    assert stored_books(engine, framework) == SEED
    assert add_book(engine, framework, "Snow Crash") == 3
    delete_book(engine, framework, 3)
    assert add_book(engine, framework, "Snow Crash") == 4
    delete_book(engine, framework, 1)
    prepare(framework, url)
    assert stored_books(engine, framework) == [
        SEED[1],
        {"id": 4, "title": "Snow Crash", "author": "Test"},
    ]


def test_one_database_holds_all_three(test_databases: TestDatabases, connect: Any) -> None:
    """One DATABASE_URL for all three (make migrate): their tables, constraints and migration
    records have names of their own, so each migrates and seeds beside the others."""
    url = test_databases.empty_url("shared")
    for framework in FRAMEWORKS:
        prepare(framework, url)
    engine = connect(url)
    for framework in FRAMEWORKS:
        assert stored_books(engine, framework) == SEED


def test_renaming_django_s_constraint_keeps_deleted_ids_unused(
    test_databases: TestDatabases, connect: Any
) -> None:
    """Migration 0004 rebuilds the table on SQLite; the ids of deleted books stay used up."""
    url = test_databases.empty_url("django")
    migrate_django = [sys.executable, "manage.py", "migrate", "--verbosity", "0", "books"]
    environment = {**os.environ, "DATABASE_URL": url}
    subprocess.run([*migrate_django, "0003"], cwd=REPO_ROOT, env=environment, check=True)
    engine = connect(url)
    newest = add_book(engine, "django", "Snow Crash")
    delete_book(engine, "django", newest)
    subprocess.run([*migrate_django, "0004"], cwd=REPO_ROOT, env=environment, check=True)
    assert add_book(engine, "django", "Snow Crash") == newest + 1
    delete_book(engine, "django", newest + 1)
    subprocess.run([*migrate_django, "0003"], cwd=REPO_ROOT, env=environment, check=True)
    assert add_book(engine, "django", "Snow Crash") == newest + 2


def test_reset_restores_the_seed_and_the_next_id(
    test_databases: TestDatabases, connect: Any, framework: str
) -> None:
    """The suite's reset, as every test uses it: exactly the seed again, and id 3 next."""
    database = test_databases.prepared(framework)
    engine = connect(database.url)
    add_book(engine, framework, "Snow Crash")
    add_book(engine, framework, "Cryptonomicon")
    delete_book(engine, framework, 1)
    database.reset()
    assert stored_books(engine, framework) == SEED
    assert add_book(engine, framework, "Snow Crash") == 3
    database.reset()


def test_failed_insert_uses_up_its_id_on_postgresql_only(
    test_databases: TestDatabases, connect: Any, framework: str
) -> None:
    """As CONTRACT.md says: a sequence is not rolled back, SQLite's AUTOINCREMENT counter is."""
    database = test_databases.seeded(framework)
    engine = connect(database.url)
    books = books_table(framework)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(books).values(title=SEED[0]["title"], author=SEED[0]["author"]))
    expected_id = {"postgresql": 4, "sqlite": 3}[test_databases.backend]
    assert add_book(engine, framework, "Snow Crash") == expected_id
    database.reset()


def test_sqlite_database_is_in_wal_mode(test_databases: TestDatabases, framework: str) -> None:
    """After the prepare step, the SQLite file is in WAL mode: readers do not block the writer."""
    if test_databases.backend != "sqlite":
        pytest.skip("WAL is SQLite's; this run is on PostgreSQL (--database=postgresql)")
    database = make_url(test_databases.prepared(framework).url).database
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# The tables each Alembic environment migrates, and where it records its revision.
ALEMBIC_METADATA = {
    "flask": (FlaskBook.metadata, "alembic_version_flask_books"),
    "fastapi": (FastAPIBook.metadata, "alembic_version_fastapi_books"),
}


@pytest.mark.parametrize("framework", list(ALEMBIC_METADATA))
def test_alembic_migrations_build_exactly_the_models_schema(
    test_databases: TestDatabases, connect: Any, framework: str
) -> None:
    """Alembic's autogenerate, comparing the models with the migrated database, finds no change."""
    metadata, version_table = ALEMBIC_METADATA[framework]
    engine = connect(test_databases.prepared(framework).url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": version_table})
        assert compare_metadata(context, metadata) == []


@pytest.mark.django_db
def test_django_models_need_no_new_migration() -> None:
    """makemigrations --check: the migrations build exactly the models' schema."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


# Connection settings: SQLite waits for the write lock; PostgreSQL gives up connecting in time.

SQLITE_BUSY_TIMEOUT_MS = 20_000
DJANGO_HEALTH_STATUS = (
    "import django; django.setup(); from django.test import Client;"
    " print(Client(HTTP_HOST='localhost').get('/health').status_code)"
)


def busy_timeout_ms(framework: str, database_url: str) -> int:
    """SQLite's busy timeout on a connection as the framework's app opens it."""
    timeout: int
    if framework == "django":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            (timeout,) = cursor.fetchone()
            return timeout
    if framework == "flask":
        engine = flask_engine(database_url)
        try:
            with engine.connect() as sqlite_connection:
                timeout = sqlite_connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
                return timeout
        finally:
            engine.dispose()

    async def read_fastapi_busy_timeout() -> int:
        engine = fastapi_engine(database_url)
        try:
            async with engine.connect() as sqlite_connection:
                result = await sqlite_connection.exec_driver_sql("PRAGMA busy_timeout")
                timeout: int = result.scalar_one()
                return timeout
        finally:
            await engine.dispose()

    return asyncio.run(read_fastapi_busy_timeout())


@pytest.mark.django_db
def test_sqlite_writers_wait_for_the_lock(test_databases: TestDatabases, framework: str) -> None:
    """Every SQLite connection waits up to 20 s for another worker's write lock, not failing.

    Django also begins its transactions IMMEDIATE: taking the write lock first, a transaction
    never has to upgrade a read lock, which SQLite refuses at once when another writer waits.
    """
    if test_databases.backend != "sqlite":
        pytest.skip("the busy timeout is SQLite's; this run is on PostgreSQL")
    url = test_databases.prepared(framework).url
    assert busy_timeout_ms(framework, url) == SQLITE_BUSY_TIMEOUT_MS
    if framework == "django":
        # django-stubs 5.2 does not know the SQLite backend's transaction_mode (Django 5.1).
        assert connection.transaction_mode == "IMMEDIATE"  # type: ignore[attr-defined]


@pytest.fixture
def silent_database_url() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts the TCP connection, then never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes the handshakes; nothing ever reads
        yield f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/books"


def health_status(framework: str, database_url: str) -> int:
    """GET /health in-process, on an app configured with this DATABASE_URL."""
    if framework == "django":
        # Settings are read once per process: a fresh interpreter reads this DATABASE_URL.
        result = subprocess.run(
            [sys.executable, "-c", DJANGO_HEALTH_STATUS],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "django_books.settings",
                "DATABASE_URL": database_url,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return int(result.stdout.split()[-1])
    if framework == "flask":
        app = create_app({"TESTING": True, "DATABASE_URL": database_url})
        try:
            return app.test_client().get("/health").status_code
        finally:
            app.extensions["books_engine"].dispose()
    engine = fastapi_engine(database_url)

    async def session_on_engine() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(engine) as session:
            yield session

    fastapi_app.dependency_overrides[fastapi_get_session] = session_on_engine
    try:
        with TestClient(fastapi_app) as client:
            status = client.get("/health").status_code
            assert client.portal is not None  # set while the client is open
            client.portal.call(engine.dispose)
            return status
    finally:
        fastapi_app.dependency_overrides.clear()


def test_database_that_never_answers_is_a_503(
    test_databases: TestDatabases, silent_database_url: str, framework: str
) -> None:
    """With a connect timeout, a hanging PostgreSQL server makes /health a 503, not a hang."""
    if test_databases.backend != "postgresql":
        pytest.skip("PostgreSQL's connect timeout: checked in the --database=postgresql run")
    with ThreadPoolExecutor(max_workers=1) as thread:
        answer = thread.submit(health_status, framework, silent_database_url)
        # Without a connect timeout the request would wait for as long as the TCP connection lives.
        assert answer.result(timeout=60) == 503


def test_postgresql_urls_select_psycopg_3(silent_database_url: str) -> None:
    """postgresql:// is psycopg 3 for all three: Django's backend, and SQLAlchemy 2.1's dialect.

    The SQLAlchemy engines also ping a pooled connection before handing it out.
    """
    assert postgresql_backend.is_psycopg3
    for create_db_engine in (flask_engine, fastapi_engine):
        engine = create_db_engine(silent_database_url)
        assert engine.dialect.driver == "psycopg"
        assert engine.pool._pre_ping

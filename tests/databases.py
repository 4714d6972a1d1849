"""The suite's own databases: SQLite files, or PostgreSQL databases it creates and drops.

`pytest --database=sqlite` (the default, `make test`) or `pytest --database=postgresql`
(`make test-postgres`) chooses the database for the whole run. For PostgreSQL the suite creates
databases named `books_test_<framework>_<random>` on the server that `TEST_DATABASE_URL` names
(default `postgresql://postgres@127.0.0.1:5432/postgres`; the user must be allowed to create
databases) and drops them when the session ends. When that server does not answer, every test
that needs a database fails with the reason: the PostgreSQL run was asked for, so it never passes
by skipping.

The fixtures (a pytest plugin: `pytest_plugins` in conftest.py loads this module):

- `test_databases` (session): a `TestDatabases`. `test_databases.prepared(framework)` returns the
  framework's `PreparedDatabase`, created on first use and prepared exactly as
  `make serve-<framework>` prepares it: the same command (`PREPARE_COMMANDS`) with
  `DATABASE_URL` set, so the schema and the seed come from that framework's own migrations.
  `test_databases.seeded(framework)` returns it after `reset()`.
- `PreparedDatabase.url` is the `DATABASE_URL` to give the app or server;
  `PreparedDatabase.reset()` restores exactly the seed (books 1 and 2; the next book gets id 3)
  in SQL: DELETE, INSERT and a reset of the id sequence (SQLite's `sqlite_sequence`), in one
  transaction, with no DROP, so it is safe while servers are connected to the database.
- `test_databases.empty_url(framework)`: a new, empty database, for tests of the migrations.
- `test_databases.unreachable_url(framework)`: a `DATABASE_URL` whose database never answers
  (SQLite: a file in a missing directory; PostgreSQL: a closed local port, refused at once).
- `django_db_modify_db_settings`: pytest-django's hook, so that on PostgreSQL its test database
  (built by the migrations, as ever) lives on the same server under a throwaway name.
"""

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from psycopg import sql
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    column,
    create_engine,
    delete,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql.expression import TableClause

from django_books.books.models import BookChange, BookChangeCounter
from tests.contract import SEED

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_SECONDS = 3

# Each framework's tables, as its migrations name them: the books, the outbox of their changes and
# its counter.
TABLES = {"django": "books_book", "flask": "books", "fastapi": "book"}
CHANGE_TABLES = {
    "django": ("books_bookchange", "books_bookchangecounter"),
    "flask": ("book_changes", "book_change_counter"),
    "fastapi": ("bookchange", "bookchangecounter"),
}

# The prepare step of each `make serve-<framework>` (see the Makefile), run with DATABASE_URL.
PREPARE_COMMANDS = {
    "django": [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
    "flask": [sys.executable, "-m", "flask", "--app", "flask_books", "init-db"],
    "fastapi": [sys.executable, "-m", "fastapi_books.initial_data"],
}


def prepare(framework: str, database_url: str) -> None:
    """Migrate and seed the database as `make serve-<framework>` does; fail with its output."""
    result = subprocess.run(
        PREPARE_COMMANDS[framework],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"preparing the {framework} database failed:\n{result.stdout}{result.stderr}")


def closed_port() -> int:
    """A local TCP port that nothing listens on: connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """The PostgreSQL server the suite may create and drop its own databases on."""

    def __init__(self, url: str) -> None:
        # Whatever driver the URL names, the packages read plain postgresql:// URLs.
        self.url = make_url(url).set(drivername="postgresql")

    def url_of(self, database: str) -> URL:
        """The URL of one database on this server."""
        return self.url.set(database=database)

    def connect(self) -> psycopg.Connection:
        """An autocommit connection to the server's own database (CREATE DATABASE needs one)."""
        conninfo = self.url.render_as_string(hide_password=False)
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)

    def unreachable_reason(self) -> str | None:
        """Why the server cannot be used, or None when it answers."""
        try:
            with self.connect() as connection:
                connection.execute("SELECT 1")
        except psycopg.Error as error:
            shown = self.url.render_as_string(hide_password=True)
            return f"PostgreSQL at {shown} (TEST_DATABASE_URL) does not answer: {error}".strip()
        return None

    def create_database(self, prefix: str) -> str:
        """Create an empty UTF-8 database with a unique name that starts with prefix."""
        name = f"{prefix}_{secrets.token_hex(4)}"
        with self.connect() as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(name)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        """Drop one of the suite's databases, closing whatever is still connected to it."""
        with self.connect() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class PreparedDatabase:
    """One framework's database, migrated and seeded by that framework."""

    framework: str
    url: str
    engine: Engine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A long busy timeout: on SQLite the reset may wait for a server's write to finish.
        connect_args = {"timeout": 30} if self.url.startswith("sqlite") else {}
        self.engine = create_engine(self.url, connect_args=connect_args)

    def reset(self) -> None:
        """Restore exactly the seed: its books with their ids, and the next id after them; no
        change recorded, and the next one event 1."""
        books = table(TABLES[self.framework], column("id"), column("title"), column("author"))
        changes, counter = change_tables(self.framework)
        last_seed_id = max(book["id"] for book in SEED)
        with self.engine.begin() as connection:
            connection.execute(delete(books))
            connection.execute(insert(books), SEED)
            connection.execute(delete(changes))
            connection.execute(update(counter).values(last_event=0))
            if self.engine.dialect.name == "sqlite":
                # AUTOINCREMENT's high-water mark, which DELETE keeps.
                sequence = table("sqlite_sequence", column("name"), column("seq"))
                connection.execute(
                    update(sequence).where(sequence.c.name == books.name).values(seq=last_seed_id)
                )
            else:
                sequence_name = func.pg_get_serial_sequence(books.name, "id")
                connection.execute(select(func.setval(sequence_name, last_seed_id)))

    def changes(self) -> list[dict[str, Any]]:
        """The events in the outbox, oldest first: event, type, book_id, version and book."""
        changes, _ = change_tables(self.framework)
        with self.engine.connect() as connection:
            fields = [changes.c[name] for name in CHANGE_FIELDS]
            rows = connection.execute(select(*fields).order_by(changes.c.event))
            return [dict(row._mapping) for row in rows]

    def add_changes(self, events: list[dict[str, Any]], last_event: int) -> None:
        """Store these events (each with every column, created_at too), and the counter at
        last_event."""
        changes, counter = change_tables(self.framework)
        with self.engine.begin() as connection:
            connection.execute(insert(changes), events)
            connection.execute(update(counter).values(last_event=last_event))

    def close(self) -> None:
        """Close the reset's pooled connections."""
        self.engine.dispose()


# The outbox's columns, the same in the three packages; created_at is written, not read back.
CHANGE_FIELDS = ("event", "type", "book_id", "version", "book")


def change_tables(framework: str) -> tuple[TableClause, TableClause]:
    """The framework's outbox and its counter, as SQL tables."""
    changes, counter = CHANGE_TABLES[framework]
    return (
        table(
            changes,
            *(column(name) for name in CHANGE_FIELDS[:-1]),
            column("book", JSON),
            column("created_at", DateTime(timezone=True)),
        ),
        table(counter, column("last_event")),
    )


class TestDatabases:
    """The session's databases: one per framework, made and prepared on first use."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, backend: str, directory: Path, server: PostgresServer | None) -> None:
        self.backend = backend
        self.directory = directory
        self.server = server
        self.databases: dict[str, PreparedDatabase] = {}
        self.created: list[str] = []

    def empty_url(self, framework: str) -> str:
        """The URL of a new, empty database for this framework (dropped with the session)."""
        if self.server is None:
            return f"sqlite:///{self.directory / f'{framework}_{secrets.token_hex(4)}.sqlite3'}"
        name = self.server.create_database(f"books_test_{framework}")
        self.created.append(name)
        return self.server.url_of(name).render_as_string(hide_password=False)

    def prepared(self, framework: str) -> PreparedDatabase:
        """The framework's database, migrated and seeded as `make serve-<framework>` does."""
        if framework not in self.databases:
            url = self.empty_url(framework)
            prepare(framework, url)
            self.databases[framework] = PreparedDatabase(framework, url)
        return self.databases[framework]

    def seeded(self, framework: str) -> PreparedDatabase:
        """The framework's database, holding exactly the seed."""
        database = self.prepared(framework)
        database.reset()
        return database

    def unreachable_url(self, framework: str) -> str:
        """A DATABASE_URL for this framework on which no database ever answers."""
        if self.server is None:
            return f"sqlite:///{self.directory / 'missing' / f'{framework}.sqlite3'}"
        nowhere = self.server.url.set(host="127.0.0.1", port=closed_port(), database="books")
        return nowhere.render_as_string(hide_password=False)

    def django_test_settings(self) -> dict[str, Any]:
        """The DATABASES entry that puts pytest-django's test database on the server."""
        assert self.server is not None
        url = self.server.url
        return {
            "ENGINE": "django.db.backends.postgresql",
            # Django connects to this database to create and drop its test database.
            "NAME": url.database or "postgres",
            "USER": url.username or "",
            "PASSWORD": url.password or "",
            "HOST": url.host or "",
            "PORT": url.port or "",
            "OPTIONS": {"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            "TEST": {
                "NAME": f"books_test_django_{secrets.token_hex(4)}",
                "CHARSET": "UTF8",
                "TEMPLATE": "template0",
            },
        }

    def close(self) -> None:
        """Close every connection and drop the databases this session created."""
        for database in self.databases.values():
            database.close()
        if self.server is not None:
            for name in self.created:
                self.server.drop_database(name)


@pytest.fixture(scope="session")
def database_backend(request: pytest.FixtureRequest) -> str:
    """The database the suite runs on: "sqlite" or "postgresql" (pytest --database=...)."""
    backend: str = request.config.getoption("database")
    return backend


@pytest.fixture(scope="session")
def test_databases(
    database_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabases]:
    """The session's databases; on PostgreSQL, a failure with the reason if the server is down."""
    server = None
    if database_backend == "postgresql":
        server = PostgresServer(os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL))
        if reason := server.unreachable_reason():
            pytest.fail(reason)
    databases = TestDatabases(database_backend, tmp_path_factory.mktemp("databases"), server)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, test_databases: TestDatabases
) -> None:
    """On PostgreSQL, build pytest-django's test database on the suite's server."""
    if test_databases.server is not None:
        default = settings.DATABASES["default"]
        test_settings = test_databases.django_test_settings()
        # Django has filled in its defaults already: keep them, TEST's included.
        default["TEST"].update(test_settings.pop("TEST"))
        default.update(test_settings)
        # Importing the models opened a SQLite connection object; the next use makes a new one.
        del connections["default"]


class DjangoChanges:
    """Django's outbox, in-process: read and written on the test's own connection and transaction,
    where the test client's requests write it (PreparedDatabase has the same two methods)."""

    def changes(self) -> list[dict[str, Any]]:
        return list(BookChange.objects.values(*CHANGE_FIELDS))

    def add_changes(self, events: list[dict[str, Any]], last_event: int) -> None:
        BookChange.objects.bulk_create(BookChange(**event) for event in events)
        BookChangeCounter.objects.update(last_event=last_event)


@pytest.fixture
def outbox(framework: str, request: pytest.FixtureRequest) -> DjangoChanges | PreparedDatabase:
    """The outbox of the framework under test's database: `changes()` lists its events, oldest
    first; `add_changes(events, last_event)` stores some and moves the counter."""
    if framework == "django" and request.config.getoption("server") == "inprocess":
        return DjangoChanges()
    databases: TestDatabases = request.getfixturevalue("test_databases")
    return databases.prepared(framework)

"""Each framework's migrations on SQLite or PostgreSQL (`--database`), run as `make serve-*` does.

The prepare step (`manage.py migrate`, `flask init-db`, `python -m fastapi_books.initial_data`)
creates the schema and loads the seed once; ids continue past the seed and are never reused; the
suite's reset restores exactly the seed; SQLite databases are in WAL mode.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import Engine, TableClause, column, create_engine, delete, insert, select, table
from sqlalchemy.engine import make_url

from tests.contract import SEED
from tests.databases import TABLES, TestDatabases, prepare

FRAMEWORKS = list(TABLES)


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    """The framework whose migrations are under test."""
    return request.param


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


def test_sqlite_database_is_in_wal_mode(test_databases: TestDatabases, framework: str) -> None:
    """After the prepare step, the SQLite file is in WAL mode: readers do not block the writer."""
    if test_databases.backend != "sqlite":
        pytest.skip("WAL is SQLite's; this run is on PostgreSQL (--database=postgresql)")
    database = make_url(test_databases.prepared(framework).url).database
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)

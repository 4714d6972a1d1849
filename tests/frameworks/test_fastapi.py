"""FastAPI-specific checks: schema and seed setup, settings from the environment, the CLI."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect
from sqlmodel import Session, col, create_engine, select

from fastapi_books.config import REPO_ROOT, get_settings
from fastapi_books.db import init_db
from fastapi_books.main import app
from fastapi_books.models import Book
from tests.contract import SEED


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a new, empty SQLite file."""
    engine = create_engine(f"sqlite:///{tmp_path / 'books.sqlite3'}")
    yield engine
    engine.dispose()


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


def test_init_db_creates_the_table_with_its_unique_constraint(engine: Engine) -> None:
    """init_db creates the book table with a unique constraint on (title, author)."""
    init_db(engine)
    constraints = inspect(engine).get_unique_constraints("book")
    assert [constraint["column_names"] for constraint in constraints] == [["title", "author"]]


def test_init_db_loads_the_seed(engine: Engine) -> None:
    """A new database holds exactly the seed from shared_fixtures/books.json."""
    init_db(engine)
    assert stored_books(engine) == SEED


def test_init_db_loads_the_seed_only_once(engine: Engine) -> None:
    """A second init_db does not duplicate the seed."""
    init_db(engine)
    init_db(engine)
    assert stored_books(engine) == SEED


def test_deleted_seed_books_do_not_come_back(engine: Engine) -> None:
    """init_db never re-seeds an existing database, not even one whose books were all deleted."""
    init_db(engine)
    with Session(engine) as session:
        for book in session.exec(select(Book)).all():
            session.delete(book)
        session.commit()
    init_db(engine)
    assert stored_books(engine) == []


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    """DATABASE_URL and BOOKS_API_TOKEN are read from the environment."""
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.sqlite3")
    monkeypatch.setenv("BOOKS_API_TOKEN", "s3cret")
    settings = get_settings()
    assert settings.database_url == "sqlite:////tmp/elsewhere.sqlite3"
    assert settings.books_api_token.get_secret_value() == "s3cret"


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> None:
    """Unset: a SQLite file under var/ of the repository, and no token (every write is 401)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("BOOKS_API_TOKEN", raising=False)
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'fastapi.sqlite3'}"
    assert settings.books_api_token.get_secret_value() == ""


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
    assert set(paths) == {"/books", "/books/{book_id}", "/health"}
    assert set(paths["/books/{book_id}"]) == {"get", "put", "patch", "delete", "options"}


def test_a_docs_asset_answers_other_methods_with_its_own_allow() -> None:
    """The docs' mounted files serve GET and HEAD; their 405 says so, as a problem."""
    with TestClient(app) as client:
        response = client.post("/docs/assets/swagger-ui.css")
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, HEAD"
    assert response.headers["content-type"] == "application/problem+json"

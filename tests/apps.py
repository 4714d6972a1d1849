"""The in-process apps, each built as its framework's tests build it, on a database of our choosing.

The `client` fixtures in conftest.py use these for one test's database; the differential test uses
them for a fresh database per generated example.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from flask import Flask
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from fastapi_books.db import get_session
from fastapi_books.db import init_db as fastapi_init_db
from fastapi_books.main import app as fastapi_app
from flask_books import create_app
from flask_books.db import get_engine
from flask_books.db import init_db as flask_init_db

BASE_URL = "http://localhost"


def reverse_unordered_selects(engine: Engine) -> Engine:
    """Make SQLite return rows in reverse unless the query orders them, so ordering is tested."""

    def set_pragma(dbapi_connection: Any, connection_record: Any) -> None:
        """Turn the pragma on for each new connection."""
        dbapi_connection.execute("PRAGMA reverse_unordered_selects = ON")

    event.listen(engine, "connect", set_pragma)
    return engine


def wsgi_client(app: Callable[..., Any]) -> httpx2.Client:
    """An httpx2 client that calls a WSGI app in-process."""
    transport = httpx2.WSGITransport(app=app)
    return httpx2.Client(transport=transport, base_url=BASE_URL, follow_redirects=False)


# Flask: the tutorial's pattern — an app from the factory with a test config, initialised inside
# an app context.


def flask_app(database_url: str, api_token: str) -> Flask:
    """A Flask app from the factory, configured for one test."""
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "BOOKS_API_TOKEN": api_token})


@contextmanager
def flask_test_client(app: Flask) -> Iterator[httpx2.Client]:
    """An httpx2 client for the app; afterwards, the app's pooled connections are closed."""
    with wsgi_client(app) as client:
        yield client
    with app.app_context():
        get_engine().dispose()


@contextmanager
def seeded_flask_client(database_url: str, api_token: str) -> Iterator[httpx2.Client]:
    """Flask on a new database, initialised by init_db, so it holds exactly the seed."""
    app = flask_app(database_url, api_token)
    with app.app_context():
        reverse_unordered_selects(get_engine())
        flask_init_db()
    with flask_test_client(app) as client:
        yield client


# FastAPI: the documented dependency override for the session, on the test's own engine. Its token
# comes from the environment (the `fastapi_token` fixture in conftest.py).


@contextmanager
def fastapi_test_client(engine: Engine) -> Iterator[httpx2.Client]:
    """Starlette's TestClient (an httpx2 client), with sessions on this engine."""

    def get_session_override() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    fastapi_app.dependency_overrides[get_session] = get_session_override
    try:
        with TestClient(fastapi_app, base_url=BASE_URL, follow_redirects=False) as client:
            yield client
    finally:
        fastapi_app.dependency_overrides.clear()
        engine.dispose()


@contextmanager
def seeded_fastapi_client(database_url: str) -> Iterator[httpx2.Client]:
    """FastAPI on a new database, initialised by init_db, so it holds exactly the seed."""
    engine = reverse_unordered_selects(create_engine(database_url))
    fastapi_init_db(engine)
    with fastapi_test_client(engine) as client:
        yield client

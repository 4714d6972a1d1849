"""Plug each implementation into the one contract suite.

Every contract test asks for `client` and runs once per framework. Each framework gets its own
fixture, written in that framework's test idiom, and each test starts from a fresh database that
holds exactly the seed.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from sqlmodel import create_engine

from django_books.wsgi import application as django_application
from fastapi_books.config import get_settings
from tests.apps import (
    BASE_URL,
    fastapi_test_client,
    flask_app,
    flask_test_client,
    seeded_fastapi_client,
    seeded_flask_client,
    wsgi_client,
)
from tests.contract import AUTH, TOKEN
from tests.openapi_validation import attach as check_against_openapi

FRAMEWORKS = [pytest.param("django", marks=pytest.mark.django_db), "flask", "fastapi"]


@pytest.fixture
def api_token() -> str:
    """The write token the app is configured with; a test may parametrize it (e.g. "" for unset)."""
    return TOKEN


# Django: pytest-django's test database (built by the migrations, so it holds the seed) inside a
# rolled-back transaction, and its `settings` fixture for the token.


@pytest.fixture
def keep_django_connection() -> Iterator[None]:
    """As Django's test client does: keep the test's connection and transaction across requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def django_client(
    settings: Any, api_token: str, keep_django_connection: None
) -> Iterator[httpx2.Client]:
    """Django + DRF through its real WSGI handler, on pytest-django's test database."""
    settings.BOOKS_API_TOKEN = api_token
    settings.ALLOWED_HOSTS = ["localhost"]  # the tests' host, whatever DJANGO_ALLOWED_HOSTS says
    # Rows come back in reverse unless the query orders them, so the ordering rule is tested.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA reverse_unordered_selects = ON")
    with wsgi_client(django_application) as client:
        yield client


class FreshThreadTransport(httpx2.BaseTransport):
    """Handle each request on a new thread, so Django opens a new database connection for it."""

    def __init__(self, transport: httpx2.BaseTransport) -> None:
        self.transport = transport

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send the request from a one-off thread and read the whole response there."""

        def send() -> httpx2.Response:
            response = self.transport.handle_request(request)
            response.read()
            return response

        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(send).result()


@pytest.fixture
def django_unavailable_client(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api_token: str, settings: Any
) -> Iterator[httpx2.Client]:
    """Django whose database cannot be opened: new connections point into a missing directory."""
    settings.BOOKS_API_TOKEN = api_token
    monkeypatch.setitem(
        connection.settings_dict, "NAME", str(tmp_path / "missing" / "books.sqlite3")
    )
    transport = FreshThreadTransport(httpx2.WSGITransport(app=django_application))
    with httpx2.Client(transport=transport, base_url=BASE_URL, follow_redirects=False) as client:
        yield client


# Flask and FastAPI: built by tests/apps.py, on a fresh SQLite file per test.


@pytest.fixture
def flask_client(tmp_path: Path, api_token: str) -> Iterator[httpx2.Client]:
    """Flask on a fresh SQLite file, initialised by init_db."""
    with seeded_flask_client(f"sqlite:///{tmp_path / 'books.sqlite3'}", api_token) as client:
        yield client


@pytest.fixture
def flask_unavailable_client(tmp_path: Path, api_token: str) -> Iterator[httpx2.Client]:
    """Flask whose database file lies in a missing directory."""
    app = flask_app(f"sqlite:///{tmp_path / 'missing' / 'books.sqlite3'}", api_token)
    with flask_test_client(app) as client:
        yield client


# FastAPI's token comes from the environment, which get_settings() reads afresh once its cache is
# cleared.


@pytest.fixture
def fastapi_token(monkeypatch: pytest.MonkeyPatch, api_token: str) -> Iterator[None]:
    """Set BOOKS_API_TOKEN for FastAPI, and forget the cached settings around the test."""
    monkeypatch.setenv("BOOKS_API_TOKEN", api_token)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def fastapi_client(tmp_path: Path, fastapi_token: None) -> Iterator[httpx2.Client]:
    """FastAPI on a fresh SQLite file, initialised by init_db."""
    with seeded_fastapi_client(f"sqlite:///{tmp_path / 'books.sqlite3'}") as client:
        yield client


@pytest.fixture
def fastapi_unavailable_client(tmp_path: Path, fastapi_token: None) -> Iterator[httpx2.Client]:
    """FastAPI whose database file lies in a missing directory."""
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'books.sqlite3'}")
    with fastapi_test_client(engine) as client:
        yield client


# The one parametrized entry point of the contract suite.


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    """The framework under test; test ids end in [django], [flask] or [fastapi]."""
    return request.param


@pytest.fixture
def client(framework: str, api_token: str, request: pytest.FixtureRequest) -> httpx2.Client:
    """An httpx2 client for the framework under test, on a database that holds exactly the seed.

    It names `api_token` so that a test can parametrize the token; the framework fixture uses it.
    Every response it receives is checked against the canonical OpenAPI document.
    """
    return check_against_openapi(request.getfixturevalue(f"{framework}_client"), framework)


@pytest.fixture
def unavailable_client(
    framework: str, api_token: str, request: pytest.FixtureRequest
) -> httpx2.Client:
    """An httpx2 client for the framework under test, whose database does not answer."""
    client = request.getfixturevalue(f"{framework}_unavailable_client")
    return check_against_openapi(client, framework)


@pytest.fixture
def auth() -> dict[str, str]:
    """The Authorization header that passes the write check."""
    return AUTH

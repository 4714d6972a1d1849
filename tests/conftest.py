"""Plug each implementation into the one contract suite.

Every contract test asks for `client` and runs once per framework. Each framework gets its own
fixture, written in that framework's test idiom, and each test starts from a fresh database that
holds exactly the seed. `--database=sqlite|postgresql` chooses the database (tests/databases.py).
"""

import socket
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import environ
import httpx2
import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import override_settings
from fastapi.testclient import TestClient
from flask import Flask
from pytest_django import Settings
from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from django_books.books.models import Book as DjangoBook
from django_books.wsgi import BooksWSGIHandler
from fastapi_books.config import get_settings
from fastapi_books.db import create_db_engine, get_session
from fastapi_books.main import app as fastapi_app
from flask_books import create_app
from flask_books.catalog import get_client as get_catalog_client
from flask_books.db import get_engine
from tests.catalog_stub import CatalogStub
from tests.contract import AUTH, CATALOG_TIMEOUT, TOKEN
from tests.openapi_validation import attach as check_against_openapi

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from tests.databases import TestDatabases

# The database fixtures (tests/databases.py) and --server=live (tests/live/plugin.py); imported
# as plugins, so that pytest rewrites their asserts.
pytest_plugins = ["tests.databases", "tests.live.plugin"]

BASE_URL = "http://localhost"
FRAMEWORKS = [pytest.param("django", marks=pytest.mark.django_db), "flask", "fastapi"]
AnyEngine = TypeVar("AnyEngine", Engine, AsyncEngine)


def pytest_addoption(parser: pytest.Parser) -> None:
    """--database: SQLite or PostgreSQL; --server: in-process or live servers."""
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the database every framework runs on (PostgreSQL: see TEST_DATABASE_URL)",
    )
    parser.addoption(
        "--server",
        choices=["inprocess", "live", "stack"],
        default="inprocess",
        help="inprocess: call each app in the test process; live: start each app as "
        "`make serve-<framework>` does and speak HTTP to it; stack: as `make stack-<framework>` "
        "does (nginx, two instances, PgBouncer; PostgreSQL only)",
    )


def is_live(config: pytest.Config) -> bool:
    """Whether the suite runs against live servers (a stack is one)."""
    server: str = config.getoption("server")
    return server in ("live", "stack")


@pytest.fixture
def api_token() -> str:
    """The write token the app is configured with; a test may parametrize it (e.g. "" for unset)."""
    return TOKEN


# The upstream catalog: one stub for the session (tests/catalog_stub.py), to which every app of
# the suite is pointed, in-process and live, unless a test points it at one that cannot be reached.


@pytest.fixture(scope="session")
def catalog_stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStub]:
    """The session's catalog stub, started once, on a free port; its output in the session's
    temporary directory."""
    log_path = tmp_path_factory.mktemp("catalog-stub") / "stub.log"
    with CatalogStub(log_path=log_path) as stub:
        yield stub


@pytest.fixture
def catalog(catalog_stub: CatalogStub) -> CatalogStub:
    """The catalog stub, at its default behaviour and with no request recorded."""
    catalog_stub.reset()
    return catalog_stub


@pytest.fixture(scope="session")
def unreachable_catalog_url() -> Iterator[str]:
    """A CATALOG_URL that refuses connections: a port bound for the session, never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


@pytest.fixture
def catalog_url(request: pytest.FixtureRequest) -> str:
    """The CATALOG_URL the app under test is given: the stub's, or with the indirect parameter
    "unreachable", one that refuses connections."""
    if getattr(request, "param", "stub") == "unreachable":
        url: str = request.getfixturevalue("unreachable_catalog_url")
        return url
    stub: CatalogStub = request.getfixturevalue("catalog_stub")
    return stub.url


def reverse_unordered_selects(engine: AnyEngine) -> AnyEngine:
    """Make SQLite return rows in reverse unless the query orders them, so ordering is tested.

    PostgreSQL guarantees no order without ORDER BY anyway.
    """
    if engine.dialect.name != "sqlite":
        return engine

    def set_pragma(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        """Turn the pragma on for each new connection."""
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA reverse_unordered_selects = ON")
        cursor.close()

    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    event.listen(sync_engine, "connect", set_pragma)
    return engine


def wsgi_client(app: "WSGIApplication") -> httpx2.Client:
    """An httpx2 client that calls a WSGI app in-process."""
    transport = httpx2.WSGITransport(app=app)
    return httpx2.Client(transport=transport, base_url=BASE_URL, follow_redirects=False)


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


@pytest.fixture(scope="session")
def django_application(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BooksWSGIHandler]:
    """Django's WSGI application, built once its static files are collected as `make serve-django`
    collects them (WhiteNoise indexes STATIC_ROOT when the application starts)."""
    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static")):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield BooksWSGIHandler()


@pytest.fixture
def django_client(
    settings: Settings,
    api_token: str,
    catalog_url: str,
    keep_django_connection: None,
    django_application: BooksWSGIHandler,
) -> Iterator[httpx2.Client]:
    """Django + DRF through its real WSGI handler, on pytest-django's test database."""
    settings.BOOKS_API_TOKEN = api_token
    settings.CATALOG_URL = catalog_url
    settings.CATALOG_TIMEOUT = CATALOG_TIMEOUT
    settings.ALLOWED_HOSTS = ["localhost"]  # the tests' host, whatever DJANGO_ALLOWED_HOSTS says
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Rows come back in reverse unless the query orders them, so ordering is tested.
            cursor.execute("PRAGMA reverse_unordered_selects = ON")
        # The rolled-back transaction restores the rows, but PostgreSQL's sequence moves on
        # regardless: set it back past the seed, as the seed migration does (a no-op on SQLite).
        for statement in connection.ops.sequence_reset_sql(no_style(), [DjangoBook]):
            cursor.execute(statement)
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
    monkeypatch: pytest.MonkeyPatch,
    test_databases: "TestDatabases",
    api_token: str,
    catalog_url: str,
    settings: Settings,
    django_application: BooksWSGIHandler,
) -> Iterator[httpx2.Client]:
    """Django whose database cannot be reached: new connections go where nothing answers."""
    settings.BOOKS_API_TOKEN = api_token
    settings.CATALOG_URL = catalog_url
    settings.CATALOG_TIMEOUT = CATALOG_TIMEOUT
    nowhere = environ.Env.db_url_config(test_databases.unreachable_url("django"))
    for key in ("NAME", "HOST", "PORT"):
        monkeypatch.setitem(connection.settings_dict, key, nowhere[key])
    transport = FreshThreadTransport(httpx2.WSGITransport(app=django_application))
    with httpx2.Client(transport=transport, base_url=BASE_URL, follow_redirects=False) as client:
        yield client


# Flask: the tutorial's pattern — an app from the factory with a test config, initialised inside
# an app context.


def flask_app(database_url: str, api_token: str, catalog_url: str) -> Flask:
    """A Flask app from the factory, configured for one test."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "BOOKS_API_TOKEN": api_token,
            "CATALOG_URL": catalog_url,
            "CATALOG_TIMEOUT": CATALOG_TIMEOUT,
        }
    )


def flask_test_client(app: Flask) -> Iterator[httpx2.Client]:
    """An httpx2 client for the app; afterwards, the app's pooled connections are closed, and so
    is its catalog client (left to the garbage collector, its sockets may be collected first and
    warn that they were never closed)."""
    with wsgi_client(app) as client:
        yield client
    with app.app_context():
        get_engine().dispose()
        get_catalog_client().close()


@pytest.fixture
def flask_client(
    test_databases: "TestDatabases", api_token: str, catalog_url: str
) -> Iterator[httpx2.Client]:
    """Flask on the session's database (prepared by `flask init-db`), reset to the seed."""
    app = flask_app(test_databases.seeded("flask").url, api_token, catalog_url)
    with app.app_context():
        reverse_unordered_selects(get_engine())
    yield from flask_test_client(app)


@pytest.fixture
def flask_unavailable_client(
    test_databases: "TestDatabases", api_token: str, catalog_url: str
) -> Iterator[httpx2.Client]:
    """Flask whose database cannot be reached."""
    app = flask_app(test_databases.unreachable_url("flask"), api_token, catalog_url)
    yield from flask_test_client(app)


# FastAPI: the documented dependency override for the session, on the test's own engine; the
# token and the catalog come from the environment, which get_settings() reads afresh once its
# cache is cleared.


@pytest.fixture
def fastapi_catalog(monkeypatch: pytest.MonkeyPatch, catalog_url: str) -> Iterator[None]:
    """Set CATALOG_URL and CATALOG_TIMEOUT for FastAPI, and forget the cached settings around the
    test."""
    monkeypatch.setenv("CATALOG_URL", catalog_url)
    monkeypatch.setenv("CATALOG_TIMEOUT", str(CATALOG_TIMEOUT))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def fastapi_token(monkeypatch: pytest.MonkeyPatch, api_token: str) -> Iterator[None]:
    """Set BOOKS_API_TOKEN for FastAPI, and forget the cached settings around the test."""
    monkeypatch.setenv("BOOKS_API_TOKEN", api_token)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def fastapi_test_client(engine: AsyncEngine) -> Iterator[httpx2.Client]:
    """Starlette's TestClient (an httpx2 client), with sessions on this engine."""

    async def get_session_override() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session

    fastapi_app.dependency_overrides[get_session] = get_session_override
    try:
        with TestClient(fastapi_app, base_url=BASE_URL, follow_redirects=False) as client:
            # The client's event loop runs in this portal while the client is open.
            portal = client.portal
            assert portal is not None
            try:
                yield client
            finally:  # the connections belong to the client's event loop: closed in it
                portal.call(engine.dispose)
    finally:
        fastapi_app.dependency_overrides.clear()


@pytest.fixture
def fastapi_client(
    test_databases: "TestDatabases", fastapi_token: None, fastapi_catalog: None
) -> Iterator[httpx2.Client]:
    """FastAPI on the session's database (prepared by initial_data), reset to the seed."""
    engine = create_db_engine(test_databases.seeded("fastapi").url)
    reverse_unordered_selects(engine)
    yield from fastapi_test_client(engine)


@pytest.fixture
def fastapi_unavailable_client(
    test_databases: "TestDatabases", fastapi_token: None, fastapi_catalog: None
) -> Iterator[httpx2.Client]:
    """FastAPI whose database cannot be reached."""
    engine = create_db_engine(test_databases.unreachable_url("fastapi"))
    yield from fastapi_test_client(engine)


# The one parametrized entry point of the contract suite.


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    """The framework under test; test ids end in [django], [flask] or [fastapi]."""
    name: str = request.param
    return name


@pytest.fixture
def client(framework: str, api_token: str, request: pytest.FixtureRequest) -> httpx2.Client:
    """An httpx2 client for the framework under test, on a database that holds exactly the seed.

    It names `api_token` so that a test can parametrize the token; the framework fixture uses it.
    Every response it receives is checked against the canonical OpenAPI document.
    """
    if is_live(request.config):
        return check_against_openapi(request.getfixturevalue("live_client"), framework)
    return check_against_openapi(request.getfixturevalue(f"{framework}_client"), framework)


@pytest.fixture
def unavailable_client(
    framework: str, api_token: str, request: pytest.FixtureRequest
) -> httpx2.Client:
    """An httpx2 client for the framework under test, whose database does not answer."""
    if is_live(request.config):
        client = request.getfixturevalue("live_unavailable_client")
    else:
        client = request.getfixturevalue(f"{framework}_unavailable_client")
    return check_against_openapi(client, framework)


@pytest.fixture
def auth() -> dict[str, str]:
    """The Authorization header that passes the write check."""
    return AUTH

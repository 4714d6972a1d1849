"""Django-specific checks: migrations, the seed, settings from the environment, the WSGI entry,
and the write paths when another request changes the book between its lookup and its write."""

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.util import setup_testing_defaults

import httpx2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, models
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from psycopg_pool import ConnectionPool

from django_books.books import views
from django_books.books.catalog import search_catalog
from django_books.books.models import Book
from django_books.books.serializers import BookSerializer
from django_books.books.views import BookViewSet
from django_books.wsgi import BooksWSGIHandler, application
from tests.catalog_stub import CatalogStub
from tests.contract import (
    AUTH,
    CATALOG_TIMEOUT,
    CATALOG_TOO_SLOW,
    CATALOG_UNREADABLE,
    DATABASE_UNAVAILABLE,
    MAX_BODY_BYTES,
    NO_BOOK,
    SEED,
    assert_problem,
    describe,
)
from tests.frameworks.stack import (
    CLIENT,
    COUNT_PREPARED_STATEMENTS,
    RUNS_PAST_PREPARE_THRESHOLD,
    WHOSE_HEADERS_COUNT,
    environ_after_forwarded_request,
    postgresql_url,
)

if TYPE_CHECKING:
    from tests.databases import TestDatabases

REPO_ROOT: Path = settings.BASE_DIR
SETTINGS_VARIABLES = {
    "DATABASE_URL",
    "DATABASE_POOLER",
    "FORWARDED_ALLOW_IPS",
    "BOOKS_API_TOKEN",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_LOG_LEVEL",
    "DJANGO_DATABASE_POOL_SIZE",
    "CATALOG_URL",
    "CATALOG_TIMEOUT",
}
READ_SETTINGS = (
    "import json; from django_books import settings as s; print(json.dumps({"
    "'database': s.DATABASES['default'], 'token': s.BOOKS_API_TOKEN,"
    " 'secret_key': s.SECRET_KEY, 'debug': s.DEBUG,"
    " 'catalog_url': s.CATALOG_URL, 'catalog_timeout': s.CATALOG_TIMEOUT,"
    " 'forwarded_allow_ips': s.FORWARDED_ALLOW_IPS}))"
)
WSGI_TOKEN = "wsgi-token"
WSGICall = Callable[[dict[str, Any]], tuple[int, Any]]
RacingWrite = Callable[[Book], Any]


def python_in_repo(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run Python at the repository root with only these settings variables set."""
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_VARIABLES}
    env.update(environment)
    return subprocess.run(
        [sys.executable, *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )


def run_in_repo(*arguments: str, **environment: str) -> str:
    """python_in_repo, which must succeed; its stdout."""
    result = python_in_repo(*arguments, **environment)
    assert result.returncode == 0, result.stderr
    return result.stdout


def read_settings(**environment: str) -> dict[str, Any]:
    """Import django_books.settings in a fresh interpreter with this environment."""
    configured: dict[str, Any] = json.loads(run_in_repo("-c", READ_SETTINGS, **environment))
    return configured


@pytest.mark.django_db
def test_migrations_create_the_table_with_its_unique_constraint() -> None:
    """The migrated table has a 64-bit id and the unique constraint uq_books_book_title_author."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Book._meta.db_table)
    unique = {
        name: constraint["columns"]
        for name, constraint in constraints.items()
        if constraint["unique"] and not constraint["primary_key"]
    }
    assert unique == {"uq_books_book_title_author": ["title", "author"]}
    assert isinstance(Book._meta.pk, models.BigAutoField)


def test_serializer_leaves_uniqueness_to_the_database() -> None:
    """No UniqueTogetherValidator (a SELECT before the INSERT): the constraint decides, as a 409."""
    assert BookSerializer().validators == []


@pytest.mark.django_db
def test_seed_is_in_the_test_database_once() -> None:
    """The data migration ran when the test database was built; migrating again adds nothing."""
    call_command("migrate", verbosity=0)
    assert list(Book.objects.values("id", "title", "author")) == SEED


def test_the_version_column_starts_the_books_already_there_at_1(tmp_path: Path) -> None:
    """Migration 0003 adds the version to a database that holds books: each of them is at 1."""
    database_url = f"sqlite:///{tmp_path / 'books.sqlite3'}"
    run_in_repo(
        "manage.py", "migrate", "books", "0002", "--verbosity", "0", DATABASE_URL=database_url
    )
    run_in_repo("manage.py", "migrate", "--verbosity", "0", DATABASE_URL=database_url)
    with closing(sqlite3.connect(tmp_path / "books.sqlite3")) as db:
        versions = db.execute("SELECT id, version FROM books_book ORDER BY id").fetchall()
    assert versions == [(book["id"], 1) for book in SEED]


def test_migrate_again_keeps_deletions_and_the_id_sequence(tmp_path: Path) -> None:
    """Migrating again (as `make serve-django` does) brings no deleted seed book back."""
    database = tmp_path / "books.sqlite3"
    migrate = ("manage.py", "migrate", "--verbosity", "0")
    run_in_repo(*migrate, DATABASE_URL=f"sqlite:///{database}")
    with closing(sqlite3.connect(database)) as db:
        db.execute("DELETE FROM books_book WHERE id = 1")
        db.commit()
    run_in_repo(*migrate, DATABASE_URL=f"sqlite:///{database}")
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT id, title, author FROM books_book ORDER BY id").fetchall()
        last_id = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'books_book'").fetchone()
    assert rows == [(book["id"], book["title"], book["author"]) for book in SEED[1:]]
    assert last_id == (2,)  # the next book gets id 3


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    """DATABASE_URL, BOOKS_API_TOKEN, DJANGO_SECRET_KEY, DJANGO_DEBUG and the catalog's
    CATALOG_URL and CATALOG_TIMEOUT are read at startup."""
    database = tmp_path / "elsewhere.sqlite3"
    configured = read_settings(
        DATABASE_URL=f"sqlite:///{database}",
        BOOKS_API_TOKEN="s3cret-token",
        DJANGO_SECRET_KEY="a-production-secret",
        DJANGO_DEBUG="true",
        CATALOG_URL="http://127.0.0.1:9/catalog",
        CATALOG_TIMEOUT="0.5",
        FORWARDED_ALLOW_IPS="127.0.0.1, ::1",
    )
    assert configured["database"]["ENGINE"] == "django.db.backends.sqlite3"
    assert configured["database"]["NAME"] == str(database)
    assert configured["token"] == "s3cret-token"
    assert configured["secret_key"] == "a-production-secret"
    assert configured["debug"] is True
    assert configured["catalog_url"] == "http://127.0.0.1:9/catalog"
    assert configured["catalog_timeout"] == 0.5
    assert configured["forwarded_allow_ips"] == ["127.0.0.1", "::1"]


def test_database_settings_for_sqlite_and_postgresql(tmp_path: Path) -> None:
    """SQLite waits for the write lock (WAL, IMMEDIATE, 20 s); PostgreSQL connects within 3 s,
    from a pool of at most 4 connections per worker (DJANGO_DATABASE_POOL_SIZE) that a request
    waits 3 s for.

    SQLite's connection is kept for 60 s (DJANGO_CONN_MAX_AGE); PostgreSQL's goes back to the pool
    after each request. Both check a connection before a request uses it.
    """
    sqlite = read_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'books.sqlite3'}")["database"]
    assert sqlite["OPTIONS"] == {
        "init_command": "PRAGMA journal_mode = WAL",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    postgresql = read_settings(DATABASE_URL="postgresql://books:pw@db.example:5433/books")
    assert postgresql["database"]["ENGINE"] == "django.db.backends.postgresql"
    pool = {
        "name": "django_books",
        "min_size": 1,
        "max_size": 4,
        "timeout": 3,
        "reconnect_timeout": 1,
    }
    assert postgresql["database"]["OPTIONS"] == {"connect_timeout": 3, "pool": pool}
    smaller = read_settings(
        DATABASE_URL="postgresql://books:pw@db.example:5433/books", DJANGO_DATABASE_POOL_SIZE="2"
    )
    assert smaller["database"]["OPTIONS"]["pool"]["max_size"] == 2
    assert sqlite["CONN_MAX_AGE"] == 60
    assert postgresql["database"]["CONN_MAX_AGE"] == 0
    for database in (sqlite, postgresql["database"]):
        assert database["CONN_HEALTH_CHECKS"] is True


def test_behind_a_transaction_pooler_nothing_outlives_a_transaction() -> None:
    """DATABASE_POOLER=transaction: no server-side cursor and no prepared statement, even one a
    DATABASE_URL asks for; the pool stays."""
    pooled = read_settings(
        DATABASE_URL="postgresql://books:pw@db.example:5433/books?prepare_threshold=0",
        DATABASE_POOLER="transaction",
    )["database"]
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["OPTIONS"]["prepare_threshold"] is None
    assert pooled["OPTIONS"]["pool"]["max_size"] == 4


def test_an_unknown_database_pooler_stops_django() -> None:
    """DATABASE_POOLER is "transaction" or empty: anything else stops the settings, saying so."""
    result = python_in_repo("-c", READ_SETTINGS, DATABASE_POOLER="session")
    assert result.returncode == 1
    assert "ImproperlyConfigured: DATABASE_POOLER is 'session'; it must be empty" in result.stderr


@pytest.mark.parametrize("entry", ["*", "10.0.0.0/8", "proxy.example"])
def test_forwarded_allow_ips_other_than_addresses_stops_django(entry: str) -> None:
    """FORWARDED_ALLOW_IPS lists addresses: "*", a network or a name stops the settings, saying
    so, rather than be believed by gunicorn and ignored by the middleware."""
    result = python_in_repo("-c", READ_SETTINGS, FORWARDED_ALLOW_IPS=f"127.0.0.1, {entry}")
    assert result.returncode == 1
    expected = "ImproperlyConfigured: FORWARDED_ALLOW_IPS lists the proxy's addresses one by one: "
    assert f"{expected}{entry!r} is not an IP address" in result.stderr


# The same check on PostgreSQL, through Django's own connection as the settings make it: a
# server-side cursor, then a statement run past psycopg's prepare threshold.
CURSORS_AND_PREPARED_STATEMENTS = f"""
import django
django.setup()
from django.db import connection
from django_books.books.models import Book
books = Book.objects.iterator(chunk_size=1)
next(books)  # the cursor stays open while the iterator does
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_cursors")
    print(cursor.fetchone()[0])
    for _ in range({RUNS_PAST_PREPARE_THRESHOLD}):
        cursor.execute("{COUNT_PREPARED_STATEMENTS}")
    print(cursor.fetchone()[0])
"""


@pytest.mark.parametrize(("pooler", "cursors"), [("", 1), ("transaction", 0)])
def test_behind_a_transaction_pooler_no_cursor_outlives_its_transaction(
    test_databases: "TestDatabases", pooler: str, cursors: int
) -> None:
    """QuerySet.iterator()'s server-side cursor (WITH HOLD, in autocommit) outlives its
    transaction, which PgBouncer would end on another server connection: none with
    DATABASE_POOLER=transaction. Django prepares no statement either way (its psycopg backend's
    default)."""
    output = run_in_repo(
        "-c",
        CURSORS_AND_PREPARED_STATEMENTS,
        DATABASE_URL=postgresql_url(test_databases, "django"),
        DATABASE_POOLER=pooler,
        DJANGO_SETTINGS_MODULE="django_books.settings",
    )
    assert output.split() == [str(cursors), "0"]


def test_settings_defaults_are_safe() -> None:
    """Without the environment: DEBUG off, no write token, var/django.sqlite3, a marked dev key;
    Open Library itself, given 2 s; no proxy believed."""
    configured = read_settings()
    assert configured["debug"] is False
    assert configured["token"] == ""
    assert configured["database"]["NAME"] == str(REPO_ROOT / "var" / "django.sqlite3")
    assert configured["secret_key"].startswith("django-insecure-")
    assert configured["catalog_url"] == "https://openlibrary.org"
    assert configured["catalog_timeout"] == 2.0
    assert configured["forwarded_allow_ips"] == []


# Django's request signals check the test database's connection, when an earlier test opened one.
@pytest.mark.django_db
@WHOSE_HEADERS_COUNT
def test_x_forwarded_for_is_believed_from_the_proxy_alone(
    settings: Any, proxies: list[str], peer: str, believed: bool
) -> None:
    """From a peer of FORWARDED_ALLOW_IPS, the request comes from the right-most address of
    X-Forwarded-For, in the environ gunicorn logs from; from any other peer, or with the setting
    empty, as it came. The scheme is gunicorn's to set."""
    settings.FORWARDED_ALLOW_IPS = proxies
    environ = environ_after_forwarded_request(BooksWSGIHandler(), peer)
    expected = CLIENT if believed else peer
    assert (environ["REMOTE_ADDR"], environ["wsgi.url_scheme"]) == (expected, "http")


@pytest.fixture
def call_application(settings: Any, keep_django_connection: None) -> WSGICall:
    """Call the WSGI application directly with a hand-built environ, the write token set."""
    settings.BOOKS_API_TOKEN = WSGI_TOKEN

    def call(environ: dict[str, Any]) -> tuple[int, Any]:
        """Complete the environ with wsgiref's test defaults; return the status code and JSON."""
        setup_testing_defaults(environ)
        statuses = []

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            statuses.append(status)

        chunks = application(environ, start_response)
        return int(statuses[0].split()[0]), json.loads(b"".join(chunks))

    return call


def post_book(wsgi_input: io.BytesIO, environ: dict[str, Any]) -> dict[str, Any]:
    """The environ of POST /books with the write token and JSON, then these entries."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/books",
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {WSGI_TOKEN}",
        "wsgi.input": wsgi_input,
        **environ,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("size", "status"),
    [(64, 201), (MAX_BODY_BYTES, 201), (MAX_BODY_BYTES + 1, 413), (200_000, 413)],
    ids=["small", "at-the-limit", "one-byte-over", "200-KB"],
)
def test_chunked_body_is_read_and_held_to_the_limit(
    call_application: WSGICall, size: int, status: int
) -> None:
    """No CONTENT_LENGTH but wsgi.input_terminated (a chunked body under gunicorn): 201, or 413.

    Django alone would read no body at all (400); and no more than one byte past the limit is read.
    """
    body = json.dumps({"title": "Chunky", "author": "C"}).encode().ljust(size)  # padded with spaces
    wsgi_input = io.BytesIO(body)
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}
    status_code, answer = call_application(post_book(wsgi_input, chunked))
    assert status_code == status, answer
    assert wsgi_input.tell() <= MAX_BODY_BYTES + 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset*=unknown''x", f"application/json; charset=utf-8; p={'x' * 300}"],
    ids=["rfc-2231-unknown-charset", "longer-than-drf-takes"],
)
def test_content_type_parameters_are_ignored(call_application: WSGICall, content_type: str) -> None:
    """Parameters Django cannot parse (it raises), or DRF will not (415): the media type counts."""
    body = json.dumps({"title": "Odd parameters", "author": "C"}).encode()
    environ = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
    status_code, answer = call_application(post_book(io.BytesIO(body), environ))
    assert status_code == 201, answer


@pytest.mark.django_db
def test_query_is_utf_8_whatever_charset_the_content_type_names(
    call_application: WSGICall,
) -> None:
    """Django decodes the query in a Content-Type's charset; %E9 is not UTF-8, so U+FFFD."""
    Book.objects.create(title="Café", author="C")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/books",
        "QUERY_STRING": "search=%E9",
        "CONTENT_TYPE": "text/plain; charset=latin-1",
    }
    assert call_application(environ) == (200, [])


@pytest.mark.django_db
def test_non_ascii_bytes_in_authorization_are_401(call_application: WSGICall) -> None:
    """Raw non-ASCII bytes in the header (latin-1 in the environ, as PEP 3333 has it): 401."""
    body = json.dumps({"title": "T", "author": "A"}).encode()
    environ = {
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": b"Bearer \xff\xfe".decode("latin-1") + WSGI_TOKEN,
    }
    status_code, answer = call_application(post_book(io.BytesIO(body), environ))
    assert status_code == 401, answer


@pytest.mark.django_db
def test_two_authorization_headers_joined_by_the_server_are_401(
    call_application: WSGICall,
) -> None:
    """Two Authorization headers arrive joined ("a, b", as gunicorn passes them on): 401."""
    body = json.dumps({"title": "T", "author": "A"}).encode()
    environ = {
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {WSGI_TOKEN}, Bearer {WSGI_TOKEN}",
    }
    status_code, answer = call_application(post_book(io.BytesIO(body), environ))
    assert status_code == 401, answer


# Another request's write between a view's lookup and its own write. Live, the lookup's row lock
# (PostgreSQL) or the IMMEDIATE transaction (SQLite) makes the racing request wait; here it runs on
# the test's one connection, right after the lookup and inside the view's transaction (so a view
# that fails rolls it back too), to show what the write itself does then.


@pytest.fixture
def after_lookup(monkeypatch: pytest.MonkeyPatch) -> Callable[[RacingWrite], None]:
    """Make BookViewSet's next lookup of a book run a racing write on it right after."""

    def install(racing_write: RacingWrite) -> None:
        look_up = BookViewSet.get_object

        def get_object(view: BookViewSet) -> Book:
            monkeypatch.setattr(BookViewSet, "get_object", look_up)  # once
            book = look_up(view)
            racing_write(book)
            return book

        monkeypatch.setattr(BookViewSet, "get_object", get_object)

    return install


def delete_book(book: Book) -> None:
    """A racing DELETE of the book."""
    Book.objects.filter(pk=book.pk).delete()


@pytest.mark.django_db
def test_a_patch_of_a_book_deleted_after_its_lookup_does_not_bring_it_back(
    django_client: httpx2.Client, after_lookup: Callable[[RacingWrite], None]
) -> None:
    """PATCH racing DELETE: 404, and no row is written with the book's id again.

    ModelSerializer's Model.save() INSERTs the book again, under its id, when its UPDATE finds
    no row.
    """
    after_lookup(delete_book)
    with CaptureQueriesContext(connection) as queries:
        response = django_client.patch("/books/1", json={"title": "Back"}, headers=AUTH)
    assert_problem(response, 404, NO_BOOK)
    assert not [query for query in queries if query["sql"].startswith("INSERT")]


@pytest.mark.django_db
def test_a_delete_of_a_book_deleted_after_its_lookup_is_404(
    django_client: httpx2.Client, after_lookup: Callable[[RacingWrite], None]
) -> None:
    """Two DELETEs of one book: the one whose DELETE found no row answers 404, not a second 204."""
    after_lookup(delete_book)
    assert_problem(django_client.delete("/books/1", headers=AUTH), 404, NO_BOOK)


@pytest.mark.django_db
def test_a_patch_keeps_the_change_a_racing_patch_made_to_the_other_field(
    django_client: httpx2.Client, after_lookup: Callable[[RacingWrite], None]
) -> None:
    """PATCHes of different fields: each is stored, and the version counts both.

    Model.save() writes every field it read, so the title's PATCH would put the old author back.
    """
    after_lookup(
        lambda book: Book.objects.filter(pk=book.pk).update(
            author="Racing Author", version=F("version") + 1
        )
    )
    response = django_client.patch("/books/1", json={"title": "Racing Title"}, headers=AUTH)
    assert response.status_code == 200, describe(response)
    stored = Book.objects.get(pk=1)
    assert (stored.title, stored.author, stored.version) == ("Racing Title", "Racing Author", 3)
    assert response.json() == {"id": 1, "title": "Racing Title", "author": "Racing Author"}
    assert response.headers["etag"] == '"3"'


@pytest.mark.django_db
def test_a_duplicate_created_after_the_lookup_is_still_a_409(
    django_client: httpx2.Client, after_lookup: Callable[[RacingWrite], None]
) -> None:
    """Renames racing to one (title, author): the unique constraint decides, as a 409."""
    after_lookup(lambda book: Book.objects.create(title="Taken", author=book.author))
    assert_problem(django_client.patch("/books/1", json={"title": "Taken"}, headers=AUTH), 409)
    assert Book.objects.get(pk=1).title == SEED[0]["title"]


@pytest.mark.django_db
def test_search_filters_the_list_only(django_client: httpx2.Client) -> None:
    """A book that no ?search= matches is still found by its id.

    DRF runs a viewset's filter backends on the lookup of one book too (get_object).
    """
    assert django_client.get("/books?search=nothing-matches").json() == []
    response = django_client.get("/books/1?search=nothing-matches")
    assert response.status_code == 200, describe(response)
    assert response.json() == SEED[0]


# GET /books/{id}/catalog: the database connection while the upstream is asked, the pool's limit,
# the log of an upstream fault, and the process's one HTTP client.


class NewThreadTransport(httpx2.BaseTransport):
    """Each request on a thread of its own, as a server runs it: with a database connection of
    its own, outside the test's transaction, closed (or given back to the pool) at its end."""

    def __init__(self, app: BooksWSGIHandler) -> None:
        self.transport = httpx2.WSGITransport(app=app)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send the request from a one-off thread and read the whole response there."""

        def send() -> httpx2.Response:
            try:
                response = self.transport.handle_request(request)
                response.read()
                return response
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(send).result()


@pytest.fixture
def new_thread_client(
    django_client: httpx2.Client, django_application: BooksWSGIHandler
) -> Iterator[httpx2.Client]:
    """django_client's app and settings, each request on a new thread."""
    transport = NewThreadTransport(django_application)
    with httpx2.Client(transport=transport, base_url=django_client.base_url) as client:
        yield client


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectionPool[Any]]:
    """Django's psycopg pool on the test database, at most 2 connections waited for 0.5 s."""
    if connection.vendor != "postgresql":
        pytest.skip("Django's connection pool is PostgreSQL's: run with --database=postgresql")
    monkeypatch.setitem(
        connection.settings_dict["OPTIONS"], "pool", {"min_size": 1, "max_size": 2, "timeout": 0.5}
    )
    # As settings.py does on PostgreSQL: the pool takes the place of persistent connections.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    postgresql: Any = connection  # django-stubs 5.2 does not know the pool yet
    pool: ConnectionPool[Any] = postgresql.pool
    pool.open(wait=True)
    yield pool
    postgresql.close_pool()


@pytest.mark.django_db
def test_the_catalog_is_asked_with_no_transaction_open(
    new_thread_client: httpx2.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view asks the upstream in autocommit, outside any transaction: a slow catalog holds no
    lock and leaves no connection idle in transaction. (Where connections are pooled, the view
    also gives its connection back first: see the next test.)"""
    seen: list[tuple[bool, bool]] = []

    def search(title: str, author: str) -> dict[str, Any] | None:
        seen.append((connection.in_atomic_block, connection.get_autocommit()))
        return search_catalog(title, author)

    monkeypatch.setattr(views, "search_catalog", search)
    response = new_thread_client.get("/books/1/catalog")
    assert response.status_code == 200, describe(response)
    assert seen == [(False, True)]


@pytest.mark.django_db
def test_the_pooled_connection_is_back_in_the_pool_while_the_catalog_is_asked(
    new_thread_client: httpx2.Client,
    pool: ConnectionPool[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL the book's lookup takes a connection from the pool, and gives it back
    before the upstream is asked."""
    checked_out_while_asking = []

    def search(title: str, author: str) -> dict[str, Any] | None:
        stats = pool.get_stats()
        checked_out_while_asking.append(stats["pool_size"] - stats["pool_available"])
        return search_catalog(title, author)

    monkeypatch.setattr(views, "search_catalog", search)
    response = new_thread_client.get("/books/1/catalog")
    assert response.status_code == 200, describe(response)
    assert checked_out_while_asking == [0]


@pytest.mark.django_db
def test_a_request_that_finds_every_pooled_connection_taken_is_503(
    new_thread_client: httpx2.Client, pool: ConnectionPool[Any], catalog: CatalogStub
) -> None:
    """With every connection of the pool held, a request waits the pool's timeout, then is the
    database's 503 (psycopg_pool's PoolTimeout is an OperationalError), never a 500; the
    catalog is not asked. Once the connections are back, the same request is served."""
    held = [pool.getconn() for _ in range(pool.max_size)]
    try:
        started = time.monotonic()
        response = new_thread_client.get("/books/1/catalog")
        waited = time.monotonic() - started
    finally:
        for pooled_connection in held:
            pool.putconn(pooled_connection)
    assert_problem(response, 503, DATABASE_UNAVAILABLE)
    assert 0.5 <= waited < 3, f"answered after {waited:.2f} s, with a pool timeout of 0.5 s"
    assert catalog.requests() == []
    response = new_thread_client.get("/books/1/catalog")
    assert response.status_code == 200, describe(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("behaviour", "status", "detail", "named"),
    [
        ({"status": 500}, 502, CATALOG_UNREADABLE, "it answered 500"),
        ({"body": "<html>"}, 502, CATALOG_UNREADABLE, "not JSON"),
        ({"delay": 2 * CATALOG_TIMEOUT}, 504, CATALOG_TOO_SLOW, "ReadTimeout"),
    ],
    ids=["status-500", "not-json", "too-slow"],
)
def test_an_upstream_fault_is_one_warning_line_without_traceback(
    django_client: httpx2.Client,
    catalog: CatalogStub,
    caplog: pytest.LogCaptureFixture,
    behaviour: dict[str, Any],
    status: int,
    detail: str,
    named: str,
) -> None:
    """Django logs every 5xx at ERROR; a fault of the upstream is one WARNING naming it."""
    catalog.configure(**behaviour)
    with caplog.at_level(logging.INFO):
        response = django_client.get("/books/1/catalog")
    assert_problem(response, status, detail)
    logged = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [(record.levelname, record.exc_info) for record in logged] == [("WARNING", None)]
    assert named in logged[0].getMessage()


@pytest.mark.django_db
def test_a_body_that_trickles_in_is_504_one_chunk_after_the_deadline(
    django_client: httpx2.Client, catalog: CatalogStub
) -> None:
    """httpx2's read timeout bounds each wait for a chunk, not the body: the deadline is checked
    between chunks, so the answer comes at most one chunk's wait after CATALOG_TIMEOUT."""
    interval = 0.2
    catalog.configure(fault="trickle", trickle_interval=interval)
    started = time.monotonic()
    response = django_client.get("/books/1/catalog")
    elapsed = time.monotonic() - started
    assert_problem(response, 504, CATALOG_TOO_SLOW)
    assert CATALOG_TIMEOUT <= elapsed < CATALOG_TIMEOUT + interval + 0.5, f"{elapsed:.2f} s"


def test_the_catalog_client_is_made_once_per_process_and_closed_at_exit() -> None:
    """get_client() makes the client on first use and keeps it; it is closed when the process
    exits (an exit function registered before it runs after its own)."""
    script = (
        "import atexit, django; django.setup()\n"
        "from django_books.books.catalog import get_client\n"
        "atexit.register(lambda: print('closed at exit:', client.is_closed))\n"
        "client = get_client()\n"
        "print('the same client:', client is get_client(), 'closed:', client.is_closed)\n"
    )
    output = run_in_repo("-c", script, DJANGO_SETTINGS_MODULE="django_books.settings")
    assert output.splitlines() == ["the same client: True closed: False", "closed at exit: True"]

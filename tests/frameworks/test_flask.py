"""Flask-specific checks: init-db and the seed, settings, 500s, input Werkzeug would misread,
writes that race another request's write, and the catalog's client and database pool."""

import io
import logging
import re
import runpy
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import psycopg
import pytest
from flask import Flask, current_app, g
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, delete, func, inspect, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from flask_books import DEFAULT_DATABASE_URL, books, create_app, db
from flask_books.db import MAX_OVERFLOW, MAX_WRITE_ATTEMPTS, POOL_SIZE, get_engine
from flask_books.models import Book
from flask_books.routing import MAX_BOOK_ID, decimal_regex_up_to
from tests.catalog_stub import DEFAULT_BODY, CatalogStub
from tests.contract import (
    AUTH,
    CATALOG_TOO_SLOW,
    CATALOG_UNREADABLE,
    DATABASE_UNAVAILABLE,
    KEPT_CHANGING,
    MAX_BODY_BYTES,
    NO_BOOK,
    SEED,
    assert_book,
    assert_problem,
    etag,
    padded_body,
)
from tests.frameworks.stack import (
    CLIENT,
    WHOSE_HEADERS_COUNT,
    environ_after_forwarded_request,
    postgresql_url,
    prepared_statements,
)
from tests.live.servers import REPO_ROOT

if TYPE_CHECKING:
    from tests.databases import TestDatabases

FLASK_TOKEN = "flask-token"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a SQLite file that does not exist yet (no init-db has run)."""
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'books.sqlite3'}"})
    yield app
    engine(app).dispose()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's click commands, as `flask --app flask_books ...` runs them."""
    return app.test_cli_runner()


@pytest.fixture
def client(app: Flask, runner: FlaskCliRunner) -> FlaskClient:
    """Werkzeug's test client, which can send what httpx2's WSGITransport cannot; the token set."""
    runner.invoke(args=["init-db"])
    app.config["BOOKS_API_TOKEN"] = FLASK_TOKEN
    return app.test_client()


def engine(app: Flask) -> Engine:
    """The SQLAlchemy engine the app's db.init_app created."""
    with app.app_context():
        return get_engine()


def stored_books(app: Flask) -> list[dict[str, object]]:
    """Every stored book, by id, as the seed file writes them."""
    with Session(engine(app)) as session:
        books = session.scalars(select(Book).order_by(Book.id))
        return [{"id": book.id, "title": book.title, "author": book.author} for book in books]


def test_init_db_creates_the_table_with_its_unique_constraint(
    app: Flask, runner: FlaskCliRunner
) -> None:
    """`flask init-db` creates the books table, unique on (title, author), and loads the seed,
    every book at version 1."""
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "migrated" in result.output
    inspector = inspect(engine(app))
    assert {column["name"] for column in inspector.get_columns("books")} == {
        "id",
        "title",
        "author",
        "version",
    }
    unique_columns = [c["column_names"] for c in inspector.get_unique_constraints("books")]
    assert unique_columns == [["title", "author"]]
    assert stored_books(app) == SEED
    with Session(engine(app)) as session:
        assert set(session.scalars(select(Book.version))) == {1}


def test_init_db_loads_the_seed_only_once(app: Flask, runner: FlaskCliRunner) -> None:
    """A second init-db leaves the database alone: no duplicate seed, no deleted book back."""
    runner.invoke(args=["init-db"])
    with Session(engine(app)) as session, session.begin():
        session.execute(delete(Book).where(Book.id == 1))
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert stored_books(app) == SEED[1:]


def test_init_db_never_reseeds_an_emptied_database(app: Flask, runner: FlaskCliRunner) -> None:
    """An existing but empty books table stays empty after init-db."""
    runner.invoke(args=["init-db"])
    with Session(engine(app)) as session, session.begin():
        session.execute(delete(Book))
    runner.invoke(args=["init-db"])
    with Session(engine(app)) as session:
        assert session.scalar(select(func.count()).select_from(Book)) == 0


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """create_app reads DATABASE_URL, DATABASE_POOLER, FORWARDED_ALLOW_IPS and BOOKS_API_TOKEN
    from the environment."""
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/from-env.sqlite3")
    monkeypatch.setenv("DATABASE_POOLER", "transaction")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1, ::1")
    monkeypatch.setenv("BOOKS_API_TOKEN", "env-token")
    app = create_app()
    assert app.config["DATABASE_URL"] == "sqlite:////tmp/from-env.sqlite3"
    assert app.config["DATABASE_POOLER"] == "transaction"
    assert app.config["FORWARDED_ALLOW_IPS"] == ["127.0.0.1", "::1"]
    assert app.config["BOOKS_API_TOKEN"] == "env-token"
    assert not app.testing


def test_test_config_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test_config mapping wins over the environment, as in the flaskr tutorial."""
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/from-env.sqlite3")
    monkeypatch.setenv("BOOKS_API_TOKEN", "env-token")
    app = create_app({"DATABASE_URL": "sqlite:////tmp/from-test.sqlite3", "BOOKS_API_TOKEN": ""})
    assert app.config["DATABASE_URL"] == "sqlite:////tmp/from-test.sqlite3"
    assert app.config["BOOKS_API_TOKEN"] == ""


def test_defaults_are_a_var_database_and_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variables: SQLite in <repo>/var/flask.sqlite3, no pooler, no proxy believed,
    and an empty token."""
    for name in ("DATABASE_URL", "DATABASE_POOLER", "FORWARDED_ALLOW_IPS", "BOOKS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    repo = Path(__file__).resolve().parent.parent.parent
    assert app.config["DATABASE_URL"] == DEFAULT_DATABASE_URL
    assert f"sqlite:///{repo / 'var' / 'flask.sqlite3'}" == DEFAULT_DATABASE_URL
    assert app.config["DATABASE_POOLER"] == ""
    assert app.config["FORWARDED_ALLOW_IPS"] == []
    assert app.config["BOOKS_API_TOKEN"] == ""


@WHOSE_HEADERS_COUNT
def test_x_forwarded_headers_are_believed_from_the_proxy_alone(
    tmp_path: Path, proxies: list[str], peer: str, believed: bool
) -> None:
    """From a peer of FORWARDED_ALLOW_IPS, the request comes from the right-most address of
    X-Forwarded-For, over X-Forwarded-Proto's scheme, in the environ gunicorn logs from; from any
    other peer, or with the variable unset, as it came."""
    database_url = f"sqlite:///{tmp_path / 'books.sqlite3'}"
    app = create_app({"DATABASE_URL": database_url, "FORWARDED_ALLOW_IPS": proxies})
    environ = environ_after_forwarded_request(app, peer)
    expected = (CLIENT, "https") if believed else (peer, "http")
    assert (environ["REMOTE_ADDR"], environ["wsgi.url_scheme"]) == expected


@pytest.mark.parametrize(("pooler", "prepares"), [("", True), ("transaction", False)])
def test_behind_a_transaction_pooler_no_statement_is_prepared(
    test_databases: "TestDatabases", pooler: str, prepares: bool
) -> None:
    """DATABASE_POOLER=transaction: the engine's connections prepare no statement, which
    PgBouncer would run on another server connection; without it, psycopg prepares."""
    database_url = postgresql_url(test_databases, "flask")
    app = create_app({"DATABASE_URL": database_url, "DATABASE_POOLER": pooler})
    try:
        with engine(app).connect() as connection:
            assert (prepared_statements(connection) > 0) is prepares
    finally:
        engine(app).dispose()


def test_an_unknown_database_pooler_stops_the_app(tmp_path: Path) -> None:
    """DATABASE_POOLER is "transaction" or empty: anything else fails create_app, saying so."""
    database_url = f"sqlite:///{tmp_path / 'books.sqlite3'}"
    with pytest.raises(ValueError, match="DATABASE_POOLER is 'session'; it must be empty"):
        create_app({"DATABASE_URL": database_url, "DATABASE_POOLER": "session"})


@pytest.mark.parametrize("entry", ["*", "10.0.0.0/8", "proxy.example"])
def test_forwarded_allow_ips_other_than_addresses_stops_the_app(tmp_path: Path, entry: str) -> None:
    """FORWARDED_ALLOW_IPS lists addresses: "*", a network or a name fails create_app, saying
    so, rather than be believed by gunicorn and ignored by the app."""
    database_url = f"sqlite:///{tmp_path / 'books.sqlite3'}"
    proxies = ["127.0.0.1", entry]
    with pytest.raises(ValueError, match=f"one by one: {re.escape(repr(entry))} is not an IP"):
        create_app({"DATABASE_URL": database_url, "FORWARDED_ALLOW_IPS": proxies})


def test_unexpected_error_is_a_500_problem_without_traceback(app: Flask) -> None:
    """An exception in a view, outside testing mode, is a 500 problem that leaks nothing."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode() -> str:
        """Fail the way a bug would."""
        raise RuntimeError("secret detail")

    app.add_url_rule("/explode", view_func=explode)
    response = app.test_client().get("/explode")
    assert response.status_code == 500
    assert response.content_type == "application/problem+json"
    assert response.get_json()["title"] == "Internal Server Error"
    assert b"secret detail" not in response.data
    assert b"Traceback" not in response.data


def test_a_connection_lost_before_the_session_closes_leaves_the_answer(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database (or PgBouncer) gone with a connection still checked out, so that giving it
    back fails once the answer is decided: the answer stands, and no exception escapes."""

    def close_over_a_lost_connection(self: Session) -> None:
        lost = psycopg.OperationalError("server closed the connection unexpectedly")
        raise OperationalError("ROLLBACK", {}, lost)

    monkeypatch.setattr(Session, "close", close_over_a_lost_connection)
    response = client.get("/books/1")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("size", "status"), [(MAX_BODY_BYTES, 201), (MAX_BODY_BYTES + 1, 413)])
def test_chunked_body_is_held_to_the_same_limit(
    client: FlaskClient, size: int, status: int
) -> None:
    """A body without Content-Length (chunked, as gunicorn passes it on) is 413 past 64 KiB."""
    response = client.post(
        "/books",
        input_stream=io.BytesIO(padded_body(size)),
        headers={
            "Authorization": f"Bearer {FLASK_TOKEN}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        # What a server that de-chunks the body itself (gunicorn, Werkzeug's) tells the app.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.request.content_length is None
    assert response.status_code == status, response.data


@pytest.mark.parametrize("limit", [MAX_BOOK_ID, 10, 120, 2**31 - 1, 1000])
def test_id_regex_matches_exactly_one_to_the_limit(limit: int) -> None:
    """The id converter's regex accepts 1..limit in canonical form, and nothing else."""
    pattern = re.compile(decimal_regex_up_to(limit))
    candidates = [*range(2000), limit - 1, limit, limit + 1, limit * 10, 10 ** len(str(limit))]
    for number in candidates:
        assert bool(pattern.fullmatch(str(number))) == (1 <= number <= limit), number
    for text in ["01", "+1", "-1", "1.0", " 1", "1e3"]:
        assert pattern.fullmatch(text) is None, text


@pytest.mark.parametrize("token", ["abc=", "a=b", "é"])
def test_any_configured_token_works(app: Flask, client: FlaskClient, token: str) -> None:
    """A token with "=" (Werkzeug's parser reads "a=b" as auth-params) or non-ASCII works."""
    app.config["BOOKS_API_TOKEN"] = token
    # WSGI carries header values as latin-1 text: this is how the token's UTF-8 bytes arrive.
    header = f"Bearer {token}".encode().decode("latin-1")
    response = client.post(
        "/books", json={"title": "T", "author": "A"}, headers={"Authorization": header}
    )
    assert response.status_code == 201, response.data


@pytest.mark.parametrize(
    "authorization",
    ["Bearer \xff\xfe" + FLASK_TOKEN, f"Bearer {FLASK_TOKEN}, Bearer {FLASK_TOKEN}"],
    ids=["non-ascii-bytes", "two-headers-joined"],
)
def test_authorization_the_contract_suite_cannot_send_is_401(
    client: FlaskClient, authorization: str
) -> None:
    """Raw non-ASCII bytes, or two headers as a server joins them ("a, b"): 401, never a 500."""
    response = client.post(
        "/books", json={"title": "T", "author": "A"}, headers={"Authorization": authorization}
    )
    assert response.status_code == 401, response.data
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_raw_non_utf8_byte_in_query_string_is_decoded(client: FlaskClient) -> None:
    """A byte over 0x7F sent without percent-encoding is U+FFFD, not a 500 as with request.args."""
    response = client.get(
        "/books", environ_overrides={"QUERY_STRING": "search=\xff&limit=1&offset=1"}
    )
    assert response.status_code == 200, response.data
    assert response.headers["Link"] == '</books?limit=1&offset=0&search=%EF%BF%BD>; rel="prev"'


# Racing writes, made deterministic: another request's write lands between a request's lookup of
# its book and its own write, where two live requests collide by chance (tests/live has those).

Interference = Callable[[FlaskClient], None]


@pytest.fixture
def interfere(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Run another request's write (a function of a client) right after each lookup of a book."""

    def install(write: Interference, *, times: int = 1) -> None:
        """Run `write` after the next `times` lookups; the lookups it makes itself run plainly."""
        lookup = books.get_book_or_404
        remaining = [times]

        def lookup_then_interfere(book_id: int) -> Book:
            book = lookup(book_id)
            if remaining[0] > 0:
                remaining[0] -= 1
                # A request in an app context of its own, so with its own g: its own session
                # and connection (a request reuses the app context it finds).
                with monkeypatch.context() as plain, current_app.app_context():
                    plain.setattr(books, "get_book_or_404", lookup)
                    write(current_app.test_client())
            return book

        monkeypatch.setattr(books, "get_book_or_404", lookup_then_interfere)

    return install


def deleted(other: FlaskClient) -> None:
    """Another request deletes book 1."""
    assert other.delete("/books/1", headers=AUTH).status_code == 204


def renamed(other: FlaskClient) -> None:
    """Another request changes book 1's author."""
    assert other.patch("/books/1", json={"author": "Someone Else"}, headers=AUTH).status_code == 200


def test_delete_racing_a_delete_is_404(
    flask_client: httpx2.Client, interfere: Callable[..., None]
) -> None:
    """The book is deleted after this DELETE looked it up: only the other one is 204."""
    interfere(deleted)
    assert_problem(flask_client.delete("/books/1", headers=AUTH), 404, NO_BOOK)
    assert_problem(flask_client.get("/books/1"), 404, NO_BOOK)


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", {"title": "T", "author": "A"}), ("PATCH", {"title": "T"})]
)
def test_write_racing_a_delete_is_404_not_500(
    flask_client: httpx2.Client, interfere: Callable[..., None], method: str, body: dict[str, str]
) -> None:
    """The book is deleted after this write looked it up: 404 (not StaleDataError's 500), and
    the book stays deleted."""
    interfere(deleted)
    response = flask_client.request(method, "/books/1", json=body, headers=AUTH)
    assert_problem(response, 404, NO_BOOK)
    assert_problem(flask_client.get("/books/1"), 404, NO_BOOK)


def test_patch_racing_a_patch_of_the_other_field_keeps_both(
    flask_client: httpx2.Client, interfere: Callable[..., None]
) -> None:
    """Both changes are stored, and each bumped the version once."""
    interfere(renamed)
    response = flask_client.patch("/books/1", json={"title": "Mine"}, headers=AUTH)
    book = {"id": 1, "title": "Mine", "author": "Someone Else"}
    assert_book(response, 200, book, version=3, framework="flask")
    assert_book(flask_client.get("/books/1"), 200, book, version=3, framework="flask")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_racing_a_change_is_412(
    flask_client: httpx2.Client, interfere: Callable[..., None], method: str
) -> None:
    """If-Match named the version this write read, but another write changed the book before
    this one's flush: 412, and the other write's result stands."""
    interfere(renamed)
    body = None if method == "DELETE" else {"title": "T", "author": "A"}
    headers = {**AUTH, "If-Match": etag(1)}
    assert_problem(flask_client.request(method, "/books/1", json=body, headers=headers), 412)
    book = {**SEED[0], "author": "Someone Else"}
    assert_book(flask_client.get("/books/1"), 200, book, version=2, framework="flask")


def test_write_overtaken_on_every_attempt_is_503(
    flask_client: httpx2.Client, interfere: Callable[..., None]
) -> None:
    """A book changed before each of a write's attempts: a problem asking to retry, not a 500."""
    authors = iter(range(MAX_WRITE_ATTEMPTS))

    def renamed_again(other: FlaskClient) -> None:
        """Another request changes book 1's author, to a new value each time."""
        response = other.patch("/books/1", json={"author": f"A{next(authors)}"}, headers=AUTH)
        assert response.status_code == 200

    interfere(renamed_again, times=MAX_WRITE_ATTEMPTS)
    response = flask_client.patch("/books/1", json={"title": "T"}, headers=AUTH)
    assert_problem(response, 503, KEPT_CHANGING)
    book = {**SEED[0], "author": f"A{MAX_WRITE_ATTEMPTS - 1}"}
    assert_book(flask_client.get("/books/1"), 200, book, MAX_WRITE_ATTEMPTS + 1, framework="flask")


# The catalog: the app's one HTTP client, the session closed before the wait, the database pool.


@pytest.fixture
def catalog_app(test_databases: "TestDatabases", catalog: CatalogStub) -> Iterator[Flask]:
    """An app on the session's seeded database, asking the catalog stub within 1 s."""
    url = test_databases.seeded("flask").url
    app = create_app({"TESTING": True, "DATABASE_URL": url, "CATALOG_URL": catalog.url})
    app.config["CATALOG_TIMEOUT"] = 1.0
    yield app
    app.extensions["catalog_client"].close()
    engine(app).dispose()


@pytest.fixture
def catalog_client(catalog_app: Flask) -> Iterator[httpx2.Client]:
    """An httpx2 client that calls the catalog app in-process."""
    transport = httpx2.WSGITransport(app=catalog_app)
    with httpx2.Client(transport=transport, base_url="http://localhost") as client:
        yield client


class CountingCatalog(BaseHTTPRequestHandler):
    """The stub's default answer, over HTTP/1.1 keep-alive; each instance is one connection."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self) -> None:
        """Count the connection."""
        type(self).connections += 1
        super().setup()

    def do_GET(self) -> None:
        """Answer any GET with the one record."""
        body = DEFAULT_BODY.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test's output clean."""


@pytest.fixture
def counting_catalog() -> Iterator[tuple[str, type[CountingCatalog]]]:
    """A catalog that counts the connections made to it: its URL and its handler class."""
    handler = type("Counting", (CountingCatalog,), {"connections": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_one_catalog_client_per_app_keeps_its_connection_alive(
    catalog_app: Flask,
    catalog_client: httpx2.Client,
    counting_catalog: tuple[str, type[CountingCatalog]],
) -> None:
    """init_app makes one client per app (so per worker), and its requests share one connection."""
    catalog_app.config["CATALOG_URL"], handler = counting_catalog
    client = catalog_app.extensions["catalog_client"]
    for _ in range(3):
        assert catalog_client.get("/books/1/catalog").status_code == 200
    assert catalog_app.extensions["catalog_client"] is client
    assert handler.connections == 1
    other = create_app({"TESTING": True, "DATABASE_URL": catalog_app.config["DATABASE_URL"]})
    assert other.extensions["catalog_client"] is not client


def test_catalog_client_is_closed_when_the_process_exits(tmp_path: Path) -> None:
    """The client of an app that lives as long as its process is closed at exit."""
    program = f"""
import httpx2
from flask_books import create_app

close = httpx2.Client.close
def reporting_close(client):
    print("closed", client is app.extensions["catalog_client"])
    close(client)
httpx2.Client.close = reporting_close
app = create_app({{"DATABASE_URL": "sqlite:///{tmp_path / "books.sqlite3"}"}})
print("running")
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["running", "closed True"], result.stderr


def test_session_is_closed_before_the_catalog_is_called(catalog_app: Flask) -> None:
    """While the request waits on the catalog it holds no session and no pooled connection."""
    seen: list[tuple[bool, int]] = []

    def catalog(request: httpx2.Request) -> httpx2.Response:
        """Note what the request holds while it waits, then answer as the catalog does."""
        pool = get_engine().pool
        assert isinstance(pool, QueuePool)
        seen.append(("db_session" in g, pool.checkedout()))
        return httpx2.Response(200, text=DEFAULT_BODY)

    catalog_app.extensions["catalog_client"].close()
    catalog_app.extensions["catalog_client"] = httpx2.Client(
        transport=httpx2.MockTransport(catalog)
    )
    response = catalog_app.test_client().get("/books/1/catalog")
    assert response.status_code == 200, response.data
    assert seen == [(False, 0)]


def test_waiting_too_long_for_a_pooled_connection_is_a_503(
    monkeypatch: pytest.MonkeyPatch,
    test_databases: "TestDatabases",
    catalog: CatalogStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With every connection of the bounded pool held, a request gives up after pool_timeout with
    a 503 (not a 500), and never asks the catalog."""
    monkeypatch.setattr(db, "POOL_TIMEOUT_SECONDS", 0.2)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": test_databases.seeded("flask").url,
            "CATALOG_URL": catalog.url,
        }
    )
    pool_engine = engine(app)
    held = [pool_engine.connect() for _ in range(POOL_SIZE + MAX_OVERFLOW)]
    try:
        with pytest.raises(PoolTimeoutError):
            pool_engine.connect()
        transport = httpx2.WSGITransport(app=app)
        with httpx2.Client(transport=transport, base_url="http://localhost") as client:
            for path in ("/books/1", "/books/1/catalog", "/health"):
                started = time.monotonic()
                assert_problem(client.get(path), 503, DATABASE_UNAVAILABLE)
                assert time.monotonic() - started < 2, path
            for connection in held:
                connection.close()
            held = []
            assert client.get("/books/1").status_code == 200
    finally:
        for connection in held:
            connection.close()
        pool_engine.dispose()
    assert catalog.requests() == []
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_body_that_trickles_in_is_a_504_at_the_timeout(
    catalog_client: httpx2.Client, catalog: CatalogStub, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx2's read timeout bounds each wait for a chunk; the deadline between chunks bounds the
    whole body: 504 within a chunk's interval of CATALOG_TIMEOUT, and one WARNING line."""
    interval = 0.05
    catalog.configure(fault="trickle", trickle_interval=interval)
    started = time.monotonic()
    response = catalog_client.get("/books/1/catalog")
    elapsed = time.monotonic() - started
    assert_problem(response, 504, CATALOG_TOO_SLOW)
    assert 1.0 <= elapsed < 1.0 + interval + 0.5, elapsed
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [(record.levelno, record.exc_info) for record in warnings] == [(logging.WARNING, None)]
    assert "\n" not in warnings[0].getMessage()


@pytest.mark.parametrize("year", ["true", "1965.0", '"1965"'], ids=["boolean", "float", "string"])
def test_first_publish_year_is_an_integer_as_json_writes_one(
    catalog_client: httpx2.Client, catalog: CatalogStub, year: str
) -> None:
    """A JSON boolean (a Python int), a float or a numeric string is not an integer: 502."""
    catalog.configure(body=f'{{"docs": [{{"key": "/works/OL1W", "first_publish_year": {year}}}]}}')
    assert_problem(catalog_client.get("/books/1/catalog"), 502, CATALOG_UNREADABLE)


def test_sigterm_while_the_worker_imports_the_app_stops_it_cleanly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gevent worker's SIGTERM handler tells Flask's live-updates hub to close its
    subscribers; arriving while the worker still imports the app (flask_books.live half
    imported, without shut_down), it stops the worker all the same, with no error."""
    worker_class = runpy.run_path(str(REPO_ROOT / "deploy" / "gunicorn.conf.py"))[
        "BufferingGeventWorker"
    ]
    worker = object.__new__(worker_class)
    worker.alive = True
    monkeypatch.setitem(sys.modules, "flask_books.live", types.ModuleType("flask_books.live"))
    worker.handle_exit(signal.SIGTERM, None)
    assert worker.alive is False

"""The live side of `--server=live`: real servers behind the contract suite's `client` fixture.

Servers are started lazily, once per framework and configuration (token, database reachable or
not), and cached for the session; every one is stopped at the end of the session, even after a
failure. Before each test the suite resets the server's database to the seed directly. When a
test fails, the log its servers wrote during the test is attached to the report.
"""

import atexit
import shutil
import signal
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import pytest
from sqlalchemy.engine import make_url

from tests.catalog_stub import CatalogStub
from tests.contract import CATALOG_TIMEOUT, TOKEN
from tests.live.proxy import TcpRelay
from tests.live.servers import LiveServer
from tests.live.stack import StackServer

if TYPE_CHECKING:
    from tests.databases import TestDatabases

WATCHED_SERVERS = pytest.StashKey[list[tuple[LiveServer, int]]]()
# A busy 2-core machine can be slow; a timeout is a failure, not a wait.
CLIENT_TIMEOUT = 30.0
# Enough workers to run requests in parallel, few enough to start quickly.
CONTRACT_WORKERS = 2


class WireTransport(httpx2.HTTPTransport):
    """Send header values as the wire carries them: without whitespace around them.

    Whitespace around a field value is not part of it (RFC 9110, section 5.5): h11 refuses to
    send it, and a server's parser would strip it. In-process transports hand it to the app as it
    is, so a test may include it; here the server gets what it would get from any client.
    """

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Strip spaces and tabs around each header value, then send the request."""
        request.headers = httpx2.Headers(
            [(name, value.strip(b" \t")) for name, value in request.headers.raw]
        )
        return super().handle_request(request)


def live_http_client(server: LiveServer) -> httpx2.Client:
    """An httpx2 client for a live server."""
    return server.client(transport=WireTransport(), timeout=CLIENT_TIMEOUT)


def relay_to(database_url: str) -> tuple[TcpRelay, str]:
    """A relay to a PostgreSQL database, and the DATABASE_URL that goes through it."""
    url = make_url(database_url)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(host="127.0.0.1", port=relay.port)
    return relay, through.render_as_string(hide_password=False)


# What tells the session's servers apart: framework, token, database reachable or not, CATALOG_URL,
# CATALOG_TIMEOUT and workers.
ServerKey = tuple[str, str, bool, str, float, int | None]


class ServerPool:
    """The session's servers, one per configuration (`ServerKey`), started on demand. Every one
    is given a CATALOG_URL on this machine: the session's stub unless a test asks for another."""

    def __init__(
        self,
        directory: Path,
        databases: "TestDatabases",
        catalog_url: str,
        server_class: type[LiveServer] = LiveServer,
    ) -> None:
        self.directory = directory
        self.server_class = server_class
        self.databases = databases
        self.catalog_url = catalog_url
        self.servers: dict[ServerKey, LiveServer] = {}
        self.relays: list[TcpRelay] = []
        self.started: list[LiveServer] = []
        # Should the session end without its teardown (an internal error), kill what is left.
        atexit.register(self.kill_all)

    def new_server(
        self,
        framework: str,
        database_url: str,
        api_token: str,
        workers: int | None = CONTRACT_WORKERS,
        catalog_url: str = "",
        catalog_timeout: float = CATALOG_TIMEOUT,
    ) -> LiveServer:
        """A server not yet started, with its own log file; on the session's stub by default."""
        log_path = self.directory / f"{framework}-{len(self.started) + 1}.log"
        server = self.server_class(
            framework,
            database_url,
            api_token,
            log_path,
            workers,
            catalog_url=catalog_url or self.catalog_url,
            catalog_timeout=catalog_timeout,
        )
        self.started.append(server)
        return server

    def server(
        self,
        framework: str,
        api_token: str,
        catalog_url: str = "",
        catalog_timeout: float = CATALOG_TIMEOUT,
        workers: int | None = CONTRACT_WORKERS,
    ) -> LiveServer:
        """A running server for the framework with this token, catalog and workers, on its test
        database."""
        catalog_url = catalog_url or self.catalog_url
        key = (framework, api_token, True, catalog_url, catalog_timeout, workers)
        if key not in self.servers:
            url = self.databases.prepared(framework).url
            server = self.servers[key] = self.new_server(
                framework, url, api_token, workers, catalog_url, catalog_timeout
            )
            server.start()
            server.wait_until_healthy()
        return self.servers[key]

    def four_worker_server(self, framework: str) -> LiveServer:
        """A second server on the framework's test database, with 4 workers: another host."""
        return self.server(framework, TOKEN, workers=4)

    def unavailable_server(
        self, framework: str, api_token: str, catalog_url: str = ""
    ) -> LiveServer:
        """A running server that has lost its database after starting (prepare needs it).

        SQLite: the database's directory is removed once the server listens; the server opens
        no connection before its first request, so every request finds the file missing.
        PostgreSQL: the server reaches the database through a relay, cut once it listens.
        """
        key = (
            framework,
            api_token,
            False,
            catalog_url or self.catalog_url,
            CATALOG_TIMEOUT,
            CONTRACT_WORKERS,
        )
        if key not in self.servers:
            database_url = self.databases.prepared(framework).url
            if database_url.startswith("sqlite"):
                directory = self.directory / f"vanishing-{framework}-{len(self.started)}"
                directory.mkdir()
                database_url = f"sqlite:///{directory / 'books.sqlite3'}"
                server = self.new_server(
                    framework, database_url, api_token, catalog_url=catalog_url
                )
                server.start()
                shutil.rmtree(directory)
            else:
                relay, database_url = relay_to(database_url)
                self.relays.append(relay)
                server = self.new_server(
                    framework, database_url, api_token, catalog_url=catalog_url
                )
                server.start()
                relay.cut()
            self.servers[key] = server
            server.wait_until_healthy(status=503)
        return self.servers[key]

    def stop_all(self) -> None:
        """Stop every server started in the session, then the relays."""
        for server in self.started:
            if server.process is not None:
                server.terminate()
        for relay in self.relays:
            relay.close()
        atexit.unregister(self.kill_all)

    def kill_all(self) -> None:
        """SIGKILL every server of the session that still runs."""
        for server in self.started:
            server.signal(signal.SIGKILL)


@pytest.fixture(scope="session")
def live_servers(
    tmp_path_factory: pytest.TempPathFactory,
    test_databases: "TestDatabases",
    catalog_stub: CatalogStub,
    pytestconfig: pytest.Config,
) -> Iterator[ServerPool]:
    """The session's live servers, on the suite's test databases and the session's catalog stub;
    all stopped at the end. With --server=stack, each is a stack (tests/live/stack.py)."""
    server_class = LiveServer
    if pytestconfig.getoption("server") == "stack":
        if pytestconfig.getoption("database") != "postgresql":
            raise pytest.UsageError("--server=stack runs on PostgreSQL: add --database=postgresql")
        server_class = StackServer
    pool = ServerPool(
        tmp_path_factory.mktemp("live-servers"), test_databases, catalog_stub.url, server_class
    )
    try:
        yield pool
    finally:
        pool.stop_all()


def watch_log(request: pytest.FixtureRequest, server: LiveServer) -> None:
    """Attach what the server logs from now on to the report of a failing test."""
    request.node.stash.setdefault(WATCHED_SERVERS, []).append((server, server.log_size()))


@pytest.fixture
def live_server(
    framework: str,
    api_token: str,
    catalog_url: str,
    live_servers: ServerPool,
    request: pytest.FixtureRequest,
) -> LiveServer:
    """The framework's live server for the test's token and catalog, whose database holds
    exactly the seed; its log from now on goes into the report of a failing test."""
    server = live_servers.server(framework, api_token, catalog_url)
    live_servers.databases.prepared(framework).reset()
    watch_log(request, server)
    return server


@pytest.fixture
def live_client(live_server: LiveServer) -> Iterator[httpx2.Client]:
    """A client of the framework's live server, whose database holds exactly the seed."""
    with live_http_client(live_server) as client:
        yield client


@pytest.fixture
def live_unavailable_client(
    framework: str,
    api_token: str,
    catalog_url: str,
    live_servers: ServerPool,
    request: pytest.FixtureRequest,
) -> Iterator[httpx2.Client]:
    """A client of the framework's live server whose database cannot be reached."""
    server = live_servers.unavailable_server(framework, api_token, catalog_url)
    watch_log(request, server)
    with live_http_client(server) as client:
        yield client


@pytest.fixture
def behind_nginx(pytestconfig: pytest.Config) -> bool:
    """Whether each live server is a stack, nginx in front of its instances (--server=stack)."""
    return bool(pytestconfig.getoption("server") == "stack")


def skip_one_server_alone(behind_nginx: bool) -> None:
    """Skip a test of one server's own process through a stack, where the signals and the drain
    are the stack's: tests/live/test_stack.py."""
    if behind_nginx:
        pytest.skip(
            "a signal to one server: each server's drain is make test-live's; through the "
            "stack, instances are taken out of nginx's group before their signal (test_stack.py)"
        )


@pytest.fixture
def start_server(
    live_servers: ServerPool, request: pytest.FixtureRequest
) -> Iterator[Callable[..., LiveServer]]:
    """Start servers of the test's own (`start_server(framework, database_url, workers=...)`),
    healthy when returned; each is killed when the test ends, whatever happened to it."""
    mine: list[LiveServer] = []

    def start(
        framework: str, database_url: str, workers: int | None = CONTRACT_WORKERS
    ) -> LiveServer:
        server = live_servers.new_server(framework, database_url, TOKEN, workers)
        mine.append(server)
        watch_log(request, server)
        server.start()
        server.wait_until_healthy()
        return server

    yield start
    for server in mine:
        server.kill()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, add each watched server's log since the test began as a report section."""
    report: pytest.TestReport = yield
    if report.failed:
        for server, offset in item.stash.get(WATCHED_SERVERS, []):
            title = f"server log: make serve-{server.framework} on port {server.port}"
            report.sections.append((title, server.log_since(offset) or "(nothing logged)"))
    return report

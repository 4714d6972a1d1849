"""The live side of `--server=live`: real servers behind the contract suite's `client` fixture.

Servers are started lazily, once per framework and configuration (token, database reachable or
not), and cached for the session; every one is stopped at the end of the session, even after a
failure. Before each test the suite resets the server's database to the seed directly. When a
test fails, the log its servers wrote during the test is attached to the report.
"""

import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx2
import pytest

from tests.live.servers import LiveServer
from tests.live.sqlite_databases import SQLiteTestDatabase

WATCHED_SERVERS = pytest.StashKey[list[tuple[LiveServer, int]]]()
# Reads of a busy 2-core machine can be slow; a timeout is a failure, not a wait.
CLIENT_TIMEOUT = 30.0


class ServerPool:
    """The session's servers, one per (framework, token, database reachable), started on demand."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.servers: dict[tuple[str, str, bool], LiveServer] = {}
        self.databases: dict[str, SQLiteTestDatabase] = {}

    def database(self, framework: str) -> SQLiteTestDatabase:
        """The framework's test database, shared by its servers."""
        if framework not in self.databases:
            path = self.directory / f"{framework}.sqlite3"
            self.databases[framework] = SQLiteTestDatabase(framework, path)
        return self.databases[framework]

    def new_server(self, framework: str, database_url: str, api_token: str) -> LiveServer:
        """A server not yet started, logging to its own file."""
        count = sum(1 for _ in self.directory.glob(f"{framework}-*.log"))
        log_path = self.directory / f"{framework}-{count + 1}.log"
        return LiveServer(framework, database_url, api_token, log_path)

    def server(self, framework: str, api_token: str) -> LiveServer:
        """A running server for the framework with this token, on its test database."""
        key = (framework, api_token, True)
        if key not in self.servers:
            server = self.new_server(framework, self.database(framework).url, api_token)
            self.servers[key] = server
            server.start()
            server.wait_until_healthy()
        return self.servers[key]

    def unavailable_server(self, framework: str, api_token: str) -> LiveServer:
        """A running server whose database has gone: its directory is removed once it listens.

        The server opens no connection before its first request, so every request finds the
        database missing, as after a lost disk or volume.
        """
        key = (framework, api_token, False)
        if key not in self.servers:
            directory = self.directory / f"vanishing-{framework}-{len(self.servers)}"
            directory.mkdir()
            url = f"sqlite:///{directory / 'books.sqlite3'}"
            server = self.new_server(framework, url, api_token)
            self.servers[key] = server
            server.start()
            shutil.rmtree(directory)
            server.wait_until_healthy(status=503)
        return self.servers[key]

    def stop_all(self) -> None:
        """Stop every server of the session."""
        for server in self.servers.values():
            server.terminate()


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    """The session's live servers; all stopped at the end of the session."""
    pool = ServerPool(tmp_path_factory.mktemp("live"))
    try:
        yield pool
    finally:
        pool.stop_all()


def watch_log(request: pytest.FixtureRequest, server: LiveServer) -> None:
    """Attach what the server logs from now on to the report of a failing test."""
    request.node.stash.setdefault(WATCHED_SERVERS, []).append((server, server.log_size()))


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


@pytest.fixture
def live_client(
    framework: str, api_token: str, live_servers: ServerPool, request: pytest.FixtureRequest
) -> Iterator[httpx2.Client]:
    """A client of the framework's live server, whose database holds exactly the seed."""
    server = live_servers.server(framework, api_token)
    live_servers.database(framework).reset()
    watch_log(request, server)
    with live_http_client(server) as client:
        yield client


@pytest.fixture
def live_unavailable_client(
    framework: str, api_token: str, live_servers: ServerPool, request: pytest.FixtureRequest
) -> Iterator[httpx2.Client]:
    """A client of the framework's live server whose database cannot be reached."""
    server = live_servers.unavailable_server(framework, api_token)
    watch_log(request, server)
    with live_http_client(server) as client:
        yield client


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

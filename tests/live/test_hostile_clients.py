"""Clients straight at the serve targets, with no proxy in front: idle, slow and rude ones; and
the same clients at nginx in front of them (--server=stack).

The limits checked here are the contract's (shared_fixtures/CONTRACT.md, "Request heads and slow
clients", and what nginx answers itself, docs/deployment.md). Every client is a raw socket on
127.0.0.1; counts and waits are bounded.
"""

import json
import os
import re
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import httpx2
import pytest

from tests.contract import AUTH, TOKEN, describe
from tests.databases import PreparedDatabase
from tests.live.plugin import ServerPool, live_http_client, skip_one_server_alone
from tests.live.servers import HOST, LiveServer, port_of, wait_for

HOSTILE = 64
# The contract's promise is an answer within 1 s under this load. An unhindered server answers
# in milliseconds even on a busy 2-core machine; a server that is blocked does not answer at all
# until a slow client lets go, so 1 s separates the two without timing anything finely.
ANSWER_WITHIN = 1.0
# The contract's deadlines: a request head within 5 s of the connection (or of the previous
# response), a body within 10 s of its head; the graceful stop drains within 30 s.
# More new connections than any default has workers: each worker gets at least one, very likely.
WARM_UP_REQUESTS = 40
HEAD_DEADLINE = 5.0
BODY_DEADLINE = 10.0
DRAIN_DEADLINE = 30.0
# Room for a busy machine on top of a deadline, before a slow connection counts as held forever.
SLACK = 4.0
TRICKLE_INTERVAL = 0.5
# What a stalled upload sends: a head announcing 60 bytes, then 11 of them.
STALLED_HEAD = (
    f"POST /books HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {TOKEN}\r\n"
    "Content-Type: application/json\r\nContent-Length: 60\r\n\r\n"
).encode()
STALLED_PART = b'{"title": '
# The contract's head limits: 8190 bytes for the request line (without its CRLF) and for each
# header field line (with it), 100 header fields.
FIELD_LIMIT = 8190
FIELD_COUNT_LIMIT = 100
StartServer = Callable[..., LiveServer]


def connect(port: int) -> socket.socket:
    """A new connection to the server."""
    return socket.create_connection((HOST, port), timeout=30)


def read_response(connection: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection, which it must within
    `timeout` seconds."""
    connection.settimeout(timeout)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(
            f"still open after {timeout} s, having sent {received[:300]!r}"
        ) from None
    return received


def timed_get(port: int, path: str = "/books/1", timeout: float = 10.0) -> tuple[float, bytes]:
    """GET on a new connection: seconds until the status line arrives, and the whole response."""
    started = time.monotonic()
    with connect(port) as connection:
        connection.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
        )
        connection.settimeout(timeout)
        try:
            first = connection.recv(65536)
        except TimeoutError:
            return float("inf"), b""
        elapsed = time.monotonic() - started
        return elapsed, first + read_response(connection, timeout)


@dataclass
class HostileLoad:
    """Connections held open against one server: idle, trickling a head, stalling a body."""

    port: int
    idle: list[socket.socket] = field(default_factory=list)
    trickling: list[socket.socket] = field(default_factory=list)
    stalled: list[socket.socket] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    opened_at: float = 0.0

    def open(self, idle: int, trickling: int, stalled: int) -> None:
        """Open the connections; a thread sends the trickling heads one header line at a time."""
        self.opened_at = time.monotonic()
        self.idle = [connect(self.port) for _ in range(idle)]
        self.trickling = [connect(self.port) for _ in range(trickling)]
        for connection in self.trickling:
            connection.sendall(f"GET /books HTTP/1.1\r\nHost: {HOST}\r\n".encode())
        self.stalled = [connect(self.port) for _ in range(stalled)]
        for connection in self.stalled:
            connection.sendall(STALLED_HEAD + STALLED_PART)
        threading.Thread(target=self.trickle, daemon=True).start()

    def trickle(self) -> None:
        """A header line on every trickling connection every TRICKLE_INTERVAL, until stopped."""
        line = 0
        while not self.stop.wait(TRICKLE_INTERVAL):
            line += 1
            for connection in self.trickling:
                with suppress(OSError):  # cut by the server: what the contract asks of it
                    connection.send(f"X-Trickle-{line}: {line}\r\n".encode())

    def close(self) -> None:
        """Stop trickling and close every connection."""
        self.stop.set()
        for connection in [*self.idle, *self.trickling, *self.stalled]:
            connection.close()

    def wait_until_cut(self, connections: list[socket.socket], deadline: float) -> dict[int, bytes]:
        """Wait until the server closes each connection; what it sent on each, by file number.

        Fails if one is still open `deadline` seconds after the load was opened."""
        received = {connection.fileno(): b"" for connection in connections}
        open_ones = list(connections)
        while open_ones:
            remaining = self.opened_at + deadline - time.monotonic()
            assert remaining > 0, (
                f"{len(open_ones)} of {len(connections)} connections still open after {deadline} s"
            )
            readable, _, _ = select.select(open_ones, [], [], min(remaining, 1.0))
            for connection in readable:
                try:
                    chunk = connection.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    received[connection.fileno()] += chunk
                else:
                    open_ones.remove(connection)
        return received


@contextmanager
def hostile_load(port: int, idle: int, trickling: int, stalled: int) -> Iterator[HostileLoad]:
    """Hold the connections open for the block, then close them."""
    load = HostileLoad(port)
    try:
        load.open(idle, trickling, stalled)
        yield load
    finally:
        load.close()


def assert_quiet(log: str, framework: str) -> None:
    """No traceback, error or server error in the log."""
    for marker in ("Traceback", "ERROR", "Exception in ASGI application", "CRITICAL"):
        assert marker not in log, f"{framework}: {marker!r} in the server's log:\n{log}"
    assert not re.search(r'" 5\d\d ', log), f"{framework}: a 5xx in the access log:\n{log}"


@pytest.fixture
def database(framework: str, live_servers: ServerPool) -> PreparedDatabase:
    """The framework's test database, holding exactly the seed."""
    prepared = live_servers.databases.prepared(framework)
    prepared.reset()
    return prepared


@pytest.mark.parametrize("workers", [None, 1], ids=["default-workers", "1-worker"])
def test_slow_and_idle_clients_leave_room_for_a_normal_request(
    start_server: StartServer,
    database: PreparedDatabase,
    framework: str,
    workers: int | None,
    behind_nginx: bool,
) -> None:
    """64 idle connections, 64 trickling heads and 64 stalled uploads at once: a GET on a new
    connection is answered within 1 s, a write works, and the slow ones are cut in time: a
    stalled upload with a 408 problem, or by nginx without an answer."""
    server = start_server(framework, database.url, workers=workers)
    # A worker's first request also loads what the app loads lazily (Django's URL resolver, for
    # one): not what is measured here, so each worker serves one before the load.
    for _ in range(WARM_UP_REQUESTS):
        assert timed_get(server.port)[1].startswith(b"HTTP/1.1 200 ")
    log_offset = server.log_size()
    with hostile_load(server.port, HOSTILE, HOSTILE, HOSTILE) as load:
        elapsed, response = timed_get(server.port)
        assert response.startswith(b"HTTP/1.1 200 "), f"{framework}: {response[:200]!r}"
        assert elapsed <= ANSWER_WITHIN, f"{framework}: GET /books/1 answered after {elapsed:.2f} s"
        with live_http_client(server) as client:
            created = client.post("/books", json={"title": "Busy", "author": "Day"}, headers=AUTH)
            assert created.status_code == 201, describe(created)
            assert client.get(created.headers["location"]).json() == created.json()
        if workers == 1:
            # One worker process serves all of them: the cut does not depend on spare workers.
            for connection, sent in load.wait_until_cut(
                load.idle + load.trickling, HEAD_DEADLINE + SLACK
            ).items():
                assert sent == b"", f"{framework}: a cut head got {sent[:200]!r} ({connection})"
            for sent in load.wait_until_cut(load.stalled, BODY_DEADLINE + SLACK).values():
                if behind_nginx:
                    assert sent == b"", f"{framework}: nginx answered {sent[:300]!r}"
                    continue
                head, _, body = sent.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 408 "), f"{framework}: {sent[:300]!r}"
                assert b"application/problem+json" in head.lower(), f"{framework}: {head!r}"
                assert json.loads(body)["status"] == 408
    assert_quiet(server.log_since(log_offset), framework)


def raw_request(port: int, head: bytes) -> bytes:
    """Send a request head on a new connection; everything the server answers before closing."""
    with connect(port) as connection:
        # Refused before it was all sent: the answer is still there to read.
        with suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(head)
        return read_response(connection, 30)


def head_with(request_line: str = "GET /books HTTP/1.1", fields: int = 0, size: int = 0) -> bytes:
    """A GET head: the request line, Host and `fields` more header fields, each line `size`
    bytes long with its CRLF."""
    lines = [request_line, f"Host: {HOST}"]
    for n in range(fields):
        name = f"X-Field-{n:03}"
        lines.append(f"{name}: " + "v" * (size - len(name) - len(": \r\n")))
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# What each server sends for a head over the limits: gunicorn answers before the app, with its
# own small HTML page; uvicorn hands the head to the app, which answers with a problem.
PROBLEM = b"application/problem+json"
REFUSALS = {
    "gunicorn": {"line": (414, b"text/html"), "fields": (431, b"text/html")},
    "uvicorn": {"line": (414, PROBLEM), "fields": (431, PROBLEM)},
}
SERVERS = {"django": "gunicorn", "flask": "gunicorn", "fastapi": "uvicorn"}
# What nginx refuses itself, with a problem: a line that does not fit its 8 KiB buffers. A field
# line of 8191 bytes fits them, and nginx counts no fields: those reach the instance.
NGINX_REFUSALS = {"200-kib-field": (431, PROBLEM), "request-line-over-8190": (414, PROBLEM)}


@pytest.mark.parametrize(
    ("case", "head"),
    [
        pytest.param("fields", head_with(fields=1, size=200 * 1024), id="200-kib-field"),
        pytest.param("fields", head_with(fields=1, size=FIELD_LIMIT + 1), id="field-over-8190"),
        pytest.param("fields", head_with(fields=FIELD_COUNT_LIMIT, size=20), id="101-fields"),
        pytest.param(
            "line",
            head_with(f"GET /books?q={'a' * FIELD_LIMIT} HTTP/1.1"),
            id="request-line-over-8190",
        ),
    ],
)
def test_a_head_over_the_limits_is_refused_and_the_server_serves_on(
    client: httpx2.Client,
    framework: str,
    case: str,
    head: bytes,
    behind_nginx: bool,
    request: pytest.FixtureRequest,
) -> None:
    """A head over the limits: a 4xx (431 for its fields) as the server sends it, the connection
    closed; the next request is served."""
    response = raw_request(port_of(client), head)
    status, content_type = REFUSALS[SERVERS[framework]][case]
    case_id = request.node.callspec.id.removeprefix(f"{framework}-")
    if behind_nginx and case_id in NGINX_REFUSALS:
        status, content_type = NGINX_REFUSALS[case_id]
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.startswith(f"HTTP/1.1 {status} ".encode()), (
        f"{framework}: {response[:300]!r}"
    )
    assert f"content-type: {content_type.decode()}".encode() in rest.lower(), (
        f"{framework}: {rest!r}"
    )
    assert client.get("/books/1").status_code == 200


def test_a_head_within_the_limits_is_served(client: httpx2.Client) -> None:
    """A request line of 8190 bytes, then 100 header fields of 8190 bytes each: the limits."""
    target = "/books/1?pad=" + "a" * (FIELD_LIMIT - len("GET /books/1?pad= HTTP/1.1"))
    head = head_with(f"GET {target} HTTP/1.1", FIELD_COUNT_LIMIT - 1, FIELD_LIMIT)
    assert raw_request(port_of(client), head).startswith(b"HTTP/1.1 200 ")


def swagger_bundle_path(client: httpx2.Client) -> str:
    """The path of Swagger UI's JavaScript bundle (over 1 MB), as the /docs page links it."""
    page = client.get("/docs").text
    match = re.search(r"""["']([^"']*swagger-ui-bundle[^"']*\.js)["']""", page)
    assert match, page[:500]
    return match.group(1)


def rude_clients(port: int, bundle: str) -> Iterator[socket.socket]:
    """Connections that go away at the worst moments, each closed with a reset."""
    before_head = connect(port)
    before_head.sendall(b"GET /books HTTP/1.1\r\nHost: ")
    yield before_head
    mid_body = connect(port)
    mid_body.sendall(STALLED_HEAD + STALLED_PART)
    yield mid_body
    mid_response = socket.socket()
    # A small receive window, so that the server is still writing the response when it goes.
    mid_response.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    mid_response.settimeout(30)
    mid_response.connect((HOST, port))
    mid_response.sendall(f"GET {bundle} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    mid_response.recv(1024)
    yield mid_response


def reset(connection: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed client or a dropped link does."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


# gunicorn's access log, which it writes at INFO without saying so (the 5xx are assert_quiet's).
GUNICORN_ACCESS_LINE = re.compile(r'^\S+ - - \[[^]]+\] "[A-Z]+ \S+ HTTP/1\.1" \d{3} ')


def test_rude_clients_leave_at_most_one_info_line_each(
    client: httpx2.Client, framework: str, live_servers: ServerPool
) -> None:
    """Clients that disconnect before the head is complete, mid-body and mid-response: at most
    one INFO line each in the log, no traceback, no error, no 5xx."""
    server = live_servers.server(framework, TOKEN)
    bundle = swagger_bundle_path(client)
    log_offset = server.log_size()
    rounds = 5
    for _ in range(rounds):
        for connection in rude_clients(server.port, bundle):
            reset(connection)
    # The server has noticed each of them once it answers a request after them, on every worker.
    for _ in range(10):
        assert client.get("/books/1").status_code == 200
    wait_for(lambda: server.connections_waiting_to_be_accepted() == 0, 10, "rude clients seen")
    log = server.log_since(log_offset)
    assert_quiet(log, framework)
    rude_lines = [line for line in log.splitlines() if "/books/1 " not in line and line.strip()]
    assert len(rude_lines) <= 3 * rounds, f"{framework}: {len(rude_lines)} lines:\n{log}"
    for line in rude_lines:
        assert "INFO" in line or GUNICORN_ACCESS_LINE.match(line), (
            f"{framework}: not an INFO line: {line}"
        )


def test_sigterm_under_64_connections_answers_every_accepted_request(
    start_server: StartServer, database: PreparedDatabase, framework: str, behind_nginx: bool
) -> None:
    """SIGTERM to the server while 64 POSTs are in flight (bodies half sent): each one is
    answered with its 201, and the server exits 0 within the drain time."""
    skip_one_server_alone(behind_nginx)
    server = start_server(framework, database.url, workers=None)
    log_offset = server.log_size()
    bodies = [
        json.dumps({"title": f"Drained {n}", "author": "Graceful"}).encode() for n in range(HOSTILE)
    ]
    connections = [connect(server.port) for _ in bodies]
    for connection, body in zip(connections, bodies, strict=True):
        head = (
            f"POST /books HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        connection.sendall(head.encode() + body[:10])
    try:
        wait_for(lambda: server.connections_waiting_to_be_accepted() == 0, 10, "all 64 accepted")
        signalled = time.monotonic()
        signal_offset = server.log_size()
        # To the server's own process, not to make: make then exits with the server's status.
        os.kill(server.main_process_id(), signal.SIGTERM)
        wait_for(
            lambda: (
                re.search(r"(?i)term|shutting down", server.log_since(signal_offset)) is not None
            ),
            10,
            "SIGTERM seen",
        )
        for connection, body in zip(connections, bodies, strict=True):
            connection.sendall(body[10:])
        statuses = []
        for connection in connections:
            response = read_response(connection, DRAIN_DEADLINE)
            statuses.append(response.partition(b"\r\n")[0].decode(errors="replace"))
    finally:
        for connection in connections:
            connection.close()
    answered = [status for status in statuses if status.startswith("HTTP/1.1 201 ")]
    assert len(answered) == HOSTILE, f"{framework}: {sorted(set(statuses))} ({len(answered)} 201s)"
    assert server.process is not None
    exit_code = server.process.wait(timeout=DRAIN_DEADLINE + SLACK)
    drained = time.monotonic() - signalled
    assert exit_code == 0, f"{framework}: make serve-{framework} exited {exit_code}"
    assert drained <= DRAIN_DEADLINE + SLACK, f"{framework}: stopped after {drained:.1f} s"
    assert_quiet(server.log_since(log_offset), framework)

"""Many workers, many machines, nothing lost: stateless servers over one shared database.

Every server here runs as `make serve-<framework>` runs it, on the framework's test database
(SQLite, or PostgreSQL with --database=postgresql). Two of them, as two hosts would run them:
the session's server for the contract suite (2 workers) and one with 4 workers. The tests that
kill or stop a server start their own.
"""

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy.engine import make_url

from tests.contract import AUTH, DATABASE_UNAVAILABLE, NO_BOOK, SEED, assert_problem, describe
from tests.databases import PreparedDatabase
from tests.live.plugin import live_http_client, relay_to, skip_one_server_alone
from tests.live.servers import LiveServer, wait_for

WRITERS = 8
BOOKS_PER_WRITER = 5
StartServer = Callable[..., LiveServer]


def create(client: httpx2.Client, title: str, author: str = "Many Workers") -> dict[str, Any]:
    """POST a book; assert the 201 and return the book."""
    response = client.post("/books", json={"title": title, "author": author}, headers=AUTH)
    assert response.status_code == 201, describe(response)
    book: dict[str, Any] = response.json()
    return book


def test_a_write_through_one_worker_is_visible_through_every_other(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    """4 workers: each book acknowledged on one connection is there on the next, new one."""
    server = two_hosts[1]
    for n in range(12):
        # A new connection each time, so the kernel hands the requests to any of the workers.
        with live_http_client(server) as writer:
            book = create(writer, f"Visible {n}")
        with live_http_client(server) as reader:
            response = reader.get(f"/books/{book['id']}")
            assert response.status_code == 200, describe(response)
            assert response.json() == book


def test_two_servers_on_one_database_see_each_others_writes(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    """Two server processes, as two hosts would run them: each sees the other's writes at once."""
    with live_http_client(two_hosts[0]) as one, live_http_client(two_hosts[1]) as other:
        book = create(one, "Two Hosts")
        assert other.get(f"/books/{book['id']}").json() == book

        patched = other.patch(f"/books/{book['id']}", json={"title": "Renamed"}, headers=AUTH)
        assert patched.status_code == 200, describe(patched)
        assert one.get(f"/books/{book['id']}").json() == {**book, "title": "Renamed"}

        assert one.delete(f"/books/{book['id']}", headers=AUTH).status_code == 204
        assert_problem(other.get(f"/books/{book['id']}"), 404, NO_BOOK)
        # A deleted id is not handed out again, whichever server creates the next book.
        assert create(other, "Two Hosts")["id"] > book["id"]
        again = {"title": "Two Hosts", "author": book["author"]}
        assert_problem(one.post("/books", json=again, headers=AUTH), 409)


def test_concurrent_writers_through_two_servers_lose_and_duplicate_nothing(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    """Writers in parallel on two servers: every 201 is stored once, under its own id."""
    start = threading.Barrier(WRITERS)

    def write(writer: int) -> list[dict[str, Any]]:
        with live_http_client(two_hosts[writer % 2]) as client:
            start.wait()
            return [create(client, f"Book {writer}.{n}", "Writer") for n in range(BOOKS_PER_WRITER)]

    with ThreadPoolExecutor(WRITERS) as pool:
        created = [book for books in pool.map(write, range(WRITERS)) for book in books]
    assert len({book["id"] for book in created}) == WRITERS * BOOKS_PER_WRITER
    stored = sorted([*SEED, *created], key=lambda book: book["id"])
    for server in two_hosts:
        with live_http_client(server) as client:
            assert client.get("/books", params={"limit": 100}).json() == stored


def test_identical_posts_through_two_servers_create_one_book(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    """The same book posted at once through two servers: one 201 in all, every other one 409."""
    start = threading.Barrier(WRITERS)

    def post(writer: int) -> int:
        with live_http_client(two_hosts[writer % 2]) as client:
            start.wait()
            book = {"title": "Contested", "author": "Everyone"}
            return client.post("/books", json=book, headers=AUTH).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(post, range(WRITERS)))
    assert statuses == [201] + [409] * (WRITERS - 1)


def test_a_book_acknowledged_before_kill_9_is_there_after_restart(
    start_server: StartServer, database: PreparedDatabase, framework: str
) -> None:
    """kill -9 of the whole server right after a 201; restarted, the server has the book."""
    server = start_server(framework, database.url)
    database.reset()
    with live_http_client(server) as client:
        book = create(client, "Survivor")
    server.kill()
    restarted = start_server(framework, database.url)
    with live_http_client(restarted) as client:
        assert client.get(f"/books/{book['id']}").json() == book
        assert client.get("/books").json() == [*SEED, book]


def test_sigterm_lets_an_in_flight_request_finish(
    start_server: StartServer, database: PreparedDatabase, framework: str, behind_nginx: bool
) -> None:
    """SIGTERM while a POST's chunked body is still arriving: the POST completes with 201."""
    skip_one_server_alone(behind_nginx)
    server = start_server(framework, database.url)
    database.reset()
    body = json.dumps({"title": "In Flight", "author": "Graceful"}).encode()
    first_part_sent, send_the_rest = threading.Event(), threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield body[:10]
        first_part_sent.set()
        send_the_rest.wait(timeout=60)
        yield body[10:]

    headers = {**AUTH, "Content-Type": "application/json"}
    with live_http_client(server) as client, ThreadPoolExecutor(1) as pool:
        posting = pool.submit(client.post, "/books", content=slow_body(), headers=headers)
        assert first_part_sent.wait(timeout=30)
        # The request is in flight once a worker has accepted its connection.
        wait_for(lambda: server.connections_waiting_to_be_accepted() == 0, 30, "the POST accepted")
        # SIGTERM to every process of the server at once, as systemd stops a service.
        log_offset = server.log_size()
        server.signal(signal.SIGTERM)
        wait_for(lambda: "term" in server.log_since(log_offset).lower(), 30, "SIGTERM in the log")
        send_the_rest.set()
        response = posting.result(timeout=60)
    assert response.status_code == 201, describe(response)
    assert response.json()["title"] == "In Flight"
    server.wait_for_exit()


ENDPOINTS = [
    ("GET", "/health", None),
    ("GET", "/books", None),
    ("GET", "/books/1", None),
    ("POST", "/books", {"title": "T", "author": "A"}),
    ("PUT", "/books/1", {"title": "T", "author": "A"}),
    ("PATCH", "/books/1", {"title": "T"}),
    ("DELETE", "/books/1", None),
]


@pytest.mark.parametrize("outage", ["refused", "silent"])
def test_database_outage_is_503_and_service_resumes_by_itself(
    start_server: StartServer, database: PreparedDatabase, framework: str, outage: str
) -> None:
    """PostgreSQL unreachable: every endpoint is a 503 problem, the workers stay up, and once
    the database is back the server serves again without a restart.

    "refused": the database's port refuses connections (PostgreSQL down); "silent": nothing
    answers at all (its host gone), which only a connect timeout bounds.
    """
    if not database.url.startswith("postgresql"):
        pytest.skip(
            "SQLite has no database server to lose: each worker opens the file itself. A file "
            "that cannot be opened is the contract's 503 (test_unavailable_database_is_503, live)"
        )
    relay, url = relay_to(database.url)
    try:
        server = start_server(framework, url)
        database.reset()
        processes = server.process_ids()
        relay.cut(outage)
        # Each request waits out the connect timeout when nothing answers: a few suffice.
        endpoints = ENDPOINTS if outage == "refused" else ENDPOINTS[::3]
        with live_http_client(server) as client:
            for method, path, body in endpoints:
                response = client.request(method, path, json=body, headers=AUTH)
                assert_problem(response, 503, DATABASE_UNAVAILABLE)
        assert server.process_ids() == processes, "workers were restarted during the outage"
        relay.restore()
        server.wait_until_healthy()
        with live_http_client(server) as client:
            book = create(client, "After the Outage")
            assert client.get(f"/books/{book['id']}").json() == book
        assert server.process_ids() == processes
    finally:
        relay.close()


CLIENTS_THAT_LEAVE = 200


def open_database_files(server: LiveServer, database_path: str) -> int:
    """How many file descriptors the server's processes hold on the database and its WAL files."""
    count = 0
    for pid in server.process_ids():
        for descriptor in Path(f"/proc/{pid}/fd").glob("*"):
            with contextlib.suppress(OSError):  # closed, or the process exited meanwhile
                count += os.readlink(descriptor).startswith(database_path)
    return count


def test_clients_that_have_left_leave_no_database_connection_open(
    start_server: StartServer, database: PreparedDatabase, framework: str
) -> None:
    """200 clients, one after another, each on a new connection: the server holds no more
    database files open after them than after the first (a connection kept per client that has
    left would hold its files until the garbage collector finds it)."""
    if not database.url.startswith("sqlite"):
        pytest.skip(
            "counts SQLite's files; on PostgreSQL every package's connections come from a pool "
            "bounded per worker (tests/frameworks' pool tests)"
        )
    database_path = make_url(database.url).database
    assert database_path
    server = start_server(framework, database.url, workers=1)
    database.reset()
    with live_http_client(server) as client:
        assert client.get("/books/1").status_code == 200
    after_one = open_database_files(server, database_path)
    for _ in range(CLIENTS_THAT_LEAVE):
        with live_http_client(server) as client:
            response = client.get("/books/1")
            assert response.status_code == 200, describe(response)
    # A request on a connection that has closed is over: give the worker a moment to end it.
    wait_for(
        lambda: open_database_files(server, database_path) <= after_one + 3,
        10,
        f"{framework}: database files open after {CLIENTS_THAT_LEAVE} clients "
        f"(after one: {after_one})",
    )

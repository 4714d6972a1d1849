"""Waiting on the catalog holds nothing else: CONTRACT.md, "Calling the catalog", against each serve
target, at its default workers and with WORKERS=1, on the suite's database.

The catalog is the session's stub (tests/catalog_stub.py), told how long to wait before answering.
Every request here is a new connection on 127.0.0.1, sent from one asyncio event loop; the counts
and the waits are bounded.
"""

import asyncio
import time
from dataclasses import dataclass

import psycopg
import pytest

from tests.catalog_stub import CatalogStub
from tests.contract import TOKEN
from tests.databases import PreparedDatabase
from tests.live.plugin import ServerPool, watch_log
from tests.live.servers import HOST, LiveServer

CATALOG = "/books/1/catalog"
# The contract's numbers: 64 requests waiting 200 ms on the catalog answered within 1 s; 256 at
# once all answered; with 64 waiting on a catalog that never answers, another request answered
# within 0.5 s.
AT_ONCE = 64
MANY_AT_ONCE = 256
UPSTREAM_WAIT = 0.2
ALL_ANSWERED_WITHIN = 1.0
OTHER_ANSWERED_WITHIN = 0.5
# These servers' CATALOG_TIMEOUT: long enough that all 64 requests are seen waiting upstream
# before the first of them times out, on a busy machine.
WAIT_TIMEOUT = 3.0
# "Answered at the timeout, not later": later than this is late, whatever the machine's load.
LATE = 1.0
NEVER = WAIT_TIMEOUT + 10
# A timeout is a failure, not a wait.
CLIENT_TIMEOUT = 30.0
# More new connections at once than any default has workers, twice: each worker serves one, very
# likely.
WARM_UP_REQUESTS = 40
WARM_UP_BURSTS = 2
POLL_INTERVAL = 0.02


@dataclass
class Answer:
    """What came back on one connection: the status, and when, after the burst began."""

    status: int
    seconds: float
    head: bytes


async def get(port: int, path: str, started: float) -> Answer:
    """GET on a new connection; the status line, the time it arrived, and the whole head."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        received = await reader.read()  # until the server closes the connection
    finally:
        writer.close()
    seconds = time.monotonic() - started
    head = received.partition(b"\r\n\r\n")[0]
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return Answer(status, seconds, head)


async def burst(port: int, count: int) -> list[Answer]:
    """`count` GETs of the catalog at once, each on a new connection."""
    started = time.monotonic()
    return await asyncio.gather(
        *(asyncio.wait_for(get(port, CATALOG, started), CLIENT_TIMEOUT) for _ in range(count))
    )


async def until_waiting(catalog: CatalogStub, count: int, deadline: float) -> None:
    """Return once the catalog has received `count` requests; fail after `deadline` seconds."""
    give_up = time.monotonic() + deadline
    while (received := len(await asyncio.to_thread(catalog.requests))) < count:
        assert time.monotonic() < give_up, (
            f"only {received} of {count} requests reached the catalog within {deadline} s: "
            "the server does not wait on it for them at once"
        )
        await asyncio.sleep(POLL_INTERVAL)


def statuses(answers: list[Answer]) -> dict[int, int]:
    """How many answers had each status."""
    counted: dict[int, int] = {}
    for answer in answers:
        counted[answer.status] = counted.get(answer.status, 0) + 1
    return counted


@pytest.fixture(params=[None, 1], ids=["default-workers", "1-worker"])
def server(
    request: pytest.FixtureRequest,
    framework: str,
    live_servers: ServerPool,
    database: PreparedDatabase,
    catalog: CatalogStub,
) -> LiveServer:
    """The framework's serve target at its default workers or WORKERS=1, on the suite's
    database holding exactly the seed, its CATALOG_TIMEOUT `WAIT_TIMEOUT`, each worker warmed up
    (what a worker loads on its first request is not what is measured)."""
    workers: int | None = request.param
    started = live_servers.server(framework, TOKEN, catalog_timeout=WAIT_TIMEOUT, workers=workers)
    database.reset()
    watch_log(request, started)
    # At once: one after another, they would all reach one worker through nginx (--server=stack),
    # which keeps its connection to an instance open from each request to the next.
    for _ in range(WARM_UP_BURSTS):
        answers = asyncio.run(burst(started.port, WARM_UP_REQUESTS))
        assert statuses(answers) == {200: WARM_UP_REQUESTS}, f"{framework}: {statuses(answers)}"
    catalog.reset()
    return started


def test_64_requests_waiting_200_ms_upstream_answered_within_1_s(
    server: LiveServer, catalog: CatalogStub, framework: str
) -> None:
    """64 requests at once, each waiting 200 ms on the catalog: all 200 within 1 s."""
    catalog.configure(delay=UPSTREAM_WAIT)
    answers = asyncio.run(burst(server.port, AT_ONCE))
    assert statuses(answers) == {200: AT_ONCE}, f"{framework}: {statuses(answers)}"
    slowest = max(answer.seconds for answer in answers)
    assert slowest <= ALL_ANSWERED_WITHIN, (
        f"{framework}: the last of {AT_ONCE} answered after {slowest:.2f} s"
    )


def test_256_requests_waiting_upstream_all_answered_200(
    server: LiveServer, catalog: CatalogStub, framework: str
) -> None:
    """256 requests at once, each waiting 200 ms on the catalog: every one 200, none 503."""
    catalog.configure(delay=UPSTREAM_WAIT)
    answers = asyncio.run(burst(server.port, MANY_AT_ONCE))
    assert statuses(answers) == {200: MANY_AT_ONCE}, f"{framework}: {statuses(answers)}"


async def wait_and_probe(server: LiveServer, catalog: CatalogStub) -> tuple[list[Answer], Answer]:
    """64 requests to a catalog that never answers; once all of them wait on it, GET /books/1
    on a new connection. Their answers, and the probe's (its time from its own start)."""
    requests = asyncio.ensure_future(burst(server.port, AT_ONCE))
    try:
        await until_waiting(catalog, AT_ONCE, WAIT_TIMEOUT)
        probe = await asyncio.wait_for(get(server.port, "/books/1", time.monotonic()), NEVER)
    finally:
        answers = await requests
    return answers, probe


def test_requests_waiting_on_a_silent_catalog_are_504_and_others_answered(
    server: LiveServer, catalog: CatalogStub, framework: str
) -> None:
    """64 requests whose catalog never answers: each 504 at the timeout; meanwhile GET /books/1
    on a new connection is answered within 0.5 s."""
    catalog.configure(delay=NEVER)
    answers, probe = asyncio.run(wait_and_probe(server, catalog))
    assert probe.status == 200, f"{framework}: GET /books/1 while waiting: {probe.head!r}"
    assert probe.seconds <= OTHER_ANSWERED_WITHIN, (
        f"{framework}: GET /books/1 answered after {probe.seconds:.2f} s while {AT_ONCE} waited"
    )
    assert statuses(answers) == {504: AT_ONCE}, f"{framework}: {statuses(answers)}"
    early = min(answer.seconds for answer in answers)
    late = max(answer.seconds for answer in answers)
    assert early >= WAIT_TIMEOUT, f"{framework}: a 504 after {early:.2f} s, before the timeout"
    assert late < WAIT_TIMEOUT + LATE, (
        f"{framework}: a 504 after {late:.2f} s; the timeout is {WAIT_TIMEOUT} s"
    )


def transactions_left_open(database: PreparedDatabase) -> list[tuple[int, str, str]]:
    """The connections to the database that are idle in a transaction (not this one): pid,
    application and last query. Only the server under test and the suite's own reset connect to
    the framework's test database, which is the session's own (`books_test_<framework>_...`)."""
    with psycopg.connect(database.url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid, application_name, query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state LIKE 'idle in transaction%'"
        ).fetchall()
    return [(pid, application, query) for pid, application, query in rows]


async def open_transactions_while_waiting(
    server: LiveServer, catalog: CatalogStub, database: PreparedDatabase
) -> tuple[list[tuple[int, str, str]], list[Answer]]:
    """64 requests to a catalog that never answers; once all of them wait on it, the server's
    connections idle in a transaction, and the requests' answers."""
    requests = asyncio.ensure_future(burst(server.port, AT_ONCE))
    try:
        await until_waiting(catalog, AT_ONCE, WAIT_TIMEOUT)
        found = await asyncio.to_thread(transactions_left_open, database)
    finally:
        answers = await requests
    return found, answers


def test_waiting_on_the_catalog_holds_no_transaction(
    server: LiveServer,
    catalog: CatalogStub,
    database: PreparedDatabase,
    database_backend: str,
    framework: str,
) -> None:
    """While requests wait on the catalog, none of the server's database connections is `idle in
    transaction` (pg_stat_activity, on the framework's own test database)."""
    if database_backend != "postgresql":
        pytest.skip("pg_stat_activity is PostgreSQL's: run with --database=postgresql")
    catalog.configure(delay=NEVER)
    found, answers = asyncio.run(open_transactions_while_waiting(server, catalog, database))
    assert not found, f"{framework}: connections idle in a transaction while waiting: {found}"
    assert statuses(answers) == {504: AT_ONCE}, f"{framework}: {statuses(answers)}"

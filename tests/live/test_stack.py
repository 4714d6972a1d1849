"""Faults under load, through the stack (`make test-stack`): an instance killed, a rolling
restart, PgBouncer restarted, PostgreSQL restarted; and the client's address in the log.

The load is a few clients on keep-alive connections, each reading the seed, creating books of its
own and patching them, until told to stop. Each write is known by what it sent, so that what the
database holds afterwards can be checked against what was acknowledged. PUT and DELETE are not in
it: nginx sends them to one instance only, and a PUT or DELETE that meets a stopped instance is a
502 (deploy/nginx.conf says why).
"""

import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx2
import psycopg
import pytest

from deploy.stack import Stack
from tests.contract import AUTH, DATABASE_UNAVAILABLE, TOKEN, assert_problem, describe
from tests.databases import TABLES, PreparedDatabase
from tests.live.plugin import ServerPool, relay_to, watch_log
from tests.live.servers import HOST, wait_for
from tests.live.stack import StackServer

CLIENTS = 6
# The contract's bound on any answer while the database is away: a 503 within the pool's 3 s
# wait (PgBouncer's query_wait_timeout), on a busy machine.
OUTAGE_ANSWER_WITHIN = 10.0
NO_INSTANCE = "No instance of the service could be reached."
BACK_WITHIN = 5.0
LOAD_AUTHOR = "Under Load"
CLOSED_WHILE_IDLE = "Server disconnected without sending a response."


@pytest.fixture(autouse=True)
def only_through_the_stack(pytestconfig: pytest.Config) -> None:
    if pytestconfig.getoption("server") != "stack":
        pytest.skip("faults of the stack: needs --server=stack (make test-stack)")


@dataclass
class Outcome:
    method: str
    status: int  # 0: no answer (the connection failed)
    seconds: float
    detail: str = ""
    response: httpx2.Response | None = None


@dataclass
class Load:
    """CLIENTS threads sending reads and writes through nginx until stopped."""

    base_url: str
    outcomes: list[Outcome] = field(default_factory=list)
    # The books created (id -> title), and per id the PATCHes acknowledged and failed.
    created: dict[int, str] = field(default_factory=dict)
    acknowledged_patches: Counter[int] = field(default_factory=Counter)
    failed_patches: Counter[int] = field(default_factory=Counter)
    failed_posts: set[str] = field(default_factory=set)
    resent: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, client: httpx2.Client, method: str, path: str, **options: object) -> Outcome:
        started = time.monotonic()
        try:
            try:
                response = client.request(method, path, headers=AUTH, **options)  # type: ignore[arg-type]
            except httpx2.RemoteProtocolError as error:
                if CLOSED_WHILE_IDLE not in str(error):
                    raise
                # nginx closes the keep-alive connections it holds idle when it reloads (as
                # restart_instance makes it): a request sent at that moment was never read. A
                # client resends it on a new connection, as browsers and curl do; were it a
                # write that had been applied, check_stored would find it twice.
                with self.lock:
                    self.resent += 1
                response = client.request(method, path, headers=AUTH, **options)  # type: ignore[arg-type]
            outcome = Outcome(method, response.status_code, time.monotonic() - started)
            outcome.response = response
            if response.status_code >= 400:
                outcome.detail = response.text[:300]
        except httpx2.TransportError as error:
            outcome = Outcome(method, 0, time.monotonic() - started, repr(error))
        with self.lock:
            self.outcomes.append(outcome)
        return outcome

    def client_loop(self, number: int) -> None:
        with httpx2.Client(base_url=self.base_url, timeout=30) as client:
            for n in range(10_000):
                if self.stopping.is_set():
                    return
                self.send(client, "GET", f"/books/{1 + n % 2}")
                title = f"Load {number}-{n}"
                posted = self.send(
                    client, "POST", "/books", json={"title": title, "author": LOAD_AUTHOR}
                )
                if posted.status != 201 or posted.response is None:
                    with self.lock:
                        self.failed_posts.add(title)
                    continue
                book_id = posted.response.json()["id"]
                patched = self.send(
                    client, "PATCH", f"/books/{book_id}", json={"title": f"{title} (patched)"}
                )
                with self.lock:
                    self.created[book_id] = title
                    tally = (
                        self.acknowledged_patches if patched.status == 200 else self.failed_patches
                    )
                    tally[book_id] += 1

    @contextmanager
    def running(self) -> Iterator["Load"]:
        threads = [
            threading.Thread(target=self.client_loop, args=(n,), daemon=True)
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(60)

    def wait_for_requests(self, count: int) -> None:
        wait_for(lambda: len(self.outcomes) >= count, 60, f"{count} requests sent")

    def failures(self, methods: tuple[str, ...] = ("GET", "POST", "PATCH")) -> list[Outcome]:
        return [o for o in self.outcomes if o.method in methods and not 200 <= o.status < 300]

    def check_stored(self, database_url: str, framework: str) -> dict[str, int]:
        """Every acknowledged POST stored once and nothing stored that was not sent; each book's
        version what its acknowledged PATCH made it (or one more when the PATCH's answer was
        lost, never more). Returns the figures."""
        with psycopg.connect(database_url) as connection:
            rows = connection.execute(
                f"SELECT id, title, version FROM {TABLES[framework]} WHERE author = %s",
                (LOAD_AUTHOR,),
            ).fetchall()
        stored = {book_id: version for book_id, _, version in rows}
        missing = set(self.created) - set(stored)
        assert not missing, f"acknowledged but not stored: {sorted(missing)[:5]}"
        unknown = [title for book_id, title, _ in rows if book_id not in self.created]
        assert set(unknown) <= self.failed_posts, f"stored but not sent: {unknown[:5]}"
        for book_id in self.created:
            least = 1 + self.acknowledged_patches[book_id]
            most = least + self.failed_patches[book_id]
            assert least <= stored[book_id] <= most, (book_id, stored[book_id], least, most)
        return {"acknowledged": len(self.created), "stored": len(stored)}

    def report(self, what: str, stored: dict[str, int]) -> str:
        statuses = Counter(o.status for o in self.outcomes)
        reads = [o for o in self.outcomes if o.method == "GET"]
        writes = [o for o in self.outcomes if o.method != "GET"]
        return (
            f"{what}: {len(self.outcomes)} requests ({len(reads)} reads, {len(writes)} writes), "
            f"failed: {len(self.failures(('GET',)))} reads, "
            f"{len(self.failures(('POST', 'PATCH')))} writes; resent on a new connection: "
            f"{self.resent}; writes acknowledged "
            f"{stored['acknowledged']}, stored {stored['stored']}; statuses {dict(statuses)}"
        )


def describe_failures(failures: list[Outcome]) -> str:
    return "\n".join(
        f"{o.method} {o.status} after {o.seconds:.2f} s: {o.detail}" for o in failures[:10]
    )


@pytest.fixture
def new_stack(
    framework: str,
    live_servers: ServerPool,
    database: PreparedDatabase,
    request: pytest.FixtureRequest,
) -> Iterator[StackServer]:
    """A stack of the test's own on the framework's test database, killed when the test ends."""
    database.reset()
    server = live_servers.new_server(framework, database.url, TOKEN)
    assert isinstance(server, StackServer)
    server.start()
    watch_log(request, server)
    yield server
    server.kill()


def stack_of(server: StackServer) -> Stack:
    assert server.stack is not None
    return server.stack


def show(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n  {line}")


def test_an_instance_killed_under_load_fails_no_read_and_sends_no_write_twice(
    new_stack: StackServer,
    database: PreparedDatabase,
    framework: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGKILL to one instance (its server and every worker) under load: no read fails, no write
    is applied twice, every acknowledged write is stored."""
    stack = stack_of(new_stack)
    load = Load(new_stack.base_url)
    with load.running():
        load.wait_for_requests(150)
        stack.members[0].kill()
        killed_at = len(load.outcomes)
        load.wait_for_requests(killed_at + 300)
    assert not load.failures(("GET",)), describe_failures(load.failures(("GET",)))
    # A write in flight on the killed instance may be lost, never repeated: no 409 (a POST sent
    # twice would meet its own book).
    assert not [o for o in load.outcomes if o.status == 409]
    stored = load.check_stored(database.url, framework)
    show(capsys, load.report(f"{framework}, instance 1 killed", stored))


def test_a_rolling_restart_under_load_fails_no_request(
    new_stack: StackServer,
    database: PreparedDatabase,
    framework: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each instance in turn: SIGTERM, wait for its exit, start it again, wait until healthy;
    under load, not one request fails."""
    stack = stack_of(new_stack)
    load = Load(new_stack.base_url)
    with load.running():
        load.wait_for_requests(100)
        for member in stack.members:
            stack.restart_instance(member)
            load.wait_for_requests(len(load.outcomes) + 100)
    assert not load.failures(), describe_failures(load.failures())
    stored = load.check_stored(database.url, framework)
    show(capsys, load.report(f"{framework}, rolling restart", stored))


def assert_outage_answers(load: Load, since: int) -> None:
    """While the database is away: 503 problems (or answers), in time; never a 500."""
    during = load.outcomes[since:]
    statuses = Counter(o.status for o in during)
    assert set(statuses) <= {200, 201, 503}, describe_failures(
        [o for o in during if o.status not in (200, 201, 503)]
    )
    slowest = max(o.seconds for o in during)
    assert slowest <= OUTAGE_ANSWER_WITHIN, f"an answer took {slowest:.1f} s"
    for outcome in during:
        if outcome.status == 503:
            assert DATABASE_UNAVAILABLE in outcome.detail, outcome.detail


def seconds_until_served(base_url: str) -> float:
    """How long until a write goes through again."""
    started = time.monotonic()
    with httpx2.Client(base_url=base_url, timeout=30) as client:
        while (
            client.post(
                "/books", json={"title": f"Back {started}", "author": "Probe"}, headers=AUTH
            ).status_code
            != 201
        ):
            assert time.monotonic() - started < 60, "not served again within 60 s"
            time.sleep(0.05)
    return time.monotonic() - started


def test_pgbouncer_restarted_under_load_is_503_then_full_service(
    new_stack: StackServer,
    database: PreparedDatabase,
    framework: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PgBouncer stopped for 2 s and started again: 503 problems meanwhile, never a 500 or a
    hang; writes go through within 5 s of its return; every acknowledged write is stored."""
    stack = stack_of(new_stack)
    load = Load(new_stack.base_url)
    with load.running():
        load.wait_for_requests(100)
        since = len(load.outcomes)
        stack.pgbouncer.stop(signal.SIGTERM)
        time.sleep(2)  # the outage, not a wait for a server
        stack.start_pgbouncer()
        back = seconds_until_served(new_stack.base_url)
        load.wait_for_requests(len(load.outcomes) + 100)
    assert back <= BACK_WITHIN, f"served again {back:.1f} s after PgBouncer was back"
    assert_outage_answers(load, since)
    stored = load.check_stored(database.url, framework)
    show(capsys, load.report(f"{framework}, PgBouncer restarted ({back:.2f} s to serve)", stored))


def test_the_log_shows_the_clients_address_and_believes_no_other(
    new_stack: StackServer, framework: str
) -> None:
    """A client on 127.0.0.2: through nginx, the instances log 127.0.0.2, not nginx's
    127.0.0.1; straight to an instance, an X-Forwarded-For it sends is not believed."""
    stack = stack_of(new_stack)
    offset = new_stack.log_size()
    marker = f"/books/1?from={framework}"

    def get_from_127_0_0_2(port: int, extra: str = "") -> bytes:
        with socket.socket() as connection:
            connection.bind(("127.0.0.2", 0))
            connection.connect((HOST, port))
            head = f"GET {marker} HTTP/1.1\r\nHost: {HOST}\r\n{extra}Connection: close\r\n\r\n"
            connection.sendall(head.encode())
            return connection.recv(65536)

    assert get_from_127_0_0_2(new_stack.port).startswith(b"HTTP/1.1 200 ")
    spoofed = "X-Forwarded-For: 203.0.113.9\r\n"
    assert get_from_127_0_0_2(stack.members[0].port, spoofed).startswith(b"HTTP/1.1 200 ")
    wait_for(lambda: new_stack.log_since(offset).count(marker) >= 2, 10, "both requests logged")
    lines = [line for line in new_stack.log_since(offset).splitlines() if marker in line]
    assert len(lines) == 2, lines
    for line in lines:
        assert "127.0.0.2" in line, line
        assert "127.0.0.1" not in line, line
        assert "203.0.113.9" not in line, line


def test_with_every_instance_gone_each_method_is_nginx_s_502_problem(
    new_stack: StackServer,
) -> None:
    """Every instance killed: nginx's 502 problem, whichever way a method reaches the instances
    (PUT, DELETE and TRACE through an error page of nginx's)."""
    for member in stack_of(new_stack).members:
        member.kill()
    book = {"title": "Nowhere", "author": "Nobody"}
    with httpx2.Client(base_url=new_stack.base_url, headers=AUTH, timeout=30) as client:
        for method in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE"):
            body = book if method in ("POST", "PUT", "PATCH") else None
            response = client.request(method, "/books/1", json=body)
            if method == "HEAD":
                assert response.status_code == 502, method
            else:
                assert_problem(response, 502, NO_INSTANCE)


def test_a_client_s_own_scheme_fields_are_not_believed(new_stack: StackServer) -> None:
    """X-Forwarded-Ssl and X-Forwarded-Protocol from the client pass nginx as they came; only
    nginx's X-Forwarded-Proto tells the scheme, and the request is served."""
    with httpx2.Client(base_url=new_stack.base_url, timeout=30) as client:
        for field, value in (("X-Forwarded-Ssl", "on"), ("X-Forwarded-Protocol", "ssl")):
            response = client.get(
                "/books", params={"limit": 1, "offset": 1}, headers={field: value}
            )
            assert response.status_code == 200, f"{field}: {describe(response)}"
            assert response.headers["link"].startswith("</books?"), response.headers["link"]


def test_postgresql_restarted_under_load_is_503_then_full_service(
    framework: str,
    live_servers: ServerPool,
    database: PreparedDatabase,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """PostgreSQL gone for 2 s behind PgBouncer, every connection to it cut, and back: 503
    problems meanwhile, never a 500 or a hang; full service within 5 s of its return; every
    acknowledged write stored."""
    database.reset()
    relay, through_relay = relay_to(database.url)
    server = live_servers.new_server(framework, through_relay, TOKEN)
    try:
        server.start()
        watch_log(request, server)
        load = Load(server.base_url)
        with load.running():
            load.wait_for_requests(100)
            since = len(load.outcomes)
            relay.cut("refused")
            time.sleep(2)  # the outage, not a wait for a server
            relay.restore()
            back = seconds_until_served(server.base_url)
            load.wait_for_requests(len(load.outcomes) + 100)
    finally:
        server.kill()
        relay.close()
    assert back <= BACK_WITHIN, f"served again {back:.1f} s after PostgreSQL was back"
    assert_outage_answers(load, since)
    stored = load.check_stored(database.url, framework)
    show(capsys, load.report(f"{framework}, PostgreSQL away ({back:.2f} s to serve)", stored))

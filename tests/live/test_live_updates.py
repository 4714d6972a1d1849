"""Live updates, contract v1.3: GET /books/changes, a WebSocket, on real servers.

Each subscriber here is a `websockets` client on its own connection, against the session's
servers (two hosts on one database) or, for SIGTERM, a server of the test's own.
"""

import json
import signal
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from tests.contract import AUTH, assert_problem, describe
from tests.databases import PreparedDatabase
from tests.live.plugin import live_http_client, skip_one_server_alone
from tests.live.servers import LiveServer
from tests.live.test_workers import StartServer

CHANGES = "/books/changes"
# Django's WebSocket needs an ASGI server and Channels, which make serve-django does not run yet.
SERVED_BY = {"fastapi", "flask"}
# Long enough for a poll (100 ms) on a loaded machine; bounded, so a missing event fails.
WAIT = 10
QUEUE_LIMIT = 1_000


@pytest.fixture(autouse=True)
def served(framework: str) -> None:
    if framework not in SERVED_BY:
        pytest.skip(
            f"{framework} does not serve the WebSocket of {CHANGES} yet (docs/live-updates.md)"
        )


def ws_url(server: LiveServer, query: str = "") -> str:
    return server.base_url.replace("http://", "ws://", 1) + CHANGES + query


@contextmanager
def subscribe(server: LiveServer, query: str = "") -> Iterator[ClientConnection]:
    with connect(ws_url(server, query), open_timeout=WAIT, close_timeout=WAIT) as subscriber:
        yield subscriber


def receive(subscriber: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [json.loads(subscriber.recv(timeout=WAIT)) for _ in range(count)]


def closed_with(subscriber: ClientConnection) -> tuple[int | None, str | None]:
    """The close code and reason, once every message before the close frame is read."""
    for _ in range(100_000):
        try:
            subscriber.recv(timeout=WAIT)
        except ConnectionClosed as closed:
            return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, None)
    raise AssertionError("no close frame after 100,000 messages")


def write(client: httpx2.Client, method: str, path: str, **options: Any) -> httpx2.Response:
    response = client.request(
        method, path, headers={**AUTH, **options.pop("headers", {})}, **options
    )
    assert response.status_code < 300, describe(response)
    return response


def test_each_committed_change_is_one_message_in_commit_order(
    two_hosts: tuple[LiveServer, LiveServer], database: PreparedDatabase
) -> None:
    """POST, PUT, PATCH, DELETE on one host reach a subscriber of the other, once each, as the
    outbox has them; a no-op PATCH and refused writes send nothing."""
    with subscribe(two_hosts[0]) as subscriber, live_http_client(two_hosts[1]) as client:
        book = write(
            client, "POST", "/books", json={"title": "Snow Crash", "author": "N. S."}
        ).json()
        path = f"/books/{book['id']}"
        write(client, "PUT", path, json={"title": "Snow Crash", "author": "Neal Stephenson"})
        write(client, "PATCH", path, json={"title": "Snow Crash"})  # changes nothing
        refused = client.patch(path, json={"title": "Zodiac"}, headers={**AUTH, "If-Match": '"1"'})
        assert refused.status_code == 412, describe(refused)
        write(client, "PATCH", path, json={"title": "Zodiac"})
        write(client, "DELETE", path)
        events = receive(subscriber, 4)
    expected = [
        {"type": "created", "version": 1, "book": {**book}},
        {"type": "updated", "version": 2, "book": {**book, "author": "Neal Stephenson"}},
        {
            "type": "updated",
            "version": 3,
            "book": {**book, "author": "Neal Stephenson", "title": "Zodiac"},
        },
        {"type": "deleted", "version": 3, "book": None},
    ]
    assert [
        {key: event[key] for key in ("type", "version", "book")} for event in events
    ] == expected
    assert {event["id"] for event in events} == {book["id"]}
    stored = database.changes()[-4:]
    assert [event["event"] for event in events] == [change["event"] for change in stored]
    assert [event["event"] for event in events] == list(
        range(events[0]["event"], events[0]["event"] + 4)
    )


def test_every_subscriber_on_every_worker_sees_every_event(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    """Eight subscribers over both hosts' workers; 30 writes from both hosts: each subscriber
    receives the same 30 events, numbered without gaps."""
    with ExitStack() as stack:
        subscribers = [stack.enter_context(subscribe(two_hosts[n % 2])) for n in range(8)]
        clients = [stack.enter_context(live_http_client(host)) for host in two_hosts]
        for n in range(30):
            write(clients[n % 2], "POST", "/books", json={"title": f"Wave {n}", "author": "Many"})
        seen = [receive(subscriber, 30) for subscriber in subscribers]
    numbers = [event["event"] for event in seen[0]]
    assert numbers == list(range(numbers[0], numbers[0] + 30))
    assert all(events == seen[0] for events in seen)
    assert [event["book"]["title"] for event in seen[0]] == [f"Wave {n}" for n in range(30)]


def test_after_replays_the_kept_events_then_goes_live(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    with live_http_client(two_hosts[0]) as client:
        for n in range(3):
            write(client, "POST", "/books", json={"title": f"Before {n}", "author": "Replay"})
        with subscribe(two_hosts[1], "?after=1") as subscriber:
            write(client, "POST", "/books", json={"title": "After", "author": "Replay"})
            events = receive(subscriber, 3)
    assert [event["event"] for event in events] == [2, 3, 4]
    assert [event["book"]["title"] for event in events] == ["Before 1", "Before 2", "After"]


@pytest.mark.parametrize("after", ["1", "0000000001", "3"])
def test_after_the_last_event_or_any_before_it_is_kept(
    two_hosts: tuple[LiveServer, LiveServer], after: str
) -> None:
    """An `after` up to the last event is not refused (leading zeros allowed, as for offset)."""
    with live_http_client(two_hosts[0]) as client:
        for n in range(3):
            write(client, "POST", "/books", json={"title": f"Kept {n}", "author": "Replay"})
        with subscribe(two_hosts[1], f"?after={after}") as subscriber:
            write(client, "POST", "/books", json={"title": "Then", "author": "Replay"})
            events = receive(subscriber, 4 - int(after))
    assert [event["event"] for event in events] == list(range(int(after) + 1, 5))


def stored_event(number: int) -> dict[str, Any]:
    book = {"id": 1, "title": "Dune", "author": "Frank Herbert"}
    return {
        "event": number,
        "type": "updated",
        "book_id": 1,
        "version": number,
        "book": book,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }


@pytest.mark.parametrize(("after", "kept"), [(5_000, range(5_002, 5_011)), (11, range(1, 11))])
def test_an_after_no_longer_kept_or_never_reached_closes_4410(
    two_hosts: tuple[LiveServer, LiveServer], database: PreparedDatabase, after: int, kept: range
) -> None:
    database.add_changes([stored_event(number) for number in kept], last_event=kept[-1])
    with subscribe(two_hosts[0], f"?after={after}") as subscriber:
        code, reason = closed_with(subscriber)
    assert code == 4410
    assert reason == (
        f"Events after {after} are no longer kept: reload the list and subscribe without after."
    )


@pytest.mark.parametrize(
    "after", ["", "abc", "-1", "+1", "1_0", "%201", "1.0", "9223372036854775808", "1&after=x"]
)
def test_an_after_that_is_no_event_number_closes_4422(
    two_hosts: tuple[LiveServer, LiveServer], after: str
) -> None:
    with subscribe(two_hosts[0], f"?after={after}") as subscriber:
        code, reason = closed_with(subscriber)
    assert (code, reason) == (4422, "after must be a whole number from 0 to 9223372036854775807.")


class Unread:
    """A subscriber that reads nothing until told to: its own socket, with a small receive
    buffer, and the protocol without I/O (the `websockets` client would read into memory)."""

    def __init__(self, server: LiveServer) -> None:
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.socket.connect(("127.0.0.1", server.port))
        self.socket.settimeout(WAIT)
        self.protocol = ClientProtocol(parse_uri(ws_url(server)))
        self.protocol.send_request(self.protocol.connect())
        self.socket.sendall(b"".join(self.protocol.data_to_send()))
        [response] = self.read_events()
        assert isinstance(response, Response), response
        assert response.status_code == 101, response

    def read_events(self) -> list[Any]:
        events: list[Any] = []
        while not events:
            data = self.socket.recv(1 << 16)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            events = self.protocol.events_received()
        return events

    def read_until_closed(self) -> tuple[list[int], Close | None]:
        """The event numbers received, and the close frame."""
        numbers = []
        while self.protocol.close_rcvd is None:
            for frame in self.read_events():
                if isinstance(frame, Frame) and frame.opcode is Opcode.TEXT:
                    numbers.append(json.loads(bytes(frame.data))["event"])
        self.socket.close()
        return numbers, self.protocol.close_rcvd


def test_a_subscriber_too_far_behind_is_closed_1013_and_nobody_waits_for_it(
    two_hosts: tuple[LiveServer, LiveServer], database: PreparedDatabase
) -> None:
    """A subscriber that reads nothing while 20,000 events of 1 KB come, 500 at a time: its
    server closes it with 1013 once 1,000 wait for it, and the reason's `after` is the last it
    received; a subscriber beside it receives them all."""
    behind = Unread(two_hosts[0])
    book = {"id": 1, "title": "x" * 1_000, "author": "A"}
    received = []
    with subscribe(two_hosts[0]) as keeping_up:
        for first in range(1, 20_000, 500):
            batch = range(first, first + 500)
            database.add_changes([{**stored_event(n), "book": book} for n in batch], batch[-1])
            received += receive(keeping_up, 500)
    assert [event["event"] for event in received] == list(range(1, 20_001))
    numbers, close = behind.read_until_closed()
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) < 20_000
    assert close == Close(1013, f"Too far behind: resume with after={numbers[-1]}.")


def test_pings_are_answered_and_the_client_s_messages_ignored(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    with subscribe(two_hosts[0]) as subscriber, live_http_client(two_hosts[0]) as client:
        assert subscriber.ping(b"are you there").wait(timeout=WAIT)
        subscriber.send("hello")
        subscriber.send(b"\x00\xff")
        book = write(client, "POST", "/books", json={"title": "Still", "author": "Here"}).json()
        [event] = receive(subscriber, 1)
    assert event["book"] == book


def test_sigterm_closes_each_subscriber_with_1001(
    start_server: StartServer, database: PreparedDatabase, framework: str, behind_nginx: bool
) -> None:
    skip_one_server_alone(behind_nginx)
    server = start_server(framework, database.url)
    with subscribe(server) as first, subscribe(server) as second:
        server.signal(signal.SIGTERM)
        closes = [closed_with(first), closed_with(second)]
    assert closes == [(1001, "Server shutting down.")] * 2
    server.wait_for_exit()


def test_an_upgrade_that_is_no_valid_handshake_is_a_400_problem(
    two_hosts: tuple[LiveServer, LiveServer],
) -> None:
    """Upgrade: websocket without Sec-WebSocket-Key."""
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    with live_http_client(two_hosts[0]) as client:
        response = client.get(CHANGES, headers=upgrade)
    assert_problem(response, 400, "The WebSocket handshake is invalid.")


def test_after_replays_page_after_page(
    two_hosts: tuple[LiveServer, LiveServer], database: PreparedDatabase
) -> None:
    """2,500 kept events (the servers read 1,000 at a time), then one live."""
    database.add_changes([stored_event(n) for n in range(1, 2_501)], last_event=2_500)
    with (
        subscribe(two_hosts[0], "?after=0") as subscriber,
        live_http_client(two_hosts[1]) as client,
    ):
        replayed = receive(subscriber, 2_500)
        write(client, "POST", "/books", json={"title": "Live", "author": "Replay"})
        [live] = receive(subscriber, 1)
    assert [event["event"] for event in replayed] == list(range(1, 2_501))
    assert (live["event"], live["book"]["title"]) == (2_501, "Live")


def test_a_reset_database_closes_every_subscriber_4410(
    two_hosts: tuple[LiveServer, LiveServer], database: PreparedDatabase
) -> None:
    """The outbox emptied and its counter set back: the event numbers a subscriber has seen
    mean nothing now, and it is told to reload."""
    with live_http_client(two_hosts[0]) as client:
        for n in range(2):
            write(client, "POST", "/books", json={"title": f"Reset {n}", "author": "Gone"})
    with ExitStack() as stack:
        subscribers = [
            stack.enter_context(subscribe(two_hosts[n % 2], "?after=1")) for n in range(4)
        ]
        for subscriber in subscribers:
            receive(subscriber, 1)
        database.reset()
        closes = [closed_with(subscriber) for subscriber in subscribers]
    reason = "Events after 2 are no longer kept: reload the list and subscribe without after."
    assert closes == [(4410, reason)] * 4


def test_an_after_ahead_of_the_worker_s_reader_is_not_sent_again(
    start_server: StartServer, database: PreparedDatabase, framework: str, behind_nginx: bool
) -> None:
    """One worker, whose reader is 1,000 events behind (it reads 100 a poll) when a subscriber
    asks for the events after the last: it is sent none of those, only the next."""
    skip_one_server_alone(behind_nginx)
    database.reset()
    server = start_server(framework, database.url, workers=1)
    with subscribe(server):  # the worker's reader runs from here
        database.add_changes([stored_event(n) for n in range(1, 1_001)], last_event=1_000)
        with subscribe(server, "?after=1000") as ahead, live_http_client(server) as client:
            write(client, "POST", "/books", json={"title": "Next", "author": "Ahead"})
            [event] = receive(ahead, 1)
    assert event["event"] == 1_001

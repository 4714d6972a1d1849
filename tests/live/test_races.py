"""Racing writes on one book get the answers of some serial order (CONTRACT.md, "Concurrent
requests").

Each test runs ROUNDS rounds. In a round, a new book is created; then several clients, each on a
thread of its own, send their requests at the same instant (released together by a barrier),
through one server with 2 workers or through two servers on one database (2 and 4 workers); then
the test reads what is stored. A round with any answer or stored state that no serial order of the
requests gives is wrong: a failure says how many of the rounds were, and shows the first few. The
servers' logs must hold no traceback, and the outbox must hold one event per change answered, in
commit order.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from tests.contract import AUTH, describe, etag
from tests.databases import PreparedDatabase
from tests.live.plugin import live_http_client
from tests.live.servers import LiveServer

# Enough rounds that each race the contract rules out shows up in today's code on a quiet
# 2-core machine, few enough that the file stays around a minute per framework and database.
ROUNDS = 30
DELETERS = 8
WRITERS_AGAINST_A_DELETE = 3
# How long the DELETE leaves after the writes, in turn, round by round (milliseconds).
DELETE_OFFSETS = (0, 1, 0, 2, 0, 3, 0, 4)
RENAMERS = 4
BARRIER_TIMEOUT = 30.0
EXAMPLES_SHOWN = 3
# A request: method, path, JSON body (or None), headers besides the write token.
Call = tuple[str, str, Any, dict[str, str]]
# The status that stands for no answer at all (the connection failed): a wrong answer like any.
NO_ANSWER = 599


class Race:
    """Clients of the servers under test, one per racer, and the rounds that went wrong."""

    def __init__(
        self,
        framework: str,
        hosts: tuple[LiveServer, ...],
        label: str,
        database: PreparedDatabase,
    ) -> None:
        self.framework = framework
        self.hosts = hosts
        self.label = label
        self.database = database
        # The answers that say a book was changed: each is exactly one event in the outbox.
        self.changes_answered = 0
        self.log_offsets = [host.log_size() for host in hosts]
        self.reader = live_http_client(hosts[0])
        self.clients: list[httpx2.Client] = []
        self.pool = ThreadPoolExecutor(max(DELETERS, RENAMERS, WRITERS_AGAINST_A_DELETE + 1))
        self.wrong: list[tuple[int, list[str]]] = []

    def client(self, racer: int) -> httpx2.Client:
        """The racer's own client; racers take turns among the hosts."""
        while len(self.clients) <= racer:
            self.clients.append(live_http_client(self.hosts[len(self.clients) % len(self.hosts)]))
        return self.clients[racer]

    def send(self, call: Call, racer: int | None = None) -> httpx2.Response:
        """Send one request with the write token, from this racer's client or else the reader's.

        A racer whose connection fails (a server closes it after a 500, say) gets NO_ANSWER.
        """
        method, path, body, headers = call
        client = self.reader if racer is None else self.client(racer)
        try:
            response = client.request(method, path, json=body, headers={**AUTH, **headers})
        except httpx2.TransportError as error:
            if racer is None:
                raise
            return httpx2.Response(NO_ANSWER, text=repr(error), request=error.request)
        # Every write these races send changes its book when it succeeds.
        if method != "GET" and response.is_success:
            self.changes_answered += 1
        return response

    def at_once(self, *calls: Call, first_later_by: float = 0.0) -> list[httpx2.Response]:
        """Send the requests at the same instant, each from its own client; their answers.

        `first_later_by` holds the first request back by that many seconds after the others.
        """
        start = threading.Barrier(len(calls))
        for racer in range(len(calls)):
            self.client(racer)  # made before the race, so that none starts late

        def race(racer: int) -> httpx2.Response:
            start.wait(timeout=BARRIER_TIMEOUT)
            if racer == 0 and first_later_by:
                time.sleep(first_later_by)
            return self.send(calls[racer], racer)

        return list(self.pool.map(race, range(len(calls))))

    def create(self, title: str, author: str = "Racer") -> dict[str, Any]:
        """A new book for the next round."""
        response = self.send(("POST", "/books", {"title": title, "author": author}, {}))
        assert response.status_code == 201, f"{self.framework}: {describe(response)}"
        book: dict[str, Any] = response.json()
        return book

    def judge(self, round_: int, problems: list[str]) -> None:
        """Record the round as wrong when anything in it was."""
        if problems:
            self.wrong.append((round_, problems))

    def assert_every_round_right(self, note: str = "") -> None:
        """No wrong round, and no traceback in the servers' logs."""
        shown = [
            f"round {round_}: " + "; ".join(problems)
            for round_, problems in self.wrong[:EXAMPLES_SHOWN]
        ]
        assert not self.wrong, (
            f"{self.framework}, {self.label}: {len(self.wrong)} of {ROUNDS} rounds wrong{note}\n"
            + "\n".join(shown)
        )
        for host, offset in zip(self.hosts, self.log_offsets, strict=True):
            log = host.log_since(offset)
            assert "Traceback" not in log, (
                f"{self.framework}: a traceback in the log:\n{log[-3000:]}"
            )
        self.assert_one_event_per_change()

    def assert_one_event_per_change(self) -> None:
        """The outbox holds one event per change answered, numbered 1, 2, ... without a gap, and
        each book's events in the order of its versions: events are numbered in commit order."""
        changes = self.database.changes()
        numbers = [change["event"] for change in changes]
        assert numbers == list(range(1, self.changes_answered + 1)), (
            f"{self.framework}, {self.label}: {self.changes_answered} changes answered, events "
            f"{numbers[:10]}...{numbers[-10:]} ({len(numbers)})"
        )
        # Each book's last version so far; 0 before it is created, None once it is deleted.
        versions: dict[int, int | None] = {}
        for change in changes:
            last = versions.get(change["book_id"], 0)
            expected: int | None = None  # for an event of a book not created, or deleted
            if change["type"] == "created" and last == 0:
                expected = 1
            elif change["type"] != "created" and last:
                expected = last + 1 if change["type"] == "updated" else last
            assert change["version"] == expected, (
                f"{self.framework}, {self.label}: {change} after version {last}"
            )
            versions[change["book_id"]] = None if change["type"] == "deleted" else expected

    def close(self) -> None:
        """Close the clients and the threads."""
        for client in [self.reader, *self.clients]:
            client.close()
        self.pool.shutdown()


@pytest.fixture(params=["one server", "two servers"])
def race(
    request: pytest.FixtureRequest,
    framework: str,
    two_hosts: tuple[LiveServer, LiveServer],
    database: PreparedDatabase,
) -> Iterator[Race]:
    """Racing clients of one server with 2 workers, or of two servers on one database."""
    hosts = two_hosts[:1] if request.param == "one server" else two_hosts
    racing = Race(framework, hosts, request.param, database)
    yield racing
    racing.close()


def body(response: httpx2.Response) -> Any:
    """The answer's JSON, or the start of its text when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


def unexpected(responses: list[httpx2.Response], allowed: set[int]) -> list[str]:
    """Each answer whose status is not one of these."""
    return [describe(response) for response in responses if response.status_code not in allowed]


def test_simultaneous_deletes_of_one_book_give_one_204_and_the_rest_404(race: Race) -> None:
    """N DELETEs of one book at once: exactly one 204 (the one that deleted it), every other 404."""
    for round_ in range(ROUNDS):
        book = race.create(f"Deleted {round_}")
        path = f"/books/{book['id']}"
        answers = race.at_once(*[("DELETE", path, None, {})] * DELETERS)
        statuses = sorted(answer.status_code for answer in answers)
        problems = unexpected(answers, {204, 404})
        if statuses != [204] + [404] * (DELETERS - 1):
            problems.append(f"statuses {statuses}")
        if (after := race.send(("GET", path, None, {}))).status_code != 404:
            problems.append(f"afterwards {describe(after)}")
        race.judge(round_, problems)
    race.assert_every_round_right()


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_write_racing_a_delete_is_200_only_before_it_and_the_book_stays_gone(
    race: Race, method: str
) -> None:
    """PUT/PATCH racing DELETE: the DELETE is 204; each write 200 (it came first) or 404, never
    a 500; afterwards GET is 404: no write brings the deleted book back."""
    for round_ in range(ROUNDS):
        book = race.create(f"Raced {round_}")
        path = f"/books/{book['id']}"
        writes = [
            {"title": f"Raced {round_} by {n}", "author": "Racer"}
            for n in range(WRITERS_AGAINST_A_DELETE)
        ]
        # A write loses the race when the DELETE commits between its read and its write. Where
        # that window falls depends on the framework and the machine: every other round the
        # DELETE leaves with the writes, the others 1 to 4 ms later, so the rounds sweep it.
        answers = race.at_once(
            ("DELETE", path, None, {}),
            *[(method, path, write, {}) for write in writes],
            first_later_by=DELETE_OFFSETS[round_ % len(DELETE_OFFSETS)] / 1000,
        )
        problems = unexpected(answers[:1], {204}) + unexpected(answers[1:], {200, 404})
        for answer, write in zip(answers[1:], writes, strict=True):
            if answer.status_code == 200 and body(answer) != {"id": book["id"], **write}:
                problems.append(f"{describe(answer)} for {write}")
        if (after := race.send(("GET", path, None, {}))).status_code != 404:
            problems.append(f"the deleted book came back: {describe(after)}")
        race.judge(round_, problems)
    race.assert_every_round_right()


def test_simultaneous_patches_of_different_fields_keep_every_change(race: Race) -> None:
    """PATCH {title} and PATCH {author} at once: both 200, both changes stored, the later answer
    shows both, and the version grew by 2 (ETags "2" and "3")."""
    lost, versions = 0, 0
    for round_ in range(ROUNDS):
        book = race.create(f"Patched {round_}")
        path = f"/books/{book['id']}"
        changes = [{"title": f"Patched {round_} again"}, {"author": f"Racer {round_}"}]
        answers = race.at_once(*[("PATCH", path, change, {}) for change in changes])
        problems = unexpected(answers, {200})
        after = race.send(("GET", path, None, {}))
        expected = {**book, **changes[0], **changes[1]}
        if body(after) != expected:
            lost += 1
            problems.append(f"stored {body(after)}, not {expected}")
        if not problems and expected not in [body(answer) for answer in answers]:
            problems.append(f"no answer shows both changes: {[body(a) for a in answers]}")
        tags = sorted(answer.headers.get("etag", "none") for answer in answers)
        if after.headers.get("etag") != etag(3) or tags != [etag(2), etag(3)]:
            versions += 1
            problems.append(f"ETags {tags}, then {after.headers.get('etag')}")
        race.judge(round_, problems)
    race.assert_every_round_right(f" ({lost} lost a change, {versions} had wrong versions)")


def test_simultaneous_renames_to_one_pair_give_one_200_and_the_rest_409(race: Race) -> None:
    """Different books renamed at once to one (title, author): one 200, the rest 409, one stored."""
    books = [race.create(f"Rename {n}") for n in range(RENAMERS)]
    for round_ in range(ROUNDS):
        pair = {"title": f"Renamed {round_}", "author": "Racer"}
        answers = race.at_once(*[("PUT", f"/books/{book['id']}", pair, {}) for book in books])
        statuses = [answer.status_code for answer in answers]
        problems = unexpected(answers, {200, 409})
        if sorted(statuses) != [200] + [409] * (RENAMERS - 1):
            problems.append(f"statuses {sorted(statuses)}")
        listed = race.send(("GET", f"/books?search=Renamed%20{round_}", None, {}))
        holders = [book["id"] for book in body(listed) if book["title"] == pair["title"]]
        winners = [
            book["id"] for book, status in zip(books, statuses, strict=True) if status == 200
        ]
        if holders != winners:
            problems.append(f"stored under ids {holders}, answered 200 for {winners}")
        race.judge(round_, problems)
    race.assert_every_round_right()


def test_two_puts_with_one_if_match_give_one_200_and_one_412(race: Race) -> None:
    """Two PUTs with If-Match of the current tag at once: exactly one 200 and one 412; the stored
    book is the 200's, at version 2. The check and the write are one step."""
    for round_ in range(ROUNDS):
        book = race.create(f"Matched {round_}")
        path = f"/books/{book['id']}"
        puts = [{"title": f"Matched {round_} by {n}", "author": "Racer"} for n in range(2)]
        answers = race.at_once(*[("PUT", path, put, {"If-Match": etag(1)}) for put in puts])
        statuses = sorted(answer.status_code for answer in answers)
        problems = unexpected(answers, {200, 412})
        if statuses != [200, 412]:
            problems.append(f"statuses {statuses}")
        after = race.send(("GET", path, None, {}))
        winners = [body(answer) for answer in answers if answer.status_code == 200]
        if body(after) not in winners or after.headers.get("etag") != etag(2):
            problems.append(f"stored {body(after)} at {after.headers.get('etag')}")
        race.judge(round_, problems)
    race.assert_every_round_right()

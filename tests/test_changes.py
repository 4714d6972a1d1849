"""The outbox of the live updates: each write answered 2xx that changed a book is one event, stored
in the write's own transaction and numbered 1, 2, 3, ... in commit order; nothing else is one. And
GET /books/changes without the upgrade to a WebSocket.

The events are read from each framework's own table (`outbox`), in-process and live.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from tests.contract import SEED, assert_problem, describe, etag

DUNE, NEUROMANCER = SEED
SNOW_CRASH = {"title": "Snow Crash", "author": "Neal Stephenson"}
# The retention the packages promise: the last 10,000 events, and every event of the last 24 h.
KEPT_EVENTS = 10_000
KEPT_FOR = timedelta(hours=24)


def event(number: int, change: str, book: dict[str, Any], version: int) -> dict[str, Any]:
    """An event as the outbox stores it."""
    return {
        "event": number,
        "type": change,
        "book_id": book["id"],
        "version": version,
        "book": None if change == "deleted" else book,
    }


def test_each_write_that_changes_a_book_is_one_event_in_order(
    client: httpx2.Client, auth: dict[str, str], outbox: Any
) -> None:
    """POST, PUT, PATCH and DELETE of one book: events 1 to 4, each with the book as answered."""
    created = client.post("/books", json=SNOW_CRASH, headers=auth)
    assert created.status_code == 201, describe(created)
    book = created.json()
    path = f"/books/{book['id']}"
    replaced = client.put(path, json={**SNOW_CRASH, "title": "Snow Crash II"}, headers=auth)
    assert replaced.status_code == 200, describe(replaced)
    patched = client.patch(path, json={"author": "N. Stephenson"}, headers=auth)
    assert patched.status_code == 200, describe(patched)
    deleted = client.delete(path, headers=auth)
    assert deleted.status_code == 204, describe(deleted)
    assert outbox.changes() == [
        event(1, "created", book, 1),
        event(2, "updated", replaced.json(), 2),
        event(3, "updated", patched.json(), 3),
        event(4, "deleted", book, 3),
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("PATCH", "/books/1", {}, {}, 200),
        ("PATCH", "/books/1", {"title": DUNE["title"]}, {}, 200),
        ("PUT", "/books/1", {"title": DUNE["title"], "author": DUNE["author"]}, {}, 200),
        ("PUT", "/books/1", NEUROMANCER | {"id": None}, {}, 422),
        (
            "PUT",
            "/books/1",
            {"title": NEUROMANCER["title"], "author": NEUROMANCER["author"]},
            {},
            409,
        ),
        ("POST", "/books", {"title": DUNE["title"], "author": DUNE["author"]}, {}, 409),
        ("PATCH", "/books/1", {"title": "Dune Messiah"}, {"If-Match": etag(2)}, 412),
        ("DELETE", "/books/1", None, {"If-Match": etag(2)}, 412),
        ("PATCH", "/books/99", {"title": "Dune Messiah"}, {}, 404),
        ("DELETE", "/books/99", None, {}, 404),
        ("POST", "/books", SNOW_CRASH, {"Authorization": "Bearer wrong"}, 401),
    ],
)
def test_a_write_that_changes_nothing_or_fails_is_no_event(
    client: httpx2.Client,
    auth: dict[str, str],
    outbox: Any,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    status: int,
) -> None:
    """A 200 that left the book as it was, and every 4xx, leaves the outbox empty."""
    response = client.request(method, path, json=body, headers={**auth, **headers})
    assert response.status_code == status, describe(response)
    assert outbox.changes() == []


def test_old_events_are_pruned_once_neither_among_the_last_10000_nor_a_day_old(
    client: httpx2.Client, auth: dict[str, str], outbox: Any
) -> None:
    """The write whose event is 11,000 removes the events up to 1,000 that are over a day old."""
    now, long_ago = datetime.now(UTC), datetime.now(UTC) - KEPT_FOR - timedelta(hours=1)
    stored = {
        1: long_ago,  # both too old and too far back: pruned
        999: now,  # far back but recent: kept
        1_000: long_ago,  # the last that is too far back: pruned
        1_001: long_ago,  # among the last 10,000: kept
        10_999: long_ago,
    }
    outbox.add_changes(
        [
            {**event(number, "updated", DUNE, number), "created_at": created_at}
            for number, created_at in stored.items()
        ],
        last_event=10_999,
    )
    response = client.patch("/books/1", json={"title": "Dune Messiah"}, headers=auth)
    assert response.status_code == 200, describe(response)
    assert [change["event"] for change in outbox.changes()] == [999, 1_001, 10_999, 11_000]
    assert 11_000 - KEPT_EVENTS == 1_000


# GET /books/changes is a WebSocket (tests/live/test_live_updates.py); a plain request is a 426.

UPGRADE_REQUIRED = "GET /books/changes is a WebSocket: connect with Upgrade: websocket."


def test_the_changes_without_an_upgrade_are_a_426_problem(client: httpx2.Client) -> None:
    response = client.get("/books/changes")
    assert_problem(response, 426, UPGRADE_REQUIRED)
    assert response.headers["upgrade"] == "websocket"


def test_head_of_the_changes_is_the_426_without_a_body(client: httpx2.Client) -> None:
    get, head = client.get("/books/changes"), client.head("/books/changes")
    assert head.status_code == 426, describe(head)
    assert head.content == b""
    assert head.headers["upgrade"] == "websocket"
    assert head.headers["content-type"] == get.headers["content-type"]

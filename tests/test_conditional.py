"""Conditional requests: every book's ETag, If-None-Match on reads, If-Match on writes."""

from typing import Any

import httpx2
import pytest

from tests.contract import (
    NO_BOOK,
    SEED,
    assert_book,
    assert_not_modified,
    assert_problem,
    assert_seed_unchanged,
    describe,
)

DUNE, NEUROMANCER = SEED
SNOW_CRASH = {"title": "Snow Crash", "author": "Neal Stephenson"}
MESSIAH = {**DUNE, "title": "Dune Messiah"}
MESSIAH_BY_FH = {**MESSIAH, "author": "F. H."}
# A request: method, path, JSON body (or None), headers besides the write token.
Call = tuple[str, str, Any, dict[str, str]]

# A condition header's value, sent for book 1 at version 1 (the seed's), and what it gets:
# (value, If-None-Match gives 304 (weak comparison), If-Match lets the write happen (strong)).
CONDITIONS = [
    ('"1"', True, True),
    ('W/"1"', True, False),  # a weak tag never matches strongly
    ("*", True, True),
    ('"7", "1"', True, True),
    (' "7" ,W/"1" ', True, False),
    ('"2"', False, False),
    ('W/"2"', False, False),
    ("1", False, False),  # not an entity-tag: matches nothing
    ('w/"1"', False, False),  # only an uppercase W marks a weak tag
    ("'1'", False, False),
    ('"1', False, False),
    ('"7", *', False, False),  # * only counts as the whole value
    ("", False, True),  # empty: no condition
    ("   ", False, True),
]
CONDITION_IDS = [repr(value) for value, *_ in CONDITIONS]
# Each write of book 1 that changes it: its body, its status, and the book it leaves (version 2).
WRITES = {
    "PUT": (SNOW_CRASH, 200, {"id": 1, **SNOW_CRASH}),
    "PATCH": ({"title": "Dune Messiah"}, 200, MESSIAH),
    "DELETE": (None, 204, None),
}


def send(client: httpx2.Client, auth: dict[str, str], call: Call) -> httpx2.Response:
    """Send the request with the write token."""
    method, path, body, headers = call
    return client.request(method, path, json=body, headers={**auth, **headers})


def assert_current(client: httpx2.Client, book: dict[str, Any], version: int, fw: str) -> None:
    """Assert GET /books/{id} answers this book at this version."""
    assert_book(client.get(f"/books/{book['id']}"), 200, book, version, fw)


@pytest.mark.parametrize(
    ("call", "status", "book", "version"),
    [
        (("GET", "/books/1", None, {}), 200, DUNE, 1),
        (("HEAD", "/books/1", None, {}), 200, DUNE, 1),
        (("POST", "/books", SNOW_CRASH, {}), 201, {"id": 3, **SNOW_CRASH}, 1),
        (("PUT", "/books/1", SNOW_CRASH, {}), 200, {"id": 1, **SNOW_CRASH}, 2),
        (("PATCH", "/books/1", {"title": "Dune Messiah"}, {}), 200, MESSIAH, 2),
    ],
    ids=["GET", "HEAD", "POST", "PUT", "PATCH"],
)
def test_every_response_with_one_book_has_its_etag(
    client: httpx2.Client,
    auth: dict[str, str],
    framework: str,
    call: Call,
    status: int,
    book: dict[str, Any],
    version: int,
) -> None:
    """GET/HEAD 200, POST 201, PUT/PATCH 200 carry ETag "<version>"; a later GET has the same."""
    assert_book(send(client, auth, call), status, book, version, framework)
    assert_current(client, book, version, framework)


# (method, body, headers, status, book 1 afterwards, its version afterwards), one after another.
HISTORY: list[tuple[str, Any, dict[str, str], int, dict[str, Any], int]] = [
    ("PATCH", {}, {}, 200, DUNE, 1),
    ("PUT", {"title": "Dune", "author": "Frank Herbert"}, {}, 200, DUNE, 1),
    ("PATCH", {"title": " Dune\t"}, {}, 200, DUNE, 1),
    ("PATCH", {"title": "Dune Messiah"}, {}, 200, MESSIAH, 2),
    ("PATCH", {"author": "F. H."}, {}, 200, MESSIAH_BY_FH, 3),
    ("PUT", {"title": "Dune Messiah", "author": "F. H."}, {}, 200, MESSIAH_BY_FH, 3),
    ("PATCH", {"title": "Dune Messiah", "author": "F. H."}, {}, 200, MESSIAH_BY_FH, 3),
    ("PUT", {"title": "Dune", "author": "Frank Herbert"}, {}, 200, DUNE, 4),
    ("PUT", {"title": "Neuromancer", "author": "William Gibson"}, {}, 409, DUNE, 4),
    ("PATCH", {"title": 1}, {}, 422, DUNE, 4),
    ("PATCH", {"title": "X"}, {"If-Match": '"3"'}, 412, DUNE, 4),
    ("PATCH", {"title": "X"}, {"If-Match": '"4"'}, 200, {**DUNE, "title": "X"}, 5),
]


def test_version_grows_by_one_with_each_write_that_changes_the_book(
    client: httpx2.Client, auth: dict[str, str], framework: str
) -> None:
    """Version 1 in the seed; +1 per write that changes title or author, whatever it changes;
    none for PATCH {}, a same-value PUT or PATCH (after stripping), a 409, a 422 or a 412."""
    for step, (method, body, headers, status, book, version) in enumerate(HISTORY, 1):
        response = send(client, auth, (method, "/books/1", body, headers))
        if status == 200:
            assert_book(response, 200, book, version, f"{framework}, step {step}")
        else:
            assert_problem(response, status)
        assert_current(client, book, version, f"{framework}, after step {step}")


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (("GET", "/books", None, {}), 200),
        (("HEAD", "/books", None, {}), 200),
        (("DELETE", "/books/1", None, {}), 204),
        (("OPTIONS", "/books/1", None, {}), 204),
        (("GET", "/books/999", None, {}), 404),
        (("GET", "/health", None, {}), 200),
        (("PUT", "/books/1", {"title": 1, "author": "A"}, {}), 422),
        (("PUT", "/books/1", {"title": "Neuromancer", "author": "William Gibson"}, {}), 409),
        (("PUT", "/books/1", SNOW_CRASH, {"If-Match": '"9"'}), 412),
        (("PUT", "/books/1", SNOW_CRASH, {"Authorization": "Bearer wrong"}), 401),
    ],
    ids=[
        "list",
        "HEAD list",
        "204 DELETE",
        "204 OPTIONS",
        "404",
        "health",
        "422",
        "409",
        "412",
        "401",
    ],
)
def test_no_etag_on_the_list_on_204_or_on_errors(
    client: httpx2.Client, auth: dict[str, str], framework: str, call: Call, status: int
) -> None:
    """Only a response that carries one book has an ETag."""
    response = send(client, auth, call)
    assert response.status_code == status, f"{framework}: {describe(response)}"
    assert "etag" not in response.headers, f"{framework}: {describe(response)}"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("value", "not_modified", "_"), CONDITIONS, ids=CONDITION_IDS)
def test_if_none_match_naming_the_current_tag_is_304(
    client: httpx2.Client, framework: str, method: str, value: str, not_modified: bool, _: bool
) -> None:
    """Weak comparison, lists and * as RFC 9110 says; a malformed element matches nothing; an
    empty value is no condition. 304: the ETag, no body, no Content-Type."""
    response = client.request(method, "/books/1", headers={"If-None-Match": value})
    if not_modified:
        assert_not_modified(response, 1, framework)
    else:
        assert_book(response, 200, DUNE, 1, framework)


def test_if_none_match_compares_with_the_current_version(
    client: httpx2.Client, auth: dict[str, str], framework: str
) -> None:
    """After a change, the old tag gets the new book (200); the new tag gets 304."""
    assert client.patch("/books/1", json={"title": "Dune Messiah"}, headers=auth).status_code == 200
    assert_book(
        client.get("/books/1", headers={"If-None-Match": '"1"'}), 200, MESSIAH, 2, framework
    )
    assert_not_modified(client.get("/books/1", headers={"If-None-Match": '"2"'}), 2, framework)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_on_a_missing_book_is_404(
    client: httpx2.Client, framework: str, method: str
) -> None:
    """404 (no such book) comes before 304: * names no book that does not exist."""
    response = client.request(method, "/books/999", headers={"If-None-Match": "*"})
    assert response.status_code == 404, f"{framework}: {describe(response)}"
    assert "etag" not in response.headers, f"{framework}: {describe(response)}"


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (("GET", "/books", None, {"If-None-Match": "*"}), 200),
        (("GET", "/health", None, {"If-None-Match": "*"}), 200),
        (("PUT", "/books/1", SNOW_CRASH, {"If-None-Match": "*"}), 200),
        (("PATCH", "/books/1", {"title": "Dune Messiah"}, {"If-None-Match": '"1"'}), 200),
        (("DELETE", "/books/1", None, {"If-None-Match": "*"}), 204),
        (("POST", "/books", SNOW_CRASH, {"If-None-Match": "*"}), 201),
    ],
    ids=["list", "health", "PUT", "PATCH", "DELETE", "POST"],
)
def test_if_none_match_is_ignored_outside_reads_of_one_book(
    client: httpx2.Client, auth: dict[str, str], framework: str, call: Call, status: int
) -> None:
    """If-None-Match counts only on GET/HEAD /books/{id}: writes and other reads answer as ever."""
    response = send(client, auth, call)
    assert response.status_code == status, f"{framework}: {describe(response)}"


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize(("value", "_", "write_allowed"), CONDITIONS, ids=CONDITION_IDS)
def test_if_match_not_naming_the_current_tag_is_412(
    client: httpx2.Client,
    auth: dict[str, str],
    framework: str,
    method: str,
    value: str,
    _: bool,
    write_allowed: bool,
) -> None:
    """Strong comparison: only "<current version>" or * lets PUT, PATCH or DELETE happen; a weak
    or malformed tag is 412 and nothing changes; an empty value is no condition."""
    body, status, book = WRITES[method]
    response = send(client, auth, (method, "/books/1", body, {"If-Match": value}))
    if not write_allowed:
        assert_problem(response, 412)
        assert "etag" not in response.headers, f"{framework}: {describe(response)}"
        assert_seed_unchanged(client)
        assert_current(client, DUNE, 1, framework)
    elif book is None:
        assert response.status_code == status, f"{framework}: {describe(response)}"
        assert_problem(client.get("/books/1"), 404, NO_BOOK)
    else:
        assert_book(response, status, book, 2, framework)
        assert_current(client, book, 2, framework)


@pytest.mark.parametrize("method", WRITES)
def test_if_match_with_a_tag_made_stale_by_another_write_is_412(
    client: httpx2.Client, auth: dict[str, str], framework: str, method: str
) -> None:
    """A lost update prevented: after a PATCH made version 2, a write with "1" is 412, "2" works."""
    assert client.patch("/books/1", json={"author": "F. H."}, headers=auth).status_code == 200
    body, status, _ = WRITES[method]
    assert_problem(send(client, auth, (method, "/books/1", body, {"If-Match": '"1"'})), 412)
    assert_current(client, {**DUNE, "author": "F. H."}, 2, framework)
    fresh = send(client, auth, (method, "/books/1", body, {"If-Match": '"2"'}))
    assert fresh.status_code == status, f"{framework}: {describe(fresh)}"


@pytest.mark.parametrize(
    "call",
    [
        ("PATCH", "/books/1", {}, {"If-Match": '"1"'}),
        ("PUT", "/books/1", {"title": "Dune", "author": "Frank Herbert"}, {"If-Match": "*"}),
    ],
    ids=["PATCH {}", "PUT of the same values"],
)
def test_if_match_on_a_write_that_changes_nothing_keeps_the_etag(
    client: httpx2.Client, auth: dict[str, str], framework: str, call: Call
) -> None:
    """A matching If-Match on a write that changes nothing: 200, the same ETag."""
    assert_book(send(client, auth, call), 200, DUNE, 1, framework)
    assert_current(client, DUNE, 1, framework)


def test_if_match_is_ignored_on_create_and_reads(
    client: httpx2.Client, auth: dict[str, str], framework: str
) -> None:
    """If-Match counts only on PUT, PATCH and DELETE: POST creates, GET reads."""
    condition = {"If-Match": '"9"'}
    created = send(client, auth, ("POST", "/books", SNOW_CRASH, condition))
    assert_book(created, 201, {"id": 3, **SNOW_CRASH}, 1, framework)
    assert_book(client.get("/books/1", headers=condition), 200, DUNE, 1, framework)

"""GET /books/{id}/catalog: CONTRACT.md, "Calling the catalog", rule by rule.

Every app is pointed at the session's catalog stub (tests/catalog_stub.py), with CATALOG_TIMEOUT
`CATALOG_TIMEOUT`; `catalog` resets the stub before the test and lets it change how the stub
answers, and lists the requests the stub received.
"""

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from tests.catalog_stub import RECORD, CatalogStub
from tests.conftest import is_live
from tests.contract import (
    AUTH,
    CATALOG_NO_RECORD,
    CATALOG_QUERY,
    CATALOG_SEARCH_PATH,
    CATALOG_TIMEOUT,
    CATALOG_TOO_SLOW,
    CATALOG_UNREADABLE,
    DATABASE_UNAVAILABLE,
    MAX_ID,
    MAX_ISBNS,
    NO_BOOK,
    NO_ROUTE,
    assert_allow,
    assert_problem,
    catalog_user_agent,
    describe,
    raw_path,
)

CATALOG = "/books/1/catalog"
SEARCH = {"numFound": 1, "start": 0}
# The record the stub answers with by default, as the API gives it.
EXPECTED = {
    "key": RECORD["key"],
    "first_publish_year": RECORD["first_publish_year"],
    "isbns": RECORD["isbn"][:MAX_ISBNS],
}
# "Answered at the timeout, not later": later than this is late, whatever the machine's load.
LATE = 1.0
# An upstream that never answers in time: the stub waits this long.
NEVER = CATALOG_TIMEOUT + 10
# Markers of a traceback or an error in a live server's log (gunicorn's, uvicorn's, Python's).
ERROR_MARKERS = ("Traceback", "Exception in ASGI application", "[ERROR]", "ERROR:", "CRITICAL")
CheckLog = Callable[[], None]


def search_body(*docs: object) -> str:
    """The raw text of a search answer with these docs."""
    return json.dumps({**SEARCH, "docs": list(docs)})


def asked(catalog: CatalogStub, framework: str, count: int) -> list[dict[str, Any]]:
    """Assert the stub received exactly `count` requests; return them."""
    received = catalog.requests()
    assert len(received) == count, (
        f"{framework}: the catalog was asked {len(received)} times, not {count}: {received}"
    )
    return [dict(request) for request in received]


def assert_record(response: httpx2.Response, framework: str, record: dict[str, Any]) -> None:
    """Assert a 200 with exactly this catalog record, as JSON, with no ETag (not a book)."""
    what = f"{framework}: {describe(response)}"
    assert response.status_code == 200, what
    assert response.headers["content-type"] == "application/json", what
    assert "etag" not in response.headers, what
    if response.request.method == "HEAD":
        assert response.content == b"", what
    else:
        assert response.json() == record, what


def timed(send: Callable[[], httpx2.Response]) -> tuple[httpx2.Response, float]:
    """A response, and the seconds from sending the request to having read it all."""
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


@pytest.fixture
def quiet_log(
    framework: str, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> CheckLog:
    """A check that the server logged an upstream fault quietly: no traceback, nothing above
    WARNING, and (where levels can be told, in-process) at most one line at WARNING."""
    if is_live(request.config):
        server = request.getfixturevalue("live_server")
        offset = server.log_size()

        def check_live() -> None:
            log = server.log_since(offset)
            for marker in ERROR_MARKERS:
                assert marker not in log, f"{framework}: {marker!r} in the server's log:\n{log}"

        return check_live

    def check_in_process() -> None:
        records = [record for record in caplog.records if record.levelno >= logging.WARNING]
        shown = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in records]
        assert all(record.levelno == logging.WARNING for record in records), (
            f"{framework}: logged above WARNING: {shown}"
        )
        assert not any(record.exc_info or record.stack_info for record in records), (
            f"{framework}: a traceback in the log: {shown}"
        )
        assert len(records) <= 1, f"{framework}: more than one line at WARNING: {shown}"

    return check_in_process


# The answer: 200 with the record of docs[0].


def test_record_is_the_first_docs_key_year_and_first_5_isbns(
    client: httpx2.Client, catalog: CatalogStub, framework: str
) -> None:
    """200 application/json {key, first_publish_year, isbns}: docs[0]'s key, year and first 5
    ISBNs in the upstream's order; exactly these keys."""
    assert_record(client.get(CATALOG), framework, EXPECTED)


ISBNS = ["1", "2", "3", "4", "5", "6"]
DOC: dict[str, object] = {"key": "/works/OL1W", "first_publish_year": 1984, "isbn": ISBNS}
KEY = "/works/OL1W"
RECORDS: list[tuple[str, list[object], tuple[str, int | None, list[str]]]] = [
    # (case, docs, the record: key, year, isbns)
    ("year absent: null", [{"key": KEY, "isbn": ["1"]}], (KEY, None, ["1"])),
    ("year null", [{**DOC, "first_publish_year": None}], (KEY, None, ISBNS[:5])),
    ("isbn absent: []", [{"key": KEY, "first_publish_year": 1984}], (KEY, 1984, [])),
    ("2 isbns", [{**DOC, "isbn": ["b", "a"]}], (KEY, 1984, ["b", "a"])),
    ("exactly 5 isbns", [{**DOC, "isbn": ISBNS[:5]}], (KEY, 1984, ISBNS[:5])),
    ("no isbns", [{**DOC, "isbn": []}], (KEY, 1984, [])),
    ("other keys ignored", [{**DOC, "title": "Dune", "ratings": 4.5}], (KEY, 1984, ISBNS[:5])),
    ("only docs[0] read", [DOC, {"key": 7, "isbn": "not read"}], (KEY, 1984, ISBNS[:5])),
    ("year 0", [{**DOC, "first_publish_year": 0}], (KEY, 0, ISBNS[:5])),
]


@pytest.mark.parametrize(
    ("docs", "expected"), [case[1:] for case in RECORDS], ids=[case[0] for case in RECORDS]
)
def test_record_fields_from_docs_0(
    client: httpx2.Client,
    catalog: CatalogStub,
    framework: str,
    docs: list[object],
    expected: tuple[str, int | None, list[str]],
) -> None:
    """A year absent is null, an isbn absent is [], fewer than 5 ISBNs are all there, and nothing
    but key, year and ISBNs of docs[0] is read."""
    catalog.configure(body=search_body(*docs))
    key, year, isbns = expected
    assert_record(
        client.get(CATALOG), framework, {"key": key, "first_publish_year": year, "isbns": isbns}
    )


# The request upstream.

ODD_BOOK = {"title": "Dune & Co: 50% + ?#/ =É", "author": "Frank  Herbert\u00e9;,"}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("book", [None, ODD_BOOK], ids=["seed book", "odd characters"])
def test_one_request_upstream_with_title_author_and_user_agent(
    client: httpx2.Client,
    catalog: CatalogStub,
    framework: str,
    auth: dict[str, str],
    method: str,
    book: dict[str, str] | None,
) -> None:
    """Exactly one GET {CATALOG_URL}/search.json?title=&author=&limit=1&fields=key,
    first_publish_year,isbn, the book's title and author percent-encoded, with User-Agent
    books-three-ways/1.2 (<package>); HEAD asks as GET does and answers without a body."""
    path, title, author = CATALOG, "Dune", "Frank Herbert"
    if book is not None:
        created = client.post("/books", json=book, headers=auth)
        assert created.status_code == 201, describe(created)
        path = f"/books/{created.json()['id']}/catalog"
        title, author = book["title"], book["author"]
        catalog.reset()
    assert_record(client.request(method, path), framework, EXPECTED)
    (sent,) = asked(catalog, framework, 1)
    target = urlsplit(sent["target"])
    assert sent["method"] == "GET", f"{framework}: {sent}"
    assert target.path == CATALOG_SEARCH_PATH, f"{framework}: {sent}"
    query = parse_qs(target.query, keep_blank_values=True, strict_parsing=True)
    expected = {"title": [title], "author": [author]} | {k: [v] for k, v in CATALOG_QUERY.items()}
    assert query == expected, f"{framework}: the query was {target.query!r}"
    user_agent = sent["headers"].get("user-agent")
    assert user_agent == catalog_user_agent(framework), f"{framework}: User-Agent {user_agent!r}"


def test_options_is_204_with_allow_without_asking(
    client: httpx2.Client, catalog: CatalogStub, framework: str
) -> None:
    """OPTIONS: 204, Allow: GET, HEAD, OPTIONS, no body; the catalog is not asked, and the book
    is not looked up."""
    for path in (CATALOG, "/books/999/catalog"):
        response = client.options(path)
        assert response.status_code == 204, f"{framework}: {describe(response)}"
        assert response.content == b"", f"{framework}: {describe(response)}"
        assert "content-type" not in response.headers, f"{framework}: {describe(response)}"
        assert_allow(response, CATALOG)
    asked(catalog, framework, 0)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("with_token", [False, True], ids=["no token", "token"])
def test_other_methods_are_405_without_asking(
    client: httpx2.Client, catalog: CatalogStub, framework: str, method: str, with_token: bool
) -> None:
    """Any other method: 405 with Allow: GET, HEAD, OPTIONS (before 401); the catalog is not
    asked."""
    response = client.request(method, CATALOG, headers=AUTH if with_token else {})
    assert_problem(response, 405)
    assert_allow(response, CATALOG)
    asked(catalog, framework, 0)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("book_id", ["3", "999", str(MAX_ID), "deleted"])
def test_missing_book_is_404_without_asking(
    client: httpx2.Client,
    catalog: CatalogStub,
    framework: str,
    auth: dict[str, str],
    method: str,
    book_id: str,
) -> None:
    """A well-formed id that names no book (never created, or deleted): 404 "no book", and the
    catalog is not asked."""
    if book_id == "deleted":
        assert client.delete("/books/1", headers=auth).status_code == 204
        book_id = "1"
    response = client.request(method, f"/books/{book_id}/catalog")
    if method == "HEAD":
        assert response.status_code == 404, f"{framework}: {describe(response)}"
        assert response.content == b"", f"{framework}: {describe(response)}"
    else:
        assert_problem(response, 404, NO_BOOK)
    asked(catalog, framework, 0)


NOT_ROUTES = [
    *(f"/books/{bad}/catalog" for bad in ["0", "-1", "+1", "01", "1.0", "abc", "%201"]),
    f"/books/{MAX_ID + 1}/catalog",
    "/books/99999999999999999999/catalog",
    "/books/1/catalog/",
    "/books//1/catalog",
    "/books/1//catalog",
    "/books/1/Catalog",
]


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "POST"])
@pytest.mark.parametrize("path", NOT_ROUTES)
def test_non_canonical_ids_and_trailing_slash_are_not_routes(
    client: httpx2.Client, catalog: CatalogStub, framework: str, method: str, path: str
) -> None:
    """A non-canonical or out-of-range id, a trailing or doubled slash: 404 "nothing at this
    path", whatever the method; the catalog is not asked."""
    assert_problem(client.request(method, raw_path(client, path)), 404, NO_ROUTE)
    asked(catalog, framework, 0)


# The upstream's faults.


def test_empty_docs_is_404_no_record(
    client: httpx2.Client, catalog: CatalogStub, framework: str, quiet_log: CheckLog
) -> None:
    """200 with an empty docs list: 404 "The catalog has no record of this book."."""
    catalog.configure(body=search_body())
    assert_problem(client.get(CATALOG), 404, CATALOG_NO_RECORD)
    asked(catalog, framework, 1)
    quiet_log()


UNREADABLE: list[tuple[str, dict[str, object]]] = [
    ("500", {"status": 500}),
    ("404", {"status": 404}),
    ("301 to a record", {"status": 301, "headers": {"Location": "/search.json?title=Dune"}}),
    ("201", {"status": 201}),
    ("not JSON", {"body": "<html>Open Library</html>", "content_type": "text/html"}),
    ("truncated JSON", {"body": search_body(DOC)[:-3]}),
    ("empty body", {"body": ""}),
    ("JSON, not an object", {"body": "[]"}),
    ("docs missing", {"body": '{"numFound": 0}'}),
    ("docs not a list", {"body": '{"docs": {"key": "/works/OL1W"}}'}),
    ("docs null", {"body": '{"docs": null}'}),
    ("docs[0] not an object", {"body": search_body("/works/OL1W")}),
    ("docs[0] null", {"body": search_body(None)}),
    ("key missing", {"body": search_body({"first_publish_year": 1965, "isbn": []})}),
    ("key not a string", {"body": search_body({**DOC, "key": 893415})}),
    ("key null", {"body": search_body({**DOC, "key": None})}),
    ("year a string", {"body": search_body({**DOC, "first_publish_year": "1965"})}),
    ("year a bool", {"body": search_body({**DOC, "first_publish_year": True})}),
    ("year a float", {"body": search_body({**DOC, "first_publish_year": 1965.5})}),
    ("isbn not a list", {"body": search_body({**DOC, "isbn": "9780441013593"})}),
    ("isbn null", {"body": search_body({**DOC, "isbn": None})}),
    ("isbn with a number", {"body": search_body({**DOC, "isbn": ["1", 9780441013593]})}),
    ("isbn past the 5th not a string", {"body": search_body({**DOC, "isbn": [*"12345", 6]})}),
    ("connection closed", {"fault": "close"}),
]


@pytest.mark.parametrize(
    "behaviour", [case[1] for case in UNREADABLE], ids=[case[0] for case in UNREADABLE]
)
def test_unreadable_answer_is_502(
    client: httpx2.Client,
    catalog: CatalogStub,
    framework: str,
    quiet_log: CheckLog,
    behaviour: dict[str, object],
) -> None:
    """Any status but 200, a body that is not JSON of the shape (docs a list of objects, key a
    string, year an integer or null, isbn a list of strings), or a connection closed without an
    answer: 502 "The catalog could not be read.", never a 500 or a traceback; one request
    upstream, redirects not followed."""
    catalog.configure(**behaviour)
    assert_problem(client.get(CATALOG), 502, CATALOG_UNREADABLE)
    asked(catalog, framework, 1)
    quiet_log()


def test_unreadable_answer_to_head_is_502_without_body(
    client: httpx2.Client, catalog: CatalogStub, framework: str, quiet_log: CheckLog
) -> None:
    """HEAD asks as GET does: the same 502, with no body."""
    catalog.configure(status=500)
    response = client.head(CATALOG)
    assert response.status_code == 502, f"{framework}: {describe(response)}"
    assert response.headers["content-type"] == "application/problem+json", describe(response)
    assert response.content == b"", f"{framework}: {describe(response)}"
    asked(catalog, framework, 1)
    quiet_log()


@pytest.mark.parametrize("catalog_url", ["unreachable"], indirect=True)
def test_catalog_that_cannot_be_reached_is_502(
    client: httpx2.Client, framework: str, quiet_log: CheckLog, catalog_url: str
) -> None:
    """CATALOG_URL where nothing listens (the connection is refused): 502 "The catalog could not
    be read.", the book still readable."""
    assert_problem(client.get(CATALOG), 502, CATALOG_UNREADABLE)
    assert client.get("/books/1").status_code == 200
    quiet_log()


@pytest.mark.parametrize(
    "behaviour",
    [{"delay": NEVER}, {"fault": "trickle", "trickle_interval": 0.5}],
    ids=["no answer", "body trickling in"],
)
def test_answer_not_in_full_within_the_timeout_is_504_at_the_timeout(
    client: httpx2.Client,
    catalog: CatalogStub,
    framework: str,
    quiet_log: CheckLog,
    behaviour: dict[str, object],
) -> None:
    """An upstream that has not answered in full CATALOG_TIMEOUT seconds after the request began
    (nothing, or its head at once and then its body a byte every 0.5 s): 504 "The catalog did
    not answer in time.", answered at the timeout, not later."""
    catalog.configure(**behaviour)
    response, elapsed = timed(lambda: client.get(CATALOG))
    assert_problem(response, 504, CATALOG_TOO_SLOW)
    assert elapsed >= CATALOG_TIMEOUT, f"{framework}: 504 after {elapsed:.2f} s, before the timeout"
    assert elapsed < CATALOG_TIMEOUT + LATE, (
        f"{framework}: 504 after {elapsed:.2f} s; the timeout is {CATALOG_TIMEOUT} s"
    )
    asked(catalog, framework, 1)
    quiet_log()


def test_unavailable_database_is_503_without_asking(
    unavailable_client: httpx2.Client, catalog: CatalogStub, framework: str
) -> None:
    """When the database does not answer: 503, and the catalog is not asked (only a book that
    exists is looked up there)."""
    assert_problem(unavailable_client.get(CATALOG), 503, DATABASE_UNAVAILABLE)
    asked(catalog, framework, 0)

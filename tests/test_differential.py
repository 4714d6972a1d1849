"""Differential test: one random sequence of requests, sent to all three apps, must get one answer.

A Hypothesis state machine creates, reads, lists, replaces, patches and deletes books, with bad
ids, invalid bodies and missing or wrong tokens mixed in, reads and writes on condition
(If-None-Match, If-Match) with the current tag, a stale one, `*`, a weak or a malformed one, and
reads books' catalog records from the catalog stub, which answers each time as the step says (a
record, none, an error status, a body of the wrong shape).
Every request goes to Django, Flask and FastAPI, each on its own database (the contract suite's,
reset to the seed before each sequence), and the three responses must agree on the status, the
contract's headers (the ETag too) and the body (problems by type, title and status; a 422's
errors by location and field). On a disagreement Hypothesis shrinks the sequence and prints it,
and the failure shows the three responses side by side.

The budget is small and fixed in `make test` (derandomized, so every run tries the same sequences);
`make fuzz` sets FUZZ_EXAMPLES for a longer run, with longer sequences, seeded by FUZZ_SEED.
"""

import itertools
import json
import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from django.core.management.color import no_style
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from django_books.books.models import Book as DjangoBook
from tests.catalog_stub import CatalogStub
from tests.contract import AUTH, MAX_ID, describe, etag
from tests.openapi_validation import attach as check_against_openapi

if TYPE_CHECKING:
    from tests.databases import TestDatabases

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))
CONTRACT_HEADERS = [
    "location",
    "allow",
    "www-authenticate",
    "x-total-count",
    "link",
    "content-type",
    "etag",
]

NAMES = ["Dune", "Neuromancer", "Frank Herbert", "William Gibson", "dune", "Snow Crash", "É", "a%"]
# Text that collides often (so 409s happen), with the edge cases of the field rules mixed in.
TEXT = st.one_of(
    st.sampled_from(NAMES),
    st.text(alphabet="ab É%_\\\t", max_size=6),
    st.sampled_from(["x" * 200, " " + "x" * 200 + " ", "x" * 201, "a\x00b", "\ud800", "\x1c"]),
)
# A query string carries UTF-8, so no lone surrogate.
SEARCH = TEXT.filter(lambda text: "\ud800" not in text)
# Any JSON value a client may send where a string belongs.
NOT_TEXT = st.one_of(st.none(), st.booleans(), st.integers(), st.lists(st.integers(), max_size=2))
FIELD = st.one_of(TEXT, TEXT, TEXT, NOT_TEXT)
BOOK_BODY = st.fixed_dictionaries({"title": FIELD, "author": FIELD})
PATCH_BODY = st.fixed_dictionaries({}, optional={"title": FIELD, "author": FIELD})
# Bodies the field rules refuse as a whole: not an object, unknown or missing keys.
# Mostly valid books, so that conditional writes reach the If-Match check.
NAMED_BOOK = st.fixed_dictionaries(
    {"title": st.sampled_from(NAMES), "author": st.sampled_from(NAMES)}
)
CONDITIONAL_PUT = st.one_of(NAMED_BOOK, NAMED_BOOK, BOOK_BODY)
CONDITIONAL_PATCH = st.one_of(
    st.fixed_dictionaries({}, optional={"title": st.sampled_from(NAMES)}), PATCH_BODY
)
# Which tag a condition names: the book's current one, an older or newer one, any, ...
TAG_KINDS = st.sampled_from(["current", "current", "stale", "*", "weak current", "malformed"])
# The kinds that name an existing book's tag: weakly (If-None-Match), strongly (If-Match).
WEAK_MATCHES = {"current", "*", "weak current"}
STRONG_MATCHES = {"current", "*"}
ODD_BODY: st.SearchStrategy[object] = st.one_of(
    st.sampled_from([[], "Dune", 3, None, {"id": 3}, {"title": "Dune"}]),
    st.dictionaries(st.sampled_from(["title", "author", "isbn", "id"]), TEXT, max_size=3),
)
TOKENS = {
    "valid": AUTH,
    "missing": {},
    "wrong": {"Authorization": "Bearer wrong-token"},
    "lowercase scheme": {"Authorization": AUTH["Authorization"].replace("Bearer", "bearer")},
    "no scheme": {"Authorization": AUTH["Authorization"].removeprefix("Bearer ")},
}
ANY_TOKEN = st.sampled_from(list(TOKENS))
MOSTLY_VALID_TOKEN = st.one_of(st.just("valid"), st.just("valid"), st.just("valid"), ANY_TOKEN)
BAD_IDS = ["0", "-1", "+1", "01", "1.0", "abc", str(MAX_ID + 1), "99999999999999999999", "3/"]
QUERY_NUMBER = st.one_of(
    st.integers(-2, 120).map(str),
    st.sampled_from(["", "abc", "05", "+5", "1.5", " 5", "1_0", str(MAX_ID), str(MAX_ID + 1)]),
)
# Raw bodies that never reach the field rules: malformed, empty or too deep JSON.
RAW_BODIES = [b"", b"{", b'{"title": NaN}', b"[" * 50_000, b"\xff"]
JSON = {"Content-Type": "application/json"}
CONTENT_TYPES = ["application/json", "text/plain", "application/JSON; charset=utf-8", None]
# How the catalog stub answers a catalog read: each at once (the timeout is test_catalog.py's).
CATALOG_DOC = {"key": "/works/OL1W", "first_publish_year": 1984, "isbn": ["1", "2", "3"]}
CATALOG_ANSWERS: dict[str, dict[str, object]] = {
    "the stub's record": {},
    "a record without year and isbn": {"body": json.dumps({"docs": [{"key": "/works/OL2W"}]})},
    "no record": {"body": json.dumps({"docs": []})},
    "500": {"status": 500},
    "year a bool": {"body": json.dumps({"docs": [{**CATALOG_DOC, "first_publish_year": True}]})},
    "not JSON": {"body": "<html>", "content_type": "text/html"},
    "connection closed": {"fault": "close"},
}


@contextmanager
def rolled_back_django_database() -> Iterator[None]:
    """A savepoint in pytest-django's test transaction, rolled back: the seed again, ids too.

    PostgreSQL's id sequence ignores the rollback, so it is set back as django_client does.
    """
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [DjangoBook]):
            cursor.execute(statement)


def summary(response: httpx2.Response) -> dict[str, Any]:
    """What the contract says must be identical across the three: status, headers, body."""
    headers: dict[str, str | list[str] | None] = {
        name: response.headers.get(name) for name in CONTRACT_HEADERS
    }
    if (allow := response.headers.get("allow")) is not None:
        headers["allow"] = sorted(allow.split(", "))
    if not response.content:
        body: Any = None
    elif headers["content-type"] == "application/problem+json":
        problem = response.json()
        body = {key: problem.get(key) for key in ("type", "title", "status", "detail")}
        if "errors" in problem:
            body["errors"] = sorted(
                ((error["location"], error["field"]) for error in problem["errors"]), key=str
            )
    else:
        body = response.json()
    return {"status": response.status_code, "headers": headers, "body": body}


def side_by_side(responses: dict[str, httpx2.Response], width: int = 44) -> str:
    """The request, then the three responses in columns: status, contract headers, body."""
    request = next(iter(responses.values())).request
    columns = []
    for name, response in responses.items():
        lines = [f"{name}: {response.status_code}"]
        lines += [f"{h}: {response.headers[h]}" for h in CONTRACT_HEADERS if h in response.headers]
        lines.append(response.text or "(no body)")
        columns.append([part for line in lines for part in textwrap.wrap(line, width)])
    rows = [
        " | ".join(cell.ljust(width) for cell in row)
        for row in itertools.zip_longest(*columns, fillvalue="")
    ]
    sent = f"{request.method} {request.url.raw_path.decode()} {request.content[:300]!r}"
    return "\n".join([sent, *rows])


class ThreeApps(RuleBasedStateMachine):
    """Sends each request to the three apps and asserts that they answer alike."""

    books: Bundle[int] = Bundle("books")

    def __init__(
        self,
        clients: dict[str, httpx2.Client],
        databases: "TestDatabases",
        catalog: CatalogStub,
    ) -> None:
        super().__init__()
        self.clients = clients
        self.catalog = catalog
        self.django_database = rolled_back_django_database()
        self.django_database.__enter__()
        databases.seeded("flask")
        databases.seeded("fastapi")

    def teardown(self) -> None:
        """Roll Django's database back to the seed (the others are reset when the next begins)."""
        self.django_database.__exit__(None, None, None)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        """Send one request to all three; assert the answers agree; return Django's."""
        if "json" in kwargs:  # encoded here, as ASCII, so that lone surrogates can be sent
            content = json.dumps(kwargs.pop("json")).encode()
            kwargs.update(content=content, headers={**kwargs.get("headers", {}), **JSON})
        responses = {
            name: client.request(method, path, **kwargs) for name, client in self.clients.items()
        }
        summaries = {name: summary(response) for name, response in responses.items()}
        assert summaries["django"] == summaries["flask"] == summaries["fastapi"], (
            "the three apps answered differently:\n" + side_by_side(responses)
        )
        return responses["django"]

    def tag(self, book_id: int, kind: str) -> tuple[str, bool]:
        """A value for If-Match or If-None-Match that names the book's tag as `kind` says, and
        whether the book exists."""
        read = self.send("GET", f"/books/{book_id}")
        current = read.headers.get("etag", etag(1))
        version = int(current.strip('"'))
        value = {
            "current": current,
            "stale": etag(version - 1) if version > 1 else etag(version + 1),
            "*": "*",
            "weak current": f"W/{current}",
            "malformed": str(version),
        }[kind]
        return value, read.status_code == 200

    @initialize(target=books)
    def seed(self) -> MultipleResults[int]:
        """The seed's ids are there from the start."""
        return multiple(1, 2)

    @rule(target=books, body=BOOK_BODY, token=MOSTLY_VALID_TOKEN)
    def create(self, body: dict[str, Any], token: str) -> int | MultipleResults[int]:
        """POST /books."""
        response = self.send("POST", "/books", json=body, headers=TOKENS[token])
        return response.json()["id"] if response.status_code == 201 else multiple()

    @rule(target=books, title=st.sampled_from(NAMES), author=st.sampled_from(NAMES))
    def create_valid(self, title: str, author: str) -> int | MultipleResults[int]:
        """POST /books with a valid book, so that the lists grow past a page."""
        response = self.send(
            "POST", "/books", json={"title": title, "author": author}, headers=AUTH
        )
        return response.json()["id"] if response.status_code == 201 else multiple()

    @rule(book_id=books)
    def read(self, book_id: int) -> None:
        """GET /books/{id}."""
        self.send("GET", f"/books/{book_id}")

    @rule(
        limit=st.none() | QUERY_NUMBER, offset=st.none() | QUERY_NUMBER, search=st.none() | SEARCH
    )
    def list(self, limit: str | None, offset: str | None, search: str | None) -> None:
        """GET /books with any of limit, offset and search."""
        params = {"limit": limit, "offset": offset, "search": search}
        self.send("GET", "/books", params={k: v for k, v in params.items() if v is not None})

    @rule(book_id=books, body=BOOK_BODY, token=MOSTLY_VALID_TOKEN)
    def replace(self, book_id: int, body: dict[str, Any], token: str) -> None:
        """PUT /books/{id}."""
        self.send("PUT", f"/books/{book_id}", json=body, headers=TOKENS[token])

    @rule(book_id=books, body=PATCH_BODY, token=MOSTLY_VALID_TOKEN)
    def patch(self, book_id: int, body: dict[str, Any], token: str) -> None:
        """PATCH /books/{id}."""
        self.send("PATCH", f"/books/{book_id}", json=body, headers=TOKENS[token])

    @rule(book_id=consumes(books), token=MOSTLY_VALID_TOKEN)
    def delete(self, book_id: int, token: str) -> None:
        """DELETE /books/{id}; the id is used no more, except by the rules below."""
        self.send("DELETE", f"/books/{book_id}", headers=TOKENS[token])

    @rule(book_id=books, method=st.sampled_from(["GET", "HEAD"]), kind=TAG_KINDS)
    def conditional_read(self, book_id: int, method: str, kind: str) -> None:
        """GET or HEAD /books/{id} with If-None-Match: 304 if it names the book (weakly)."""
        value, exists = self.tag(book_id, kind)
        response = self.send(method, f"/books/{book_id}", headers={"If-None-Match": value})
        expected = (304 if kind in WEAK_MATCHES else 200) if exists else 404
        assert response.status_code == expected, f"If-None-Match: {value}: {describe(response)}"

    @rule(
        book_id=books,
        method=st.sampled_from(["PUT", "PATCH", "DELETE"]),
        put=CONDITIONAL_PUT,
        patch=CONDITIONAL_PATCH,
        kind=TAG_KINDS,
        token=MOSTLY_VALID_TOKEN,
    )
    def conditional_write(
        self,
        book_id: int,
        method: str,
        put: dict[str, object],
        patch: dict[str, object],
        kind: str,
        token: str,
    ) -> None:
        """PUT, PATCH or DELETE /books/{id} with If-Match: 412 if it does not name the book
        (strongly), unless 401, 422 or 404 come first."""
        value, exists = self.tag(book_id, kind)
        headers = {**TOKENS[token], "If-Match": value}
        body = {"PUT": {"json": put}, "PATCH": {"json": patch}, "DELETE": {}}[method]
        response = self.send(method, f"/books/{book_id}", headers=headers, **body)
        if response.status_code not in {401, 422, 404}:
            precondition_fails = exists and kind not in STRONG_MATCHES
            assert (response.status_code == 412) == precondition_fails, (
                f"If-Match: {value}: {describe(response)}"
            )

    @rule(
        method=st.sampled_from(["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "POST"]),
        book_id=st.sampled_from(BAD_IDS) | st.integers(1, MAX_ID).map(str),
        token=ANY_TOKEN,
    )
    def bad_id(self, method: str, book_id: str, token: str) -> None:
        """Any method on /books/{id} with a non-canonical, out-of-range or unknown id."""
        self.send(
            method, f"/books/{book_id}", json={"title": "T", "author": "A"}, headers=TOKENS[token]
        )

    @rule(
        target=books,
        path=st.sampled_from(["/books", "/books/1", "/books/2"]),
        method=st.sampled_from(["POST", "PUT", "PATCH"]),
        body=ODD_BODY,
        token=MOSTLY_VALID_TOKEN,
    )
    def odd_body(
        self, path: str, method: str, body: object, token: str
    ) -> int | MultipleResults[int]:
        """A write whose JSON body is not a book: not an object, unknown or missing keys."""
        response = self.send(method, path, json=body, headers=TOKENS[token])
        return response.json()["id"] if response.status_code == 201 else multiple()

    @rule(
        path=st.sampled_from(["/books", "/books/1"]),
        method=st.sampled_from(["POST", "PUT", "PATCH"]),
        content=st.sampled_from(RAW_BODIES),
        content_type=st.sampled_from(CONTENT_TYPES),
        token=MOSTLY_VALID_TOKEN,
    )
    def raw_body(
        self, path: str, method: str, content: bytes, content_type: str | None, token: str
    ) -> None:
        """A write whose body is not parseable JSON, or whose Content-Type is not JSON."""
        headers = dict(TOKENS[token])
        if content_type is not None:
            headers["Content-Type"] = content_type
        self.send(method, path, content=content, headers=headers)

    @rule(
        book_id=books | st.sampled_from(BAD_IDS),
        method=st.sampled_from(["GET", "GET", "HEAD", "OPTIONS", "POST"]),
        answer=st.sampled_from(sorted(CATALOG_ANSWERS)),
    )
    def catalog_read(self, book_id: int | str, method: str, answer: str) -> None:
        """GET, HEAD, OPTIONS or POST /books/{id}/catalog, the stub answering as `answer` says."""
        self.catalog.configure(**CATALOG_ANSWERS[answer])
        self.send(method, f"/books/{book_id}/catalog")

    @rule(path=st.sampled_from(["/books", "/health"]), method=st.sampled_from(["HEAD", "OPTIONS"]))
    def head_or_options(self, path: str, method: str) -> None:
        """HEAD and OPTIONS on the collection and on /health."""
        self.send(method, path)

    @invariant()
    def same_list(self) -> None:
        """After every step, the three hold the same books."""
        self.send("GET", "/books")


@pytest.mark.django_db
def test_the_three_apps_answer_alike(
    django_client: httpx2.Client,
    flask_client: httpx2.Client,
    fastapi_client: httpx2.Client,
    test_databases: "TestDatabases",
    catalog: CatalogStub,
) -> None:
    """Every step of every generated sequence gets the same answer from all three apps."""
    # Each response must also be one the canonical document describes.
    clients = {
        "django": check_against_openapi(django_client, "django"),
        "flask": check_against_openapi(flask_client, "flask"),
        "fastapi": check_against_openapi(fastapi_client, "fastapi"),
    }
    run_state_machine_as_test(
        # Hypothesis documents any factory returning a machine; its annotation says a class.
        lambda: ThreeApps(clients, test_databases, catalog),  # type: ignore[arg-type]
        settings=settings(
            max_examples=FUZZ_EXAMPLES or 20,
            stateful_step_count=50 if FUZZ_EXAMPLES else 20,
            derandomize=not FUZZ_EXAMPLES,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

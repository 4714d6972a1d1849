"""The check of every response against the canonical OpenAPI document finds what it should."""

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import jsonschema_rs
import pytest

from tests.openapi_validation import DOCUMENT, UndescribedResponse, check_response

BOOK = {"id": 1, "title": "Dune", "author": "Frank Herbert"}
PROBLEM = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No such book."}
JSON = {"Content-Type": "application/json"}
PROBLEM_JSON = {"Content-Type": "application/problem+json"}
ETAG = {"ETag": '"1"'}
STALE = {**PROBLEM, "title": "Precondition Failed", "status": 412}
RECORD = {"key": "/works/OL893415W", "first_publish_year": 1965, "isbns": ["9780441013593"]}
BAD_GATEWAY = {**PROBLEM, "title": "Bad Gateway", "status": 502}


def answer(method: str, path: str, status: int, headers: dict[str, str], body: Any = None) -> None:
    """Run the check on a response built here, as if the server had sent it."""
    content = b"" if body is None else json.dumps(body).encode()
    request = httpx2.Request(method, f"http://localhost{path}")
    check_response("test")(
        httpx2.Response(status, headers=headers, content=content, request=request)
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "headers", "body"),
    [
        ("GET", "/books/1", 200, {**JSON, **ETAG}, BOOK),
        ("GET", "/books/1", 304, ETAG, None),
        ("HEAD", "/books/1", 304, ETAG, None),
        ("HEAD", "/books/1", 200, {**JSON, "ETag": '"12"'}, None),
        ("PUT", "/books/1", 412, PROBLEM_JSON, STALE),
        ("DELETE", "/books/1", 412, PROBLEM_JSON, STALE),
        ("GET", "/books", 200, {**JSON, "X-Total-Count": "1"}, [BOOK]),
        ("HEAD", "/books", 200, {**JSON, "X-Total-Count": "1"}, None),
        ("GET", "/books/01", 404, PROBLEM_JSON, PROBLEM),
        ("GET", "/nowhere", 404, PROBLEM_JSON, PROBLEM),
        ("OPTIONS", "/health", 204, {"Allow": "GET, HEAD, OPTIONS"}, None),
        ("GET", "/books/1/catalog", 200, JSON, RECORD),
        ("GET", "/books/1/catalog", 200, JSON, {**RECORD, "first_publish_year": None}),
        ("HEAD", "/books/1/catalog", 200, JSON, None),
        ("GET", "/books/1/catalog", 502, PROBLEM_JSON, BAD_GATEWAY),
        ("HEAD", "/books/1/catalog", 504, PROBLEM_JSON, None),
        ("OPTIONS", "/books/1/catalog", 204, {"Allow": "GET, HEAD, OPTIONS"}, None),
        (
            "DELETE",
            "/books",
            405,
            {**PROBLEM_JSON, "Allow": "GET, POST, HEAD, OPTIONS"},
            {**PROBLEM, "title": "Method Not Allowed", "status": 405},
        ),
    ],
)
def test_described_responses_pass(
    method: str, path: str, status: int, headers: dict[str, str], body: Any
) -> None:
    """Responses the document describes, including no-route 404s and 405s, pass."""
    answer(method, path, status, headers, body)


@pytest.mark.parametrize(
    ("method", "path", "status", "headers", "body", "message"),
    [
        ("GET", "/books/1", 201, JSON, BOOK, "status 201 is not documented"),
        ("GET", "/books/1", 200, JSON, BOOK, "required header etag"),
        ("GET", "/books/1", 200, {**JSON, "ETag": 'W/"1"'}, BOOK, "header etag"),
        ("GET", "/books/1", 200, {**JSON, "ETag": "1"}, BOOK, "header etag"),
        ("GET", "/books/1", 304, {**JSON, **ETAG}, None, "no body is documented"),
        ("GET", "/books/1", 304, {}, None, "required header etag"),
        ("GET", "/books", 200, {**JSON, **ETAG, "X-Total-Count": "1"}, [BOOK], "ETag"),
        ("DELETE", "/books/1", 204, ETAG, None, "ETag is not documented"),
        ("PATCH", "/books/1", 412, {**PROBLEM_JSON, **ETAG}, STALE, "ETag is not documented"),
        ("POST", "/books", 304, ETAG, None, "status 304 is not documented"),
        ("GET", "/books/1", 200, {"Content-Type": "text/html"}, BOOK, "Content-Type"),
        ("GET", "/books/1", 200, JSON, {**BOOK, "isbn": "x"}, "body $"),
        ("GET", "/books/1", 200, {**JSON, "X-Total-Count": "1"}, BOOK, "X-Total-Count"),
        ("GET", "/books", 200, JSON, [BOOK], "required header x-total-count"),
        ("GET", "/books/0", 200, JSON, BOOK, "no route"),
        ("DELETE", "/books/1", 204, JSON, None, "no body is documented"),
        ("OPTIONS", "/books", 204, {"Allow": "GET, HEAD, OPTIONS"}, None, "Allow lists"),
        ("DELETE", "/health", 405, PROBLEM_JSON, PROBLEM, "required header allow"),
        ("GET", "/books/1/catalog", 200, {**JSON, **ETAG}, RECORD, "ETag is not documented"),
        ("GET", "/books/1/catalog", 200, JSON, {**RECORD, "isbns": ["1"] * 6}, "body $"),
        ("GET", "/books/1/catalog", 200, JSON, {**RECORD, "title": "Dune"}, "body $"),
        ("GET", "/books/1/catalog", 200, JSON, {**RECORD, "first_publish_year": "1965"}, "body"),
        ("GET", "/books/1/catalog", 500, PROBLEM_JSON, PROBLEM, "status 500 is not documented"),
        ("GET", "/books/1/catalog/", 200, JSON, RECORD, "no route"),
        ("OPTIONS", "/books/1/catalog", 204, {"Allow": "GET, OPTIONS"}, None, "Allow lists"),
    ],
)
def test_undescribed_responses_fail(
    method: str, path: str, status: int, headers: dict[str, str], body: Any, message: str
) -> None:
    """A response the document does not describe fails, and the message says what is wrong."""
    with pytest.raises(UndescribedResponse, match="test: ") as failure:
        answer(method, path, status, headers, body)
    assert message in str(failure.value)


def patterns(node: Any) -> Iterator[str]:
    """Every `pattern` in a part of the document."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns(value)


def test_canonical_patterns_compile_in_rust_regex_too() -> None:
    """Each pattern in the document compiles in jsonschema-rs (Rust's regex), not only in Python.

    schemathesis drops a pattern it cannot compile, and then generates text the pattern forbids.
    """
    found = list(patterns(DOCUMENT))
    assert found
    for pattern in found:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})

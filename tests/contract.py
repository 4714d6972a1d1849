"""The contract (shared_fixtures/CONTRACT.md) as data, and the checks the contract tests share."""

import json
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest

TOKEN = "test-token-3f9a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHARED = Path(__file__).resolve().parent.parent / "shared_fixtures"
SEED: list[dict[str, Any]] = json.loads((SHARED / "books.json").read_text())
MAX_ID = 2**63 - 1
MAX_BODY_BYTES = 64 * 1024

# The problem `title` of each status: the RFC 9110 reason phrases, as every package reads them.
REASON_PHRASES = {
    int(status): problem["title"]
    for status, problem in json.loads((SHARED / "problems.json").read_text()).items()
}
# The `detail` sentences CONTRACT.md fixes, from its table rows "| 404 | case | `text` |".
DETAILS: dict[int, set[str]] = {}
for status, text in re.findall(
    r"^\| (\d{3}) \| [^|\n]+ \| `([^`]+)` \|$", (SHARED / "CONTRACT.md").read_text(), re.MULTILINE
):
    DETAILS.setdefault(int(status), set()).add(text)
# What nginx answers a request that is not HTTP, as it sees it (make stack-*; CONTRACT.md,
# "Behind nginx").
NOT_HTTP = "The request is not valid HTTP."
NO_ROUTE = "There is nothing at this path."
NO_BOOK = "There is no book with this id."
INVALID_INPUT = {"body": "The body is invalid.", "query": "The query parameters are invalid."}
DATABASE_UNAVAILABLE = "The database is unavailable; try again later."
KEPT_CHANGING = "The book kept changing while this request tried to write it; try again."
# Calling the catalog: the three answers that are the upstream's.
CATALOG_NO_RECORD = "The catalog has no record of this book."
CATALOG_UNREADABLE = "The catalog could not be read."
CATALOG_TOO_SLOW = "The catalog did not answer in time."
# The request upstream: its path, and the query besides the book's title and author.
CATALOG_SEARCH_PATH = "/search.json"
CATALOG_QUERY = {"limit": "1", "fields": "key,first_publish_year,isbn"}
MAX_ISBNS = 5
# The suite gives every app this CATALOG_TIMEOUT (the default, 2, is each package's own test's):
# short, so that the tests of the timeout are quick.
CATALOG_TIMEOUT = 1.0
PACKAGES = {"django": "django_books", "flask": "flask_books", "fastapi": "fastapi_books"}


def catalog_user_agent(framework: str) -> str:
    """The User-Agent a framework's package sends to the catalog."""
    return f"books-three-ways/1.2 ({PACKAGES[framework]})"


# The writes that take a JSON body, each on a path where it is allowed.
BODY_WRITES = [("POST", "/books"), ("PUT", "/books/1"), ("PATCH", "/books/1")]

ALLOWED_METHODS = {
    "/books": {"GET", "HEAD", "OPTIONS", "POST"},
    "/books/1": {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "PUT"},
    "/books/1/catalog": {"GET", "HEAD", "OPTIONS"},
    "/books/changes": {"GET", "HEAD", "OPTIONS"},
    "/health": {"GET", "HEAD", "OPTIONS"},
    "/openapi.json": {"GET", "HEAD", "OPTIONS"},
    "/docs": {"GET", "HEAD", "OPTIONS"},
}


def describe(response: httpx2.Response) -> str:
    """One line naming the request and what came back, for failure messages."""
    request = response.request
    target = request.url.raw_path.decode()
    return f"{request.method} {target} -> {response.status_code} {response.text[:300]!r}"


def assert_problem(
    response: httpx2.Response, status: int, detail: str | None = None
) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status and one of its details; return its body."""
    assert response.status_code == status, describe(response)
    assert response.headers["content-type"] == "application/problem+json", describe(response)
    problem: dict[str, Any] = response.json()
    expected_keys = {"type", "title", "status", "detail"} | ({"errors"} if status == 422 else set())
    assert set(problem) == expected_keys, describe(response)
    assert problem["type"] == "about:blank"
    assert problem["title"] == REASON_PHRASES[status]
    assert problem["status"] == status
    assert problem["detail"] in ({detail} if detail else DETAILS[status]), describe(response)
    return problem


def etag(version: int) -> str:
    """The ETag of a book at this version: the decimal version in double quotes."""
    return f'"{version}"'


def assert_book(
    response: httpx2.Response, status: int, book: dict[str, Any], version: int, framework: str
) -> None:
    """Assert a response that carries one book: status, body (unless HEAD) and its ETag."""
    what = f"{framework}: {describe(response)}"
    assert response.status_code == status, what
    if response.request.method != "HEAD":
        assert response.headers["content-type"] == "application/json", what
        assert response.json() == book, what
    assert response.headers.get("etag") == etag(version), f"ETag {etag(version)} expected; {what}"


def assert_not_modified(response: httpx2.Response, version: int, framework: str) -> None:
    """Assert a 304: the ETag of this version, no body, no Content-Type."""
    what = f"{framework}: {describe(response)}"
    assert response.status_code == 304, what
    assert response.headers.get("etag") == etag(version), f"ETag {etag(version)} expected; {what}"
    assert response.content == b"", what
    assert "content-type" not in response.headers, what


def assert_invalid(response: httpx2.Response, *errors: tuple[str, str | None]) -> None:
    """Assert a 422 whose errors name exactly these (location, field) pairs, one entry each."""
    problem = assert_problem(response, 422, INVALID_INPUT[errors[0][0]])
    for error in problem["errors"]:
        assert set(error) == {"location", "field", "message"}, describe(response)
        assert isinstance(error["message"], str), describe(response)
        assert error["message"], describe(response)
    found = sorted(((e["location"], e["field"]) for e in problem["errors"]), key=str)
    assert found == sorted(errors, key=str), describe(response)


def assert_allow(response: httpx2.Response, path: str) -> None:
    """Assert Allow lists the contract's methods for this path, each once, joined by ", "."""
    allowed = sorted(response.headers["allow"].split(", "))
    assert allowed == sorted(ALLOWED_METHODS[path]), describe(response)


def assert_seed_unchanged(client: httpx2.Client) -> None:
    """Assert the database still holds exactly the seed: a refused request changed nothing."""
    assert client.get("/books").json() == SEED


def padded_body(size: int) -> bytes:
    """A valid book as JSON, padded with spaces to exactly `size` bytes."""
    body = json.dumps({"title": "Padded", "author": "Body"}).encode()
    return body + b" " * (size - len(body))


def skip_for_wsgi_transport(client: httpx2.Client, limitation: str) -> None:
    """Skip a test whose request the in-process WSGI transport (Django, Flask) cannot send.

    httpx2's WSGITransport has this limitation; FastAPI's TestClient and live servers do not.
    The WSGI apps' own tests in tests/frameworks/ send the same request by calling the app with
    a hand-built environ.
    """
    if isinstance(client._transport, httpx2.WSGITransport):
        pytest.skip(f"httpx2's WSGITransport {limitation}, so it cannot send this request")


def raw_path(client: httpx2.Client, path: str) -> httpx2.URL:
    """The client's base URL with exactly this path (httpx2 would read "//x" as a host name)."""
    return client.base_url.copy_with(raw_path=path.encode())

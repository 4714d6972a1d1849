"""Errors are RFC 9457 problems, routing is exact, and the precedence order holds."""

import httpx2
import pytest

from tests.contract import (
    ALLOWED_METHODS,
    AUTH,
    CATALOG_NO_RECORD,
    CATALOG_TOO_SLOW,
    CATALOG_UNREADABLE,
    DATABASE_UNAVAILABLE,
    DETAILS,
    INVALID_INPUT,
    KEPT_CHANGING,
    MAX_BODY_BYTES,
    NO_BOOK,
    NO_ROUTE,
    REASON_PHRASES,
    assert_allow,
    assert_problem,
    assert_seed_unchanged,
    describe,
    padded_body,
    raw_path,
)
from tests.openapi_validation import unchecked


def test_the_contract_fixes_a_detail_for_every_problem_status() -> None:
    """CONTRACT.md's detail table, as the suite reads it, covers every status the suite checks."""
    assert set(DETAILS) == set(REASON_PHRASES) - {403}
    assert {NO_ROUTE, NO_BOOK, CATALOG_NO_RECORD} == DETAILS[404]
    assert {CATALOG_UNREADABLE} == DETAILS[502]
    assert {CATALOG_TOO_SLOW} == DETAILS[504]
    assert set(INVALID_INPUT.values()) == DETAILS[422]
    assert {DATABASE_UNAVAILABLE, KEPT_CHANGING} == DETAILS[503]


UNKNOWN_PATHS = [
    "/",
    "/book",
    "/books/",
    "/books/1/",
    "/health/",
    "/books/1/reviews",
    "/books/1/catalog/",
    "/books//1/catalog",
    "/BOOKS",
    "//books",
    "/books//1",
    "//health",
    "/docs/",
    "/openapi.json/",
    "/redoc",
    "/docs/oauth2-redirect",
]
NOT_ALLOWED = [
    ("DELETE", "/books"),
    ("PUT", "/books"),
    ("PATCH", "/books"),
    ("POST", "/books/1"),
    ("PUT", "/books/1/catalog"),
    ("POST", "/books/changes"),
    ("DELETE", "/books/changes"),
    ("POST", "/health"),
    ("DELETE", "/health"),
    ("POST", "/docs"),
    ("DELETE", "/openapi.json"),
    ("TRACE", "/books"),
]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_path_is_404_problem_without_redirect(
    client: httpx2.Client, auth: dict[str, str], path: str, method: str
) -> None:
    """Unknown paths, trailing or doubled slashes: 404 problem for every method, no redirect."""
    assert_problem(client.request(method, raw_path(client, path), headers=auth), 404, NO_ROUTE)


@pytest.mark.parametrize(("method", "path"), NOT_ALLOWED)
def test_method_not_allowed_is_405_with_allow(
    client: httpx2.Client, method: str, path: str
) -> None:
    """A method the path does not support: 405 problem whose Allow lists the path's methods."""
    response = client.request(method, path)
    assert_problem(response, 405)
    assert_allow(response, path)


@pytest.mark.parametrize("path", ALLOWED_METHODS)
def test_options_is_204_with_allow_and_no_body(client: httpx2.Client, path: str) -> None:
    """OPTIONS: 204, the Allow header, an empty body."""
    response = client.options(path)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert_allow(response, path)


def test_options_does_not_look_the_book_up(client: httpx2.Client, auth: dict[str, str]) -> None:
    """OPTIONS /books/{id}: 204 with Allow for a deleted book and for one never created."""
    assert client.delete("/books/1", headers=auth).status_code == 204
    for path in ("/books/1", "/books/999"):
        response = client.options(path)
        assert response.status_code == 204, describe(response)
        assert_allow(response, "/books/1")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/books", 200),
        ("GET", "/books/1", 200),
        ("GET", "/health", 200),
        ("GET", "/books/999", 404),
        ("GET", "/books?limit=0", 422),
        ("POST", "/books", 401),
        ("DELETE", "/books/1", 401),
    ],
)
def test_allow_is_only_on_options_and_405(
    client: httpx2.Client, method: str, path: str, status: int
) -> None:
    """Allow is sent with OPTIONS and 405 responses only: not with 200, 404, 422 or 401."""
    response = client.request(method, path)
    assert response.status_code == status, describe(response)
    assert "allow" not in response.headers, describe(response)


TOO_LARGE = padded_body(MAX_BODY_BYTES + 1)
PRECEDENCE = [
    # (what wins over what, method, path, headers, body, expected status)
    ("404-path over 405", "DELETE", "/books/", {}, None, 404),
    ("404-path over 401", "PUT", "/books/01", {}, b"{}", 404),
    ("404-path over 401 (id over 2**63-1)", "PUT", f"/books/{2**63}", {}, b"{}", 404),
    ("405 over 401", "POST", "/books/1", {}, b"{}", 405),
    ("405 over 413", "PUT", "/books", {"auth": True}, TOO_LARGE, 405),
    ("401 over 413", "POST", "/books", {}, TOO_LARGE, 401),
    ("401 over 415", "POST", "/books", {"type": "text/plain"}, b"{}", 401),
    ("401 over 400", "POST", "/books", {}, b"{", 401),
    ("401 over 422", "POST", "/books", {}, b"{}", 401),
    ("401 over 404-book", "DELETE", "/books/999", {}, None, 401),
    ("413 over 415", "POST", "/books", {"auth": True, "type": "text/plain"}, TOO_LARGE, 413),
    ("415 over 400", "POST", "/books", {"auth": True, "type": "text/plain"}, b"{", 415),
    ("400 over 404-book", "PUT", "/books/999", {"auth": True}, b"{", 400),
    ("422 over 404-book", "PUT", "/books/999", {"auth": True}, b'{"title": 1}', 422),
    (
        "422 over 409",
        "PUT",
        "/books/2",
        {"auth": True},
        b'{"title": "Dune", "author": "Frank Herbert", "id": 1}',
        422,
    ),
    (
        "404-book over 409",
        "PUT",
        "/books/999",
        {"auth": True},
        b'{"title": "Dune", "author": "Frank Herbert"}',
        404,
    ),
    ("401 over 412", "DELETE", "/books/1", {"If-Match": '"9"'}, None, 401),
    ("422 over 412", "PATCH", "/books/1", {"auth": True, "If-Match": '"9"'}, b'{"title": 1}', 422),
    ("404-book over 412", "PATCH", "/books/999", {"auth": True, "If-Match": '"9"'}, b"{}", 404),
    (
        "404-book over 412 (If-Match: *)",
        "DELETE",
        "/books/999",
        {"auth": True, "If-Match": "*"},
        None,
        404,
    ),
    (
        "412 over 409",
        "PUT",
        "/books/2",
        {"auth": True, "If-Match": '"9"'},
        b'{"title": "Dune", "author": "Frank Herbert"}',
        412,
    ),
    ("404-book over 304", "GET", "/books/999", {"If-None-Match": "*"}, None, 404),
]


@pytest.mark.parametrize(
    ("method", "path", "options", "body", "status"),
    [case[1:] for case in PRECEDENCE],
    ids=[case[0] for case in PRECEDENCE],
)
def test_precedence_first_applicable_status_wins(
    client: httpx2.Client,
    method: str,
    path: str,
    options: dict[str, object],
    body: bytes | None,
    status: int,
    behind_nginx: bool,
) -> None:
    """404 (path) -> 405 -> 401 -> 413 -> 415 -> 400 -> 422 -> 404 (book) -> 412 -> 409;
    on reads, 404 (book) -> 304. nginx in front refuses a body over 64 KiB before any instance
    sees its path, method or token."""
    headers = {"Content-Type": str(options.get("type", "application/json"))}
    if options.get("auth"):
        headers.update(AUTH)
    headers.update({name: str(value) for name, value in options.items() if name.startswith("If-")})
    if behind_nginx and body is not None and len(body) > MAX_BODY_BYTES:
        # Not an answer the document gives to a method the path does not take: nginx's.
        with unchecked(client):
            assert_problem(client.request(method, path, content=body, headers=headers), 413)
    else:
        assert_problem(client.request(method, path, content=body, headers=headers), status)
    assert_seed_unchanged(client)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/health"), ("GET", "/books"), ("GET", "/books/1")]
)
def test_unavailable_database_is_503(
    unavailable_client: httpx2.Client, method: str, path: str
) -> None:
    """When the database does not answer: 503 problem, not 500."""
    assert_problem(unavailable_client.request(method, path), 503, DATABASE_UNAVAILABLE)


def test_unavailable_database_is_503_for_writes(
    unavailable_client: httpx2.Client, auth: dict[str, str]
) -> None:
    """A valid write with the right token while the database does not answer: 503 problem."""
    response = unavailable_client.post("/books", json={"title": "T", "author": "A"}, headers=auth)
    assert_problem(response, 503, DATABASE_UNAVAILABLE)

"""Reading books: GET and HEAD on /books and /books/{id}, and what an id in a path may look like."""

import httpx2
import pytest

from tests.contract import MAX_ID, NO_BOOK, NO_ROUTE, SEED, assert_problem, describe

NOT_ROUTES = ["0", "-1", "+1", "01", "1.0", "1e3", "abc", "%201", str(MAX_ID + 1), "9" * 20]


def test_list_returns_exactly_the_seed(client: httpx2.Client) -> None:
    """GET /books: 200, a JSON array of the seed books ordered by id."""
    response = client.get("/books")
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == SEED
    assert response.headers["x-total-count"] == "2"
    assert "link" not in response.headers


def test_list_is_ordered_by_id_ascending(client: httpx2.Client, auth: dict[str, str]) -> None:
    """GET /books orders by id, not by title or insertion order of values."""
    for title in ["Zz", "Aa", "Mm"]:
        client.post("/books", json={"title": title, "author": "Order"}, headers=auth)
    ids = [book["id"] for book in client.get("/books").json()]
    assert ids == sorted(ids) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("book", SEED, ids=lambda book: book["title"])
def test_retrieve_returns_the_book(client: httpx2.Client, book: dict[str, object]) -> None:
    """GET /books/{id}: 200 and the book, with exactly id, title and author."""
    response = client.get(f"/books/{book['id']}")
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == book


@pytest.mark.parametrize("book_id", ["3", "999", str(MAX_ID)])
def test_retrieve_unknown_book_is_404(client: httpx2.Client, book_id: str) -> None:
    """GET /books/{id} for a well-formed id (up to 2**63-1) that names no book: 404 problem."""
    assert_problem(client.get(f"/books/{book_id}"), 404, NO_BOOK)


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "PATCH", "DELETE", "POST", "OPTIONS"])
@pytest.mark.parametrize("book_id", NOT_ROUTES)
def test_non_canonical_id_is_not_a_route(
    client: httpx2.Client, auth: dict[str, str], book_id: str, method: str
) -> None:
    """An id that is not canonical or above 2**63-1 is not a route: 404 for every method."""
    response = client.request(
        method, f"/books/{book_id}", json={"title": "T", "author": "A"}, headers=auth
    )
    assert response.status_code == 404, describe(response)
    if method != "HEAD":
        assert_problem(response, 404, NO_ROUTE)


@pytest.mark.parametrize(
    "path", ["/books", "/books/1", "/books?limit=1&offset=1", "/health", "/openapi.json", "/docs"]
)
def test_head_is_get_without_a_body(client: httpx2.Client, path: str) -> None:
    """HEAD on a GET route: the same status and headers as GET, no body."""
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for header in ["content-type", "x-total-count", "link"]:
        assert head.headers.get(header) == get.headers.get(header), header


def test_head_of_unknown_book_is_404_without_a_body(client: httpx2.Client) -> None:
    """HEAD /books/{id} for a missing book: 404 with the problem's Content-Type, no body."""
    response = client.head("/books/999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.content == b""


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/plain;q=1, */*;q=0"])
def test_accept_header_never_changes_the_response(client: httpx2.Client, accept: str) -> None:
    """The Accept header is ignored: still 200 JSON, never 406 or HTML."""
    response = client.get("/books", headers={"Accept": accept})
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == SEED
    assert_problem(client.get("/books/999", headers={"Accept": accept}), 404, NO_BOOK)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "application/x-www-form-urlencoded"]
)
def test_reads_and_deletes_ignore_any_body(
    client: httpx2.Client, auth: dict[str, str], content_type: str
) -> None:
    """GET, HEAD, OPTIONS and DELETE ignore a request body, whatever its Content-Type."""
    body = b"{not json at all"
    headers = {**auth, "Content-Type": content_type}
    assert client.request("GET", "/books/1", content=body, headers=headers).json() == SEED[0]
    assert client.request("HEAD", "/books", content=body, headers=headers).status_code == 200
    assert client.request("OPTIONS", "/books", content=body, headers=headers).status_code == 204
    assert client.request("DELETE", "/books/1", content=body, headers=headers).status_code == 204


def test_health_is_ok(client: httpx2.Client) -> None:
    """GET /health: 200 {"status": "ok"}."""
    response = client.get("/health")
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}

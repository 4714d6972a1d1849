"""Listing: limit, offset, search, X-Total-Count and Link (CONTRACT.md, Listing)."""

import httpx2
import pytest

from tests.contract import MAX_ID, SEED, assert_invalid, describe

TITLES = [f"Book {n:02}" for n in range(3, 8)]  # with the seed: ids 1..7, seven books


@pytest.fixture
def seven_books(client: httpx2.Client, auth: dict[str, str]) -> httpx2.Client:
    """The seed plus five more books (ids 3..7), all by one author."""
    for title in TITLES:
        response = client.post(
            "/books", json={"title": title, "author": "Paging Author"}, headers=auth
        )
        assert response.status_code == 201, describe(response)
    return client


def listed(client: httpx2.Client, **params: str | int) -> tuple[list[int], str, str | None]:
    """GET /books with these query parameters: the ids, X-Total-Count and Link."""
    response = client.get("/books", params=params)
    assert response.status_code == 200, describe(response)
    return (
        [book["id"] for book in response.json()],
        response.headers["x-total-count"],
        response.headers.get("link"),
    )


def test_first_page_links_to_next_only(seven_books: httpx2.Client) -> None:
    """limit=2: the first two books, the total before paging, and only a next link."""
    assert listed(seven_books, limit=2) == (
        [1, 2],
        "7",
        '</books?limit=2&offset=2>; rel="next"',
    )


def test_middle_page_links_to_next_and_prev(seven_books: httpx2.Client) -> None:
    """A middle page links next first, then prev."""
    assert listed(seven_books, limit=2, offset=2) == (
        [3, 4],
        "7",
        '</books?limit=2&offset=4>; rel="next", </books?limit=2&offset=0>; rel="prev"',
    )


def test_last_page_links_to_prev_only(seven_books: httpx2.Client) -> None:
    """The last page has no next link; prev steps back by limit."""
    assert listed(seven_books, limit=2, offset=6) == (
        [7],
        "7",
        '</books?limit=2&offset=4>; rel="prev"',
    )


def test_prev_offset_never_goes_below_zero(seven_books: httpx2.Client) -> None:
    """prev is max(offset - limit, 0)."""
    assert listed(seven_books, limit=5, offset=1) == (
        [2, 3, 4, 5, 6],
        "7",
        '</books?limit=5&offset=6>; rel="next", </books?limit=5&offset=0>; rel="prev"',
    )


def test_page_that_reaches_the_end_exactly_has_no_next(seven_books: httpx2.Client) -> None:
    """offset + limit == total: no next link."""
    assert listed(seven_books, limit=7) == ([1, 2, 3, 4, 5, 6, 7], "7", None)


def test_offset_past_the_end_is_an_empty_page(seven_books: httpx2.Client) -> None:
    """An offset past the end: 200, [], the total, and a prev link."""
    assert listed(seven_books, limit=3, offset=50) == (
        [],
        "7",
        '</books?limit=3&offset=47>; rel="prev"',
    )


def test_default_limit_is_100(client: httpx2.Client, auth: dict[str, str]) -> None:
    """Without limit, at most 100 books; the next link carries limit=100."""
    for n in range(99):
        client.post("/books", json={"title": f"Bulk {n}", "author": "Bulk"}, headers=auth)
    ids, total, link = listed(client)
    assert (len(ids), total) == (100, "101")
    assert link == '</books?limit=100&offset=100>; rel="next"'


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (100, 0), (1, MAX_ID)])
def test_limit_and_offset_bounds_are_accepted(
    client: httpx2.Client, limit: int, offset: int
) -> None:
    """limit 1..100 and offset 0..2**63-1 are valid."""
    response = client.get("/books", params={"limit": limit, "offset": offset})
    assert response.status_code == 200, describe(response)


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "abc"},
        {"limit": "1.5"},
        {"limit": ""},
        {"limit": "9" * 30},
    ],
)
def test_invalid_limit_is_422(client: httpx2.Client, query: dict[str, str]) -> None:
    """limit outside 1..100 or not an integer: 422, one query error for limit."""
    assert_invalid(client.get("/books", params=query), ("query", "limit"))


@pytest.mark.parametrize("limit", ["+5", " 5", "5 ", "1_0", "0x5", "\u0665", "5e0"])
def test_limit_must_be_written_in_plain_ascii_digits(client: httpx2.Client, limit: str) -> None:
    """A sign, spaces, underscores, hex, exponents or non-ASCII digits make limit invalid: 422."""
    assert_invalid(client.get("/books", params={"limit": limit}), ("query", "limit"))


def test_leading_zeros_in_query_integers_are_read_as_decimal(seven_books: httpx2.Client) -> None:
    """limit=02&offset=04 is limit 2, offset 4; the links carry the canonical numbers."""
    response = seven_books.get("/books?limit=02&offset=04")
    assert [book["id"] for book in response.json()] == [5, 6]
    assert response.headers["link"] == (
        '</books?limit=2&offset=6>; rel="next", </books?limit=2&offset=2>; rel="prev"'
    )


@pytest.mark.parametrize("offset", ["-1", "abc", "0.5", "", str(MAX_ID + 1), "9" * 30])
def test_invalid_offset_is_422(client: httpx2.Client, offset: str) -> None:
    """offset below 0, above 2**63-1 or not an integer: 422, one query error for offset."""
    assert_invalid(client.get("/books", params={"offset": offset}), ("query", "offset"))


def test_each_invalid_query_parameter_is_reported(client: httpx2.Client) -> None:
    """Both limit and offset invalid: one error for each."""
    response = client.get("/books", params={"limit": "0", "offset": "-1"})
    assert_invalid(response, ("query", "limit"), ("query", "offset"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [("limit=1&limit=2", [1, 2]), ("limit=abc&limit=1", [1]), ("search=dune&search=gibson", [2])],
)
def test_repeated_query_parameter_counts_its_last_value(
    client: httpx2.Client, query: str, expected: list[int]
) -> None:
    """?limit=1&limit=2 is limit=2: the last value of a repeated parameter counts."""
    response = client.get(f"/books?{query}")
    assert response.status_code == 200, describe(response)
    assert [book["id"] for book in response.json()] == expected


def test_search_bytes_that_are_not_utf8_decode_to_the_replacement_character(
    client: httpx2.Client,
) -> None:
    """?search=%FF searches for U+FFFD, and the links carry it percent-encoded as UTF-8."""
    response = client.get("/books?search=%FF&limit=1&offset=1")
    assert response.status_code == 200, describe(response)
    assert response.json() == []
    assert response.headers["link"] == '</books?limit=1&offset=0&search=%EF%BF%BD>; rel="prev"'


def test_unknown_query_parameters_are_ignored(client: httpx2.Client) -> None:
    """Unknown query parameters change nothing."""
    response = client.get("/books", params={"sort": "title", "page": "x", "id": "2"})
    assert response.status_code == 200, describe(response)
    assert response.json() == SEED


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("dune", [1]),  # title, case-insensitive
        ("GIBSON", [2]),  # author, case-insensitive
        ("er", [1, 2]),  # Herbert, Neuromancer
        ("", [1, 2]),  # empty search matches everything
        ("nothing like it", []),
    ],
)
def test_search_is_case_insensitive_substring_of_title_or_author(
    client: httpx2.Client, search: str, expected: list[int]
) -> None:
    """search matches title OR author, ASCII case-insensitively; X-Total-Count counts matches."""
    assert listed(client, search=search)[:2] == (expected, str(len(expected)))


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", ["100% Pure"]),
        ("_", ["snake_case"]),
        ("\\", ["back\\slash"]),
        ("0%", ["100% Pure"]),
        ("e_c", ["snake_case"]),
        ("k\\s", ["back\\slash"]),
        ("%%", []),
        ("a_e", []),  # `_` is no wildcard: "snake_case" has no "a" + any char + "e" match
    ],
)
def test_search_wildcards_are_literal(
    client: httpx2.Client, auth: dict[str, str], search: str, expected: list[str]
) -> None:
    """%, _ and \\ in search are literal characters, not LIKE wildcards or escapes."""
    for title in ["100% Pure", "snake_case", "back\\slash", "plain"]:
        created = client.post("/books", json={"title": title, "author": "Literal"}, headers=auth)
        assert created.status_code == 201, describe(created)
    response = client.get("/books", params={"search": search})
    assert [book["title"] for book in response.json()] == expected, describe(response)


def test_search_matches_non_ascii_text_exactly(client: httpx2.Client, auth: dict[str, str]) -> None:
    """Non-ASCII text in search matches itself."""
    client.post(
        "/books", json={"title": "Émile ou De l'éducation", "author": "Rousseau"}, headers=auth
    )
    client.post(
        "/books", json={"title": "星の王子さま", "author": "サン＝テグジュペリ"}, headers=auth
    )
    assert listed(client, search="éducation")[:2] == ([3], "1")
    assert listed(client, search="王子")[:2] == ([4], "1")


@pytest.mark.parametrize("search", ["\x00", "Du\x00ne", "\x00%"])
def test_search_containing_nul_matches_nothing(client: httpx2.Client, search: str) -> None:
    """No stored text contains NUL, so a search containing it finds nothing (and is no error)."""
    assert listed(client, search=search)[:2] == ([], "0")


def test_search_folds_only_ascii_letters(client: httpx2.Client, auth: dict[str, str]) -> None:
    """Case-insensitive for A-Z only: "ÉMILE" finds "Émile", "émile" does not (é is not É)."""
    client.post("/books", json={"title": "Émile", "author": "Rousseau"}, headers=auth)
    assert listed(client, search="MILE")[0] == [3]
    assert listed(client, search="Émile")[0] == [3]
    assert listed(client, search="ÉMILE")[0] == [3]
    assert listed(client, search="émile")[0] == []


def test_a_search_as_long_as_the_request_line_allows_is_kept_in_links(
    client: httpx2.Client,
) -> None:
    """A search near the request line's 8,190 bytes: a Link longer than any usual response head
    (a proxy's first buffer is often 4 KiB), answered whole."""
    search = "a" * 8000
    ids, total, link = listed(client, search=search, offset=1)
    assert (ids, total) == ([], "0")
    assert link == f'</books?limit=100&offset=0&search={search}>; rel="prev"'


def test_search_is_kept_in_links_percent_encoded(
    client: httpx2.Client, auth: dict[str, str]
) -> None:
    """The search term is carried into Link targets, percent-encoded (space as %20)."""
    for n in range(3):
        client.post("/books", json={"title": f"Sci Fi & more {n}", "author": "X"}, headers=auth)
    ids, total, link = listed(client, search="fi & m", limit=1, offset=1)
    assert (ids, total) == ([4], "3")
    assert link == (
        '</books?limit=1&offset=2&search=fi%20%26%20m>; rel="next", '
        '</books?limit=1&offset=0&search=fi%20%26%20m>; rel="prev"'
    )

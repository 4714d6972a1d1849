"""Writing books: create, replace, patch and delete, with the uniqueness and id rules."""

import httpx2
import pytest

from tests.contract import NO_BOOK, SEED, assert_problem, assert_seed_unchanged, describe

DUNE, NEUROMANCER = SEED
SNOW_CRASH = {"title": "Snow Crash", "author": "Neal Stephenson"}


def test_create_returns_201_the_book_and_its_location(
    client: httpx2.Client, auth: dict[str, str]
) -> None:
    """POST /books: 201, the created book with id 3 (after the seed), Location: /books/3."""
    response = client.post("/books", json=SNOW_CRASH, headers=auth)
    assert response.status_code == 201, describe(response)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["location"] == "/books/3"
    assert response.json() == {"id": 3, **SNOW_CRASH}
    assert client.get("/books/3").json() == {"id": 3, **SNOW_CRASH}
    assert client.get("/books").headers["x-total-count"] == "3"


def test_content_type_parameters_and_case_are_accepted(
    client: httpx2.Client, auth: dict[str, str]
) -> None:
    """Content-Type parameters such as charset=utf-8 are allowed; the type is case-insensitive."""
    for n, content_type in enumerate(["application/json; charset=utf-8", "Application/JSON"]):
        response = client.post(
            "/books",
            content=f'{{"title": "T{n}", "author": "A"}}'.encode(),
            headers={**auth, "Content-Type": content_type},
        )
        assert response.status_code == 201, describe(response)


def test_replace_returns_the_updated_book(client: httpx2.Client, auth: dict[str, str]) -> None:
    """PUT /books/{id}: 200 and the book with both fields replaced; GET shows the change."""
    response = client.put("/books/1", json=SNOW_CRASH, headers=auth)
    assert response.status_code == 200, describe(response)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"id": 1, **SNOW_CRASH}
    assert client.get("/books/1").json() == {"id": 1, **SNOW_CRASH}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"title": "Dune Messiah"}, {**DUNE, "title": "Dune Messiah"}),
        ({"author": "F. Herbert"}, {**DUNE, "author": "F. Herbert"}),
        (
            {"title": "Children of Dune", "author": "F. H."},
            {"id": 1, "title": "Children of Dune", "author": "F. H."},
        ),
        ({}, DUNE),
    ],
)
def test_patch_changes_only_the_given_fields(
    client: httpx2.Client, auth: dict[str, str], patch: dict[str, str], expected: dict[str, object]
) -> None:
    """PATCH /books/{id}: 200 and the book with the given subset changed; {} is a valid no-op."""
    response = client.patch("/books/1", json=patch, headers=auth)
    assert response.status_code == 200, describe(response)
    assert response.json() == expected
    assert client.get("/books/1").json() == expected


def test_delete_returns_204_and_the_book_is_gone(
    client: httpx2.Client, auth: dict[str, str]
) -> None:
    """DELETE /books/{id}: 204 with an empty body; then GET is 404 and the list shrinks."""
    response = client.delete("/books/1", headers=auth)
    assert response.status_code == 204, describe(response)
    assert response.content == b""
    assert "content-type" not in response.headers
    assert_problem(client.get("/books/1"), 404, NO_BOOK)
    assert client.get("/books").json() == [NEUROMANCER]


@pytest.mark.parametrize(
    ("method", "body"),
    [("PUT", SNOW_CRASH), ("PATCH", {"title": "X"}), ("PATCH", {}), ("DELETE", None)],
)
def test_write_to_unknown_book_is_404(
    client: httpx2.Client, auth: dict[str, str], method: str, body: dict[str, str] | None
) -> None:
    """PUT, PATCH or DELETE of a well-formed id that names no book: 404 problem."""
    assert_problem(client.request(method, "/books/999", json=body, headers=auth), 404, NO_BOOK)


def test_deleted_ids_are_never_handed_out_again(
    client: httpx2.Client, auth: dict[str, str]
) -> None:
    """After deleting the newest book, the next create gets a new id, not the freed one."""
    assert client.delete("/books/2", headers=auth).status_code == 204
    assert client.post("/books", json=SNOW_CRASH, headers=auth).json()["id"] == 3
    assert client.delete("/books/3", headers=auth).status_code == 204
    assert client.post("/books", json=SNOW_CRASH, headers=auth).json()["id"] == 4


def test_create_duplicate_is_409(client: httpx2.Client, auth: dict[str, str]) -> None:
    """POST of an existing (title, author) pair: 409 problem, nothing stored."""
    assert_problem(
        client.post("/books", json={"title": "Dune", "author": "Frank Herbert"}, headers=auth), 409
    )
    assert_seed_unchanged(client)


def test_duplicate_is_compared_after_stripping(client: httpx2.Client, auth: dict[str, str]) -> None:
    """Whitespace around the fields does not make a duplicate distinct."""
    response = client.post(
        "/books", json={"title": "  Dune\t", "author": "\nFrank Herbert "}, headers=auth
    )
    assert_problem(response, 409)


@pytest.mark.parametrize(
    "book",
    [{"title": "dune", "author": "Frank Herbert"}, {"title": "Dune", "author": "Brian Herbert"}],
)
def test_same_title_or_other_case_is_not_a_duplicate(
    client: httpx2.Client, auth: dict[str, str], book: dict[str, str]
) -> None:
    """Uniqueness is of the exact (title, author) pair: another case or author is a new book."""
    assert client.post("/books", json=book, headers=auth).status_code == 201


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PUT", {"title": "Neuromancer", "author": "William Gibson"}),
        ("PATCH", {"title": "Neuromancer", "author": "William Gibson"}),
    ],
)
def test_update_into_a_duplicate_is_409(
    client: httpx2.Client, auth: dict[str, str], method: str, body: dict[str, str]
) -> None:
    """PUT or PATCH that would make a book equal to another: 409, the book is unchanged."""
    assert_problem(client.request(method, "/books/1", json=body, headers=auth), 409)
    assert client.get("/books/1").json() == DUNE


def test_patch_into_a_duplicate_by_one_field_is_409(
    client: httpx2.Client, auth: dict[str, str]
) -> None:
    """PATCH of one field that completes another book's pair: 409."""
    client.post("/books", json={"title": "Neuromancer", "author": "Frank Herbert"}, headers=auth)
    assert_problem(client.patch("/books/3", json={"title": "Dune"}, headers=auth), 409)
    assert client.get("/books/3").json()["title"] == "Neuromancer"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_with_own_values_is_not_a_conflict(
    client: httpx2.Client, auth: dict[str, str], method: str
) -> None:
    """Replacing a book with its own values: 200, not 409."""
    response = client.request(
        method, "/books/1", json={"title": "Dune", "author": "Frank Herbert"}, headers=auth
    )
    assert response.status_code == 200, describe(response)
    assert response.json() == DUNE


def test_after_a_conflict_the_next_create_succeeds(
    client: httpx2.Client, auth: dict[str, str]
) -> None:
    """After a 409 the database still works: the next valid create succeeds with the next id."""
    assert (
        client.post(
            "/books", json={"title": "Dune", "author": "Frank Herbert"}, headers=auth
        ).status_code
        == 409
    )
    response = client.post("/books", json=SNOW_CRASH, headers=auth)
    assert response.status_code == 201, describe(response)
    assert client.get("/books").headers["x-total-count"] == "3"


UNICODE_TEXTS = [
    "Le Petit Prince — 星の王子さま",
    "🚀 Ἀστρονομία 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "e\u0301 (combining) and é (precomposed)",
    "inner   spaces\tand\nnewlines kept",
    "RTL: אבג عربي",
    "\u200bzero width",
]


@pytest.mark.parametrize("text", UNICODE_TEXTS)
def test_unicode_round_trips_exactly(
    client: httpx2.Client, auth: dict[str, str], text: str
) -> None:
    """Any Unicode text is stored and returned exactly, with no normalization."""
    created = client.post("/books", json={"title": text, "author": text}, headers=auth)
    assert created.status_code == 201, describe(created)
    assert created.json() == {"id": 3, "title": text, "author": text}
    assert client.get("/books/3").json() == {"id": 3, "title": text, "author": text}


def test_fields_are_stripped_before_storing(client: httpx2.Client, auth: dict[str, str]) -> None:
    """Leading and trailing whitespace (as str.strip() defines it) is removed before storing."""
    response = client.post(
        "/books",
        json={"title": " \t\x1c Snow Crash\n\x1f", "author": "\u00a0Neal Stephenson\u3000\x85"},
        headers=auth,
    )
    assert response.status_code == 201, describe(response)
    assert response.json() == {"id": 3, **SNOW_CRASH}
    patched = client.patch("/books/3", json={"title": "  Snow  Crash  "}, headers=auth)
    assert patched.json()["title"] == "Snow  Crash"


@pytest.mark.parametrize("text", ["x" * 200, "🚀" * 200, "  " + "y" * 200 + "  "])
def test_200_code_points_is_the_longest_valid_text(
    client: httpx2.Client, auth: dict[str, str], text: str
) -> None:
    """200 code points after stripping is valid (astral characters count once)."""
    response = client.post("/books", json={"title": text, "author": "Long"}, headers=auth)
    assert response.status_code == 201, describe(response)
    assert response.json()["title"] == text.strip()

"""Writes need `Authorization: Bearer <BOOKS_API_TOKEN>`; reads do not."""

import httpx2
import pytest

from tests.contract import (
    NOT_HTTP,
    TOKEN,
    assert_problem,
    assert_seed_unchanged,
    describe,
    skip_for_wsgi_transport,
)

EVERY_WRITE = [
    ("POST", "/books", {"title": "T", "author": "A"}),
    ("PUT", "/books/1", {"title": "T", "author": "A"}),
    ("PATCH", "/books/1", {"title": "T"}),
    ("DELETE", "/books/1", None),
]
BAD_AUTHORIZATIONS = {
    "missing": None,
    "wrong-token": f"Bearer {TOKEN}x",
    "prefix-of-token": f"Bearer {TOKEN[:-1]}",
    "empty-token": "Bearer ",
    "scheme-only": "Bearer",
    "basic-scheme": f"Basic {TOKEN}",
    "token-without-scheme": TOKEN,
}


def assert_unauthorized(response: httpx2.Response) -> None:
    """401 problem with WWW-Authenticate: Bearer."""
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer", describe(response)


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS.values(), ids=BAD_AUTHORIZATIONS)
@pytest.mark.parametrize(("method", "path", "body"), EVERY_WRITE)
def test_write_without_the_right_token_is_401(
    client: httpx2.Client,
    method: str,
    path: str,
    body: dict[str, str] | None,
    authorization: str | None,
) -> None:
    """Missing, malformed or wrong token: 401, WWW-Authenticate: Bearer, nothing changed."""
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_unauthorized(client.request(method, path, json=body, headers=headers))
    assert_seed_unchanged(client)


def test_non_ascii_bytes_in_authorization_are_401(client: httpx2.Client) -> None:
    """Raw non-ASCII bytes in the header are compared as bytes: 401, never 500."""
    skip_for_wsgi_transport(client, "decodes header values as ASCII (PEP 3333: latin-1)")
    headers = [(b"Authorization", b"Bearer \xff\xfe" + TOKEN.encode())]
    response = client.post("/books", json={"title": "T", "author": "A"}, headers=headers)
    assert_unauthorized(response)


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer  {TOKEN}", f"Bearer {TOKEN}  ", f"  Bearer {TOKEN}"],
    ids=["two-spaces", "trailing-spaces", "leading-spaces"],
)
def test_authorization_spacing_that_is_allowed(client: httpx2.Client, authorization: str) -> None:
    """The scheme, one or more spaces, the token; spaces around the value are ignored."""
    headers = {"Authorization": authorization}
    response = client.post("/books", json={"title": "T", "author": "A"}, headers=headers)
    assert response.status_code == 201, describe(response)


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer\t{TOKEN}", f"Bearer {TOKEN} extra", f"Bearer,{TOKEN}", f"Bearer={TOKEN}"],
    ids=["tab", "extra-word", "comma", "equals"],
)
def test_malformed_authorization_is_401(client: httpx2.Client, authorization: str) -> None:
    """A tab or any other separator, or extra words, make the header malformed: 401."""
    headers = {"Authorization": authorization}
    assert_unauthorized(client.post("/books", json={"title": "T", "author": "A"}, headers=headers))
    assert_seed_unchanged(client)


def test_two_authorization_headers_are_401(client: httpx2.Client, behind_nginx: bool) -> None:
    """Two Authorization headers are malformed, even if one carries the token: a 401, or
    nginx's 400 in front of the instances, which takes only one."""
    skip_for_wsgi_transport(client, "keeps only the last of two equal headers")
    headers = [("Authorization", f"Bearer {TOKEN}"), ("Authorization", f"Bearer {TOKEN}")]
    response = client.post("/books", json={"title": "T", "author": "A"}, headers=headers)
    if behind_nginx:
        assert_problem(response, 400, NOT_HTTP)
    else:
        assert_unauthorized(response)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_scheme_name_is_case_insensitive(client: httpx2.Client, scheme: str) -> None:
    """The scheme name "Bearer" in any case."""
    headers = {"Authorization": f"{scheme} {TOKEN}"}
    response = client.post("/books", json={"title": "T", "author": "A"}, headers=headers)
    assert response.status_code == 201, describe(response)


@pytest.mark.parametrize("api_token", [""])
@pytest.mark.parametrize(("method", "path", "body"), EVERY_WRITE)
def test_every_write_is_401_when_no_token_is_configured(
    client: httpx2.Client, method: str, path: str, body: dict[str, str] | None
) -> None:
    """With BOOKS_API_TOKEN empty, no Authorization header passes — not even an empty token."""
    for authorization in ["Bearer ", "Bearer", f"Bearer {TOKEN}"]:
        response = client.request(method, path, json=body, headers={"Authorization": authorization})
        assert_unauthorized(response)
    assert_seed_unchanged(client)


@pytest.mark.parametrize("api_token", [""])
@pytest.mark.parametrize("path", ["/books", "/books/1", "/books?search=dune", "/health"])
def test_reads_need_no_token(client: httpx2.Client, path: str) -> None:
    """GET, HEAD and OPTIONS work without a token, even when none is configured."""
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200
    assert client.options(path).status_code == 204

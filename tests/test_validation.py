"""Request bodies: the field rules (422) and the body gate: 413, 415 and 400."""

import json

import httpx2
import pytest

from tests.contract import (
    AUTH,
    BODY_WRITES,
    MAX_BODY_BYTES,
    assert_invalid,
    assert_problem,
    assert_seed_unchanged,
    describe,
    padded_body,
)

NOT_STRINGS = [123, 1.5, True, None, ["Dune"], {"text": "Dune"}]
INVALID_TEXTS = ["", "   ", "\t\n", "x" * 201, "🚀" * 201, "nul\u0000inside"]


def send(client: httpx2.Client, method: str, path: str, body: bytes) -> httpx2.Response:
    """Send raw bytes as JSON, with the write token."""
    headers = {**AUTH, "Content-Type": "application/json"}
    return client.request(method, path, content=body, headers=headers)


@pytest.mark.parametrize("field", ["title", "author"])
@pytest.mark.parametrize("value", NOT_STRINGS, ids=repr)
@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_fields_must_be_json_strings(
    client: httpx2.Client, auth: dict[str, str], method: str, path: str, value: object, field: str
) -> None:
    """A number, boolean, null, array or object is invalid: no coercion of 123 to "123"."""
    body = {"title": "Valid", "author": "Valid", field: value}
    assert_invalid(client.request(method, path, json=body, headers=auth), ("body", field))
    assert_seed_unchanged(client)


@pytest.mark.parametrize("text", INVALID_TEXTS, ids=lambda text: repr(text)[:12])
@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_empty_too_long_or_nul_text_is_invalid(
    client: httpx2.Client, auth: dict[str, str], method: str, path: str, text: str
) -> None:
    """Empty after stripping, over 200 code points, or containing NUL: 422 for that field."""
    response = client.request(method, path, json={"title": text, "author": "A"}, headers=auth)
    assert_invalid(response, ("body", "title"))


@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_lone_surrogate_is_invalid(client: httpx2.Client, method: str, path: str) -> None:
    """A lone surrogate ("\\ud800", not storable text): 422 for that field, never 500."""
    response = send(client, method, path, b'{"title": "\\ud800", "author": "A"}')
    assert_invalid(response, ("body", "title"))


@pytest.mark.parametrize(
    ("method", "path", "body", "errors"),
    [
        ("POST", "/books", {}, [("body", "title"), ("body", "author")]),
        ("POST", "/books", {"title": "Only title"}, [("body", "author")]),
        ("PUT", "/books/1", {"author": "Only author"}, [("body", "title")]),
        ("POST", "/books", {"title": "T", "author": "A", "id": 9}, [("body", "id")]),
        ("PUT", "/books/1", {"title": "T", "author": "A", "isbn": "x"}, [("body", "isbn")]),
        ("PATCH", "/books/1", {"id": 1}, [("body", "id")]),
        (
            "POST",
            "/books",
            {"title": 1, "isbn": "x"},
            [("body", "title"), ("body", "author"), ("body", "isbn")],
        ),
    ],
)
def test_missing_and_unknown_fields_are_reported_one_entry_each(
    client: httpx2.Client,
    auth: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object],
    errors: list[tuple[str, str]],
) -> None:
    """Missing required fields and unknown keys (id included): one 422 error per field."""
    assert_invalid(client.request(method, path, json=body, headers=auth), *errors)
    assert_seed_unchanged(client)


@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_unknown_key_that_is_a_lone_surrogate_is_named(
    client: httpx2.Client, method: str, path: str
) -> None:
    """An unknown key "\\ud800" is reported under its own name, never as a 500."""
    response = send(client, method, path, b'{"title": "T", "author": "A", "\\ud800": 1}')
    assert_invalid(response, ("body", "\ud800"))


@pytest.mark.parametrize("body", [[], ["Dune"], "Dune", 42, None, True])
@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_json_that_is_not_an_object_is_invalid(
    client: httpx2.Client, method: str, path: str, body: object
) -> None:
    """Valid JSON that is not an object: 422 with one error whose field is null."""
    assert_invalid(send(client, method, path, json.dumps(body).encode()), ("body", None))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"title": "Dune",}',
        b"not json",
        b'{"title": "\xff"}',
        b"[" * 30000 + b"]" * 30000,
        b'{"title": NaN, "author": "A"}',
        b"Infinity",
        b'{"title": "T", "author": "A", "x": ' + b"9" * 5000 + b"}",
    ],
    ids=[
        "empty",
        "truncated",
        "trailing-comma",
        "text",
        "not-utf8",
        "nested-too-deep",
        "NaN",
        "Infinity",
        "number-too-long",
    ],
)
@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_unparseable_body_is_400(
    client: httpx2.Client, method: str, path: str, body: bytes
) -> None:
    """A body that is not parseable JSON (empty, malformed, not UTF-8, too deep): 400 problem."""
    assert_problem(send(client, method, path, body), 400)
    assert_seed_unchanged(client)


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_body_that_is_not_declared_json_is_415(
    client: httpx2.Client, method: str, path: str, content_type: str | None
) -> None:
    """A write whose Content-Type is not application/json, or none: 415, even for a JSON body."""
    body = b'{"title": "T", "author": "A"}'
    request = client.build_request(method, path, content=body, headers=AUTH)
    if content_type is None:
        request.headers.pop("Content-Type", None)
    else:
        request.headers["Content-Type"] = content_type
    assert_problem(client.send(request), 415)


@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_body_of_exactly_64_kib_is_accepted(client: httpx2.Client, method: str, path: str) -> None:
    """A body of exactly 65,536 bytes is not too large."""
    response = send(client, method, path, padded_body(MAX_BODY_BYTES))
    assert response.status_code in (200, 201), describe(response)


@pytest.mark.parametrize(("method", "path"), BODY_WRITES)
def test_body_over_64_kib_is_413(client: httpx2.Client, method: str, path: str) -> None:
    """A body of 65,537 bytes: 413 problem, nothing stored."""
    assert_problem(send(client, method, path, padded_body(MAX_BODY_BYTES + 1)), 413)
    assert_seed_unchanged(client)

"""Each implementation's generated OpenAPI document agrees with the canonical one."""

import copy
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from tests.openapi_comparison import compare

CANONICAL_PATH = Path(__file__).resolve().parent.parent / "shared_fixtures" / "openapi.yaml"
CANONICAL: dict[str, Any] = yaml.safe_load(CANONICAL_PATH.read_text())


def test_generated_document_matches_the_canonical_one(
    client: httpx2.Client, framework: str
) -> None:
    """GET /openapi.json, normalized, says what the canonical document says of every operation."""
    generated = client.get("/openapi.json").json()
    found = compare(CANONICAL, generated, framework)
    assert not found, f"{len(found)} differences from {CANONICAL_PATH.name}:\n" + "\n".join(found)


def generated_like_canonical(**changes: Any) -> dict[str, Any]:
    """The canonical document with operations of /books/{id} changed: method -> change."""
    document = copy.deepcopy(CANONICAL)
    for method, change in changes.items():
        change(document["paths"]["/books/{id}"][method])
    return document


def without_etag(operation: dict[str, Any]) -> None:
    """Drop the ETag header from the operation's 200 response."""
    del operation["responses"]["200"]["headers"]["ETag"]


def without_parameters(operation: dict[str, Any]) -> None:
    """Drop the operation's own parameters (the conditional-request headers)."""
    del operation["parameters"]


def as_pydantic_says_it(operation: dict[str, Any]) -> None:
    """The If-Match parameter as FastAPI generates it: lower-case name, optional as null."""
    operation["parameters"] = [
        {
            "name": "if-match",
            "in": "header",
            "required": False,
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "If-Match"},
        }
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"get": without_etag}, ["GET /books/{0}: responses.200.headers.etag: canonical"]),
        ({"put": without_parameters}, ["PUT /books/{0}: parameters.header if-match: canonical"]),
        ({"delete": as_pydantic_says_it}, []),
    ],
    ids=["missing ETag header", "missing If-Match", "If-Match spelled by pydantic"],
)
def test_comparison_covers_conditional_headers(
    changes: dict[str, Any], expected: list[str]
) -> None:
    """Header parameters and response headers are compared, by name whatever its case."""
    found = compare(CANONICAL, generated_like_canonical(**changes), "fastapi")
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(f"fastapi {start}"), found


CATALOG_PATH = "/books/{id}/catalog"


def test_canonical_document_has_the_catalog_operations() -> None:
    """/books/{id}/catalog is a path of the canonical document, with GET's 200, 404, 502, 503
    and 504, so every generated document is compared on it."""
    operations = CANONICAL["paths"][CATALOG_PATH]
    assert {"get", "head", "options"} <= set(operations)
    assert set(operations["get"]["responses"]) == {"200", "404", "502", "503", "504"}


def test_comparison_covers_the_catalog_path() -> None:
    """A generated document without /books/{id}/catalog, or whose record lacks `isbns`, differs."""
    missing = copy.deepcopy(CANONICAL)
    del missing["paths"][CATALOG_PATH]
    assert compare(CANONICAL, missing, "flask") == [
        "flask GET /books/{0}/catalog: not in the generated document"
    ]
    renamed = copy.deepcopy(CANONICAL)
    renamed["paths"]["/books/{book_id}/catalog"] = renamed["paths"].pop(CATALOG_PATH)
    assert compare(CANONICAL, renamed, "flask") == []
    without_isbns = copy.deepcopy(CANONICAL)
    del without_isbns["components"]["schemas"]["CatalogRecord"]["properties"]["isbns"]
    found = compare(CANONICAL, without_isbns, "flask")
    assert found, "a record without isbns passed the comparison"
    assert all(line.startswith("flask GET /books/{0}/catalog: ") for line in found), found


TEXT_PATTERN = re.compile(CANONICAL["components"]["schemas"]["BookText"]["pattern"])


ALLOWED_TEXTS = [
    "a",
    " a ",
    "\t\n a b \u3000",
    "x" * 200,
    " " * 300 + "x" * 200 + "\x1c\x85",
    "a\nb",
]
REFUSED_TEXTS = ["", "   ", "\x1f\u2028", "x" * 201, " " + "x" * 201, "a\x00b", "\x00"]


@pytest.mark.parametrize("text", [*ALLOWED_TEXTS, *REFUSED_TEXTS])
def test_canonical_text_pattern_says_what_stripping_allows(text: str) -> None:
    """BookText's pattern matches exactly the texts of 1 to 200 code points without NUL, stripped.

    Lone surrogates are refused too, but not by the pattern: see BookText's description.
    """
    stripped = text.strip()
    allowed = 1 <= len(stripped) <= 200 and "\x00" not in stripped
    assert bool(TEXT_PATTERN.search(text)) == allowed, repr(text)

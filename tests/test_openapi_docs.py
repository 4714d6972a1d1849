"""Each implementation's generated OpenAPI document agrees with the canonical one."""

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


TEXT_PATTERN = re.compile(CANONICAL["components"]["schemas"]["BookText"]["pattern"])


ALLOWED_TEXTS = [
    "a",
    " a ",
    "\t\n a b \u3000",
    "x" * 200,
    " " * 300 + "x" * 200 + "\x1c\x85",
    "a\nb",
]
REFUSED_TEXTS = ["", "   ", "\x1f\u2028", "x" * 201, " " + "x" * 201, "a\x00b", "\x00", "a\ud800"]


@pytest.mark.parametrize("text", [*ALLOWED_TEXTS, *REFUSED_TEXTS])
def test_canonical_text_pattern_says_what_stripping_allows(text: str) -> None:
    """BookText's pattern matches exactly the texts of 1 to 200 storable code points, stripped."""
    stripped = text.strip()
    storable = "\x00" not in stripped and not any("\ud800" <= c <= "\udfff" for c in stripped)
    allowed = 1 <= len(stripped) <= 200 and storable
    assert bool(TEXT_PATTERN.search(text)) == allowed, repr(text)

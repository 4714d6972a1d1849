"""The code the three packages copy on purpose, rather than import from each other, stays equal."""

from pathlib import Path

import pytest

from django_books.books import functions as django_functions
from django_books.books import models as django_models
from django_books.books import serializers as django_serializers
from fastapi_books import folding as fastapi_folding
from fastapi_books import models as fastapi_models
from flask_books import folding as flask_folding
from flask_books import models as flask_models
from flask_books import schemas as flask_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_flask_and_fastapi_fold_case_with_the_same_file() -> None:
    """SQLAlchemy's ascii_lower is one file, copied byte for byte into both packages."""
    flask = (ROOT / "flask_books" / "folding.py").read_bytes()
    assert flask == (ROOT / "fastapi_books" / "folding.py").read_bytes()


def test_the_python_side_of_the_fold_is_the_same() -> None:
    """The search term is folded in Python with one table in all three."""
    django = django_functions.ASCII_LOWERCASE
    assert django == flask_folding.ASCII_LOWERCASE == fastapi_folding.ASCII_LOWERCASE


@pytest.mark.parametrize("name", ["STRIPPED", "UNSTORABLE", "TEXT_PATTERN"])
def test_the_text_pattern_is_the_same(name: str) -> None:
    """The OpenAPI pattern of title and author, and its parts, are one text in all three."""
    django = getattr(django_serializers, name)
    assert django == getattr(flask_schemas, name) == getattr(fastapi_models, name)


def test_the_text_length_is_the_same() -> None:
    django = django_models.MAX_TEXT_LENGTH
    assert django == flask_models.MAX_TEXT_LENGTH == fastapi_models.MAX_TEXT_LENGTH == 200

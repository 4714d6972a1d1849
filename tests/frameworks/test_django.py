"""Django-specific checks: migrations, the seed data migration, settings from the environment."""

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, models

from django_books.books.models import Book
from django_books.books.serializers import BookSerializer

REPO_ROOT: Path = settings.BASE_DIR
SEED = json.loads((REPO_ROOT / "shared_fixtures" / "books.json").read_text(encoding="utf-8"))
SETTINGS_VARIABLES = {"DATABASE_URL", "BOOKS_API_TOKEN", "DJANGO_SECRET_KEY", "DJANGO_DEBUG"}
READ_SETTINGS = (
    "import json; from django_books import settings as s; print(json.dumps({"
    "'database': s.DATABASES['default'], 'token': s.BOOKS_API_TOKEN,"
    " 'secret_key': s.SECRET_KEY, 'debug': s.DEBUG}))"
)


def run_in_repo(*arguments: str, **environment: str) -> str:
    """Run Python at the repository root with only these settings variables set; return stdout."""
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_VARIABLES}
    env.update(environment)
    result = subprocess.run(
        [sys.executable, *arguments], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def read_settings(**environment: str) -> dict[str, Any]:
    """Import django_books.settings in a fresh interpreter with this environment."""
    return json.loads(run_in_repo("-c", READ_SETTINGS, **environment))


@pytest.mark.django_db
def test_migrations_create_the_table_with_its_unique_constraint() -> None:
    """The migrated table has a 64-bit id and a unique constraint on (title, author)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Book._meta.db_table)
    unique_columns = [
        constraint["columns"]
        for constraint in constraints.values()
        if constraint["unique"] and not constraint["primary_key"]
    ]
    assert ["title", "author"] in unique_columns
    assert isinstance(Book._meta.pk, models.BigAutoField)


def test_serializer_leaves_uniqueness_to_the_database() -> None:
    """No UniqueTogetherValidator (a SELECT before the INSERT): the constraint decides, as a 409."""
    assert BookSerializer().validators == []


@pytest.mark.django_db
def test_seed_is_in_the_test_database_once() -> None:
    """The data migration ran when the test database was built; migrating again adds nothing."""
    call_command("migrate", verbosity=0)
    assert list(Book.objects.values("id", "title", "author")) == SEED


def test_migrate_again_keeps_deletions_and_the_id_sequence(tmp_path: Path) -> None:
    """Migrating again (as `make serve-django` does) brings no deleted seed book back."""
    database = tmp_path / "books.sqlite3"
    migrate = ("manage.py", "migrate", "--verbosity", "0")
    run_in_repo(*migrate, DATABASE_URL=f"sqlite:///{database}")
    with closing(sqlite3.connect(database)) as db:
        db.execute("DELETE FROM books_book WHERE id = 1")
        db.commit()
    run_in_repo(*migrate, DATABASE_URL=f"sqlite:///{database}")
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT id, title, author FROM books_book ORDER BY id").fetchall()
        last_id = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'books_book'").fetchone()
    assert rows == [(book["id"], book["title"], book["author"]) for book in SEED[1:]]
    assert last_id == (2,)  # the next book gets id 3


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    """DATABASE_URL, BOOKS_API_TOKEN, DJANGO_SECRET_KEY and DJANGO_DEBUG are read at startup."""
    database = tmp_path / "elsewhere.sqlite3"
    configured = read_settings(
        DATABASE_URL=f"sqlite:///{database}",
        BOOKS_API_TOKEN="s3cret-token",
        DJANGO_SECRET_KEY="a-production-secret",
        DJANGO_DEBUG="true",
    )
    assert configured["database"]["ENGINE"] == "django.db.backends.sqlite3"
    assert configured["database"]["NAME"] == str(database)
    assert configured["token"] == "s3cret-token"
    assert configured["secret_key"] == "a-production-secret"
    assert configured["debug"] is True


def test_settings_defaults_are_safe() -> None:
    """Without the environment: DEBUG off, no write token, var/django.sqlite3, a marked dev key."""
    configured = read_settings()
    assert configured["debug"] is False
    assert configured["token"] == ""
    assert configured["database"]["NAME"] == str(REPO_ROOT / "var" / "django.sqlite3")
    assert configured["secret_key"].startswith("django-insecure-")

"""Load the seed books from shared_fixtures/books.json, once, when the database is created."""

import json
from pathlib import Path

from django.core.management.color import no_style
from django.db import migrations

SEED_FILE = Path(__file__).resolve().parents[3] / "shared_fixtures" / "books.json"


def load_seed(apps, schema_editor):
    """Insert the seed books with their own ids, then move the id sequence past them."""
    Book = apps.get_model("books", "Book")
    database = schema_editor.connection
    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    Book.objects.using(database.alias).bulk_create(Book(**book) for book in seed)
    # Explicit ids do not advance PostgreSQL's sequence (SQLite's AUTOINCREMENT follows by itself);
    # loaddata resets it the same way.
    with database.cursor() as cursor:
        for statement in database.ops.sequence_reset_sql(no_style(), [Book]):
            cursor.execute(statement)


def unload_seed(apps, schema_editor):
    """Remove the seed books, so the seed can be loaded again after migrating back."""
    Book = apps.get_model("books", "Book")
    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    seed_ids = [book["id"] for book in seed]
    Book.objects.using(schema_editor.connection.alias).filter(id__in=seed_ids).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load_seed, reverse_code=unload_seed),
    ]

"""Load the seed books from shared_fixtures/books.json, once, when the database is created.

Revision ID: 0002
Revises: 0001
"""

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEED_FILE = Path(__file__).resolve().parents[3] / "shared_fixtures" / "books.json"

# The table as this revision knows it, whatever the model says later.
book_table = sa.table(
    "book",
    sa.column("id", sa.BigInteger),
    sa.column("title", sa.String),
    sa.column("author", sa.String),
)


def upgrade() -> None:
    """Insert the seed books with their own ids, then move the id sequence past them."""
    op.bulk_insert(book_table, json.loads(SEED_FILE.read_text(encoding="utf-8")))
    if op.get_bind().dialect.name == "postgresql":
        # Explicit ids do not advance PostgreSQL's sequence (SQLite's AUTOINCREMENT follows).
        op.execute("SELECT setval(pg_get_serial_sequence('book', 'id'), max(id)) FROM book")


def downgrade() -> None:
    """Remove the seed books, so the seed can be loaded again after migrating back."""
    seed_ids = [book["id"] for book in json.loads(SEED_FILE.read_text(encoding="utf-8"))]
    op.execute(book_table.delete().where(book_table.c.id.in_(seed_ids)))

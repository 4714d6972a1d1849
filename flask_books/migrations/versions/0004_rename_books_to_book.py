"""Rename the table books to book, and its unique constraint to uq_book_title_author.

Every row keeps its id, and no id handed out before is handed out again.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Rename the table, then its constraint."""
    rename("books", "book", "uq_books_title_author", "uq_book_title_author")


def downgrade() -> None:
    """Give the table and its constraint their old names back."""
    rename("book", "books", "uq_book_title_author", "uq_books_title_author")


def rename(table: str, new_table: str, constraint: str, new_constraint: str) -> None:
    """Rename the table, its unique constraint and, on PostgreSQL, its key and id sequence."""
    op.rename_table(table, new_table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {new_table} RENAME CONSTRAINT {constraint} TO {new_constraint}")
        op.execute(f"ALTER TABLE {new_table} RENAME CONSTRAINT {table}_pkey TO {new_table}_pkey")
        op.execute(f"ALTER SEQUENCE {table}_id_seq RENAME TO {new_table}_id_seq")
        return
    # SQLite names a constraint only in the table's CREATE statement, so batch mode copies the rows
    # into a new table. The copy's AUTOINCREMENT counter would restart at the largest id left (or
    # at 1, if no row is left), handing out the ids of the newest deleted books again: carry the
    # counter over. Reflection does not see AUTOINCREMENT either: table_kwargs asks for it.
    sequence = sa.table("sqlite_sequence", sa.column("name"), sa.column("seq"))
    counter = sa.select(sequence.c.seq).where(sequence.c.name == new_table)
    last_id = op.get_bind().scalar(counter)
    with op.batch_alter_table(new_table, table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(constraint, type_="unique")
        batch.create_unique_constraint(new_constraint, ["title", "author"])
    if last_id is not None:
        op.execute(sequence.delete().where(sequence.c.name == new_table))
        op.execute(sequence.insert().values(name=new_table, seq=last_id))

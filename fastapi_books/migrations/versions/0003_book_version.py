"""Add the book's version, its ETag: 1 for every existing book.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column; the server default gives the books already stored version 1."""
    op.add_column(
        "book",
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )


def downgrade() -> None:
    """Drop the column."""
    # SQLite drops a column only by copying the table, as batch mode does.
    with op.batch_alter_table("book") as batch:
        batch.drop_column("version")

"""Create the books table: 64-bit ids never reused, (title, author) unique.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "books",
        # SQLite autoincrements only an INTEGER primary key (a rowid alias), not a BIGINT.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.UniqueConstraint("title", "author", name="uq_books_title_author"),
        # Without AUTOINCREMENT, SQLite reuses the id of a deleted last row.
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("books")

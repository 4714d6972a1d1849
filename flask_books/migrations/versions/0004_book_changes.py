"""Add the outbox of the live updates: an event per committed write, numbered by a counter.

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
    """Create the events' table, and the counter at 0: the first write is event 1."""
    op.create_table(
        "book_changes",
        sa.Column("event", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(7), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("book", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    counter = op.create_table(
        "book_change_counter",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_event", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "last_event": 0}])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("book_change_counter")
    op.drop_table("book_changes")

"""Give each book a version, the number of its ETag: 1 for the books there are.

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
    """Add the column, 1 in every existing row."""
    op.add_column(
        "books", sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
    )


def downgrade() -> None:
    """Drop the column."""
    # SQLite alters a table only by copying it: batch mode does that, and is a plain ALTER elsewhere.
    with op.batch_alter_table("books") as batch:
        batch.drop_column("version")

"""Alembic's environment for the book table; initial_data runs it (fastapi_books.db.init_db).

Revisions live in versions/, numbered 0001, 0002, ...; alembic.command.revision() writes a new one
from script.py.mako, with script_location set to this directory as init_db sets it.
"""

from alembic import context
from sqlmodel import SQLModel

from fastapi_books import models  # noqa: F401 (registers the table on SQLModel.metadata)

# init_db hands over a connection of the engine, in a transaction of its own.
connection = context.config.attributes["connection"]
# A version table of its own: the three packages can share one database.
context.configure(
    connection=connection,
    version_table="alembic_version_fastapi_books",
    target_metadata=SQLModel.metadata,
)
with context.begin_transaction():
    context.run_migrations()

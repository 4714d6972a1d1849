"""Alembic's environment for the books table; `flask init-db` runs it (flask_books.db.init_db).

Revisions live in versions/, numbered 0001, 0002, ...; alembic.command.revision() writes a new one
from script.py.mako, with script_location set to this directory as init_db sets it.
"""

from alembic import context

from flask_books.models import Base

# init_db hands over the connection of the app's engine, in a transaction of its own.
connection = context.config.attributes["connection"]
# A version table of its own: the three packages can share one database.
context.configure(
    connection=connection,
    version_table="alembic_version_flask_books",
    target_metadata=Base.metadata,
)
with context.begin_transaction():
    context.run_migrations()

"""The database: one SQLAlchemy engine per app, one session per request, and `flask init-db`."""

import json
from pathlib import Path

import click
from flask import Flask, current_app, g
from flask.cli import with_appcontext
from sqlalchemy import Engine, create_engine, insert, inspect
from sqlalchemy.orm import Session

from flask_books.models import Base, Book

SEED_FILE = Path(__file__).resolve().parent.parent / "shared_fixtures" / "books.json"


def get_engine() -> Engine:
    """Return the engine that init_app created for the current app."""
    return current_app.extensions["books_engine"]


def get_session() -> Session:
    """Open a session for the current request, or return the one it already has."""
    if "db_session" not in g:
        # Objects stay readable after commit, so a view can return what it just saved.
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def close_session(exception: BaseException | None = None) -> None:
    """Close the request's session, if it opened one; uncommitted work is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_db() -> bool:
    """Create the schema and load the seed, only if the books table does not exist yet."""
    engine = get_engine()
    if inspect(engine).has_table(Book.__tablename__):
        return False
    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    with engine.begin() as connection:
        Base.metadata.create_all(connection)
        connection.execute(insert(Book), seed)
    return True


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the tables and load the seed; an existing database is left as it is."""
    if init_db():
        click.echo("Initialized the database.")
    else:
        click.echo("The database already exists; left unchanged.")


def init_app(app: Flask) -> None:
    """Give the app its engine, close each request's session, and add the init-db command."""
    app.extensions["books_engine"] = create_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)
    app.cli.add_command(init_db_command)

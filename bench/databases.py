"""The benchmark's databases: a SQLite file or a throwaway PostgreSQL database per server.

PostgreSQL databases are created on the server that TEST_DATABASE_URL names (the test suite's
variable; default postgresql://postgres@127.0.0.1:5432/postgres, a user allowed to create
databases) under names that start with `bench_`, and dropped when their server stops.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import column, create_engine, func, insert, select, table
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASES = ("sqlite", "postgresql")
# Each framework's table, as its migrations name it.
TABLES = {"django": "books_book", "flask": "books", "fastapi": "book"}
# The prepare step of each `make serve-<framework>` (see the Makefile), run with DATABASE_URL: the
# schema and the seed come from that framework's own migrations.
PREPARE_COMMANDS = {
    "django": [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
    "flask": [sys.executable, "-m", "flask", "--app", "flask_books", "init-db"],
    "fastapi": [sys.executable, "-m", "fastapi_books.initial_data"],
}


class Databases:
    """Makes a new database for each server, and drops the PostgreSQL ones afterwards."""

    def __init__(self, work: Path) -> None:
        self.work = work
        # Whatever driver the URL names, the packages read plain postgresql:// URLs.
        server_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL)
        self.server = make_url(server_url).set(drivername="postgresql")
        self.created: list[str] = []

    def check_postgresql(self) -> None:
        """Fail at once, with the reason, when the PostgreSQL server does not answer."""
        try:
            with self.connect() as connection:
                connection.execute("SELECT 1")
        except psycopg.Error as error:
            shown = self.server.render_as_string(hide_password=True)
            raise SystemExit(f"PostgreSQL at {shown} (TEST_DATABASE_URL): {error}") from error

    def server_version(self) -> str:
        """The PostgreSQL server's version, e.g. "15.20"."""
        with self.connect() as connection:
            return connection.execute("SHOW server_version").fetchone()[0].split()[0]

    def connect(self) -> psycopg.Connection:
        """An autocommit connection to the server's own database (CREATE DATABASE needs one)."""
        conninfo = self.server.render_as_string(hide_password=False)
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)

    def new(self, database: str, name: str) -> str:
        """The DATABASE_URL of a new, empty database."""
        if database == "sqlite":
            return f"sqlite:///{self.work / f'{name}-{secrets.token_hex(4)}.sqlite3'}"
        created = f"bench_{name.replace('-', '_')}_{secrets.token_hex(4)}"
        with self.connect() as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(created)
                )
            )
        self.created.append(created)
        return self.server.set(database=created).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a PostgreSQL database made by new(), closing what is still connected to it."""
        name = make_url(url).database
        if not url.startswith("postgresql") or name not in self.created:
            return
        with self.connect() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        self.created.remove(name)

    def drop_all(self) -> None:
        """Drop whatever is left (a run that stopped half-way)."""
        for name in list(self.created):
            self.drop(self.server.set(database=name).render_as_string(hide_password=False))


def prepare(framework: str, url: str, folder: Path = ROOT) -> None:
    """Migrate and seed a database as `make serve-<framework>` does, with the code in folder."""
    result = subprocess.run(
        PREPARE_COMMANDS[framework],
        cwd=folder,
        env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"preparing {url} for {framework} failed:\n{result.stdout}{result.stderr}"
        )


def grow_catalog(url: str, framework: str, size: int) -> None:
    """Add books in SQL until the framework's table holds size; ids and the next id stay right."""
    books = table(TABLES[framework], column("id"), column("title"), column("author"))
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            last_id = connection.execute(select(func.max(books.c.id))).scalar_one()
            new_books = [
                {"id": number, "title": f"Catalog book {number}", "author": f"Author {number % 97}"}
                for number in range(last_id + 1, size + 1)
            ]
            connection.execute(insert(books), new_books)
            if engine.dialect.name == "postgresql":
                # An id given in the INSERT leaves the sequence behind: the next POST needs it on.
                sequence = func.pg_get_serial_sequence(books.name, "id")
                connection.execute(select(func.setval(sequence, size)))
    finally:
        engine.dispose()

"""Test databases for the live servers: one SQLite file per framework, reset to the seed per test.

A stand-in with the shape of the suite's database plugin, until the live suite uses that one.
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tests.contract import SEED

# Each framework's table of books, as its migrations name it.
TABLES = {"django": "books_book", "flask": "books", "fastapi": "book"}


@dataclass
class SQLiteTestDatabase:
    """One framework's SQLite file; the first `make serve-<framework>` migrates and seeds it."""

    framework: str
    path: Path

    @property
    def url(self) -> str:
        """The DATABASE_URL the server gets."""
        return f"sqlite:///{self.path}"

    def reset(self) -> None:
        """Make the table hold exactly the seed, with ids continuing after it."""
        table = TABLES[self.framework]
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            with connection:
                connection.execute(f"DELETE FROM {table}")
                connection.executemany(
                    f"INSERT INTO {table} (id, title, author) VALUES (:id, :title, :author)", SEED
                )
                connection.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (len(SEED), table)
                )
        finally:
            connection.close()


class SQLiteTestDatabases:
    """The session's SQLite files, one per framework."""

    backend = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def prepared(self, framework: str) -> SQLiteTestDatabase:
        """The framework's database (migrated and seeded by the first server started on it)."""
        return SQLiteTestDatabase(framework, self.directory / f"{framework}.sqlite3")

"""Prepare the database before the server starts: python -m fastapi_books.initial_data."""

from pathlib import Path

from fastapi_books.db import engine, init_db


def main() -> None:
    """Create the SQLite file's directory if needed, then migrate: the schema and the seed."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    init_db(engine)


if __name__ == "__main__":
    main()

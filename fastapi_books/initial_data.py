"""Prepare the database before the server starts: python -m fastapi_books.initial_data."""

import asyncio
from pathlib import Path

from fastapi_books.db import engine, init_db


async def prepare() -> None:
    """Migrate (the schema and the seed), then close the connections before the server starts."""
    try:
        await init_db(engine)
    finally:
        await engine.dispose()


def main() -> None:
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(prepare())


if __name__ == "__main__":
    main()

"""Settings from the environment, read once per process."""

from functools import lru_cache
from pathlib import Path

from pydantic import PositiveFloat, SecretStr
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """The API's configuration, from DATABASE_URL, BOOKS_API_TOKEN, CATALOG_URL and
    CATALOG_TIMEOUT."""

    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'fastapi.sqlite3'}"
    # Empty (the default) refuses every write: secure until a token is configured.
    books_api_token: SecretStr = SecretStr("")
    # The upstream catalog (Open Library's search API), and the seconds a whole exchange with it
    # may take: connecting, sending, and receiving the full response.
    catalog_url: str = "https://openlibrary.org"
    catalog_timeout: PositiveFloat = 2


@lru_cache
def get_settings() -> Settings:
    return Settings()

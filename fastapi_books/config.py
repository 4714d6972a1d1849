"""Settings from the environment, read once per process."""

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """The API's configuration, from DATABASE_URL and BOOKS_API_TOKEN."""

    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'fastapi.sqlite3'}"
    # Empty (the default) refuses every write: secure until a token is configured.
    books_api_token: SecretStr = SecretStr("")


@lru_cache
def get_settings() -> Settings:
    return Settings()

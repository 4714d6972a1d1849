"""Settings from the environment, read once per process."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import PositiveFloat, SecretStr, field_validator
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
# DATABASE_POOLER: empty when DATABASE_URL leads to PostgreSQL itself, "transaction" when to
# PgBouncer in transaction pooling (db.py).
Pooler = Literal["", "transaction"]


class Settings(BaseSettings):
    """The API's configuration, from DATABASE_URL, DATABASE_POOLER, BOOKS_API_TOKEN, CATALOG_URL
    and CATALOG_TIMEOUT.

    FORWARDED_ALLOW_IPS is uvicorn's own (its --forwarded-allow-ips): its ProxyHeadersMiddleware
    gives the app the client's address and scheme from the proxy's requests alone.
    """

    database_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'fastapi.sqlite3'}"
    # Any other value fails validation, and the worker does not start.
    database_pooler: Pooler = ""
    # Empty (the default) refuses every write: secure until a token is configured.
    books_api_token: SecretStr = SecretStr("")
    # The upstream catalog (Open Library's search API), and the seconds a whole exchange with it
    # may take: connecting, sending, and receiving the full response.
    catalog_url: str = "https://openlibrary.org"
    catalog_timeout: PositiveFloat = 2
    # uvicorn's --forwarded-allow-ips (the Makefile passes it on); read here for the two fields
    # the proxy adds to a request's head (limits.py), and held to what the other two packages
    # accept: uvicorn would also take "*" and networks.
    forwarded_allow_ips: str = ""

    @field_validator("forwarded_allow_ips")
    @classmethod
    def addresses_one_by_one(cls, value: str) -> str:
        for address in filter(None, (entry.strip() for entry in value.split(","))):
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(
                    f"FORWARDED_ALLOW_IPS lists the proxy's addresses one by one: {address!r} is "
                    "not an IP address ('*' and networks are not accepted)."
                ) from None
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()

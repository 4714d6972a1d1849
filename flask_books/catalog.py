"""The upstream catalog (Open Library's search API): one HTTP client per app, and the search."""

import json
import time
import weakref
from typing import Any

import httpx2
from flask import Flask, current_app
from marshmallow import ValidationError

from flask_books.schemas import CatalogDocSchema, CatalogSearchSchema

DEFAULT_CATALOG_URL = "https://openlibrary.org"
# Open Library asks API clients to name themselves.
USER_AGENT = "books-three-ways/1.2 (flask_books)"
# A gevent worker takes up to 1,000 connections at once (gunicorn's worker_connections), so up to
# 1,000 requests may wait on the catalog together: one upstream connection each, and the
# connections kept alive between requests are fewer, so that idle sockets after a burst are few.
LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
# A search for one record is a few hundred bytes; an answer over this is not one.
MAX_ANSWER_BYTES = 1024 * 1024
# Made once, as flask-smorest makes the views' schemas: a schema builds its fields when made.
SEARCH_SCHEMA = CatalogSearchSchema()
DOC_SCHEMA = CatalogDocSchema()


class CatalogUnreadable(Exception):
    """The catalog could not be reached, or its answer could not be read: a 502."""


class CatalogTimedOut(Exception):
    """The catalog had not answered in full CATALOG_TIMEOUT seconds after the request: a 504."""


def init_app(app: Flask) -> None:
    client = httpx2.Client(headers={"User-Agent": USER_AGENT}, limits=LIMITS)
    app.extensions["catalog_client"] = client
    # Flask has no hook for the end of a process (teardown_appcontext runs after every request):
    # the client closes its connections when the app is collected or, at the latest, when the
    # interpreter exits (gunicorn's workers end with sys.exit, which runs finalizers).
    weakref.finalize(app, client.close)


def get_client() -> httpx2.Client:
    client: httpx2.Client = current_app.extensions["catalog_client"]
    return client


def read_answer(response: httpx2.Response, deadline: float) -> bytes:
    """The body, chunk by chunk: httpx2's read timeout bounds each wait, not the whole body."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if time.monotonic() > deadline:
            raise CatalogTimedOut("its answer was still arriving")
        if len(body) > MAX_ANSWER_BYTES:
            raise CatalogUnreadable(f"it answered over {MAX_ANSWER_BYTES} bytes")
    if time.monotonic() > deadline:
        raise CatalogTimedOut("its answer arrived late")
    return bytes(body)


def ask_catalog(title: str, author: str) -> bytes:
    """Send the search and return the 200 answer's body, within CATALOG_TIMEOUT seconds."""
    timeout: float = current_app.config["CATALOG_TIMEOUT"]
    deadline = time.monotonic() + timeout
    url = f"{current_app.config['CATALOG_URL'].rstrip('/')}/search.json"
    params: dict[str, str | int] = {
        "title": title,
        "author": author,
        "limit": 1,
        "fields": "key,first_publish_year,isbn",
    }
    try:
        # Each of connect, write and read may take the whole timeout, so a late answer is a
        # ReadTimeout at the deadline; read_answer holds a body that trickles in to it.
        with get_client().stream("GET", url, params=params, timeout=timeout) as response:
            if response.status_code != 200:
                raise CatalogUnreadable(f"it answered {response.status_code}")
            return read_answer(response, deadline)
    except httpx2.TimeoutException as error:
        raise CatalogTimedOut(type(error).__name__) from error
    except httpx2.HTTPError as error:
        raise CatalogUnreadable(f"{type(error).__name__}: {error}") from error


def search_catalog(title: str, author: str) -> dict[str, Any] | None:
    """The catalog's first record of the book as the API answers it, or None if it has none."""
    answer = ask_catalog(title, author)
    try:
        docs = SEARCH_SCHEMA.load(json.loads(answer))["docs"]
        if not docs:
            return None
        doc = DOC_SCHEMA.load(docs[0])
    except (ValueError, RecursionError) as error:  # not JSON (UnicodeDecodeError is a ValueError)
        raise CatalogUnreadable(f"its answer is not JSON: {error}") from error
    except ValidationError as error:
        raise CatalogUnreadable(f"its answer is not a search result: {error.messages}") from error
    return {
        "key": doc["key"],
        "first_publish_year": doc["first_publish_year"],
        "isbns": doc["isbn"][:5],
    }

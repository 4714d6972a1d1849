"""The upstream catalog (Open Library's search API): one HTTP client per process, and the search."""

import atexit
import functools
import json
import time
from typing import Any

import httpx2
from django.conf import settings

from django_books.books.exceptions import CatalogTimedOut, CatalogUnreadable
from django_books.books.serializers import CatalogDocSerializer, CatalogSearchSerializer

# Open Library asks API clients to name themselves.
USER_AGENT = "books-three-ways/1.2 (django_books)"
# A gevent worker takes up to 1,000 connections at once (gunicorn's worker_connections), so up to
# 1,000 requests may wait on the catalog together: one upstream connection each, and the
# connections kept alive between requests are fewer, so that idle sockets after a burst are few.
LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
# A search for one record is a few hundred bytes; an answer over this is not one.
MAX_ANSWER_BYTES = 1024 * 1024


@functools.cache
def get_client() -> httpx2.Client:
    """The process's client, made on first use: in a gunicorn worker, after the fork, so that no
    two processes share its sockets."""
    client = httpx2.Client(headers={"User-Agent": USER_AGENT}, limits=LIMITS)
    # Django has no signal for the end of a process: the client closes its kept-alive upstream
    # connections when the interpreter exits (gunicorn's workers end with sys.exit).
    atexit.register(client.close)
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
    timeout: float = settings.CATALOG_TIMEOUT
    deadline = time.monotonic() + timeout
    url = f"{settings.CATALOG_URL.rstrip('/')}/search.json"
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
        search = CatalogSearchSerializer(data=json.loads(answer))
    except (ValueError, RecursionError) as error:  # not JSON (UnicodeDecodeError is a ValueError)
        raise CatalogUnreadable(f"its answer is not JSON: {error}") from error
    if not search.is_valid():
        raise CatalogUnreadable(f"its answer is not a search result: {search.errors}")
    docs = search.validated_data["docs"]
    if not docs:
        return None
    doc = CatalogDocSerializer(data=docs[0])
    if not doc.is_valid():
        raise CatalogUnreadable(f"its first record is not one: {doc.errors}")
    return {
        "key": doc.validated_data["key"],
        "first_publish_year": doc.validated_data["first_publish_year"],
        "isbns": doc.validated_data["isbn"][:5],
    }

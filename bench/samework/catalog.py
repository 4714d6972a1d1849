"""The upstream call of `GET /books/{id}/catalog`, shared by the same-work apps: the query, the
mapping of the answer, and the client settings. Without the contract: no validation of the answer,
no problem documents; an upstream fault is the framework's own 500.

CATALOG_URL and CATALOG_TIMEOUT as the packages read them (make bench points CATALOG_URL at its
stub).
"""

import os

import httpx2

URL = os.environ.get("CATALOG_URL", "https://openlibrary.org") + "/search.json"
TIMEOUT = float(os.environ.get("CATALOG_TIMEOUT", "2"))
# As Go's and Node.js's clients do by default: no cap on the connections to the upstream, so a
# request never queues for one (httpx2's default caps them at 100, 20 kept alive).
LIMITS = httpx2.Limits(max_connections=None, max_keepalive_connections=None)


def query(title: str, author: str) -> dict[str, str]:
    """The search the contract sends for a book."""
    fields = "key,first_publish_year,isbn"
    return {"title": title, "author": author, "limit": "1", "fields": fields}


def record(answer: dict) -> dict:
    """The book's record from the upstream's answer: its first document's key, year, 5 isbns."""
    document = answer["docs"][0]
    return {
        "key": document["key"],
        "first_publish_year": document.get("first_publish_year"),
        "isbns": document.get("isbn", [])[:5],
    }

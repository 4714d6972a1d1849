"""The catalog view twice: sync with one httpx2.Client per worker, and `async def` with one
httpx2.AsyncClient per worker and the ORM's async API (aget)."""

import os
from typing import Any

import httpx2
from django.http import Http404, HttpRequest, JsonResponse

from django_catalog.models import Book

UPSTREAMS = dict(item.split("=", 1) for item in os.environ["CATALOG_UPSTREAMS"].split(","))
HEADERS = {"User-Agent": "books-three-ways/1.2 (django_books)"}
TIMEOUT = 30  # long enough for the memory test's 5 s upstream
LIMITS = httpx2.Limits(max_connections=None, max_keepalive_connections=None)
client = httpx2.Client(timeout=TIMEOUT, limits=LIMITS, headers=HEADERS)
async_client = httpx2.AsyncClient(timeout=TIMEOUT, limits=LIMITS, headers=HEADERS)


def search(request: HttpRequest, book: Book) -> tuple[str, dict[str, str | int]]:
    url = UPSTREAMS[request.GET.get("upstream", "50")] + "/search.json"
    query = {"title": book.title, "author": book.author, "limit": 1}
    return url, {**query, "fields": "key,first_publish_year,isbn"}


def record(answer: httpx2.Response) -> JsonResponse:
    answer.raise_for_status()
    doc: dict[str, Any] = answer.json()["docs"][0]
    isbns = doc.get("isbn", [])[:5]
    fields = {"key": doc["key"], "first_publish_year": doc.get("first_publish_year")}
    return JsonResponse({**fields, "isbns": isbns})


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def catalog(request: HttpRequest, book_id: int) -> JsonResponse:
    try:
        book = Book.objects.get(pk=book_id)  # autocommit: no transaction left open
    except Book.DoesNotExist:
        raise Http404 from None
    url, query = search(request, book)
    return record(client.get(url, params=query))


async def catalog_async(request: HttpRequest, book_id: int) -> JsonResponse:
    try:
        book = await Book.objects.aget(pk=book_id)
    except Book.DoesNotExist:
        raise Http404 from None
    url, query = search(request, book)
    return record(await async_client.get(url, params=query))

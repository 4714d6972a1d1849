"""Conditional requests (RFC 9110 §13): a book's ETag, If-None-Match on reads, If-Match on writes.

Starlette and FastAPI have no entity-tag helpers (only StaticFiles compares its own tags), so the
small parser is written here, and the headers are typed Header() parameters of two dependencies:
that way the OpenAPI document lists them on the routes that read them.
"""

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status
from pydantic import WithJsonSchema

from fastapi_books.models import Book

# One element of the list: "<chars>" or W/"<chars>", uppercase W only. Anything else (3, w/"3",
# '3', an unterminated "3, a * inside a list) is not an entity-tag and matches nothing.
ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


@dataclass(frozen=True)
class EntityTags:
    """What an If-Match or If-None-Match header names: any tag (*), or a list of tags."""

    any: bool = False
    strong: frozenset[str] = frozenset()  # the opaque part of each strong tag
    every: frozenset[str] = frozenset()  # the opaque part of every tag, strong or weak

    def match_strongly(self, book: Book) -> bool:
        return self.any or str(book.version) in self.strong

    def match_weakly(self, book: Book) -> bool:
        return self.any or str(book.version) in self.every


def parse_entity_tags(lines: list[str] | None) -> EntityTags | None:
    """The header's entity-tags; None when it is absent, empty or blank (no condition)."""
    # Several lines of one header are one comma-separated list, as HTTP says.
    value = ", ".join(lines or [])
    if not value.strip():
        return None
    if value.strip() == "*":
        return EntityTags(any=True)
    strong, every = set(), set()
    for element in value.split(","):
        if tag := ENTITY_TAG.fullmatch(element.strip()):
            weak, opaque = tag.groups()
            every.add(opaque)
            if not weak:
                strong.add(opaque)
    return EntityTags(strong=frozenset(strong), every=frozenset(every))


def etag(book: Book) -> str:
    return f'"{book.version}"'


# A list gets every line of the header (a str, only the first); each line is a string.
HeaderLines = Annotated[list[str] | None, WithJsonSchema({"type": "string"})]


async def if_match(
    lines: Annotated[
        HeaderLines,
        Header(alias="If-Match", description="Write only if the book's ETag is one of these."),
    ] = None,
) -> EntityTags | None:
    return parse_entity_tags(lines)


async def if_none_match(
    lines: Annotated[
        HeaderLines,
        Header(alias="If-None-Match", description="304 if the book's ETag is one of these."),
    ] = None,
) -> EntityTags | None:
    return parse_entity_tags(lines)


IfMatch = Annotated[EntityTags | None, Depends(if_match)]
IfNoneMatch = Annotated[EntityTags | None, Depends(if_none_match)]


def require_match(book: Book, condition: EntityTags | None) -> None:
    if condition is not None and not condition.match_strongly(book):
        raise HTTPException(
            status_code=status.HTTP_412_PRECONDITION_FAILED,
            detail="If-Match does not name the book's current ETag.",
        )

"""Book routes: canonical ids only, and writes checked before FastAPI reads the body."""

import json
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Match
from starlette.types import Scope

from fastapi_books.auth import require_write_token

MAX_BOOK_ID = 2**63 - 1
MAX_BODY_BYTES = 64 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BookIdConvertor(Convertor[int]):
    """A canonical id in a path: [1-9][0-9]*, so "01", "+1" and "abc" are no route (404)."""

    # At most 19 digits: int() of the match never fails; matches() drops the few above 2**63-1.
    regex = "[1-9][0-9]{0,18}"

    def convert(self, value: str) -> int:
        """The id as an int."""
        return int(value)

    def to_string(self, value: int) -> str:
        """The id as it appears in a path."""
        return str(value)


register_url_convertor("book_id", BookIdConvertor())


def reject_constant(name: str) -> NoReturn:
    """Refuse NaN and Infinity, which Python's json accepts but RFC 8259 does not."""
    raise ValueError(f"{name} is not JSON")


class JSONBodyRequest(Request):
    """A request whose body must be at most 64 KiB of UTF-8 JSON (413, then 415, then 400)."""

    async def body(self) -> bytes:
        """The body; 413 as soon as more than 64 KiB has arrived, without reading the rest."""
        if not hasattr(self, "_body"):
            chunks: list[bytes] = []
            received = 0
            async for chunk in self.stream():
                received += len(chunk)
                if received > MAX_BODY_BYTES:
                    raise HTTPException(
                        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                        detail="The body is over 64 KiB.",
                    )
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        """The parsed body: 415 unless Content-Type is application/json, 400 if not parseable."""
        if not hasattr(self, "_json"):
            body = await self.body()
            media_type = self.headers.get("Content-Type", "").partition(";")[0]
            if media_type.strip().lower() != "application/json":
                raise HTTPException(
                    status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                    detail="The body must be JSON, sent as Content-Type: application/json.",
                )
            try:
                self._json = json.loads(body.decode("utf-8"), parse_constant=reject_constant)
            # RecursionError (nesting too deep) is not a ValueError.
            except (ValueError, RecursionError) as error:
                raise HTTPException(
                    status_code=status.HTTP_400_BAD_REQUEST,
                    detail="The body is not valid JSON.",
                ) from error
        return self._json


class BookRoute(APIRoute):
    """An APIRoute that routes ids up to 2**63-1 only and checks a write before FastAPI does."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Leave ids above 2**63-1 unrouted, like any other id that is not canonical."""
        match, child_scope = super().matches(scope)
        book_id = child_scope.get("path_params", {}).get("book_id")
        if isinstance(book_id, int) and book_id > MAX_BOOK_ID:
            return Match.NONE, {}
        return match, child_scope

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, behind the token check and the body checks for writes."""
        # FastAPI reads and parses the body before it solves dependencies, so a token dependency
        # would answer too late: the contract puts 401 before 413, 415 and 400.
        handle = super().get_route_handler()

        async def handle_checked(request: Request) -> Response:
            """Check the token, then the body, in the contract's order; then let FastAPI work."""
            request = JSONBodyRequest(request.scope, request.receive)
            if request.method in WRITE_METHODS:
                require_write_token(request)
            if request.method in BODY_METHODS:
                await request.json()
            return await handle(request)

        return handle_checked

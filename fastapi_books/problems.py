"""Every error as an RFC 9457 problem: the FastAPI and Starlette defaults, replaced."""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi_books.automatic_methods import allowed_methods
from fastapi_books.config import REPO_ROOT

# Each status's RFC 9110 reason phrase (http.HTTPStatus's changed in Python 3.13) and the OpenAPI
# description of its problem: data the three packages share, as they share the seed.
PROBLEMS: dict[str, dict[str, str]] = json.loads(
    (REPO_ROOT / "shared_fixtures" / "problems.json").read_text(encoding="utf-8")
)
REASON_PHRASES = {int(status): problem["title"] for status, problem in PROBLEMS.items()}
PROBLEM_DESCRIPTIONS = {
    int(status): problem["description"]
    for status, problem in PROBLEMS.items()
    if "description" in problem
}

# Starlette raises its routing 404 and 405 with the reason phrase as detail; say more.
ROUTING_DETAILS = {
    404: "There is nothing at this path.",
    405: "This path does not support this method.",
}

INVALID_INPUT_DETAILS = {
    "body": "The body is invalid.",
    "query": "The query parameters are invalid.",
}


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        """The content as ASCII JSON, which can carry a lone surrogate as a \\u escape."""
        # A 422 names an unknown key as sent, and "\ud800" has no UTF-8 encoding: Starlette's
        # ensure_ascii=False rendering would fail on it with a 500.
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def problem(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> ProblemResponse:
    """A problem response: type, title, status and detail, plus errors for a 422."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": REASON_PHRASES[status],
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return ProblemResponse(body, status_code=status, headers=headers)


async def http_exception_handler(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    """Any HTTPException, including Starlette's routing 404 and 405, as a problem."""
    headers = dict(exc.headers or {})
    detail = exc.detail
    if exc.detail == REASON_PHRASES.get(exc.status_code):
        detail = ROUTING_DETAILS.get(exc.status_code, detail)
    if exc.status_code == 405 and (allowed := allowed_methods(request.scope)):
        # A mounted app's own 405 (the docs' files) keeps the Allow it gives.
        headers["Allow"] = ", ".join(allowed)
    return problem(exc.status_code, detail, headers=headers)


async def validation_exception_handler(
    request: Request, exc: RequestValidationError
) -> ProblemResponse:
    """FastAPI's 422 {"detail": [...]} as a problem with one entry per invalid field."""
    errors: dict[tuple[str, str | None], dict[str, Any]] = {}
    for error in exc.errors():
        location, *path = error["loc"]
        field, message = (str(path[0]) if path else None), error["msg"]
        # pydantic-core cannot read a key with a lone surrogate ("\ud800"), which no field has: it
        # reports the key as the input of a string_unicode error about the whole body, and stops.
        if error["type"] == "string_unicode" and not path:
            field, message = error["input"], "Extra inputs are not permitted"
        errors.setdefault(
            (location, field), {"location": location, "field": field, "message": message}
        )
    # A list takes only query parameters, a write only a body.
    where = "query" if all(error["loc"][0] == "query" for error in exc.errors()) else "body"
    return problem(422, INVALID_INPUT_DETAILS[where], errors=list(errors.values()))


async def database_unavailable_handler(
    request: Request, exc: OperationalError | PoolTimeoutError
) -> ProblemResponse:
    return problem(503, "The database is unavailable; try again later.")


async def server_error_handler(request: Request, exc: Exception) -> ProblemResponse:
    """Anything unexpected: a 500 problem, with no traceback in the response."""
    return problem(500, "An unexpected error occurred.")


EXCEPTION_HANDLERS: dict[
    int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]
] = {
    StarletteHTTPException: http_exception_handler,
    RequestValidationError: validation_exception_handler,
    OperationalError: database_unavailable_handler,
    PoolTimeoutError: database_unavailable_handler,
    Exception: server_error_handler,
}

"""RFC 9457 problem details: the body and headers of every 4xx and 5xx response."""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_smorest import Api
from marshmallow.exceptions import SCHEMA
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from flask_books.catalog import CatalogTimedOut, CatalogUnreadable
from flask_books.schemas import ProblemSchema, ValidationProblemSchema

# Each status's RFC 9110 reason phrase (http.HTTPStatus's changed in Python 3.13) and the OpenAPI
# description of its problem: data the three packages share, as they share the seed.
PROBLEMS: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).resolve().parent.parent / "shared_fixtures" / "problems.json").read_text(
        encoding="utf-8"
    )
)
REASON_PHRASES = {int(status): problem["title"] for status, problem in PROBLEMS.items()}
PROBLEM_DESCRIPTIONS = {
    int(status): problem["description"]
    for status, problem in PROBLEMS.items()
    if "description" in problem
}

# The contract's detail for the errors Werkzeug raises itself (routing's 404 and 405, the 413 past
# MAX_CONTENT_LENGTH, a 500 for an unhandled exception), in place of Werkzeug's descriptions.
WERKZEUG_DETAILS = {
    404: "There is nothing at this path.",
    405: "This path does not support this method.",
    413: "The body is over 64 KiB.",
    500: "An unexpected error occurred.",
}
INVALID_INPUT_DETAILS = {
    "body": "The body is invalid.",
    "query": "The query parameters are invalid.",
}
# webargs names the part of the request it parsed; the contract names it "body" or "query".
ERROR_LOCATIONS = {"json": "body", "query": "query"}

ProblemResponse = tuple[dict[str, Any], int, dict[str, str]]


def problem(
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, str | None]] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": REASON_PHRASES.get(status) or HTTP_STATUS_CODES.get(status, "Unknown Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return body, status, {**(headers or {}), "Content-Type": "application/problem+json"}


def validation_errors(
    messages: Mapping[str, Mapping[str, list[str]]],
) -> Iterator[dict[str, str | None]]:
    """Flatten webargs' {location: {field: [message, ...]}} into one entry per invalid field."""
    for location, fields in messages.items():
        for field, field_messages in fields.items():
            yield {
                "location": ERROR_LOCATIONS[location],
                "field": None if field == SCHEMA else field,
                "message": " ".join(field_messages),
            }


# flask-smorest ships no types, so its Api is Any to mypy.
class ProblemApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, answering errors as problem details instead of its own JSON."""

    # Each view documents the problems it answers with (problem_responses), not a catch-all
    # "default" response in flask-smorest's own error format, which this API never sends.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app: Flask, **kwargs: Any) -> None:
        super().init_app(app, **kwargs)
        for status, description in PROBLEM_DESCRIPTIONS.items():
            schema = ValidationProblemSchema if status == 422 else ProblemSchema
            response: dict[str, Any] = {
                "description": description,
                "content": {"application/problem+json": {"schema": schema}},
            }
            if status == 401:
                response["headers"] = {
                    "WWW-Authenticate": {"required": True, "schema": {"type": "string"}}
                }
            if status == 426:
                response["headers"] = {"Upgrade": {"required": True, "schema": {"type": "string"}}}
            self.spec.components.response(f"Problem{status}", response)

    def handle_http_exception(self, error: HTTPException) -> ProblemResponse:
        """Answer any HTTPException (routing, abort, webargs, and 500) with a problem."""
        # flask_smorest.abort (webargs') keeps its keyword arguments on error.data.
        data = getattr(error, "data", None) or {}
        # Werkzeug's own headers carry Allow (405) and WWW-Authenticate (401).
        headers = {name: value for name, value in error.get_headers() if name != "Content-Type"}
        headers.update(data.get("headers") or {})
        status = error.code or 500
        detail = (
            data.get("message") or WERKZEUG_DETAILS.get(status) or error.description or error.name
        )
        errors = None
        if "messages" in data:
            errors = list(validation_errors(data["messages"]))
            # A view parses one location, so every error names the same one.
            detail = INVALID_INPUT_DETAILS[str(errors[0]["location"])]
        return problem(status, detail, headers=headers, errors=errors)


def database_unavailable(error: OperationalError | PoolTimeoutError) -> ProblemResponse:
    """Answer 503 when the database cannot be reached, or no pooled connection came free in time."""
    return problem(503, "The database is unavailable; try again later.")


def book_kept_changing(error: StaleDataError) -> ProblemResponse:
    """Answer 503 when other requests changed the book before every one of a write's attempts."""
    return problem(503, "The book kept changing while this request tried to write it; try again.")


def catalog_unreadable(error: CatalogUnreadable) -> ProblemResponse:
    """Answer 502 when the catalog cannot be reached or read, with one line in the log."""
    current_app.logger.warning("The catalog could not be read: %s", error)
    return problem(502, "The catalog could not be read.")


def catalog_timed_out(error: CatalogTimedOut) -> ProblemResponse:
    """Answer 504 when the catalog has not answered in time, with one line in the log."""
    current_app.logger.warning("The catalog did not answer in time: %s", error)
    return problem(504, "The catalog did not answer in time.")


def problem_responses(*statuses: int) -> dict[int, str]:
    """The OpenAPI responses of these problems, for @blp.doc(responses=...): ProblemApi's."""
    return {status: f"Problem{status}" for status in statuses}

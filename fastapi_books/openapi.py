"""What FastAPI's OpenAPI document cannot learn from the routes: problems, headers, the token."""

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from fastapi_books.problems import PROBLEM_DESCRIPTIONS


class Problem(BaseModel):
    """An RFC 9457 problem, the body of every 4xx and 5xx response."""

    type: Literal["about:blank"]
    title: str = Field(min_length=1)
    status: int = Field(ge=400, le=599)
    detail: str = Field(min_length=1)


class InvalidField(BaseModel):
    """One invalid field or query parameter of a 422."""

    location: Literal["body", "query"]
    field: str | None
    message: str = Field(min_length=1)


class ValidationProblem(Problem):
    """A 422 problem: one entry per invalid field."""

    errors: list[InvalidField] = Field(min_length=1)


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with nested models written in place, to sit inside a response."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rpartition("/")[2]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    inlined: dict[str, Any] = resolve(schema)
    return inlined


WWW_AUTHENTICATE = {"required": True, "schema": {"type": "string", "enum": ["Bearer"]}}
UPGRADE = {"required": True, "schema": {"type": "string", "const": "websocket"}}
PAGE_HEADERS = {
    "X-Total-Count": {
        "description": "The number of books matching search, before paging.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "Link": {
        "description": "RFC 8288 links to the next and previous pages, when there are any.",
        "required": False,
        "schema": {"type": "string"},
    },
}
LOCATION_HEADERS = {
    "Location": {
        "description": "The path of the created book.",
        "required": True,
        "schema": {"type": "string"},
    }
}

ETAG_HEADERS = {
    "ETag": {
        "description": 'The book\'s version as a strong entity-tag, e.g. "3".',
        "required": True,
        "schema": {"type": "string"},
    }
}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "If-None-Match names the book's current ETag.", "headers": ETAG_HEADERS}
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that answers these statuses with problem details."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = ValidationProblem if status == 422 else Problem
        response: dict[str, Any] = {
            "description": PROBLEM_DESCRIPTIONS[status],
            "content": {"application/problem+json": {"schema": inline_schema(model)}},
        }
        if status == 401:
            response["headers"] = {"WWW-Authenticate": WWW_AUTHENTICATE}
        if status == 426:
            response["headers"] = {"Upgrade": UPGRADE}
        responses[status] = response
    return responses


def without_default_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document without the 422 it adds to every route with parameters.

    The routes that can answer 422 declare it as a problem; FastAPI's own (its error format, which
    this app never sends) would also claim a 422 for GET /books/{id}, whose id is only ever routed
    when valid. FastAPI has no switch for it (fastapi/fastapi#3424).
    """
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        for path_item in document["paths"].values():
            for operation in path_item.values():
                responses = operation.get("responses", {})
                if responses.get("422", {}).get("description") == "Validation Error":
                    del responses["422"]
        schemas = document.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = document
    return app.openapi_schema

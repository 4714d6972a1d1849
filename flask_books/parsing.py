"""Request bodies: the size and type gate, and webargs' Flask parser made strict about JSON."""

import json
from typing import Any, NoReturn

import flask_smorest
from flask import Request, current_app, request
from flask_smorest import abort
from marshmallow import Schema
from webargs.flaskparser import FlaskParser


def _reject_constant(name: str) -> NoReturn:
    """Refuse NaN and Infinity, which Python's json accepts but RFC 8259 does not."""
    raise ValueError(f"{name} is not JSON")


def require_json_body() -> None:
    """Answer 413 for a body over MAX_CONTENT_LENGTH, then 415 unless it is application/json."""
    # Reading the body applies MAX_CONTENT_LENGTH now, before the Content-Type check.
    body = request.get_data(cache=True)
    # Werkzeug cuts a chunked body (no Content-Length) at the limit without an error,
    # so one more byte in the server's stream means the body was too large.
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    chunked_past_limit = (
        request.content_length is None
        and len(body) == limit
        and request.environ["wsgi.input"].read(1) != b""
    )
    if chunked_past_limit:
        abort(413, message=f"The request body is larger than {limit} bytes.")
    if request.mimetype != "application/json":
        abort(415, message="The request body must be sent as application/json.")


class StrictJSONParser(FlaskParser):
    """A FlaskParser for which any body that is not JSON text is a 400."""

    def load_json(self, req: Request, schema: Schema) -> Any:
        """Parse the body as UTF-8 JSON, or answer 400 when it cannot be parsed."""
        # webargs would take an empty body as "no data" (then 422) and let RecursionError
        # from deeply nested arrays through (then 500); both are unparseable bodies here.
        try:
            text = req.get_data(cache=True).decode("utf-8")
            return json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            abort(400, message="The request body is not valid JSON.")


class StrictJSONBlueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, parsing request bodies with StrictJSONParser."""

    ARGUMENTS_PARSER = StrictJSONParser()

"""Request parsing: the body's size and type gate, and webargs' parser held to the contract."""

import json
from typing import Any, NoReturn
from urllib.parse import parse_qsl

from flask import Request, current_app, request
from marshmallow import Schema
from webargs.flaskparser import FlaskParser, abort


def reject_constant(name: str) -> NoReturn:
    """Refuse NaN and Infinity, which Python's json accepts but RFC 8259 does not."""
    raise ValueError(f"{name} is not JSON")


def require_json_body() -> None:
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
        abort(413)
    if request.mimetype != "application/json":
        abort(415, message="The body must be JSON, sent as Content-Type: application/json.")


class BooksParser(FlaskParser):
    """A FlaskParser where a body that is not JSON is a 400, and a query's last value counts."""

    def load_json(self, req: Request, schema: Schema) -> Any:
        # webargs would take an empty body as "no data" (then 422) and let RecursionError
        # from deeply nested arrays through (then 500); both are unparseable bodies here.
        try:
            text = req.get_data(cache=True).decode("utf-8")
            return json.loads(text, parse_constant=reject_constant)
        except (ValueError, RecursionError):
            abort(400, message="The body is not valid JSON.")

    def load_querystring(self, req: Request, schema: Schema) -> Any:
        # Not request.args: Werkzeug keeps "%FF" as those three characters, and webargs takes the
        # first of repeated values; dict() keeps the last. Decoding the raw bytes leniently also
        # spares a 500 on a byte over 0x7F sent without percent-encoding.
        query = req.query_string.decode(errors="replace")
        return dict(parse_qsl(query, keep_blank_values=True, errors="replace"))

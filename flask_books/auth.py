"""The write token: `Authorization: Bearer <BOOKS_API_TOKEN>`, compared in constant time."""

import secrets

from flask import current_app, request
from flask_smorest import abort


def has_valid_token() -> bool:
    """Tell whether the request carries the configured bearer token (never, if none is set)."""
    expected = current_app.config["BOOKS_API_TOKEN"]
    # Werkzeug parses the header; the scheme comes back lower-cased, so "bearer" works too.
    authorization = request.authorization
    if not expected or authorization is None or authorization.type != "bearer":
        return False
    # Compare bytes: compare_digest raises TypeError on non-ASCII str.
    given = (authorization.token or "").encode()
    return secrets.compare_digest(given, expected.encode())


def require_token() -> None:
    """Answer 401 with WWW-Authenticate: Bearer unless the request has the write token."""
    if not has_valid_token():
        abort(
            401,
            message="Writes need the header Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )

"""The write token: `Authorization: Bearer <BOOKS_API_TOKEN>`, compared in constant time."""

import secrets
from typing import Any

from flask import current_app, request
from flask_smorest import Api
from webargs.flaskparser import abort

# In the OpenAPI document: the requirement of the operations that need the token (the writes),
# and the scheme it names, which create_app registers.
NEEDS_TOKEN: dict[str, Any] = {"security": [{"bearerAuth": []}]}


def register_bearer_scheme(api: Api) -> None:
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})


def presented_token() -> str | None:
    # Not request.authorization: Werkzeug refuses spaces before the scheme, ignores tabs around
    # the token, and reads a token with an inner "=" as auth-params. Split on spaces only, not
    # on any whitespace as str.split() does: "Bearer\tT" is one word, so malformed.
    words = [word for word in request.headers.get("Authorization", "").split(" ") if word]
    if len(words) != 2 or words[0].lower() != "bearer":
        return None
    return words[1]


def has_valid_token() -> bool:
    expected = current_app.config["BOOKS_API_TOKEN"]
    token = presented_token()
    if not expected or token is None:
        return False
    # WSGI header values are latin-1 strings: encoding back gives the bytes the client sent, and
    # comparing bytes avoids compare_digest's TypeError on non-ASCII str.
    return secrets.compare_digest(token.encode("latin-1"), expected.encode())


def require_write_token() -> None:
    if not has_valid_token():
        abort(
            401,
            message="A valid bearer token is required to change books.",
            headers={"WWW-Authenticate": "Bearer"},
        )

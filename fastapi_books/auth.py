"""The write token: Authorization: Bearer <BOOKS_API_TOKEN>, compared in constant time."""

import secrets

from fastapi import HTTPException, Request, status

from fastapi_books.config import get_settings


def presented_token(request: Request) -> str | None:
    """The token of the request's one Authorization header; None if missing or malformed."""
    # Starlette's headers.get() would return the first of two headers: two are malformed.
    values = request.headers.getlist("Authorization")
    if len(values) != 1:
        return None
    # The scheme, one or more spaces, then the token; spaces around the value are ignored. Split
    # on spaces only, not on any whitespace as str.split() does: "Bearer\tT" is one word, malformed.
    words = [word for word in values[0].split(" ") if word]
    if len(words) != 2 or words[0].lower() != "bearer":
        return None
    return words[1]


def has_valid_token(request: Request) -> bool:
    token = presented_token(request)
    expected = get_settings().books_api_token.get_secret_value()
    # No token configured (the default) matches none: secure until one is set. Starlette decodes
    # headers as latin-1: encoding back gives the bytes the client sent, and comparing bytes
    # avoids compare_digest's TypeError on non-ASCII str.
    return (
        token is not None
        and bool(expected)
        and secrets.compare_digest(token.encode("latin-1"), expected.encode())
    )


def require_write_token(request: Request) -> None:
    if not has_valid_token(request):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="A valid bearer token is required to change books.",
            headers={"WWW-Authenticate": "Bearer"},
        )

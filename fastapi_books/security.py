"""The write token: Authorization: Bearer <BOOKS_API_TOKEN>, compared in constant time."""

import secrets

from fastapi import HTTPException, Request, status

from fastapi_books.config import Settings, get_settings


def resolve_settings(request: Request) -> Settings:
    """The settings the get_settings dependency gives, app.dependency_overrides included."""
    # The write check runs before FastAPI solves dependencies, so it resolves this one itself.
    return request.app.dependency_overrides.get(get_settings, get_settings)()


def is_valid_token(presented: str, expected: str) -> bool:
    """Whether the presented token is the configured one; an empty configured token never is."""
    # Starlette decodes headers as latin-1: encoding back gives the bytes the client sent, and
    # comparing bytes avoids compare_digest's TypeError on non-ASCII str.
    return bool(expected) and secrets.compare_digest(presented.encode("latin-1"), expected.encode())


def require_write_token(request: Request) -> None:
    """Refuse a write without the right bearer token: 401 with WWW-Authenticate: Bearer."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = resolve_settings(request).books_api_token.get_secret_value()
    if scheme.lower() != "bearer" or not is_valid_token(token, expected):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="A valid bearer token is required to change books.",
            headers={"WWW-Authenticate": "Bearer"},
        )

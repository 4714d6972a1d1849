"""The write token: bearer authentication against settings.BOOKS_API_TOKEN."""

import secrets

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request


def presented_token(request: Request) -> bytes | None:
    """The bearer token a request presents, as bytes; None without one, or if malformed."""
    # The scheme, one or more spaces, then the token; spaces around the value are ignored. Split
    # on spaces only, not on any whitespace as bytes.split() does: "Bearer\tT" is malformed.
    words = [word for word in get_authorization_header(request).split(b" ") if word]
    if len(words) != 2 or words[0].lower() != b"bearer":
        return None
    return words[1]


class BearerTokenAuthentication(BaseAuthentication):
    """Accept `Authorization: Bearer <BOOKS_API_TOKEN>`; with no token set, accept nothing.

    It never raises: a wrong token on a read must not fail, so WritesNeedToken refuses writes.
    """

    def authenticate(self, request: Request) -> tuple[None, str] | None:
        expected_token = settings.BOOKS_API_TOKEN  # read per request, so tests can change it
        token = presented_token(request)
        if not expected_token or token is None:
            return None
        # Compare bytes: compare_digest raises TypeError on non-ASCII str.
        if not secrets.compare_digest(token, expected_token.encode()):
            return None
        return None, expected_token

    def authenticate_header(self, request: Request) -> str:
        """The WWW-Authenticate challenge; without one DRF would answer 403 instead of 401."""
        return "Bearer"

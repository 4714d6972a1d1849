"""The write token: bearer authentication against settings.BOOKS_API_TOKEN."""

import secrets

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request


class BearerTokenAuthentication(BaseAuthentication):
    """Accept `Authorization: Bearer <BOOKS_API_TOKEN>`; with no token set, accept nothing."""

    def authenticate(self, request: Request) -> tuple[None, str] | None:
        """Return (no user, the token) when the header carries the configured token, else None.

        Never raises: a wrong token on a read must not fail, so the write check is left to
        WritesNeedToken.
        """
        expected_token = settings.BOOKS_API_TOKEN  # read per request, so tests can change it
        # The scheme, one or more spaces, then the token; spaces around the value are ignored. Split
        # on spaces only, not on any whitespace as bytes.split() does: "Bearer\tT" is malformed.
        words = [word for word in get_authorization_header(request).split(b" ") if word]
        if not expected_token or len(words) != 2 or words[0].lower() != b"bearer":
            return None
        # Compare bytes: compare_digest raises TypeError on non-ASCII str.
        if not secrets.compare_digest(words[1], expected_token.encode()):
            return None
        return None, expected_token

    def authenticate_header(self, request: Request) -> str:
        """The WWW-Authenticate challenge; without one DRF would answer 403 instead of 401."""
        return "Bearer"

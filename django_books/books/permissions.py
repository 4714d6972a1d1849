"""Who may do what: reads are open, writes need the API token."""

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from django_books.books.exceptions import TokenRequired

# rest_framework.views loads this module through DRF settings: importing it back would be a cycle.
if TYPE_CHECKING:
    from rest_framework.views import APIView


class WritesNeedToken(BasePermission):
    def has_permission(self, request: Request, view: "APIView") -> bool:
        if request.method in SAFE_METHODS or request.auth is not None:
            return True
        # Raised here rather than returning False: DRF would raise its NotAuthenticated, in its
        # own words (a permission's `message` words only a 403).
        raise TokenRequired

"""Who may do what: reads are open, writes need the API token."""

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

# rest_framework.views loads this module through DRF settings: importing it back would be a cycle.
if TYPE_CHECKING:
    from rest_framework.views import APIView


class WritesNeedToken(BasePermission):
    """Reads are open to everyone; writes need the request to carry the API token."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        """Allow GET, HEAD and OPTIONS, and any request that BearerTokenAuthentication accepted."""
        return request.method in SAFE_METHODS or request.auth is not None

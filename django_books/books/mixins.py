"""The Allow header and OPTIONS as the contract has them, for every view of the API."""

from typing import Any

from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_books.books.exceptions import MethodNotSupported


class AllowHeaderMixin(APIView):
    """Send Allow where the contract names it, OPTIONS (204, no body) and 405, and nowhere else.

    DRF sends Allow on every response of a view, and answers OPTIONS with 200 and a metadata body.
    """

    @property
    def default_response_headers(self) -> dict[str, str]:
        return {}  # DRF's: Allow, and Vary with several renderers

    def allow_header(self) -> str:
        return ", ".join(self.allowed_methods)

    # DRF's Request where Django's View takes an HttpRequest, as DRF's stubs have it too.
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        return Response(status=status.HTTP_204_NO_CONTENT, headers={"Allow": self.allow_header()})

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # DRF checks the method after the permissions, which would make a 405 a 401.
        if request.method not in self.allowed_methods:
            raise MethodNotSupported(str(request.method))
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, MethodNotAllowed):
            response["Allow"] = self.allow_header()
        return response
